//! Standard Webhooks, version 1 (standardwebhooks.com): what a delivery
//! carries and how it is signed. Pure.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// `webhook-signature` for message `id` sent at `timestamp` (Unix seconds)
/// with `body`, under `key` (the bytes of the `whsec_…` secret): `v1,` and
/// the base64 HMAC-SHA256 of `id.timestamp.body`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC-SHA256 accepts every key length")
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// The waits after each failed attempt: Standard Webhooks' suggested
/// schedule (at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h,
/// 24 h): ten attempts over about three days.
pub const SCHEDULE: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(24 * 3600),
];

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = SCHEDULE.len() as i64 + 1;

/// The wait after failed attempt `attempt` (1-based), with up to 10 %
/// jitter from the delivery id so that a backlog retried together spreads
/// out. `None`: that was the last attempt.
pub fn retry_after(delivery: i64, attempt: i64) -> Option<Duration> {
    let i = usize::try_from(attempt.checked_sub(1)?).ok()?;
    let base = *SCHEDULE.get(i)?;
    let spread = delivery.unsigned_abs().wrapping_mul(2_654_435_761) % 1000;
    Some(base + base.mul_f64(0.1 * spread as f64 / 1000.0))
}

/// Longest `Retry-After` honoured; a longer one waits this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// A `Retry-After` in seconds, within bounds (1 s to a day). HTTP dates
/// are not read: the schedule applies to them.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: u64 = value.trim().parse().ok()?;
    Some(Duration::from_secs(secs).clamp(Duration::from_secs(1), MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector the Standard Webhooks libraries share.
    #[test]
    fn the_specs_test_vector() {
        let key = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        assert_eq!(
            signature(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn ten_attempts_on_the_schedule_with_bounded_jitter() {
        assert_eq!(MAX_ATTEMPTS, 10);
        for id in [1, 7, 1_000_003] {
            for (i, base) in SCHEDULE.iter().enumerate() {
                let wait = retry_after(id, i as i64 + 1).unwrap();
                assert!(wait >= *base && wait <= base.mul_f64(1.1), "{id} {i}");
            }
            assert_eq!(retry_after(id, MAX_ATTEMPTS), None);
        }
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("0"), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after("9999999"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
