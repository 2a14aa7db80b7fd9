//! The communication lead's reminders, status updates and the
//! communications timeline, on a clock the test moves.

use crate::helpers::*;
use serde_json::{Value, json};

const COMMS: &str = "UCOMMS";
const SCRIBE: &str = "USCRIBE";
const ASSIST: &str = "UASSIST";

/// The reminders the war room received, as (kind, whole message JSON).
fn reminders(app: &TestApp, room: &str) -> Vec<(String, String)> {
    app.slack
        .messages_in(room)
        .iter()
        .filter_map(|m| {
            let text = m.body["text"].as_str()?;
            let kind = text.split("reminder: ").nth(1)?;
            Some((kind.to_string(), m.body.to_string()))
        })
        .collect()
}

/// The communication reminders (nudge, due) the war room received, in order.
fn kinds(app: &TestApp, room: &str) -> Vec<String> {
    reminders(app, room)
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k != "scribe_quiet")
        .collect()
}

async fn war_room(app: &TestApp) -> String {
    let room = app.declare("Checkout errors", "SEV2").await;
    app.click(COMMS, &room, "role.claim", "1|Communication Lead")
        .await;
    app.settle().await;
    room
}

#[tokio::test]
async fn a_nudge_at_30_minutes_then_a_firm_reminder_at_60() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = war_room(&app).await;
    app.advance(minutes(29)).await;
    assert!(kinds(&app, &room).is_empty());
    app.advance(minutes(1)).await;
    assert_eq!(kinds(&app, &room), ["nudge"]);
    let (_, nudge) = &reminders(&app, &room)[0];
    assert!(nudge.contains(&format!("<@{COMMS}>")), "{nudge}");
    assert!(!nudge.contains(&format!("<@{DECLARER}> a status update")));
    assert!(
        nudge.contains("update.open")
            && nudge.contains("reminder.snooze.15")
            && nudge.contains("reminder.snooze.30")
    );

    app.advance(minutes(30)).await;
    assert_eq!(kinds(&app, &room), ["nudge", "due"]);
    let (_, firm) = &reminders(&app, &room)[1];
    assert!(
        firm.contains(&format!("<@{COMMS}>")) && firm.contains(&format!("<@{DECLARER}>")),
        "names both leads: {firm}"
    );
    assert!(firm.contains("*due*"));

    // Still silent: the firm reminder repeats every 30 minutes, not more.
    app.advance(minutes(29)).await;
    assert_eq!(kinds(&app, &room).len(), 2);
    app.advance(minutes(1)).await;
    assert_eq!(kinds(&app, &room), ["nudge", "due", "due"]);
    let entries = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    let comms_reminders = entries
        .iter()
        .filter(|e| {
            e.kind == warroom::domain::EntryKind::Reminder && e.text.contains("status update")
        })
        .count();
    assert_eq!(comms_reminders, 3, "each reminder is on the timeline");
}

#[tokio::test]
async fn without_a_communication_lead_the_incident_lead_is_reminded() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Search down", "SEV2").await;
    app.advance(minutes(30)).await;
    let (_, nudge) = &reminders(&app, &room)[0];
    assert!(nudge.contains(&format!("<@{DECLARER}>")), "{nudge}");
}

#[tokio::test]
async fn an_update_resets_both_clocks_and_goes_to_announcement_and_war_room() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = war_room(&app).await;
    app.advance(minutes(20)).await;
    let answer = app
        .command_json(
            COMMS,
            &room,
            "update Rolled back the deploy; error rate falling.",
        )
        .await;
    assert_eq!(answer["response_type"], "ephemeral");
    app.settle().await;
    let announced: Vec<String> = app
        .slack
        .messages_in(ORIGIN)
        .iter()
        .map(|m| m.body.to_string())
        .collect();
    assert_eq!(announced.len(), 2, "the announcement and the update");
    assert!(
        announced[1].contains("Rolled back the deploy") && announced[1].contains("status update")
    );
    assert!(
        app.slack
            .messages_in(&room)
            .iter()
            .any(|m| m.body.to_string().contains("Rolled back the deploy")),
        "copy in the war room"
    );

    app.advance(minutes(29)).await; // 49 min after declaring, 29 after the update
    assert!(kinds(&app, &room).is_empty());
    app.advance(minutes(1)).await;
    assert_eq!(kinds(&app, &room), ["nudge"]);
    app.advance(minutes(30)).await;
    assert_eq!(kinds(&app, &room), ["nudge", "due"]);

    let comms = app
        .ctx
        .store
        .communications(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    assert_eq!(comms.len(), 2);
    assert_eq!(comms[0].channel.as_str(), ORIGIN);
    assert_eq!(comms[0].audience, "announcement");
    assert_eq!(comms[1].channel.as_str(), room);
    assert_eq!(comms[0].posted_by.0, COMMS);
    assert_eq!(
        comms[0].recorded_at,
        start_time() + chrono::Duration::minutes(20)
    );
    assert!(
        comms
            .iter()
            .all(|c| c.ts.is_some() && c.posted_at.is_some())
    );
}

#[tokio::test]
async fn the_digest_holds_exactly_the_entries_since_the_last_update() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = war_room(&app).await;
    app.command_json(SCRIBE, &room, "note before the update")
        .await;
    app.advance(minutes(10)).await;
    app.command_json(COMMS, &room, "update investigating").await;
    app.advance(minutes(5)).await;
    app.command_json(SCRIBE, &room, "note one after").await;
    app.advance(minutes(5)).await;
    app.command_json(SCRIBE, &room, "note two after").await;
    app.advance(minutes(20)).await; // 30 min after the update
    let all = reminders(&app, &room);
    assert_eq!(all.len(), 1);
    let nudge = &all[0].1;
    assert!(nudge.contains("Since the last update (2)"), "{nudge}");
    assert!(
        nudge.contains(&format!("<@{SCRIBE}>: one after")) && nudge.contains("two after"),
        "{nudge}"
    );
    assert!(!nudge.contains("before the update") && !nudge.contains("declared the incident"));
}

#[tokio::test]
async fn snooze_pushes_the_reminders_back() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = war_room(&app).await;
    app.advance(minutes(45)).await;
    assert_eq!(kinds(&app, &room), ["nudge"]);
    let res = app.click(COMMS, &room, "reminder.snooze.30", "1|30").await;
    assert_eq!(res.status(), 200);
    app.settle().await;
    app.advance(minutes(15)).await; // 60 min: the firm reminder was due, now 75
    assert_eq!(kinds(&app, &room), ["nudge"]);
    app.advance(minutes(15)).await;
    assert_eq!(kinds(&app, &room), ["nudge", "due"]);
    let timeline = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    assert!(timeline.iter().any(|e| {
        e.text
            .contains("snoozed the update reminders for 30 minutes")
    }));
}

#[tokio::test]
async fn per_severity_cadence() {
    let app = TestApp::spawn(Setup {
        toml: r#"
[[severities]]
name = "SEV1"
description = "Critical"
comms_nudge_after = "15m"
comms_due_after = "30m"

[[severities]]
name = "SEV2"
description = "Major"
"#,
        ..Setup::default()
    })
    .await;
    let room = app.declare("Everything is down", "SEV1").await;
    app.advance(minutes(15)).await;
    assert_eq!(kinds(&app, &room), ["nudge"]);
    app.advance(minutes(15)).await;
    assert_eq!(kinds(&app, &room), ["nudge", "due"]);

    // Down to SEV2: the default 30/60 cadence from the declaration.
    let room2 = app.declare("Slow search", "SEV1").await;
    app.advance(minutes(5)).await;
    app.command_json(DECLARER, &room2, "severity sev2").await;
    app.advance(minutes(20)).await; // 25 min after declaring
    assert!(kinds(&app, &room2).is_empty());
    app.advance(minutes(5)).await;
    assert_eq!(kinds(&app, &room2), ["nudge"]);
}

#[tokio::test]
async fn the_scribe_is_prompted_after_a_quiet_timeline() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = war_room(&app).await;
    app.click(SCRIBE, &room, "role.claim", "1|Scribe").await;
    app.click(ASSIST, &room, "role.claim", "1|Technical Assist")
        .await;
    app.settle().await;
    // The last claim restarted the quiet clock; notes keep it from firing.
    app.advance(minutes(40)).await;
    app.command_json(SCRIBE, &room, "note pods restarting")
        .await;
    app.advance(minutes(44)).await;
    assert!(!kinds(&app, &room).contains(&"scribe_quiet".to_string()));
    app.advance(minutes(1)).await;
    let prompts: Vec<String> = reminders(&app, &room)
        .into_iter()
        .filter(|(k, _)| k == "scribe_quiet")
        .map(|(_, b)| b)
        .collect();
    assert_eq!(prompts.len(), 1);
    assert!(
        prompts[0].contains(&format!("<@{SCRIBE}>"))
            && prompts[0].contains(&format!("<@{ASSIST}>")),
        "{}",
        prompts[0]
    );
}

#[tokio::test]
async fn nothing_after_resolve_and_again_after_reopening() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = war_room(&app).await;
    app.advance(minutes(10)).await;
    app.command_json(DECLARER, &room, "status resolved").await;
    app.advance(minutes(180)).await;
    assert!(kinds(&app, &room).is_empty());
    assert_eq!(app.ctx.store.next_reminder_due().await.unwrap(), None);
    app.command_json(DECLARER, &room, "status investigating")
        .await;
    app.advance(minutes(30)).await;
    assert_eq!(kinds(&app, &room), ["nudge"]);
}

#[tokio::test]
async fn a_reminder_that_fell_due_while_down_is_sent_once() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = war_room(&app).await;
    // The process is down for three hours.
    let app = app.restart(false).await;
    app.clock.advance(minutes(180));
    let app = app.restart(true).await;
    app.settle().await;
    let k = kinds(&app, &room);
    assert_eq!(k.iter().filter(|k| *k == "due").count(), 1, "{k:?}");
    assert_eq!(
        k.iter().filter(|k| *k == "nudge").count(),
        0,
        "the firm reminder covers it: {k:?}"
    );
    // And a later restart does not repeat it.
    let app = app.restart(true).await;
    app.settle().await;
    assert_eq!(kinds(&app, &room), k);
    let incident = app.incident(1).await;
    assert_eq!(
        incident.schedule.due_at,
        Some(start_time() + chrono::Duration::minutes(210))
    );
}

fn update_submission(user: &str, incident: i64, status: &str, audiences: &[&str]) -> Value {
    json!({
        "type": "view_submission",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user, "username": "c", "name": "c", "team_id": "T1"},
        "api_app_id": "A1",
        "trigger_id": "1337.42.abcd",
        "view": {
            "id": "VUPD1", "team_id": "T1", "type": "modal", "callback_id": "update",
            "private_metadata": incident.to_string(), "hash": "1.2",
            "title": {"type": "plain_text", "text": "Update INC-1"}, "blocks": [],
            "state": {"values": {
                "status": {"value": {"type": "plain_text_input", "value": status}},
                "impact": {"value": {"type": "plain_text_input", "value": "EU customers cannot pay"}},
                "workaround": {"value": {"type": "plain_text_input", "value": null}},
                "next": {"value": {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": "In 30 minutes"}, "value": "30"}}},
                "audiences": {"value": {"type": "checkboxes", "selected_options": audiences.iter().map(|a| json!({"text": {"type": "plain_text", "text": a}, "value": a})).collect::<Vec<_>>()}}
            }}
        }
    })
}

#[tokio::test]
async fn the_update_modal_asks_the_phase_questions_and_posts_to_the_chosen_audiences() {
    let app = TestApp::spawn(Setup {
        env: vec![
            ("WARROOM_AUDIENCES__CUSTOMERS", "CCUSTOMERS".into()),
            ("WARROOM_AUDIENCES__EXECS", "CEXECS".into()),
        ],
        ..Setup::default()
    })
    .await;
    let room = war_room(&app).await;
    app.command_json(DECLARER, &room, "status mitigated").await;
    let answer = app.command_json(COMMS, &room, "update").await;
    assert_eq!(answer, Value::Null);
    let opened = app.slack.calls("views.open");
    let view = opened.last().unwrap().body["view"].to_string();
    assert!(
        view.contains("\"callback_id\":\"update\"") && view.contains("Restoring service"),
        "{view}"
    );
    assert!(view.contains("What action did we take to start recovery?"));
    assert!(view.contains("customers") && view.contains("execs") && view.contains("announcement"));

    // Nothing to say is refused inside the modal.
    let res = app
        .interaction(update_submission(COMMS, 1, "", &["customers"]))
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["response_action"], "errors");

    app.advance(minutes(3)).await;
    let res = app
        .interaction(update_submission(
            COMMS,
            1,
            "Rollback done, watching error rates.",
            &["customers", "execs"],
        ))
        .await;
    assert_eq!(res.status(), 200);
    app.settle().await;
    for channel in ["CCUSTOMERS", "CEXECS"] {
        let posted = app.slack.messages_in(channel);
        assert_eq!(posted.len(), 1, "{channel}");
        let text = posted[0].body.to_string();
        assert!(
            text.contains("Rollback done")
                && text.contains("EU customers cannot pay")
                && text.contains("Next update"),
            "{text}"
        );
    }
    assert_eq!(
        app.slack.messages_in(ORIGIN).len(),
        1,
        "announcement not chosen: only the announcement itself"
    );
    let comms = app
        .ctx
        .store
        .communications(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    let places: Vec<(&str, &str)> = comms
        .iter()
        .map(|c| (c.channel.as_str(), c.audience.as_str()))
        .collect();
    assert_eq!(
        places,
        [
            ("CCUSTOMERS", "customers"),
            ("CEXECS", "execs"),
            (room.as_str(), "war room")
        ]
    );
    assert!(
        comms
            .iter()
            .all(|c| c.posted_at == Some(start_time() + chrono::Duration::minutes(3)))
    );
}

#[tokio::test]
async fn the_reminder_button_opens_the_update_modal() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = war_room(&app).await;
    app.advance(minutes(30)).await;
    let before = app.slack.calls("views.open").len();
    let res = app.click(COMMS, &room, "update.open", "1").await;
    assert_eq!(res.status(), 200);
    let opened = app.slack.calls("views.open");
    assert_eq!(opened.len(), before + 1);
    assert_eq!(opened.last().unwrap().body["view"]["callback_id"], "update");
    assert_eq!(opened.last().unwrap().body["trigger_id"], "1337.42.abcd");
}
