//! Postmortem draft generation for an incident with 10,000 timeline entries
//! and 200 status updates: time to gather and render the Markdown, and the
//! size of the Slack summary message. Target: under 100 ms.
//!
//! Run: `cargo bench --bench postmortem` (prints figures; asserts nothing).

mod common;

use chrono::{TimeZone, Utc};
use common::report;
use std::time::Instant;
use warroom::domain::{Assignment, Entry, EntryKind, Incident, RoleCatalog, Status, UserId};
use warroom::postmortem::{Facts, Postmortems, draft};
use warroom::store::Communication;

const ENTRIES: i64 = 10_000;
const RUNS: usize = 20;

fn main() {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    let at = |i: i64| t0 + chrono::Duration::seconds(i * 3);
    let incident = Incident {
        number: warroom::domain::IncidentNumber::new(42),
        title: "Long incident".into(),
        severity: warroom::domain::SeverityName::new("SEV1"),
        status: Status::Closed,
        summary: "A long one.".into(),
        security: false,
        drill: false,
        private: false,
        declared_by: UserId("UALICE".into()),
        declared_at: t0,
        impact_started_at: Some(t0 - chrono::Duration::minutes(20)),
        detected_at: None,
        mitigated_at: Some(at(ENTRIES / 2)),
        resolved_at: Some(at(ENTRIES)),
        closed_at: Some(at(ENTRIES)),
        origin_channel: warroom::domain::ChannelId::new("C1"),
        announce_channel: warroom::domain::ChannelId::new("C1"),
        channel_id: Some(warroom::domain::ChannelId::new("C2")),
        channel_name: Some("inc-42-long-incident".into()),
        board_ts: None,
        announce_ts: None,
        last_update_at: None,
        schedule: Default::default(),
        assessment: None,
    };
    let kinds = [
        EntryKind::Message,
        EntryKind::Note,
        EntryKind::Decision,
        EntryKind::Status,
        EntryKind::Update,
    ];
    let timeline: Vec<Entry> = (0..ENTRIES)
        .map(|i| Entry {
            id: i,
            occurred_at: at(i),
            kind: kinds[(i % 5) as usize],
            author: Some(UserId("UBOB".into())),
            author_name: Some("Bob".into()),
            text: format!(
                "observation number {i}: error rate {}%, looking at shard {}",
                i % 17,
                i % 31
            ),
            slack_ts: None,
            permalink: Some(format!("https://acme.slack.com/archives/C2/p{i}")),
            fetched: true,
            added_by: None,
        })
        .collect();
    let comms: Vec<Communication> = (0..200)
        .map(|i| Communication {
            update_id: warroom::domain::UpdateId::new(i),
            posted_by: UserId("UCAROL".into()),
            recorded_at: at(i * 50),
            text: format!("Update {i}: still working on it."),
            channel: warroom::domain::ChannelId::new("C1"),
            audience: "announcement".into(),
            posted_at: Some(at(i * 50)),
            ts: None,
        })
        .collect();
    let roles = RoleCatalog::new(RoleCatalog::defaults()).unwrap();
    let assignments = [Assignment {
        role: warroom::domain::RoleName::new("Incident Lead"),
        user: UserId("UALICE".into()),
    }];
    let templates = Postmortems::load(None).unwrap();
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let names = warroom::slack::text::Names::default();
        let d = draft(&Facts {
            incident: &incident,
            assignments: &assignments,
            roles: &roles,
            timeline: &timeline,
            communications: &comms,
            timezone: chrono_tz::Europe::Paris,
            now: at(ENTRIES),
            names: &names,
        });
        let md = templates.render(&d).unwrap();
        times.push(started.elapsed());
        size = md.len();
    }
    report(
        &format!("draft for {ENTRIES} entries and 200 updates ({size} bytes of Markdown)"),
        times,
    );
    let summary = warroom::slack::blocks::postmortem_summary(
        &incident,
        &timeline,
        &comms,
        "inc-42-postmortem.md",
    );
    let json = serde_json::to_value(&summary).unwrap();
    let blocks = json["blocks"].as_array().unwrap();
    let longest = blocks
        .iter()
        .filter_map(|b| b["text"]["text"].as_str())
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(0);
    println!(
        "summary message: {} blocks (limit 50), longest section {longest} characters (limit 3000)",
        blocks.len()
    );
}
