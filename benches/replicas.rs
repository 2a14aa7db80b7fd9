//! Two replicas of the real server on one PostgreSQL database, in real time:
//! 50 incidents whose reminders fall due every second or two for 30 s.
//! Reports how late reminders fired, how long their posts took to reach the
//! fake Slack, how the work split between replicas, and any reminder fired
//! or posted twice.
//!
//! Run: `WARROOM_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test
//! cargo bench --bench replicas` (prints figures; asserts nothing).

mod common;

use common::helpers::{DECLARER, DeclareInput, Setup, TestApp};
use common::pg::{TestDb, fast_reminders_on};
use common::report;
use std::collections::HashMap;
use std::time::Duration;

const INCIDENTS: usize = 50;
const RUN: Duration = Duration::from_secs(30);

fn main() {
    let rt = common::runtime();
    rt.block_on(async {
        let Some(db) = TestDb::from_env().await else {
            eprintln!("the replicas benchmark needs PostgreSQL: set {}", common::pg::VAR);
            return;
        };
        let env = || fast_reminders_on(&db.url);
        let setup = |replica_of| Setup {
            env: env(),
            real_clock: true,
            replica_of,
            ..Setup::default()
        };
        let a = TestApp::spawn(setup(None)).await;
        let b = TestApp::spawn(setup(Some((a.slack.clone(), a.clock.clone())))).await;
        for n in 0..INCIDENTS {
            let app = if n % 2 == 0 { &a } else { &b };
            let input = DeclareInput {
                title: format!("Outage {n}"),
                ..DeclareInput::default()
            };
            app.submit_declare(DECLARER, &format!("V-{n}"), input).await;
        }
        tokio::time::sleep(RUN).await;
        // Stop the reminders, then let the queued posts drain.
        let pool = sqlx::PgPool::connect(&db.url).await.expect("database");
        sqlx::query("UPDATE incidents SET nudge_at = NULL, due_at = NULL, scribe_at = NULL")
            .execute(&pool)
            .await
            .expect("stop reminders");
        a.wait_idle().await;

        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT incident_number, text, occurred_at FROM timeline_entries
             WHERE kind = 'reminder' ORDER BY incident_number, text, occurred_at",
        )
        .fetch_all(&pool)
        .await
        .expect("reminders");
        let declared: HashMap<i64, i64> =
            sqlx::query_as::<_, (i64, i64)>("SELECT number, declared_at FROM incidents")
                .fetch_all(&pool)
                .await
                .expect("incidents")
                .into_iter()
                .collect();
        // Lateness: the first of each kind against its due time from the
        // declaration; later ones against the interval since the previous.
        let mut late = Vec::new();
        let mut doubled = 0;
        let mut previous: Option<&(i64, String, i64)> = None;
        for row in &rows {
            let (incident, text, at) = row;
            let interval = if text.contains("quiet") { 3000 } else { 1000 };
            let due = match previous {
                Some((i, t, prev)) if i == incident && t == text => prev + interval,
                _ => {
                    let first = if text.contains("quiet") {
                        3000
                    } else if text.contains("welcome") {
                        1000
                    } else {
                        2000
                    };
                    declared.get(incident).copied().unwrap_or(*at) + first
                }
            };
            // A second replica firing the same reminder would show up as
            // one far sooner than its interval after the previous.
            if *at < due - 100 {
                doubled += 1;
            }
            late.push(Duration::from_millis((at - due).max(0) as u64));
            previous = Some(row);
        }
        let posted: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT created_at, finished_at FROM jobs WHERE kind = 'post_reminder' AND state = 'done'",
        )
        .fetch_all(&pool)
        .await
        .expect("jobs");
        let mut per_job: HashMap<String, usize> = HashMap::new();
        for call in a.slack.calls("chat.postMessage") {
            if let Some(job) = call.body["metadata"]["event_payload"]["job"].as_str() {
                *per_job.entry(job.to_string()).or_default() += 1;
            }
        }
        println!(
            "two replicas, {INCIDENTS} incidents, {}s: {} reminders fired (replica A {}, replica B {}), {} fired twice, {} Slack posts carried twice",
            RUN.as_secs(),
            rows.len(),
            a.metric_total("warroom_reminders_fired_total").await,
            b.metric_total("warroom_reminders_fired_total").await,
            doubled,
            per_job.values().filter(|n| **n > 1).count()
        );
        report("reminder fired after due", late);
        report(
            "reminder queued -> posted to Slack",
            posted
                .iter()
                .map(|(c, f)| Duration::from_millis((f - c).max(0) as u64))
                .collect(),
        );
        pool.close().await;
    });
}
