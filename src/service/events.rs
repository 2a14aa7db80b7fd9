//! Slack events in war rooms: reactions that tag messages for the
//! timeline, edits and deletions of tagged messages, and who is in a room.

use super::telling;
use crate::app::Ctx;
use crate::domain::permissions::{Permission, refusal};
use crate::domain::timeline::slack_ts_time;
use crate::domain::{ChannelId, Status, TimelineChange, UserId, may};
use crate::queue::Job;
use crate::slack::inbound::Reaction;
use crate::store::{Effects, EventChange, Guard, ScheduleOp, StoreError};
use chrono::{DateTime, Utc};
use tracing::info;

/// A reaction in a war room: a tag (or untag) when it is a tagging emoji
/// from someone allowed to tag. A tagging emoji added by someone else puts
/// nothing on the timeline; for the tag emoji itself (not the typed tags,
/// which double as everyday reactions) they are told, once, who may tag.
pub(super) async fn tag(
    ctx: &Ctx,
    r: &Reaction,
    added: bool,
) -> Result<Option<EventChange>, StoreError> {
    let Some(kind) = ctx.settings.timeline.tag_kind(&r.reaction) else {
        return Ok(None);
    };
    let Some(incident) = ctx.store.incident_by_channel(&r.channel).await? else {
        return Ok(None);
    };
    tracing::Span::current().record("incident", incident.number.get());
    if incident.status == Status::Closed {
        return Ok(None);
    }
    let assignments = ctx.store.assignments(incident.number).await?;
    let allowed = &ctx.settings.permissions.tag;
    if !may(&incident, &assignments, allowed, &r.user) {
        if !added || r.reaction != ctx.settings.timeline.tag_emoji {
            // Taking back one's own reaction, or a typed-tag emoji such as
            // `eyes` that people also use for other things: nothing to say.
            return Ok(None);
        }
        info!(user = %r.user, permission = Permission::Tag.key(), "refused");
        // Queued with the event: a redelivery does not tell them twice.
        return Ok(Some(EventChange {
            incident: incident.number,
            change: None,
            effects: Effects {
                jobs: telling(
                    Some(&r.channel),
                    &r.user,
                    refusal(&incident, &assignments, allowed, Permission::Tag).to_mrkdwn(),
                ),
                ..Effects::default()
            },
        }));
    }
    let (change, jobs) = if added {
        let Some(occurred_at) = slack_ts_time(&r.ts) else {
            return Ok(None);
        };
        (
            TimelineChange::Tag {
                slack_ts: r.ts.clone(),
                occurred_at,
                kind,
                tagged_by: r.user.clone(),
            },
            vec![Job::CaptureMessage {
                ts: r.ts.clone(),
                by: Some(r.user.clone()),
            }],
        )
    } else {
        (
            TimelineChange::Untag {
                slack_ts: r.ts.clone(),
            },
            vec![],
        )
    };
    let mut effects = Effects {
        jobs,
        // Reacting there shows the tagger is in the war room.
        guard: Guard {
            member: Some(r.user.clone()),
            ..Guard::default()
        },
        ..Effects::default()
    };
    if added {
        // A tag is notable: the scribe's quiet clock restarts.
        let c = ctx.settings.cadence(&incident.severity);
        effects.schedule.push(ScheduleOp::Scribe(Some(
            ctx.clock.now() + c.scribe_quiet_after,
        )));
    }
    Ok(Some(EventChange {
        incident: incident.number,
        change: Some(change),
        effects,
    }))
}

pub(super) async fn message_change(
    ctx: &Ctx,
    channel: &ChannelId,
    change: TimelineChange,
) -> Result<Option<EventChange>, StoreError> {
    Ok(ctx
        .store
        .incident_by_channel(channel)
        .await?
        .map(|incident| {
            tracing::Span::current().record("incident", incident.number.get());
            EventChange {
                incident: incident.number,
                change: Some(change),
                effects: Effects::default(),
            }
        }))
}

/// Someone joined or left a war room: who may see a private incident in
/// `/incident list` follows. Other channels are none of our business.
/// Recorded as of when it happened by Slack's clock (`at`; ours when Slack
/// did not say), so a join delivered after a later leave does not undo the
/// leave: the store keeps the latest.
pub(super) async fn membership(
    ctx: &Ctx,
    event_id: &str,
    channel: &ChannelId,
    user: &UserId,
    present: bool,
    at: Option<DateTime<Utc>>,
) -> Result<bool, StoreError> {
    let Some(incident) = ctx.store.incident_by_channel(channel).await? else {
        return Ok(true);
    };
    tracing::Span::current().record("incident", incident.number.get());
    ctx.store
        .record_membership(
            incident.number,
            user,
            present,
            at.unwrap_or_else(|| ctx.clock.now()),
            Some(event_id),
        )
        .await
}
