//! Slash commands: `anywhere` and `in_room` each match once and hand each
//! command to its own function. Commands of one feature with a form live
//! with it (`declare`, `roles`, `severity`, `updates`, `followups`).

use super::{Reply, entry, followups, notable, roles, severity, sync_all, today, updates};
use crate::app::Ctx;
use crate::command::{self, AnywhereCommand, RoomCommand};
use crate::domain::comms::Schedule;
use crate::domain::metrics::Stats;
use crate::domain::permissions::{Permission, refusal};
use crate::domain::{EntryKind, Incident, Status, UserId, may};
use crate::queue::Job;
use crate::slack::inbound::SlashCommand;
use crate::slack::text::Mrkdwn;
use crate::slack::{blocks, replies};
use crate::store::{ChangeError, Effects, Guard, ScheduleOp, StoreError};
use tracing::info;

/// A command that works anywhere.
pub(super) async fn anywhere(
    ctx: &Ctx,
    cmd: &SlashCommand,
    command: AnywhereCommand,
) -> Result<Reply, StoreError> {
    let user = cmd.user();
    Ok(match command {
        AnywhereCommand::Declare { title } => {
            super::declare::open_declare(ctx, cmd, title.as_deref()).await
        }
        AnywhereCommand::List => list(ctx, &user).await?,
        AnywhereCommand::Stats { days } => stats(ctx, &user, days).await?,
        AnywhereCommand::Followups { scope } => {
            followups::list_followups(ctx, &user, scope).await?
        }
        AnywhereCommand::Help => Reply::Ephemeral(Mrkdwn::escaped(&command::help_text())),
    })
}

/// A command on the incident of the war room it was typed in: refused
/// outside one, on a closed incident (but for what may follow a close),
/// and when `permissions` does not allow the caller.
pub(super) async fn in_room(
    ctx: &Ctx,
    cmd: &SlashCommand,
    command: RoomCommand,
) -> Result<Reply, ChangeError> {
    let user = cmd.user();
    let Some(incident) = ctx.store.incident_by_channel(&cmd.channel_id).await? else {
        return Ok(Reply::Ephemeral(replies::not_in_a_war_room()));
    };
    tracing::Span::current().record("incident", incident.number.get());
    if incident.status == Status::Closed && !works_after_close(&command) {
        return Ok(Reply::Ephemeral(replies::closed_incident(&incident)));
    }
    // Checked again inside each write's transaction, against the state it
    // locks: still open, still allowed. Typing here also shows the person
    // is in the war room.
    let mut guard = Guard::open_by(&user);
    if let Some(action) = guarded(&command) {
        // Refused at once when already refused now (before any argument is
        // checked); checked again when writing.
        let allowed = ctx.settings.permissions.get(action);
        let assignments = ctx.store.assignments(incident.number).await?;
        if !may(&incident, &assignments, allowed, &user) {
            info!(user = %user, permission = action.key(), "refused");
            return Ok(Reply::Ephemeral(
                refusal(&incident, &assignments, allowed, action).to_mrkdwn(),
            ));
        }
        guard = guard.allowing(action, allowed, &user);
    }
    let reply = match command {
        RoomCommand::Roles => roles::roles(ctx, &incident, guard).await?,
        RoomCommand::Assign {
            role,
            user: assignee,
        } => match ctx.settings.roles.resolve(&role) {
            Ok(role) => roles::assign(ctx, &incident, &user, role, &assignee, guard).await?,
            Err(e) => return Ok(Reply::Ephemeral(Mrkdwn::slack(&e.to_string()))),
        },
        RoomCommand::Severity { level: None } => {
            severity::severity_form(ctx, &incident, &cmd.trigger_id).await
        }
        RoomCommand::Severity { level: Some(level) } => {
            match ctx.settings.severities.resolve(&level) {
                Ok(level) => {
                    severity::set_severity(ctx, &incident, &user, &level.name, guard).await?
                }
                Err(e) => return Ok(Reply::Ephemeral(Mrkdwn::slack(&e.to_string()))),
            }
        }
        RoomCommand::Status { status } => set_status(ctx, &incident, &user, status, guard).await?,
        RoomCommand::Note { text } => note(ctx, &incident, &user, text, guard).await?,
        RoomCommand::Timeline => timeline(ctx, &incident).await?,
        RoomCommand::Update { text: Some(text) } => {
            updates::update(ctx, &incident, &user, &text, guard).await?
        }
        RoomCommand::Update { text: None } => {
            match updates::open_update(ctx, &incident, &cmd.trigger_id).await {
                Ok(()) => Reply::Empty,
                Err(problem) => Reply::Ephemeral(problem),
            }
        }
        RoomCommand::Close => close(ctx, &incident, &user, guard).await?,
        RoomCommand::Postmortem => postmortem(ctx, &incident, &user).await?,
        RoomCommand::Checklist => roles::checklists_of(ctx, &incident, &user).await?,
        RoomCommand::Followup { text, owner, due } => {
            followups::add_followup(ctx, &incident, &user, text, owner, due).await?
        }
    };
    ctx.state_changed();
    Ok(reply)
}

/// What may still be done in the war room of a closed incident: read it,
/// draft its postmortem, record its follow-ups.
fn works_after_close(command: &RoomCommand) -> bool {
    matches!(
        command,
        RoomCommand::Timeline | RoomCommand::Postmortem | RoomCommand::Followup { .. }
    )
}

/// The permission a command needs, if it needs one.
fn guarded(command: &RoomCommand) -> Option<Permission> {
    match command {
        RoomCommand::Close => Some(Permission::Close),
        RoomCommand::Assign { .. } => Some(Permission::Assign),
        RoomCommand::Severity { .. } => Some(Permission::Severity),
        RoomCommand::Roles
        | RoomCommand::Status { .. }
        | RoomCommand::Update { .. }
        | RoomCommand::Note { .. }
        | RoomCommand::Timeline
        | RoomCommand::Postmortem
        | RoomCommand::Checklist
        | RoomCommand::Followup { .. } => None,
    }
}

/// `/incident status <status>`: resolving stops the reminders, reopening
/// starts them again. (Also the alert's Mark mitigated button.)
pub(super) async fn set_status(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
    status: Status,
    guard: Guard,
) -> Result<Reply, ChangeError> {
    let text = replies::status_line(incident.status, status);
    let mut effects = notable(
        ctx,
        incident,
        vec![entry(ctx, EntryKind::Status, user, text)],
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
        let c = ctx.settings.cadence(&incident.severity);
        let (nudge_at, due_at) = Schedule::comms_from(now, &c);
        effects
            .schedule
            .push(ScheduleOp::Comms { nudge_at, due_at });
    }
    Ok(
        match ctx
            .store
            .set_status(incident.number, status, ctx.clock.now(), effects)
            .await?
        {
            None => Reply::Ephemeral(replies::already_status(incident, status)),
            Some(old) => Reply::InChannel(replies::status_changed(user, old, status)),
        },
    )
}

/// `/incident note <text>`: a timeline entry.
async fn note(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
    text: String,
    guard: Guard,
) -> Result<Reply, ChangeError> {
    let mut effects = notable(
        ctx,
        incident,
        vec![entry(ctx, EntryKind::Note, user, text)],
        vec![],
    );
    effects.guard = guard;
    ctx.store
        .add_effects(incident.number, ctx.clock.now(), effects)
        .await?;
    Ok(Reply::Ephemeral(Mrkdwn::literal("Added to the timeline.")))
}

/// `/incident postmortem`: the draft again, from the current timeline.
async fn postmortem(ctx: &Ctx, incident: &Incident, user: &UserId) -> Result<Reply, ChangeError> {
    // Allowed after close: the draft is made from what is kept.
    let effects = Effects {
        jobs: vec![Job::PostPostmortem],
        guard: Guard {
            member: Some(user.clone()),
            ..Guard::default()
        },
        ..Effects::default()
    };
    ctx.store
        .add_effects(incident.number, ctx.clock.now(), effects)
        .await?;
    Ok(Reply::Ephemeral(Mrkdwn::literal(
        "Generating the postmortem draft again from the current timeline; it will appear here.",
    )))
}

/// Resolves (if needed) and closes, stops the reminders, and queues the
/// postmortem draft. Whoever `permissions.close` allows, checked before.
async fn close(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
    guard: Guard,
) -> Result<Reply, ChangeError> {
    let mut timeline = Vec::new();
    if incident.status.is_open() {
        timeline.push(entry(
            ctx,
            EntryKind::Status,
            user,
            replies::status_line(incident.status, Status::Resolved),
        ));
    }
    timeline.push(entry(
        ctx,
        EntryKind::Status,
        user,
        replies::closed_line(user),
    ));
    let mut jobs = sync_all();
    jobs.push(Job::PostPostmortem);
    let effects = Effects {
        events: Vec::new(),
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
    Ok(Reply::InChannel(replies::closed(user, incident)))
}

/// `/incident stats [days]`: incidents by severity and mean/median time to
/// detect, mitigate and resolve, drills excluded.
/// `/incident stats`: what `user` may see of the period. A private
/// incident counts only for people known to be in its war room (the rule
/// of `/incident list`), and its follow-ups only for them and their owners,
/// so comparing two answers never reveals that one started.
async fn stats(ctx: &Ctx, user: &UserId, days: u32) -> Result<Reply, StoreError> {
    /// More open follow-ups than this are counted as this many.
    const FOLLOWUPS_COUNTED: i64 = 100_000;
    let since = ctx.clock.now() - chrono::Duration::days(i64::from(days));
    let mut incidents = Vec::new();
    for i in ctx.store.incidents_since(since).await? {
        if !i.private || ctx.store.is_member(i.number, user).await? {
            incidents.push(i);
        }
    }
    // Drills' follow-ups count too: they are work someone owns all the same.
    let followups = if incidents.is_empty() {
        (0, 0)
    } else {
        let open = ctx
            .store
            .followups(
                None,
                crate::store::Wanted::Open,
                crate::store::SeenBy::Person(user),
                FOLLOWUPS_COUNTED,
            )
            .await?;
        let today = today(ctx);
        let overdue = open.iter().filter(|f| f.is_overdue(today)).count();
        (open.len(), overdue)
    };
    let stats = Stats::of(&incidents, &ctx.settings.severities, followups);
    Ok(Reply::Ephemeral(replies::stats(days, &stats)))
}

/// Open incidents; a private one only for people known to be in its war
/// room (invited by the bot, seen acting there, or reported joining by
/// Slack's member events), so listing makes no Web API call.
async fn list(ctx: &Ctx, user: &UserId) -> Result<Reply, StoreError> {
    let open = super::visible_open(ctx, user).await?;
    Ok(Reply::Ephemeral(replies::open_incidents(&open)))
}

async fn timeline(ctx: &Ctx, incident: &Incident) -> Result<Reply, StoreError> {
    let entries = ctx.store.timeline(incident.number).await?;
    Ok(Reply::EphemeralBlocks(blocks::timeline(
        incident,
        &entries,
        ctx.settings.timezone,
    )))
}
