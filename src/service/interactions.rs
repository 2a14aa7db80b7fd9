//! Buttons on the reminders (update, snooze, the Scribe's "Edit and
//! post") and the Scribe's summary form; `Click`, where a button about an
//! open incident starts. The buttons of a feature live with it (`roles`,
//! `followups`).

use super::{SubmissionReply, entry, notable, open_modal, tell, updates};
use crate::app::Ctx;
use crate::domain::{
    ChannelId, ChecklistId, EntryKind, Incident, IncidentNumber, NewEntry, Status, UserId,
};
use crate::queue::Job;
use crate::slack::blocks;
use crate::slack::render::reference;
use crate::slack::replies::Form;
use crate::slack::text::Mrkdwn;
use crate::store::{ChangeError, Effects, Guard, ScheduleOp, StoreError};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use tracing::warn;

/// A click on a button about one incident that is still open, and the way
/// to answer the person who clicked.
pub(super) struct Click<'a> {
    ctx: &'a Ctx,
    user: &'a UserId,
    channel: Option<&'a ChannelId>,
    pub(super) incident: Incident,
    /// When the click was taken in.
    pub(super) now: DateTime<Utc>,
}

impl<'a> Click<'a> {
    /// The click on a button of incident `number`; `None` when there is no
    /// such incident, or when it is closed (the person is told so).
    pub(super) async fn on_open(
        ctx: &'a Ctx,
        user: &'a UserId,
        channel: Option<&'a ChannelId>,
        number: IncidentNumber,
    ) -> Result<Option<Click<'a>>, StoreError> {
        tracing::Span::current().record("incident", number.get());
        let Some(incident) = ctx.store.incident(number).await? else {
            return Ok(None);
        };
        let click = Click {
            ctx,
            user,
            channel,
            incident,
            now: ctx.clock.now(),
        };
        if click.incident.status == Status::Closed {
            click
                .tell(Mrkdwn::fill("{} is closed.", [reference(&click.incident)]))
                .await?;
            return Ok(None);
        }
        Ok(Some(click))
    }

    /// Tells the person who clicked, privately, where they clicked (else
    /// in the war room).
    pub(super) async fn tell(&self, text: Mrkdwn) -> Result<(), StoreError> {
        let channel = self.channel.or(self.incident.channel_id.as_ref());
        tell(self.ctx, self.incident.number, self.user, channel, text).await
    }
}

/// The update button on a reminder: the update form.
pub(super) async fn open_update(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&ChannelId>,
    trigger_id: &str,
    number: IncidentNumber,
) -> Result<(), StoreError> {
    let Some(click) = Click::on_open(ctx, user, channel, number).await? else {
        return Ok(());
    };
    if let Err(problem) = updates::open_update(ctx, &click.incident, trigger_id).await {
        click.tell(problem).await?;
    }
    Ok(())
}

/// Snooze on a reminder: pushes the pending communication reminders back
/// by `minutes`.
pub(super) async fn snooze(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&ChannelId>,
    number: IncidentNumber,
    minutes: u32,
) -> Result<(), StoreError> {
    let Some(click) = Click::on_open(ctx, user, channel, number).await? else {
        return Ok(());
    };
    let incident = &click.incident;
    let now = ctx.clock.now();
    let until = now + chrono::Duration::minutes(i64::from(minutes));
    let later = |at: Option<chrono::DateTime<chrono::Utc>>| at.map(|t| t.max(until));
    let effects = Effects {
        events: Vec::new(),
        timeline: vec![NewEntry {
            occurred_at: now,
            kind: EntryKind::Reminder,
            author: Some(user.clone()),
            text: format!(
                "{} snoozed the update reminders for {minutes} minutes",
                user.mention()
            ),
        }],
        jobs: vec![],
        schedule: vec![ScheduleOp::Comms {
            nudge_at: later(incident.schedule.nudge_at),
            due_at: later(incident.schedule.due_at),
        }],
        guard: Guard::open_by(user),
    };
    match ctx.store.add_effects(incident.number, now, effects).await {
        Ok(()) => {}
        // Closed meanwhile: there is nothing left to snooze.
        Err(ChangeError::Refused(_)) => return Ok(()),
        Err(ChangeError::Store(e)) => return Err(e),
    }
    ctx.state_changed();
    Ok(())
}

/// Page on-call on the role board: the page is recorded (an
/// `incident.paged` event, which the `pagerduty` delivery queue sends as a
/// trigger whatever the severity), on the timeline, and said in the war
/// room.
pub(super) async fn page(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&ChannelId>,
    number: IncidentNumber,
) -> Result<(), StoreError> {
    let Some(click) = Click::on_open(ctx, user, channel, number).await? else {
        return Ok(());
    };
    if ctx.settings.pagerduty.is_none() {
        return click
            .tell(Mrkdwn::literal(
                "Paging is not set up here: [pagerduty] has no routing key.",
            ))
            .await;
    }
    let now = click.now;
    let effects = Effects {
        timeline: vec![entry(
            ctx,
            EntryKind::Note,
            user,
            format!("{} paged the on-call through PagerDuty", user.mention()),
        )],
        jobs: vec![Job::PostPaged {
            by: Some(user.clone()),
        }],
        events: vec![crate::domain::events::NewEvent::paged()],
        schedule: vec![],
        guard: Guard::open_by(user),
    };
    match ctx.store.add_effects(number, now, effects).await {
        Ok(()) => {}
        Err(ChangeError::Refused(why)) => return click.tell(why.to_mrkdwn()).await,
        Err(ChangeError::Store(e)) => return Err(e),
    }
    ctx.state_changed();
    Ok(())
}

/// "Edit and post" on the Scribe's reminder: the form with the internal
/// summary of that window prefilled (the `trigger_id` dies in 3 s, so now).
pub(super) async fn open_summary(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&ChannelId>,
    trigger_id: &str,
    checklist: ChecklistId,
    since: i64,
    until: i64,
) -> Result<(), StoreError> {
    let Some(list) = ctx.store.checklist(checklist).await? else {
        return Ok(());
    };
    let Some(incident) = ctx.store.incident(list.incident).await? else {
        return Ok(());
    };
    tracing::Span::current().record("incident", incident.number.get());
    let window =
        crate::domain::timeline::SummaryWindow::from_millis(since, until, incident.declared_at);
    let entries = window.entries(ctx.store.timeline(incident.number).await?);
    let text = blocks::internal_summary(&incident, &entries, window.since, ctx.settings.timezone);
    let view = blocks::summary_modal(&incident, &text);
    let Err(problem) = open_modal(ctx, trigger_id, view, Form::Summary).await else {
        return Ok(());
    };
    warn!(%problem, "summary form not opened");
    let channel = channel.or(incident.channel_id.as_ref());
    tell(ctx, incident.number, user, channel, problem).await
}

/// The Scribe's internal summary form was submitted: posted in the war
/// room and kept on the timeline, in one transaction.
pub async fn summary_submitted(
    ctx: &Ctx,
    user: &UserId,
    number: IncidentNumber,
    text: &str,
) -> Result<SubmissionReply, StoreError> {
    tracing::Span::current().record("incident", number.get());
    let mut errors = BTreeMap::new();
    let incident = match ctx.store.incident(number).await? {
        Some(i) if i.status != Status::Closed => i,
        _ => {
            errors.insert(
                blocks::SUMMARY_BLOCK.to_string(),
                "This incident is closed.".to_string(),
            );
            return Ok(SubmissionReply::Errors(errors));
        }
    };
    if text.trim().is_empty() {
        errors.insert(
            blocks::SUMMARY_BLOCK.to_string(),
            "Write the summary, or cancel.".to_string(),
        );
        return Ok(SubmissionReply::Errors(errors));
    }
    // Mentions of people stay; `<!channel>` and the like must not ping.
    let text = crate::slack::text::defuse(text);
    let effects = notable(
        ctx,
        &incident,
        vec![entry(
            ctx,
            EntryKind::Note,
            user,
            format!("posted an internal summary:\n{text}"),
        )],
        vec![Job::PostSummary {
            text,
            by: user.clone(),
        }],
    );
    match ctx
        .store
        .add_effects(number, ctx.clock.now(), effects)
        .await
    {
        Ok(()) => {}
        Err(ChangeError::Refused(why)) => {
            errors.insert(blocks::SUMMARY_BLOCK.to_string(), why.to_string());
            return Ok(SubmissionReply::Errors(errors));
        }
        Err(ChangeError::Store(e)) => return Err(e),
    }
    ctx.state_changed();
    Ok(SubmissionReply::Close)
}
