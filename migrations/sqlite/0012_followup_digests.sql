-- The weekly digest of open follow-ups: one row per week it went out,
-- written by whoever sends it in the same transaction as its direct
-- messages' jobs. `week` (the Monday, YYYY-MM-DD, of the digest's ISO week
-- in `timezone`) is the key, so a week's digest is sent once however many
-- replicas, restarts or missed weeks.
CREATE TABLE followup_digests (
    week    TEXT    PRIMARY KEY,
    due_at  INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    owners  INTEGER NOT NULL
);
