//! Pacing and ordering under load, in real time, against the fake Slack:
//!
//! - `storm`: 20 incidents declared at once, the fake enforcing Slack's
//!   published rate limits (429 + Retry-After). Reports each role board's
//!   delay from its declaration, when the last of the 20 announcements (all
//!   in one channel) arrived against the floor Slack's limit sets, and how
//!   many calls Slack answered 429.
//! - `mixed`: open-loop load at 200 requests/s for 20 s (60 % scribe tags,
//!   20 % war-room chatter, 10 % notes, 10 % help) while every Web API call
//!   takes 500 ms. Latency is from each request's scheduled send time, so a
//!   slow answer delays nothing else's measurement.
//! - `replicas`: two replicas on PostgreSQL with default settings but a
//!   nudge after 2 s; 10 incidents declared at once. Reports each nudge's
//!   post against its due time. Needs `WARROOM_TEST_POSTGRES_URL`.
//!
//! - `shared`: 40 incidents declared at once over three replicas on
//!   PostgreSQL, the fake enforcing Slack's limits for the whole app:
//!   time to the last role board and the last announcement, against the
//!   floor `conversations.create` (Tier 2) sets, and answers of 429. Needs
//!   `WARROOM_TEST_POSTGRES_URL`.
//!
//! Run: `cargo bench --bench pacing -- storm|mixed|replicas|shared` (all
//! without an argument). Prints figures; asserts nothing.

mod common;

use common::helpers::{DECLARER, DeclareInput, ORIGIN, Setup, TestApp};
use common::report;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use warroom::clock::Clock;

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    let rt = common::runtime();
    rt.block_on(async {
        if run("storm") {
            storm().await;
        }
        if run("mixed") {
            mixed().await;
        }
        if run("replicas") {
            replicas().await;
        }
        if run("shared") {
            shared().await;
        }
    });
}

const STORM: usize = 20;
/// The burst the fake lets one channel post at once, as Slack's "short
/// bursts" (see `tests/it/fake_slack.rs`).
const FAKE_POST_BURST: u32 = 4;

async fn storm() {
    let app = Arc::new(
        TestApp::spawn(Setup {
            real_clock: true,
            ..Setup::default()
        })
        .await,
    );
    app.slack.enforce_limits(Clock::System);
    let started = Instant::now();
    let mut sent = Vec::new();
    for n in 0..STORM {
        let app = app.clone();
        sent.push(tokio::spawn(async move {
            let at = Instant::now();
            let input = DeclareInput {
                title: format!("Storm {n}"),
                ..DeclareInput::default()
            };
            let res = app
                .submit_declare(DECLARER, &format!("V-storm-{n}"), input)
                .await;
            assert_eq!(res.status(), 200);
            at
        }));
    }
    let mut declared_at = Vec::new();
    for s in sent {
        declared_at.push(s.await.expect("declared"));
    }
    let first = *declared_at.iter().min().expect("declarations");
    let last_declared = declared_at
        .iter()
        .max()
        .expect("declarations")
        .duration_since(started);
    // Poll the fake: when each room's board and the announcements arrive.
    let mut boards: HashMap<String, Duration> = HashMap::new();
    let mut announcements_done = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    while (boards.len() < STORM || announcements_done.is_none()) && Instant::now() < deadline {
        for room in app.slack.channel_named_like("inc-") {
            if !boards.contains_key(&room.id) && !app.slack.messages_in(&room.id).is_empty() {
                boards.insert(room.id.clone(), first.elapsed());
            }
        }
        if announcements_done.is_none() && app.slack.messages_in(ORIGIN).len() >= STORM {
            announcements_done = Some(first.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    app.wait_idle().await;
    let floor = Duration::from_secs(u64::from(STORM as u32 - FAKE_POST_BURST));
    println!(
        "storm: {STORM} incidents declared within {last_declared:.2?}; {} boards, {} announcements",
        boards.len(),
        app.slack.messages_in(ORIGIN).len()
    );
    report(
        "  role board posted, from the first declaration",
        boards.values().copied().collect(),
    );
    println!(
        "  all {STORM} announcements in one channel after {:.2?} (floor {floor:?}, target <= {:.1?})",
        announcements_done.unwrap_or_default(),
        floor.mul_f64(1.1) + Duration::from_secs(3)
    );
    println!(
        "  answers of 429: {}; boards posted twice: {}; announcements: {}",
        app.slack.throttled().len(),
        app.slack
            .channel_named_like("inc-")
            .iter()
            .filter(|r| app.slack.messages_in(&r.id).len() > 1)
            .count(),
        app.slack.messages_in(ORIGIN).len()
    );
}

const RATE: u64 = 200;
const MIXED_FOR: Duration = Duration::from_secs(20);
const SCRIBE: &str = "USCRIBE";

async fn mixed() {
    let app = Arc::new(
        TestApp::spawn(Setup {
            real_clock: true,
            ..Setup::default()
        })
        .await,
    );
    let room = app.declare("Mixed load", "SEV2").await;
    app.click(SCRIBE, &room, "role.claim", "1|Scribe").await;
    app.wait_idle().await;
    let total = (RATE * MIXED_FOR.as_secs()) as usize;
    let now = chrono::Utc::now();
    let messages: Arc<Vec<String>> = Arc::new(
        (0..total)
            .map(|i| {
                app.slack
                    .user_posts(&room, "UCAROL", &format!("observation {i}"), None, now)
            })
            .collect(),
    );
    app.slack.set_latency(Duration::from_millis(500));
    let interval = Duration::from_micros(1_000_000 / RATE);
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let mut handles = Vec::with_capacity(total);
    for i in 0..total {
        let scheduled = start + interval * i as u32;
        let (app, room, messages) = (app.clone(), room.clone(), messages.clone());
        handles.push(tokio::spawn(async move {
            tokio::time::sleep_until(scheduled).await;
            let status = match i % 10 {
                0..=5 => {
                    let ts = &messages[i];
                    app.event(
                        json!({
                            "token": "t", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                            "event_id": format!("EvMixed{i}"), "event_time": 1_700_000_000,
                            "event": {"type": "reaction_added", "user": SCRIBE, "reaction": "pushpin", "item_user": "UCAROL",
                                "item": {"type": "message", "channel": room, "ts": ts}, "event_ts": "1700000000.000100"}
                        }),
                        None,
                    )
                    .await
                    .status()
                }
                6 | 7 => app
                    .event(
                        json!({
                            "token": "t", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                            "event_id": format!("EvMixed{i}"), "event_time": 1_700_000_000,
                            "event": {"type": "message", "channel": room, "user": "UCAROL",
                                "text": format!("chatter {i}"), "ts": format!("1700000001.{i:06}")}
                        }),
                        None,
                    )
                    .await
                    .status(),
                8 => app
                    .command(DECLARER, &room, &format!("note observation {i}"))
                    .await
                    .status(),
                _ => app.command(DECLARER, &room, "help").await.status(),
            };
            (i % 10, status, scheduled.elapsed())
        }));
    }
    let mut by_kind: HashMap<&str, Vec<Duration>> = HashMap::new();
    let mut all = Vec::with_capacity(total);
    let mut failed = 0;
    for h in handles {
        let (kind, status, took) = h.await.expect("request");
        if !status.is_success() {
            failed += 1;
        }
        let name = match kind {
            0..=5 => "tag",
            6 | 7 => "chatter",
            8 => "note",
            _ => "help",
        };
        by_kind.entry(name).or_default().push(took);
        all.push(took);
    }
    let over_3s = all.iter().filter(|d| **d > Duration::from_secs(3)).count();
    println!(
        "mixed: {total} requests at {RATE}/s open loop, every Web API call taking 500 ms; {failed} not answered 2xx, {over_3s} over 3 s"
    );
    report("  ack, all (from scheduled send time)", all);
    for name in ["tag", "chatter", "note", "help"] {
        if let Some(samples) = by_kind.remove(name) {
            report(&format!("  ack, {name}"), samples);
        }
    }
    let counts = app.ctx.store.job_counts().await.expect("counts");
    println!(
        "  jobs at the end of the load: {} pending, {} running, {} done",
        counts.pending, counts.running, counts.done
    );
}

const REPLICA_INCIDENTS: usize = 10;

async fn replicas() {
    let Some(db) = common::pg::TestDb::from_env().await else {
        eprintln!(
            "the pacing replicas benchmark needs PostgreSQL: set {}",
            common::pg::VAR
        );
        return;
    };
    let env = || {
        vec![
            ("WARROOM_DATABASE_URL", db.url.clone()),
            ("WARROOM_REMINDERS__COMMS_NUDGE_AFTER", "2s".to_string()),
        ]
    };
    let setup = |replica_of| Setup {
        env: env(),
        real_clock: true,
        replica_of,
        ..Setup::default()
    };
    let a = TestApp::spawn(setup(None)).await;
    let b = TestApp::spawn(setup(Some((a.slack.clone(), a.clock.clone())))).await;
    a.slack.enforce_limits(Clock::System);
    for n in 0..REPLICA_INCIDENTS {
        let app = if n % 2 == 0 { &a } else { &b };
        let input = DeclareInput {
            title: format!("Replicated {n}"),
            ..DeclareInput::default()
        };
        let res = app
            .submit_declare(DECLARER, &format!("V-rep-{n}"), input)
            .await;
        assert_eq!(res.status(), 200);
    }
    tokio::time::sleep(Duration::from_secs(8)).await;
    let pool = sqlx::PgPool::connect(&db.url).await.expect("database");
    let rows: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT i.number, i.declared_at, MIN(j.finished_at) FROM incidents i
         LEFT JOIN jobs j ON j.incident_number = i.number AND j.kind = 'post_reminder' AND j.state = 'done'
         GROUP BY i.number, i.declared_at ORDER BY i.number",
    )
    .fetch_all(&pool)
    .await
    .expect("reminders");
    let posted: Vec<Duration> = rows
        .iter()
        .filter_map(|(_, declared, done)| {
            done.map(|d| Duration::from_millis((d - declared - 2000).max(0) as u64))
        })
        .collect();
    println!(
        "replicas: two on PostgreSQL, default settings, nudge after 2 s, {REPLICA_INCIDENTS} incidents: {} of {} nudges posted within 8 s; 429 answers: {}",
        posted.len(),
        rows.len(),
        a.slack.throttled().len()
    );
    if !posted.is_empty() {
        report("  nudge posted after its due time", posted);
    }
    pool.close().await;
}

const SHARED_STORM: usize = 40;

async fn shared() {
    let Some(db) = common::pg::TestDb::from_env().await else {
        eprintln!(
            "the shared pacing benchmark needs PostgreSQL: set {}",
            common::pg::VAR
        );
        return;
    };
    let setup = |replica_of| Setup {
        env: vec![("WARROOM_DATABASE_URL", db.url.clone())],
        real_clock: true,
        replica_of,
        ..Setup::default()
    };
    let a = Arc::new(TestApp::spawn(setup(None)).await);
    let b = Arc::new(TestApp::spawn(setup(Some((a.slack.clone(), a.clock.clone())))).await);
    let c = Arc::new(TestApp::spawn(setup(Some((a.slack.clone(), a.clock.clone())))).await);
    a.slack.enforce_limits(Clock::System);
    let apps = [a.clone(), b.clone(), c.clone()];
    let first = Instant::now();
    let mut sent = Vec::new();
    for n in 0..SHARED_STORM {
        let app = apps[n % 3].clone();
        sent.push(tokio::spawn(async move {
            let input = DeclareInput {
                title: format!("Shared {n}"),
                ..DeclareInput::default()
            };
            let res = app
                .submit_declare(DECLARER, &format!("V-shared-{n}"), input)
                .await;
            assert_eq!(res.status(), 200);
        }));
    }
    for s in sent {
        s.await.expect("declared");
    }
    let (mut last_board, mut last_announcement) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(300);
    while (last_board.is_none() || last_announcement.is_none()) && Instant::now() < deadline {
        let rooms = a.slack.channel_named_like("inc-");
        if last_board.is_none()
            && rooms.len() >= SHARED_STORM
            && rooms.iter().all(|r| !a.slack.messages_in(&r.id).is_empty())
        {
            last_board = Some(first.elapsed());
        }
        if last_announcement.is_none() && a.slack.messages_in(ORIGIN).len() >= SHARED_STORM {
            last_announcement = Some(first.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // conversations.create, Tier 2 in the fake: 20 at once, then one
    // every 3 s.
    let floor = Duration::from_secs(3 * (SHARED_STORM as u64 - 20));
    println!(
        "shared: {SHARED_STORM} incidents declared at once over three replicas on PostgreSQL, the fake enforcing Slack's limits for the whole app"
    );
    println!(
        "  last role board after {:.2?} (conversations.create floor {floor:?}, target <= {:.1?}); last announcement after {:.2?}",
        last_board.unwrap_or_default(),
        floor.mul_f64(1.1),
        last_announcement.unwrap_or_default()
    );
    println!(
        "  answers of 429: {} {:?}; boards posted twice: {}",
        a.slack.throttled().len(),
        a.slack
            .throttled()
            .iter()
            .map(|c| c.method.clone())
            .collect::<Vec<_>>(),
        a.slack
            .channel_named_like("inc-")
            .iter()
            .filter(|r| a.slack.messages_in(&r.id).len() > 1)
            .count()
    );
}
