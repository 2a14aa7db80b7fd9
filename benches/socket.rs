//! Socket Mode envelope-to-ack latency against the fake Socket Mode server
//! on 127.0.0.1: from the fake sending an envelope to it reading the ack.
//! Reaction events (`events_api`: parse, `event_id`, timeline entry and
//! capture job in one SQLite transaction) and `/incident note` commands
//! (`slash_commands`: the `envelope_id` claim, the note in one transaction,
//! the stored reply; three SQLite transactions).
//!
//! Run: `cargo bench --bench socket` (prints figures; asserts nothing).

mod common;

use common::fake_slack::{APP_TOKEN, FakeSlack};
use common::fake_socket::{FakeSocket, command_payload};
use common::helpers::{DECLARER, DeclareInput, Setup, TestApp, declare_submission, start_time};
use common::report;
use std::sync::Arc;
use std::time::{Duration, Instant};
use warroom::clock::ManualClock;

const N: usize = 500;
const IN_FLIGHT: usize = 16;
const SCRIBE: &str = "USCRIBE";

fn reaction(i: usize, room: &str, ts: &str) -> serde_json::Value {
    serde_json::json!({
        "token": "t", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": format!("EvSock{i}"), "event_time": 1_700_000_000,
        "event": {"type": "reaction_added", "user": SCRIBE, "reaction": "pushpin", "item_user": "UCAROL",
            "item": {"type": "message", "channel": room, "ts": ts}, "event_ts": "1700000000.000100"}
    })
}

/// Sends `payloads` one at a time (or `in_flight` at once) over `conn`;
/// returns each envelope's time to its ack.
async fn run(
    socket: &FakeSocket,
    conn: usize,
    kind: &str,
    payloads: Vec<serde_json::Value>,
    in_flight: usize,
) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(payloads.len());
    for batch in payloads.chunks(in_flight) {
        let sent: Vec<(String, Instant)> = batch
            .iter()
            .map(|p| {
                let t = Instant::now();
                (socket.envelope(conn, kind, p.clone()), t)
            })
            .collect();
        for (id, t) in sent {
            let ack = socket.ack(&id).await;
            samples.push(ack.at.duration_since(t));
        }
    }
    samples
}

fn main() {
    let rt = common::runtime();
    rt.block_on(async {
        let slack = FakeSlack::start().await;
        let socket = FakeSocket::start().await;
        slack.set_socket_url(&socket.url);
        let app = Arc::new(
            TestApp::spawn(Setup {
                env: vec![
                    ("SLACK_APP_TOKEN", APP_TOKEN.to_string()),
                    ("SLACK_SIGNING_SECRET", String::new()),
                ],
                real_clock: true,
                replica_of: Some((slack, ManualClock::new(start_time()))),
                ..Setup::default()
            })
            .await,
        );
        let conn = socket.wait_open(2).await[0];
        socket.command(conn, DECLARER, "CGENERAL", "declare Socket bench").await;
        socket
            .interaction(conn, declare_submission(DECLARER, "V-bench", &DeclareInput::default()))
            .await;
        let room = loop {
            if let Some(room) = app.room(1).await {
                break room;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        socket
            .interaction(conn, common::helpers::click_payload(SCRIBE, &room, "role.claim", "1|Scribe"))
            .await;
        app.wait_idle().await;
        let now = chrono::Utc::now();
        let messages: Vec<String> = (0..2 * N)
            .map(|i| app.slack.user_posts(&room, "UCAROL", &format!("observation {i}"), None, now))
            .collect();

        println!("Socket Mode, envelope sent by the fake -> ack read by the fake (release build, SQLite):");
        let events: Vec<_> = (0..N).map(|i| reaction(i, &room, &messages[i])).collect();
        report("  events_api reaction_added, one at a time", run(&socket, conn, "events_api", events, 1).await);
        let notes: Vec<_> = (0..N).map(|i| command_payload(DECLARER, &room, &format!("note bench {i}"))).collect();
        report("  slash_commands /incident note, one at a time", run(&socket, conn, "slash_commands", notes, 1).await);
        app.wait_idle().await;
        let events: Vec<_> = (N..2 * N).map(|i| reaction(i, &room, &messages[i])).collect();
        report(&format!("  events_api reaction_added, {IN_FLIGHT} in flight"), run(&socket, conn, "events_api", events, IN_FLIGHT).await);
        let notes: Vec<_> = (0..N).map(|i| command_payload(DECLARER, &room, &format!("note burst {i}"))).collect();
        report(&format!("  slash_commands /incident note, {IN_FLIGHT} in flight"), run(&socket, conn, "slash_commands", notes, IN_FLIGHT).await);
        app.wait_idle().await;
        let entries = app.ctx.store.timeline(warroom::domain::IncidentNumber::new(1)).await.unwrap().len();
        println!("timeline entries: {entries} (declaration, role, {} tags, {} notes)", 2 * N, 2 * N);
    });
}
