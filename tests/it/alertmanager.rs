//! Against a real Alertmanager (Debian's `prometheus-alertmanager`),
//! started here on free ports with a webhook receiver pointing at the bot
//! (bearer token, short group_wait and group_interval): alerts posted to
//! its API become one war room with the mapped severity and title, more
//! alerts of the group land on its timeline, their resolution brings the
//! Mark mitigated message; two Alertmanagers in one cluster give one
//! incident. Ignored unless run with `--include-ignored`, and then they
//! fail when the binary is missing (`.ci/run` installs it).

use crate::alerts::{AM_TOKEN, app};
use crate::helpers::{TestApp, eventually};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const NEEDS: &str = "needs prometheus-alertmanager (apt-get install prometheus-alertmanager)";

fn binary() -> PathBuf {
    let debian = PathBuf::from("/usr/bin/prometheus-alertmanager");
    if debian.exists() {
        return debian;
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .flat_map(|p| ["prometheus-alertmanager", "alertmanager"].map(|n| p.join(n)))
                .find(|p| p.exists())
        })
        .unwrap_or_else(|| {
            panic!("{NEEDS}: neither prometheus-alertmanager nor alertmanager is installed")
        })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One Alertmanager process, killed (by its own pid) when dropped.
struct Alertmanager {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Alertmanager {
    /// Starts one sending to `app`'s `am` source. `cluster`: this one's
    /// cluster port and the peer to join, if any; `None`: no clustering.
    async fn start(app: &TestApp, cluster: Option<(u16, Option<u16>)>) -> Alertmanager {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            r#"route:
  receiver: warroom
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: warroom
  webhook_configs:
  - url: {url}
    send_resolved: true
    http_config:
      authorization:
        type: Bearer
        credentials: {AM_TOKEN}
"#,
            url = app.url("/hooks/alerts/am")
        );
        std::fs::write(dir.path().join("am.yml"), config).unwrap();
        let port = free_port();
        let mut cmd = Command::new(binary());
        cmd.arg(format!(
            "--config.file={}",
            dir.path().join("am.yml").display()
        ))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        match cluster {
            None => {
                cmd.arg("--cluster.listen-address=");
            }
            Some((own, peer)) => {
                cmd.arg(format!("--cluster.listen-address=127.0.0.1:{own}"))
                    .arg(format!("--cluster.advertise-address=127.0.0.1:{own}"))
                    .arg("--cluster.peer-timeout=2s")
                    .arg("--cluster.gossip-interval=100ms")
                    .arg("--cluster.settle-timeout=2s");
                if let Some(peer) = peer {
                    cmd.arg(format!("--cluster.peer=127.0.0.1:{peer}"));
                }
            }
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{NEEDS}: cannot run it: {e}"));
        let am = Alertmanager {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let http = reqwest::Client::new();
        eventually("Alertmanager to be ready", || {
            let http = http.clone();
            let url = format!("{}/-/ready", am.url);
            async move {
                match http.get(url).send().await {
                    Ok(r) if r.status().is_success() => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            }
        })
        .await;
        am
    }

    /// Posts alerts to its API, as Prometheus does.
    async fn post(&self, alerts: Value) {
        let res = reqwest::Client::new()
            .post(format!("{}/api/v2/alerts", self.url))
            .json(&alerts)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{:?}", res.text().await);
    }

    /// The sum of the series of counter `name` on its `/metrics`.
    async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|r| r.starts_with([' ', '{']))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

fn checkout(instance: &str, ends: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    let mut a = json!({
        "labels": {"alertname": "CheckoutDown", "severity": "critical", "service": "checkout", "instance": instance},
        "annotations": {"summary": "Checkout answers 5xx"},
        "generatorURL": "http://prometheus.example.com/graph?g0.expr=up"
    });
    if let Some(end) = ends {
        a["endsAt"] = json!(end.to_rfc3339());
    }
    a
}

async fn alert_lines(app: &TestApp) -> Vec<String> {
    app.ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == warroom::domain::EntryKind::Alert)
        .map(|e| e.text)
        .collect()
}

#[ignore = "needs prometheus-alertmanager (apt-get install prometheus-alertmanager); CI runs it with --include-ignored"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_alertmanager_declares_updates_and_resolves_one_war_room() {
    let app = app().await;
    let am = Alertmanager::start(&app, None).await;
    am.post(json!([checkout("checkout-1", None)])).await;
    let room = app.wait_room(1).await;
    let incident = app.incident(1).await;
    assert_eq!(incident.severity.as_str(), "SEV1");
    assert_eq!(incident.title, "CheckoutDown on checkout");
    assert!(incident.detected_at.is_some());

    // A second alert of the group: on the timeline.
    am.post(json!([
        checkout("checkout-1", None),
        checkout("checkout-2", None)
    ]))
    .await;
    eventually("the second alert on the timeline", || async {
        let lines = alert_lines(&app).await;
        if lines.len() == 2 { Ok(()) } else { Err(lines) }
    })
    .await;

    // Both resolved: on the timeline, and the Mark mitigated message.
    let now = chrono::Utc::now();
    am.post(json!([
        checkout("checkout-1", Some(now)),
        checkout("checkout-2", Some(now))
    ]))
    .await;
    eventually("the resolutions and the Mark mitigated message", || async {
        let lines = alert_lines(&app).await;
        let asked = app
            .slack
            .messages_in(&room)
            .iter()
            .filter(|m| m.body.to_string().contains("alerts.mitigated"))
            .count();
        if lines
            .iter()
            .filter(|l| l.starts_with("Alert resolved"))
            .count()
            == 2
            && asked == 1
        {
            Ok(())
        } else {
            Err((lines, asked))
        }
    })
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM alert_groups").await, 1);
}

#[ignore = "needs prometheus-alertmanager (apt-get install prometheus-alertmanager); CI runs it with --include-ignored"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_alertmanagers_in_one_cluster_give_one_incident() {
    let app = app().await;
    let (c1, c2) = (free_port(), free_port());
    let first = Alertmanager::start(&app, Some((c1, None))).await;
    let second = Alertmanager::start(&app, Some((c2, Some(c1)))).await;
    // Prometheus sends every alert to every Alertmanager of the pair.
    for am in [&first, &second] {
        am.post(json!([checkout("checkout-1", None)])).await;
    }
    app.wait_room(1).await;
    // Both have run their notification pipelines, and every notification
    // either sent has been answered.
    eventually(
        "both Alertmanagers to have notified or deduplicated",
        || async {
            let queried = (
                first.metric("alertmanager_nflog_queries_total").await,
                second.metric("alertmanager_nflog_queries_total").await,
            );
            let sent = first.metric("alertmanager_notifications_total").await
                + second.metric("alertmanager_notifications_total").await;
            let received = app.metric_total("warroom_alerts_received_total").await as f64;
            if queried.0 >= 1.0 && queried.1 >= 1.0 && sent >= 1.0 && received >= sent {
                Ok(())
            } else {
                Err((queried, sent, received))
            }
        },
    )
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM alert_groups").await, 1);
    assert_eq!(alert_lines(&app).await.len(), 1);
}
