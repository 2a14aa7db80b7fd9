-- Tagged Slack messages on the timeline: who wrote it, who tagged it, whether
-- its text was fetched yet, edits and deletions. One entry per message.
ALTER TABLE timeline_entries ADD COLUMN author_name TEXT;
ALTER TABLE timeline_entries ADD COLUMN tagged_by TEXT;
ALTER TABLE timeline_entries ADD COLUMN fetched INTEGER NOT NULL DEFAULT 1;
ALTER TABLE timeline_entries ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE timeline_entries ADD COLUMN edited_at INTEGER;
CREATE UNIQUE INDEX timeline_one_entry_per_message
    ON timeline_entries (incident_number, slack_ts) WHERE slack_ts IS NOT NULL;

-- Key time set by a "detected" tag.
ALTER TABLE incidents ADD COLUMN detected_at INTEGER;

-- Display names from users.info, so each author is looked up once a day.
CREATE TABLE slack_users (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    fetched_at INTEGER NOT NULL
);
