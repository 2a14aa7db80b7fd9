//! The read API on a big record, while Slack work goes on.
//!
//! 10,000 incidents with 1,000 timeline entries each (10 million rows,
//! generated in SQL), then, open loop, 50 API requests a second for 20 s:
//! 40 % a filtered list page, 30 % one incident, 20 % a whole 1,000-entry
//! timeline, 10 % insights over a year; latency from each request's
//! scheduled time. Meanwhile `/incident help` arrives at 10 a second, and
//! its ack latency is compared with 20 s of the same commands before the
//! API load started. RSS is the whole bench process's (the bot, its fake
//! Slack and the load generator).
//!
//! Then the web record's pages on the same record, open loop at 20 a
//! second for 20 s, signed in as the declarer: 40 % the incident list,
//! 40 % one incident's page (its 1,000-entry timeline), 20 % insights over
//! a year; latency and the largest page's size.
//!
//! Run: `cargo bench --bench api`. Prints figures; asserts nothing.

mod common;

use common::helpers::{
    DECLARER, DeclareInput, ORIGIN, Setup, TestApp, command_form, post_signed_at,
};
use common::report;
use std::sync::Arc;
use std::time::Duration;

const INCIDENTS: i64 = 10_000;
const ENTRIES: i64 = 1_000;
const API_RATE: u64 = 50;
const COMMAND_RATE: u64 = 10;
const FOR: Duration = Duration::from_secs(20);

fn main() {
    common::runtime().block_on(run());
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn run() {
    let app = Arc::new(
        TestApp::spawn(Setup {
            real_clock: true,
            // One token sends the whole load: its limit is raised past it.
            env: vec![
                ("WARROOM_API__RATE_LIMIT_PER_SECOND", "200".to_string()),
                ("WARROOM_API__RATE_LIMIT_BURST", "400".to_string()),
                // The web record on (no sign-in is made: a session is
                // written directly).
                ("WARROOM_WEB__BASE_URL", "http://warroom.bench".to_string()),
                ("WARROOM_WEB__OIDC__CLIENT_ID", "bench".to_string()),
                ("WARROOM_WEB__OIDC__CLIENT_SECRET", "bench".to_string()),
            ],
            ..Setup::default()
        })
        .await,
    );
    let rss_at_start = rss_mib();
    // One real declaration, copied 9,999 times in SQL with 1,000 entries
    // each.
    let res = app
        .submit_declare(DECLARER, "V-0", DeclareInput::default())
        .await;
    assert!(res.status().is_success());
    app.settle().await;
    let generated = std::time::Instant::now();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", app.db_path().display()))
        .await
        .expect("the database");
    let cols = "title, severity, status, summary, security, drill, is_private, declared_by, declared_at, impact_started_at, detected_at, mitigated_at, resolved_at, closed_at, origin_channel, announce_channel, impact, urgency";
    let sql = format!(
        "WITH RECURSIVE seq(n) AS (SELECT 2 UNION ALL SELECT n + 1 FROM seq WHERE n < {INCIDENTS})
         INSERT INTO incidents (number, {cols})
         SELECT seq.n, i.title || ' ' || seq.n,
                CASE seq.n % 3 WHEN 0 THEN 'SEV1' WHEN 1 THEN 'SEV2' ELSE 'SEV3' END,
                CASE WHEN seq.n % 10 = 0 THEN 'investigating' ELSE 'closed' END,
                i.summary, i.security, i.drill, i.is_private, i.declared_by,
                i.declared_at - (seq.n * 3600000), i.impact_started_at, i.declared_at - (seq.n * 3600000) - 60000,
                i.declared_at - (seq.n * 3600000) + 1800000, i.declared_at - (seq.n * 3600000) + 3600000,
                i.declared_at - (seq.n * 3600000) + 7200000, i.origin_channel, i.announce_channel, i.impact, i.urgency
         FROM seq, incidents i WHERE i.number = 1"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&pool)
        .await
        .expect("incidents");
    let sql = format!(
        "WITH RECURSIVE k(e) AS (SELECT 1 UNION ALL SELECT e + 1 FROM k WHERE e < {ENTRIES})
         INSERT INTO timeline_entries (incident_number, occurred_at, recorded_at, kind, author, text)
         SELECT i.number, i.declared_at + k.e * 1000, i.declared_at + k.e * 1000, 'note', 'UALICE',
                'Checked the dashboards again and the error rate is still elevated ' || k.e
         FROM incidents i, k"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&pool)
        .await
        .expect("timeline entries");
    pool.close().await;
    println!(
        "api: {INCIDENTS} incidents, {} timeline entries generated in {:.1?}",
        app.count("SELECT COUNT(*) FROM timeline_entries").await,
        generated.elapsed()
    );
    let rss_generated = rss_mib();
    let (token, digest) = warroom::api::new_token().expect("a token");
    app.ctx
        .store
        .create_token("bench", &digest, true, chrono::Utc::now())
        .await
        .expect("a token stored");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("an HTTP client");

    let baseline = commands(&app, &http).await;
    report("  /incident help ack, no API load", baseline);
    let api = {
        let (app, http, token) = (app.clone(), http.clone(), token.clone());
        tokio::spawn(async move { api_load(&app, &http, &token).await })
    };
    let loaded = commands(&app, &http).await;
    let by_kind = api.await.expect("the API load");
    report("  /incident help ack, with 50 API requests/s", loaded);
    for (kind, (samples, failed)) in by_kind {
        println!("  {kind}: {failed} not answered 200");
        report(&format!("  {kind}"), samples);
    }
    println!(
        "  RSS of the bench process: {rss_at_start:.1} MiB at start, {rss_generated:.1} MiB after generating the data, {:.1} MiB after the load",
        rss_mib()
    );
    web_pages(&app, &http).await;
}

/// The web record's pages at `WEB_RATE` a second for `FOR`: latency by
/// page, and the largest body.
async fn web_pages(app: &TestApp, http: &reqwest::Client) {
    const WEB_RATE: u64 = 20;
    let session = "bench-session";
    let now = chrono::Utc::now();
    app.ctx
        .store
        .create_session(
            &hex::encode(<sha2::Sha256 as sha2::Digest>::digest(session.as_bytes())),
            &warroom::domain::UserId(DECLARER.to_string()),
            None,
            now,
            now + chrono::Duration::hours(1),
        )
        .await
        .expect("a session");
    let cookie = format!("warroom_session={session}");
    let total = (WEB_RATE * FOR.as_secs()) as usize;
    let interval = Duration::from_micros(1_000_000 / WEB_RATE);
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let handles: Vec<_> = (0..total)
        .map(|i| {
            let n = 1 + (i as i64 * 7919) % INCIDENTS;
            let (kind, path) = match i % 5 {
                0 | 1 => ("web: incident list", "/web".to_string()),
                2 | 3 => (
                    "web: incident page (1,000 entries)",
                    format!("/web/incidents/{n}"),
                ),
                _ => (
                    "web: insights over a year",
                    "/web/insights?days=365".to_string(),
                ),
            };
            let (http, url, cookie) = (http.clone(), app.url(&path), cookie.clone());
            let scheduled = start + interval * i as u32;
            tokio::spawn(async move {
                tokio::time::sleep_until(scheduled).await;
                let size = match http.get(&url).header("cookie", cookie).send().await {
                    Ok(r) if r.status().as_u16() == 200 => r.bytes().await.map(|b| b.len()).ok(),
                    _ => None,
                };
                (kind, size, scheduled.elapsed())
            })
        })
        .collect();
    let mut by_kind: std::collections::BTreeMap<&'static str, (Vec<Duration>, usize, usize)> =
        Default::default();
    for h in handles {
        let (kind, size, took) = h.await.expect("a page");
        let entry = by_kind.entry(kind).or_default();
        entry.0.push(took);
        match size {
            Some(bytes) => entry.2 = entry.2.max(bytes),
            None => entry.1 += 1,
        }
    }
    for (kind, (samples, failed, largest)) in by_kind {
        println!(
            "  {kind}: {failed} not answered 200; largest page {:.1} KB",
            largest as f64 / 1000.0
        );
        report(&format!("  {kind}"), samples);
    }
}

/// `/incident help` at `COMMAND_RATE` a second for `FOR`: ack latencies.
async fn commands(app: &TestApp, http: &reqwest::Client) -> Vec<Duration> {
    let total = (COMMAND_RATE * FOR.as_secs()) as usize;
    let interval = Duration::from_micros(1_000_000 / COMMAND_RATE);
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let url = app.url("/slack/commands");
    let handles: Vec<_> = (0..total)
        .map(|i| {
            let (http, url) = (http.clone(), url.clone());
            let scheduled = start + interval * i as u32;
            tokio::spawn(async move {
                tokio::time::sleep_until(scheduled).await;
                let _ = post_signed_at(
                    &http,
                    &url,
                    chrono::Utc::now().timestamp(),
                    "application/x-www-form-urlencoded",
                    command_form(DECLARER, ORIGIN, "help"),
                    &[],
                )
                .await;
                scheduled.elapsed()
            })
        })
        .collect();
    let mut out = Vec::with_capacity(total);
    for h in handles {
        out.push(h.await.expect("a command"));
    }
    out
}

/// The API mix at `API_RATE` a second for `FOR`, by kind: latencies and
/// how many were not 200.
async fn api_load(
    app: &TestApp,
    http: &reqwest::Client,
    token: &str,
) -> std::collections::BTreeMap<&'static str, (Vec<Duration>, usize)> {
    let total = (API_RATE * FOR.as_secs()) as usize;
    let interval = Duration::from_micros(1_000_000 / API_RATE);
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let year_ago = (chrono::Utc::now() - chrono::Duration::days(365))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let handles: Vec<_> = (0..total)
        .map(|i| {
            let n = 1 + (i as i64 * 7919) % INCIDENTS;
            let (kind, path) = match i % 10 {
                0..=3 => (
                    "list page (filtered)",
                    match i % 4 {
                        0 => "/api/v1/incidents".to_string(),
                        1 => "/api/v1/incidents?status=open&severity=SEV1".to_string(),
                        2 => format!("/api/v1/incidents?cursor={n}&limit=100"),
                        _ => "/api/v1/incidents?q=checkout%2077".to_string(),
                    },
                ),
                4..=6 => ("one incident", format!("/api/v1/incidents/{n}")),
                7 | 8 => (
                    "a 1,000-entry timeline",
                    format!("/api/v1/incidents/{n}/timeline"),
                ),
                _ => (
                    "insights over a year",
                    format!("/api/v1/insights?since={year_ago}"),
                ),
            };
            let (http, url, token) = (http.clone(), app.url(&path), token.to_string());
            let scheduled = start + interval * i as u32;
            tokio::spawn(async move {
                tokio::time::sleep_until(scheduled).await;
                // The body is read in full before the clock stops.
                let ok = match http.get(&url).bearer_auth(&token).send().await {
                    Ok(r) => r.status().as_u16() == 200 && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                (kind, ok, scheduled.elapsed())
            })
        })
        .collect();
    let mut by_kind: std::collections::BTreeMap<&'static str, (Vec<Duration>, usize)> =
        Default::default();
    for h in handles {
        let (kind, ok, took) = h.await.expect("a request");
        let entry = by_kind.entry(kind).or_default();
        entry.0.push(took);
        if !ok {
            entry.1 += 1;
        }
    }
    by_kind
}
