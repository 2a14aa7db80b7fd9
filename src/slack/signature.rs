//! Slack request signing (v0): HMAC-SHA256 over `v0:{timestamp}:{raw body}`,
//! compared in constant time, timestamp within five minutes of our clock.
//!
//! slack-morphism's verifier reads the system clock itself; this one takes
//! the time from the injectable clock so tests and the official test vector
//! can pin it.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const SIGNATURE_HEADER: &str = "x-slack-signature";
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
pub const MAX_SKEW_SECONDS: i64 = 5 * 60;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("missing X-Slack-Signature or X-Slack-Request-Timestamp")]
    Missing,
    #[error("request timestamp is malformed or more than five minutes off")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

/// The `v0=…` signature of `body` sent at `timestamp`.
pub fn sign(secret: &SecretString, timestamp: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// What the headers alone say: both present, the timestamp within five
/// minutes, the signature shaped like one (`v0=` and 64 hex digits). Checked
/// before the body is read, so a request that cannot be Slack's costs no
/// more than its headers.
pub fn plausible(
    timestamp: Option<&str>,
    signature: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SignatureError::Missing);
    };
    let sent: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Stale)?;
    if now.timestamp().abs_diff(sent) > MAX_SKEW_SECONDS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let digest = signature.trim().strip_prefix("v0=").unwrap_or_default();
    if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SignatureError::Mismatch);
    }
    Ok(())
}

/// Checks a request as Slack documents it.
pub fn verify(
    secret: &SecretString,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    plausible(timestamp, signature, now)?;
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SignatureError::Missing);
    };
    let expected = sign(secret, timestamp, body);
    if expected
        .as_bytes()
        .ct_eq(signature.trim().as_bytes())
        .into()
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's official test vector (docs: "Verifying requests from Slack").
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn official_vector() {
        let secret = SecretString::from(SECRET);
        assert_eq!(sign(&secret, TS, BODY.as_bytes()), SIG);
        assert_eq!(
            verify(
                &secret,
                Some(TS),
                Some(SIG),
                BODY.as_bytes(),
                at(1531420618 + 10)
            ),
            Ok(())
        );
    }

    #[test]
    fn rejections() {
        let secret = SecretString::from(SECRET);
        let now = at(1531420618);
        assert_eq!(
            verify(&secret, None, Some(SIG), BODY.as_bytes(), now),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(
                &secret,
                Some(TS),
                Some(SIG),
                BODY.as_bytes(),
                at(1531420618 + 301)
            ),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&secret, Some("soon"), Some(SIG), BODY.as_bytes(), now),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(
                &secret,
                Some("-9223372036854775808"),
                Some(SIG),
                BODY.as_bytes(),
                now
            ),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&secret, Some(TS), Some(SIG), b"token=tampered", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                &SecretString::from("other"),
                Some(TS),
                Some(SIG),
                BODY.as_bytes(),
                now
            ),
            Err(SignatureError::Mismatch)
        );
    }
}
