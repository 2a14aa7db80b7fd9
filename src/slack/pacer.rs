//! Our own pacing in front of every Web API call, shaped like Slack's
//! published limits: `chat.postMessage` about one a second per channel with
//! a short burst; every other method by its tier, per method for the whole
//! workspace. A call that is not allowed yet is not made and not waited for:
//! the caller learns when it may be made ([`Pacer::check`]), so a job is
//! rescheduled for then instead of holding a worker. A `429` pauses only
//! what it concerns (that method, or that channel for posts) for its
//! `Retry-After`, bounded by [`retry_after`].
//!
//! The limiters are `governor`'s keyed GCRA limiters reading our own
//! [`Clock`], so tests move pacing with the manual clock.

use crate::clock::Clock;
use crate::db::SharedPace;
use chrono::{DateTime, Utc};
use governor::{Quota, RateLimiter, state::keyed::DashMapStateStore};
use std::cell::Cell;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What one Web API call is about: the method, and the channel when there
/// is one (posts are paced per channel; other methods ignore it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub method: &'static str,
    pub channel: Option<String>,
}

impl Key {
    pub fn method(method: &'static str) -> Key {
        Key {
            method,
            channel: None,
        }
    }

    pub fn in_channel(method: &'static str, channel: &str) -> Key {
        Key {
            method,
            channel: Some(channel.to_string()),
        }
    }

    /// The scope's name in the shared pacing table.
    fn name(&self) -> String {
        match &self.channel {
            Some(c) => format!("{}|{c}", self.method),
            None => self.method.to_string(),
        }
    }

    /// What a limit or a pause applies to: the channel for per-channel
    /// posts, the method otherwise.
    fn scope(&self) -> Key {
        match (limit_of(self.method), &self.channel) {
            (Limit::PerChannel, Some(_)) => self.clone(),
            _ => Key::method(self.method),
        }
    }
}

/// Slack's rate-limit classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// About one a second per channel, with short bursts.
    PerChannel,
    /// Web API tiers 1–4 (1, 20, 50 and 100+ a minute per workspace).
    Tier(u8),
}

/// The limit Slack documents for `method`. Methods we do not know are
/// treated as Tier 2, which Slack says "most methods" allow at least.
pub fn limit_of(method: &str) -> Limit {
    match method {
        "chat.postMessage" => Limit::PerChannel,
        "conversations.create" | "conversations.setTopic" | "conversations.list" => Limit::Tier(2),
        "conversations.invite"
        | "conversations.join"
        | "conversations.open"
        | "conversations.history"
        | "conversations.replies"
        | "chat.update"
        | "reactions.add"
        | "files.list" => Limit::Tier(3),
        // Tier 4, and the "special" methods Slack allows at least as often.
        "chat.postEphemeral"
        | "chat.getPermalink"
        | "users.info"
        | "views.open"
        | "auth.test"
        | "files.getUploadURLExternal"
        | "files.completeUploadExternal"
        // The upload of a file's bytes to the URL Slack gave: not a Web
        // API method, but paced with the calls around it.
        | "files.uploadViaUrl" => Limit::Tier(4),
        _ => Limit::Tier(2),
    }
}

const fn nz(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

/// The limit a scope is paced by: posts without a channel go by Tier 4.
fn effective(limit: Limit, scope: &Key) -> Limit {
    match (limit, &scope.channel) {
        (Limit::PerChannel, None) => Limit::Tier(4),
        _ => limit,
    }
}

/// The least margin shared pacing adds to each interval (see
/// [`Pacer::admit`]).
const SHARED_MARGIN: Duration = Duration::from_millis(50);

/// Posts in one channel: one a second, up to this many at once.
pub const POST_BURST: u32 = 3;

/// The quota for a limit class (bursts as large as a minute's allowance
/// for the tiers, which Slack tolerates).
pub fn quota(limit: Limit) -> Quota {
    match limit {
        Limit::PerChannel => Quota::per_second(nz(1)).allow_burst(nz(POST_BURST)),
        Limit::Tier(1) => Quota::per_minute(nz(1)),
        Limit::Tier(2) => Quota::per_minute(nz(20)),
        Limit::Tier(3) => Quota::per_minute(nz(50)),
        Limit::Tier(_) => Quota::per_minute(nz(100)),
    }
}

/// Shortest and longest pause a `429` causes: `Retry-After: 0` or none
/// means one second; anything over 15 minutes is taken as 15 minutes.
pub const MIN_RETRY_AFTER: Duration = Duration::from_secs(1);
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// `Retry-After` as we honour it.
pub fn retry_after(asked: Option<Duration>) -> Duration {
    asked
        .filter(|d| !d.is_zero())
        .unwrap_or(MIN_RETRY_AFTER)
        .clamp(MIN_RETRY_AFTER, MAX_RETRY_AFTER)
}

/// `t` rounded up to the millisecond: job times are stored in
/// milliseconds, and a job rescheduled a fraction early would only be
/// held back again.
fn ceil_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    let ms = t.timestamp_millis();
    let floor = DateTime::from_timestamp_millis(ms).unwrap_or(t);
    if floor < t {
        DateTime::from_timestamp_millis(ms + 1).unwrap_or(t)
    } else {
        t
    }
}

use crate::clock::EpochClock as PaceClock;

type Limiter = RateLimiter<
    Key,
    DashMapStateStore<Key>,
    PaceClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

pub struct Pacer {
    clock: Clock,
    per_channel: Limiter,
    /// Tiers 1 to 4, keyed by method.
    tiers: [Limiter; 4],
    /// Keys Slack answered 429 for, and until when.
    paused: Mutex<HashMap<Key, DateTime<Utc>>>,
    /// The latest time handed out to a held-back call, per key: the next
    /// one held back is told one interval later, so a queue of waiting jobs
    /// comes back one at a time instead of all at the next free slot.
    handed_out: Mutex<HashMap<Key, DateTime<Utc>>>,
    /// Replicas on one PostgreSQL database pace together through it:
    /// Slack counts its limits per app, not per process.
    shared: Option<Arc<dyn SharedPace>>,
}

impl Pacer {
    /// Pacing shared with every replica through `shared` (PostgreSQL).
    pub fn shared(clock: Clock, shared: Arc<dyn SharedPace>) -> Pacer {
        Pacer {
            shared: Some(shared),
            ..Pacer::new(clock)
        }
    }

    pub fn new(clock: Clock) -> Pacer {
        let limiter = |limit| {
            RateLimiter::new(
                quota(limit),
                DashMapStateStore::default(),
                PaceClock(clock.clone()),
            )
        };
        Pacer {
            per_channel: limiter(Limit::PerChannel),
            tiers: [
                limiter(Limit::Tier(1)),
                limiter(Limit::Tier(2)),
                limiter(Limit::Tier(3)),
                limiter(Limit::Tier(4)),
            ],
            paused: Mutex::new(HashMap::new()),
            handed_out: Mutex::new(HashMap::new()),
            shared: None,
            clock,
        }
    }

    /// Takes a slot for a call about `key` now, or says when to ask again:
    /// through the shared pacing when there is one (a database that does
    /// not answer falls back to this process's own), else [`Pacer::check`].
    pub async fn admit(&self, key: &Key) -> Result<(), DateTime<Utc>> {
        let Some(shared) = &self.shared else {
            return self.check(key);
        };
        let scope = key.scope();
        let now = self.clock.now();
        if let Some(until) = self.paused_until(&scope, now) {
            return Err(self.spread(&scope, key.method, until, now));
        }
        let q = quota(effective(limit_of(key.method), &scope));
        // Replicas' calls reach Slack a few milliseconds after the
        // database let them go, not always in that order: a margin of 2 %
        // (at least 50 ms) per interval keeps jitter from showing Slack
        // two calls closer than its limit allows.
        let interval = q.replenish_interval();
        let interval = interval + (interval / 50).max(SHARED_MARGIN);
        let tolerance = interval.saturating_mul(q.burst_size().get().saturating_sub(1));
        match shared
            .take_slot(&scope.name(), now, interval, tolerance)
            .await
        {
            Ok(None) => Ok(()),
            Ok(Some(at)) => Err(self.spread(&scope, key.method, at, now)),
            Err(e) => {
                tracing::warn!(error = %e, "shared pacing unavailable; pacing this process alone");
                self.check(key)
            }
        }
    }

    /// [`Pacer::pause`], and the same pause for every replica.
    pub async fn pause_everywhere(&self, key: &Key, asked: Option<Duration>) -> DateTime<Utc> {
        let until = self.pause(key, asked);
        if let Some(shared) = &self.shared
            && let Err(e) = shared.pause_scope(&key.scope().name(), until).await
        {
            tracing::warn!(error = %e, "could not share a Retry-After pause with the other replicas");
        }
        until
    }

    /// Takes a slot for a call about `key` now, or says when to ask again
    /// (a paused key, or its limiter's next free slot, after the calls
    /// already told to come back).
    pub fn check(&self, key: &Key) -> Result<(), DateTime<Utc>> {
        let scope = key.scope();
        let now = self.clock.now();
        let limit = limit_of(key.method);
        let held_until = self.paused_until(&scope, now).map_or_else(
            || {
                let limiter = match limit {
                    Limit::PerChannel if scope.channel.is_some() => &self.per_channel,
                    Limit::PerChannel => &self.tiers[3],
                    Limit::Tier(t) => &self.tiers[usize::from(t.clamp(1, 4) - 1)],
                };
                limiter.check_key(&scope).map_err(|not_until| {
                    let wait = not_until.wait_time_from(governor::clock::Clock::now(&PaceClock(
                        self.clock.clone(),
                    )));
                    now + chrono::Duration::from_std(wait).unwrap_or_default()
                })
            },
            Err,
        );
        let Err(earliest) = held_until else {
            return Ok(());
        };
        Err(self.spread(&scope, key.method, earliest, now))
    }

    /// When a held-back call about `scope` is told to come back: not before
    /// `earliest`, and one interval after the last one told, so a queue of
    /// waiting jobs comes back one at a time.
    fn spread(
        &self,
        scope: &Key,
        method: &'static str,
        earliest: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let interval = chrono::Duration::from_std(
            quota(effective(limit_of(method), scope)).replenish_interval(),
        )
        .unwrap_or_default();
        let mut handed_out = self.handed_out.lock().unwrap_or_else(|p| p.into_inner());
        if handed_out.len() > 1024 {
            handed_out.retain(|_, at| *at > now);
        }
        let at = match handed_out.get(scope) {
            Some(last) => earliest.max(*last + interval),
            None => earliest,
        };
        let at = ceil_millis(at);
        handed_out.insert(scope.clone(), at);
        at
    }

    /// Why calls about `key` are held back, as `/metrics` names it:
    /// `paused` (a `Retry-After` in force), `per_channel`, `tier1`…`tier4`.
    pub fn hold_class(&self, key: &Key) -> &'static str {
        let scope = key.scope();
        if self.paused_until(&scope, self.clock.now()).is_some() {
            return "paused";
        }
        match (limit_of(key.method), &scope.channel) {
            (Limit::PerChannel, Some(_)) => "per_channel",
            (Limit::PerChannel, None) | (Limit::Tier(4..), _) => "tier4",
            (Limit::Tier(3), _) => "tier3",
            (Limit::Tier(2), _) => "tier2",
            (Limit::Tier(_), _) => "tier1",
        }
    }

    /// How many keys a `Retry-After` pauses now.
    pub fn pauses_in_force(&self) -> usize {
        let now = self.clock.now();
        let paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        paused.values().filter(|until| **until > now).count()
    }

    fn paused_until(&self, scope: &Key, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        match paused.get(scope) {
            Some(until) if *until > now => Some(*until),
            Some(_) => {
                paused.remove(scope);
                None
            }
            None => None,
        }
    }

    /// Slack answered 429 about `key`: pauses only what it concerns for
    /// the (bounded) `Retry-After`; returns when it may be tried again.
    pub fn pause(&self, key: &Key, asked: Option<Duration>) -> DateTime<Utc> {
        let until =
            self.clock.now() + chrono::Duration::from_std(retry_after(asked)).unwrap_or_default();
        let mut paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        let entry = paused.entry(key.scope()).or_insert(until);
        *entry = (*entry).max(until);
        *entry
    }
}

tokio::task_local! {
    /// Web API calls a job made that Slack may have acted on.
    static SENT: Cell<u32>;
}

/// Runs `work`, counting the Web API calls it sends that Slack may have
/// acted on (a call held back by the pacer or answered 429 is not one).
/// A job that sent none can be rescheduled as if it had not run.
pub async fn counting_sent<T>(work: impl Future<Output = T>) -> (T, u32) {
    SENT.scope(Cell::new(0), async {
        let out = work.await;
        (out, SENT.with(Cell::get))
    })
    .await
}

/// One more call went out (no-op outside [`counting_sent`]).
pub(crate) fn sent(delta: i32) {
    let _ = SENT.try_with(|n| n.set(n.get().saturating_add_signed(delta)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn pacer() -> (Pacer, ManualClock) {
        let clock = ManualClock::new(DateTime::from_timestamp(1_700_000_000, 0).unwrap());
        (Pacer::new(Clock::Manual(clock.clone())), clock)
    }

    #[test]
    fn posts_are_paced_per_channel_with_a_short_burst() {
        let (p, clock) = pacer();
        let a = Key::in_channel("chat.postMessage", "CA");
        let b = Key::in_channel("chat.postMessage", "CB");
        for _ in 0..POST_BURST {
            assert!(p.check(&a).is_ok());
        }
        let next = p.check(&a).unwrap_err();
        assert_eq!(next, clock.now() + chrono::Duration::seconds(1));
        // Another channel is not held back by the first.
        assert!(p.check(&b).is_ok());
        clock.advance(Duration::from_secs(1));
        assert!(p.check(&a).is_ok());
        assert!(p.check(&a).is_err());
    }

    #[test]
    fn calls_held_back_are_told_to_come_back_one_interval_apart() {
        let (p, clock) = pacer();
        let a = Key::in_channel("chat.postMessage", "CA");
        for _ in 0..POST_BURST {
            assert!(p.check(&a).is_ok());
        }
        let second = chrono::Duration::seconds(1);
        let times: Vec<_> = (0..3).map(|_| p.check(&a).unwrap_err()).collect();
        let now = clock.now();
        assert_eq!(times, [now + second, now + second * 2, now + second * 3]);
        // Each comes back to a free slot.
        for at in times {
            clock.set(at);
            assert!(p.check(&a).is_ok());
        }
    }

    #[test]
    fn tiers_are_per_method() {
        let (p, _clock) = pacer();
        let topic = Key::in_channel("conversations.setTopic", "CA");
        for _ in 0..20 {
            assert!(p.check(&topic).is_ok());
        }
        // Tier 2 is per method, whatever the channel.
        assert!(
            p.check(&Key::in_channel("conversations.setTopic", "CB"))
                .is_err()
        );
        assert!(p.check(&Key::method("conversations.create")).is_ok());
    }

    #[test]
    fn a_429_pauses_only_its_key_for_a_bounded_time() {
        let (p, clock) = pacer();
        let a = Key::in_channel("chat.postMessage", "CA");
        let until = p.pause(&a, Some(Duration::from_secs(30)));
        assert_eq!(until, clock.now() + chrono::Duration::seconds(30));
        assert_eq!(p.check(&a), Err(until));
        assert!(p.check(&Key::in_channel("chat.postMessage", "CB")).is_ok());
        assert!(p.check(&Key::in_channel("chat.update", "CA")).is_ok());
        clock.advance(Duration::from_secs(30));
        assert!(p.check(&a).is_ok());
    }

    #[test]
    fn retry_after_is_bounded() {
        assert_eq!(retry_after(None), MIN_RETRY_AFTER);
        assert_eq!(retry_after(Some(Duration::ZERO)), MIN_RETRY_AFTER);
        assert_eq!(
            retry_after(Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            retry_after(Some(Duration::from_secs(86_400))),
            MAX_RETRY_AFTER
        );
    }
}
