//! Alert notifications from monitoring, read into one typed value
//! ([`AlertNotification`]) whatever sent them: Alertmanager's webhook
//! receiver and Grafana's webhook contact point (`alertmanager.rs`, one
//! parser for both), PagerDuty's Webhooks V3 (`pagerduty.rs`), and the
//! generic shape for scripts (`generic.rs`). `verify.rs` checks a source's
//! credentials, before anything reads the body. Every shape is read
//! leniently: unknown fields are ignored; only what the bot needs is
//! required, and its absence is a one-line reason (answered 400).

mod alertmanager;
mod generic;
mod pagerduty;
pub mod verify;

use crate::config::AlertSourceKind;
use crate::domain::alerts::{Alert, AlertStatus, Labels, Link};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// One notification, as the bot reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertNotification {
    /// Which group of the source it is about: Alertmanager's `groupKey`,
    /// PagerDuty's incident id, the generic `dedup_key`.
    pub group_key: String,
    /// The notification's own status (the group's).
    pub status: AlertStatus,
    /// The labels the group's alerts share (`groupLabels` and
    /// `commonLabels`), for routing and the title.
    pub labels: Labels,
    pub annotations: Labels,
    /// What the source calls it (Grafana's `title`, PagerDuty's incident
    /// title, the generic `title`).
    pub title: Option<String>,
    /// Links about the whole group (Alertmanager's UI, the incident at
    /// PagerDuty, the generic `url`).
    pub links: Vec<Link>,
    pub alerts: Vec<Alert>,
    /// Alerts the source left out (`truncatedAlerts`).
    pub truncated: u64,
    /// The delivery's own id, when the source redelivers under one
    /// (PagerDuty's `X-Webhook-Id`): acted on once.
    pub delivery: Option<String>,
    /// Something that happened to the group that is neither a firing nor
    /// a resolution (a PagerDuty acknowledgement): a timeline line for a
    /// linked incident.
    pub note: Option<Note>,
}

/// A timeline line about a group, with when it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub at: DateTime<Utc>,
    pub text: String,
}

impl AlertNotification {
    /// The labels a route matches: the shared ones, with the first
    /// alert's for whatever they do not say.
    pub fn route_labels(&self) -> Labels {
        let mut labels = self
            .alerts
            .first()
            .map(|a| a.labels.clone())
            .unwrap_or_default();
        labels.extend(self.labels.clone());
        labels
    }

    /// The earliest start among its alerts.
    pub fn first_started_at(&self) -> Option<DateTime<Utc>> {
        self.alerts.iter().map(|a| a.starts_at).min()
    }
}

/// Why a body could not be read: one line, answered 400.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the body is not a JSON object")]
    NotObject,
    #[error("`{0}` is missing or not {1}")]
    Missing(String, &'static str),
    #[error("`{field}` is not an RFC 3339 time: `{value}`")]
    Time { field: String, value: String },
    #[error("`{field}` is `{value}`: use firing or resolved")]
    Status { field: String, value: String },
    #[error("{0} has no alerts")]
    Empty(&'static str),
}

/// Reads `body` as `kind` sends it; `delivery` is the request's
/// `X-Webhook-Id`, `now` the time for a shape that carries none.
pub fn parse(
    kind: AlertSourceKind,
    body: &[u8],
    delivery: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<AlertNotification>, ParseError> {
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    if !json.is_object() {
        return Err(ParseError::NotObject);
    }
    let mut parsed = match kind {
        AlertSourceKind::Alertmanager | AlertSourceKind::Grafana => {
            Some(alertmanager::parse(&json)?)
        }
        AlertSourceKind::Pagerduty => pagerduty::parse(&json)?,
        AlertSourceKind::Generic => Some(generic::parse(&json, now)?),
    };
    if let Some(n) = &mut parsed {
        n.group_key = stored_key(&n.group_key);
        // A sender's alert ids are keys too (a generic `dedup_key` may be
        // as long as it likes).
        for alert in &mut n.alerts {
            alert.fingerprint = stored_key(&alert.fingerprint);
        }
        // An alert named twice in one notification counts once: its last
        // word.
        let mut seen = std::collections::HashSet::new();
        n.alerts.reverse();
        n.alerts.retain(|a| seen.insert(a.fingerprint.clone()));
        n.alerts.reverse();
        n.delivery = delivery
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(stored_key);
    }
    Ok(parsed)
}

/// Keys longer than this are kept as their SHA-256 (an index entry stays
/// small; Alertmanager's group keys grow with the route's matchers).
const MAX_KEY: usize = 200;

fn stored_key(key: &str) -> String {
    if key.len() <= MAX_KEY {
        key.to_string()
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(key.as_bytes())))
    }
}

// Lenient readers shared by the parsers.

fn text<'a>(v: &'a serde_json::Value, field: &str) -> Option<&'a str> {
    v.get(field)
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A JSON object of strings (labels, annotations); other values are shown
/// as JSON, absent or oddly shaped is empty.
fn labels(v: &serde_json::Value, field: &str) -> Labels {
    v.get(field)
        .and_then(serde_json::Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let value = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn time(
    v: &serde_json::Value,
    field: &str,
    path: &str,
) -> Result<Option<DateTime<Utc>>, ParseError> {
    let Some(value) = text(v, field) else {
        return Ok(None);
    };
    let t = DateTime::parse_from_rfc3339(value)
        .map_err(|_| ParseError::Time {
            field: format!("{path}{field}"),
            value: value.chars().take(40).collect(),
        })?
        .with_timezone(&Utc);
    // Alertmanager's "no end yet".
    Ok((t.timestamp() > 0).then_some(t))
}

fn status(v: &serde_json::Value, field: &str, path: &str) -> Result<AlertStatus, ParseError> {
    let value =
        text(v, field).ok_or_else(|| ParseError::Missing(format!("{path}{field}"), "a string"))?;
    AlertStatus::parse(value).ok_or_else(|| ParseError::Status {
        field: format!("{path}{field}"),
        value: value.chars().take(40).collect(),
    })
}

fn link(label: &str, url: Option<&str>) -> Option<Link> {
    let url = url?;
    (url.starts_with("https://") || url.starts_with("http://")).then(|| Link {
        label: label.to_string(),
        url: url.to_string(),
    })
}

#[cfg(test)]
mod tests;
