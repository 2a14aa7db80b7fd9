//! What an operator sees of warroom: `/metrics` after a scripted incident,
//! the shipped alert rules and their unit tests (promtool), the Grafana
//! dashboard's queries against the metrics that exist, and the Prometheus
//! Operator resources kept equal to the rules file.

use crate::fake_slack::Failure;
use crate::helpers::*;
use std::collections::BTreeSet;

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");

/// The value of the series `series` (name and labels exactly as printed).
fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The metric families a scrape shows (`# TYPE` lines), with their
/// sample names (`_total`, `_bucket`, `_count`, `_sum` added).
fn names(metrics: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for l in metrics.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
                continue;
            };
            out.insert(name.to_string());
            match kind {
                "counter" => {
                    out.insert(format!("{name}_total"));
                }
                "histogram" => {
                    for s in ["_bucket", "_count", "_sum"] {
                        out.insert(format!("{name}{s}"));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

#[tokio::test]
async fn a_scripted_incident_shows_in_every_family() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.click(DECLARER, &room, "role.claim", "1|Scribe").await;
    let ts = app
        .slack
        .user_posts(&room, "UCAROL", "p99 is 4s", None, start_time());
    let res = app
        .event(
            reaction("reaction_added", "Ev1", DECLARER, "pushpin", &room, &ts),
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    app.idle().await;
    let during = app.metrics().await;
    assert_eq!(
        value(&during, "warroom_incidents_open{severity=\"SEV2\"}"),
        Some(1.0),
        "{during}"
    );
    assert_eq!(value(&during, "warroom_ready"), Some(1.0));
    assert_eq!(value(&during, "warroom_database_up"), Some(1.0));
    assert_eq!(
        value(&during, "warroom_socket_connections_wanted"),
        Some(0.0)
    );
    assert_eq!(
        value(
            &during,
            &format!(
                "warroom_build_info{{version=\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            )
        ),
        Some(1.0)
    );
    // Slack answers the next post 429, then 500: both counted, then done.
    app.slack
        .fail_next("chat.postMessage", Failure::RateLimited(1), 1);
    app.slack.fail_next("chat.update", Failure::Status500, 1);
    // The nudge falls due at 30 minutes; the clock jumps past it by two
    // more: the reminder fires late.
    app.clock.advance(minutes(32));
    app.advance_until_idle().await;
    app.command(DECLARER, &room, "close").await;
    app.advance_until_idle().await;
    let after = app.metrics().await;
    for endpoint in ["commands", "events", "interactivity"] {
        let n = value(
            &after,
            &format!("warroom_request_duration_seconds_count{{endpoint=\"{endpoint}\"}}"),
        );
        assert!(n.is_some_and(|n| n >= 1.0), "{endpoint}: {n:?}\n{after}");
    }
    let ok = value(
        &after,
        "warroom_slack_calls_total{method=\"chat.postMessage\",outcome=\"ok\"}",
    );
    assert!(ok.is_some_and(|n| n >= 3.0), "{ok:?}");
    assert_eq!(
        value(
            &after,
            "warroom_slack_calls_total{method=\"chat.postMessage\",outcome=\"rate_limited\"}"
        ),
        Some(1.0),
        "{after}"
    );
    assert_eq!(
        value(
            &after,
            "warroom_slack_calls_total{method=\"chat.update\",outcome=\"transport\"}"
        ),
        Some(1.0),
        "{after}"
    );
    let timed = value(
        &after,
        "warroom_slack_call_duration_seconds_count{method=\"chat.postMessage\"}",
    );
    assert!(timed.is_some_and(|n| n >= 4.0), "{timed:?}");
    assert_eq!(
        value(&after, "warroom_reminders_late_total{kind=\"nudge\"}"),
        Some(1.0),
        "{after}"
    );
    // The database's gauges are read at most once a second.
    eventually("the closed incident to leave the open ones", || async {
        let now = app.metrics().await;
        match value(&now, "warroom_incidents_open{severity=\"SEV2\"}") {
            None => Ok(()),
            Some(n) => Err(n),
        }
    })
    .await;
    assert!(after.contains("# TYPE warroom_slack_held_back counter"));
    assert!(after.contains("# TYPE warroom_socket_envelopes counter"));
    assert!(after.ends_with("# EOF\n"));
}

/// Every query of the dashboard and every rule names only metrics
/// warroom has: shown by a scrape after an incident, or, for the families
/// that only show once something happens (job lag while a job is due,
/// webhooks with endpoints), documented in README's table, which
/// `ops::admin_port_json_logs_and_a_graceful_stop` holds to every
/// scraped name.
#[tokio::test]
async fn the_dashboard_and_the_rules_use_only_metrics_that_exist() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.command(DECLARER, &room, "note checking").await;
    app.idle().await;
    let mut scraped = names(&app.metrics().await);
    assert!(scraped.len() >= 30, "{scraped:?}");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let documented =
        regex::Regex::new(r"\| `(warroom_[a-z_]+)` \| (counter|gauge|histogram) \|").unwrap();
    for c in documented.captures_iter(&readme) {
        scraped.insert(c[1].to_string());
        if &c[2] == "histogram" {
            for s in ["_bucket", "_count", "_sum"] {
                scraped.insert(format!("{}{s}", &c[1]));
            }
        }
    }
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{DEPLOY}/grafana/warroom.json")).unwrap(),
    )
    .unwrap();
    let mut exprs: Vec<String> = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().unwrap() {
            exprs.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    assert!(exprs.len() >= 10);
    let rules: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(format!("{DEPLOY}/prometheus/warroom-rules.yml")).unwrap(),
    )
    .unwrap();
    for rule in rules["groups"][0]["rules"].as_sequence().unwrap() {
        exprs.push(rule["expr"].as_str().unwrap().to_string());
    }
    let metric = regex::Regex::new(r"\b(warroom_[a-z_]+)").unwrap();
    for e in &exprs {
        for m in metric.captures_iter(e) {
            assert!(
                scraped.contains(&m[1]),
                "{} in `{e}` is not a metric warroom exposes: {scraped:?}",
                &m[1]
            );
        }
    }
}

/// The Prometheus Operator's PrometheusRule carries exactly the rules
/// file's groups, and the ServiceMonitor scrapes the admin port the
/// Service exposes.
#[test]
fn the_kubernetes_monitoring_resources_match_the_rules() {
    let read = |p: &str| -> serde_yaml::Value {
        serde_yaml::from_str(&std::fs::read_to_string(format!("{DEPLOY}/{p}")).unwrap()).unwrap()
    };
    let rules = read("prometheus/warroom-rules.yml");
    let operator = read("k8s/monitoring/prometheusrule.yaml");
    assert_eq!(
        operator["spec"], rules,
        "regenerate prometheusrule.yaml from the rules file"
    );
    let monitor = read("k8s/monitoring/servicemonitor.yaml");
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "admin");
    let service = read("k8s/monitoring/service-admin-port.yaml");
    assert!(
        service["spec"]["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "admin")
    );
}

/// `promtool check rules`, the rules' unit tests, and `promtool check
/// metrics` on a live scrape.
#[tokio::test]
#[ignore = "needs promtool (apt-get install prometheus); CI runs it with --include-ignored"]
async fn promtool_checks_the_rules_their_tests_and_a_scrape() {
    let promtool = |args: &[&str], stdin: Option<&str>| {
        use std::io::Write;
        let mut child = std::process::Command::new("promtool")
            .args(args)
            .current_dir(format!("{DEPLOY}/prometheus"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("promtool on PATH (apt-get install prometheus)");
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, out) = promtool(&["check", "rules", "warroom-rules.yml"], None);
    assert!(ok, "{out}");
    let (ok, out) = promtool(&["test", "rules", "warroom-rules.test.yml"], None);
    assert!(ok, "{out}");
    let app = TestApp::spawn(Setup::default()).await;
    app.declare("Checkout returns 500", "SEV2").await;
    let scrape = app.metrics().await;
    // promtool reads Prometheus' text format, not OpenMetrics: it parses
    // ours, and its only lint is that a counter's help is on the family
    // name (`warroom_requests`) rather than the sample's
    // (`warroom_requests_total`), which is how OpenMetrics writes it. A
    // parse error fails (exit 1); lints alone exit 3.
    let (ok, out) = promtool(&["check", "metrics"], Some(&scrape));
    let lints_only = out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .all(|l| l.ends_with("_total no help text"));
    assert!(ok || lints_only, "{out}");
}
