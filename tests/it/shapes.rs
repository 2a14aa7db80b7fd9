//! Slack's real shapes in and out: every published event, interaction and
//! slash-command shape (`tests/fixtures/slack-shapes/`) signed and posted
//! gets a 200 (and its effect where the bot acts on it), the incident flow
//! works with every Web API method answered in its full published shape,
//! and a success whose answer cannot be read is reconciled, not reported.

use crate::fake_slack::Failure;
use crate::helpers::*;
use serde_json::{Value, json};

const SHAPES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/slack-shapes");

pub(crate) fn fixture(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{SHAPES}/{path}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every fixture in `dir`, by file name, sorted.
fn fixtures(dir: &str) -> Vec<(String, Value)> {
    let mut names: Vec<String> = std::fs::read_dir(format!("{SHAPES}/{dir}"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let v = fixture(&format!("{dir}/{n}"));
            (n, v)
        })
        .collect()
}

/// A slash command's fields as the form body Slack posts.
fn command_body(fields: &Value) -> String {
    let pairs: Vec<(String, String)> = fields
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect();
    serde_urlencoded::to_string(pairs).unwrap()
}

async fn post_command(app: &TestApp, fields: &Value) -> reqwest::Response {
    app.post_signed(
        "/slack/commands",
        "application/x-www-form-urlencoded",
        command_body(fields),
        &[],
    )
    .await
}

/// The published slash-command shape, typed by `user` in `channel`.
fn slash_command(user: &str, channel: &str, text: &str) -> Value {
    let mut c = fixture("commands/slash_command.json");
    c["command"] = json!("/incident");
    c["text"] = json!(text);
    c["user_id"] = json!(user);
    c["channel_id"] = json!(channel);
    c
}

/// The value of the counter series whose labels include all of `labels`.
async fn series(app: &TestApp, name: &str, labels: &[&str]) -> u64 {
    app.metrics()
        .await
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

async fn failed_jobs(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM jobs WHERE state = 'failed'")
        .await
}

async fn notices(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'notice'")
        .await
}

/// Whether the bot acts on this event shape (the rest are ignored).
fn acted_on(event: &Value) -> bool {
    let e = &event["event"];
    matches!(
        e["type"].as_str(),
        Some(
            "reaction_added" | "reaction_removed" | "member_joined_channel" | "member_left_channel"
        )
    ) || matches!(
        e["subtype"].as_str(),
        Some("message_changed" | "message_deleted")
    )
}

#[tokio::test]
async fn every_published_event_shape_gets_200_and_the_unknown_ones_are_ignored() {
    let app = TestApp::spawn(Setup::default()).await;
    let events = fixtures("events");
    assert!(
        events.len() >= 90,
        "the published event shapes are all here"
    );
    let mut refused = Vec::new();
    for (name, event) in &events {
        let res = app.event(event.clone(), None).await;
        if res.status() != 200 {
            refused.push(format!("{name}: {}", res.status()));
        }
    }
    assert!(refused.is_empty(), "refused: {refused:#?}");
    let ignored = events.iter().filter(|(_, e)| !acted_on(e)).count() as u64;
    assert_eq!(
        series(
            &app,
            "warroom_requests_total",
            &["events", "outcome=\"ignored\""]
        )
        .await,
        ignored,
        "each event the bot does not handle is counted as ignored"
    );
    assert_eq!(
        series(&app, "warroom_requests_total", &["outcome=\"malformed\""]).await,
        0
    );
    // Channel objects, user objects, renames and profile changes: noted
    // nowhere, and no Slack call made for any of them.
    assert_eq!(app.count("SELECT COUNT(*) FROM slack_events").await, 0);
    assert!(app.slack.all_calls().is_empty());
}

#[tokio::test]
async fn every_published_interaction_and_command_shape_gets_200() {
    let app = TestApp::spawn(Setup::default()).await;
    let mut refused = Vec::new();
    let interactions = fixtures("interactivity");
    let shapes = interactions.len() as u64;
    for (name, payload) in interactions {
        let res = app.interaction(payload).await;
        if res.status() != 200 {
            refused.push(format!("{name}: {}", res.status()));
        }
    }
    // A dialog suggestion, a legacy attachment action, a message shortcut,
    // a button and a modal that are not the bot's: all answered, all counted
    // as ignored, nothing done.
    assert!(refused.is_empty(), "refused: {refused:#?}");
    assert_eq!(
        series(
            &app,
            "warroom_requests_total",
            &["interactivity", "outcome=\"ignored\""]
        )
        .await,
        shapes
    );
    assert!(app.slack.all_calls().is_empty());
    // The published slash-command shape as it stands (placeholder command),
    // then as `/incident help`: both answered to the person who typed it.
    for fields in [
        fixture("commands/slash_command.json"),
        slash_command("UBOB", ORIGIN, "help"),
    ] {
        let res = post_command(&app, &fields).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["response_type"], "ephemeral", "{body}");
    }
    // Well-formed form data that is not a slash command: answered, not
    // refused, and nothing done.
    let res = app
        .post_signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            "text=declare+x".to_string(),
            &[],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 0);
    // Not JSON at all is still refused.
    let res = app
        .post_signed(
            "/slack/events",
            "application/json",
            "{not json".to_string(),
            &[],
        )
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn the_incident_flow_works_with_every_answer_in_its_full_published_shape() {
    let app = TestApp::spawn(Setup::default()).await;
    app.slack.answer_in_full_shapes();

    // Declare: the published slash-command shape, then the published
    // view_submission shape carrying the declare form.
    let res = post_command(
        &app,
        &slash_command(DECLARER, ORIGIN, "declare Checkout returns 500"),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.slack.calls("views.open").len(), 1);
    let form = declare_submission(
        DECLARER,
        "V-shapes-1",
        &DeclareInput {
            summary: "Card payments fail".to_string(),
            ..DeclareInput::default()
        },
    );
    let mut submission = fixture("interactivity/view_submission.json");
    submission["user"]["id"] = json!(DECLARER);
    submission["view"]["id"] = json!("V-shapes-1");
    submission["view"]["callback_id"] = json!("declare");
    submission["view"]["private_metadata"] = form["view"]["private_metadata"].clone();
    submission["view"]["state"] = form["view"]["state"].clone();
    let res = app.interaction(submission).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "", "the modal closes");
    app.wait_idle().await;
    let room = app.room(1).await.expect("the war room was created");
    let incident = app.incident(1).await;
    assert!(incident.board_ts.is_some() && incident.announce_ts.is_some());

    // Claim: the published block_actions shape on the role board.
    let mut click = fixture("interactivity/block_action.json");
    click["user"]["id"] = json!("UBOB");
    click["channel"]["id"] = json!(room);
    click["actions"][0]["action_id"] = json!("role.claim");
    click["actions"][0]["value"] = json!("1|Scribe");
    click["actions"][0]["type"] = json!("button");
    assert_eq!(app.interaction(click).await.status(), 200);
    app.wait_idle().await;
    let holders = app
        .ctx
        .store
        .assignments(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    assert!(
        holders
            .iter()
            .any(|a| a.role.as_str() == "Scribe" && a.user.0 == "UBOB")
    );
    let board = app.slack.messages_in(&room)[0].clone();
    assert_eq!(board.edits, 1, "the board was edited in place");

    // Tag: the published reaction_added shape on a message in the room.
    let ts = app.slack.user_posts(
        &room,
        "UCAROL",
        "Rolled back deploy 4417",
        None,
        start_time(),
    );
    app.slack.set_name("UCAROL", "carol");
    let mut tag = fixture("events/reaction_added.json");
    tag["event_id"] = json!("Ev-shapes-tag");
    tag["event"]["user"] = json!("UBOB");
    tag["event"]["reaction"] = json!("pushpin");
    tag["event"]["item"]["channel"] = json!(room);
    tag["event"]["item"]["ts"] = json!(ts);
    tag["event"]["item_user"] = json!("UCAROL");
    assert_eq!(app.event(tag, None).await.status(), 200);
    app.wait_idle().await;
    let entry = |entries: Vec<warroom::domain::timeline::Entry>| {
        entries
            .into_iter()
            .find(|e| e.slack_ts.as_ref().map(|x| x.as_str()) == Some(ts.as_str()))
    };
    let tagged = entry(
        app.ctx
            .store
            .timeline(warroom::domain::IncidentNumber::new(1))
            .await
            .unwrap(),
    )
    .expect("tagged");
    assert_eq!(tagged.text, "Rolled back deploy 4417");
    assert_eq!(tagged.author_name.as_deref(), Some("carol"));
    assert!(tagged.permalink.is_some_and(|p| p.contains(&room)));
    assert_eq!(app.slack.bot_reactions(&room, &ts), vec!["memo"]);

    // Edit: the published message_changed shape.
    app.slack
        .edit(&room, &ts, "Rolled back deploy 4417 (all regions)");
    let mut edit = fixture("events/message_changed.json");
    edit["event_id"] = json!("Ev-shapes-edit");
    edit["event"]["channel"] = json!(room);
    edit["event"]["message"]["ts"] = json!(ts);
    edit["event"]["message"]["text"] = json!("Rolled back deploy 4417 (all regions)");
    assert_eq!(app.event(edit, None).await.status(), 200);
    app.wait_idle().await;
    let edited = entry(
        app.ctx
            .store
            .timeline(warroom::domain::IncidentNumber::new(1))
            .await
            .unwrap(),
    )
    .expect("still there");
    assert_eq!(edited.text, "Rolled back deploy 4417 (all regions)");

    // Untag and delete: the published reaction_removed and message_deleted
    // shapes take two other tagged messages off the timeline.
    let tag_shape = |event_id: &str, ts: &str| {
        let mut tag = fixture("events/reaction_added.json");
        tag["event_id"] = json!(event_id);
        tag["event"]["user"] = json!("UBOB");
        tag["event"]["reaction"] = json!("pushpin");
        tag["event"]["item"]["channel"] = json!(room);
        tag["event"]["item"]["ts"] = json!(ts);
        tag
    };
    let guess = app
        .slack
        .user_posts(&room, "UCAROL", "Maybe the CDN?", None, start_time());
    let typo = app
        .slack
        .user_posts(&room, "UCAROL", "Rolbcak dnoe", None, start_time());
    for (id, ts) in [("Ev-shapes-2", &guess), ("Ev-shapes-3", &typo)] {
        assert_eq!(app.event(tag_shape(id, ts), None).await.status(), 200);
    }
    app.wait_idle().await;
    let mut untag = fixture("events/reaction_removed.json");
    untag["event_id"] = json!("Ev-shapes-untag");
    untag["event"]["user"] = json!("UBOB");
    untag["event"]["reaction"] = json!("pushpin");
    untag["event"]["item"]["channel"] = json!(room);
    untag["event"]["item"]["ts"] = json!(guess);
    assert_eq!(app.event(untag, None).await.status(), 200);
    let mut delete = fixture("events/message_deleted.json");
    delete["event_id"] = json!("Ev-shapes-delete");
    delete["event"]["channel"] = json!(room);
    delete["event"]["deleted_ts"] = json!(typo);
    assert_eq!(app.event(delete, None).await.status(), 200);
    app.wait_idle().await;
    let tagged: Vec<String> = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.slack_ts.map(|ts| ts.0))
        .collect();
    assert_eq!(tagged, vec![ts.clone()], "only the first tag remains");

    // Update, severity, close: the published command shape in the room.
    for text in [
        "update Payments recover; watching error rates",
        "severity sev1",
        "close",
    ] {
        let res = post_command(&app, &slash_command(DECLARER, &room, text)).await;
        assert_eq!(res.status(), 200, "{text}");
        app.wait_idle().await;
    }
    let comms = app
        .ctx
        .store
        .communications(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    assert!(
        !comms.is_empty() && comms.iter().all(|c| c.ts.is_some()),
        "every update post has its ts: {comms:?}"
    );
    assert!(
        app.slack
            .channel(&room)
            .unwrap()
            .topic
            .to_uppercase()
            .contains("SEV1")
    );
    let files = app.slack.files_in(&room);
    assert_eq!(files.len(), 1, "one postmortem draft");
    assert!(files[0].1.contains("Rolled back deploy 4417"));

    // Nothing failed, nobody was told anything failed, and every method
    // the bot called was answered in its full published shape.
    assert_eq!(failed_jobs(&app).await, 0);
    assert_eq!(notices(&app).await, 0);
    let shaped: Vec<String> = fixtures("api")
        .into_iter()
        .map(|(n, _)| n.trim_end_matches(".json").to_string())
        .collect();
    let mut called: Vec<String> = app
        .slack
        .all_calls()
        .into_iter()
        .map(|c| c.method)
        .filter(|m| m != "upload")
        .collect();
    called.sort();
    called.dedup();
    for m in &called {
        assert!(shaped.contains(m), "{m} has no published shape");
    }
    for m in [
        "views.open",
        "conversations.create",
        "conversations.invite",
        "conversations.setTopic",
        "chat.postMessage",
        "chat.update",
        "conversations.history",
        "chat.getPermalink",
        "users.info",
        "reactions.add",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ] {
        assert!(called.iter().any(|c| c == m), "{m} was not exercised");
    }
}

#[tokio::test]
async fn a_post_whose_ok_answer_cannot_be_read_is_found_not_reported() {
    let app = TestApp::spawn(Setup::default()).await;
    app.slack.answer_in_full_shapes();
    // Slack posts the role board and says ok, but without a readable ts.
    app.slack.fail_next("chat.postMessage", Failure::Garbled, 1);
    app.submit_declare(DECLARER, "V1", DeclareInput::default())
        .await;
    app.advance_until_idle().await;
    let room = app.room(1).await.expect("the war room");
    let boards = app.slack.messages_in(&room);
    assert_eq!(boards.len(), 1, "one board, not two");
    assert_eq!(
        app.incident(1).await.board_ts.as_ref().map(|x| x.as_str()),
        Some(boards[0].ts.as_str()),
        "the board found by its metadata is the one kept current"
    );
    assert_eq!(failed_jobs(&app).await, 0, "the success is not a failure");
    assert_eq!(notices(&app).await, 0, "nobody is told it failed");
}

#[tokio::test]
async fn a_channel_whose_ok_answer_cannot_be_read_is_adopted_not_doubled() {
    let app = TestApp::spawn(Setup::default()).await;
    app.slack
        .fail_next("conversations.create", Failure::Garbled, 1);
    app.submit_declare(DECLARER, "V1", DeclareInput::default())
        .await;
    app.advance_until_idle().await;
    let rooms = app.slack.channel_named_like("inc-1-");
    assert_eq!(rooms.len(), 1, "one war room: {rooms:?}");
    assert_eq!(app.room(1).await.as_deref(), Some(rooms[0].id.as_str()));
    assert_eq!(failed_jobs(&app).await, 0);
    assert_eq!(notices(&app).await, 0);
}

#[tokio::test]
async fn a_postmortem_whose_ok_answers_cannot_be_read_is_posted_and_shared_once() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.slack
        .fail_next("files.completeUploadExternal", Failure::Garbled, 1);
    app.slack.fail_next("chat.postMessage", Failure::Garbled, 1);
    app.command_json(DECLARER, &room, "close").await;
    app.advance_until_idle().await;
    assert_eq!(app.slack.files_in(&room).len(), 1, "one postmortem file");
    let mut jobs: Vec<String> = app
        .slack
        .messages_in(&room)
        .iter()
        .map(|m| m.body["metadata"]["event_payload"]["job"].to_string())
        .collect();
    let posts = jobs.len();
    jobs.sort();
    jobs.dedup();
    assert_eq!(jobs.len(), posts, "no job posted twice");
    assert_eq!(failed_jobs(&app).await, 0);
    assert_eq!(notices(&app).await, 0);
}
