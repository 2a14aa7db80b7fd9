//! Events out: how soon a change reaches webhook receivers, and how fast a
//! backlog drains.
//!
//! 1. Lag: five endpoints (every event), twenty incidents declared at once
//!    over HTTP on the system clock, the fake Slack answering every Web
//!    API call in 500 ms. Lag is from the event's recorded time (its
//!    transaction's clock reading) to the receiver getting it.
//! 2. Backlog: 10,000 events (100 incidents, 100 timeline notes each)
//!    recorded while no delivery loop runs, then a start with one endpoint
//!    and a receiver that answers at once; events per second until the
//!    last is delivered.
//!
//! Run: `cargo bench --bench webhooks`. Prints figures; asserts nothing.

mod common;

use axum::http::HeaderMap;
use common::helpers::{DECLARER, DeclareInput, Setup, TestApp};
use common::report;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A receiver on 127.0.0.1: records (endpoint, webhook-id, when) and
/// answers 200.
/// What arrived: (endpoint, webhook-id, when).
type Arrivals = Arc<Mutex<Vec<(String, String, chrono::DateTime<chrono::Utc>)>>>;

#[derive(Clone, Default)]
struct Receiver {
    url: String,
    got: Arrivals,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let r = Receiver {
            url: format!("http://{}", listener.local_addr().expect("an address")),
            ..Receiver::default()
        };
        let state = r.clone();
        let app = axum::Router::new().route(
            "/{endpoint}",
            axum::routing::post(
                move |axum::extract::Path(endpoint): axum::extract::Path<String>,
                      headers: HeaderMap| {
                    let state = state.clone();
                    async move {
                        let id = headers
                            .get("webhook-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        state
                            .got
                            .lock()
                            .expect("the log")
                            .push((endpoint, id, chrono::Utc::now()));
                        "ok"
                    }
                },
            ),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        r
    }

    fn count(&self) -> usize {
        self.got.lock().expect("the log").len()
    }

    fn toml(&self, endpoints: usize) -> &'static str {
        let toml: String = (0..endpoints)
            .map(|i| {
                format!(
                    "[[webhooks]]\nname = \"e{i}\"\nurl = \"{}/e{i}\"\nsecret = \"{SECRET}\"\n",
                    self.url
                )
            })
            .collect();
        Box::leak(toml.into_boxed_str())
    }
}

fn main() {
    common::runtime().block_on(async {
        lag().await;
        backlog().await;
    });
}

async fn lag() {
    const ENDPOINTS: usize = 5;
    const INCIDENTS: usize = 20;
    let receiver = Receiver::start().await;
    let app = Arc::new(
        TestApp::spawn(Setup {
            real_clock: true,
            toml: receiver.toml(ENDPOINTS),
            ..Setup::default()
        })
        .await,
    );
    app.slack.set_latency(Duration::from_millis(500));
    let declares: Vec<_> = (0..INCIDENTS)
        .map(|n| {
            let app = app.clone();
            tokio::spawn(async move {
                let input = DeclareInput {
                    title: format!("Outage {n}"),
                    ..DeclareInput::default()
                };
                app.submit_declare(DECLARER, &format!("V-{n}"), input).await
            })
        })
        .collect();
    for d in declares {
        let _ = d.await;
    }
    // The declares' Slack work (500 ms a call) ends with the board and
    // announcement; their events are all recorded by then.
    app.settle().await;
    let events = app.count("SELECT COUNT(*) FROM incident_events").await as usize;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while receiver.count() < events * ENDPOINTS && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut recorded = std::collections::HashMap::new();
    for n in 1..=INCIDENTS as i64 {
        for e in app
            .ctx
            .store
            .events(warroom::domain::IncidentNumber::new(n))
            .await
            .expect("the log")
        {
            recorded.insert(e.id, e.occurred_at);
        }
    }
    let lags: Vec<Duration> = receiver
        .got
        .lock()
        .expect("the log")
        .iter()
        .filter_map(|(_, id, at)| Some((*at - *recorded.get(id)?).to_std().unwrap_or_default()))
        .collect();
    println!(
        "webhooks lag: {INCIDENTS} incidents declared at once, {events} events, {ENDPOINTS} endpoints, Slack answering in 500 ms; {} of {} deliveries made",
        receiver.count(),
        events * ENDPOINTS
    );
    report("  lag, event recorded → receiver got it", lags);
}

async fn backlog() {
    const INCIDENTS: i64 = 100;
    const NOTES: usize = 100;
    let receiver = Receiver::start().await;
    let app = TestApp::spawn(Setup {
        workers: false,
        toml: receiver.toml(1),
        ..Setup::default()
    })
    .await;
    for n in 0..INCIDENTS {
        let input = DeclareInput {
            title: format!("Outage {n}"),
            ..DeclareInput::default()
        };
        app.submit_declare(DECLARER, &format!("V-{n}"), input).await;
    }
    let now = app.clock.now();
    for n in 1..=INCIDENTS {
        for k in 0..NOTES {
            app.ctx
                .store
                .add_effects(
                    warroom::domain::IncidentNumber::new(n),
                    now,
                    warroom::store::Effects {
                        timeline: vec![warroom::domain::NewEntry {
                            occurred_at: now,
                            kind: warroom::domain::EntryKind::Note,
                            author: None,
                            text: format!("note {k}"),
                        }],
                        ..Default::default()
                    },
                )
                .await
                .expect("a note");
        }
    }
    let pending = app
        .count("SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'")
        .await as usize;
    // Only the deliveries run: the declares' Slack jobs are dropped.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", app.db_path().display()))
        .await
        .expect("the database");
    sqlx::query("DELETE FROM jobs")
        .execute(&pool)
        .await
        .expect("jobs dropped");
    pool.close().await;
    let started = std::time::Instant::now();
    let app = app.restart(true).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    while receiver.count() < pending && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = started.elapsed();
    println!(
        "webhooks backlog: {pending} events over {INCIDENTS} incidents to one endpoint; {} delivered in {took:.2?}: {:.0} events/s",
        receiver.count(),
        receiver.count() as f64 / took.as_secs_f64()
    );
    drop(app);
}
