-- Reminder due times live here, not in memory: a restart neither drops nor
-- repeats them. NULL means "not scheduled".
ALTER TABLE incidents ADD COLUMN last_update_at INTEGER;
ALTER TABLE incidents ADD COLUMN nudge_at INTEGER;
ALTER TABLE incidents ADD COLUMN due_at INTEGER;
ALTER TABLE incidents ADD COLUMN scribe_at INTEGER;
CREATE INDEX incidents_nudge_at ON incidents (nudge_at) WHERE nudge_at IS NOT NULL;
CREATE INDEX incidents_due_at ON incidents (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX incidents_scribe_at ON incidents (scribe_at) WHERE scribe_at IS NOT NULL;

-- The communications timeline (seed 000): when, what, where, by whom.
CREATE TABLE status_updates (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_number INTEGER NOT NULL REFERENCES incidents(number),
    posted_by       TEXT    NOT NULL,
    recorded_at     INTEGER NOT NULL,
    text            TEXT    NOT NULL
);
CREATE TABLE update_posts (
    update_id INTEGER NOT NULL REFERENCES status_updates(id),
    channel   TEXT    NOT NULL,
    -- Audience name, or 'announcement' / 'war room'.
    audience  TEXT    NOT NULL,
    ts        TEXT,
    posted_at INTEGER,
    PRIMARY KEY (update_id, channel)
);
