//! The generic shape, for scripts and tools with a webhook action:
//! `{"title", "status": "firing"|"resolved", "dedup_key", "description"?,
//! "url"?, "labels"?}`. One alert per `dedup_key`, started when it first
//! arrived (the shape carries no time).

use super::{AlertNotification, ParseError, labels, link, status, text};
use crate::domain::alerts::{Alert, AlertStatus, Labels};
use chrono::{DateTime, Utc};

pub(super) fn parse(
    json: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<AlertNotification, ParseError> {
    let title =
        text(json, "title").ok_or_else(|| ParseError::Missing("title".into(), "a string"))?;
    let dedup_key = text(json, "dedup_key")
        .ok_or_else(|| ParseError::Missing("dedup_key".into(), "a string"))?;
    let alert_status = status(json, "status", "")?;
    let mut annotations: Labels = [("summary".to_string(), title.to_string())].into();
    if let Some(d) = text(json, "description") {
        annotations.insert("description".into(), d.to_string());
    }
    let links: Vec<_> = link("Source", text(json, "url")).into_iter().collect();
    let alert_labels = labels(json, "labels");
    Ok(AlertNotification {
        group_key: dedup_key.to_string(),
        status: alert_status,
        labels: alert_labels.clone(),
        annotations: annotations.clone(),
        title: Some(title.to_string()),
        links: links.clone(),
        alerts: vec![Alert {
            fingerprint: dedup_key.to_string(),
            status: alert_status,
            labels: alert_labels,
            annotations,
            starts_at: now,
            ends_at: (alert_status == AlertStatus::Resolved).then_some(now),
            links,
        }],
        truncated: 0,
        delivery: None,
        note: None,
    })
}
