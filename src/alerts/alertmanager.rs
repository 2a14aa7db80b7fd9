//! Alertmanager's webhook receiver body (`version` "4") and Grafana
//! alerting's webhook contact point (`version` "1", the same shape with
//! `orgId`, `title`, `state`, `message` and, per alert, `silenceURL`,
//! `dashboardURL`, `panelURL`, `values`). Fields neither needs, and any a
//! newer version adds (`notification_reason`, `routeLabels`), are ignored.

use super::{AlertNotification, ParseError, labels, link, status, text, time};
use crate::domain::alerts::{Alert, AlertStatus, Link, fingerprint_of};

pub(super) fn parse(json: &serde_json::Value) -> Result<AlertNotification, ParseError> {
    let group_key = text(json, "groupKey")
        .ok_or_else(|| ParseError::Missing("groupKey".into(), "a string"))?
        .to_string();
    let group_status = status(json, "status", "")?;
    let raw_alerts = json
        .get("alerts")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| ParseError::Missing("alerts".into(), "an array"))?;
    if raw_alerts.is_empty() {
        return Err(ParseError::Empty("the notification"));
    }
    let mut alerts = Vec::with_capacity(raw_alerts.len());
    for (i, a) in raw_alerts.iter().enumerate() {
        let path = format!("alerts[{i}].");
        let alert_status = status(a, "status", &path)?;
        let alert_labels = labels(a, "labels");
        let starts_at = time(a, "startsAt", &path)?
            .ok_or_else(|| ParseError::Missing(format!("{path}startsAt"), "an RFC 3339 time"))?;
        let ends_at = match alert_status {
            AlertStatus::Resolved => time(a, "endsAt", &path)?,
            // A firing alert's endsAt is when it expires unless repeated.
            AlertStatus::Firing => None,
        };
        let links: Vec<Link> = [
            ("Source", text(a, "generatorURL")),
            ("Dashboard", text(a, "dashboardURL")),
            ("Panel", text(a, "panelURL")),
            ("Silence", text(a, "silenceURL")),
        ]
        .into_iter()
        .filter_map(|(label, url)| link(label, url))
        .collect();
        alerts.push(Alert {
            fingerprint: text(a, "fingerprint")
                .map(str::to_string)
                .unwrap_or_else(|| fingerprint_of(&alert_labels)),
            status: alert_status,
            annotations: labels(a, "annotations"),
            labels: alert_labels,
            starts_at,
            ends_at,
            links,
        });
    }
    let mut shared = labels(json, "groupLabels");
    shared.extend(labels(json, "commonLabels"));
    Ok(AlertNotification {
        group_key,
        status: group_status,
        labels: shared,
        annotations: labels(json, "commonAnnotations"),
        title: text(json, "title").map(str::to_string),
        links: link("Alertmanager", text(json, "externalURL"))
            .into_iter()
            .collect(),
        alerts,
        truncated: json
            .get("truncatedAlerts")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0),
        delivery: None,
        note: None,
    })
}
