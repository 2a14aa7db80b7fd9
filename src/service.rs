//! What each command, button and form does: checks, the state change with
//! its timeline entries and jobs (one transaction), and the reply. No Slack
//! Web API call happens here except `views.open`, which cannot wait.

use crate::app::Ctx;
use crate::command::{self, Command, ParseError};
use crate::domain::comms::Schedule;
use crate::domain::permissions::{Permission, refusal};
use crate::domain::roles::INCIDENT_LEAD;
use crate::domain::timeline::slack_ts_time;
use crate::domain::{Declaration, EntryKind, Incident, NewEntry, Status, UserId};
use crate::domain::{TimelineChange, may};
use crate::jobs::Job;
use crate::reminders;
use crate::slack::blocks;
use crate::slack::inbound::{
    Action, DeclareForm, DeclareMetadata, Event, Reaction, SlashCommand, declare_ids,
};
use crate::store::{Destination, Effects, EventChange, RoleChange, ScheduleOp, StoreError};
use std::collections::BTreeMap;
use std::time::Duration;
use tracing::{info, warn};

/// `trigger_id` lives three seconds; leave room for the answer to travel.
const VIEWS_OPEN_TIMEOUT: Duration = Duration::from_millis(2500);

/// The answer to a slash command.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// Seen only by the person who typed the command.
    Ephemeral(String),
    /// Shown to the channel, with the command.
    InChannel(String),
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
        let c = reminders::cadence(&ctx.settings, &incident.severity);
        schedule.push(ScheduleOp::Scribe(Some(
            ctx.clock.now() + c.scribe_quiet_after,
        )));
    }
    Effects {
        timeline,
        jobs,
        schedule,
    }
}

/// Comms clocks under a new severity's cadence, counted from the last
/// update (or the declaration). A reminder already sent stays sent; one that
/// the new cadence makes overdue fires now.
fn comms_for_severity(ctx: &Ctx, incident: &Incident, severity: &str) -> ScheduleOp {
    let c = reminders::cadence(&ctx.settings, severity);
    let now = ctx.clock.now();
    let base = incident.last_update_at.unwrap_or(incident.declared_at);
    let keep = |pending: Option<chrono::DateTime<chrono::Utc>>, after: chrono::Duration| {
        pending.map(|_| (base + after).max(now))
    };
    ScheduleOp::Comms {
        nudge_at: keep(incident.schedule.nudge_at, c.nudge_after),
        due_at: keep(incident.schedule.due_at, c.due_after),
    }
}

/// Jobs that bring Slack in line with a change of severity, status or lead.
fn sync_all() -> Vec<Job> {
    vec![Job::SyncTopic, Job::SyncBoard, Job::SyncAnnouncement]
}

pub async fn command(ctx: &Ctx, cmd: &SlashCommand) -> Result<Reply, StoreError> {
    let parsed = match command::parse(&cmd.text) {
        Ok(c) => c,
        Err(ParseError::Unknown(what)) => {
            return Ok(Reply::Ephemeral(format!(
                "I don't know `{what}`.\n{}",
                command::help_text()
            )));
        }
        Err(e) => return Ok(Reply::Ephemeral(e.to_string())),
    };
    let user = cmd.user();
    if !parsed.needs_war_room() {
        return Ok(match parsed {
            Command::Declare { title } => open_declare(ctx, cmd, title.as_deref()).await,
            Command::List => list(ctx).await?,
            Command::Stats { days } => stats(ctx, days).await?,
            _ => Reply::Ephemeral(command::help_text()),
        });
    }
    let Some(incident) = ctx.store.incident_by_channel(&cmd.channel_id).await? else {
        return Ok(Reply::Ephemeral(
            "This command works in an incident's war room. `/incident list` shows them; `/incident declare` opens a new one."
                .to_string(),
        ));
    };
    tracing::Span::current().record("incident", incident.number);
    if incident.status == Status::Closed
        && !matches!(parsed, Command::Timeline | Command::Postmortem)
    {
        return Ok(Reply::Ephemeral(format!(
            "{} is closed; nothing more can change here.",
            incident.reference()
        )));
    }
    let n = incident.number;
    if let Some(action) = guarded(&parsed) {
        let allowed = ctx.settings.permissions.get(action);
        let assignments = ctx.store.assignments(n).await?;
        if !may(&incident, &assignments, allowed, &user) {
            info!(user = %user, permission = action.key(), "refused");
            return Ok(Reply::Ephemeral(refusal(
                &incident,
                &assignments,
                allowed,
                action,
            )));
        }
    }
    let reply = match parsed {
        Command::Roles => {
            ctx.store
                .add_effects(
                    n,
                    ctx.clock.now(),
                    Effects {
                        jobs: vec![Job::PostBoard],
                        ..Effects::default()
                    },
                )
                .await?;
            Reply::Empty
        }
        Command::Assign {
            role,
            user: assignee,
        } => {
            let role = match ctx.settings.roles.resolve(&role) {
                Ok(r) => r.clone(),
                Err(e) => return Ok(Reply::Ephemeral(e.to_string())),
            };
            let mut jobs = vec![
                Job::Invite {
                    user: assignee.0.clone(),
                },
                Job::SyncBoard,
            ];
            if role.name == INCIDENT_LEAD {
                jobs.extend([Job::SyncTopic, Job::SyncAnnouncement]);
            }
            let text = format!(
                "{} assigned {} to {}",
                user.mention(),
                role.name,
                assignee.mention()
            );
            let effects = notable(
                ctx,
                &incident,
                vec![entry(ctx, EntryKind::Role, &user, text)],
                jobs,
            );
            match ctx
                .store
                .set_role(
                    n,
                    &role.name,
                    &assignee,
                    !role.multiple,
                    ctx.clock.now(),
                    effects,
                )
                .await?
            {
                RoleChange::Unchanged => Reply::Ephemeral(format!(
                    "{} already holds {}.",
                    assignee.mention(),
                    role.name
                )),
                RoleChange::Changed { replaced } => Reply::InChannel(format!(
                    "{} is now *{}* (assigned by {}){}",
                    assignee.mention(),
                    role.name,
                    user.mention(),
                    handed_over(&replaced)
                )),
            }
        }
        Command::Severity { level } => {
            let level = match ctx.settings.severities.resolve(&level) {
                Ok(l) => l.name.clone(),
                Err(e) => return Ok(Reply::Ephemeral(e.to_string())),
            };
            let text = format!("Severity changed from {} to {level}", incident.severity);
            let mut effects = notable(
                ctx,
                &incident,
                vec![entry(ctx, EntryKind::Severity, &user, text)],
                sync_all(),
            );
            if incident.status.is_open() {
                effects
                    .schedule
                    .push(comms_for_severity(ctx, &incident, &level));
            }
            match ctx
                .store
                .set_severity(n, &level, ctx.clock.now(), effects)
                .await?
            {
                None => Reply::Ephemeral(format!("{} is already {level}.", incident.reference())),
                Some(old) => Reply::InChannel(format!(
                    "{} changed severity: {old} → *{level}*",
                    user.mention()
                )),
            }
        }
        Command::Status { status } => {
            let text = format!("Status changed from {} to {status}", incident.status);
            let mut effects = notable(
                ctx,
                &incident,
                vec![entry(ctx, EntryKind::Status, &user, text)],
                sync_all(),
            );
            let now = ctx.clock.now();
            if !status.is_open() {
                // Reminders stop when the incident is resolved.
                effects.schedule = vec![
                    ScheduleOp::Comms {
                        nudge_at: None,
                        due_at: None,
                    },
                    ScheduleOp::Scribe(None),
                ];
            } else if !incident.status.is_open() {
                // Reopened: the clocks start again.
                let c = reminders::cadence(&ctx.settings, &incident.severity);
                let (nudge_at, due_at) = Schedule::comms_from(now, &c);
                effects
                    .schedule
                    .push(ScheduleOp::Comms { nudge_at, due_at });
            }
            match ctx
                .store
                .set_status(n, status, ctx.clock.now(), effects)
                .await?
            {
                None => Reply::Ephemeral(format!("{} is already {status}.", incident.reference())),
                Some(old) => Reply::InChannel(format!(
                    "{} changed status: {old} → *{status}* {}",
                    user.mention(),
                    status.emoji()
                )),
            }
        }
        Command::Note { text } => {
            let effects = notable(
                ctx,
                &incident,
                vec![entry(ctx, EntryKind::Note, &user, text)],
                vec![],
            );
            ctx.store.add_effects(n, ctx.clock.now(), effects).await?;
            Reply::Ephemeral("Added to the timeline.".to_string())
        }
        Command::Timeline => timeline(ctx, &incident).await?,
        Command::Update { text: Some(text) } => {
            let to = post_update(ctx, &incident, &user, &text, &[]).await?;
            Reply::Ephemeral(format!("Status update posted to {to}."))
        }
        Command::Update { text: None } => open_update(ctx, &incident, &cmd.trigger_id).await,
        Command::Close => close(ctx, &incident, &user).await?,
        Command::Postmortem => {
            let effects = Effects {
                jobs: vec![Job::PostPostmortem],
                ..Effects::default()
            };
            ctx.store.add_effects(n, ctx.clock.now(), effects).await?;
            Reply::Ephemeral("Generating the postmortem draft again from the current timeline; it will appear here.".to_string())
        }
        Command::Declare { .. } | Command::List | Command::Stats { .. } | Command::Help => {
            Reply::Ephemeral(command::help_text())
        }
    };
    ctx.state_changed();
    Ok(reply)
}

/// The permission a command needs, if it needs one.
fn guarded(command: &Command) -> Option<Permission> {
    match command {
        Command::Close => Some(Permission::Close),
        Command::Assign { .. } => Some(Permission::Assign),
        Command::Severity { .. } => Some(Permission::Severity),
        _ => None,
    }
}

fn handed_over(replaced: &[UserId]) -> String {
    if replaced.is_empty() {
        String::new()
    } else {
        let who: Vec<String> = replaced.iter().map(UserId::mention).collect();
        format!(", taking over from {}", who.join(", "))
    }
}

/// Resolves (if needed) and closes, stops the reminders, and queues the
/// postmortem draft. Whoever `permissions.close` allows, checked before.
async fn close(ctx: &Ctx, incident: &Incident, user: &UserId) -> Result<Reply, StoreError> {
    let mut timeline = Vec::new();
    if incident.status.is_open() {
        timeline.push(entry(
            ctx,
            EntryKind::Status,
            user,
            format!("Status changed from {} to resolved", incident.status),
        ));
    }
    timeline.push(entry(
        ctx,
        EntryKind::Status,
        user,
        format!("{} closed the incident", user.mention()),
    ));
    let mut jobs = sync_all();
    jobs.push(Job::PostPostmortem);
    let effects = Effects {
        timeline,
        jobs,
        schedule: vec![
            ScheduleOp::Comms {
                nudge_at: None,
                due_at: None,
            },
            ScheduleOp::Scribe(None),
        ],
    };
    ctx.store
        .set_status(incident.number, Status::Closed, ctx.clock.now(), effects)
        .await?;
    Ok(Reply::InChannel(format!(
        ":lock: {} closed {}. The postmortem draft is on its way to this channel.",
        user.mention(),
        incident.reference()
    )))
}

/// `/incident stats [days]`: incidents by severity and mean/median time to
/// detect, mitigate and resolve, drills excluded.
async fn stats(ctx: &Ctx, days: u32) -> Result<Reply, StoreError> {
    use crate::domain::metrics::{human, mean_median, metrics};
    let since = ctx.clock.now() - chrono::Duration::days(i64::from(days));
    let incidents = ctx.store.incidents_since(since).await?;
    if incidents.is_empty() {
        return Ok(Reply::Ephemeral(format!(
            "No incidents in the last {days} days (drills are not counted)."
        )));
    }
    let mut lines = vec![format!(
        "*Incidents in the last {days} days: {}* (drills not counted)",
        incidents.len()
    )];
    let mut by_severity: Vec<String> = ctx
        .settings
        .severities
        .iter()
        .map(|l| {
            (
                l.name.clone(),
                incidents.iter().filter(|i| i.severity == l.name).count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{name}: {n}"))
        .collect();
    let other = incidents
        .iter()
        .filter(|i| ctx.settings.severities.resolve(&i.severity).is_err())
        .count();
    if other > 0 {
        by_severity.push(format!("other levels: {other}"));
    }
    lines.push(by_severity.join(" · "));
    let all: Vec<_> = incidents.iter().map(metrics).collect();
    for (k, name) in ["time to detect", "time to mitigate", "time to resolve"]
        .into_iter()
        .enumerate()
    {
        let known: Vec<chrono::Duration> = all.iter().filter_map(|m| m[k].value.ok()).collect();
        let n = known.len();
        lines.push(match mean_median(known) {
            Some((mean, median)) => format!(
                "• Mean {name}: {} · median {} ({n} of {} incidents)",
                human(mean),
                human(median),
                incidents.len()
            ),
            None => format!("• {name}: not known for any incident yet"),
        });
    }
    Ok(Reply::Ephemeral(lines.join("\n")))
}

async fn open_declare(ctx: &Ctx, cmd: &SlashCommand, title: Option<&str>) -> Reply {
    let view = blocks::declare_modal(title, &ctx.settings.severities, &cmd.channel_id);
    match tokio::time::timeout(
        VIEWS_OPEN_TIMEOUT,
        ctx.slack.views_open(&cmd.trigger_id, view),
    )
    .await
    {
        Ok(Ok(())) => Reply::Empty,
        Ok(Err(e)) if trigger_expired(&e) => {
            warn!(error = %e, "views.open: the trigger expired");
            Reply::Ephemeral(
                "That took too long to open; run `/incident declare` again.".to_string(),
            )
        }
        Ok(Err(e)) => {
            warn!(error = %e, "views.open failed");
            Reply::Ephemeral(format!(
                "I could not open the declare form ({e}). Run `/incident declare` again."
            ))
        }
        Err(_) => {
            warn!("views.open timed out");
            Reply::Ephemeral(
                "Slack took too long to open the declare form. Run `/incident declare` again."
                    .to_string(),
            )
        }
    }
}

async fn list(ctx: &Ctx) -> Result<Reply, StoreError> {
    let open = ctx.store.open_incidents().await?;
    if open.is_empty() {
        return Ok(Reply::Ephemeral("No open incidents. :sunny:".to_string()));
    }
    let lines: Vec<String> = open
        .iter()
        .map(|i| {
            let room = i
                .channel_id
                .as_ref()
                .map(|c| format!("<#{c}>"))
                .unwrap_or_else(|| "(war room being opened)".to_string());
            format!(
                "• *{}* {} · {} · {} · {room}",
                i.reference(),
                blocks::escape(&i.title),
                i.severity,
                i.status
            )
        })
        .collect();
    Ok(Reply::Ephemeral(format!(
        "*Open incidents*\n{}",
        lines.join("\n")
    )))
}

async fn timeline(ctx: &Ctx, incident: &Incident) -> Result<Reply, StoreError> {
    let entries = ctx.store.timeline(incident.number).await?;
    Ok(Reply::EphemeralBlocks(blocks::timeline(
        incident,
        &entries,
        ctx.settings.timezone,
    )))
}

/// A declare modal was submitted.
pub async fn declare(
    ctx: &Ctx,
    user: &UserId,
    view_id: &str,
    metadata: Option<&DeclareMetadata>,
    form: &DeclareForm,
) -> Result<SubmissionReply, StoreError> {
    let mut errors = BTreeMap::new();
    if form.title.is_empty() {
        errors.insert(
            declare_ids::TITLE.to_string(),
            "Give the incident a title.".to_string(),
        );
    }
    let severity = form
        .severity
        .as_deref()
        .and_then(|s| ctx.settings.severities.resolve(s).ok())
        .map(|l| l.name.clone());
    if severity.is_none() {
        errors.insert(
            declare_ids::SEVERITY.to_string(),
            "Pick a severity.".to_string(),
        );
    }
    let now = ctx.clock.now();
    if form.impact_started_at.is_some_and(|t| t > now) {
        errors.insert(
            declare_ids::IMPACT.to_string(),
            "Impact cannot start in the future.".to_string(),
        );
    }
    let origin = metadata.map(|m| m.channel.clone());
    let announce = ctx
        .settings
        .announce_channel
        .clone()
        .or_else(|| origin.clone());
    let (Some(severity), Some(announce_channel), true) = (severity, announce, errors.is_empty())
    else {
        if errors.is_empty() {
            errors.insert(
                declare_ids::TITLE.to_string(),
                "This form lost track of its channel: close it and run /incident declare again."
                    .to_string(),
            );
        }
        return Ok(SubmissionReply::Errors(errors));
    };
    let declaration = Declaration {
        title: form.title.clone(),
        severity,
        summary: form.summary.clone(),
        impact_started_at: form.impact_started_at,
        security: form.security,
        drill: form.drill,
        declared_by: user.clone(),
        origin_channel: origin.unwrap_or_else(|| announce_channel.clone()),
        announce_channel,
    };
    let drill = if form.drill { " (drill)" } else { "" };
    let effects = Effects {
        timeline: vec![entry(
            ctx,
            EntryKind::Declared,
            user,
            format!(
                "{} declared the incident{drill}: {}",
                user.mention(),
                form.title
            ),
        )],
        jobs: vec![
            Job::CreateChannel,
            Job::Invite {
                user: user.0.clone(),
            },
            Job::SyncTopic,
            Job::SyncBoard,
            Job::SyncAnnouncement,
        ],
        schedule: {
            let c = reminders::cadence(&ctx.settings, &declaration.severity);
            let (nudge_at, due_at) = Schedule::comms_from(now, &c);
            vec![
                ScheduleOp::Comms { nudge_at, due_at },
                ScheduleOp::Scribe(Some(now + c.scribe_quiet_after)),
            ]
        },
    };
    let (incident, created) = ctx
        .store
        .create_incident(&declaration, Some(view_id), now, INCIDENT_LEAD, effects)
        .await?;
    tracing::Span::current().record("incident", incident.number);
    if created {
        ctx.metrics.declared();
        info!(severity = %incident.severity, "incident declared");
        ctx.state_changed();
    }
    Ok(SubmissionReply::Close)
}

/// A button on a bot message.
pub async fn action(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&str>,
    trigger_id: &str,
    action: &Action,
) -> Result<(), StoreError> {
    let number = match action {
        Action::Claim { incident, .. }
        | Action::Release { incident, .. }
        | Action::OpenUpdate { incident }
        | Action::Snooze { incident, .. } => *incident,
        Action::Unknown(id) => {
            warn!(action_id = %id, "unknown action");
            return Ok(());
        }
    };
    tracing::Span::current().record("incident", number);
    let Some(incident) = ctx.store.incident(number).await? else {
        return Ok(());
    };
    let tell = |text: String| -> Effects {
        Effects {
            jobs: match channel.or(incident.channel_id.as_deref()) {
                Some(c) => vec![Job::Ephemeral {
                    channel: c.to_string(),
                    user: user.0.clone(),
                    text,
                }],
                None => vec![],
            },
            ..Effects::default()
        }
    };
    let now = ctx.clock.now();
    let told = |text: String| async move {
        ctx.store.add_effects(number, now, tell(text)).await?;
        ctx.state_changed();
        Ok::<(), StoreError>(())
    };
    if incident.status == Status::Closed {
        return told(format!("{} is closed.", incident.reference())).await;
    }
    let (role_name, claim) = match action {
        Action::Claim { role, .. } => (role, true),
        Action::Release { role, .. } => (role, false),
        Action::OpenUpdate { .. } => {
            if let Reply::Ephemeral(problem) = open_update(ctx, &incident, trigger_id).await {
                told(problem).await?;
            }
            return Ok(());
        }
        Action::Snooze { minutes, .. } => return snooze(ctx, &incident, user, *minutes).await,
        Action::Unknown(_) => return Ok(()),
    };
    let Some(role) = ctx.settings.roles.get(role_name).cloned() else {
        return told(format!("{role_name} is no longer a role here.")).await;
    };
    let mut jobs = vec![Job::SyncBoard];
    if role.name == INCIDENT_LEAD {
        jobs.extend([Job::SyncTopic, Job::SyncAnnouncement]);
    }
    let verb = if claim { "claimed" } else { "released" };
    let text = format!("{} {verb} {}", user.mention(), role.name);
    let effects = notable(
        ctx,
        &incident,
        vec![entry(ctx, EntryKind::Role, user, text)],
        jobs,
    );
    if claim {
        if ctx
            .store
            .set_role(number, &role.name, user, !role.multiple, now, effects)
            .await?
            == RoleChange::Unchanged
        {
            return told(format!("You already hold {}.", role.name)).await;
        }
    } else if !ctx
        .store
        .release_role(number, &role.name, user, now, effects)
        .await?
    {
        return told(format!(
            "You don't hold {}, so there is nothing to release.",
            role.name
        ))
        .await;
    }
    ctx.state_changed();
    Ok(())
}

/// Pushes the pending communication reminders back by `minutes`.
async fn snooze(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
    minutes: u32,
) -> Result<(), StoreError> {
    let now = ctx.clock.now();
    let until = now + chrono::Duration::minutes(i64::from(minutes));
    let later = |at: Option<chrono::DateTime<chrono::Utc>>| at.map(|t| t.max(until));
    let effects = Effects {
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
    };
    ctx.store.add_effects(incident.number, now, effects).await?;
    ctx.state_changed();
    Ok(())
}

/// Slack's answer when a `trigger_id` outlived its three seconds (or was
/// used already): `expired_trigger_id` is what views.open documents;
/// `trigger_expired` is the older dialog name, matched too.
fn trigger_expired(e: &crate::slack::CallError) -> bool {
    matches!(e, crate::slack::CallError::Api(code)
        if matches!(code.as_str(), "expired_trigger_id" | "trigger_expired" | "exchanged_trigger_id"))
}

/// Opens the update modal (the `trigger_id` dies in 3 s, so now).
async fn open_update(ctx: &Ctx, incident: &Incident, trigger_id: &str) -> Reply {
    let audiences: Vec<&str> = ctx.settings.audiences.keys().map(String::as_str).collect();
    let view = blocks::update_modal(incident, &audiences);
    match tokio::time::timeout(VIEWS_OPEN_TIMEOUT, ctx.slack.views_open(trigger_id, view)).await {
        Ok(Ok(())) => Reply::Empty,
        Ok(Err(e)) if trigger_expired(&e) => {
            warn!(error = %e, "views.open: the trigger expired");
            Reply::Ephemeral(
                "That took too long to open; run `/incident update` again, or post the text directly: `/incident update <text>`."
                    .to_string(),
            )
        }
        Ok(Err(e)) => Reply::Ephemeral(format!(
            "I could not open the update form ({e}). Try again, or post the text directly: `/incident update <text>`."
        )),
        Err(_) => Reply::Ephemeral(
            "Slack took too long to open the update form. Try again, or use `/incident update <text>`.".to_string(),
        ),
    }
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
) -> Result<String, StoreError> {
    use blocks::update_ids::ANNOUNCEMENT;
    let mut destinations = Vec::new();
    let mut add = |channel: &str, audience: &str| {
        if !destinations
            .iter()
            .any(|d: &Destination| d.channel == channel)
        {
            destinations.push(Destination {
                channel: channel.to_string(),
                audience: audience.to_string(),
            });
        }
    };
    if audiences.is_empty() || audiences.iter().any(|a| a == ANNOUNCEMENT) {
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
    let places: Vec<String> = destinations
        .iter()
        .map(|d| format!("<#{}>", d.channel))
        .collect();
    let places = places.join(", ");
    let mut effects = notable(
        ctx,
        incident,
        vec![entry(
            ctx,
            EntryKind::Update,
            user,
            format!("Status update by {} to {places}: {text}", user.mention()),
        )],
        vec![],
    );
    effects.schedule.push(ScheduleOp::LastUpdate(now));
    if incident.status.is_open() {
        let c = reminders::cadence(&ctx.settings, &incident.severity);
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
    number: i64,
    answers: &crate::domain::comms::UpdateAnswers,
    audiences: &[String],
) -> Result<SubmissionReply, StoreError> {
    use blocks::update_ids::{AUDIENCES, STATUS};
    tracing::Span::current().record("incident", number);
    let mut errors = BTreeMap::new();
    if answers.status.is_empty() {
        errors.insert(
            STATUS.to_string(),
            "Say where things stand, even if it is \"still investigating\".".to_string(),
        );
    }
    if audiences.is_empty() {
        errors.insert(
            AUDIENCES.to_string(),
            "Pick at least one place to post to.".to_string(),
        );
    }
    let incident = match ctx.store.incident(number).await? {
        Some(i) if i.status != Status::Closed => i,
        _ => {
            errors.insert(STATUS.to_string(), "This incident is closed.".to_string());
            return Ok(SubmissionReply::Errors(errors));
        }
    };
    if !errors.is_empty() {
        return Ok(SubmissionReply::Errors(errors));
    }
    // What people type in a form is text, not markup: `<!channel>` must
    // not ping a whole channel.
    let answers = crate::domain::comms::UpdateAnswers {
        status: blocks::escape(&answers.status),
        impact: blocks::escape(&answers.impact),
        workaround: blocks::escape(&answers.workaround),
        next_update_minutes: answers.next_update_minutes,
    };
    let text = crate::domain::comms::assemble_update(
        crate::domain::comms::Phase::of(incident.status),
        &answers,
        ctx.clock.now(),
    );
    post_update(ctx, &incident, user, &text, audiences).await?;
    Ok(SubmissionReply::Close)
}

/// A Slack event: recorded by its id and acted on once, in one transaction.
/// Returns false when Slack delivered it before.
pub async fn event(ctx: &Ctx, event_id: &str, event: &Event) -> Result<bool, StoreError> {
    let change = match event {
        Event::ReactionAdded(r) => tag(ctx, r, true).await?,
        Event::ReactionRemoved(r) => tag(ctx, r, false).await?,
        Event::MessageChanged { channel, ts, text } => {
            message_change(
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
            message_change(
                ctx,
                channel,
                TimelineChange::Delete {
                    slack_ts: ts.clone(),
                },
            )
            .await?
        }
        Event::Other(_) => None,
    };
    let Some(change) = change else {
        // Nothing to act on, so nothing to remember: war rooms are chatty.
        return Ok(true);
    };
    let change = Some(change);
    let queues_jobs = change.as_ref().is_some_and(|c| !c.effects.jobs.is_empty());
    let fresh = ctx
        .store
        .record_event(event_id, ctx.clock.now(), change)
        .await?;
    if fresh && queues_jobs {
        ctx.state_changed();
    }
    Ok(fresh)
}

async fn message_change(
    ctx: &Ctx,
    channel: &str,
    change: TimelineChange,
) -> Result<Option<EventChange>, StoreError> {
    Ok(ctx
        .store
        .incident_by_channel(channel)
        .await?
        .map(|incident| {
            tracing::Span::current().record("incident", incident.number);
            EventChange {
                incident: incident.number,
                change: Some(change),
                effects: Effects::default(),
            }
        }))
}

/// A reaction in a war room: a tag (or untag) when it is a tagging emoji
/// from someone allowed to tag. A tagging emoji added by someone else puts
/// nothing on the timeline; for the tag emoji itself (not the typed tags,
/// which double as everyday reactions) they are told, once, who may tag.
async fn tag(ctx: &Ctx, r: &Reaction, added: bool) -> Result<Option<EventChange>, StoreError> {
    let Some(kind) = ctx.settings.timeline.tag_kind(&r.reaction) else {
        return Ok(None);
    };
    let Some(incident) = ctx.store.incident_by_channel(&r.channel).await? else {
        return Ok(None);
    };
    tracing::Span::current().record("incident", incident.number);
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
                jobs: vec![Job::Ephemeral {
                    channel: r.channel.clone(),
                    user: r.user.0.clone(),
                    text: refusal(&incident, &assignments, allowed, Permission::Tag),
                }],
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
                by: Some(r.user.0.clone()),
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
        ..Effects::default()
    };
    if added {
        // A tag is notable: the scribe's quiet clock restarts.
        let c = reminders::cadence(&ctx.settings, &incident.severity);
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
