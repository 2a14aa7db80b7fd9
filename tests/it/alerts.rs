//! Alerts in (issue 22): notifications from Alertmanager, Grafana,
//! PagerDuty and scripts, posted to `/hooks/alerts/{name}` of the real
//! server, become war rooms or cards exactly once per alert group, and
//! their changes land on the timeline. The real Alertmanager's tests are in
//! `alertmanager.rs`; the kill -9 test in `crash.rs`.

use crate::fake_slack::FakeSlack;
use crate::helpers::{
    DECLARER, DeclareInput, SlackEventually, TestApp, click_payload, declare_submission,
    eventually, start_time,
};
use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use warroom::alerts::verify::{grafana_signature, pagerduty_signature};

pub const ANNOUNCE: &str = "CINCIDENTS";
pub const AM_TOKEN: &str = "am-token-0123";

/// Sources of every kind and two routes: critical alerts declare (SEV1 by
/// their `severity` label, titled by a template), staging is ignored, the
/// rest gets a card.
pub const TOML: &str = r#"
announce_channel = "CINCIDENTS"

[alerts]
notify = "<!subteam^S0ONCALL>"

[[alerts.sources]]
name = "am"
kind = "alertmanager"
token = "am-token-0123"

[[alerts.sources]]
name = "grafana"
kind = "grafana"
secret = "grafana-secret"

[[alerts.sources]]
name = "grafana-ts"
kind = "grafana"
secret = "grafana-secret"
timestamp_header = "X-Grafana-Alerting-Signature-Timestamp"

[[alerts.sources]]
name = "grafana-token"
kind = "grafana"
token = "grafana-token"

[[alerts.sources]]
name = "pd"
kind = "pagerduty"
secret = "pd-secret-new"

[[alerts.sources]]
name = "script"
kind = "generic"
token = "script-token"

[[alerts.routes]]
matchers = ['severity="critical"']
action = "declare"
severity_label = "severity"
severity_map = { critical = "SEV1", warning = "SEV3" }
title = "{{ labels.alertname }} on {{ labels.service }}"

[[alerts.routes]]
matchers = ['env="staging"']
action = "ignore"
"#;

pub async fn app() -> TestApp {
    app_with(TOML).await
}

pub async fn app_with(toml: &'static str) -> TestApp {
    TestApp::spawn(crate::helpers::Setup {
        toml,
        ..Default::default()
    })
    .await
}

/// One alert of a notification.
#[derive(Clone)]
pub struct A {
    pub name: &'static str,
    pub fingerprint: String,
    pub instance: String,
    pub severity: &'static str,
    pub starts: DateTime<Utc>,
    pub ends: Option<DateTime<Utc>>,
}

pub fn alert(name: &'static str, n: usize, severity: &'static str, starts: DateTime<Utc>) -> A {
    A {
        name,
        fingerprint: format!("{name}-{n:04}"),
        instance: format!("node-{n}:9100"),
        severity,
        starts,
        ends: None,
    }
}

impl A {
    pub fn resolved_at(mut self, at: DateTime<Utc>) -> A {
        self.ends = Some(at);
        self
    }
}

/// An Alertmanager v4 notification of group `key`.
pub fn am_body(key: &str, alerts: &[A]) -> String {
    let firing = alerts.iter().any(|a| a.ends.is_none());
    let items: Vec<Value> = alerts
        .iter()
        .map(|a| {
            json!({
                "status": if a.ends.is_some() { "resolved" } else { "firing" },
                "labels": {"alertname": a.name, "severity": a.severity, "service": "checkout", "instance": a.instance},
                "annotations": {"summary": format!("{} is high", a.name)},
                "startsAt": a.starts.to_rfc3339(),
                "endsAt": a.ends.map(|e| e.to_rfc3339()).unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
                "generatorURL": "http://prometheus.example.com/graph?g0.expr=up",
                "fingerprint": a.fingerprint,
            })
        })
        .collect();
    let first = alerts
        .first()
        .map(|a| (a.name, a.severity))
        .unwrap_or(("X", "info"));
    json!({
        "receiver": "warroom", "status": if firing { "firing" } else { "resolved" },
        "alerts": items,
        "groupLabels": {"alertname": first.0},
        "commonLabels": {"alertname": first.0, "severity": first.1, "service": "checkout"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.com:9093",
        "version": "4", "groupKey": key, "truncatedAlerts": 0
    })
    .to_string()
}

pub fn bearer(token: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {token}"))]
}

/// Posts `body` to `/hooks/alerts/{source}` with `headers`.
pub async fn post(
    app: &TestApp,
    source: &str,
    headers: &[(&str, String)],
    body: String,
) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url(&format!("/hooks/alerts/{source}")))
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    req.body(body).send().await.unwrap()
}

/// Posts an Alertmanager notification with the right token; asserts 200.
pub async fn fire(app: &TestApp, key: &str, alerts: &[A]) -> Value {
    let res = post(app, "am", &bearer(AM_TOKEN), am_body(key, alerts)).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// A notification of `tests/fixtures/alerts/`.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/alerts/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn minutes_ago(m: i64) -> DateTime<Utc> {
    start_time() - Duration::minutes(m)
}

fn text_of(m: &Value) -> String {
    m.to_string()
}

/// The cards (and their edits) in the announce channel.
fn cards(slack: &FakeSlack) -> Vec<crate::fake_slack::Message> {
    slack
        .messages_in(ANNOUNCE)
        .into_iter()
        .filter(|m| text_of(&m.body).contains("alert-head"))
        .collect()
}

async fn timeline(app: &TestApp, number: i64) -> Vec<(DateTime<Utc>, String)> {
    app.ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(number))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == warroom::domain::EntryKind::Alert)
        .map(|e| (e.occurred_at, e.text))
        .collect()
}

#[tokio::test]
async fn a_critical_alert_declares_one_war_room_whatever_the_repeats() {
    let app = app().await;
    let first = alert("CheckoutLatencyHigh", 1, "critical", minutes_ago(7));
    let answer = fire(
        &app,
        "{}:{alertname=\"CheckoutLatencyHigh\"}",
        std::slice::from_ref(&first),
    )
    .await;
    assert_eq!(answer["outcome"], "declared", "{answer}");
    // Alertmanager's repeat, its retry, and the HA peer's copy.
    for _ in 0..3 {
        let again = fire(
            &app,
            "{}:{alertname=\"CheckoutLatencyHigh\"}",
            std::slice::from_ref(&first),
        )
        .await;
        assert_eq!(again["outcome"], "updated");
        assert_eq!(again["changes"], 0);
    }
    let room = app.wait_room(1).await;
    app.idle().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 1);
    let incident = app.incident(1).await;
    assert_eq!(incident.severity.as_str(), "SEV1", "mapped from the label");
    assert_eq!(
        incident.title, "CheckoutLatencyHigh on checkout",
        "the route's template"
    );
    assert_eq!(incident.declared_by.as_str(), crate::fake_slack::BOT_USER);
    assert_eq!(
        incident.detected_at,
        Some(first.starts),
        "the earliest startsAt"
    );
    // The event log says which group fed it, once.
    let linked: Vec<_> = app
        .ctx
        .store
        .events(incident.number)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == warroom::domain::events::EventType::AlertLinked)
        .collect();
    assert_eq!(linked.len(), 1, "{linked:?}");
    assert_eq!(linked[0].data["source"], "am");
    // The war room: the card with the alert's links and who to page.
    let posts = app.slack.messages_in(&room);
    let card = posts
        .iter()
        .find(|m| text_of(&m.body).contains("alert-head"))
        .expect("the alert's card in the war room");
    assert!(
        text_of(&card.body).contains("<!subteam^S0ONCALL>"),
        "a real mention"
    );
    assert!(
        !text_of(&card.body).contains("alerts.declare"),
        "no buttons in the war room"
    );
    let board = posts
        .iter()
        .find(|m| text_of(&m.body).contains("board-head"))
        .expect("the role board");
    assert!(
        text_of(&board.body).contains("prometheus.example.com"),
        "links on the board"
    );
    // The alert is on the timeline at its own time; no card elsewhere.
    assert_eq!(timeline(&app, 1).await.len(), 1);
    assert_eq!(timeline(&app, 1).await[0].0, first.starts);
    assert!(cards(&app.slack).is_empty());
    assert!(
        app.metrics()
            .await
            .contains("warroom_alerts_received_total{source=\"am\",status=\"firing\"} 4")
    );
    assert!(app.metrics().await.contains("warroom_alert_groups_open 1"));
}

#[tokio::test]
async fn alerts_joining_and_resolving_go_on_the_timeline_then_mark_mitigated() {
    let app = app().await;
    let key = "{}:{alertname=\"Errors\"}";
    let a = alert("Errors", 1, "critical", minutes_ago(10));
    let b = alert("Errors", 2, "critical", minutes_ago(4));
    fire(&app, key, std::slice::from_ref(&a)).await;
    let room = app.wait_room(1).await;
    let joined = fire(&app, key, &[a.clone(), b.clone()]).await;
    assert_eq!(joined["changes"], 1);
    // One resolves: a line at its end; nothing yet for the room.
    let a_end = minutes_ago(1);
    fire(&app, key, &[a.clone().resolved_at(a_end), b.clone()]).await;
    app.idle().await;
    let resolved_msg = |s: &FakeSlack| {
        s.messages_in(&room)
            .iter()
            .filter(|m| text_of(&m.body).contains("alerts.mitigated"))
            .count()
    };
    assert_eq!(resolved_msg(&app.slack), 0);
    // The other resolves: one message with Mark mitigated, once.
    let b_end = start_time();
    for _ in 0..2 {
        fire(
            &app,
            key,
            &[a.clone().resolved_at(a_end), b.clone().resolved_at(b_end)],
        )
        .await;
    }
    app.idle().await;
    let times: Vec<DateTime<Utc>> = timeline(&app, 1)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        times,
        vec![a.starts, b.starts, a_end, b_end],
        "each change at its own time, once"
    );
    assert_eq!(resolved_msg(&app.slack), 1);
    assert_eq!(
        app.incident(1).await.status,
        warroom::domain::Status::Investigating,
        "never automatic"
    );
    // Mark mitigated: the same change as /incident status mitigated.
    let res = app.click("UBOB", &room, "alerts.mitigated", "1").await;
    assert_eq!(res.status(), 200);
    app.idle().await;
    assert_eq!(
        app.incident(1).await.status,
        warroom::domain::Status::Mitigated
    );
    assert!(app.incident(1).await.mitigated_at.is_some());
}

#[tokio::test]
async fn an_alert_no_route_declares_gets_one_card_edited_in_place() {
    let app = app().await;
    let key = "{}:{alertname=\"DiskFilling\"}";
    let a = alert("DiskFilling", 1, "warning", minutes_ago(3));
    let answer = fire(&app, key, std::slice::from_ref(&a)).await;
    assert_eq!(answer["outcome"], "suggested");
    fire(&app, key, std::slice::from_ref(&a)).await;
    app.idle().await;
    let posted = cards(&app.slack);
    assert_eq!(posted.len(), 1, "one card");
    let body = text_of(&posted[0].body);
    for part in [
        "DiskFilling is high",
        "alerts.declare",
        "alerts.dismiss",
        "<!subteam^S0ONCALL>",
        "prometheus.example.com",
        "1 firing",
    ] {
        assert!(body.contains(part), "{part} in {body}");
    }
    assert!(!body.contains("alerts.attach"), "nothing open to attach to");
    // Another alert joins: the same card, edited.
    fire(
        &app,
        key,
        &[
            a.clone(),
            alert("DiskFilling", 2, "warning", minutes_ago(1)),
        ],
    )
    .await;
    app.idle().await;
    let posted = cards(&app.slack);
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].edits, 1);
    assert!(text_of(&posted[0].body).contains("2 firing"));
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 0);
    // Staging is ignored: nothing recorded.
    let mut staging: Value =
        serde_json::from_str(&am_body("staging", std::slice::from_ref(&a))).unwrap();
    staging["commonLabels"]["env"] = json!("staging");
    let res = post(&app, "am", &bearer(AM_TOKEN), staging.to_string()).await;
    assert_eq!(res.json::<Value>().await.unwrap()["outcome"], "ignored");
    assert_eq!(app.count("SELECT COUNT(*) FROM alert_groups").await, 1);
}

/// The `block_actions` of a static select on a card.
pub fn pick(user: &str, channel: &str, action_id: &str, value: &str) -> Value {
    let mut p = click_payload(user, channel, action_id, "");
    p["actions"][0] = json!({
        "type": "static_select", "action_id": action_id, "block_id": "alert-actions",
        "selected_option": {"text": {"type": "plain_text", "text": "INC"}, "value": value},
        "placeholder": {"type": "plain_text", "text": "Attach to…"}, "action_ts": "1700000001.0002"
    });
    p
}

#[tokio::test]
async fn card_buttons_declare_attach_and_dismiss() {
    let app = app().await;
    // Three suggested groups.
    for name in ["Latency", "Saturation", "Noise"] {
        fire(
            &app,
            &format!("{{}}:{{alertname=\"{name}\"}}"),
            &[alert(name, 1, "warning", minutes_ago(5))],
        )
        .await;
    }
    app.idle().await;
    assert_eq!(cards(&app.slack).len(), 3);

    // Declare incident: the form, prefilled; submitted, it declares and links.
    let res = app.click(DECLARER, ANNOUNCE, "alerts.declare", "1").await;
    assert_eq!(res.status(), 200);
    let opened = app.slack.calls("views.open");
    let view = &opened.last().unwrap().body["view"];
    let view = if let Some(s) = view.as_str() {
        serde_json::from_str(s).unwrap()
    } else {
        view.clone()
    };
    assert_eq!(
        view["blocks"][0]["element"]["initial_value"],
        "Latency is high"
    );
    let metadata: Value = serde_json::from_str(view["private_metadata"].as_str().unwrap()).unwrap();
    assert_eq!(metadata["alert_group"], 1);
    let mut submission = declare_submission(
        DECLARER,
        "V-alert-1",
        &DeclareInput {
            title: "Checkout is slow".into(),
            severity: Some("SEV2".into()),
            ..DeclareInput::default()
        },
    );
    submission["view"]["private_metadata"] = json!(metadata.to_string());
    for _ in 0..2 {
        assert_eq!(app.interaction(submission.clone()).await.status(), 200);
    }
    let room = app.wait_room(1).await;
    app.idle().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 1);
    assert_eq!(
        app.count("SELECT incident_number FROM alert_groups WHERE id = 1")
            .await,
        1
    );
    assert_eq!(app.incident(1).await.detected_at, Some(minutes_ago(5)));
    assert!(
        timeline(&app, 1)
            .await
            .iter()
            .any(|(_, t)| t.contains("Latency"))
    );
    let card = |n: usize| text_of(&cards(&app.slack)[n].body);
    assert!(card(0).contains("Linked to INC-1"), "{}", card(0));
    assert!(!card(0).contains("alerts.declare"));
    // The other cards now offer INC-1.
    fire(
        &app,
        "{}:{alertname=\"Saturation\"}",
        &[
            alert("Saturation", 1, "warning", minutes_ago(5)),
            alert("Saturation", 2, "warning", minutes_ago(2)),
        ],
    )
    .await;
    app.idle().await;
    assert!(card(1).contains("alerts.attach|2"), "{}", card(1));

    // Attach to…: its alerts on INC-1's timeline, the card says so.
    let res = app
        .interaction(pick("UBOB", ANNOUNCE, "alerts.attach|2", "1"))
        .await;
    assert_eq!(res.status(), 200);
    app.idle().await;
    let lines = timeline(&app, 1).await;
    assert_eq!(
        lines
            .iter()
            .filter(|(_, t)| t.contains("Saturation"))
            .count(),
        3,
        "{lines:?}"
    );
    assert!(card(1).contains("Linked to INC-1"));
    // Later changes of that group go there too.
    fire(
        &app,
        "{}:{alertname=\"Saturation\"}",
        &[alert("Saturation", 1, "warning", minutes_ago(5)).resolved_at(start_time())],
    )
    .await;
    assert_eq!(timeline(&app, 1).await.len(), lines.len() + 1);

    // Dismiss: recorded with who; the card says so; twice is once.
    for _ in 0..2 {
        assert_eq!(
            app.click("UCAROL", ANNOUNCE, "alerts.dismiss", "3")
                .await
                .status(),
            200
        );
    }
    app.idle().await;
    assert!(card(2).contains("Dismissed by <@UCAROL>"), "{}", card(2));
    assert!(!card(2).contains("alerts.declare"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM alert_groups WHERE dismissed_by = 'UCAROL'")
            .await,
        1
    );
    // Declaring a dismissed or linked group is refused, privately.
    app.click(DECLARER, ANNOUNCE, "alerts.declare", "2").await;
    app.idle().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 1);
    let _ = room;
}

/// A critical alert of group `key` declares INC-1; a person takes the lead
/// and closes it.
async fn declared_by_an_alert_then_closed(app: &TestApp, key: &str) {
    fire(app, key, &[alert("Down", 1, "critical", minutes_ago(30))]).await;
    let room = app.wait_room(1).await;
    app.idle().await;
    app.click(DECLARER, &room, "role.claim", "1|Incident Lead")
        .await;
    let res = app.command(DECLARER, &room, "close").await;
    assert_eq!(res.status(), 200);
    app.idle().await;
}

#[tokio::test]
async fn a_group_firing_again_after_its_incident_closed_gets_a_new_card() {
    let app = app().await;
    let key = "{}:{alertname=\"Down\"}";
    declared_by_an_alert_then_closed(&app, key).await;
    assert_eq!(
        app.incident(1).await.status,
        warroom::domain::Status::Closed
    );
    // It fires again, later: a new group with a card naming INC-1, not a
    // second war room opened by itself (people decide).
    let again = fire(&app, key, &[alert("Down", 1, "critical", minutes_ago(2))]).await;
    assert_eq!(again["outcome"], "suggested", "{again}");
    app.idle().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM alert_groups").await, 2);
    assert_eq!(
        app.count("SELECT earlier_incident FROM alert_groups WHERE id = 2")
            .await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 1);
    let card = text_of(&cards(&app.slack)[0].body);
    assert!(card.contains("This fired before: INC-1"), "{card}");
    assert!(card.contains("alerts.declare"), "{card}");
}

/// The same, when the alert resolved after the incident closed and then
/// fires again: the card still names the incident.
#[tokio::test]
async fn a_group_resolved_after_its_incident_closed_and_firing_again_gets_a_card() {
    let app = app().await;
    let key = "{}:{alertname=\"Down\"}";
    declared_by_an_alert_then_closed(&app, key).await;
    let resolved = fire(
        &app,
        key,
        &[alert("Down", 1, "critical", minutes_ago(30)).resolved_at(minutes_ago(5))],
    )
    .await;
    assert_eq!(resolved["outcome"], "nothing firing", "{resolved}");
    let again = fire(&app, key, &[alert("Down", 1, "critical", minutes_ago(1))]).await;
    assert_eq!(again["outcome"], "suggested", "{again}");
    app.idle().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 1);
    let card = text_of(&cards(&app.slack)[0].body);
    assert!(card.contains("This fired before: INC-1"), "{card}");
}

#[tokio::test]
async fn a_declare_route_past_its_budget_posts_cards_saying_why() {
    let app = app_with(
        r#"
announce_channel = "CINCIDENTS"
[alerts]
max_declares_per_hour = 2
[[alerts.sources]]
name = "am"
kind = "alertmanager"
token = "am-token-0123"
[[alerts.routes]]
action = "declare"
severity = "SEV2"
"#,
    )
    .await;
    for n in 0..4 {
        let name = ["A", "B", "C", "D"][n];
        fire(
            &app,
            &format!("k{n}"),
            &[alert(name, n, "critical", minutes_ago(1))],
        )
        .await;
    }
    app.idle().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 2);
    let posted = cards(&app.slack);
    assert_eq!(posted.len(), 2);
    assert!(text_of(&posted[0].body).contains("max_declares_per_hour"));
    // An hour later the budget is back.
    app.clock.advance(std::time::Duration::from_secs(3601));
    fire(&app, "k9", &[alert("E", 9, "critical", start_time())]).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 3);
}

#[tokio::test]
async fn pagerduty_is_signed_deduplicated_by_delivery_and_resolves() {
    let app = app().await;
    let body = fixture;
    let sign = |secret: &str, b: &str| {
        pagerduty_signature(&SecretString::from(secret.to_string()), b.as_bytes())
    };
    let triggered = body("pagerduty-triggered.json");
    // A bad signature: 401, nothing recorded.
    let bad = vec![
        ("x-pagerduty-signature", sign("wrong", &triggered)),
        ("x-webhook-id", "wh-1".into()),
    ];
    assert_eq!(
        post(&app, "pd", &bad, triggered.clone()).await.status(),
        401
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM alert_deliveries").await, 0);
    // During rotation: the old and the new secret's signatures; the new one matches.
    let rotating = format!(
        "{},{}",
        sign("pd-secret-old", &triggered),
        sign("pd-secret-new", &triggered)
    );
    let headers = vec![
        ("x-pagerduty-signature", rotating),
        ("x-webhook-id", "wh-1".into()),
    ];
    let res = post(&app, "pd", &headers, triggered.clone()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["outcome"], "suggested");
    // Redelivered under the same X-Webhook-Id: acted on once.
    let res = post(&app, "pd", &headers, triggered.clone()).await;
    assert_eq!(res.json::<Value>().await.unwrap()["outcome"], "duplicate");
    app.idle().await;
    assert_eq!(cards(&app.slack).len(), 1);
    assert!(text_of(&cards(&app.slack)[0].body).contains("Checkout 5xx ratio above 5%"));
    // Acknowledged: nothing to change on a card; resolved: the card says so.
    for (file, id) in [
        ("pagerduty-acknowledged.json", "wh-2"),
        ("pagerduty-resolved.json", "wh-3"),
    ] {
        let b = body(file);
        let h = vec![
            ("x-pagerduty-signature", sign("pd-secret-new", &b)),
            ("x-webhook-id", id.into()),
        ];
        assert_eq!(post(&app, "pd", &h, b).await.status(), 200);
    }
    app.idle().await;
    assert!(text_of(&cards(&app.slack)[0].body).contains("all 1 resolved"));
    let b = body("pagerduty-service-updated.json");
    let h = vec![
        ("x-pagerduty-signature", sign("pd-secret-new", &b)),
        ("x-webhook-id", "wh-4".into()),
    ];
    assert_eq!(
        post(&app, "pd", &h, b).await.json::<Value>().await.unwrap()["outcome"],
        "not an alert"
    );
}

#[tokio::test]
async fn pagerduty_events_of_a_linked_incident_go_on_its_timeline() {
    let app = app().await;
    let body = fixture;
    let sign = |b: &str| {
        pagerduty_signature(
            &SecretString::from("pd-secret-new".to_string()),
            b.as_bytes(),
        )
    };
    let send = |file: &'static str, id: &'static str| {
        let b = body(file);
        let h = vec![
            ("x-pagerduty-signature", sign(&b)),
            ("x-webhook-id", id.to_string()),
        ];
        let app = &app;
        async move { post(app, "pd", &h, b).await }
    };
    send("pagerduty-triggered.json", "d1").await;
    app.idle().await;
    let room = app.declare("Checkout errors", "SEV2").await;
    app.interaction(pick(DECLARER, ANNOUNCE, "alerts.attach|1", "1"))
        .await;
    app.idle().await;
    send("pagerduty-annotated.json", "d2").await;
    send("pagerduty-resolved.json", "d3").await;
    app.idle().await;
    let lines = timeline(&app, 1).await;
    assert!(
        lines.iter().any(|(_, t)| t.contains("Rolled back deploy")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|(_, t)| t.starts_with("Alert resolved")),
        "{lines:?}"
    );
    assert!(
        app.slack
            .messages_in(&room)
            .iter()
            .any(|m| text_of(&m.body).contains("alerts.mitigated"))
    );
}

#[tokio::test]
async fn grafana_with_and_without_its_signature_and_the_generic_shape() {
    let app = app().await;
    let grafana = fixture("grafana.json");
    let secret = SecretString::from("grafana-secret".to_string());
    // HMAC of the body.
    let sig = grafana_signature(&secret, None, grafana.as_bytes());
    let res = post(
        &app,
        "grafana",
        &[("X-Grafana-Alerting-Signature", sig.clone())],
        grafana.clone(),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        post(&app, "grafana", &[], grafana.clone()).await.status(),
        401
    );
    assert_eq!(
        post(
            &app,
            "grafana",
            &[("X-Grafana-Alerting-Signature", sig)],
            grafana.replace("93%", "94%")
        )
        .await
        .status(),
        401
    );
    // HMAC of timestamp:body, the timestamp Grafana's wall clock (the
    // app's clock may be elsewhere).
    let ts = Utc::now().timestamp().to_string();
    let sig = grafana_signature(&secret, Some(&ts), grafana.as_bytes());
    let h = vec![
        ("X-Grafana-Alerting-Signature", sig),
        ("X-Grafana-Alerting-Signature-Timestamp", ts),
    ];
    assert_eq!(
        post(&app, "grafana-ts", &h, grafana.clone()).await.status(),
        200
    );
    // Signed long ago: refused.
    let old = start_time().timestamp().to_string();
    let stale = vec![
        (
            "X-Grafana-Alerting-Signature",
            grafana_signature(&secret, Some(&old), grafana.as_bytes()),
        ),
        ("X-Grafana-Alerting-Signature-Timestamp", old),
    ];
    assert_eq!(
        post(&app, "grafana-ts", &stale, grafana.clone())
            .await
            .status(),
        401
    );
    // No HMAC, a bearer token.
    assert_eq!(
        post(
            &app,
            "grafana-token",
            &bearer("grafana-token"),
            grafana.clone()
        )
        .await
        .status(),
        200
    );
    app.idle().await;
    let posted = cards(&app.slack);
    assert_eq!(posted.len(), 3, "one card per source's group");
    let body = text_of(&posted[0].body);
    assert!(body.contains("Disk /var/lib/postgresql is 93% full"));
    assert!(
        body.contains("grafana.example.com/d/disk"),
        "the dashboard link"
    );
    // Generic: firing, repeated, resolved.
    let generic = |status: &str| {
        json!({"title": "Nightly backup failed", "status": status, "dedup_key": "backup-nightly", "description": "exit 2", "url": "https://ci.example.com/job/42", "labels": {"team": "storage"}}).to_string()
    };
    // A script that sends the same `X-Webhook-Id` every time (only
    // PagerDuty's names a delivery): each notification is still read.
    let mut headers = bearer("script-token");
    headers.push(("x-webhook-id", "always-the-same".to_string()));
    for status in ["firing", "firing", "resolved"] {
        assert_eq!(
            post(&app, "script", &headers, generic(status))
                .await
                .status(),
            200
        );
    }
    app.idle().await;
    let posted = cards(&app.slack);
    assert_eq!(posted.len(), 4);
    let backup = text_of(&posted[3].body);
    assert!(
        backup.contains("Nightly backup failed") && backup.contains("all 1 resolved"),
        "{backup}"
    );
    assert!(backup.contains("team=storage"));
}

#[tokio::test]
async fn bad_requests_get_a_clear_4xx_and_record_nothing() {
    let app = app().await;
    let good = am_body("k", &[alert("X", 1, "warning", minutes_ago(1))]);
    // (source, headers, body, status, what the answer says)
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, String, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "nope",
            bearer(AM_TOKEN),
            good.clone(),
            404,
            "no alert source named `nope`",
        ),
        ("am", vec![], good.clone(), 401, "Authorization: Bearer"),
        ("am", bearer("wrong"), good.clone(), 401, "does not match"),
        // Credentials come first: a bad token with a bad body is 401.
        ("am", bearer("wrong"), "{".into(), 401, "does not match"),
        ("am", bearer(AM_TOKEN), "{".into(), 400, "not JSON"),
        (
            "am",
            bearer(AM_TOKEN),
            good.replace("groupKey", "key"),
            400,
            "`groupKey`",
        ),
        (
            "am",
            bearer(AM_TOKEN),
            good.replace("startsAt", "started"),
            400,
            "startsAt",
        ),
        ("am", bearer(AM_TOKEN), "x".repeat(3 * 1024 * 1024), 413, ""),
        (
            "script",
            bearer("script-token"),
            json!({"title": "t", "status": "maybe", "dedup_key": "k"}).to_string(),
            400,
            "`status` is `maybe`",
        ),
        ("pd", vec![], "{}".into(), 401, "X-PagerDuty-Signature"),
    ];
    for (source, headers, body, status, says) in cases {
        let res = post(&app, source, &headers, body).await;
        assert_eq!(res.status().as_u16(), status, "{source} {says}");
        let text = res.text().await.unwrap();
        assert!(text.contains(says), "{says}: {text}");
        assert!(!text.contains('\n'), "one line: {text}");
    }
    app.idle().await;
    for table in [
        "alert_groups",
        "alerts",
        "alert_deliveries",
        "jobs",
        "incidents",
    ] {
        let sql: &'static str = Box::leak(format!("SELECT COUNT(*) FROM {table}").into_boxed_str());
        assert_eq!(app.count(sql).await, 0, "{table}");
    }
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("warroom_alerts_received_total{source=\"am\",status=\"unauthorized\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("warroom_alerts_received_total{source=\"am\",status=\"malformed\"} 3")
    );
}

/// 1,000 alerts in 100 groups, sent open loop within 10 s; a declare
/// route with a budget of 5.
async fn storm(apps: &[&TestApp]) {
    let started = std::time::Instant::now();
    let mut sends = Vec::new();
    for i in 0..1000usize {
        let app = apps[i % apps.len()];
        let group = i % 100;
        let n = i / 100;
        // Each notification carries the group's alerts so far, as
        // Alertmanager sends them.
        let alerts: Vec<A> = (0..=n)
            .map(|k| alert("Storm", group * 100 + k, "critical", minutes_ago(10)))
            .collect();
        let body = am_body(&format!("storm-{group}"), &alerts);
        let (http, url) = (app.http.clone(), app.url("/hooks/alerts/am"));
        sends.push(async move {
            http.post(url)
                .header("authorization", format!("Bearer {AM_TOKEN}"))
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
    }
    // Open loop: one request every 9 ms, whatever became of the others.
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(9));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut running = Vec::new();
    for send in sends {
        ticks.tick().await;
        running.push(tokio::spawn(send));
    }
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(10),
        "sent within 10 s: {took:?}"
    );
    let statuses: Vec<_> = futures_util::future::join_all(running)
        .await
        .into_iter()
        .map(|r| r.expect("a request task"))
        .collect();
    assert!(
        statuses.iter().all(|s| matches!(s, Ok(200))),
        "every request 2xx: {statuses:?}"
    );
}

const STORM: &str = r#"
announce_channel = "CINCIDENTS"
[alerts]
max_declares_per_hour = 5
[[alerts.sources]]
name = "am"
kind = "alertmanager"
token = "am-token-0123"
[[alerts.routes]]
action = "declare"
severity = "SEV2"
"#;

async fn storm_outcome(a: &TestApp) {
    a.idle().await;
    assert_eq!(
        a.count("SELECT COUNT(*) FROM incidents").await,
        5,
        "five war rooms"
    );
    assert_eq!(
        a.count("SELECT COUNT(*) FROM alert_groups").await,
        100,
        "one group per key"
    );
    assert_eq!(
        a.count("SELECT COUNT(*) FROM alerts").await,
        1000,
        "every alert once"
    );
    assert_eq!(a.count("SELECT COUNT(*) FROM alert_groups WHERE incident_number IS NULL AND held_back IS NOT NULL").await, 95);
    assert_eq!(a.slack.channel_named_like("inc-").len(), 5);
    let cards: BTreeMap<String, usize> =
        cards(&a.slack)
            .into_iter()
            .fold(BTreeMap::new(), |mut m, c| {
                *m.entry(c.ts).or_default() += 1;
                m
            });
    assert_eq!(cards.len(), 95, "95 cards, none doubled");
    assert_eq!(
        a.count("SELECT COUNT(*) FROM (SELECT incident_number, occurred_at, text FROM timeline_entries GROUP BY incident_number, occurred_at, text HAVING COUNT(*) > 1) d").await,
        0,
        "no timeline line doubled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_a_thousand_alerts_opens_five_war_rooms_and_95_cards() {
    let app = app_with(STORM).await;
    storm(&[&app]).await;
    storm_outcome(&app).await;
}

#[ignore = "needs WARROOM_TEST_POSTGRES_URL (a PostgreSQL server); .ci/run sets it"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_on_two_postgres_replicas_opens_five_war_rooms_and_95_cards() {
    let db = crate::pg::TestDb::create("a_storm_on_two_postgres_replicas").await;
    let env = || {
        vec![
            ("WARROOM_DATABASE_URL", db.url.clone()),
            ("WARROOM_SLACK__RATE_CONTROL", "false".to_string()),
        ]
    };
    let a = TestApp::spawn(crate::helpers::Setup {
        env: env(),
        toml: STORM,
        ..Default::default()
    })
    .await;
    let b = TestApp::spawn(crate::helpers::Setup {
        env: env(),
        toml: STORM,
        replica_of: Some((a.slack.clone(), a.clock.clone())),
        ..Default::default()
    })
    .await;
    storm(&[&a, &b]).await;
    b.idle().await;
    storm_outcome(&a).await;
}

#[tokio::test]
async fn secrets_from_the_environment_work_and_are_never_logged() {
    let app = TestApp::spawn(crate::helpers::Setup {
        toml: r#"
announce_channel = "CINCIDENTS"
[[alerts.sources]]
name = "prod-am"
kind = "alertmanager"
"#,
        env: vec![(
            "WARROOM_ALERTS__SOURCES__PROD_AM__TOKEN",
            "from-env-0042".into(),
        )],
        ..Default::default()
    })
    .await;
    let body = am_body("k", &[alert("X", 1, "warning", minutes_ago(1))]);
    assert_eq!(
        post(&app, "prod-am", &bearer("from-env-0042"), body.clone())
            .await
            .status(),
        200
    );
    assert_eq!(
        post(&app, "prod-am", &bearer(AM_TOKEN), body)
            .await
            .status(),
        401
    );
    assert!(!format!("{:?}", app.ctx.settings).contains("from-env-0042"));
    eventually("the card", || async {
        if cards(&app.slack).len() == 1 {
            Ok(())
        } else {
            Err(cards(&app.slack).len())
        }
    })
    .await;
    app.slack
        .eventually("nothing else", |s| Some(s.all_calls().len()))
        .await;
}

#[tokio::test]
async fn in_socket_mode_the_alert_hooks_are_served_and_slack_routes_are_not() {
    let slack = FakeSlack::start().await;
    let app = TestApp::spawn(crate::helpers::Setup {
        env: vec![
            ("SLACK_APP_TOKEN", "xapp-1-test".to_string()),
            ("SLACK_SIGNING_SECRET", String::new()),
        ],
        toml: TOML,
        replica_of: Some((slack, warroom::clock::ManualClock::new(start_time()))),
        ..Default::default()
    })
    .await;
    // No socket is connected (the fake hands out none): alerts still land.
    let answer = fire(
        &app,
        "k",
        &[alert("SocketMode", 1, "warning", minutes_ago(1))],
    )
    .await;
    assert_eq!(answer["outcome"], "suggested");
    let slack_route = app
        .http
        .post(app.url("/slack/events"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(slack_route.status(), 404);
}

/// `warroom check` in a folder holding `toml` as warroom.toml.
async fn check_with(slack: &FakeSlack, toml: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("warroom.toml"), toml).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"));
    cmd.arg("check")
        .current_dir(dir.path())
        .env_clear()
        .env("SLACK_BOT_TOKEN", crate::helpers::TOKEN)
        .env("SLACK_SIGNING_SECRET", crate::helpers::SECRET)
        .env("WARROOM_SLACK__API_URL", &slack.base_url);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[tokio::test]
async fn warroom_check_reports_each_source_and_route() {
    let slack = FakeSlack::start().await;
    slack.add_channel(ANNOUNCE, "incidents", true);
    let (ok, stdout) = check_with(&slack, TOML).await;
    assert!(ok, "{stdout}");
    for line in [
        "✓ alert source `am` (alertmanager): POST /hooks/alerts/am on `listen`, bearer token checked",
        "✓ alert source `pd` (pagerduty): POST /hooks/alerts/pd on `listen`, X-PagerDuty-Signature checked",
        "✓ alert source `grafana` (grafana): POST /hooks/alerts/grafana on `listen`, X-Grafana-Alerting-Signature HMAC checked",
        "✓ alert route 0: severity=\"critical\" → declare, severity from `severity` (critical → SEV1, warning → SEV3)",
        "✓ alert route 1: env=\"staging\" → ignore",
    ] {
        assert!(stdout.contains(line), "{line}\n{stdout}");
    }
    let (ok, stdout) = check_with(
        &slack,
        &TOML.replace(r#"'env="staging"'"#, r#"'env=~"stag(ing"'"#),
    )
    .await;
    assert!(!ok);
    assert!(
        stdout.contains(
            "✗ configuration: `alerts.routes[1].matchers` is `env=~\"stag(ing\"` has a bad regex"
        ),
        "{stdout}"
    );
    let (ok, stdout) = check_with(&slack, &TOML.replace("\"SEV3\"", "\"SEV7\"")).await;
    assert!(!ok);
    assert!(
        stdout.contains(
            "✗ configuration: `alerts.routes[0].severity_map.warning` is unknown severity `SEV7`"
        ),
        "{stdout}"
    );
}
