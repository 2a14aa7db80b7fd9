use super::*;
use crate::config::AlertSourceKind as Kind;
use chrono::TimeZone;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/alerts/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
}

fn read(kind: Kind, body: &[u8]) -> Result<Option<AlertNotification>, ParseError> {
    parse(kind, body, None, now())
}

#[test]
fn alertmanager_v4_is_read_with_unknown_fields_ignored() {
    let n = read(Kind::Alertmanager, &fixture("alertmanager.json"))
        .unwrap()
        .unwrap();
    assert_eq!(
        n.group_key,
        r#"{}/{severity=~"critical|warning"}:{alertname="CheckoutLatencyHigh"}"#
    );
    assert_eq!(n.status, AlertStatus::Firing);
    assert_eq!(n.alerts.len(), 2);
    let a = &n.alerts[0];
    assert_eq!(a.fingerprint, "5e6a1f0c3b2d4a97");
    assert_eq!(a.starts_at.to_rfc3339(), "2026-11-23T02:51:30.123+00:00");
    assert_eq!(a.ends_at, None, "0001-01-01 is no end");
    assert_eq!(a.links[0].label, "Source");
    assert_eq!(n.labels["severity"], "critical");
    assert_eq!(n.annotations["summary"], "Checkout p99 latency above 2s");
    assert_eq!(n.links[0].url, "http://alertmanager.example.com:9093");
    assert_eq!(n.first_started_at(), Some(a.starts_at));
    assert_eq!(n.route_labels()["instance"], "checkout-1:9100");
}

#[test]
fn grafana_webhook_is_the_same_shape_with_more_links() {
    let n = read(Kind::Grafana, &fixture("grafana.json"))
        .unwrap()
        .unwrap();
    assert_eq!(n.alerts.len(), 1);
    assert_eq!(
        n.title.as_deref(),
        Some("[FIRING:1] DiskFull Storage (db-3 warning)")
    );
    let labels: Vec<&str> = n.alerts[0].links.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(labels, ["Source", "Dashboard", "Panel", "Silence"]);
    assert_eq!(n.alerts[0].labels["host"], "db-3");
}

#[test]
fn resolved_alerts_keep_their_end() {
    let body = String::from_utf8(fixture("alertmanager.json"))
        .unwrap()
        .replace(r#""status": "firing""#, r#""status": "resolved""#)
        .replace(
            r#""endsAt": "0001-01-01T00:00:00Z""#,
            r#""endsAt": "2026-11-23T03:10:00Z""#,
        );
    let n = read(Kind::Alertmanager, body.as_bytes()).unwrap().unwrap();
    assert_eq!(n.status, AlertStatus::Resolved);
    assert!(n.alerts.iter().all(|a| a.status == AlertStatus::Resolved
        && a.ends_at == Some(Utc.with_ymd_and_hms(2026, 11, 23, 3, 10, 0).unwrap())));
}

#[test]
fn pagerduty_incidents_are_one_alert_groups() {
    let t = read(Kind::Pagerduty, &fixture("pagerduty-triggered.json"))
        .unwrap()
        .unwrap();
    assert_eq!(t.group_key, "Q2WCNAUEXAMPLE");
    assert_eq!(t.status, AlertStatus::Firing);
    assert_eq!(t.title.as_deref(), Some("Checkout 5xx ratio above 5%"));
    assert_eq!(t.labels["service"], "Checkout API");
    assert_eq!(t.labels["priority"], "P1");
    assert_eq!(t.labels["urgency"], "high");
    assert_eq!(
        t.alerts[0].starts_at,
        Utc.with_ymd_and_hms(2026, 11, 23, 2, 55, 10).unwrap()
    );
    assert_eq!(
        t.links[0].url,
        "https://acme.pagerduty.com/incidents/Q2WCNAUEXAMPLE"
    );
    let r = read(Kind::Pagerduty, &fixture("pagerduty-resolved.json"))
        .unwrap()
        .unwrap();
    assert_eq!(r.group_key, t.group_key);
    assert_eq!(r.alerts[0].status, AlertStatus::Resolved);
    assert_eq!(
        r.alerts[0].ends_at,
        Some(Utc.with_ymd_and_hms(2026, 11, 23, 3, 20, 45).unwrap())
    );
    let a = read(Kind::Pagerduty, &fixture("pagerduty-acknowledged.json"))
        .unwrap()
        .unwrap();
    assert!(a.alerts.is_empty());
    assert_eq!(
        a.note.as_ref().unwrap().text,
        "PagerDuty: acknowledged by Dana On-call"
    );
    let n = read(Kind::Pagerduty, &fixture("pagerduty-annotated.json"))
        .unwrap()
        .unwrap();
    assert_eq!(n.group_key, "Q2WCNAUEXAMPLE");
    assert_eq!(
        n.note.as_ref().unwrap().text,
        "PagerDuty: annotated by Dana On-call: Rolled back deploy 2026.11.23-1"
    );
    assert_eq!(
        read(Kind::Pagerduty, &fixture("pagerduty-service-updated.json")).unwrap(),
        None
    );
    // Reopened after it resolved: firing again, from then.
    let reopened = String::from_utf8(fixture("pagerduty-resolved.json"))
        .unwrap()
        .replace("incident.resolved", "incident.reopened")
        .replace("2026-11-23T03:20:45Z", "2026-11-23T04:00:00Z");
    let o = read(Kind::Pagerduty, reopened.as_bytes()).unwrap().unwrap();
    assert_eq!(o.alerts[0].status, AlertStatus::Firing);
    assert_eq!(
        o.alerts[0].starts_at,
        Utc.with_ymd_and_hms(2026, 11, 23, 4, 0, 0).unwrap()
    );
    assert_eq!(o.alerts[0].ends_at, None);
    let d = parse(
        Kind::Pagerduty,
        &fixture("pagerduty-triggered.json"),
        Some("wh-1"),
        now(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(d.delivery.as_deref(), Some("wh-1"));
}

#[test]
fn generic_alerts_start_when_they_arrive() {
    let body = br#"{"title": "Backup job failed", "status": "firing", "dedup_key": "backup-nightly", "description": "exit 2", "url": "https://ci.example.com/job/42", "labels": {"team": "storage", "retries": 3}}"#;
    let n = read(Kind::Generic, body).unwrap().unwrap();
    assert_eq!(n.group_key, "backup-nightly");
    assert_eq!(n.alerts[0].starts_at, now());
    assert_eq!(n.labels["retries"], "3");
    assert_eq!(n.annotations["description"], "exit 2");
    assert_eq!(n.links[0].url, "https://ci.example.com/job/42");
    let resolved =
        br#"{"title": "Backup job failed", "status": "resolved", "dedup_key": "backup-nightly"}"#;
    assert_eq!(
        read(Kind::Generic, resolved).unwrap().unwrap().alerts[0].ends_at,
        Some(now())
    );
}

#[test]
fn bad_bodies_get_one_line_reasons() {
    let am = String::from_utf8(fixture("alertmanager.json")).unwrap();
    for (kind, body, says) in [
        (Kind::Alertmanager, "not json".to_string(), "not JSON"),
        (Kind::Alertmanager, "[1]".to_string(), "not a JSON object"),
        (Kind::Alertmanager, am.replace("groupKey", "group"), "`groupKey`"),
        (Kind::Alertmanager, am.replace(r#""startsAt": "2026-11-23T02:52:00Z""#, r#""startsAt": "yesterday""#), "`alerts[1].startsAt`"),
        (Kind::Alertmanager, am.replacen(r#""status": "firing""#, r#""status": "on fire""#, 1), "`status` is `on fire`"),
        (Kind::Grafana, r#"{"groupKey": "k", "status": "firing", "alerts": []}"#.to_string(), "no alerts"),
        (Kind::Generic, r#"{"status": "firing", "dedup_key": "k"}"#.to_string(), "`title`"),
        (Kind::Generic, r#"{"title": "t", "status": "firing"}"#.to_string(), "`dedup_key`"),
        (Kind::Pagerduty, r#"{"messages": []}"#.to_string(), "`event`"),
        (Kind::Pagerduty, r#"{"event": {"event_type": "incident.triggered", "resource_type": "incident", "occurred_at": "2026-11-23T02:55:12Z", "data": {}}}"#.to_string(), "`event.data.id`"),
    ] {
        let e = read(kind, body.as_bytes()).unwrap_err().to_string();
        assert!(e.contains(says), "{says}: {e}");
        assert!(!e.contains('\n'), "{e}");
    }
}

#[test]
fn long_group_and_alert_keys_are_kept_as_digests() {
    let key = "k".repeat(500);
    let body = format!(r#"{{"title": "t", "status": "firing", "dedup_key": "{key}"}}"#);
    let n = read(Kind::Generic, body.as_bytes()).unwrap().unwrap();
    assert!(n.group_key.starts_with("sha256:") && n.group_key.len() == 71);
    // The alert's own key too: it is part of the alerts' primary key.
    assert_eq!(n.alerts[0].fingerprint, n.group_key);
}

#[test]
fn an_alert_named_twice_in_one_notification_counts_once() {
    let body = String::from_utf8(fixture("alertmanager.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let first = json["alerts"][0].clone();
    let mut resolved = first.clone();
    resolved["status"] = "resolved".into();
    resolved["endsAt"] = "2026-11-23T03:10:00Z".into();
    json["alerts"] = serde_json::json!([first, resolved]);
    let n = read(Kind::Alertmanager, json.to_string().as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(n.alerts.len(), 1);
    assert_eq!(n.alerts[0].status, AlertStatus::Resolved, "its last word");
}
