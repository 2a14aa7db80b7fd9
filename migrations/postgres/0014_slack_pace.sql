-- Slack's rate limits paced for the whole deployment: one row per pacing
-- scope (a method's tier, or a channel's posts), its GCRA "theoretical
-- arrival time" and a Retry-After pause, in Unix ms. Only replicas on
-- PostgreSQL use it; one SQLite process paces in memory.
CREATE TABLE slack_pace (
    scope        TEXT    PRIMARY KEY,
    tat          BIGINT  NOT NULL,
    paused_until BIGINT
);
