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
use crate::store::{Destination, Effects, EventChange, Guard, RoleChange, ScheduleOp, StoreError};
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
        guard: Guard::default(),
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
    match run_command(ctx, cmd).await {
        // A check made in the write transaction refused: nothing changed.
        Err(StoreError::Refused(why)) => {
            info!(user = %cmd.user(), "refused");
            Ok(Reply::Ephemeral(why))
        }
        other => other,
    }
}

async fn run_command(ctx: &Ctx, cmd: &SlashCommand) -> Result<Reply, StoreError> {
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
            Command::List => list(ctx, &user).await?,
            Command::Stats { days } => stats(ctx, days).await?,
            Command::Followups { scope } => list_followups(ctx, &user, scope).await?,
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
        && !matches!(
            parsed,
            Command::Timeline | Command::Postmortem | Command::Followup { .. }
        )
    {
        return Ok(Reply::Ephemeral(format!(
            "{} is closed; nothing more can change here.",
            incident.reference()
        )));
    }
    let n = incident.number;
    // Checked again inside each write's transaction, against the state it
    // locks: still open, still allowed. Typing here also shows the person
    // is in the war room.
    let mut guard = Guard::open_by(&user);
    if let Some(action) = guarded(&parsed) {
        // Refused at once when already refused now (before any argument is
        // checked); checked again when writing.
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
        guard = guard.allowing(action, allowed, &user);
    }
    let reply = match parsed {
        Command::Roles => {
            ctx.store
                .add_effects(
                    n,
                    ctx.clock.now(),
                    Effects {
                        jobs: vec![Job::PostBoard],
                        guard,
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
            jobs.push(checklist_for(&role.name, &assignee));
            let text = format!(
                "{} assigned {} to {}",
                user.mention(),
                role.name,
                assignee.mention()
            );
            let mut effects = notable(
                ctx,
                &incident,
                vec![entry(ctx, EntryKind::Role, &user, text)],
                jobs,
            );
            effects.guard = guard;
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
        Command::Severity { level: None } => match &ctx.settings.severity_matrix {
            Some(matrix) => open_severity(ctx, &incident, matrix, &cmd.trigger_id).await,
            None => Reply::Ephemeral(format!(
                "No `severity_matrix` is configured, so there are no impact and urgency questions: `/incident severity <level>` ({}).",
                level_names(ctx)
            )),
        },
        Command::Severity { level: Some(level) } => {
            let level = match ctx.settings.severities.resolve(&level) {
                Ok(l) => l.name.clone(),
                Err(e) => return Ok(Reply::Ephemeral(e.to_string())),
            };
            match change_severity(ctx, &incident, &user, &level, None, guard).await? {
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
            effects.guard = guard;
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
            let mut effects = notable(
                ctx,
                &incident,
                vec![entry(ctx, EntryKind::Note, &user, text)],
                vec![],
            );
            effects.guard = guard;
            ctx.store.add_effects(n, ctx.clock.now(), effects).await?;
            Reply::Ephemeral("Added to the timeline.".to_string())
        }
        Command::Timeline => timeline(ctx, &incident).await?,
        Command::Update { text: Some(text) } => {
            let to = post_update(ctx, &incident, &user, &text, &[], guard).await?;
            Reply::Ephemeral(format!("Status update posted to {to}."))
        }
        Command::Update { text: None } => open_update(ctx, &incident, &cmd.trigger_id).await,
        Command::Close => close(ctx, &incident, &user, guard).await?,
        Command::Postmortem => {
            // Allowed after close: the draft is made from what is kept.
            let effects = Effects {
                jobs: vec![Job::PostPostmortem],
                guard: Guard {
                    member: Some(user.clone()),
                    ..Guard::default()
                },
                ..Effects::default()
            };
            ctx.store.add_effects(n, ctx.clock.now(), effects).await?;
            Reply::Ephemeral("Generating the postmortem draft again from the current timeline; it will appear here.".to_string())
        }
        Command::Checklist => checklists_of(ctx, &incident, &user).await?,
        Command::Followup { text, owner, due } => {
            add_followup(ctx, &incident, &user, text, owner, due).await?
        }
        Command::Declare { .. }
        | Command::List
        | Command::Stats { .. }
        | Command::Help
        | Command::Followups { .. } => Reply::Ephemeral(command::help_text()),
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
async fn close(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
    guard: Guard,
) -> Result<Reply, StoreError> {
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
        guard,
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
    let today = today(ctx);
    let (open, overdue) = followup_counts(ctx, today).await?;
    lines.push(format!(
        "• Follow-ups: {open} open, {overdue} overdue (`/incident followups open`)"
    ));
    Ok(Reply::Ephemeral(lines.join("\n")))
}

async fn open_declare(ctx: &Ctx, cmd: &SlashCommand, title: Option<&str>) -> Reply {
    let view = blocks::declare_modal(
        title,
        &ctx.settings.severities,
        ctx.settings.severity_matrix.as_ref(),
        &cmd.channel_id,
        ctx.settings.incidents.security_private,
    );
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

/// Open incidents; a private one only for people known to be in its war
/// room (invited by the bot, seen acting there, or reported joining by
/// Slack's member events), so listing makes no Web API call.
async fn list(ctx: &Ctx, user: &UserId) -> Result<Reply, StoreError> {
    let mut open = Vec::new();
    for i in ctx.store.open_incidents().await? {
        if !i.private || ctx.store.is_member(i.number, user).await? {
            open.push(i);
        }
    }
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
            let private = if i.private { " :lock:" } else { "" };
            format!(
                "• *{}*{private} {} · {} · {} · {room}",
                i.reference(),
                blocks::safe(&i.title),
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
    let (severity, assessment) = match assess_form(
        ctx,
        form.severity.as_deref(),
        form.impact_answer.as_deref(),
        form.urgency.as_deref(),
    ) {
        Ok((level, assessment)) => (Some(level), assessment),
        Err(e) => {
            errors.extend(e);
            (None, None)
        }
    };
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
        private: form.private || (form.security && ctx.settings.incidents.security_private),
        declared_by: user.clone(),
        origin_channel: origin.unwrap_or_else(|| announce_channel.clone()),
        announce_channel,
        assessment,
    };
    let drill = if form.drill { " (drill)" } else { "" };
    let effects = Effects {
        timeline: vec![entry(
            ctx,
            EntryKind::Declared,
            user,
            // Timeline texts are in Slack's format; a typed title is raw.
            format!(
                "{} declared the incident{drill}: {}",
                user.mention(),
                blocks::escape(&form.title)
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
        guard: Guard::default(),
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
        Action::Tick {
            checklist,
            task,
            done,
        } => return tick(ctx, user, channel, *checklist, *task, *done).await,
        Action::FollowupDone { id } => return followup_done(ctx, user, channel, *id).await,
        Action::AddFollowup { incident } => {
            return open_followup(ctx, user, channel, trigger_id, *incident).await;
        }
        Action::OpenSummary {
            checklist,
            since,
            until,
        } => {
            return open_summary(ctx, user, channel, trigger_id, *checklist, *since, *until).await;
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
        Action::Unknown(_)
        | Action::Tick { .. }
        | Action::OpenSummary { .. }
        | Action::FollowupDone { .. }
        | Action::AddFollowup { .. } => return Ok(()),
    };
    let Some(role) = ctx.settings.roles.get(role_name).cloned() else {
        return told(format!("{role_name} is no longer a role here.")).await;
    };
    let mut jobs = vec![Job::SyncBoard];
    if role.name == INCIDENT_LEAD {
        jobs.extend([Job::SyncTopic, Job::SyncAnnouncement]);
    }
    if claim {
        jobs.push(checklist_for(&role.name, user));
    }
    let verb = if claim { "claimed" } else { "released" };
    let text = format!("{} {verb} {}", user.mention(), role.name);
    let mut effects = notable(
        ctx,
        &incident,
        vec![entry(ctx, EntryKind::Role, user, text)],
        jobs,
    );
    // The board is in the war room: whoever clicks is in it.
    effects.guard = Guard::open_by(user);
    if claim {
        effects.guard.take_over = Some((ctx.settings.permissions.take_over.clone(), user.clone()));
        match ctx
            .store
            .set_role(number, &role.name, user, !role.multiple, now, effects)
            .await
        {
            Ok(RoleChange::Unchanged) => {
                return told(format!("You already hold {}.", role.name)).await;
            }
            Ok(RoleChange::Changed { .. }) => {}
            Err(StoreError::Refused(why)) => {
                info!(user = %user, permission = Permission::TakeOver.key(), "refused");
                return told(why).await;
            }
            Err(e) => return Err(e),
        }
    } else if !match ctx
        .store
        .release_role(number, &role.name, user, now, effects)
        .await
    {
        Err(StoreError::Refused(why)) => return told(why).await,
        other => other?,
    } {
        return told(format!(
            "You don't hold {}, so there is nothing to release.",
            role.name
        ))
        .await;
    }
    ctx.state_changed();
    Ok(())
}

/// `/incident checklist`: posts (again) the checklist of every role the
/// caller holds, ticks kept; the declarer, who leads from the start, gets
/// the Incident Lead's this way.
async fn checklists_of(ctx: &Ctx, incident: &Incident, user: &UserId) -> Result<Reply, StoreError> {
    let held: Vec<String> = ctx
        .store
        .assignments(incident.number)
        .await?
        .into_iter()
        .filter(|a| a.user == *user)
        .map(|a| a.role)
        .filter(|role| {
            ctx.settings
                .roles
                .get(role)
                .is_some_and(|r| !r.tasks().is_empty())
        })
        .collect();
    if held.is_empty() {
        return Ok(Reply::Ephemeral(format!(
            "You hold no role with a checklist in {}. Claim one on the role board (`/incident roles`) and its checklist appears here.",
            incident.reference()
        )));
    }
    let effects = Effects {
        jobs: held.iter().map(|role| checklist_for(role, user)).collect(),
        ..Effects::default()
    };
    ctx.store
        .add_effects(incident.number, ctx.clock.now(), effects)
        .await?;
    Ok(Reply::Ephemeral(format!(
        "Posting your {} checklist{} here.",
        held.join(" and "),
        if held.len() > 1 { "s" } else { "" }
    )))
}

/// The job that shows a new role holder their checklist (written with the
/// role change, so it is posted once the change is, whatever restarts).
fn checklist_for(role: &str, user: &UserId) -> Job {
    Job::PostChecklist {
        role: role.to_string(),
        user: user.0.clone(),
    }
}

/// A tick on a role checklist: recorded on the timeline with who ticked
/// it, and the message edited in place so everyone sees the progress.
/// Anyone in the war room may tick (a lead may tick for a busy holder).
async fn tick(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&str>,
    checklist: i64,
    task: usize,
    done: bool,
) -> Result<(), StoreError> {
    let Some(list) = ctx.store.checklist(checklist).await? else {
        return Ok(());
    };
    let Some(incident) = ctx.store.incident(list.incident).await? else {
        return Ok(());
    };
    let Some(text) = list.tasks.all().get(task).map(|t| t.text.to_string()) else {
        warn!(
            checklist,
            task, "tick on a task the checklist does not have"
        );
        return Ok(());
    };
    tracing::Span::current().record("incident", incident.number);
    let now = ctx.clock.now();
    if incident.status == Status::Closed {
        // Put the message back as it was and say why.
        let mut jobs = vec![Job::SyncChecklist { checklist }];
        if let Some(c) = channel.or(incident.channel_id.as_deref()) {
            jobs.push(Job::Ephemeral {
                channel: c.to_string(),
                user: user.0.clone(),
                text: format!(
                    "{} is closed; its checklists no longer change.",
                    incident.reference()
                ),
            });
        }
        let effects = Effects {
            jobs,
            ..Effects::default()
        };
        ctx.store.add_effects(incident.number, now, effects).await?;
        ctx.state_changed();
        return Ok(());
    }
    let verb = if done { "ticked" } else { "unticked" };
    let whose = if list.holder == *user {
        String::new()
    } else {
        format!(" of {}", list.holder.mention())
    };
    let note = format!(
        "{} {verb} “{text}” on the {} checklist{whose}",
        user.mention(),
        list.role
    );
    let effects = notable(
        ctx,
        &incident,
        vec![entry(ctx, EntryKind::Task, user, note)],
        vec![Job::SyncChecklist { checklist }],
    );
    if ctx
        .store
        .tick_task(checklist, task, user, done, now, effects)
        .await?
    {
        ctx.state_changed();
    }
    Ok(())
}

/// "Edit and post" on the Scribe's reminder: the form with the internal
/// summary of that window prefilled (the `trigger_id` dies in 3 s, so now).
async fn open_summary(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&str>,
    trigger_id: &str,
    checklist: i64,
    since: i64,
    until: i64,
) -> Result<(), StoreError> {
    let Some(list) = ctx.store.checklist(checklist).await? else {
        return Ok(());
    };
    let Some(incident) = ctx.store.incident(list.incident).await? else {
        return Ok(());
    };
    tracing::Span::current().record("incident", incident.number);
    let since = chrono::DateTime::from_timestamp_millis(since).unwrap_or(incident.declared_at);
    let until = chrono::DateTime::from_timestamp_millis(until).unwrap_or(since);
    let entries: Vec<_> = ctx
        .store
        .timeline(incident.number)
        .await?
        .into_iter()
        .filter(|e| e.occurred_at < until)
        .collect();
    let text = blocks::internal_summary(&incident, &entries, since, ctx.settings.timezone);
    let view = blocks::summary_modal(&incident, &text);
    let problem = match tokio::time::timeout(
        VIEWS_OPEN_TIMEOUT,
        ctx.slack.views_open(trigger_id, view),
    )
    .await
    {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(e)) if trigger_expired(&e) => {
            "That took too long to open; click *Edit and post* again.".to_string()
        }
        Ok(Err(e)) => format!("I could not open the summary form ({e}). Try again."),
        Err(_) => "Slack took too long to open the summary form. Try again.".to_string(),
    };
    warn!(%problem, "summary form not opened");
    if let Some(c) = channel.or(incident.channel_id.as_deref()) {
        let effects = Effects {
            jobs: vec![Job::Ephemeral {
                channel: c.to_string(),
                user: user.0.clone(),
                text: problem,
            }],
            ..Effects::default()
        };
        ctx.store
            .add_effects(incident.number, ctx.clock.now(), effects)
            .await?;
        ctx.state_changed();
    }
    Ok(())
}

/// The Scribe's internal summary form was submitted: posted in the war
/// room and kept on the timeline, in one transaction.
pub async fn summary_submitted(
    ctx: &Ctx,
    user: &UserId,
    number: i64,
    text: &str,
) -> Result<SubmissionReply, StoreError> {
    tracing::Span::current().record("incident", number);
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
    let text = text.replace("<!", "&lt;!");
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
            by: user.0.clone(),
        }],
    );
    ctx.store
        .add_effects(number, ctx.clock.now(), effects)
        .await?;
    ctx.state_changed();
    Ok(SubmissionReply::Close)
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
        guard: Guard::open_by(user),
    };
    match ctx.store.add_effects(incident.number, now, effects).await {
        // Closed meanwhile: there is nothing left to snooze.
        Err(StoreError::Refused(_)) => return Ok(()),
        other => other?,
    }
    ctx.state_changed();
    Ok(())
}

fn level_names(ctx: &Ctx) -> String {
    ctx.settings
        .severities
        .iter()
        .map(|l| l.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Sets the severity (and the impact and urgency answers, when given) with
/// its timeline entry, the syncs and the cadence of the new level; `guard`
/// is checked in the write. Returns the previous level, or `None` when
/// nothing changed.
async fn change_severity(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
    level: &str,
    assessment: Option<&crate::domain::Assessment>,
    guard: Guard,
) -> Result<Option<String>, StoreError> {
    let mut text = if incident.severity == level {
        format!("Severity stays {level}")
    } else {
        format!("Severity changed from {} to {level}", incident.severity)
    };
    if let Some(a) = assessment {
        text.push_str(&format!(
            " (impact: {}, urgency: {})",
            crate::slack::text::escape(&a.impact),
            crate::slack::text::escape(&a.urgency)
        ));
    }
    let mut effects = notable(
        ctx,
        incident,
        vec![entry(ctx, EntryKind::Severity, user, text)],
        sync_all(),
    );
    effects.guard = guard;
    if incident.status.is_open() && incident.severity != level {
        effects
            .schedule
            .push(comms_for_severity(ctx, incident, level));
    }
    ctx.store
        .set_severity_assessed(incident.number, level, assessment, ctx.clock.now(), effects)
        .await
}

/// Opens the severity form (the `trigger_id` dies in 3 s, so now).
async fn open_severity(
    ctx: &Ctx,
    incident: &Incident,
    matrix: &crate::domain::SeverityMatrix,
    trigger_id: &str,
) -> Reply {
    let view = blocks::severity_modal(incident, &ctx.settings.severities, matrix);
    match tokio::time::timeout(VIEWS_OPEN_TIMEOUT, ctx.slack.views_open(trigger_id, view)).await {
        Ok(Ok(())) => Reply::Empty,
        Ok(Err(e)) if trigger_expired(&e) => {
            warn!(error = %e, "views.open: the trigger expired");
            Reply::Ephemeral(
                "That took too long to open; run `/incident severity` again, or give the level: `/incident severity <level>`."
                    .to_string(),
            )
        }
        Ok(Err(e)) => Reply::Ephemeral(format!(
            "I could not open the severity form ({e}). Try again, or give the level: `/incident severity <level>`."
        )),
        Err(_) => Reply::Ephemeral(
            "Slack took too long to open the severity form. Try again, or give the level: `/incident severity <level>`."
                .to_string(),
        ),
    }
}

/// What the severity questions of a form decide: the level (the override,
/// else the matrix's suggestion) and the answers to store, or the errors
/// to show by block.
fn assess_form(
    ctx: &Ctx,
    chosen: Option<&str>,
    impact: Option<&str>,
    urgency: Option<&str>,
) -> Result<(String, Option<crate::domain::Assessment>), BTreeMap<String, String>> {
    let mut errors = BTreeMap::new();
    let chosen = match chosen.map(|s| ctx.settings.severities.resolve(s)) {
        None => None,
        Some(Ok(l)) => Some(l.name.clone()),
        Some(Err(e)) => {
            errors.insert(declare_ids::SEVERITY.to_string(), e.to_string());
            return Err(errors);
        }
    };
    let Some(matrix) = &ctx.settings.severity_matrix else {
        return match chosen {
            Some(level) => Ok((level, None)),
            None => {
                errors.insert(
                    declare_ids::SEVERITY.to_string(),
                    "Pick a severity.".to_string(),
                );
                Err(errors)
            }
        };
    };
    let assessment = match (impact, urgency) {
        (Some(i), Some(u)) => match matrix.assess(i, u) {
            Some(a) => Some(a),
            None => {
                errors.insert(
                    declare_ids::IMPACT_ANSWER.to_string(),
                    "These choices changed since the form opened: close it and open it again."
                        .to_string(),
                );
                return Err(errors);
            }
        },
        _ => None,
    };
    match crate::domain::severity_matrix::decide(matrix, chosen.as_deref(), assessment.as_ref()) {
        Some(level) => Ok((level, assessment)),
        None => {
            let message =
                "Answer both questions to get a suggested severity, or pick a severity below.";
            if impact.is_none() {
                errors.insert(declare_ids::IMPACT_ANSWER.to_string(), message.to_string());
            }
            if urgency.is_none() {
                errors.insert(declare_ids::URGENCY.to_string(), message.to_string());
            }
            Err(errors)
        }
    }
}

/// The severity form was submitted: the same permission and "still open"
/// checks as `/incident severity <level>`, made in the write.
pub async fn severity_submitted(
    ctx: &Ctx,
    user: &UserId,
    number: i64,
    form: &crate::slack::inbound::SeverityForm,
) -> Result<SubmissionReply, StoreError> {
    tracing::Span::current().record("incident", number);
    let refuse = |why: String| {
        let mut errors = BTreeMap::new();
        errors.insert(declare_ids::SEVERITY.to_string(), why);
        Ok(SubmissionReply::Errors(errors))
    };
    let Some(incident) = ctx.store.incident(number).await? else {
        return refuse("This incident no longer exists.".to_string());
    };
    if incident.status == Status::Closed {
        return refuse(format!("{} is closed.", incident.reference()));
    }
    let (level, assessment) = match assess_form(
        ctx,
        form.severity.as_deref(),
        form.impact.as_deref(),
        form.urgency.as_deref(),
    ) {
        Ok(x) => x,
        Err(errors) => return Ok(SubmissionReply::Errors(errors)),
    };
    let allowed = ctx.settings.permissions.get(Permission::Severity);
    let guard = Guard::open_by(user).allowing(Permission::Severity, allowed, user);
    let channel = incident
        .channel_id
        .clone()
        .unwrap_or_else(|| incident.origin_channel.clone());
    match change_severity(ctx, &incident, user, &level, assessment.as_ref(), guard).await {
        Err(StoreError::Refused(why)) => {
            info!(user = %user, "refused");
            refuse(why)
        }
        Err(e) => Err(e),
        Ok(old) => {
            let text = match old {
                None => format!("{} is already {level}.", incident.reference()),
                Some(old) if old == level => format!(
                    "{} stays {level}; the impact and urgency answers are recorded.",
                    incident.reference()
                ),
                Some(old) => format!("{} is now *{level}* (was {old}).", incident.reference()),
            };
            ctx.store
                .add_effects(
                    number,
                    ctx.clock.now(),
                    Effects {
                        jobs: vec![Job::Ephemeral {
                            channel,
                            user: user.0.clone(),
                            text,
                        }],
                        ..Effects::default()
                    },
                )
                .await?;
            ctx.state_changed();
            Ok(SubmissionReply::Close)
        }
    }
}

/// Slack's answer when a `trigger_id` outlived its three seconds (or was
/// used already): `expired_trigger_id` is what views.open documents;
/// `trigger_expired` is the older dialog name, matched too.
fn trigger_expired(e: &crate::slack::CallError) -> bool {
    matches!(e, crate::slack::CallError::Api(code) if code.is_expired_trigger())
}

/// Opens the update modal (the `trigger_id` dies in 3 s, so now).
async fn open_update(ctx: &Ctx, incident: &Incident, trigger_id: &str) -> Reply {
    let audiences: Vec<&str> = ctx.settings.audiences.keys().map(String::as_str).collect();
    let announced = !(incident.private
        && ctx.settings.private_incidents.announce == crate::config::PrivateAnnounce::None);
    let view = blocks::update_modal(incident, &audiences, announced);
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
    guard: Guard,
) -> Result<String, StoreError> {
    use crate::config::PrivateAnnounce;
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
    // A private incident announced nowhere is not updated there by default
    // either; an audience chosen in the form still gets it.
    let announced =
        !(incident.private && ctx.settings.private_incidents.announce == PrivateAnnounce::None);
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
    effects.guard = guard;
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
    let incident = match ctx.store.incident(number).await? {
        Some(i) if i.status != Status::Closed => i,
        _ => {
            errors.insert(STATUS.to_string(), "This incident is closed.".to_string());
            return Ok(SubmissionReply::Errors(errors));
        }
    };
    // A private incident announced nowhere may be updated in its war room
    // alone.
    let war_room_only = incident.private
        && ctx.settings.private_incidents.announce == crate::config::PrivateAnnounce::None;
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
    match post_update(ctx, &incident, user, &text, audiences, Guard::open_by(user)).await {
        Err(StoreError::Refused(why)) => {
            errors.insert(STATUS.to_string(), why);
            Ok(SubmissionReply::Errors(errors))
        }
        other => other.map(|_| SubmissionReply::Close),
    }
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
        Event::MemberJoined { channel, user } => {
            return membership(ctx, event_id, channel, user, true).await;
        }
        Event::MemberLeft { channel, user } => {
            return membership(ctx, event_id, channel, user, false).await;
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

/// Someone joined or left a war room: who may see a private incident in
/// `/incident list` follows. Other channels are none of our business.
async fn membership(
    ctx: &Ctx,
    event_id: &str,
    channel: &str,
    user: &UserId,
    present: bool,
) -> Result<bool, StoreError> {
    let Some(incident) = ctx.store.incident_by_channel(channel).await? else {
        return Ok(true);
    };
    tracing::Span::current().record("incident", incident.number);
    ctx.store
        .record_membership(
            incident.number,
            user,
            present,
            ctx.clock.now(),
            Some(event_id),
        )
        .await
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
        // Reacting there shows the tagger is in the war room.
        guard: Guard {
            member: Some(r.user.clone()),
            ..Guard::default()
        },
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

/// Today's date in the configured time zone (due dates are calendar dates).
fn today(ctx: &Ctx) -> chrono::NaiveDate {
    ctx.clock
        .now()
        .with_timezone(&ctx.settings.timezone)
        .date_naive()
}

/// Open and overdue follow-ups of all incidents, drills included (they
/// are work someone owns all the same).
async fn followup_counts(
    ctx: &Ctx,
    today: chrono::NaiveDate,
) -> Result<(usize, usize), StoreError> {
    let open = ctx.store.followups(None, true, i64::MAX).await?;
    Ok(crate::domain::followups::counts(&open, today))
}

/// `/incident followup <text> [@owner] [due]`: records an action item on
/// the incident of the war room, during or after it.
async fn add_followup(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
    text: String,
    owner: Option<UserId>,
    due: Option<crate::domain::followups::Due>,
) -> Result<Reply, StoreError> {
    let owner = owner.unwrap_or_else(|| user.clone());
    let due = match due.map(|d| d.resolve(today(ctx))) {
        Some(None) => {
            return Ok(Reply::Ephemeral(
                "That due date is out of range; give a date like `2026-12-24` or `7d`.".to_string(),
            ));
        }
        Some(Some(d)) => Some(d),
        None => None,
    };
    record_followup(ctx, incident, user, &text, &owner, due, vec![]).await?;
    Ok(Reply::InChannel(followup_recorded(
        incident, &text, &owner, due,
    )))
}

/// Records a follow-up with its timeline entry and `jobs`, in one
/// transaction: what `/incident followup` and the follow-up form both do.
/// Anyone in the war room may (they are remembered as being in it).
async fn record_followup(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
    text: &str,
    owner: &UserId,
    due: Option<chrono::NaiveDate>,
    jobs: Vec<Job>,
) -> Result<i64, StoreError> {
    let due_text = due.map(|d| format!(", due {d}")).unwrap_or_default();
    let line = format!(
        "{} added a follow-up for {}: “{}”{due_text}",
        user.mention(),
        owner.mention(),
        text
    );
    let effects = Effects {
        timeline: vec![entry(ctx, EntryKind::Task, user, line)],
        jobs,
        guard: Guard {
            member: Some(user.clone()),
            ..Guard::default()
        },
        ..Effects::default()
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
    info!(followup = id, "follow-up recorded");
    Ok(id)
}

/// What the war room is told of a recorded follow-up.
fn followup_recorded(
    incident: &Incident,
    text: &str,
    owner: &UserId,
    due: Option<chrono::NaiveDate>,
) -> String {
    let due_text = due.map(|d| format!(", due {d}")).unwrap_or_default();
    format!(
        ":pushpin: Follow-up for {} on {}: {}{due_text}. `/incident followups` lists it with a Done button.",
        owner.mention(),
        incident.reference(),
        crate::slack::text::defuse(text)
    )
}

/// "Add follow-up" on the postmortem summary: opens the follow-up form
/// (the `trigger_id` dies in 3 s, so now). The summary is in the war room,
/// so whoever clicks it is there: the same people as may type
/// `/incident followup`, during the incident or after it closed.
async fn open_followup(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&str>,
    trigger_id: &str,
    number: i64,
) -> Result<(), StoreError> {
    let Some(incident) = ctx.store.incident(number).await? else {
        warn!(
            incident = number,
            "Add follow-up on an incident that does not exist"
        );
        return Ok(());
    };
    tracing::Span::current().record("incident", incident.number);
    let room = incident.channel_id.as_deref();
    let problem = if channel.is_some() && channel != room {
        // Not the war room: the button was copied or forwarded elsewhere.
        format!(
            "Follow-ups for {} are added from its war room.",
            incident.reference()
        )
    } else {
        let view = blocks::followup_modal(&incident, user);
        match tokio::time::timeout(VIEWS_OPEN_TIMEOUT, ctx.slack.views_open(trigger_id, view)).await
        {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) if trigger_expired(&e) => {
                "That took too long to open; click *Add follow-up* again.".to_string()
            }
            Ok(Err(e)) => format!(
                "I could not open the follow-up form ({e}). Try again, or use `/incident followup`."
            ),
            Err(_) => "Slack took too long to open the follow-up form. Try again.".to_string(),
        }
    };
    warn!(%problem, "follow-up form not opened");
    if let Some(c) = channel.or(room) {
        let effects = Effects {
            jobs: vec![Job::Ephemeral {
                channel: c.to_string(),
                user: user.0.clone(),
                text: problem,
            }],
            ..Effects::default()
        };
        ctx.store
            .add_effects(incident.number, ctx.clock.now(), effects)
            .await?;
        ctx.state_changed();
    }
    Ok(())
}

/// The follow-up form was submitted: checked (errors shown beside their
/// field, nothing recorded), then recorded exactly as `/incident followup`
/// records it, and the person who added it told in the war room.
pub async fn followup_submitted(
    ctx: &Ctx,
    user: &UserId,
    number: i64,
    form: &crate::slack::inbound::FollowupForm,
) -> Result<SubmissionReply, StoreError> {
    use blocks::followup_ids::{DUE, TEXT};
    tracing::Span::current().record("incident", number);
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
    let told = incident.channel_id.iter().map(|room| Job::Ephemeral {
        channel: room.clone(),
        user: user.0.clone(),
        text: followup_recorded(&incident, &text, &owner, due),
    });
    record_followup(ctx, &incident, user, &text, &owner, due, told.collect()).await?;
    ctx.state_changed();
    Ok(SubmissionReply::Close)
}

/// `/incident followups [mine|open|all]`, anywhere: an ephemeral list with
/// a Done button on each open one. Follow-ups of a private incident are
/// shown only to their owner and to people known to be in its war room.
async fn list_followups(
    ctx: &Ctx,
    user: &UserId,
    scope: crate::domain::followups::Scope,
) -> Result<Reply, StoreError> {
    use crate::domain::followups::Scope;
    const LIMIT: i64 = 500;
    let items = match scope {
        Scope::Mine => ctx.store.followups(Some(user), true, LIMIT).await?,
        Scope::Open => ctx.store.followups(None, true, LIMIT).await?,
        Scope::All => ctx.store.followups(None, false, LIMIT).await?,
    };
    let mut visible = Vec::with_capacity(items.len());
    let mut private: BTreeMap<i64, bool> = BTreeMap::new();
    for f in items {
        let hidden = match private.get(&f.incident) {
            Some(h) => *h,
            None => {
                let h = match ctx.store.incident(f.incident).await? {
                    Some(i) if i.private => !ctx.store.is_member(i.number, user).await?,
                    _ => false,
                };
                private.insert(f.incident, h);
                h
            }
        };
        if !hidden || f.owner == *user {
            visible.push(f);
        }
    }
    let heading = match scope {
        Scope::Mine => format!("*Your open follow-ups* ({})", visible.len()),
        Scope::Open => format!("*Open follow-ups* ({})", visible.len()),
        Scope::All => format!("*All follow-ups* ({})", visible.len()),
    };
    Ok(Reply::EphemeralBlocks(blocks::followups(
        &heading,
        &visible,
        today(ctx),
    )))
}

/// "Done" on a listed follow-up: records when and by whom, once, with its
/// timeline entry, and answers the person who clicked.
async fn followup_done(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&str>,
    id: i64,
) -> Result<(), StoreError> {
    let Some(f) = ctx.store.followup(id).await? else {
        warn!(followup = id, "Done on a follow-up that does not exist");
        return Ok(());
    };
    tracing::Span::current().record("incident", f.incident);
    let tell = |text: String| -> Vec<Job> {
        match channel {
            Some(c) => vec![Job::Ephemeral {
                channel: c.to_string(),
                user: user.0.clone(),
                text,
            }],
            None => vec![],
        }
    };
    let effects = Effects {
        timeline: vec![entry(
            ctx,
            EntryKind::Task,
            user,
            format!("{} ticked the follow-up “{}” done", user.mention(), f.text),
        )],
        jobs: tell(format!(
            ":white_check_mark: Done: {} (INC-{}).",
            crate::slack::text::defuse(&f.text),
            f.incident
        )),
        ..Effects::default()
    };
    let done = ctx
        .store
        .complete_followup(id, user, ctx.clock.now(), effects)
        .await?;
    if !done {
        let effects = Effects {
            jobs: tell(format!(
                "That follow-up (INC-{}) was already done.",
                f.incident
            )),
            ..Effects::default()
        };
        ctx.store
            .add_effects(f.incident, ctx.clock.now(), effects)
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
