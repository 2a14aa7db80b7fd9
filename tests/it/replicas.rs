//! Two replicas of the real server on one PostgreSQL database, sharing the
//! fake Slack and one manual clock: both wake for every due reminder and
//! race to fire it. Runs when `WARROOM_TEST_POSTGRES_URL` is set.

use crate::helpers::{DECLARER, DeclareInput, Setup, TestApp};
use crate::pg::{TestDb, fast_reminders_on};
use std::collections::HashMap;
use std::time::Duration;

const INCIDENTS: usize = 50;
const SECONDS: u32 = 10;

#[ignore = "needs WARROOM_TEST_POSTGRES_URL (a PostgreSQL server); .ci/run sets it"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_send_every_reminder_once() {
    let db = TestDb::create("two_replicas_send_every_reminder_once").await;
    let env = || fast_reminders_on(&db.url);
    let a = TestApp::spawn(Setup {
        env: env(),
        ..Setup::default()
    })
    .await;
    let b = TestApp::spawn(Setup {
        env: env(),
        replica_of: Some((a.slack.clone(), a.clock.clone())),
        ..Setup::default()
    })
    .await;

    // Declarations arrive at either replica.
    for n in 0..INCIDENTS {
        let app = if n % 2 == 0 { &a } else { &b };
        let input = DeclareInput {
            title: format!("Outage {n}"),
            ..DeclareInput::default()
        };
        let res = app.submit_declare(DECLARER, &format!("V-{n}"), input).await;
        assert_eq!(res.status(), 200);
    }
    a.settle().await;
    assert_eq!(a.slack.channel_named_like("inc-").len(), INCIDENTS);
    assert_eq!(a.slack.calls("conversations.create").len(), INCIDENTS);

    // Ten seconds of reminders, a second at a time; both replicas wake.
    for _ in 0..SECONDS {
        a.clock.advance(Duration::from_secs(1));
        a.settle().await;
        b.settle().await;
    }

    // Each incident: the nudge at 1 s; firm reminders at 2 s and every
    // second after (the gap between nudge and firm); the scribe at 3, 6, 9 s.
    let per_incident = 1 + (SECONDS - 1) + SECONDS / 3;
    let expected = i64::from(per_incident) * INCIDENTS as i64;
    let entries = a
        .count("SELECT COUNT(*) FROM timeline_entries WHERE kind = 'reminder'")
        .await;
    let doubled = a
        .count(
            "SELECT COUNT(*) FROM (SELECT 1 FROM timeline_entries WHERE kind = 'reminder'
             GROUP BY incident_number, text, occurred_at HAVING COUNT(*) > 1) AS d",
        )
        .await;
    let posted_jobs = a
        .count("SELECT COUNT(*) FROM jobs WHERE kind = 'post_reminder' AND state = 'done'")
        .await;
    let unfinished = a
        .count("SELECT COUNT(*) FROM jobs WHERE state <> 'done'")
        .await;

    // What Slack received: reminder posts, told apart by their job's kind.
    let reminder_jobs: Vec<i64> = {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        let ids = sqlx::query_scalar("SELECT id FROM jobs WHERE kind = 'post_reminder'")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        ids
    };
    let mut posts_per_job: HashMap<i64, usize> = HashMap::new();
    for call in a.slack.calls("chat.postMessage") {
        let job = call.body["metadata"]["event_payload"]["job"]
            .as_str()
            .and_then(|j| j.parse::<i64>().ok());
        if let Some(job) = job.filter(|j| reminder_jobs.contains(j)) {
            *posts_per_job.entry(job).or_default() += 1;
        }
    }
    let (by_a, by_b) = (
        a.metric_total("warroom_reminders_fired_total").await,
        b.metric_total("warroom_reminders_fired_total").await,
    );
    eprintln!(
        "two replicas, {INCIDENTS} incidents, {SECONDS} s: expected {expected} reminders; \
         timeline {entries}, post jobs done {posted_jobs}, Slack posts {}; \
         fired by replica A {by_a}, by replica B {by_b}",
        posts_per_job.values().sum::<usize>()
    );
    assert_eq!(doubled, 0, "a reminder fired twice");
    assert_eq!(entries, expected, "every reminder on the timeline once");
    assert_eq!(posted_jobs, expected);
    assert_eq!(unfinished, 0);
    assert_eq!(
        posts_per_job.len() as i64,
        expected,
        "every reminder posted"
    );
    assert!(
        posts_per_job.values().all(|n| *n == 1),
        "a reminder was posted twice"
    );
    assert_eq!(by_a + by_b, expected as u64);
}

#[ignore = "needs WARROOM_TEST_POSTGRES_URL (a PostgreSQL server); .ci/run sets it"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_racing_for_one_role_leave_one_holder() {
    let db = TestDb::create("two_replicas_racing_for_one_role_leave_one_holder").await;
    let a = std::sync::Arc::new(
        TestApp::spawn(Setup {
            env: fast_reminders_on(&db.url),
            ..Setup::default()
        })
        .await,
    );
    let b = std::sync::Arc::new(
        TestApp::spawn(Setup {
            env: fast_reminders_on(&db.url),
            replica_of: Some((a.slack.clone(), a.clock.clone())),
            ..Setup::default()
        })
        .await,
    );
    let room = a.declare("Checkout returns 500", "SEV2").await;
    // Twenty people click Claim on Incident Lead at once, half of the
    // clicks reaching each replica. Each reads the holder and replaces it;
    // without a lock on the incident two of them would both win.
    let mut clicks = tokio::task::JoinSet::new();
    for n in 0..20 {
        let app = if n % 2 == 0 { a.clone() } else { b.clone() };
        let room = room.clone();
        clicks.spawn(async move {
            app.click(&format!("U{n:02}"), &room, "role.claim", "1|Incident Lead")
                .await
                .status()
        });
    }
    assert!(clicks.join_all().await.iter().all(|s| s.is_success()));
    a.settle().await;
    assert_eq!(
        a.count("SELECT COUNT(*) FROM role_assignments WHERE role = 'Incident Lead'")
            .await,
        1,
        "one Incident Lead"
    );
    // The timeline agrees: the last hand-over names the one holder.
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let holder: String =
        sqlx::query_scalar("SELECT user_id FROM role_assignments WHERE role = 'Incident Lead'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let last: String = sqlx::query_scalar(
        "SELECT text FROM timeline_entries WHERE kind = 'role' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert!(
        last.starts_with(&format!("<@{holder}>")),
        "{last} / {holder}"
    );
}
