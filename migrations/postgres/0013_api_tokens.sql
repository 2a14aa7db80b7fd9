-- Read API tokens: only the SHA-256 of each token (hex) is kept, with its
-- name and whether it sees private incidents. Revoking deletes the row.
CREATE TABLE api_tokens (
    name          TEXT    PRIMARY KEY,
    token_sha256  TEXT    NOT NULL UNIQUE,
    private       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL,
    last_used_at  BIGINT
);
-- The API's list: newest first, by number, with its filters.
CREATE INDEX incidents_by_declared ON incidents (declared_at);
