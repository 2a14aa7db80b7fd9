-- Each generated postmortem draft, newest last.
CREATE TABLE postmortems (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_number INTEGER NOT NULL REFERENCES incidents(number),
    generated_at    INTEGER NOT NULL,
    markdown        TEXT    NOT NULL
);
CREATE INDEX postmortems_by_incident ON postmortems (incident_number, id);
