//! The weekly follow-up digest at scale: 2,000 owners with two open
//! follow-ups each. Reports what the digest adds to every scheduler wake
//! (`reminders::next_due`, which now also asks whether this week's digest
//! went out) and how long the one transaction that sends a week's digest
//! takes (the week's row and 2,000 direct-message jobs). Posting the
//! messages is left out: the client's rate control spaces posts, and each
//! DM is an ordinary job.
//!
//! Run: `cargo bench --bench digest` (prints figures; asserts nothing).

mod common;

use common::helpers::{DECLARER, Setup, TestApp, declaration};
use common::report;
use std::time::Instant;
use warroom::domain::UserId;
use warroom::store::NewFollowup;

const OWNERS: usize = 2_000;
const CALLS: usize = 1_000;

fn main() {
    let rt = common::runtime();
    rt.block_on(async {
        // Workers and scheduler off: the store alone is measured.
        let app = TestApp::spawn(Setup {
            workers: false,
            ..Setup::default()
        })
        .await;
        let ctx = app.ctx.clone();
        let now = ctx.clock.now();
        let d = declaration("Load");
        let (incident, _) = ctx
            .store
            .create_incident(
                &d,
                None,
                now,
                &warroom::domain::RoleName::new("Incident Lead"),
                Default::default(),
            )
            .await
            .unwrap();
        let seeded = Instant::now();
        for i in 0..OWNERS * 2 {
            let item = NewFollowup {
                incident: incident.number,
                text: format!("Action {i}"),
                owner: UserId(format!("U{:05}", i % OWNERS)),
                due: None,
                created_by: UserId(DECLARER.into()),
                remind_at: None,
            };
            ctx.store
                .add_followup(&item, now, Default::default())
                .await
                .unwrap();
        }
        println!(
            "seeded {} open follow-ups of {OWNERS} owners in {:.1?}",
            OWNERS * 2,
            seeded.elapsed()
        );

        let mut samples = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let t = Instant::now();
            warroom::reminders::next_due(&ctx).await.unwrap();
            samples.push(t.elapsed());
        }
        report("reminders::next_due (digest included)", samples);

        let week = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let t = Instant::now();
        let owners = ctx
            .store
            .fire_followup_digest(week, now, now)
            .await
            .unwrap();
        let took = t.elapsed();
        println!(
            "sending a week's digest (one transaction): {owners:?} owners queued in {took:.1?}"
        );
        let t = Instant::now();
        let again = ctx
            .store
            .fire_followup_digest(week, now, now)
            .await
            .unwrap();
        println!(
            "the same week again (another replica): {again:?} in {:.2?}",
            t.elapsed()
        );
        let queued = ctx.store.job_counts().await.unwrap().pending;
        println!("jobs pending: {queued}");
    });
}
