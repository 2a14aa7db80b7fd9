//! Values that check themselves: each type is the one place its rule
//! lives. A refusal is the problem in the words that follow "`key` is"
//! ([`super::ConfigError::Key`]), so the message names the key the value
//! came from.
//!
//! They are built in `check`, not by serde's `try_from`: the `config`
//! crate turns a serde error into "… for key `x`", which would change the
//! one-line messages people (and `warroom check`) read.

use std::net::SocketAddr;
use std::time::Duration;

/// What is wrong with a value, said after "`key` is".
pub(super) type Problem = String;

/// An address to listen on, like `0.0.0.0:3000`.
pub(super) struct Address(pub SocketAddr);

impl Address {
    /// `example` is shown in the refusal (`listen` and `admin_listen`
    /// suggest different ones).
    pub fn parse(text: &str, example: &str) -> Result<Self, Problem> {
        text.parse()
            .map(Self)
            .map_err(|_| format!("not an address like {example}: `{text}`"))
    }
}

/// A SQLite or PostgreSQL URL.
pub(super) struct DatabaseUrl(pub String);

impl TryFrom<String> for DatabaseUrl {
    type Error = Problem;

    fn try_from(url: String) -> Result<Self, Problem> {
        if ["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|p| url.starts_with(p))
        {
            Ok(Self(url))
        } else {
            Err("neither a sqlite:// nor a postgres:// URL".to_string())
        }
    }
}

/// An IANA time zone name.
pub(super) struct TimeZone(pub chrono_tz::Tz);

impl TryFrom<&str> for TimeZone {
    type Error = Problem;

    fn try_from(name: &str) -> Result<Self, Problem> {
        name.parse()
            .map(Self)
            .map_err(|_| format!("not an IANA time zone name like Europe/Paris: `{name}`"))
    }
}

/// The Web API's base URL, without a trailing `/`.
pub(super) struct ApiUrl(pub String);

impl TryFrom<&str> for ApiUrl {
    type Error = Problem;

    fn try_from(url: &str) -> Result<Self, Problem> {
        if url.starts_with("https://") || url.starts_with("http://") {
            Ok(Self(url.trim_end_matches('/').to_string()))
        } else {
            Err("not an http(s) URL".to_string())
        }
    }
}

/// A Slack channel ID (`C…`, or `G…` for an old private channel), not a
/// name.
pub(super) struct ChannelId;

impl ChannelId {
    /// `None` when `s` is none; the refusal is the caller's, which knows
    /// what a mistaken value there most likely was.
    pub fn parse(s: &str) -> Option<crate::domain::ChannelId> {
        let valid = s.len() >= 2
            && s.starts_with(['C', 'G'])
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        valid.then(|| crate::domain::ChannelId::new(s))
    }
}

/// The longest reminder interval.
pub(super) const MAX_INTERVAL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why a duration is no reminder interval.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum NotAnInterval {
    Zero,
    LongerThanAWeek,
}

/// A reminder interval: more than zero, at most [`MAX_INTERVAL`].
pub(super) fn interval(d: Duration) -> Result<Duration, NotAnInterval> {
    if d.is_zero() {
        Err(NotAnInterval::Zero)
    } else if d > MAX_INTERVAL {
        Err(NotAnInterval::LongerThanAWeek)
    } else {
        Ok(d)
    }
}

/// A duration within `min..=max`, refused as `problem`.
pub(super) fn within(
    d: Duration,
    min: Duration,
    max: Duration,
    problem: &str,
) -> Result<Duration, Problem> {
    if (min..=max).contains(&d) {
        Ok(d)
    } else {
        Err(problem.to_string())
    }
}

/// A count within `min..=max`, refused as `problem`.
pub(super) fn count(n: usize, min: usize, max: usize, problem: String) -> Result<usize, Problem> {
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(problem)
    }
}
