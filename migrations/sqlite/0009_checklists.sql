-- Role checklists: one per holder of a role in an incident. The tasks are
-- kept as they were when the role was taken (JSON), so a config change
-- does not move ticks onto other tasks. `cadence_at` is the due time of
-- the recurring tasks, fired by compare-and-set like the reminders.
CREATE TABLE checklists (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_number INTEGER NOT NULL REFERENCES incidents(number),
    role            TEXT    NOT NULL,
    holder          TEXT    NOT NULL,
    tasks           TEXT    NOT NULL,
    ts              TEXT,
    cadence_at      INTEGER,
    since           INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (incident_number, role, holder)
);
CREATE INDEX checklists_cadence_at ON checklists (cadence_at) WHERE cadence_at IS NOT NULL;

CREATE TABLE checklist_ticks (
    checklist_id INTEGER NOT NULL REFERENCES checklists(id),
    task         INTEGER NOT NULL,
    ticked_by    TEXT    NOT NULL,
    ticked_at    INTEGER NOT NULL,
    PRIMARY KEY (checklist_id, task)
);
