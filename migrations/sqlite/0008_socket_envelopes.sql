-- Socket Mode: envelopes whose work is not otherwise deduplicated (slash
-- commands, buttons, form submissions). A redelivered envelope finds its
-- row and is answered with the stored reply instead of being acted on again.
CREATE TABLE socket_envelopes (
    envelope_id TEXT    PRIMARY KEY,
    -- When the delivery acting on it claimed it (ms); a claim older than
    -- the lease may be taken over (its process died).
    claimed_at  INTEGER NOT NULL,
    finished_at INTEGER,
    -- The ack payload given (JSON), NULL for an ack without one.
    reply       TEXT
);
CREATE INDEX socket_envelopes_claimed_at ON socket_envelopes (claimed_at);
