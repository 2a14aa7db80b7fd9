//! Credentials of an alert source, checked before its body is read: a
//! bearer token (Alertmanager's `http_config.authorization`, a script's
//! header), Grafana's HMAC signature, PagerDuty's `X-PagerDuty-Signature`.
//! Every comparison is constant-time.

use crate::config::{AlertSource, AlertSourceKind};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// PagerDuty's signature header: `v1=<hex>`, several comma-separated
/// while a secret is being rotated.
pub const PAGERDUTY_SIGNATURE: &str = "X-PagerDuty-Signature";
/// How far a signed Grafana timestamp may be from our clock.
pub const MAX_SKEW_SECONDS: i64 = 5 * 60;

/// Why a request's credentials were refused (401). The text names what
/// is missing or wrong, never a secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("missing the Authorization: Bearer token this source is configured with")]
    MissingToken,
    #[error("the bearer token does not match this source's token")]
    BadToken,
    #[error("missing the {0} header")]
    MissingSignature(String),
    #[error("the {0} header does not match the body signed with this source's secret")]
    BadSignature(String),
    #[error("the {0} timestamp is malformed or more than five minutes off")]
    StaleTimestamp(String),
}

/// Checks a request to `source` with these headers (`header` looks one up
/// by name, any case) and raw `body`, at `now`.
pub fn verify<'h>(
    source: &AlertSource,
    header: impl Fn(&str) -> Option<&'h str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), VerifyError> {
    if let Some(token) = &source.token {
        check_bearer(token, header("authorization"))?;
    }
    match (source.kind, &source.secret) {
        (AlertSourceKind::Pagerduty, Some(secret)) => {
            check_pagerduty(secret, header(PAGERDUTY_SIGNATURE), body)
        }
        // Configuration refuses a PagerDuty source without a secret.
        (AlertSourceKind::Pagerduty, None) => {
            Err(VerifyError::MissingSignature(PAGERDUTY_SIGNATURE.into()))
        }
        (AlertSourceKind::Grafana, Some(secret)) => {
            let name = source.signature_header.as_str();
            let signature =
                header(name).ok_or_else(|| VerifyError::MissingSignature(name.into()))?;
            let timestamp = match &source.timestamp_header {
                Some(ts) => {
                    let value =
                        header(ts).ok_or_else(|| VerifyError::MissingSignature(ts.clone()))?;
                    let sent: i64 = value
                        .trim()
                        .parse()
                        .map_err(|_| VerifyError::StaleTimestamp(ts.clone()))?;
                    if now.timestamp().abs_diff(sent) > MAX_SKEW_SECONDS.unsigned_abs() {
                        return Err(VerifyError::StaleTimestamp(ts.clone()));
                    }
                    Some(value.trim())
                }
                None => None,
            };
            let expected = hmac_hex(secret, timestamp.map(|t| format!("{t}:")).as_deref(), body);
            if equal(
                expected.as_bytes(),
                signature.trim().to_ascii_lowercase().as_bytes(),
            ) {
                Ok(())
            } else {
                Err(VerifyError::BadSignature(name.into()))
            }
        }
        _ => Ok(()),
    }
}

/// `Authorization: Bearer <token>`, compared through SHA-256 digests so
/// neither the contents nor the length leak.
fn check_bearer(token: &SecretString, authorization: Option<&str>) -> Result<(), VerifyError> {
    let given = authorization
        .map(str::trim)
        .and_then(|a| {
            let (scheme, rest) = a.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
        })
        .ok_or(VerifyError::MissingToken)?;
    if equal(
        &Sha256::digest(given.as_bytes()),
        &Sha256::digest(token.expose_secret().as_bytes()),
    ) {
        Ok(())
    } else {
        Err(VerifyError::BadToken)
    }
}

/// Any of the `v1=` signatures matching the body's is enough (PagerDuty
/// sends one per secret while a secret is rotated).
fn check_pagerduty(
    secret: &SecretString,
    header: Option<&str>,
    body: &[u8],
) -> Result<(), VerifyError> {
    let header = header.ok_or_else(|| VerifyError::MissingSignature(PAGERDUTY_SIGNATURE.into()))?;
    let expected = pagerduty_signature(secret, body);
    let mut matched = subtle::Choice::from(0);
    for candidate in header.split(',').map(str::trim) {
        matched |= expected
            .as_bytes()
            .ct_eq(candidate.to_ascii_lowercase().as_bytes());
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature(PAGERDUTY_SIGNATURE.into()))
    }
}

/// `v1=<hex HMAC-SHA256 of the body>`, as PagerDuty signs.
pub fn pagerduty_signature(secret: &SecretString, body: &[u8]) -> String {
    format!("v1={}", hmac_hex(secret, None, body))
}

/// Grafana's signature: hex HMAC-SHA256 of the body, or of
/// `timestamp:body` when a timestamp header is configured.
pub fn grafana_signature(secret: &SecretString, timestamp: Option<&str>, body: &[u8]) -> String {
    hmac_hex(secret, timestamp.map(|t| format!("{t}:")).as_deref(), body)
}

fn hmac_hex(secret: &SecretString, prefix: Option<&str>, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    if let Some(p) = prefix {
        mac.update(p.as_bytes());
    }
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AlertSourceKind;
    use chrono::TimeZone;

    fn source(kind: AlertSourceKind, token: Option<&str>, secret: Option<&str>) -> AlertSource {
        AlertSource {
            name: "s".into(),
            kind,
            token: token.map(|t| SecretString::from(t.to_string())),
            secret: secret.map(|t| SecretString::from(t.to_string())),
            signature_header: "X-Grafana-Alerting-Signature".into(),
            timestamp_header: None,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
    }

    fn headers<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        }
    }

    /// A fixed vector: HMAC-SHA256 of this body under this secret, as
    /// computed independently (`openssl dgst -sha256 -hmac`).
    #[test]
    fn pagerduty_signature_vector() {
        let secret = SecretString::from("ChangeMe-pd-secret".to_string());
        let body =
            br#"{"event":{"id":"01E1NWCQ9Q1C9G4Y6V7T1NZXYZ","event_type":"incident.triggered"}}"#;
        assert_eq!(
            pagerduty_signature(&secret, body),
            "v1=9780db253be60734293053c93d58eec9db3642e10ea5109fff7f88d5679d7082"
        );
    }

    #[test]
    fn pagerduty_takes_any_of_the_rotated_signatures() {
        let s = source(AlertSourceKind::Pagerduty, None, Some("new-secret"));
        let body = b"{}";
        let good = pagerduty_signature(&SecretString::from("new-secret".to_string()), body);
        let old = pagerduty_signature(&SecretString::from("old-secret".to_string()), body);
        let both = format!("{old},{good}");
        assert_eq!(
            verify(
                &s,
                headers(&[("x-pagerduty-signature", &both)]),
                body,
                now()
            ),
            Ok(())
        );
        assert_eq!(
            verify(&s, headers(&[("x-pagerduty-signature", &old)]), body, now()),
            Err(VerifyError::BadSignature(PAGERDUTY_SIGNATURE.into()))
        );
        assert!(matches!(
            verify(&s, headers(&[]), body, now()),
            Err(VerifyError::MissingSignature(_))
        ));
    }

    #[test]
    fn bearer_tokens_and_grafana_signatures() {
        let s = source(AlertSourceKind::Alertmanager, Some("t0ken"), None);
        assert_eq!(
            verify(
                &s,
                headers(&[("Authorization", "Bearer t0ken")]),
                b"x",
                now()
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                &s,
                headers(&[("Authorization", "Bearer t0ke")]),
                b"x",
                now()
            ),
            Err(VerifyError::BadToken)
        );
        assert_eq!(
            verify(
                &s,
                headers(&[("Authorization", "Basic t0ken")]),
                b"x",
                now()
            ),
            Err(VerifyError::MissingToken)
        );
        let mut g = source(AlertSourceKind::Grafana, None, Some("g"));
        let secret = SecretString::from("g".to_string());
        let sig = grafana_signature(&secret, None, b"body");
        assert_eq!(
            verify(
                &g,
                headers(&[("X-Grafana-Alerting-Signature", &sig)]),
                b"body",
                now()
            ),
            Ok(())
        );
        assert!(
            verify(
                &g,
                headers(&[("X-Grafana-Alerting-Signature", &sig)]),
                b"other",
                now()
            )
            .is_err()
        );
        g.timestamp_header = Some("X-Grafana-Alerting-Signature-Timestamp".into());
        let ts = now().timestamp().to_string();
        let sig = grafana_signature(&secret, Some(&ts), b"body");
        let h = [
            ("X-Grafana-Alerting-Signature", sig.as_str()),
            ("X-Grafana-Alerting-Signature-Timestamp", ts.as_str()),
        ];
        assert_eq!(verify(&g, headers(&h), b"body", now()), Ok(()));
        let later = now() + chrono::Duration::minutes(6);
        assert!(matches!(
            verify(&g, headers(&h), b"body", later),
            Err(VerifyError::StaleTimestamp(_))
        ));
    }
}
