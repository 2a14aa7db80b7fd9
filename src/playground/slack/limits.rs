//! Slack's rate limits as the simulator enforces them.

use super::*;

/// Slack's published rate limits, as Slack applies them: `chat.postMessage`
/// one a second per channel with a short burst, other methods by tier per
/// workspace (Tier 2 20, Tier 3 50, Tier 4 100 a minute).
pub struct Limits {
    clock: LimitClock,
    posts: Keyed,
    tiers: [Keyed; 3],
}

type Keyed = governor::RateLimiter<
    String,
    governor::state::keyed::DashMapStateStore<String>,
    LimitClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

/// The fake's limits read the app's clock (manual in tests).
use crate::clock::EpochClock as LimitClock;

impl Limits {
    pub(super) fn new(clock: crate::clock::Clock) -> Limits {
        use governor::Quota;
        use std::num::NonZeroU32;
        let n = |n: u32| NonZeroU32::new(n).unwrap();
        let clock = LimitClock(clock);
        let keyed = |q: Quota| -> Keyed {
            governor::RateLimiter::new(
                q,
                governor::state::keyed::DashMapStateStore::default(),
                clock.clone(),
            )
        };
        Limits {
            posts: keyed(Quota::per_second(n(1)).allow_burst(n(4))),
            tiers: [
                keyed(Quota::per_minute(n(20))),
                keyed(Quota::per_minute(n(50))),
                keyed(Quota::per_minute(n(100))),
            ],
            clock,
        }
    }

    /// `None` when the call is allowed now, or the seconds to wait.
    pub(super) fn check(&self, method: &str, body: &Value) -> Option<u64> {
        let (limiter, key) = match method {
            "chat.postMessage" => (
                &self.posts,
                body["channel"].as_str().unwrap_or_default().to_string(),
            ),
            "conversations.create" | "conversations.setTopic" | "conversations.list" => {
                (&self.tiers[0], method.to_string())
            }
            "conversations.invite"
            | "conversations.join"
            | "conversations.history"
            | "conversations.replies"
            | "chat.update"
            | "reactions.add"
            | "files.list" => (&self.tiers[1], method.to_string()),
            _ => (&self.tiers[2], method.to_string()),
        };
        limiter.check_key(&key).err().map(|not_until| {
            let now = governor::clock::Clock::now(&self.clock);
            not_until.wait_time_from(now).as_secs_f64().ceil().max(1.0) as u64
        })
    }
}
