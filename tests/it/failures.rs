//! Work Slack will not do: the job stops, is recorded and counted, and the
//! person who caused it is told what failed, why and what to do.

use crate::fake_slack::{Call, Failure};
use crate::helpers::*;
use std::time::Duration;

/// Ephemerals and direct messages sent to `user`, in order: (channel, text).
fn told(app: &TestApp, user: &str) -> Vec<(String, String)> {
    let text = |c: &Call, k: &str| c.body[k].as_str().unwrap_or("").to_string();
    app.slack
        .all_calls()
        .iter()
        .filter(|c| {
            (c.method == "chat.postEphemeral" && c.body["user"] == user)
                || (c.method == "chat.postMessage" && c.body["channel"] == user)
        })
        .map(|c| (text(c, "channel"), text(c, "text")))
        .collect()
}

fn failed(kind: &str) -> String {
    format!("warroom_jobs_finished_total{{kind=\"{kind}\",outcome=\"failed\"}}")
}

#[tokio::test]
async fn a_war_room_slack_will_not_create_is_explained_to_the_declarer() {
    let app = TestApp::spawn(Setup::default()).await;
    app.slack
        .fail_next("conversations.create", Failure::Api("restricted_action"), 1);
    app.submit_declare(DECLARER, "V1", DeclareInput::default())
        .await;
    // No clock moves: everything that needed the room stops at once too.
    app.wait_idle().await;

    assert_eq!(app.slack.calls("conversations.create").len(), 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'create_channel' AND state = 'failed' AND last_error LIKE '%restricted_action%'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind IN ('invite', 'sync_topic', 'sync_board') AND state = 'failed' AND attempts = 1")
            .await,
        3,
        "jobs needing the room fail at once instead of retrying for hours"
    );
    let notices = told(&app, DECLARER);
    assert_eq!(notices.len(), 1, "told once: {notices:#?}");
    let (channel, text) = &notices[0];
    assert_eq!(channel, ORIGIN, "where the incident was declared");
    assert!(
        text.contains("I could not create the war room for INC-1 (Checkout returns 500)"),
        "{text}"
    );
    assert!(
        text.contains("your workspace does not let apps create channels"),
        "{text}"
    );
    assert!(text.contains("Ask a Slack admin"), "{text}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'notice' AND state = 'done'")
            .await,
        1
    );
    assert_eq!(app.metric_total(&failed("create_channel")).await, 1);

    // Hours later nothing was retried and no one was told again.
    app.advance(Duration::from_secs(7 * 3600)).await;
    assert_eq!(app.slack.calls("conversations.create").len(), 1);
    assert_eq!(told(&app, DECLARER).len(), 1);
}

#[tokio::test]
async fn the_notice_is_a_direct_message_when_the_channel_refuses_it() {
    let app = TestApp::spawn(Setup::default()).await;
    app.slack
        .fail_next("conversations.create", Failure::Api("restricted_action"), 1);
    app.slack
        .fail_next("chat.postEphemeral", Failure::Api("channel_not_found"), 1);
    app.submit_declare(DECLARER, "V1", DeclareInput::default())
        .await;
    app.wait_idle().await;
    let dms = app.slack.messages_in(DECLARER);
    assert_eq!(dms.len(), 1, "one direct message");
    let text = dms[0].body["text"].as_str().unwrap();
    assert!(
        text.contains("your workspace does not let apps create channels"),
        "{text}"
    );
}

#[tokio::test]
async fn slack_down_past_the_give_up_time_stops_and_tells_once() {
    let app = TestApp::spawn(Setup::default()).await;
    app.slack
        .fail_next("conversations.create", Failure::Status500, 100);
    app.submit_declare(DECLARER, "V1", DeclareInput::default())
        .await;
    app.slack
        .eventually("the first try", |s| {
            (s.calls("conversations.create").len() == 1).then_some(())
        })
        .await;
    // The fake records a call before it answers: let the worker record the
    // failure and schedule its retry on the clock as it was, then move it.
    app.wait_not_running().await;
    assert!(told(&app, DECLARER).is_empty(), "a retry tells no one");
    // Past GIVE_UP_AFTER the next try is the last.
    app.advance(Duration::from_secs(6 * 3600 + 60)).await;
    app.advance(Duration::from_secs(3600)).await;
    assert_eq!(app.slack.calls("conversations.create").len(), 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'create_channel' AND state = 'failed' AND last_error LIKE '%HTTP 500%'")
            .await,
        1
    );
    let notices = told(&app, DECLARER);
    assert_eq!(notices.len(), 1, "{notices:#?}");
    assert!(
        notices[0]
            .1
            .contains("Slack was unavailable for over 6 hours (HTTP 500"),
        "{}",
        notices[0].1
    );
    assert_eq!(app.metric_total(&failed("create_channel")).await, 1);
    assert!(
        app.metric_total("warroom_jobs_finished_total{kind=\"create_channel\",outcome=\"retry\"}")
            .await
            >= 1
    );
}

#[tokio::test]
async fn an_announcement_channel_the_bot_left_is_joined_and_edited() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    let edits_before = app.slack.calls_in("chat.update", ORIGIN);
    app.slack.remove_bot(ORIGIN);
    app.command_json(DECLARER, &room, "severity SEV1").await;
    app.settle().await;

    let joins = app.slack.calls("conversations.join");
    assert_eq!(joins.len(), 1);
    assert_eq!(joins[0].body["channel"], ORIGIN);
    assert_eq!(
        app.slack.calls_in("chat.update", ORIGIN) - edits_before,
        2,
        "refused, then made again after joining"
    );
    let announcement = &app.slack.messages_in(ORIGIN)[0];
    assert_eq!(announcement.edits, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE state = 'failed'")
            .await,
        0
    );
    assert!(told(&app, DECLARER).is_empty());
}

#[tokio::test]
async fn a_private_channel_the_bot_cannot_join_is_explained_to_the_updates_author() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.slack.remove_bot(ORIGIN);
    app.slack.make_private(ORIGIN);
    let posts_before = app.slack.calls_in("chat.postMessage", ORIGIN);
    app.command_json("UBOB", &room, "update Payments are back")
        .await;
    app.settle().await;

    assert_eq!(app.slack.calls("conversations.join").len(), 1);
    assert_eq!(
        app.slack.calls_in("chat.postMessage", ORIGIN) - posts_before,
        1,
        "not retried"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'post_update' AND state = 'failed' AND last_error LIKE '%method_not_supported_for_channel_type%'")
            .await,
        1
    );
    assert!(
        app.slack
            .messages_in(&room)
            .iter()
            .any(|m| m.body.to_string().contains("Payments are back")),
        "the war room copy went out"
    );
    let notices = told(&app, "UBOB");
    assert_eq!(notices.len(), 1, "{notices:#?}");
    let (channel, text) = &notices[0];
    assert_eq!(channel, &room, "in the war room, not the failed channel");
    assert!(
        text.contains("Your status update for INC-1 was not posted to <#CGENERAL>"),
        "{text}"
    );
    assert!(
        text.contains("a private channel I cannot join myself"),
        "{text}"
    );
    assert!(text.contains("/invite @warroom"), "{text}");
    assert!(told(&app, DECLARER).is_empty(), "the author is told");
    assert_eq!(app.metric_total(&failed("post_update")).await, 1);
}

#[tokio::test]
async fn an_archived_announcement_channel_stops_at_once_with_a_clear_message() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.slack.archive(ORIGIN);
    let edits_before = app.slack.calls_in("chat.update", ORIGIN);
    app.command_json(DECLARER, &room, "severity SEV1").await;
    app.settle().await;
    app.advance(Duration::from_secs(3600)).await;

    assert_eq!(
        app.slack.calls_in("chat.update", ORIGIN) - edits_before,
        1,
        "no retries"
    );
    assert!(app.slack.calls("conversations.join").is_empty());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'sync_announcement' AND state = 'failed' AND attempts = 1 AND last_error LIKE '%is_archived%'")
            .await,
        1
    );
    let notices = told(&app, DECLARER);
    assert_eq!(notices.len(), 1, "{notices:#?}");
    let (channel, text) = &notices[0];
    assert_eq!(channel, &room);
    assert!(
        text.contains("the announcement channel <#CGENERAL> is archived"),
        "{text}"
    );
    assert!(
        text.contains("Set `announce_channel` to a live channel"),
        "{text}"
    );
    assert_eq!(app.metric_total(&failed("sync_announcement")).await, 1);
}

#[tokio::test]
async fn an_archived_war_room_is_reported_where_the_incident_was_declared() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.slack.archive(&room);
    // A lead change touches the topic and the board in the war room.
    app.click("UBOB", ORIGIN, "role.claim", "1|Incident Lead")
        .await;
    app.settle().await;
    app.advance(Duration::from_secs(3600)).await;

    assert_eq!(app.slack.calls_in("conversations.setTopic", &room), 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind IN ('sync_topic', 'sync_board') AND state = 'failed' AND attempts = 1")
            .await,
        2
    );
    let notices = told(&app, DECLARER);
    assert_eq!(notices.len(), 1, "one notice for both: {notices:#?}");
    let (channel, text) = &notices[0];
    assert_eq!(channel, ORIGIN, "not the archived room");
    assert_eq!(
        text,
        &format!(
            "INC-1's war room <#{room}> was archived, so I can no longer keep it up to date. Unarchive it to go on running the incident there."
        )
    );
}

#[tokio::test]
async fn an_expired_trigger_asks_to_run_the_command_again() {
    let app = TestApp::spawn(Setup::default()).await;
    for code in ["expired_trigger_id", "trigger_expired"] {
        app.slack.fail_next("views.open", Failure::Api(code), 1);
        let answer = app.command_json(DECLARER, ORIGIN, "declare").await;
        assert_eq!(
            answer["text"], "That took too long to open; run `/incident declare` again.",
            "{code}"
        );
    }
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.slack
        .fail_next("views.open", Failure::Api("expired_trigger_id"), 1);
    let answer = app.command_json(DECLARER, &room, "update").await;
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .starts_with("That took too long to open; run `/incident update` again"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_tag_whose_message_cannot_be_read_is_explained_to_the_tagger() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    let ts = app
        .slack
        .user_posts(&room, "UCAROL", "rolled back", None, start_time());
    // An old install without channels:history.
    app.slack
        .fail_next("conversations.history", Failure::Api("missing_scope"), 1);
    app.event(
        reaction("reaction_added", "EvTag", DECLARER, "pushpin", &room, &ts),
        None,
    )
    .await;
    app.wait_idle().await;
    let notices = told(&app, DECLARER);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].0, room, "told in the war room");
    assert_eq!(
        notices[0].1,
        "I could not put the message you tagged on INC-1's timeline: the app lacks a permission it needs (`missing_scope`). Ask whoever installed warroom to reinstall it from the current manifest (manifest.yml)."
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'capture_message' AND state = 'failed' AND last_error LIKE '%missing_scope%'")
            .await,
        1
    );
    assert_eq!(app.metric_total(&failed("capture_message")).await, 1);
}

#[tokio::test]
async fn a_postmortem_that_cannot_be_uploaded_is_explained_to_whoever_closed() {
    let app = TestApp::spawn(Setup {
        env: vec![("WARROOM_PERMISSIONS__CLOSE", "anyone".to_string())],
        ..Setup::default()
    })
    .await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.slack.fail_next(
        "files.getUploadURLExternal",
        Failure::Api("missing_scope"),
        1,
    );
    app.command_json("UBOB", &room, "close").await;
    app.wait_idle().await;
    let notices = told(&app, "UBOB");
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].0, room);
    assert!(
        notices[0]
            .1
            .starts_with("I could not post INC-1's postmortem draft: the app lacks a permission"),
        "{}",
        notices[0].1
    );
    assert!(
        told(&app, DECLARER).is_empty(),
        "the declarer did not close"
    );
    assert_eq!(app.metric_total(&failed("post_postmortem")).await, 1);
}
