//! The reminder scheduler under load: 10,000 open incidents whose nudges
//! fall due across two minutes. Reports how late each fired (from its due
//! time to the commit that fired it and queued its post) and the process's
//! CPU while nothing is due. Posting to Slack is left out: those jobs stay
//! queued, since the client's rate control spaces posts a second apart.
//!
//! Run: `cargo bench --bench reminders` (prints figures; asserts nothing).

mod common;

use common::helpers::{Setup, TestApp, declaration};
use common::report;
use std::time::{Duration, Instant};
use warroom::store::{Effects, ScheduleOp};

const INCIDENTS: i64 = 10_000;
const SPREAD: Duration = Duration::from_secs(120);
const LEAD_IN: Duration = Duration::from_secs(45);

/// CPU time (user + system) this process has used.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

fn main() {
    let rt = common::runtime();
    rt.block_on(async {
        // Workers off: the scheduler alone is measured (started below).
        let app = TestApp::spawn(Setup { real_clock: true, workers: false, ..Setup::default() }).await;
        let ctx = app.ctx.clone();
        let seeded = Instant::now();
        let start = chrono::Utc::now() + chrono::Duration::from_std(LEAD_IN).unwrap();
        let mut due = Vec::with_capacity(INCIDENTS as usize);
        for i in 0..INCIDENTS {
            let at = start + chrono::Duration::milliseconds(i * SPREAD.as_millis() as i64 / INCIDENTS);
            let d = declaration(&format!("Load {i}"));
            let effects = Effects {
                schedule: vec![ScheduleOp::Comms { nudge_at: Some(at), due_at: None }, ScheduleOp::Scribe(None)],
                ..Effects::default()
            };
            let (incident, _) = ctx.store.create_incident(&d, None, chrono::Utc::now(), &warroom::domain::RoleName::new("Incident Lead"), effects).await.unwrap();
            ctx.store.record_channel(incident.number, &warroom::domain::ChannelId::new(format!("CLOAD{i}")), &format!("inc-{i}"), ctx.clock.now()).await.unwrap();
            due.push((incident.number, at));
        }
        println!("seeded {INCIDENTS} incidents in {:.1?}", seeded.elapsed());
        let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(warroom::reminders::run(ctx.clone(), stop_rx));

        // Idle: nothing due for a while.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle = Duration::from_secs(10);
        let (cpu0, t0) = (cpu_time(), Instant::now());
        tokio::time::sleep(idle).await;
        let used = cpu_time() - cpu0;
        println!(
            "idle, {INCIDENTS} reminders scheduled, none due: CPU {:.2?} over {:.1?} ({:.2} %)",
            used,
            t0.elapsed(),
            100.0 * used.as_secs_f64() / t0.elapsed().as_secs_f64()
        );

        // Wait until every reminder fired.
        let last = start + chrono::Duration::from_std(SPREAD).unwrap();
        let (cpu1, t1) = (cpu_time(), Instant::now());
        loop {
            let fired = app.count("SELECT COUNT(*) FROM timeline_entries WHERE kind = 'reminder'").await;
            if fired >= INCIDENTS && chrono::Utc::now() > last {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let busy = cpu_time() - cpu1;
        println!(
            "firing {INCIDENTS} reminders over {:.0?}: CPU {:.2?} over {:.1?} ({:.1} %, includes this bench's polling)",
            SPREAD,
            busy,
            t1.elapsed(),
            100.0 * busy.as_secs_f64() / t1.elapsed().as_secs_f64()
        );
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", app.db_path().display())).await.unwrap();
        let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT incident_number, occurred_at FROM timeline_entries WHERE kind = 'reminder'")
            .fetch_all(&pool)
            .await
            .unwrap();
        let fired: std::collections::HashMap<i64, i64> = rows.into_iter().collect();
        let late: Vec<Duration> = due
            .iter()
            .map(|(n, at)| Duration::from_millis((fired[&n.get()] - at.timestamp_millis()).max(0) as u64))
            .collect();
        let twice = app.count("SELECT COUNT(*) FROM (SELECT incident_number FROM timeline_entries WHERE kind = 'reminder' GROUP BY incident_number HAVING COUNT(*) > 1)").await;
        report(&format!("lateness of {INCIDENTS} reminders (due → fired)"), late);
        println!("incidents reminded more than once: {twice}");
    });
}
