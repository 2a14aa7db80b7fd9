//! The reminder scheduler. Due times live in the incidents table; this loop
//! sleeps on the clock until the earliest one (or until state changes), then
//! fires each due reminder exactly once: a compare-and-set on its due time
//! moves it to the next one and queues the post, in one transaction.

use crate::app::{Ctx, Loop};
use crate::domain::comms::{ReminderKind, Schedule};
use crate::domain::{EntryKind, NewEntry};
use crate::queue::Job;
use crate::store::{DueReminder, Effects, StoreError};
use std::collections::HashSet;
use std::sync::Arc;
use tracing::{Instrument, info};

/// Reminders fired per round before the loop looks again.
const BATCH: i64 = 500;

/// Runs until `shutdown` fires.
pub async fn run(ctx: Arc<Ctx>, shutdown: tokio::sync::watch::Receiver<bool>) {
    // Its steps run to the end before it looks again: nothing of its own
    // is left running when it finds nothing due.
    ctx.drive(
        Loop::Reminders,
        shutdown,
        || step(&ctx),
        || next_due(&ctx),
        || true,
    )
    .await;
}

/// The earliest due time of a reminder, of a checklist's recurring tasks,
/// of a follow-up's reminder or of the weekly follow-up digest.
pub async fn next_due(ctx: &Ctx) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    let reminder = ctx.store.next_reminder_due().await?;
    let checklist = ctx.store.next_checklist_due().await?;
    let followup = ctx.store.next_followup_due().await?;
    let digest = next_digest_due(ctx).await?;
    Ok([reminder, checklist, followup, digest]
        .into_iter()
        .flatten()
        .min())
}

/// When the weekly follow-up digest is next due: this week's (already
/// past) while it has not gone out, else next week's. `None` when
/// `followups.digest` is off.
async fn next_digest_due(ctx: &Ctx) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    let Some(digest) = ctx.settings.followups.digest else {
        return Ok(None);
    };
    let (now, tz) = (ctx.clock.now(), ctx.settings.timezone);
    if let Some(round) = digest.latest(now, tz)
        && !ctx.store.followup_digest_sent(round.week).await?
    {
        return Ok(Some(round.due_at));
    }
    Ok(digest.next_after(now, tz))
}

/// How long event ids are kept (Slack redelivers for about an hour).
const KEEP_EVENTS: chrono::TimeDelta = chrono::TimeDelta::days(2);
/// How long finished jobs are kept, for looking into what happened.
const KEEP_DONE_JOBS: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// Drops old event ids and finished jobs so the database does not grow
/// without end. Failed jobs are kept.
pub async fn prune(ctx: &Ctx) -> Result<u64, StoreError> {
    let now = ctx.clock.now();
    let gone = ctx
        .store
        .prune(now - KEEP_EVENTS, now - KEEP_DONE_JOBS)
        .await?;
    if gone > 0 {
        info!(rows = gone, "pruned old event ids and finished jobs");
    }
    Ok(gone)
}

/// Prunes at start and every six hours until `shutdown`.
pub async fn run_pruner(ctx: Arc<Ctx>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(e) = prune(&ctx).await {
            tracing::warn!(error = %e, "pruning failed; will try again");
        }
        let next = ctx.clock.now() + chrono::TimeDelta::hours(6);
        tokio::select! {
            _ = ctx.clock.sleep_until(next) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Fires what is due; true when something was sent.
async fn step(ctx: &Ctx) -> Result<bool, StoreError> {
    let sent = fire_due(ctx).await?
        + fire_checklists_due(ctx).await?
        + fire_followups_due(ctx).await?
        + fire_digest_due(ctx).await?;
    if sent > 0 {
        // Their post jobs are queued: wake the workers.
        ctx.state_changed();
    }
    Ok(sent > 0)
}

/// Fires every reminder due now; returns how many were sent. When a nudge
/// and the firm reminder are due together (after downtime), only the firm
/// one is sent; a reminder missed several times is sent once.
pub async fn fire_due(ctx: &Ctx) -> Result<usize, StoreError> {
    let now = ctx.clock.now();
    let due = ctx.store.due_reminders(now, BATCH).await?;
    let firm: HashSet<crate::domain::IncidentNumber> = due
        .iter()
        .filter(|d| d.kind == ReminderKind::Due)
        .map(|d| d.incident)
        .collect();
    let mut sent = 0;
    for d in &due {
        let span = tracing::info_span!(
            "reminder",
            incident = d.incident.get(),
            kind = d.kind.as_str()
        );
        let c = ctx.settings.cadence(&d.severity);
        let next = Schedule::after_firing(d.kind, now, &c);
        let effects = if d.kind == ReminderKind::Nudge && firm.contains(&d.incident) {
            Effects::default()
        } else {
            Effects {
                events: Vec::new(),
                timeline: vec![NewEntry {
                    occurred_at: now,
                    kind: EntryKind::Reminder,
                    author: None,
                    text: reminder_note(d),
                }],
                jobs: vec![Job::PostReminder { kind: d.kind }],
                schedule: vec![],
                guard: Default::default(),
            }
        };
        let posts = !effects.jobs.is_empty();
        let fired = ctx
            .store
            .fire_reminder(d, next, now, effects)
            .instrument(span.clone())
            .await?;
        if fired && posts {
            let late = (now - d.due_at).num_milliseconds();
            span.in_scope(|| info!(late_ms = late, "reminder fired"));
            ctx.metrics.reminder_fired(d.kind.as_str(), now - d.due_at);
            sent += 1;
        }
    }
    Ok(sent)
}

/// Reminds role holders of their recurring checklist tasks that are due;
/// returns how many were sent. Each fires by a compare-and-set of its due
/// time to one interval from now (a cadence missed during downtime comes
/// once), in one transaction with its timeline entry and post job. A holder
/// who gave the role up is not reminded and the cadence stops.
pub async fn fire_checklists_due(ctx: &Ctx) -> Result<usize, StoreError> {
    let now = ctx.clock.now();
    let mut sent = 0;
    for d in ctx.store.due_checklists(now, BATCH).await? {
        let span = tracing::info_span!(
            "checklist",
            incident = d.incident.get(),
            checklist = d.id.get()
        );
        let Some(list) = ctx.store.checklist(d.id).await? else {
            continue;
        };
        let holds = ctx
            .store
            .assignments(d.incident)
            .await?
            .iter()
            .any(|a| a.role == list.role && a.user == list.holder);
        let every = list
            .tasks
            .cadence
            .as_ref()
            .and_then(|c| chrono::Duration::from_std(c.every).ok());
        let (next, effects) = match every {
            Some(every) if holds => (
                Some(now + every),
                Effects {
                    timeline: vec![NewEntry {
                        occurred_at: now,
                        kind: EntryKind::Reminder,
                        author: None,
                        text: format!(
                            "Reminder: {} to do the recurring {} tasks",
                            list.holder.mention(),
                            list.role
                        ),
                    }],
                    jobs: vec![Job::PostChecklistReminder {
                        checklist: list.id,
                        since: list.since.timestamp_millis(),
                        until: now.timestamp_millis(),
                    }],
                    schedule: vec![],
                    ..Effects::default()
                },
            ),
            _ => (None, Effects::default()),
        };
        let posts = !effects.jobs.is_empty();
        let fired = ctx
            .store
            .fire_checklist(&d, next, now, effects)
            .instrument(span.clone())
            .await?;
        if fired && posts {
            let late = (now - d.due_at).num_milliseconds();
            span.in_scope(|| info!(late_ms = late, "checklist reminder fired"));
            ctx.metrics.reminder_fired("checklist", now - d.due_at);
            sent += 1;
        }
    }
    Ok(sent)
}

fn reminder_note(d: &DueReminder) -> String {
    match d.kind {
        ReminderKind::Nudge => "Reminder: a status update would be welcome".to_string(),
        ReminderKind::Due => "Reminder: a status update is due".to_string(),
        ReminderKind::ScribeQuiet => {
            "Reminder: the timeline has been quiet; scribe to ask for status".to_string()
        }
    }
}

/// Reminds the owner of each follow-up due now, once: a direct message
/// (they may not be in the war room, which may be archived), queued by a
/// compare-and-set that clears `remind_at`, with its timeline entry.
pub async fn fire_followups_due(ctx: &Ctx) -> Result<usize, StoreError> {
    let now = ctx.clock.now();
    let mut sent = 0;
    for (id, incident, due_at) in ctx.store.due_followups(now, BATCH).await? {
        let Some(f) = ctx.store.followup(id).await? else {
            continue;
        };
        let due = f.due.map(|d| format!(" is due {d}")).unwrap_or_default();
        let text = format!(
            ":alarm_clock: Your follow-up from INC-{incident}{due}: {}. When it is done, tick it with `/incident followups`.",
            f.text
        );
        let effects = crate::store::Effects {
            timeline: vec![crate::domain::NewEntry {
                occurred_at: now,
                kind: crate::domain::EntryKind::Reminder,
                author: None,
                text: format!(
                    "Reminded {} of the follow-up “{}”",
                    f.owner.mention(),
                    f.text
                ),
            }],
            jobs: vec![crate::queue::Job::Notice {
                channel: None,
                user: f.owner.clone(),
                text,
            }],
            ..crate::store::Effects::default()
        };
        if ctx
            .store
            .fire_followup(id, incident, due_at, now, effects)
            .await?
        {
            sent += 1;
        }
    }
    Ok(sent)
}

/// Sends this week's follow-up digest if it has not gone out: each owner
/// of open follow-ups gets one direct message. Only the latest digest time
/// counts, so a bot that was down sends this week's once when it is back,
/// never one per week missed. The week's row, written with the jobs in one
/// transaction, makes it once across restarts and replicas. Returns how
/// many were queued.
pub async fn fire_digest_due(ctx: &Ctx) -> Result<usize, StoreError> {
    let Some(digest) = ctx.settings.followups.digest else {
        return Ok(0);
    };
    let now = ctx.clock.now();
    let Some(round) = digest.latest(now, ctx.settings.timezone) else {
        return Ok(0);
    };
    if ctx.store.followup_digest_sent(round.week).await? {
        return Ok(0);
    }
    let Some(owners) = ctx
        .store
        .fire_followup_digest(round.week, round.due_at, now)
        .await?
    else {
        return Ok(0);
    };
    let late = (now - round.due_at).num_milliseconds();
    info!(week = %round.week, owners, late_ms = late, "follow-up digest queued");
    for _ in 0..owners {
        ctx.metrics
            .reminder_fired("followup_digest", now - round.due_at);
    }
    Ok(owners)
}
