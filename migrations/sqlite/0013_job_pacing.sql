-- Issue 10, mixed load. The ordering rule (`UNBLOCKED`) looks up earlier
-- unfinished jobs of one incident by object: an index seek each, not a scan
-- of the incident's whole backlog.
CREATE INDEX jobs_waiting ON jobs (incident_number, object, id) WHERE state IN ('pending', 'running');
-- The pacer key of a job's first Web API call, where it is known when the
-- job is queued (see `Job::pace_key`).
ALTER TABLE jobs ADD COLUMN pace_key TEXT;
CREATE INDEX jobs_paced ON jobs (pace_key, run_after) WHERE state = 'pending';
-- Until when the pacer holds a key back: a job queued meanwhile waits until
-- then instead of being claimed only to be put back.
CREATE TABLE job_pace (
    pace_key   TEXT    PRIMARY KEY,
    held_until INTEGER NOT NULL
);
