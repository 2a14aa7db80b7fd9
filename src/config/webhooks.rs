//! Events out, checked: `[[webhooks]]` (each endpoint's name, URL, secret,
//! also from `WARROOM_WEBHOOKS__<NAME>__SECRET`, event patterns and private
//! flag) and `[pagerduty]` (paging the on-call through the Events API v2).
//! The first problem found is the one reported, naming its key.

use super::{ConfigError, key_error};
use crate::domain::events::EventPattern;
use base64::Engine;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::Deserialize;
use std::fmt;
use std::sync::Arc;

/// The delivery queue's name for PagerDuty paging, which no
/// `[[webhooks]]` endpoint may take.
pub const PAGERDUTY_ENDPOINT: &str = "pagerduty";

/// PagerDuty's Events API v2.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// `[pagerduty]`, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawPagerDuty {
    pub routing_key: Option<SecretString>,
    pub events_url: String,
    pub page_severities: Vec<String>,
}

impl Default for RawPagerDuty {
    fn default() -> Self {
        Self {
            routing_key: None,
            events_url: PAGERDUTY_EVENTS_URL.to_string(),
            page_severities: vec!["SEV1".to_string()],
        }
    }
}

/// Paging the on-call through PagerDuty's Events API v2.
#[derive(Clone, Debug)]
pub struct PagerDutySettings {
    /// An Events API v2 integration key. Never printed.
    pub routing_key: SecretString,
    pub events_url: url::Url,
    /// Declaring at one of these levels, or raising into one, pages.
    pub page_severities: Vec<crate::domain::SeverityName>,
}

/// `[pagerduty]` checked against the severity levels; `None` without a
/// routing key (paging off).
pub(super) fn check_pagerduty(
    raw: RawPagerDuty,
    severities: &crate::domain::SeverityCatalog,
) -> Result<Option<PagerDutySettings>, ConfigError> {
    let Some(routing_key) = raw
        .routing_key
        .filter(|k| !k.expose_secret().trim().is_empty())
    else {
        return Ok(None);
    };
    let events_url = url::Url::parse(raw.events_url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
        .ok_or_else(|| {
            key_error(
                "pagerduty.events_url",
                format!("`{}`: not an http(s) URL with a host", raw.events_url),
            )
        })?;
    let page_severities = raw
        .page_severities
        .iter()
        .map(|s| {
            severities
                .resolve(s)
                .map(|l| l.name.clone())
                .map_err(|e| key_error("pagerduty.page_severities", e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(PagerDutySettings {
        routing_key,
        events_url,
        page_severities,
    }))
}

/// Most `[[webhooks]]`.
const MAX_ENDPOINTS: usize = 20;

/// One `[[webhooks]]`, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub secret: Option<SecretString>,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub include_private: bool,
}

/// A Standard Webhooks signing key: the bytes of a `whsec_…` secret. Never
/// printed.
#[derive(Clone)]
pub struct WebhookSecret(Arc<SecretBox<Vec<u8>>>);

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

/// Why a secret is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BadSecret {
    #[error("not base64 after `whsec_` ({0})")]
    NotBase64(String),
    #[error("{0} bytes long; use 24 to 64 random bytes")]
    Length(usize),
}

impl WebhookSecret {
    /// From `whsec_` and base64 (the prefix is optional, as the Standard
    /// Webhooks libraries accept it).
    pub fn parse(secret: &str) -> Result<Self, BadSecret> {
        let b64 = secret.trim();
        let b64 = b64.strip_prefix("whsec_").unwrap_or(b64);
        let key = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| BadSecret::NotBase64(e.to_string()))?;
        if !(24..=64).contains(&key.len()) {
            return Err(BadSecret::Length(key.len()));
        }
        Ok(Self(Arc::new(SecretBox::new(Box::new(key)))))
    }

    pub fn key(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

/// One endpoint outgoing events are delivered to.
#[derive(Clone, Debug)]
pub struct WebhookEndpoint {
    /// 1 to 64 of a-z, 0-9, - and _: how logs, metrics and `warroom
    /// webhooks test` name it.
    pub name: String,
    pub url: url::Url,
    pub secret: WebhookSecret,
    /// Which event types it gets; never empty (`*` when not given).
    pub events: Vec<EventPattern>,
    /// Private incidents' events in full (else only the number).
    pub include_private: bool,
}

impl WebhookEndpoint {
    pub fn wants(&self, event: crate::domain::events::EventType) -> bool {
        self.events.iter().any(|p| p.matches(event))
    }
}

/// The part of a variable after the name: `SECRET`.
fn variable_name(endpoint: &str) -> String {
    endpoint.to_ascii_uppercase().replace('-', "_")
}

/// Fills each endpoint's `secret` from its variable (which wins over the
/// file), given as the text after `WARROOM_WEBHOOKS__` (`STATUS_PAGE__SECRET`)
/// with its value. A variable naming no endpoint, or another field, is
/// refused.
pub(super) fn endpoint_secrets<'a>(
    webhooks: &mut [RawWebhook],
    vars: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), ConfigError> {
    for (rest, value) in vars {
        let var = format!("WARROOM_WEBHOOKS__{rest}");
        let Some((name, field)) = rest
            .rsplit_once("__")
            .filter(|(_, f)| f.eq_ignore_ascii_case("SECRET"))
        else {
            return Err(key_error(
                &var,
                "not an endpoint's secret: write WARROOM_WEBHOOKS__<NAME>__SECRET",
            ));
        };
        let _ = field;
        let Some(endpoint) = webhooks
            .iter_mut()
            .find(|w| variable_name(&w.name).eq_ignore_ascii_case(name))
        else {
            return Err(key_error(
                &var,
                format!(
                    "naming no [[webhooks]] entry: add one with name = \"{}\" and its url to the file (the variable gives only its secret)",
                    name.to_ascii_lowercase().replace('_', "-")
                ),
            ));
        };
        if !value.trim().is_empty() {
            endpoint.secret = Some(SecretString::from(value.trim().to_string()));
        }
    }
    Ok(())
}

/// `[[webhooks]]` checked.
pub(super) fn check(raw: Vec<RawWebhook>) -> Result<Vec<WebhookEndpoint>, ConfigError> {
    if raw.len() > MAX_ENDPOINTS {
        return Err(key_error(
            "webhooks",
            format!("{} endpoints; at most {MAX_ENDPOINTS}", raw.len()),
        ));
    }
    let mut endpoints: Vec<WebhookEndpoint> = Vec::new();
    for (i, w) in raw.into_iter().enumerate() {
        let key = |field: &str| format!("webhooks[{i}].{field}");
        let name = w.name.trim().to_string();
        if !super::is_slug(&name) {
            return Err(key_error(
                &key("name"),
                format!("`{name}`: an endpoint's name is 1 to 64 of a-z, 0-9, - and _"),
            ));
        }
        if name == PAGERDUTY_ENDPOINT {
            return Err(key_error(
                &key("name"),
                "`pagerduty` is the name of PagerDuty paging ([pagerduty]): give the endpoint another",
            ));
        }
        if endpoints.iter().any(|e| e.name == name) {
            return Err(key_error(
                &key("name"),
                format!("`{name}` twice: give each endpoint its own name"),
            ));
        }
        let url = url::Url::parse(w.url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
            .ok_or_else(|| {
                key_error(
                    &key("url"),
                    format!("`{}`: not an http(s) URL with a host", w.url),
                )
            })?;
        let secret = w.secret.as_ref().ok_or_else(|| {
            key_error(
                &key("secret"),
                format!(
                    "missing: set a `whsec_…` secret in the file or in WARROOM_WEBHOOKS__{}__SECRET (the receiver verifies with the same one)",
                    variable_name(&name)
                ),
            )
        })?;
        let secret = WebhookSecret::parse(secret.expose_secret()).map_err(|e| {
            key_error(
                &key("secret"),
                format!(
                    "{e}: generate one with `openssl rand -base64 32` and prefix it with whsec_"
                ),
            )
        })?;
        let events = if w.events.is_empty() {
            vec![EventPattern::parse("*").map_err(|e| key_error(&key("events"), e.to_string()))?]
        } else {
            w.events
                .iter()
                .map(|p| EventPattern::parse(p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| key_error(&key("events"), e.to_string()))?
        };
        endpoints.push(WebhookEndpoint {
            name,
            url,
            secret,
            events,
            include_private: w.include_private,
        });
    }
    Ok(endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, url: &str, secret: Option<&str>, events: &[&str]) -> RawWebhook {
        RawWebhook {
            name: name.to_string(),
            url: url.to_string(),
            secret: secret.map(|s| SecretString::from(s.to_string())),
            events: events.iter().map(|s| s.to_string()).collect(),
            include_private: false,
        }
    }

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn a_good_endpoint_and_every_refusal_names_its_key() {
        let ok = check(vec![raw(
            "status-page",
            "https://example.com/hook",
            Some(SECRET),
            &[],
        )])
        .unwrap();
        assert_eq!(ok[0].events[0].as_str(), "*");
        assert_eq!(ok[0].secret.key().len(), 24);
        for (bad, key) in [
            (
                raw("Bad Name", "https://x.io", Some(SECRET), &[]),
                "webhooks[0].name",
            ),
            (raw("a", "ftp://x.io", Some(SECRET), &[]), "webhooks[0].url"),
            (raw("a", "https://x.io", None, &[]), "webhooks[0].secret"),
            (
                raw("a", "https://x.io", Some("whsec_!!"), &[]),
                "webhooks[0].secret",
            ),
            (
                raw("a", "https://x.io", Some("whsec_c2hvcnQ="), &[]),
                "webhooks[0].secret",
            ),
            (
                raw("a", "https://x.io", Some(SECRET), &["incidents.*"]),
                "webhooks[0].events",
            ),
        ] {
            let e = check(vec![bad]).err().unwrap().to_string();
            assert!(e.contains(key), "{e}");
        }
        let twice = check(vec![
            raw("a", "https://x.io", Some(SECRET), &[]),
            raw("a", "https://y.io", Some(SECRET), &[]),
        ]);
        assert!(twice.is_err());
    }

    #[test]
    fn the_secret_comes_from_the_environment_too() {
        let mut list = vec![raw("status-page", "https://x.io", None, &[])];
        endpoint_secrets(&mut list, [("STATUS_PAGE__SECRET", SECRET)].into_iter()).unwrap();
        assert!(check(list).is_ok());
        let mut list = vec![raw("a", "https://x.io", None, &[])];
        assert!(endpoint_secrets(&mut list, [("OTHER__SECRET", SECRET)].into_iter()).is_err());
        assert!(endpoint_secrets(&mut list, [("A__URL", "x")].into_iter()).is_err());
        assert!(format!("{:?}", WebhookSecret::parse(SECRET).unwrap()).contains('…'));
    }
}
