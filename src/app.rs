//! What every handler and job shares.

use crate::clock::Clock;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::slack::SlackApi;
use crate::store::DynStore;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use tokio::sync::Notify;

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
    pub metrics: Metrics,
    pub postmortems: crate::postmortem::Postmortems,
    /// Whether to take traffic (`GET /readyz`).
    pub readiness: crate::readiness::Readiness,
}

impl Ctx {
    /// Wakes the job workers and the reminder scheduler: jobs were queued or
    /// reminder due times moved.
    pub fn state_changed(&self) {
        self.wake.notify_waiters();
    }
}

impl Ctx {
    /// The loop shared by the job workers and the reminder scheduler: run
    /// `step` while it finds work; when it finds none, sleep on the clock
    /// until `next` says work falls due, until a state change, or until
    /// shutdown. No polling: an idle process sleeps.
    pub async fn drive<S, SF, N, NF>(
        &self,
        what: &str,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
        mut step: S,
        mut next: N,
    ) where
        S: FnMut() -> SF,
        SF: std::future::Future<Output = Result<bool, crate::store::StoreError>>,
        N: FnMut() -> NF,
        NF: std::future::Future<Output = Result<Option<DateTime<Utc>>, crate::store::StoreError>>,
    {
        loop {
            if *shutdown.borrow() {
                return;
            }
            // Listen before looking, so a change made meanwhile is not missed.
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match step().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "{what} unavailable"),
            }
            let due = next().await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "{what} unavailable");
                Some(self.clock.now() + chrono::Duration::seconds(1))
            });
            let sleep = async {
                match due {
                    Some(at) => self.clock.sleep_until(at).await,
                    None => std::future::pending().await,
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
