-- Outgoing webhooks. `webhook_endpoints` mirrors `[[webhooks]]` (written at
-- start from the configuration; `events` is a JSON array of patterns) and
-- keeps what the configuration cannot: whether a 410 disabled it, and its
-- last success and failure. `webhook_deliveries` holds one row per (event,
-- endpoint), written in the transaction that records the event: the
-- delivery outbox. A claim leases a row and counts the attempt (the fence).
CREATE TABLE webhook_endpoints (
    name             TEXT    PRIMARY KEY,
    events           TEXT    NOT NULL DEFAULT '["*"]',
    configured       INTEGER NOT NULL DEFAULT 1,
    enabled          INTEGER NOT NULL DEFAULT 1,
    disabled_at      INTEGER,
    last_success_at  INTEGER,
    last_failure_at  INTEGER,
    last_error       TEXT
);
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint        TEXT    NOT NULL,
    event_seq       INTEGER NOT NULL REFERENCES incident_events(id),
    incident_number INTEGER,
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    run_at          INTEGER NOT NULL,
    locked_until    INTEGER,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    last_status     INTEGER,
    last_error      TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, run_at, id);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint, incident_number, state, id);
