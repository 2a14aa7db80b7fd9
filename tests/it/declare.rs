use crate::fake_slack::BOT_USER;
use crate::helpers::*;
use serde_json::Value;

fn texts(body: &Value) -> String {
    body.to_string()
}

#[tokio::test]
async fn declare_opens_a_modal_then_a_war_room_with_board_and_announcement() {
    let app = TestApp::spawn(Setup::default()).await;

    // The command answers at once and opens the modal, title prefilled.
    let answer = app
        .command_json(DECLARER, ORIGIN, "declare Checkout returns 500")
        .await;
    assert_eq!(
        answer,
        Value::Null,
        "nothing to say: the modal is the answer"
    );
    let opened = app.slack.calls("views.open");
    assert_eq!(opened.len(), 1);
    let view = &opened[0].body["view"];
    assert_eq!(
        opened[0].body["trigger_id"],
        "13345224609.738474920.8088930838d88f008e0"
    );
    assert_eq!(view["callback_id"], "declare");
    let blocks = view["blocks"].as_array().unwrap();
    assert_eq!(
        blocks[0]["element"]["initial_value"],
        "Checkout returns 500"
    );
    let severity = blocks
        .iter()
        .find(|b| b["block_id"] == "severity")
        .expect("a severity block");
    let severities: Vec<&str> = severity["element"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    // The default matrix: left on "suggest", impact and urgency decide.
    assert_eq!(severities, ["suggest", "SEV1", "SEV2", "SEV3"]);
    assert_eq!(severity["element"]["initial_option"]["value"], "suggest");
    assert!(
        severity["element"]["options"][1]["description"]["text"]
            .as_str()
            .unwrap()
            .contains("Critical")
    );
    assert_eq!(opened[0].auth.as_deref(), Some("Bearer xoxb-test-token"));

    // Submitting it declares incident 1.
    let res = app
        .submit_declare(
            DECLARER,
            "V1",
            DeclareInput {
                summary: "Payments fail for EU users".into(),
                ..DeclareInput::default()
            },
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.text().await.unwrap(),
        "",
        "an empty 200 closes the modal"
    );
    app.wait_idle().await;

    let created = app.slack.calls("conversations.create");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].body["name"], "inc-1-checkout-returns-500");
    assert_eq!(created[0].body["is_private"], false);
    let room = app.slack.channel_named_like("inc-1-").pop().unwrap();
    assert!(
        room.members.contains(&DECLARER.to_string()),
        "declarer invited"
    );
    assert!(room.members.contains(&BOT_USER.to_string()));
    assert!(
        room.topic.contains("INC-1")
            && room.topic.contains("SEV2")
            && room.topic.contains("investigating")
    );
    assert!(
        room.topic.contains(&format!("<@{DECLARER}>")),
        "lead in topic: {}",
        room.topic
    );

    // The role board: one line per role, the declarer leading.
    let board = app.slack.messages_in(&room.id);
    assert_eq!(board.len(), 1);
    let b = texts(&board[0].body);
    for role in [
        "Incident Lead",
        "Technical Lead",
        "Technical Assist",
        "Scribe",
        "Communication Lead",
        "Tester",
    ] {
        assert!(b.contains(role), "board lists {role}");
    }
    assert!(b.contains(&format!("*Incident Lead*: <@{DECLARER}>")));
    assert!(b.contains("role.claim") && b.contains("1|Scribe"));

    // The announcement goes to the channel where declare was typed.
    let announced = app.slack.messages_in(ORIGIN);
    assert_eq!(announced.len(), 1);
    let a = texts(&announced[0].body);
    assert!(a.contains("INC-1") && a.contains("Checkout returns 500") && a.contains("SEV2"));
    assert!(a.contains(&format!("<#{}>", room.id)), "links the war room");
    assert!(a.contains("Payments fail for EU users"));

    // The database holds the incident, its Slack ids, the lead and the entry.
    let stored = app.incident(1).await;
    assert_eq!(
        stored.channel_id.as_ref().map(|x| x.as_str()),
        Some(room.id.as_str())
    );
    assert_eq!(
        stored.board_ts.as_ref().map(|x| x.as_str()),
        Some(board[0].ts.as_str())
    );
    assert_eq!(
        stored.announce_ts.as_ref().map(|x| x.as_str()),
        Some(announced[0].ts.as_str())
    );
    assert_eq!(stored.summary, "Payments fail for EU users");
    assert_eq!(stored.declared_at, start_time());
    let roles = app
        .ctx
        .store
        .assignments(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].role.as_str(), "Incident Lead");
    let timeline = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    assert_eq!(timeline.len(), 1);
    assert!(timeline[0].text.contains("declared"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE state <> 'done'")
            .await,
        0
    );
}

#[tokio::test]
async fn declare_follows_the_configured_announce_channel_and_numbers_incidents() {
    let app = TestApp::spawn(Setup {
        env: vec![("WARROOM_ANNOUNCE_CHANNEL", "CINCIDENTS".into())],
        ..Setup::default()
    })
    .await;
    let first = app.declare("Search is slow", "SEV3").await;
    let second = app.declare("Search is slow", "SEV3").await;
    assert_ne!(first, second);
    assert_eq!(
        app.slack.channel(&first).unwrap().name,
        "inc-1-search-is-slow"
    );
    assert_eq!(
        app.slack.channel(&second).unwrap().name,
        "inc-2-search-is-slow"
    );
    assert_eq!(app.slack.messages_in("CINCIDENTS").len(), 2);
    assert!(app.slack.messages_in(ORIGIN).is_empty());
}

#[tokio::test]
async fn a_taken_name_gets_a_suffix() {
    let app = TestApp::spawn(Setup::default()).await;
    app.slack.take_name("inc-1-db-down");
    app.slack.take_name("inc-1-db-down-2");
    let room = app.declare("DB down", "SEV1").await;
    assert_eq!(app.slack.channel(&room).unwrap().name, "inc-1-db-down-3");
    assert_eq!(app.slack.calls("conversations.create").len(), 3);
    let stored = app.incident(1).await;
    assert_eq!(stored.channel_name.as_deref(), Some("inc-1-db-down-3"));
}

#[tokio::test]
async fn the_modal_refuses_an_empty_title_and_a_missing_severity() {
    let app = TestApp::spawn(Setup::default()).await;
    let res = app
        .submit_declare(
            DECLARER,
            "V1",
            DeclareInput {
                title: "   ".into(),
                severity: None,
                ..DeclareInput::default()
            },
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["response_action"], "errors");
    assert!(body["errors"]["title"].is_string());
    // No level and no answers: the matrix has nothing to suggest from.
    assert!(body["errors"]["impact_answer"].is_string());
    assert!(body["errors"]["urgency"].is_string());

    let res = app
        .submit_declare(
            DECLARER,
            "V2",
            DeclareInput {
                impact_started_at: Some(start_time() + chrono::Duration::hours(1)),
                ..DeclareInput::default()
            },
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert!(
        body["errors"]["impact"].is_string(),
        "impact in the future: {body}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 0);
    assert!(app.slack.calls("conversations.create").is_empty());
}

#[tokio::test]
async fn a_drill_and_security_flags_and_impact_time_are_kept() {
    let app = TestApp::spawn(Setup::default()).await;
    let impact = start_time() - chrono::Duration::minutes(25);
    app.submit_declare(
        DECLARER,
        "V1",
        DeclareInput {
            title: "Token leak".into(),
            flags: vec!["drill", "security"],
            impact_started_at: Some(impact),
            ..DeclareInput::default()
        },
    )
    .await;
    app.wait_idle().await;
    assert_eq!(
        app.slack.calls("conversations.create")[0].body["name"],
        "drill-1-token-leak"
    );
    let stored = app.incident(1).await;
    assert!(stored.drill && stored.security);
    assert_eq!(stored.impact_started_at, Some(impact));
    // A security incident is private by default: its announcement says
    // neither title nor that it is about security.
    assert!(stored.private);
    let a = app.slack.messages_in(ORIGIN)[0].body.to_string();
    assert!(a.contains("DRILL-1") && a.contains("drill") && a.contains("private incident"));
    assert!(!a.contains("Token leak") && !a.contains("security"), "{a}");
}

#[tokio::test]
async fn the_same_submission_twice_declares_once() {
    let app = TestApp::spawn(Setup::default()).await;
    app.submit_declare(DECLARER, "VSAME", DeclareInput::default())
        .await;
    app.submit_declare(DECLARER, "VSAME", DeclareInput::default())
        .await;
    app.wait_idle().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 1);
    assert_eq!(app.slack.calls("conversations.create").len(), 1);
}

#[tokio::test]
async fn views_open_failure_is_explained_to_the_user() {
    let app = TestApp::spawn(Setup::default()).await;
    app.slack.fail_next(
        "views.open",
        crate::fake_slack::Failure::Api("view_too_large"),
        1,
    );
    let answer = app.command_json(DECLARER, ORIGIN, "declare x").await;
    assert_eq!(answer["response_type"], "ephemeral");
    let text = answer["text"].as_str().unwrap();
    // An expired trigger has its own words (failures.rs); others name the code.
    assert!(
        text.contains("view_too_large") && text.contains("again"),
        "{text}"
    );
}

#[tokio::test]
async fn list_shows_open_incidents_with_their_war_rooms() {
    let app = TestApp::spawn(Setup::default()).await;
    let empty = app.command_json(DECLARER, ORIGIN, "list").await;
    assert!(
        empty["text"]
            .as_str()
            .unwrap()
            .contains("No open incidents")
    );
    let room = app.declare("API errors", "SEV1").await;
    let listed = app.command_json("UBOB", "CRANDOM", "list").await;
    assert_eq!(listed["response_type"], "ephemeral");
    let text = listed["text"].as_str().unwrap();
    assert!(
        text.contains("INC-1")
            && text.contains("API errors")
            && text.contains(&format!("<#{room}>")),
        "{text}"
    );
}

#[tokio::test]
async fn help_and_bad_input_answer_with_short_ephemeral_help() {
    let app = TestApp::spawn(Setup::default()).await;
    for text in [
        "",
        "help",
        "explode now",
        "assign",
        "status fixed",
        "severity",
    ] {
        let answer = app.command_json(DECLARER, ORIGIN, text).await;
        assert_eq!(answer["response_type"], "ephemeral", "for `{text}`");
        assert!(!answer["text"].as_str().unwrap().is_empty());
    }
    let unknown = app.command_json(DECLARER, ORIGIN, "explode").await;
    assert!(
        unknown["text"]
            .as_str()
            .unwrap()
            .contains("/incident declare")
    );
    let elsewhere = app.command_json(DECLARER, ORIGIN, "severity sev1").await;
    assert!(elsewhere["text"].as_str().unwrap().contains("war room"));
    assert!(app.slack.all_calls().is_empty(), "nothing reached Slack");
}
