-- Follow-ups: action items that leave an incident as tracked work. `due_on`
-- is a calendar date (YYYY-MM-DD); `done_at` is set once, when ticked done.
-- `remind_at` is when the owner is reminded (09:00 on the due date in
-- `timezone`), cleared by compare-and-set when the reminder is queued.
CREATE TABLE followups (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_number INTEGER NOT NULL REFERENCES incidents(number),
    text            TEXT    NOT NULL,
    owner           TEXT    NOT NULL,
    due_on          TEXT,
    created_by      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    done_at         INTEGER,
    done_by         TEXT,
    remind_at       INTEGER
);
CREATE INDEX followups_owner ON followups (owner) WHERE done_at IS NULL;
CREATE INDEX followups_incident ON followups (incident_number);
CREATE INDEX followups_remind_at ON followups (remind_at) WHERE remind_at IS NOT NULL;
