//! What every handler and job shares.

use crate::clock::Clock;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::slack::SlackApi;
use crate::store::DynStore;
use secrecy::SecretString;
use tokio::sync::Notify;

pub struct Ctx {
    pub settings: Settings,
    pub signing_secret: SecretString,
    pub store: DynStore,
    pub slack: SlackApi,
    pub clock: Clock,
    /// Wakes the job workers when a job was queued.
    pub wake: Notify,
    pub metrics: Metrics,
}

impl Ctx {
    /// Wakes the job workers and the reminder scheduler: jobs were queued or
    /// reminder due times moved.
    pub fn state_changed(&self) {
        self.wake.notify_waiters();
    }
}
