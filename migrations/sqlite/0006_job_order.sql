-- Jobs wait only for what they depend on: earlier unfinished jobs writing
-- the same Slack object of the same incident (`object`), and, when they
-- need the war room (`needs_room`), its creation.
ALTER TABLE jobs ADD COLUMN object TEXT;
ALTER TABLE jobs ADD COLUMN needs_room BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE jobs SET
    object = CASE kind
        WHEN 'create_channel' THEN 'room'
        WHEN 'sync_topic' THEN 'topic'
        WHEN 'sync_board' THEN 'board'
        WHEN 'post_board' THEN 'board'
        WHEN 'sync_announcement' THEN 'announcement'
        WHEN 'post_reminder' THEN 'post:room'
        WHEN 'post_postmortem' THEN 'post:room'
        WHEN 'post_update' THEN 'post:' || json_extract(payload, '$.channel')
        ELSE NULL END,
    needs_room = (kind NOT IN ('create_channel', 'ephemeral', 'notice'))
WHERE incident_number IS NOT NULL;
