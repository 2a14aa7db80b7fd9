-- Times are Unix milliseconds (UTC): they compare as numbers and mean the
-- same on SQLite and PostgreSQL.

CREATE TABLE incidents (
    number            INTEGER PRIMARY KEY AUTOINCREMENT,
    title             TEXT    NOT NULL,
    severity          TEXT    NOT NULL,
    status            TEXT    NOT NULL DEFAULT 'investigating',
    summary           TEXT    NOT NULL DEFAULT '',
    security          INTEGER NOT NULL DEFAULT 0,
    drill             INTEGER NOT NULL DEFAULT 0,
    declared_by       TEXT    NOT NULL,
    declared_at       INTEGER NOT NULL,
    impact_started_at INTEGER,
    mitigated_at      INTEGER,
    resolved_at       INTEGER,
    closed_at         INTEGER,
    origin_channel    TEXT    NOT NULL,
    announce_channel  TEXT    NOT NULL,
    channel_id        TEXT    UNIQUE,
    channel_name      TEXT,
    board_ts          TEXT,
    announce_ts       TEXT,
    -- Slack's view id of the declare modal: a submission is acted on once.
    declare_view_id   TEXT    UNIQUE
);

CREATE TABLE role_assignments (
    incident_number INTEGER NOT NULL REFERENCES incidents(number),
    role            TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    assigned_at     INTEGER NOT NULL,
    PRIMARY KEY (incident_number, role, user_id)
);

CREATE TABLE timeline_entries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_number INTEGER NOT NULL REFERENCES incidents(number),
    occurred_at     INTEGER NOT NULL,
    recorded_at     INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    author          TEXT,
    text            TEXT    NOT NULL,
    slack_ts        TEXT,
    permalink       TEXT,
    hidden          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX timeline_by_incident ON timeline_entries (incident_number, occurred_at);

CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_number INTEGER REFERENCES incidents(number),
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    run_after       INTEGER NOT NULL,
    locked_until    INTEGER,
    finished_at     INTEGER,
    last_error      TEXT
);
CREATE INDEX jobs_due ON jobs (state, run_after);
CREATE INDEX jobs_by_incident ON jobs (incident_number, state, id);

CREATE TABLE slack_events (
    event_id    TEXT    PRIMARY KEY,
    received_at INTEGER NOT NULL
);
