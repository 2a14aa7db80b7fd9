//! Alerts in: how long `POST /hooks/alerts/{name}` takes to answer under
//! load, while Slack is slow. Open loop: 200 Alertmanager notifications a
//! second for 15 s, each sent at its scheduled time whatever the answers
//! before it, latency measured from that scheduled time. The mix: 40 %
//! open a new group (a card; critical ones declare, within the hourly
//! budget of 5), 40 % repeat a group's notification unchanged, 20 % add an
//! alert to a group (a card edit or a timeline entry). Every Web API call
//! takes 500 ms, so the cards and war rooms queue behind the acks.
//!
//! Run: `cargo bench --bench alerts`. Prints figures; asserts nothing.

mod common;

use common::helpers::{Setup, TestApp};
use common::report;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const RATE: u64 = 200;
const FOR: Duration = Duration::from_secs(15);
const TOKEN: &str = "bench-token";

const TOML: &str = r#"
announce_channel = "CINCIDENTS"
[alerts]
max_declares_per_hour = 5
[[alerts.sources]]
name = "am"
kind = "alertmanager"
token = "bench-token"
[[alerts.routes]]
matchers = ['severity="critical"']
action = "declare"
severity = "SEV1"
"#;

/// The notification of group `group` with `alerts` alerts.
fn body(group: usize, alerts: usize, now: chrono::DateTime<chrono::Utc>) -> String {
    let severity = if group.is_multiple_of(50) {
        "critical"
    } else {
        "warning"
    };
    let items: Vec<_> = (0..alerts)
        .map(|k| {
            json!({
                "status": "firing",
                "labels": {"alertname": format!("Bench{group}"), "severity": severity, "instance": format!("node-{k}:9100")},
                "annotations": {"summary": format!("Bench alert {group} is firing")},
                "startsAt": (now - chrono::Duration::seconds(30 + k as i64)).to_rfc3339(),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example.com/graph",
                "fingerprint": format!("{group:06}-{k:03}"),
            })
        })
        .collect();
    json!({
        "version": "4", "receiver": "warroom", "status": "firing",
        "groupKey": format!("{{}}:{{alertname=\"Bench{group}\"}}"), "truncatedAlerts": 0,
        "groupLabels": {"alertname": format!("Bench{group}")},
        "commonLabels": {"alertname": format!("Bench{group}"), "severity": severity},
        "commonAnnotations": {}, "externalURL": "http://alertmanager.example.com",
        "alerts": items,
    })
    .to_string()
}

fn main() {
    common::runtime().block_on(run());
}

async fn run() {
    let app = Arc::new(
        TestApp::spawn(Setup {
            real_clock: true,
            toml: TOML,
            ..Setup::default()
        })
        .await,
    );
    app.slack.set_latency(Duration::from_millis(500));
    let total = (RATE * FOR.as_secs()) as usize;
    let now = chrono::Utc::now();
    // What each request sends, decided up front: a new group, a repeat of
    // an earlier group as it is, or one more alert in an earlier group.
    let mut groups: Vec<usize> = Vec::new();
    let plan: Vec<(usize, usize, &str)> = (0..total)
        .map(|i| match i % 5 {
            0 | 1 => {
                groups.push(1);
                (groups.len() - 1, 1, "new")
            }
            2 | 3 if !groups.is_empty() => {
                let g = (i * 7919) % groups.len();
                (g, groups[g], "repeat")
            }
            _ if !groups.is_empty() => {
                let g = (i * 104_729) % groups.len();
                groups[g] += 1;
                (g, groups[g], "join")
            }
            _ => {
                groups.push(1);
                (groups.len() - 1, 1, "new")
            }
        })
        .collect();
    let bodies: Arc<Vec<(String, &str)>> = Arc::new(
        plan.into_iter()
            .map(|(g, n, kind)| (body(g, n, now), kind))
            .collect(),
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()
        .expect("an HTTP client");
    let url = app.url("/hooks/alerts/am");
    let interval = Duration::from_micros(1_000_000 / RATE);
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let mut handles = Vec::with_capacity(total);
    for i in 0..total {
        let scheduled = start + interval * i as u32;
        let (http, url, bodies) = (http.clone(), url.clone(), bodies.clone());
        handles.push(tokio::spawn(async move {
            tokio::time::sleep_until(scheduled).await;
            let (body, kind) = &bodies[i];
            let status = http
                .post(&url)
                .header("authorization", format!("Bearer {TOKEN}"))
                .body(body.clone())
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            (*kind, status, scheduled.elapsed())
        }));
    }
    let mut all = Vec::with_capacity(total);
    let mut by_kind: std::collections::BTreeMap<&str, Vec<Duration>> = Default::default();
    let mut failed = 0;
    for h in handles {
        let (kind, status, took) = h.await.expect("a request");
        if status != 200 {
            failed += 1;
        }
        by_kind.entry(kind).or_default().push(took);
        all.push(took);
    }
    let over_1s = all.iter().filter(|d| **d > Duration::from_secs(1)).count();
    println!(
        "alerts: {total} Alertmanager notifications at {RATE}/s open loop for {FOR:?} ({} groups), every Web API call taking 500 ms; {failed} not answered 200, {over_1s} over 1 s",
        groups.len()
    );
    report("  ack, all (from scheduled send time)", all);
    for (kind, samples) in by_kind {
        report(&format!("  ack, {kind}"), samples);
    }
    let counts = app.ctx.store.job_counts().await.expect("counts");
    println!(
        "  at the end of the load: {} incidents declared by alerts; jobs {} pending, {} running, {} done",
        app.count("SELECT COUNT(*) FROM incidents").await,
        counts.pending,
        counts.running,
        counts.done
    );
}
