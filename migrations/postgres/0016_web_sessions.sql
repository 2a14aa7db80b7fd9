-- The web record's sign-in: a login under way (state, nonce and PKCE
-- verifier, taken once by the callback) and the sessions it opens (only the
-- SHA-256 of the cookie's value is kept, as for API tokens).
CREATE TABLE web_logins (
    state       TEXT    PRIMARY KEY,
    nonce       TEXT    NOT NULL,
    verifier    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
CREATE TABLE web_sessions (
    token_sha256  TEXT    PRIMARY KEY,
    user_id       TEXT    NOT NULL,
    team_id       TEXT,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL
);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);
