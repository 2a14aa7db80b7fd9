//! Status updates: `/incident update [text]`, the update form and its
//! submission, and where an update is posted.

use super::{Reply, SubmissionReply, entry, notable, open_modal};
use crate::app::Ctx;
use crate::domain::comms::Schedule;
use crate::domain::{ChannelId, EntryKind, Incident, IncidentNumber, Status, UserId};
use crate::slack::blocks;
use crate::slack::replies::{self, Form};
use crate::slack::text::Mrkdwn;
use crate::store::{ChangeError, Destination, Guard, ScheduleOp, StoreError};
use std::collections::BTreeMap;

/// `/incident update <text>`: posted as typed.
pub(super) async fn update(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
    text: &str,
    guard: Guard,
) -> Result<Reply, ChangeError> {
    let to = post_update(ctx, incident, user, text, &[], guard).await?;
    Ok(Reply::Ephemeral(replies::update_posted(to)))
}

/// Opens the update modal (the `trigger_id` dies in 3 s, so now); the
/// error is what to tell the person.
pub(super) async fn open_update(
    ctx: &Ctx,
    incident: &Incident,
    trigger_id: &str,
) -> Result<(), Mrkdwn> {
    let audiences: Vec<&str> = ctx.settings.audiences.keys().map(String::as_str).collect();
    let announced = ctx.settings.private_incidents.announce_of(incident.private)
        == crate::config::PrivateAnnounce::Full;
    let view = blocks::update_modal(incident, &audiences, announced);
    open_modal(ctx, trigger_id, view, Form::Update).await
}

/// Records a status update and queues its posts: the announcement channel
/// and the chosen audiences, plus a copy in the war room. Restarts the
/// communication clocks while the incident is open. Returns where it goes.
pub async fn post_update(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
    text: &str,
    audiences: &[String],
    guard: Guard,
) -> Result<Mrkdwn, ChangeError> {
    use crate::config::PrivateAnnounce;
    use blocks::update_ids::ANNOUNCEMENT;
    let mut destinations = Vec::new();
    let mut add = |channel: &ChannelId, audience: &str| {
        if !destinations
            .iter()
            .any(|d: &Destination| d.channel == *channel)
        {
            destinations.push(Destination {
                channel: channel.clone(),
                audience: audience.to_string(),
            });
        }
    };
    // A private incident's update goes to its war room alone unless the
    // person picked the (public) announcement channel in the form; with
    // `private_incidents.announce = "full"` it is announced like any other.
    let announced =
        ctx.settings.private_incidents.announce_of(incident.private) == PrivateAnnounce::Full;
    if (audiences.is_empty() && announced) || audiences.iter().any(|a| a == ANNOUNCEMENT) {
        add(&incident.announce_channel, ANNOUNCEMENT);
    }
    for name in audiences {
        if let Some(channel) = ctx.settings.audiences.get(name) {
            add(channel, name);
        }
    }
    if let Some(room) = &incident.channel_id {
        add(room, "war room");
    }
    let now = ctx.clock.now();
    let places = replies::places(&destinations.iter().map(|d| &d.channel).collect::<Vec<_>>());
    let mut effects = notable(
        ctx,
        incident,
        vec![entry(
            ctx,
            EntryKind::Update,
            user,
            replies::update_line(user, &places, text),
        )],
        vec![],
    );
    effects.schedule.push(ScheduleOp::LastUpdate(now));
    effects.guard = guard;
    if incident.status.is_open() {
        let c = ctx.settings.cadence(&incident.severity);
        let (nudge_at, due_at) = Schedule::comms_from(now, &c);
        effects
            .schedule
            .push(ScheduleOp::Comms { nudge_at, due_at });
    }
    ctx.store
        .record_update(incident.number, user, text, &destinations, now, effects)
        .await?;
    ctx.state_changed();
    Ok(places)
}

/// The update modal was submitted.
pub async fn update_submitted(
    ctx: &Ctx,
    user: &UserId,
    number: IncidentNumber,
    answers: &crate::domain::comms::UpdateAnswers,
    audiences: &[String],
) -> Result<SubmissionReply, StoreError> {
    use blocks::update_ids::{AUDIENCES, STATUS};
    tracing::Span::current().record("incident", number.get());
    let mut errors = BTreeMap::new();
    if answers.status.is_empty() {
        errors.insert(
            STATUS.to_string(),
            "Say where things stand, even if it is \"still investigating\".".to_string(),
        );
    }
    let incident = match ctx.store.incident(number).await? {
        Some(i) if i.status != Status::Closed => i,
        _ => {
            errors.insert(STATUS.to_string(), "This incident is closed.".to_string());
            return Ok(SubmissionReply::Errors(errors));
        }
    };
    // A private incident not announced in full may be updated in its war
    // room alone.
    let war_room_only = ctx.settings.private_incidents.announce_of(incident.private)
        != crate::config::PrivateAnnounce::Full;
    if audiences.is_empty() && !war_room_only {
        errors.insert(
            AUDIENCES.to_string(),
            "Pick at least one place to post to.".to_string(),
        );
    }
    if !errors.is_empty() {
        return Ok(SubmissionReply::Errors(errors));
    }
    // What people type in a form is text, not markup: `<!channel>` must
    // not ping a whole channel.
    let answers = crate::domain::comms::UpdateAnswers {
        status: crate::slack::text::escape(&answers.status),
        impact: crate::slack::text::escape(&answers.impact),
        workaround: crate::slack::text::escape(&answers.workaround),
        next_update_minutes: answers.next_update_minutes,
    };
    let text = crate::slack::render::assemble_update(
        crate::domain::comms::Phase::of(incident.status),
        &answers,
        ctx.clock.now(),
    );
    // A form is not the war room: submitting one records no membership.
    let guard = Guard {
        open: true,
        ..Guard::default()
    };
    match post_update(ctx, &incident, user, &text, audiences, guard).await {
        Ok(_) => Ok(SubmissionReply::Close),
        Err(ChangeError::Refused(why)) => {
            errors.insert(STATUS.to_string(), why.to_string());
            Ok(SubmissionReply::Errors(errors))
        }
        Err(ChangeError::Store(e)) => Err(e),
    }
}
