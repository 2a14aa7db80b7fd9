//! PagerDuty's Webhooks V3: `{"event": {id, event_type, resource_type,
//! occurred_at, agent, data}}`. An incident is one alert group of one
//! alert (its id is the group key): `incident.triggered` fires it,
//! `incident.resolved` resolves it, and every other incident event
//! (acknowledged, annotated, escalated, …) is a note for the timeline of a
//! linked incident. Events about other resources are not alerts (`None`).

use super::{AlertNotification, Note, ParseError, link, text, time};
use crate::domain::alerts::{Alert, AlertStatus, Labels};

pub(super) fn parse(json: &serde_json::Value) -> Result<Option<AlertNotification>, ParseError> {
    let event = json
        .get("event")
        .filter(|e| e.is_object())
        .ok_or_else(|| ParseError::Missing("event".into(), "an object"))?;
    let event_type = text(event, "event_type")
        .ok_or_else(|| ParseError::Missing("event.event_type".into(), "a string"))?;
    let resource = text(event, "resource_type").unwrap_or_default();
    if resource != "incident" || !event_type.starts_with("incident.") {
        return Ok(None);
    }
    let data = event
        .get("data")
        .filter(|d| d.is_object())
        .ok_or_else(|| ParseError::Missing("event.data".into(), "an object"))?;
    // Most incident events carry the incident itself; notes, status
    // updates and responders carry it under `incident`.
    let incident = data
        .get("incident")
        .filter(|i| i.is_object())
        .unwrap_or(data);
    let id = text(incident, "id")
        .ok_or_else(|| ParseError::Missing("event.data.id".into(), "a string"))?;
    let occurred_at = time(event, "occurred_at", "event.")?
        .ok_or_else(|| ParseError::Missing("event.occurred_at".into(), "an RFC 3339 time"))?;
    let title = text(incident, "title").or_else(|| text(incident, "summary"));
    let mut labels = Labels::new();
    let summary =
        |v: Option<&serde_json::Value>| v.and_then(|v| text(v, "summary")).map(str::to_string);
    if let Some(service) = summary(incident.get("service")) {
        labels.insert("service".into(), service);
    }
    if let Some(priority) = summary(incident.get("priority")) {
        labels.insert("priority".into(), priority);
    }
    if let Some(urgency) = text(incident, "urgency") {
        labels.insert("urgency".into(), urgency.to_string());
    }
    if let Some(n) = incident.get("number").and_then(serde_json::Value::as_i64) {
        labels.insert("pagerduty_incident".into(), n.to_string());
    }
    let mut annotations = Labels::new();
    if let Some(t) = title {
        annotations.insert("summary".into(), t.to_string());
    }
    let links: Vec<_> = link("PagerDuty", text(incident, "html_url"))
        .into_iter()
        .collect();
    let status = match event_type {
        "incident.triggered" | "incident.reopened" => Some(AlertStatus::Firing),
        "incident.resolved" => Some(AlertStatus::Resolved),
        _ => None,
    };
    let agent = event
        .get("agent")
        .and_then(|a| text(a, "summary"))
        .map(|who| format!(" by {who}"))
        .unwrap_or_default();
    let what = event_type
        .trim_start_matches("incident.")
        .replace(['_', '.'], " ");
    let note = match status {
        Some(_) => None,
        None => Some(Note {
            at: occurred_at,
            text: format!(
                "PagerDuty: {what}{agent}{}",
                text(data, "content")
                    .or_else(|| text(data, "message"))
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default()
            ),
        }),
    };
    let alert_status = status.unwrap_or(AlertStatus::Firing);
    // Reopened: firing again from now (a start after its last end).
    let starts_at = match event_type {
        "incident.reopened" => occurred_at,
        _ => time(incident, "created_at", "event.data.")?.unwrap_or(occurred_at),
    };
    Ok(Some(AlertNotification {
        group_key: id.to_string(),
        status: alert_status,
        labels: labels.clone(),
        annotations: annotations.clone(),
        title: title.map(str::to_string),
        links: links.clone(),
        // An event that only goes on the timeline changes no alert.
        alerts: match status {
            None => vec![],
            Some(s) => vec![Alert {
                fingerprint: id.to_string(),
                status: s,
                labels,
                annotations,
                starts_at,
                ends_at: (s == AlertStatus::Resolved).then_some(occurred_at),
                links,
            }],
        },
        truncated: 0,
        delivery: None,
        note,
    }))
}
