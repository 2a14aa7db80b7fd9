//! What every handler and job shares.

use crate::clock::Clock;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::slack::SlackApi;
use crate::store::DynStore;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Notify, watch};

/// How soon a loop whose database failed looks again, in real time.
const UNAVAILABLE_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

pub struct Ctx {
    pub settings: Settings,
    /// Verifies `/slack/*` requests; `None` in Socket Mode, where those
    /// routes do not exist (the socket is authenticated by the app token).
    pub signing_secret: Option<SecretString>,
    pub store: DynStore,
    pub slack: SlackApi,
    pub clock: Clock,
    /// Wakes the job workers when a job was queued.
    pub wake: Notify,
    /// What the background loops report when they go to sleep.
    pub quiet: Quiet,
    pub metrics: Metrics,
    pub postmortems: crate::postmortem::Postmortems,
    /// Whether to take traffic (`GET /readyz`).
    pub readiness: crate::readiness::Readiness,
}

impl Ctx {
    /// Wakes the job workers and the reminder scheduler: jobs were queued or
    /// reminder due times moved.
    pub fn state_changed(&self) {
        self.quiet.count_change();
        self.wake.notify_waiters();
    }
}

/// The background loops that say when they have nothing to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loop {
    /// The job workers (`jobs::run_workers`).
    Jobs,
    /// The reminder scheduler (`reminders::run`).
    Reminders,
    /// The webhook deliveries (`webhooks::run`).
    Webhooks,
}

impl Loop {
    fn name(self) -> &'static str {
        match self {
            Loop::Jobs => "job queue",
            Loop::Reminders => "reminders",
            Loop::Webhooks => "webhook deliveries",
        }
    }
}

/// "Idle at clock time `at`": a loop that had seen the first `changes`
/// state changes ([`Ctx::state_changed`]) found, at `at`, nothing due and
/// nothing of its own running, and sleeps until `until` (the next due time;
/// `None`: until a state change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Idle {
    pub changes: u64,
    pub at: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
}

impl Idle {
    /// Whether this report says that nothing is due at `now` after the
    /// first `changes` state changes: it saw them all, and nothing falls
    /// due before `now` passes `until`.
    pub fn covers(&self, changes: u64, now: DateTime<Utc>) -> bool {
        self.changes >= changes && self.until.is_none_or(|u| u > now)
    }
}

/// What the background loops report about themselves, so that whoever must
/// know that nothing more will happen at a clock time (a test, before it
/// asserts that nothing happened) can wait for that instead of for time.
/// Cheap: a count per state change, and a `watch` send when a loop goes
/// to sleep or wakes.
#[derive(Debug)]
pub struct Quiet {
    changes: AtomicU64,
    jobs: watch::Sender<Option<Idle>>,
    reminders: watch::Sender<Option<Idle>>,
    webhooks: watch::Sender<Option<Idle>>,
    /// When the Socket Mode supervisor tries to connect next: one entry
    /// per attempt waiting for its backoff.
    reconnects: watch::Sender<Vec<DateTime<Utc>>>,
}

impl Default for Quiet {
    fn default() -> Self {
        Self {
            changes: AtomicU64::new(0),
            jobs: watch::Sender::new(None),
            reminders: watch::Sender::new(None),
            webhooks: watch::Sender::new(None),
            reconnects: watch::Sender::new(Vec::new()),
        }
    }
}

impl Quiet {
    /// Counts a state change (the first half of [`Ctx::state_changed`]):
    /// counted first, so a loop that reads the count and then finds nothing
    /// to do has seen the change (written before this call).
    pub(crate) fn count_change(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
    }

    /// How many state changes there were so far.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    fn of(&self, which: Loop) -> &watch::Sender<Option<Idle>> {
        match which {
            Loop::Jobs => &self.jobs,
            Loop::Reminders => &self.reminders,
            Loop::Webhooks => &self.webhooks,
        }
    }

    /// What `which` last reported: `None` while it works (or before it
    /// first went to sleep).
    pub fn watch(&self, which: Loop) -> watch::Receiver<Option<Idle>> {
        self.of(which).subscribe()
    }

    /// Completes once the job workers, the reminder scheduler and the
    /// webhook deliveries have all reported that nothing is due at `now`
    /// and nothing runs, with no state change since: from then on nothing
    /// happens until the clock passes `now` or someone acts. Returns when
    /// something falls due next (`None`: nothing until someone acts). All
    /// three loops must be running.
    pub async fn settled(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        loop {
            let changes = self.changes();
            let mut next = None;
            for which in [Loop::Jobs, Loop::Reminders, Loop::Webhooks] {
                let mut rx = self.watch(which);
                let covering = rx
                    .wait_for(|idle| idle.is_some_and(|i| i.covers(changes, now)))
                    .await
                    .ok()
                    .and_then(|idle| idle.and_then(|i| i.until));
                next = match (next, covering) {
                    (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
                    (a, b) => a.or(b),
                };
            }
            if self.changes() == changes {
                return next;
            }
        }
    }

    /// The Socket Mode connection attempts waiting for their backoff, by
    /// when they are made.
    pub fn reconnects(&self) -> watch::Receiver<Vec<DateTime<Utc>>> {
        self.reconnects.subscribe()
    }

    /// Notes a connection attempt to be made at `at`, until the returned
    /// guard is dropped (when the attempt starts, or is given up).
    pub fn reconnect_at(&self, at: DateTime<Utc>) -> Reconnect<'_> {
        self.reconnects.send_modify(|r| r.push(at));
        Reconnect { quiet: self, at }
    }
}

/// A connection attempt waiting for its time; see [`Quiet::reconnect_at`].
pub struct Reconnect<'a> {
    quiet: &'a Quiet,
    at: DateTime<Utc>,
}

impl Drop for Reconnect<'_> {
    fn drop(&mut self) {
        self.quiet.reconnects.send_modify(|r| {
            if let Some(i) = r.iter().position(|t| *t == self.at) {
                r.remove(i);
            }
        });
    }
}

impl Ctx {
    /// The loop shared by the job workers and the reminder scheduler: run
    /// `step` while it finds work; when it finds none, sleep on the clock
    /// until `next` says work falls due, until a state change, or until
    /// shutdown. No polling: an idle process sleeps. Before it sleeps with
    /// nothing due and (`none_running`) nothing of its own running, it
    /// reports itself idle ([`Quiet`]).
    pub async fn drive<S, SF, N, NF>(
        &self,
        which: Loop,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
        mut step: S,
        mut next: N,
        none_running: impl Fn() -> bool,
    ) where
        S: FnMut() -> SF,
        SF: std::future::Future<Output = Result<bool, crate::store::StoreError>>,
        N: FnMut() -> NF,
        NF: std::future::Future<Output = Result<Option<DateTime<Utc>>, crate::store::StoreError>>,
    {
        let what = which.name();
        let report = self.quiet.of(which);
        loop {
            if *shutdown.borrow() {
                return;
            }
            // Awake: not idle until it looked again.
            report.send_if_modified(|idle| idle.take().is_some());
            // Listen before looking, so a change made meanwhile is not missed.
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Read before looking: what `step` finds due at its own (later)
            // time, it would find due at this one too.
            let (changes, at) = (self.quiet.changes(), self.clock.now());
            let mut trouble = false;
            let looked = match step().await {
                Ok(true) => continue,
                Ok(false) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "{what} unavailable");
                    trouble = true;
                    false
                }
            };
            let due = match next().await {
                Ok(due) => {
                    if looked && due.is_none_or(|d| d > at) && none_running() {
                        report.send_replace(Some(Idle {
                            changes,
                            at,
                            until: due,
                        }));
                    }
                    due
                }
                Err(e) => {
                    tracing::warn!(error = %e, "{what} unavailable");
                    trouble = true;
                    Some(self.clock.now() + chrono::Duration::seconds(1))
                }
            };
            let sleep = async {
                let app_time = async {
                    match due {
                        Some(at) => self.clock.sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                };
                if trouble {
                    // A database outage ends in real time, whatever the
                    // app's clock says: look again after a real second too.
                    tokio::select! {
                        _ = app_time => {}
                        _ = tokio::time::sleep(UNAVAILABLE_RETRY) => {}
                    }
                } else {
                    app_time.await
                }
            };
            tokio::select! {
                _ = &mut notified => {}
                _ = sleep => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
