use super::*;
use crate::domain::{Entry, EntryKind, Incident, RoleCatalog, Status, UserId};
use chrono::TimeZone;

fn incident() -> Incident {
    Incident {
        number: crate::domain::IncidentNumber::new(3),
        title: "DB <primary> down".into(),
        severity: crate::domain::SeverityName::new("SEV1"),
        status: Status::Investigating,
        summary: String::new(),
        security: false,
        drill: false,
        private: false,
        declared_by: UserId("U1".into()),
        declared_at: chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 23, 50, 0)
            .unwrap(),
        impact_started_at: None,
        detected_at: None,
        mitigated_at: None,
        resolved_at: None,
        closed_at: None,
        origin_channel: crate::domain::ChannelId::new("C0"),
        announce_channel: crate::domain::ChannelId::new("C0"),
        channel_id: Some(crate::domain::ChannelId::new("C1")),
        channel_name: None,
        board_ts: None,
        announce_ts: None,
        last_update_at: None,
        schedule: Default::default(),
        assessment: None,
    }
}

fn entry(id: i64, at: chrono::DateTime<chrono::Utc>, kind: EntryKind, text: &str) -> Entry {
    Entry {
        id,
        occurred_at: at,
        kind,
        author: None,
        author_name: (kind == EntryKind::Message).then(|| "Ann".to_string()),
        text: text.into(),
        slack_ts: None,
        permalink: (kind == EntryKind::Message)
            .then(|| "https://acme.slack.com/archives/C1/p1".to_string()),
        fetched: true,
        added_by: None,
    }
}

#[test]
fn one_day_shows_times_only() {
    let t = chrono::Utc
        .with_ymd_and_hms(2026, 11, 23, 23, 50, 0)
        .unwrap();
    let view = timeline(
        &incident(),
        &[
            entry(1, t, EntryKind::Declared, "declared"),
            entry(
                2,
                t + chrono::Duration::minutes(5),
                EntryKind::Message,
                "errors spike",
            ),
        ],
        chrono_tz::UTC,
    );
    insta::assert_json_snapshot!(view);
}

#[test]
fn spanning_midnight_shows_dates_in_the_configured_zone() {
    let t = chrono::Utc
        .with_ymd_and_hms(2026, 11, 23, 23, 50, 0)
        .unwrap();
    let entries = [
        entry(1, t, EntryKind::Declared, "declared"),
        entry(
            2,
            t + chrono::Duration::minutes(20),
            EntryKind::Mitigated,
            "rolled back",
        ),
    ];
    let view = timeline(&incident(), &entries, chrono_tz::UTC);
    let json = serde_json::to_string(&view).unwrap();
    assert!(
        json.contains("{date_short} {time}|2026-11-23 23:50 UTC"),
        "{json}"
    );
    assert!(json.contains("2026-11-24 00:10 UTC"));
    assert!(json.contains("*[mitigated]*"));
    // In Tokyo both entries fall on the 24th: no dates.
    let json =
        serde_json::to_string(&timeline(&incident(), &entries, chrono_tz::Asia::Tokyo)).unwrap();
    assert!(!json.contains("date_short"), "{json}");
    assert!(json.contains("08:50 JST"));
}

#[test]
fn long_timelines_stay_within_block_kit_limits() {
    let t = chrono::Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    let entries: Vec<Entry> = (0..2000)
        .map(|i| {
            entry(
                i,
                t + chrono::Duration::seconds(i),
                EntryKind::Note,
                &"x".repeat(if i == 0 { 10_000 } else { 200 }),
            )
        })
        .collect();
    let view = timeline(&incident(), &entries, chrono_tz::UTC);
    let blocks = view.blocks.as_ref().unwrap();
    assert!(blocks.len() <= MAX_BLOCKS);
    for b in blocks {
        let json = serde_json::to_value(b).unwrap();
        if let Some(text) = json["text"]["text"].as_str() {
            assert!(text.chars().count() <= SECTION_TEXT_MAX);
        }
    }
    let last = serde_json::to_string(blocks.last().unwrap()).unwrap();
    assert!(last.contains("later entries are not shown"), "{last}");
}

fn scribe_checklist() -> crate::domain::checklist::Checklist {
    crate::domain::checklist::Checklist {
        id: crate::domain::ChecklistId::new(4),
        incident: crate::domain::IncidentNumber::new(3),
        role: crate::domain::RoleName::new("Scribe"),
        holder: UserId("U2".into()),
        tasks: crate::domain::roles::default_tasks("Scribe"),
        done: [1].into_iter().collect(),
        ts: None,
        cadence_at: None,
        since: chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 23, 50, 0)
            .unwrap(),
    }
}

#[test]
fn a_checklist_has_a_checkbox_per_task() {
    insta::assert_json_snapshot!(checklist(&incident(), &scribe_checklist()));
}

#[test]
fn the_biggest_checklist_stays_within_block_kit_limits() {
    use crate::domain::checklist::{CadenceTasks, MAX_TASK_CHARS, MAX_TASKS, Tasks};
    let task = |i: usize| format!("{i} {}", "<&>".repeat(MAX_TASK_CHARS));
    let mut list = scribe_checklist();
    list.tasks = Tasks {
        start: (0..MAX_TASKS - 2).map(task).collect(),
        during: vec![task(98)],
        cadence: Some(CadenceTasks {
            every: std::time::Duration::from_secs(600),
            tasks: vec![task(99)],
        }),
    };
    let content = checklist(&incident(), &list);
    let blocks = content.blocks.as_ref().unwrap();
    assert!(blocks.len() <= MAX_BLOCKS, "{}", blocks.len());
    let json = serde_json::to_value(&content).unwrap();
    let mut ids = std::collections::HashSet::new();
    for b in json["blocks"].as_array().unwrap() {
        if let Some(text) = b["text"]["text"].as_str() {
            assert!(text.chars().count() <= SECTION_TEXT_MAX);
        }
        if let Some(id) = b["block_id"].as_str() {
            assert!(ids.insert(id.to_string()), "{id} twice");
        }
    }
}

#[test]
fn the_internal_summary_takes_the_window_only() {
    let t = chrono::Utc
        .with_ymd_and_hms(2026, 11, 23, 23, 50, 0)
        .unwrap();
    let entries = [
        entry(
            1,
            t - chrono::Duration::minutes(1),
            EntryKind::Note,
            "old news",
        ),
        entry(
            2,
            t,
            EntryKind::Status,
            "Status changed from investigating to identified",
        ),
        entry(
            3,
            t + chrono::Duration::minutes(3),
            EntryKind::Message,
            "errors down",
        ),
    ];
    let text = internal_summary(&incident(), &entries, t, chrono_tz::UTC);
    assert!(!text.contains("old news"), "{text}");
    assert!(text.contains("*Changes of state:*\n• "), "{text}");
    assert!(text.contains("errors down"));
    assert!(text.contains("not described yet"));
    assert!(text.contains("• 23:50 UTC Status changed"), "{text}");
    let quiet = internal_summary(&incident(), &[], t, chrono_tz::UTC);
    assert!(quiet.contains("*Milestones:* none"), "{quiet}");
}

#[test]
fn the_bridge_button_goes_beside_the_board_heading() {
    let roles = RoleCatalog::new(RoleCatalog::defaults()).unwrap();
    let board = role_board(&incident(), &[], &roles, false);
    let blocks = board.blocks.as_ref().map(Vec::len);
    let with = with_bridge(board.clone(), Some("https://meet.example.com/inc-3"));
    assert_eq!(with.blocks.as_ref().map(Vec::len), blocks, "no extra block");
    let json = serde_json::to_value(&with).unwrap();
    assert_eq!(
        json["blocks"][0]["accessory"]["url"],
        "https://meet.example.com/inc-3"
    );
    assert_eq!(with_bridge(board.clone(), None), board);
    assert_eq!(with_bridge(board.clone(), Some("not a url")), board);
}

fn followup(
    id: i64,
    text: &str,
    due: Option<&str>,
    done: bool,
) -> crate::domain::followups::Followup {
    let at = chrono::Utc
        .with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
        .unwrap();
    crate::domain::followups::Followup {
        id: crate::domain::FollowupId::new(id),
        incident: crate::domain::IncidentNumber::new(3),
        text: text.into(),
        owner: UserId("UBOB".into()),
        due: due.map(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()),
        created_by: UserId("U1".into()),
        created_at: at,
        done_at: done.then_some(at),
        done_by: done.then(|| UserId("UBOB".into())),
    }
}

#[test]
fn the_weekly_digest_marks_overdue_items_and_has_a_done_button_each() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let items = [
        followup(7, "Alert on checkout 5xx", Some("2026-11-20"), false),
        followup(
            9,
            "Raise the pool size &lt;now&gt;",
            Some("2026-12-01"),
            false,
        ),
        followup(12, "Write the runbook", None, false),
    ];
    let digest = followup_digest(&items, today);
    insta::assert_json_snapshot!(digest);
    let json = serde_json::to_string(&digest).unwrap();
    assert!(json.contains("(3, 1 overdue)"), "{json}");
    assert_eq!(json.matches("followup.done|").count(), 3);
}

#[test]
fn the_followup_form() {
    let view = followup_modal(&incident(), &UserId("UBOB".into()));
    insta::assert_json_snapshot!(view);
}

#[test]
fn the_postmortem_summary_offers_to_add_a_followup() {
    let content = postmortem_summary(&incident(), &[], &[], "inc-3-postmortem.md");
    insta::assert_json_snapshot!(content);
    let json = serde_json::to_value(&content).unwrap();
    let button = &json["blocks"].as_array().unwrap().last().unwrap()["elements"][0];
    assert_eq!(button["action_id"], ACTION_ADD_FOLLOWUP);
    assert_eq!(button["value"], "3");
}

#[test]
fn the_nudge_states_the_configured_cadence() {
    use crate::domain::comms::{Cadence, ReminderKind};
    let people = crate::domain::comms::ReminderPeople {
        comms: UserId("U2".into()),
        lead: UserId("U1".into()),
        scribe: UserId("U3".into()),
        assist: None,
    };
    let since = chrono::Utc
        .with_ymd_and_hms(2026, 11, 23, 23, 50, 0)
        .unwrap();
    let nudge = |nudge: i64, due: i64| {
        let cadence = Cadence {
            nudge_after: chrono::Duration::minutes(nudge),
            due_after: chrono::Duration::minutes(due),
            scribe_quiet_after: chrono::Duration::minutes(20),
        };
        let content = reminder(
            &incident(),
            ReminderKind::Nudge,
            &cadence,
            &people,
            since,
            &[],
            chrono_tz::UTC,
        );
        serde_json::to_string(&content).unwrap()
    };
    let default = nudge(30, 60);
    assert!(
        default.contains(
            "Keep them at least 30 minutes apart, and never let an hour pass without one."
        ),
        "{default}"
    );
    let custom = nudge(15, 90);
    assert!(
        custom.contains(
            "Keep them at least 15 minutes apart, and never let 1 hour 30 minutes pass without one."
        ),
        "{custom}"
    );
    assert!(nudge(120, 180).contains("at least 2 hours apart, and never let 3 hours pass"));
}

/// Block Kit's mrkdwn text is built in one place, `format::md`, which takes
/// a `Mrkdwn`; a message's fallback text in one other, `format::message`.
/// A renderer that built either from a `String` would bypass the type, so
/// none may name what they are made of.
#[test]
fn mrkdwn_text_is_built_only_by_the_one_helper() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let blocks = src.join("slack").join("blocks");
    let helper = blocks.join("format.rs");
    let this = blocks.join("tests.rs");
    let mut offences = Vec::new();
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path == helper || path == this {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            let mut forbidden = vec!["SlackBlockMarkDownText", "MarkDown(", "md!("];
            if path.starts_with(&blocks) {
                forbidden.push("SlackMessageContent::new");
            }
            for (n, line) in source.lines().enumerate() {
                for word in forbidden.iter().filter(|w| line.contains(**w)) {
                    offences.push(format!("{}:{}: {word}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "build Block Kit text with format::md (and messages with format::message) from a Mrkdwn:\n{}",
        offences.join("\n")
    );
    let helper = std::fs::read_to_string(helper).unwrap();
    assert_eq!(helper.matches("SlackBlockMarkDownText::new").count(), 1);
    assert_eq!(helper.matches("SlackMessageContent::new").count(), 1);
}

#[test]
fn home_shows_twenty_follow_ups_and_counts_the_rest() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let tab = Home {
        followups: (1..=25)
            .map(|id| followup(id, "Alert on checkout 5xx", None, false))
            .collect(),
        ..Home::default()
    };
    let view = serde_json::to_string(&home(&tab, today)).unwrap();
    assert_eq!(view.matches("\"text\":\"Done\"").count(), 20, "{view}");
    assert!(
        view.contains("…and 5 more: `/incident followups`"),
        "{view}"
    );
}
