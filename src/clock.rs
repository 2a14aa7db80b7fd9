//! The one source of time. Production uses the system clock; tests and
//! benchmarks use a [`ManualClock`] they move forward by hand, so 30- and
//! 60-minute behaviour is checked in milliseconds. The playground runs on
//! an [`OffsetClock`]: real time that a person can move forward.

use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::watch;

/// Where "now" comes from. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Clock {
    System,
    Manual(ManualClock),
    Offset(OffsetClock),
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Manual(m) => m.now(),
            Clock::Offset(o) => o.now(),
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
            Clock::Offset(o) => o.sleep_until(at).await,
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

/// The system clock plus an offset that only grows: time runs as usual and
/// can also be moved forward ("+30 min") while the bot runs. Whoever sleeps
/// on it wakes when its moment comes, in real time or by a move.
#[derive(Clone, Debug)]
pub struct OffsetClock {
    offset: Arc<watch::Sender<chrono::Duration>>,
}

impl Default for OffsetClock {
    fn default() -> Self {
        Self::new()
    }
}

impl OffsetClock {
    /// Starts at the system's time (offset zero).
    pub fn new() -> Self {
        let (tx, _rx) = watch::channel(chrono::Duration::zero());
        Self {
            offset: Arc::new(tx),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.offset.borrow()
    }

    /// How far ahead of the system clock it is.
    pub fn offset(&self) -> chrono::Duration {
        *self.offset.borrow()
    }

    /// Moves time forward by `by`, waking every sleeper whose moment it
    /// passes.
    pub fn advance(&self, by: std::time::Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        self.offset
            .send_modify(|o| *o = o.checked_add(&by).unwrap_or(chrono::Duration::MAX));
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        let mut moved = self.offset.subscribe();
        loop {
            // Marked seen before reading the time, so a move made while
            // sleeping is never missed.
            moved.borrow_and_update();
            let Ok(wait) = (at - self.now()).to_std() else {
                return;
            };
            if wait.is_zero() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                changed = moved.changed() => {
                    if changed.is_err() {
                        // Cannot happen while `self` holds the sender.
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_offset_clock_runs_with_the_system_clock_plus_its_offset() {
        let clock = OffsetClock::new();
        let before = Utc::now();
        clock.advance(Duration::from_secs(30 * 60));
        let now = clock.now();
        assert!(now >= before + chrono::Duration::minutes(30));
        assert!(now < Utc::now() + chrono::Duration::minutes(31));
        assert_eq!(clock.offset(), chrono::Duration::minutes(30));
    }

    #[tokio::test]
    async fn a_sleeper_wakes_when_the_offset_reaches_its_moment() {
        let clock = OffsetClock::new();
        let at = clock.now() + chrono::Duration::hours(1);
        let sleeper = tokio::spawn({
            let clock = Clock::Offset(clock.clone());
            async move { clock.sleep_until(at).await }
        });
        tokio::task::yield_now().await;
        clock.advance(Duration::from_secs(10 * 60));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished(), "woke 50 minutes early");
        clock.advance(Duration::from_secs(50 * 60));
        // Bounded: the sleeper is woken by the move, not by an hour passing.
        tokio::time::timeout(Duration::from_secs(10), sleeper)
            .await
            .expect("the sleeper woke when the clock passed its moment")
            .expect("the sleeper did not panic");
    }

    #[tokio::test]
    async fn a_moment_already_past_does_not_sleep() {
        let clock = Clock::Offset(OffsetClock::new());
        let past = clock.now() - chrono::Duration::seconds(1);
        tokio::time::timeout(Duration::from_secs(5), clock.sleep_until(past))
            .await
            .expect("no sleep for a past moment");
    }
}

/// A [`Clock`] as `governor`'s rate limiters read time: the time since the
/// Unix epoch, so limiters run on the app's clock (manual in tests).
#[derive(Clone, Debug)]
pub struct EpochClock(pub Clock);

impl governor::clock::Clock for EpochClock {
    type Instant = std::time::Duration;
    fn now(&self) -> std::time::Duration {
        (self.0.now() - DateTime::<Utc>::UNIX_EPOCH)
            .to_std()
            .unwrap_or_default()
    }
}
