//! The one source of time. Production uses the system clock; tests and
//! benchmarks use a [`ManualClock`] they move forward by hand, so 30- and
//! 60-minute behaviour is checked in milliseconds.

use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::watch;

/// Where "now" comes from. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Clock {
    System,
    Manual(ManualClock),
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Manual(m) => m.now(),
        }
    }

    /// Completes once `now() >= at`. With the system clock this is a tokio
    /// sleep; with a manual clock it completes when the clock is advanced.
    pub async fn sleep_until(&self, at: DateTime<Utc>) {
        match self {
            Clock::System => {
                let wait = (at - Utc::now()).to_std().unwrap_or_default();
                tokio::time::sleep(wait).await;
            }
            Clock::Manual(m) => m.wait_until(at).await,
        }
    }
}

/// A clock that only moves when told to.
#[derive(Clone, Debug)]
pub struct ManualClock {
    now: Arc<watch::Sender<DateTime<Utc>>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        let (tx, _rx) = watch::channel(start);
        Self { now: Arc::new(tx) }
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    pub fn advance(&self, by: std::time::Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        self.now.send_modify(|t| *t += by);
    }

    pub fn set(&self, to: DateTime<Utc>) {
        self.now.send_modify(|t| *t = to);
    }

    async fn wait_until(&self, at: DateTime<Utc>) {
        let mut rx = self.now.subscribe();
        // `wait_for` checks the current value first, so no advance is missed.
        let _ = rx.wait_for(|now| *now >= at).await;
    }
}
