//! Paging the on-call through PagerDuty's Events API v2, as one more
//! delivery queue (`pagerduty`) fed by the event log: declaring at a paging
//! severity (`pagerduty.page_severities`), raising into one, or Page
//! on-call sends a `trigger`; closing an incident that paged sends a
//! `resolve`. The `dedup_key` is stable per incident, so PagerDuty keeps
//! one incident however often it is triggered. An incident opened by a
//! PagerDuty alert is never paged again by itself (PagerDuty already paged
//! for it). A private incident pages with its number and severity only.

use super::{Answer, HttpClient, judge, post, retry_or_fail};
use crate::app::Ctx;
use crate::config::{AlertSourceKind, PagerDutySettings};
use crate::domain::events::{Event, EventType};
use crate::domain::{EntryKind, IncidentNumber, NewEntry, SeverityName};
use crate::record::{IncidentRecord, Viewer};
use crate::store::{Delivery, DeliveryOutcome, Effects, StoreError};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// The events the `pagerduty` queue takes.
pub const EVENTS: [EventType; 4] = [
    EventType::IncidentDeclared,
    EventType::SeverityChanged,
    EventType::Paged,
    EventType::Closed,
];

/// What one event asks of PagerDuty.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    /// Page; `auto`: because of the severity (not the button).
    Trigger {
        auto: bool,
    },
    Resolve,
    Nothing,
}

/// What an incident's log says about paging it.
struct Paging {
    /// Opened by (or linked to) a PagerDuty alert: PagerDuty paged already.
    from_pagerduty: bool,
    /// Paged before this event, automatically or on request.
    paged_before: bool,
}

fn pages(pd: &PagerDutySettings, severity: &SeverityName) -> bool {
    pd.page_severities.contains(severity)
}

fn decide(
    pd: &PagerDutySettings,
    event: &Event,
    initial: &SeverityName,
    paging: &Paging,
) -> Action {
    let to = |k: &str| event.data[k].as_str().map(SeverityName::new);
    match event.kind {
        EventType::Paged => Action::Trigger { auto: false },
        // Closing resolves whatever warroom may have triggered, however the
        // incident began (a resolve PagerDuty never saw a trigger for does
        // nothing there).
        EventType::Closed if paging.paged_before => Action::Resolve,
        _ if paging.from_pagerduty => Action::Nothing,
        EventType::IncidentDeclared if pages(pd, initial) => Action::Trigger { auto: true },
        EventType::SeverityChanged => match (to("from"), to("to")) {
            (Some(from), Some(to)) if pages(pd, &to) && !pages(pd, &from) => {
                Action::Trigger { auto: true }
            }
            _ => Action::Nothing,
        },
        EventType::Closed if paging.paged_before => Action::Resolve,
        _ => Action::Nothing,
    }
}

/// One attempt of `delivery` to PagerDuty.
pub(super) async fn attempt(
    ctx: &Ctx,
    client: &HttpClient,
    pd: &PagerDutySettings,
    delivery: &Delivery,
) -> DeliveryOutcome {
    match prepare(ctx, pd, &delivery.event).await {
        Err(e) => retry_or_fail(ctx, delivery, None, format!("reading the incident: {e}")),
        Ok(None) => DeliveryOutcome::Skipped,
        Ok(Some((body, auto, record))) => {
            let answer: Result<Answer, String> =
                post(client, &pd.events_url, &[], body.to_string()).await;
            let outcome = judge(ctx, delivery, answer);
            if auto
                && matches!(outcome, DeliveryOutcome::Delivered { .. })
                && let Err(e) = say_paged(ctx, &record).await
            {
                tracing::warn!(error = %e, "paged, but could not note it on the timeline");
            }
            outcome
        }
    }
}

/// The Events API body for `event`, whether it pages by itself, and the
/// incident; `None`: nothing to send.
async fn prepare(
    ctx: &Ctx,
    pd: &PagerDutySettings,
    event: &Event,
) -> Result<Option<(Value, bool, IncidentRecord)>, StoreError> {
    let Some(number) = event.incident else {
        return Ok(None);
    };
    let Some(record) =
        IncidentRecord::load(ctx.store.as_ref(), number, &Viewer::Everything).await?
    else {
        return Ok(None);
    };
    let log = ctx.store.events(number).await?;
    let initial = record
        .severity_history
        .first()
        .map(|c| c.from.clone())
        .unwrap_or_else(|| record.severity.clone());
    let earlier = log.iter().filter(|e| e.seq < event.seq);
    let paging = Paging {
        from_pagerduty: log.iter().any(|e| {
            e.kind == EventType::AlertLinked
                && ctx.settings.alerts.sources.iter().any(|s| {
                    s.kind == AlertSourceKind::Pagerduty
                        && e.data["source"].as_str() == Some(s.name.as_str())
                })
        }),
        paged_before: pages(pd, &initial)
            || earlier.clone().any(|e| {
                e.kind == EventType::Paged
                    || (e.kind == EventType::SeverityChanged
                        && e.data["to"]
                            .as_str()
                            .is_some_and(|s| pages(pd, &SeverityName::new(s))))
            }),
    };
    let key = dedup_key(number);
    let routing_key = pd.routing_key.expose_secret();
    let body = match decide(pd, event, &initial, &paging) {
        Action::Nothing => return Ok(None),
        Action::Resolve => json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": key,
        }),
        Action::Trigger { auto } => {
            let mut links = Vec::new();
            if let Some(room) = &record.war_room {
                let name = room
                    .name
                    .clone()
                    .unwrap_or_else(|| "the war room".to_string());
                links.push(json!({ "href": room.permalink, "text": format!("War room #{name}") }));
            }
            let body = json!({
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": key,
                "client": "warroom",
                "client_url": record.war_room.as_ref().map(|r| r.permalink.clone()),
                "links": links,
                "payload": {
                    "summary": summary(&record),
                    "severity": pd_severity(ctx, &record.severity),
                    "source": "warroom",
                    "component": record.reference,
                    "custom_details": {
                        "incident": record.reference,
                        "severity": record.severity,
                        "status": record.status,
                        // A private incident's words stay in its war room.
                        "summary": if record.private { Value::Null } else { json!(record.summary) },
                        "paged_by": if auto { Value::Null } else { json!(event.actor) },
                    },
                },
            });
            return Ok(Some((body, auto, record)));
        }
    };
    Ok(Some((body, false, record)))
}

/// PagerDuty's dedup key for an incident: one PagerDuty incident per
/// warroom incident.
fn dedup_key(number: IncidentNumber) -> String {
    format!("warroom-incident-{number}")
}

/// PagerDuty allows 1,024 characters. A private incident's title stays in
/// its war room.
fn summary(record: &IncidentRecord) -> String {
    let text = if record.private {
        format!(
            "{} {}: a private incident",
            record.reference, record.severity
        )
    } else {
        format!("{} {}: {}", record.reference, record.severity, record.title)
    };
    text.chars().take(1024).collect()
}

/// The most severe level is `critical`, the next `error`, the rest
/// `warning`.
fn pd_severity(ctx: &Ctx, severity: &SeverityName) -> &'static str {
    match ctx
        .settings
        .severities
        .iter()
        .position(|l| &l.name == severity)
    {
        Some(0) => "critical",
        Some(1) => "error",
        _ => "warning",
    }
}

/// The war room and the timeline say the on-call was paged by itself.
async fn say_paged(ctx: &Ctx, record: &IncidentRecord) -> Result<(), crate::store::ChangeError> {
    let now = ctx.clock.now();
    ctx.store
        .add_effects(
            record.number,
            now,
            Effects {
                timeline: vec![NewEntry {
                    occurred_at: now,
                    kind: EntryKind::Note,
                    author: None,
                    text: format!("Paged the on-call through PagerDuty ({})", record.severity),
                }],
                jobs: vec![crate::queue::Job::PostPaged { by: None }],
                ..Effects::default()
            },
        )
        .await?;
    ctx.state_changed();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn pd() -> PagerDutySettings {
        PagerDutySettings {
            routing_key: "R0UT1NGKEY".to_string().into(),
            events_url: url::Url::parse("http://127.0.0.1/v2/enqueue").unwrap(),
            page_severities: vec![SeverityName::new("SEV1")],
        }
    }

    fn event(kind: EventType, data: Value) -> Event {
        Event {
            seq: 5,
            id: "evt_1".into(),
            incident: Some(IncidentNumber::new(1)),
            kind,
            occurred_at: Utc::now(),
            actor: None,
            data,
        }
    }

    #[test]
    fn what_pages_and_what_resolves() {
        let fresh = Paging {
            from_pagerduty: false,
            paged_before: false,
        };
        let paged = Paging {
            from_pagerduty: false,
            paged_before: true,
        };
        let from_pd = Paging {
            from_pagerduty: true,
            paged_before: true,
        };
        let (sev1, sev2) = (SeverityName::new("SEV1"), SeverityName::new("SEV2"));
        let declared = event(EventType::IncidentDeclared, json!({}));
        assert_eq!(
            decide(&pd(), &declared, &sev1, &fresh),
            Action::Trigger { auto: true }
        );
        assert_eq!(decide(&pd(), &declared, &sev2, &fresh), Action::Nothing);
        assert_eq!(decide(&pd(), &declared, &sev1, &from_pd), Action::Nothing);
        let raised = event(
            EventType::SeverityChanged,
            json!({"from": "SEV2", "to": "SEV1"}),
        );
        assert_eq!(
            decide(&pd(), &raised, &sev2, &fresh),
            Action::Trigger { auto: true }
        );
        let lowered = event(
            EventType::SeverityChanged,
            json!({"from": "SEV1", "to": "SEV2"}),
        );
        assert_eq!(decide(&pd(), &lowered, &sev1, &paged), Action::Nothing);
        let closed = event(EventType::Closed, json!({}));
        assert_eq!(decide(&pd(), &closed, &sev1, &paged), Action::Resolve);
        assert_eq!(decide(&pd(), &closed, &sev2, &fresh), Action::Nothing);
        assert_eq!(
            decide(&pd(), &closed, &sev1, &from_pd),
            Action::Resolve,
            "a page on request, or one before the alert was linked, is resolved too"
        );
        let button = event(EventType::Paged, json!({}));
        assert_eq!(
            decide(&pd(), &button, &sev2, &from_pd),
            Action::Trigger { auto: false }
        );
    }
}
