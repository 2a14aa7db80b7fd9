//! What each command, button and form does: checks, the state change with
//! its timeline entries and jobs (one transaction), and the reply. No Slack
//! Web API call happens here except `views.open`, which cannot wait.
//!
//! This file holds the entry points (`command`, `action`, `event`, each
//! matching once on what came in) and the plumbing they share. The work:
//! `commands` (slash commands), `interactions` (reminder buttons, the
//! summary form), `events` (Slack events), and per feature, its commands,
//! buttons and forms together: `declare`, `roles` (and checklists),
//! `severity`, `updates`, `followups`, and `alerts` (alerts taken in from
//! monitoring, their cards' buttons).

mod alerts;
mod commands;
mod declare;
mod doors;
mod events;
mod followups;
mod interactions;
mod roles;
mod severity;
mod updates;

pub use alerts::{Received, receive};
pub use declare::declare;
pub use doors::{
    add_to_timeline_submitted, message_shortcut, open_declare as open_declare_door,
    remove_from_timeline,
};
pub use followups::followup_submitted;
pub use interactions::summary_submitted;
pub use severity::severity_submitted;
pub use updates::{post_update, update_submitted};

use crate::app::Ctx;
use crate::command::{self, Command, ParseError};
use crate::domain::{
    ChannelId, EntryKind, Incident, IncidentNumber, NewEntry, TimelineChange, UserId,
};
use crate::queue::Job;
use crate::slack::inbound::{Action, Event, SlashCommand};
use crate::slack::replies;
use crate::slack::text::Mrkdwn;
use crate::store::{ChangeError, Effects, Guard, ScheduleOp, StoreError};
use std::collections::BTreeMap;
use std::time::Duration;
use tracing::{info, warn};

/// `trigger_id` lives three seconds; leave room for the answer to travel.
const VIEWS_OPEN_TIMEOUT: Duration = Duration::from_millis(2500);

/// The answer to a slash command.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// Seen only by the person who typed the command.
    Ephemeral(Mrkdwn),
    /// Shown to the channel, with the command.
    InChannel(Mrkdwn),
    /// Seen only by the person who typed the command, as blocks.
    EphemeralBlocks(slack_morphism::prelude::SlackMessageContent),
    /// Nothing to say (a modal opened, a board is on its way).
    Empty,
}

/// The answer to a modal submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmissionReply {
    /// Close the modal.
    Close,
    /// Keep it open and show these errors by block id.
    Errors(BTreeMap<String, String>),
}

/// A slash command: parsed, acted on, answered; a refusal is an answer too.
pub async fn command(ctx: &Ctx, cmd: &SlashCommand) -> Result<Reply, StoreError> {
    match run_command(ctx, cmd).await {
        Ok(reply) => Ok(reply),
        // A check made in the write transaction refused: nothing changed.
        Err(ChangeError::Refused(why)) => {
            info!(user = %cmd.user(), "refused");
            Ok(Reply::Ephemeral(why.to_mrkdwn()))
        }
        Err(ChangeError::Store(e)) => Err(e),
    }
}

async fn run_command(ctx: &Ctx, cmd: &SlashCommand) -> Result<Reply, ChangeError> {
    let parsed = match command::parse(&cmd.text) {
        Ok(c) => c,
        Err(ParseError::Unknown(what)) => {
            return Ok(Reply::Ephemeral(Mrkdwn::fill(
                "I don't know `{}`.\n{}",
                [Mrkdwn::slack(&what), Mrkdwn::escaped(&command::help_text())],
            )));
        }
        // Our words around what was typed, which is in Slack's format.
        Err(e) => return Ok(Reply::Ephemeral(Mrkdwn::slack(&e.to_string()))),
    };
    match parsed {
        Command::Anywhere(c) => Ok(commands::anywhere(ctx, cmd, c).await?),
        Command::InRoom(c) => commands::in_room(ctx, cmd, c).await,
    }
}

/// A button on a bot message.
pub async fn action(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&ChannelId>,
    trigger_id: &str,
    action: &Action,
) -> Result<(), StoreError> {
    match action {
        Action::Claim { incident, role } => {
            roles::claim_or_release(ctx, user, channel, *incident, role, true).await
        }
        Action::Release { incident, role } => {
            roles::claim_or_release(ctx, user, channel, *incident, role, false).await
        }
        Action::OpenUpdate { incident } => {
            interactions::open_update(ctx, user, channel, trigger_id, *incident).await
        }
        Action::Snooze { incident, minutes } => {
            interactions::snooze(ctx, user, channel, *incident, *minutes).await
        }
        Action::Tick {
            checklist,
            task,
            done,
        } => roles::tick(ctx, user, channel, *checklist, *task, *done).await,
        Action::FollowupDone { id } => followups::followup_done(ctx, user, channel, *id).await,
        Action::AddFollowup { incident } => {
            followups::open_followup(ctx, user, channel, trigger_id, *incident).await
        }
        Action::OpenSummary {
            checklist,
            since,
            until,
        } => {
            interactions::open_summary(ctx, user, channel, trigger_id, *checklist, *since, *until)
                .await
        }
        Action::DeclareFromAlert { group } => {
            alerts::open_declare(ctx, user, channel, trigger_id, *group).await
        }
        Action::AttachAlert { group, incident } => {
            alerts::attach(ctx, user, channel, *group, *incident).await
        }
        Action::DismissAlert { group } => alerts::dismiss(ctx, user, channel, *group).await,
        Action::MarkMitigated { incident } => {
            alerts::mark_mitigated(ctx, user, channel, *incident).await
        }
        Action::Page { incident } => interactions::page(ctx, user, channel, *incident).await,
        Action::HomeDeclare => doors::open_declare(ctx, user, trigger_id, None).await,
        Action::Unknown(id) => {
            warn!(action_id = %id, "unknown action");
            Ok(())
        }
    }
}

/// A Slack event: recorded by its id and acted on once, in one transaction.
/// Returns false when Slack delivered it before.
pub async fn event(ctx: &Ctx, event_id: &str, event: &Event) -> Result<bool, StoreError> {
    let change = match event {
        Event::ReactionAdded(r) => events::tag(ctx, r, true).await?,
        Event::ReactionRemoved(r) => events::tag(ctx, r, false).await?,
        Event::MessageChanged { channel, ts, text } => {
            events::message_change(
                ctx,
                channel,
                TimelineChange::Edit {
                    slack_ts: ts.clone(),
                    text: text.clone(),
                    at: ctx.clock.now(),
                },
            )
            .await?
        }
        Event::MessageDeleted { channel, ts } => {
            events::message_change(
                ctx,
                channel,
                TimelineChange::Delete {
                    slack_ts: ts.clone(),
                },
            )
            .await?
        }
        Event::MemberJoined { channel, user, at } => {
            return events::membership(ctx, event_id, channel, user, true, *at).await;
        }
        Event::MemberLeft { channel, user, at } => {
            return events::membership(ctx, event_id, channel, user, false, *at).await;
        }
        Event::LinksShared {
            channel,
            ts,
            urls,
            composer,
        } => {
            return doors::unfurl(ctx, event_id, channel, ts, urls, composer.as_ref()).await;
        }
        Event::HomeOpened { user } => {
            // Nothing to remember by event id: publishing twice is harmless.
            ctx.store.home_opened(user, ctx.clock.now()).await?;
            ctx.state_changed();
            return Ok(true);
        }
        Event::DeclareStep(step) => {
            // Keyed by the run: a redelivery finds the incident declared.
            return doors::declare_step(ctx, event_id, step).await;
        }
        Event::Other(_) => None,
    };
    let Some(change) = change else {
        // Nothing to act on, so nothing to remember: war rooms are chatty.
        return Ok(true);
    };
    let queues_jobs = !change.effects.jobs.is_empty();
    let fresh = ctx
        .store
        .record_event(event_id, ctx.clock.now(), Some(change))
        .await?;
    if fresh && queues_jobs {
        ctx.state_changed();
    }
    Ok(fresh)
}

/// A timeline entry by `author`, now.
fn entry(ctx: &Ctx, kind: EntryKind, author: &UserId, text: String) -> NewEntry {
    NewEntry {
        occurred_at: ctx.clock.now(),
        kind,
        author: Some(author.clone()),
        text,
    }
}

/// Effects of a notable change: its timeline entries and jobs, and the
/// scribe's quiet clock restarted (the scribe asks for status when
/// nothing notable was recorded for a while).
fn notable(ctx: &Ctx, incident: &Incident, timeline: Vec<NewEntry>, jobs: Vec<Job>) -> Effects {
    let mut schedule = vec![];
    if incident.status.is_open() && !timeline.is_empty() {
        let c = ctx.settings.cadence(&incident.severity);
        schedule.push(ScheduleOp::Scribe(Some(
            ctx.clock.now() + c.scribe_quiet_after,
        )));
    }
    Effects {
        events: Vec::new(),
        timeline,
        jobs,
        schedule,
        guard: Guard::default(),
    }
}

/// The job that tells `user` privately in `channel`: an ephemeral
/// message; none where there is no channel to say it in.
fn telling(channel: Option<&ChannelId>, user: &UserId, text: Mrkdwn) -> Vec<Job> {
    channel
        .map(|c| Job::Ephemeral {
            channel: c.clone(),
            user: user.clone(),
            text: text.into(),
        })
        .into_iter()
        .collect()
}

/// Tells `user` privately in `channel`: an ephemeral message queued with
/// incident `number`, the workers woken.
async fn tell(
    ctx: &Ctx,
    number: IncidentNumber,
    user: &UserId,
    channel: Option<&ChannelId>,
    text: Mrkdwn,
) -> Result<(), StoreError> {
    let told = telling(channel, user, text);
    ctx.store.add_jobs(number, ctx.clock.now(), told).await?;
    ctx.state_changed();
    Ok(())
}

/// The open incidents `user` may see: a private one only for people known
/// to be in its war room (invited by the bot, seen acting there, or
/// reported joining by Slack's member events), so it makes no Web API call.
pub async fn visible_open(ctx: &Ctx, user: &UserId) -> Result<Vec<Incident>, StoreError> {
    ctx.store.open_incidents_seen_by(user).await
}

/// Jobs that bring Slack in line with a change of severity, status or lead.
fn sync_all() -> Vec<Job> {
    vec![Job::SyncTopic, Job::SyncBoard, Job::SyncAnnouncement]
}

/// Today's date in the configured time zone (due dates are calendar dates).
fn today(ctx: &Ctx) -> chrono::NaiveDate {
    ctx.clock
        .now()
        .with_timezone(&ctx.settings.timezone)
        .date_naive()
}

/// Opens `form` while Slack waits: its `trigger_id` dies in 3 s, so the
/// call is bounded to [`VIEWS_OPEN_TIMEOUT`]. On failure, what to tell the
/// person.
async fn open_modal(
    ctx: &Ctx,
    trigger_id: &str,
    view: slack_morphism::prelude::SlackView,
    form: replies::Form,
) -> Result<(), Mrkdwn> {
    use crate::slack::CallError;
    use replies::FormProblem;
    let problem = match tokio::time::timeout(
        VIEWS_OPEN_TIMEOUT,
        ctx.slack.views_open(trigger_id, view),
    )
    .await
    {
        Ok(Ok(())) => return Ok(()),
        // `expired_trigger_id` is what views.open documents;
        // `trigger_expired` is the older dialog name, matched too.
        Ok(Err(CallError::Api(code))) if code.is_expired_trigger() => {
            warn!(%code, ?form, "views.open: the trigger expired");
            replies::form_not_opened(form, FormProblem::Expired)
        }
        Ok(Err(e)) => {
            warn!(error = %e, ?form, "views.open failed");
            replies::form_not_opened(form, FormProblem::Failed(&e))
        }
        Err(_) => {
            warn!(?form, "views.open timed out");
            replies::form_not_opened(form, FormProblem::Slow)
        }
    };
    Err(problem)
}
