-- Private incidents: the war room is a private channel, and who is in it
-- decides who sees the incident in `/incident list`.
ALTER TABLE incidents ADD COLUMN is_private BOOLEAN NOT NULL DEFAULT FALSE;

-- People known to be in a war room: invited by the bot, seen acting there,
-- or reported by Slack's member_joined_channel / member_left_channel events.
-- `changed_at` (Unix ms) keeps the latest word when events arrive out of
-- order.
CREATE TABLE war_room_members (
    incident_number BIGINT  NOT NULL REFERENCES incidents(number),
    user_id         TEXT    NOT NULL,
    present         BOOLEAN NOT NULL DEFAULT TRUE,
    changed_at      BIGINT  NOT NULL,
    PRIMARY KEY (incident_number, user_id)
);
CREATE INDEX war_room_members_by_user ON war_room_members (user_id, present);
