-- Alerts in (issue 22). An alert group is one episode of a source's group
-- key (Alertmanager's groupKey, a PagerDuty incident id, a generic
-- dedup_key): from its first firing until it is over (`ended_at`: its
-- incident is no longer open, or, without an incident, every alert of it
-- resolved). At most one live episode per key: the partial unique index is
-- what makes repeats, retries, an HA pair and two replicas end in one group
-- and so one incident (an insert that meets it does nothing).
CREATE TABLE alert_groups (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    source           TEXT    NOT NULL,
    group_key        TEXT    NOT NULL,
    title            TEXT    NOT NULL,
    labels           TEXT    NOT NULL,
    links            TEXT    NOT NULL,
    severity         TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    is_private       INTEGER NOT NULL DEFAULT 0,
    incident_number  INTEGER REFERENCES incidents(number),
    -- Set when a `declare` route opened the incident: counts against
    -- alerts.max_declares_per_hour.
    auto_declared_at INTEGER,
    earlier_incident INTEGER,
    held_back        TEXT,
    dismissed_by     TEXT,
    dismissed_at     INTEGER,
    card_ts          TEXT,
    firing           INTEGER NOT NULL DEFAULT 0,
    total            INTEGER NOT NULL DEFAULT 0,
    first_started_at INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    ended_at         INTEGER
);
CREATE UNIQUE INDEX alert_groups_live ON alert_groups (source, group_key) WHERE ended_at IS NULL;
CREATE INDEX alert_groups_by_incident ON alert_groups (incident_number) WHERE incident_number IS NOT NULL;
CREATE INDEX alert_groups_declared ON alert_groups (auto_declared_at) WHERE auto_declared_at IS NOT NULL;

-- The alerts of a group as last heard of: a repeat changes nothing, a
-- change (fired, resolved) is a timeline entry at its own time.
CREATE TABLE alerts (
    group_id    INTEGER NOT NULL REFERENCES alert_groups(id),
    fingerprint TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    labels      TEXT    NOT NULL,
    annotations TEXT    NOT NULL,
    links       TEXT    NOT NULL,
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER,
    PRIMARY KEY (group_id, fingerprint)
);

-- Deliveries a source may repeat under one id (PagerDuty's X-Webhook-Id):
-- recorded with what they did, so a redelivery does nothing.
CREATE TABLE alert_deliveries (
    source      TEXT    NOT NULL,
    delivery_id TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (source, delivery_id)
);

-- One row, locked by a transaction that may open a war room from an alert,
-- so replicas count alerts.max_declares_per_hour one at a time.
CREATE TABLE alert_budget (id INTEGER PRIMARY KEY);
INSERT INTO alert_budget (id) VALUES (1);
