-- Who opened the bot's Home tab, and when: a change on it republishes the
-- tab of those who opened it recently (App Home).
CREATE TABLE home_views (
    user_id    TEXT    PRIMARY KEY,
    opened_at  BIGINT NOT NULL
);
CREATE INDEX home_views_by_opened ON home_views (opened_at);
