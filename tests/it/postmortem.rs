//! Closing, the postmortem draft, drills and `/incident stats`.

use crate::helpers::*;

const BOB: &str = "UBOB";

#[tokio::test]
async fn close_resolves_posts_the_summary_and_uploads_the_draft_once() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.click(BOB, &room, "role.claim", "1|Scribe").await;
    app.command_json(DECLARER, &room, "note rolled back 1.4.2")
        .await;
    app.advance(minutes(10)).await;
    app.command_json(DECLARER, &room, "status mitigated").await;
    app.command_json(
        DECLARER,
        &room,
        "update Error rate back to normal; watching.",
    )
    .await;
    app.advance(minutes(5)).await;

    // Only the Incident Lead may close.
    let refused = app.command_json(BOB, &room, "close").await;
    assert_eq!(refused["response_type"], "ephemeral");
    assert!(
        refused["text"]
            .as_str()
            .unwrap()
            .contains("Only the Incident Lead")
    );

    let answer = app.command_json(DECLARER, &room, "close").await;
    assert_eq!(answer["response_type"], "in_channel");
    app.settle().await;
    let incident = app.incident(1).await;
    assert_eq!(incident.status, warroom::domain::Status::Closed);
    assert_eq!(
        incident.resolved_at,
        Some(start_time() + chrono::Duration::minutes(15)),
        "resolved on the way"
    );
    assert_eq!(incident.closed_at, incident.resolved_at);
    assert_eq!(incident.schedule, Default::default(), "reminders cancelled");
    assert!(app.slack.channel(&room).unwrap().topic.contains("closed"));
    assert!(
        app.slack.messages_in(ORIGIN)[0]
            .body
            .to_string()
            .contains("closed")
    );

    let summary: Vec<String> = app
        .slack
        .messages_in(&room)
        .iter()
        .map(|m| m.body.to_string())
        .filter(|b| b.contains("Postmortem draft for INC-1"))
        .collect();
    assert_eq!(summary.len(), 1);
    assert!(
        summary[0].contains("Time to mitigate:* 10m") && summary[0].contains("inc-1-postmortem.md"),
        "{}",
        summary[0]
    );
    let files = app.slack.files_in(&room);
    assert_eq!(files.len(), 1);
    let (title, md) = &files[0];
    assert_eq!(title, "INC-1 postmortem draft");
    assert!(md.starts_with("# INC-1: Checkout returns 500"));
    for needle in [
        "rolled back 1.4.2",
        "Error rate back to normal",
        "## Root cause",
        "## Action items",
        // People by name: the file is read outside Slack.
        "| Scribe | @ubob |",
        "Time to detect | unknown: impact start not recorded",
    ] {
        assert!(md.contains(needle), "draft lacks {needle}:\n{md}");
    }
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", app.db_path().display()))
        .await
        .unwrap();
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT markdown FROM postmortems WHERE incident_number = 1 ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(&db)
    .await
    .unwrap();
    db.close().await;
    assert_eq!(stored.as_deref(), Some(md.as_str()));
    assert_eq!(
        app.slack.calls("files.getUploadURLExternal")[0].body["filename"],
        "inc-1-postmortem.md"
    );

    // Closing twice does nothing the second time.
    let again = app.command_json(DECLARER, &room, "close").await;
    assert_eq!(again["response_type"], "ephemeral");
    app.settle().await;
    assert_eq!(app.slack.files_in(&room).len(), 1);
    app.advance(minutes(120)).await;
    assert!(
        !app.slack
            .messages_in(&room)
            .iter()
            .any(|m| m.body.to_string().contains("reminder: ")),
        "no reminders after close"
    );
}

#[tokio::test]
async fn postmortem_regenerates_from_the_edited_timeline() {
    let app = TestApp::spawn(Setup {
        env: vec![("WARROOM_PERMISSIONS__CLOSE", "anyone".into())],
        ..Setup::default()
    })
    .await;
    let room = app.declare("Queue stuck", "SEV3").await;
    let ts = app
        .slack
        .user_posts(&room, BOB, "found it: a poison mesage", None, start_time());
    let tag = serde_json::json!({"type": "event_callback", "event_id": "Ev1", "team_id": "T1", "event": {
        "type": "reaction_added", "user": DECLARER, "reaction": "pushpin", "item": {"type": "message", "channel": room, "ts": ts}, "event_ts": "1.1"}});
    app.event(tag, None).await;
    app.settle().await;
    let answer = app.command_json(BOB, &room, "close").await;
    assert_eq!(
        answer["response_type"], "in_channel",
        "anyone may close when configured"
    );
    app.settle().await;
    assert!(app.slack.files_in(&room)[0].1.contains("poison mesage"));

    // The typo is fixed in Slack after the close; the draft follows.
    let edit = serde_json::json!({"type": "event_callback", "event_id": "Ev2", "team_id": "T1", "event": {
        "type": "message", "subtype": "message_changed", "channel": room, "hidden": true,
        "message": {"type": "message", "user": BOB, "text": "found it: a poison message", "ts": ts}, "event_ts": "2.2", "ts": "2.2"}});
    app.event(edit, None).await;
    let answer = app.command_json(BOB, &room, "postmortem").await;
    assert_eq!(answer["response_type"], "ephemeral");
    app.settle().await;
    let files = app.slack.files_in(&room);
    assert_eq!(files.len(), 2);
    assert!(
        files[1].1.contains("found it: a poison message"),
        "{}",
        files[1].1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM postmortems").await, 2);
}

#[tokio::test]
async fn a_custom_template_is_used_and_a_broken_one_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.md.j2");
    std::fs::write(&good, "{{ incident.reference }} | {{ incident.title }} | TTR {% for m in metrics %}{% if m.name == 'Time to resolve' %}{{ m.value or m.missing }}{% endif %}{% endfor %}").unwrap();
    let app = TestApp::spawn(Setup {
        env: vec![("WARROOM_POSTMORTEM__TEMPLATE", good.display().to_string())],
        ..Setup::default()
    })
    .await;
    let room = app.declare("Custom", "SEV3").await;
    app.advance(minutes(42)).await;
    app.command_json(DECLARER, &room, "close").await;
    app.settle().await;
    let files = app.slack.files_in(&room);
    assert_eq!(files[0].1, "INC-1 | Custom | TTR 42m");

    let broken = dir.path().join("broken.md.j2");
    std::fs::write(&broken, "{% for x in %}").unwrap();
    let err = warroom::postmortem::Postmortems::load(Some(&broken))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("postmortem.template is broken"), "{err}");
    std::fs::write(&broken, "{{ incident.no_such_field }}").unwrap();
    let err = warroom::postmortem::Postmortems::load(Some(&broken))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("broken"),
        "an unknown field is caught at start-up too: {err}"
    );
}

#[tokio::test]
async fn stats_count_by_severity_and_leave_drills_out() {
    let app = TestApp::spawn(Setup::default()).await;
    let empty = app.command_json(DECLARER, ORIGIN, "stats").await;
    assert!(empty["text"].as_str().unwrap().contains("No incidents"));
    // Two real incidents and a drill.
    app.submit_declare(
        DECLARER,
        "V1",
        DeclareInput {
            title: "A".into(),
            severity: Some("SEV1".into()),
            impact_started_at: Some(start_time() - chrono::Duration::minutes(10)),
            ..DeclareInput::default()
        },
    )
    .await;
    app.submit_declare(
        DECLARER,
        "V2",
        DeclareInput {
            title: "B".into(),
            severity: Some("SEV2".into()),
            ..DeclareInput::default()
        },
    )
    .await;
    app.submit_declare(
        DECLARER,
        "V3",
        DeclareInput {
            title: "C".into(),
            severity: Some("SEV1".into()),
            flags: vec!["drill"],
            ..DeclareInput::default()
        },
    )
    .await;
    app.settle().await;
    let mut rooms = Vec::new();
    for n in 1..=3 {
        rooms.push(app.incident(n).await.channel_id.unwrap());
    }
    app.advance(minutes(20)).await;
    for room in &rooms {
        app.command_json(DECLARER, room.as_str(), "status mitigated")
            .await;
    }
    app.advance(minutes(20)).await;
    for room in &rooms {
        app.command_json(DECLARER, room.as_str(), "close").await;
    }
    app.settle().await;
    let stats = app.command_json(BOB, "CANYWHERE", "stats 30").await;
    let text = stats["text"].as_str().unwrap();
    assert!(text.contains("Incidents in the last 30 days: 2"), "{text}");
    assert!(text.contains("SEV1: 1 · SEV2: 1"), "{text}");
    assert!(
        text.contains("Mean time to detect: 10m · median 10m (1 of 2 incidents)"),
        "{text}"
    );
    assert!(
        text.contains("Mean time to mitigate: 20m · median 20m (2 of 2"),
        "{text}"
    );
    assert!(text.contains("Mean time to resolve: 40m"), "{text}");
}
