//! Durable Slack work. A job row is written in the same transaction as the
//! state change that needs it; workers claim due jobs, run them from the
//! current database state, and record the Slack ids they produce, so a retry
//! never makes a second channel or a second board. What a job is and the
//! queue's SQL are in `crate::queue`. The workers' loop, claims, leases and
//! retry decisions are here; what each job does is in `run.rs`.

mod notice;
mod run;

use run::execute;

use crate::queue::Job;

use crate::app::{Ctx, Loop};
use crate::domain::{self, ChannelId, IncidentNumber, MessageTs, channel_name};
use crate::queue::{Claim, JobOutcome, JobRow};
use crate::slack::{CallError, SlackErrorCode, blocks};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tracing::{Instrument, debug, error, info, warn};

/// How long a claim lasts without renewal. A live worker renews it every
/// [`HEARTBEAT`] while its job runs; a job whose process died is claimable
/// again once this passes (on SQLite, at once at the next start).
pub const LEASE: Duration = Duration::from_secs(60);
pub const HEARTBEAT: Duration = Duration::from_secs(20);
/// First retry delay; doubles up to [`MAX_BACKOFF`].
pub const BASE_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Longest wait before retrying a job that failed on the database.
pub const STORE_RETRY_CAP: Duration = Duration::from_secs(5);
/// A job still failing this long after it was created gives up.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(6 * 3600);
/// Names tried for one war room before giving up on `name_taken`.
const MAX_NAME_ATTEMPTS: u32 = 50;

/// Delay before retry number `attempts` (1-based), with up to 25 % jitter
/// derived from the job id so replicas retrying together spread out.
pub fn backoff(id: i64, attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    let base = BASE_BACKOFF
        .saturating_mul(2u32.saturating_pow(exp))
        .min(MAX_BACKOFF);
    let spread = (id.unsigned_abs().wrapping_mul(2_654_435_761) ^ attempts.unsigned_abs()) % 1000;
    base + base.mul_f64(0.25 * spread as f64 / 1000.0)
}

#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error(transparent)]
    Slack(#[from] CallError),
    /// A call about one channel failed (after joining it, if the bot was
    /// not in it).
    #[error("{error} (channel {channel})")]
    InChannel {
        channel: ChannelId,
        error: CallError,
    },
    /// The bot was not in the channel and could not join it.
    #[error("not in channel {channel}, and joining it failed: {error}")]
    Join {
        channel: ChannelId,
        error: CallError,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A job that needs the war room runs after the one creating it: no
    /// room means that one failed.
    #[error("the war room was never created")]
    NoChannel,
    #[error("incident {0} is gone")]
    NoIncident(IncidentNumber),
    /// A job that works on an incident, in a row that names none.
    #[error("this {kind} job names no incident; its row in the jobs table is damaged")]
    Unowned { kind: &'static str },
    /// A status update's post that is no longer recorded.
    #[error("status update {update_id} has no post to {channel} recorded")]
    NoPost {
        update_id: crate::domain::UpdateId,
        channel: ChannelId,
    },
    #[error("the postmortem template failed: {0}")]
    Template(String),
}

/// Runs jobs until `shutdown` fires: one loop claims due jobs and runs each
/// on its own task, at most `slack.max_in_flight` at once. A job held back
/// by the pacer is put back in the queue for when its call may be made, so
/// it holds no slot while it waits.
pub async fn run_workers(ctx: Arc<Ctx>, shutdown: tokio::sync::watch::Receiver<bool>) {
    let limit = ctx.settings.slack_max_in_flight.max(1);
    let slots = Arc::new(tokio::sync::Semaphore::new(limit));
    ctx.drive(
        Loop::Jobs,
        shutdown,
        || dispatch_one(&ctx, &slots),
        || ctx.store.next_job_due(),
        // Idle only with no job of ours running.
        || slots.available_permits() == limit,
    )
    .await;
    // Let the jobs in flight finish (the caller bounds the wait).
    let _ = slots
        .acquire_many(u32::try_from(limit).unwrap_or(u32::MAX))
        .await;
}

/// Waits for a free slot, claims one due job and starts it. False when none
/// was due.
async fn dispatch_one(
    ctx: &Arc<Ctx>,
    slots: &Arc<tokio::sync::Semaphore>,
) -> Result<bool, crate::store::StoreError> {
    let Ok(slot) = slots.clone().acquire_owned().await else {
        return Ok(false);
    };
    let Some(row) = claim(ctx).await? else {
        return Ok(false);
    };
    let ctx = ctx.clone();
    tokio::spawn(async move {
        if let Err(e) = run_claimed(&ctx, row).await {
            warn!(error = %e, "could not record a job's outcome; it runs again when its lease ends");
        }
        // Jobs queued behind this one may run now. Counted while the slot
        // is held and woken once it is free, so the loop, finding every
        // slot free, has seen this change and may report itself idle.
        ctx.quiet.count_change();
        drop(slot);
        ctx.wake.notify_waiters();
    });
    Ok(true)
}

async fn claim(ctx: &Ctx) -> Result<Option<JobRow>, crate::store::StoreError> {
    let now = ctx.clock.now();
    let lease = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
    ctx.store.claim_job(now, lease).await
}

/// Runs a claimed job and records how it ended.
async fn run_claimed(ctx: &Ctx, row: JobRow) -> Result<(), crate::store::StoreError> {
    let claimed_at = ctx.clock.now();
    let span = tracing::info_span!(
        "job",
        id = row.id,
        kind = row.job.kind(),
        incident = row.incident.map(IncidentNumber::get),
        attempt = row.attempts
    );
    let outcome = async {
        let (result, sent) = with_heartbeat(
            ctx,
            row.claim(),
            claimed_at,
            crate::slack::pacer::counting_sent(execute(ctx, &row)),
        )
        .await?;
        let now = ctx.clock.now();
        let mut outcome = decide(&row, &result, now, sent);
        if let (JobOutcome::Failed { notice, .. }, Err(e)) = (&mut outcome, &result) {
            *notice = notice::compose(ctx, &row, e).await;
        }
        match &outcome {
            JobOutcome::Done => info!("done"),
            JobOutcome::Deferred { at, .. } => debug!(run_at = %at, "paced; rescheduled"),
            JobOutcome::Retry { at, error } => warn!(%error, retry_at = %at, "will retry"),
            JobOutcome::Failed { error, notice } => {
                error!(%error, told = notice.is_some(), "gave up")
            }
        }
        Some(outcome)
    }
    .instrument(span)
    .await;
    let Some(outcome) = outcome else {
        // The claim was lost mid-run: the new claimant records the outcome.
        return Ok(());
    };
    ctx.metrics.job_finished(row.job.kind(), &outcome);
    if !finish(ctx, &row, outcome).await? {
        warn!(
            id = row.id,
            "the job's lease ran out and another worker claimed it; its result was not recorded"
        );
    }
    Ok(())
}

/// Records a job's outcome, trying again while the database is unavailable
/// (for up to a [`LEASE`] of real time): the job's Slack work is done, and
/// a worker that took it up again after the lease would do it twice.
async fn finish(
    ctx: &Ctx,
    row: &JobRow,
    outcome: JobOutcome,
) -> Result<bool, crate::store::StoreError> {
    let started = std::time::Instant::now();
    let mut wait = Duration::from_millis(250);
    loop {
        match ctx
            .store
            .finish_job(row.claim(), outcome.clone(), ctx.clock.now())
            .await
        {
            Ok(recorded) => return Ok(recorded),
            Err(e) if started.elapsed() + wait < LEASE => {
                warn!(id = row.id, error = %e, "could not record a job's outcome yet; trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Runs `work` while renewing the claim's lease every [`HEARTBEAT`]; `None`
/// (and `work` dropped mid-way) when the claim was lost to another worker,
/// which now runs the job itself.
async fn with_heartbeat<T>(
    ctx: &Ctx,
    claim: Claim,
    claimed_at: DateTime<Utc>,
    work: impl Future<Output = T>,
) -> Option<T> {
    let every = chrono::Duration::from_std(HEARTBEAT).unwrap_or_default();
    let lease = chrono::Duration::from_std(LEASE).unwrap_or_default();
    // One future polled beside `work`, so a renewal waiting for the store's
    // writer never stops `work` (which may hold it) from finishing.
    let heartbeat = async {
        // Counted from the claim, which set the first lease.
        let mut beat = claimed_at + every;
        loop {
            ctx.clock.sleep_until(beat).await;
            let now = ctx.clock.now();
            match ctx.store.extend_lease(claim, now + lease).await {
                Ok(true) => {}
                Ok(false) => {
                    warn!(
                        id = claim.id,
                        "lost the claim on a running job; leaving it to its new worker"
                    );
                    return;
                }
                Err(e) => warn!(id = claim.id, error = %e, "could not renew a job's lease"),
            }
            beat = now + every;
        }
    };
    tokio::select! {
        out = work => Some(out),
        () = heartbeat => None,
    }
}

/// Done, retry later (transient trouble, until [`GIVE_UP_AFTER`]) or
/// failed (at once for an error that would only repeat: Slack refusing the
/// call, an archived or missing channel, no war room). A failure's notice is
/// filled in by the caller.
fn decide(
    row: &JobRow,
    result: &Result<(), RunError>,
    now: DateTime<Utc>,
    sent: u32,
) -> JobOutcome {
    let error = match result {
        Ok(()) => return JobOutcome::Done,
        Err(e) => e,
    };
    if let RunError::Slack(CallError::Paced { until })
    | RunError::InChannel {
        error: CallError::Paced { until },
        ..
    }
    | RunError::Join {
        error: CallError::Paced { until },
        ..
    } = error
    {
        return JobOutcome::Deferred {
            at: (*until).max(now),
            refund: sent == 0,
        };
    }
    let retry_after = match error {
        RunError::Slack(CallError::Transient { retry_after, .. })
        | RunError::InChannel {
            error: CallError::Transient { retry_after, .. },
            ..
        }
        | RunError::Join {
            error: CallError::Transient { retry_after, .. },
            ..
        } => Some(retry_after.unwrap_or_else(|| backoff(row.id, row.attempts))),
        // Slack answered `ok` in a form the bot cannot read: the work may be
        // done, so it is retried like a lost answer, and the retry looks for
        // it first (the channel by name, the post by its metadata, the file
        // by title) before doing it again.
        RunError::Slack(CallError::Unreadable { .. })
        | RunError::InChannel {
            error: CallError::Unreadable { .. },
            ..
        }
        | RunError::Join {
            error: CallError::Unreadable { .. },
            ..
        } => Some(backoff(row.id, row.attempts)),
        // Our own database failed: it usually comes back within seconds,
        // so the job is tried again soon, not after minutes of backoff.
        RunError::Store(_) => Some(backoff(row.id, row.attempts).min(STORE_RETRY_CAP)),
        RunError::Slack(_)
        | RunError::InChannel { .. }
        | RunError::Join { .. }
        | RunError::NoChannel
        | RunError::NoIncident(_)
        | RunError::Unowned { .. }
        | RunError::NoPost { .. }
        | RunError::Template(_) => None,
    };
    let age = (now - row.created_at).to_std().unwrap_or_default();
    match retry_after {
        Some(wait) if age < GIVE_UP_AFTER => JobOutcome::Retry {
            at: now + chrono::Duration::from_std(wait).unwrap_or_default(),
            error: error.to_string(),
        },
        _ => JobOutcome::Failed {
            error: error.to_string(),
            notice: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let b1 = backoff(1, 1);
        let b2 = backoff(1, 2);
        assert!(b1 >= BASE_BACKOFF && b1 <= BASE_BACKOFF.mul_f64(1.25));
        assert!(b2 >= BASE_BACKOFF * 2);
        assert!(backoff(1, 40) <= MAX_BACKOFF.mul_f64(1.25));
        assert!(backoff(1, 40) >= MAX_BACKOFF);
    }

    #[test]
    fn jobs_round_trip_as_json() {
        let job = Job::Invite {
            user: crate::domain::UserId::new("U1"),
        };
        let json = serde_json::to_string(&job).unwrap();
        assert_eq!(json, r#"{"job":"invite","user":"U1"}"#);
        assert_eq!(serde_json::from_str::<Job>(&json).unwrap(), job);
    }
}
