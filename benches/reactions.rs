//! Ack latency of signed `reaction_added` events (a scribe tagging messages),
//! against the real server and the fake Slack on 127.0.0.1. Each event is
//! verified, recorded by `event_id` with its timeline entry and capture job
//! in one SQLite transaction, and answered; fetching the message is a job.
//!
//! Run: `cargo bench --bench reactions` (prints figures; asserts nothing).

mod common;

use common::helpers::{Setup, TestApp};
use common::report;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const EVENTS: usize = 1000;
const IN_FLIGHT: usize = 16;
const SCRIBE: &str = "USCRIBE";

fn event(i: usize, room: &str, ts: &str) -> serde_json::Value {
    json!({
        "token": "t", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": format!("EvBench{i}"), "event_time": 1_700_000_000,
        "event": {"type": "reaction_added", "user": SCRIBE, "reaction": "pushpin", "item_user": "UCAROL",
            "item": {"type": "message", "channel": room, "ts": ts}, "event_ts": "1700000000.000100"}
    })
}

fn main() {
    let rt = common::runtime();
    rt.block_on(async {
        let app = Arc::new(TestApp::spawn(Setup { real_clock: true, ..Setup::default() }).await);
        let room = app.declare("Reaction bench", "SEV2").await;
        app.click(SCRIBE, &room, "role.claim", "1|Scribe").await;
        app.wait_idle().await;
        let now = chrono::Utc::now();
        let messages: Vec<String> = (0..2 * EVENTS)
            .map(|i| app.slack.user_posts(&room, "UCAROL", &format!("observation {i}"), None, now))
            .collect();

        // One at a time.
        let mut acks = Vec::with_capacity(EVENTS);
        let started = Instant::now();
        for (i, ts) in messages[..EVENTS].iter().enumerate() {
            let t = Instant::now();
            let res = app.event(event(i, &room, ts), None).await;
            assert_eq!(res.status(), 200);
            acks.push(t.elapsed());
        }
        let sent = started.elapsed();
        app.wait_idle().await;
        println!("{EVENTS} reaction_added events, one at a time (sent in {sent:.2?}; all messages fetched after {:.2?}):", started.elapsed());
        report("  ack", acks);

        // Sixteen in flight.
        let mut acks = Vec::with_capacity(EVENTS);
        let started = Instant::now();
        for chunk in messages[EVENTS..].chunks(IN_FLIGHT).enumerate() {
            let (c, batch) = chunk;
            let mut handles = Vec::new();
            for (j, ts) in batch.iter().enumerate() {
                let app = app.clone();
                let (room, ts) = (room.clone(), ts.clone());
                let i = EVENTS + c * IN_FLIGHT + j;
                handles.push(tokio::spawn(async move {
                    let t = Instant::now();
                    let res = app.event(event(i, &room, &ts), None).await;
                    assert_eq!(res.status(), 200);
                    t.elapsed()
                }));
            }
            for h in handles {
                acks.push(h.await.unwrap());
            }
        }
        println!("{EVENTS} reaction_added events, {IN_FLIGHT} in flight (sent in {:.2?}):", started.elapsed());
        report("  ack", acks);
        app.wait_idle().await;
        let entries = app.ctx.store.timeline(warroom::domain::IncidentNumber::new(1)).await.unwrap().iter().filter(|e| e.slack_ts.is_some() && e.fetched).count();
        println!("timeline entries recorded and fetched: {entries}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    });
}
