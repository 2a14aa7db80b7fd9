//! Follow-ups (action items): `/incident followup`, `/incident followups`,
//! the Add follow-up form and the Done button.

use super::{Reply, SubmissionReply, entry, open_modal, tell, telling, today};
use crate::app::Ctx;
use crate::domain::{ChannelId, EntryKind, FollowupId, Incident, IncidentNumber, UserId};
use crate::slack::blocks;
use crate::slack::render::reference;
use crate::slack::replies::{self, Form};
use crate::slack::text::Mrkdwn;
use crate::store::{ChangeError, Effects, Guard, SeenBy, StoreError, Wanted};
use std::collections::BTreeMap;
use tracing::{info, warn};

/// `/incident followup <text> [@owner] [due]`: records an action item on
/// the incident of the war room, during or after it.
pub(super) async fn add_followup(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
    text: String,
    owner: Option<UserId>,
    due: Option<crate::domain::followups::Due>,
) -> Result<Reply, ChangeError> {
    let owner = owner.unwrap_or_else(|| user.clone());
    let due = match due.map(|d| d.resolve(today(ctx))) {
        Some(None) => {
            return Ok(Reply::Ephemeral(Mrkdwn::literal(
                "That due date is out of range; give a date like `2026-12-24` or `7d`.",
            )));
        }
        Some(Some(d)) => Some(d),
        None => None,
    };
    // Typed in the war room: it shows the person is in it.
    let effects = Effects {
        guard: Guard {
            member: Some(user.clone()),
            ..Guard::default()
        },
        ..Effects::default()
    };
    record_followup(ctx, incident, user, &text, &owner, due, effects).await?;
    Ok(Reply::InChannel(replies::followup_recorded(
        incident, &text, &owner, due,
    )))
}

/// Records a follow-up with its timeline entry and the rest of `effects`
/// (jobs; the guard, which remembers the person as being in the war room
/// when they typed the command there: a form is not the war room), in one
/// transaction: what `/incident followup` and the follow-up form both do.
/// Anyone in the war room may.
async fn record_followup(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
    text: &str,
    owner: &UserId,
    due: Option<chrono::NaiveDate>,
    effects: Effects,
) -> Result<FollowupId, ChangeError> {
    let line = replies::followup_line(user, owner, text, due);
    let effects = Effects {
        timeline: vec![entry(ctx, EntryKind::Task, user, line)],
        ..effects
    };
    let item = crate::store::NewFollowup {
        incident: incident.number,
        text: text.to_string(),
        owner: owner.clone(),
        due,
        created_by: user.clone(),
        remind_at: due.and_then(|d| remind_at(d, ctx.settings.timezone)),
    };
    let id = ctx
        .store
        .add_followup(&item, ctx.clock.now(), effects)
        .await?;
    info!(followup = id.get(), "follow-up recorded");
    Ok(id)
}

/// `/incident followups [mine|open|all]`, anywhere: an ephemeral list with
/// a Done button on each open one. Follow-ups of a private incident are
/// shown only to their owner and to people known to be in its war room.
pub(super) async fn list_followups(
    ctx: &Ctx,
    user: &UserId,
    scope: crate::domain::followups::Scope,
) -> Result<Reply, StoreError> {
    use crate::domain::followups::Scope;
    // What one ephemeral message can show (one section and a button each).
    const LIMIT: usize = 40;
    let fetch = i64::try_from(LIMIT + 1).unwrap_or(i64::MAX);
    let mut visible = match scope {
        Scope::Mine => {
            ctx.store
                .followups(Some(user), Wanted::Open, SeenBy::Person(user), fetch)
                .await?
        }
        Scope::Open => {
            ctx.store
                .followups(None, Wanted::Open, SeenBy::Person(user), fetch)
                .await?
        }
        Scope::All => {
            ctx.store
                .followups(None, Wanted::All, SeenBy::Person(user), fetch)
                .await?
        }
    };
    let more = visible.len() > LIMIT;
    visible.truncate(LIMIT);
    let heading = replies::followups_heading(scope, visible.len(), more);
    Ok(Reply::EphemeralBlocks(blocks::followups(
        heading,
        &visible,
        today(ctx),
    )))
}

/// "Add follow-up" on the postmortem summary: opens the follow-up form
/// (the `trigger_id` dies in 3 s, so now). The summary is in the war room,
/// so whoever clicks it is there: the same people as may type
/// `/incident followup`, during the incident or after it closed.
pub(super) async fn open_followup(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&ChannelId>,
    trigger_id: &str,
    number: IncidentNumber,
) -> Result<(), StoreError> {
    let Some(incident) = ctx.store.incident(number).await? else {
        warn!(
            incident = number.get(),
            "Add follow-up on an incident that does not exist"
        );
        return Ok(());
    };
    tracing::Span::current().record("incident", incident.number.get());
    let room = incident.channel_id.as_ref();
    let problem = if channel.is_some() && channel != room {
        // Not the war room: the button was copied or forwarded elsewhere.
        Mrkdwn::fill(
            "Follow-ups for {} are added from its war room.",
            [reference(&incident)],
        )
    } else {
        let view = blocks::followup_modal(&incident, user);
        match open_modal(ctx, trigger_id, view, Form::Followup).await {
            Ok(()) => return Ok(()),
            Err(problem) => problem,
        }
    };
    warn!(%problem, "follow-up form not opened");
    tell(ctx, incident.number, user, channel.or(room), problem).await
}

/// The follow-up form was submitted: checked (errors shown beside their
/// field, nothing recorded), then recorded exactly as `/incident followup`
/// records it, and the person who added it told in the war room.
pub async fn followup_submitted(
    ctx: &Ctx,
    user: &UserId,
    number: IncidentNumber,
    form: &crate::slack::inbound::FollowupForm,
) -> Result<SubmissionReply, StoreError> {
    use blocks::followup_ids::{DUE, TEXT};
    tracing::Span::current().record("incident", number.get());
    let mut errors = BTreeMap::new();
    let Some(incident) = ctx.store.incident(number).await? else {
        errors.insert(
            TEXT.to_string(),
            format!("INC-{number} no longer exists; nothing was recorded."),
        );
        return Ok(SubmissionReply::Errors(errors));
    };
    if form.text.is_empty() {
        errors.insert(
            TEXT.to_string(),
            "Write what is to be done, or cancel.".to_string(),
        );
    } else if form.text.chars().count() > blocks::FOLLOWUP_TEXT_MAX {
        errors.insert(
            TEXT.to_string(),
            format!(
                "Keep it under {} characters; the details belong in the postmortem.",
                blocks::FOLLOWUP_TEXT_MAX
            ),
        );
    }
    let today = today(ctx);
    let due = match &form.due {
        None => None,
        Some(Ok(d)) if *d < today => {
            errors.insert(
                DUE.to_string(),
                format!("{d} is in the past; pick today ({today}) or later, or leave it empty."),
            );
            None
        }
        Some(Ok(d)) => Some(*d),
        Some(Err(_)) => {
            errors.insert(
                DUE.to_string(),
                "Pick the date with the date picker, or leave it empty.".to_string(),
            );
            None
        }
    };
    if !errors.is_empty() {
        return Ok(SubmissionReply::Errors(errors));
    }
    // Typed in a form, so raw: kept in Slack's format like a command's text.
    let text = crate::slack::text::escape(&form.text);
    let owner = form.owner.clone().unwrap_or_else(|| user.clone());
    let told = telling(
        incident.channel_id.as_ref(),
        user,
        replies::followup_recorded(&incident, &text, &owner, due),
    );
    // A form is not the war room: submitting one does not show that the
    // person is (still) in it, so it records no membership.
    let effects = Effects {
        jobs: told,
        ..Effects::default()
    };
    match record_followup(ctx, &incident, user, &text, &owner, due, effects).await {
        Ok(_) => {}
        Err(ChangeError::Refused(why)) => {
            errors.insert(TEXT.to_string(), why.to_string());
            return Ok(SubmissionReply::Errors(errors));
        }
        Err(ChangeError::Store(e)) => return Err(e),
    }
    ctx.state_changed();
    Ok(SubmissionReply::Close)
}

/// "Done" on a listed follow-up: records when and by whom, once, with its
/// timeline entry, and answers the person who clicked.
pub(super) async fn followup_done(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&ChannelId>,
    id: FollowupId,
) -> Result<(), StoreError> {
    let Some(f) = ctx.store.followup(id).await? else {
        warn!(
            followup = id.get(),
            "Done on a follow-up that does not exist"
        );
        return Ok(());
    };
    tracing::Span::current().record("incident", f.incident.get());
    let effects = Effects {
        timeline: vec![entry(
            ctx,
            EntryKind::Task,
            user,
            replies::followup_done_line(user, &f),
        )],
        jobs: telling(channel, user, replies::followup_done(&f)),
        ..Effects::default()
    };
    let done = ctx
        .store
        .complete_followup(id, user, ctx.clock.now(), effects)
        .await?;
    if !done {
        let jobs = telling(channel, user, replies::followup_already_done(&f));
        ctx.store
            .add_jobs(f.incident, ctx.clock.now(), jobs)
            .await?;
    }
    ctx.state_changed();
    Ok(())
}

/// When a follow-up due on `due` is reminded: 09:00 that day in `tz`.
fn remind_at(due: chrono::NaiveDate, tz: chrono_tz::Tz) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    let at = due.and_hms_opt(9, 0, 0)?;
    tz.from_local_datetime(&at)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
}
