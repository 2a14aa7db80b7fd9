//! What each command, button and form does: checks, the state change with
//! its timeline entries and jobs (one transaction), and the reply. No Slack
//! Web API call happens here except `views.open`, which cannot wait.

use crate::app::Ctx;
use crate::command::{self, Command, ParseError};
use crate::domain::roles::INCIDENT_LEAD;
use crate::domain::timeline::slack_ts_time;
use crate::domain::{Declaration, EntryKind, Incident, NewEntry, Status, UserId};
use crate::domain::{TimelineChange, may_tag};
use crate::jobs::Job;
use crate::slack::blocks;
use crate::slack::inbound::{
    Action, DeclareForm, DeclareMetadata, Event, Reaction, SlashCommand, declare_ids,
};
use crate::store::{Effects, EventChange, RoleChange, StoreError};
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
            Command::Stats { .. } => not_yet("stats"),
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
    if incident.status == Status::Closed && !matches!(parsed, Command::Timeline) {
        return Ok(Reply::Ephemeral(format!(
            "{} is closed; nothing more can change here.",
            incident.reference()
        )));
    }
    let n = incident.number;
    let reply = match parsed {
        Command::Roles => {
            ctx.store
                .add_effects(
                    n,
                    ctx.clock.now(),
                    Effects {
                        timeline: vec![],
                        jobs: vec![Job::PostBoard],
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
            let effects = Effects {
                timeline: vec![entry(ctx, EntryKind::Role, &user, text)],
                jobs,
            };
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
            let effects = Effects {
                timeline: vec![entry(ctx, EntryKind::Severity, &user, text)],
                jobs: sync_all(),
            };
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
            let effects = Effects {
                timeline: vec![entry(ctx, EntryKind::Status, &user, text)],
                jobs: sync_all(),
            };
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
            let effects = Effects {
                timeline: vec![entry(ctx, EntryKind::Note, &user, text)],
                jobs: vec![],
            };
            ctx.store.add_effects(n, ctx.clock.now(), effects).await?;
            Reply::Ephemeral("Added to the timeline.".to_string())
        }
        Command::Timeline => timeline(ctx, &incident).await?,
        Command::Update { .. } => not_yet("update"),
        Command::Close => not_yet("close"),
        Command::Postmortem => not_yet("postmortem"),
        Command::Declare { .. } | Command::List | Command::Stats { .. } | Command::Help => {
            Reply::Ephemeral(command::help_text())
        }
    };
    ctx.jobs_queued();
    Ok(reply)
}

fn handed_over(replaced: &[UserId]) -> String {
    if replaced.is_empty() {
        String::new()
    } else {
        let who: Vec<String> = replaced.iter().map(UserId::mention).collect();
        format!(", taking over from {}", who.join(", "))
    }
}

fn not_yet(what: &str) -> Reply {
    Reply::Ephemeral(format!(
        "`/incident {what}` is not available in this version of warroom yet."
    ))
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
    };
    let (incident, created) = ctx
        .store
        .create_incident(&declaration, Some(view_id), now, INCIDENT_LEAD, effects)
        .await?;
    tracing::Span::current().record("incident", incident.number);
    if created {
        ctx.metrics.declared();
        info!(severity = %incident.severity, "incident declared");
        ctx.jobs_queued();
    }
    Ok(SubmissionReply::Close)
}

/// A button on the role board.
pub async fn action(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&str>,
    action: &Action,
) -> Result<(), StoreError> {
    let (number, role_name, claim) = match action {
        Action::Claim { incident, role } => (*incident, role, true),
        Action::Release { incident, role } => (*incident, role, false),
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
            timeline: vec![],
            jobs: match channel.or(incident.channel_id.as_deref()) {
                Some(c) => vec![Job::Ephemeral {
                    channel: c.to_string(),
                    user: user.0.clone(),
                    text,
                }],
                None => vec![],
            },
        }
    };
    let now = ctx.clock.now();
    let Some(role) = ctx.settings.roles.get(role_name).cloned() else {
        ctx.store
            .add_effects(
                number,
                now,
                tell(format!("{role_name} is no longer a role here.")),
            )
            .await?;
        ctx.jobs_queued();
        return Ok(());
    };
    if incident.status == Status::Closed {
        ctx.store
            .add_effects(
                number,
                now,
                tell(format!("{} is closed.", incident.reference())),
            )
            .await?;
        ctx.jobs_queued();
        return Ok(());
    }
    let mut jobs = vec![Job::SyncBoard];
    if role.name == INCIDENT_LEAD {
        jobs.extend([Job::SyncTopic, Job::SyncAnnouncement]);
    }
    if claim {
        let text = format!("{} claimed {}", user.mention(), role.name);
        let effects = Effects {
            timeline: vec![entry(ctx, EntryKind::Role, user, text)],
            jobs,
        };
        if ctx
            .store
            .set_role(number, &role.name, user, !role.multiple, now, effects)
            .await?
            == RoleChange::Unchanged
        {
            ctx.store
                .add_effects(
                    number,
                    now,
                    tell(format!("You already hold {}.", role.name)),
                )
                .await?;
        }
    } else {
        let text = format!("{} released {}", user.mention(), role.name);
        let effects = Effects {
            timeline: vec![entry(ctx, EntryKind::Role, user, text)],
            jobs,
        };
        if !ctx
            .store
            .release_role(number, &role.name, user, now, effects)
            .await?
        {
            ctx.store
                .add_effects(
                    number,
                    now,
                    tell(format!(
                        "You don't hold {}, so there is nothing to release.",
                        role.name
                    )),
                )
                .await?;
        }
    }
    ctx.jobs_queued();
    Ok(())
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
    let queues_jobs = change.as_ref().is_some_and(|c| !c.effects.jobs.is_empty());
    let fresh = ctx
        .store
        .record_event(event_id, ctx.clock.now(), change)
        .await?;
    if fresh && queues_jobs {
        ctx.jobs_queued();
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
                change,
                effects: Effects::default(),
            }
        }))
}

/// A reaction in a war room: a tag (or untag) when it is a tagging emoji
/// from someone allowed to tag; anything else changes nothing.
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
    if !may_tag(
        &incident,
        &assignments,
        &ctx.settings.timeline.taggers,
        &r.user,
    ) {
        tracing::debug!(user = %r.user, "reaction from someone who may not tag; ignored");
        return Ok(None);
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
            vec![Job::CaptureMessage { ts: r.ts.clone() }],
        )
    } else {
        (
            TimelineChange::Untag {
                slack_ts: r.ts.clone(),
            },
            vec![],
        )
    };
    Ok(Some(EventChange {
        incident: incident.number,
        change,
        effects: Effects {
            timeline: vec![],
            jobs,
        },
    }))
}
