-- The event log: what happened to each incident, as the outside world hears
-- of it (webhooks, the read API's histories). Written in the transaction of
-- the change it records; `id` orders the log, `event_id` is the public id
-- (a webhook's `webhook-id`). `data` is JSON: what the event is about.
CREATE TABLE incident_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT    NOT NULL UNIQUE,
    incident_number INTEGER REFERENCES incidents(number),
    type            TEXT    NOT NULL,
    occurred_at     INTEGER NOT NULL,
    actor           TEXT,
    data            TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX incident_events_by_incident ON incident_events (incident_number, id);
