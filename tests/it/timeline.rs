//! The scribe's timeline: tagged messages, untag/edit/delete, typed tags,
//! exactly-once events, and the timeline view.

use crate::helpers::*;
use serde_json::json;
use std::time::Duration;
use warroom::domain::EntryKind;

const SCRIBE: &str = "USCRIBE";
const CAROL: &str = "UCAROL";
const DAN: &str = "UDAN";

/// A war room with Bob as Scribe; returns its channel id.
async fn room_with_scribe(app: &TestApp) -> String {
    let room = app.declare("Checkout errors", "SEV2").await;
    app.click(SCRIBE, &room, "role.claim", "1|Scribe").await;
    app.wait_idle().await;
    room
}

async fn entries(app: &TestApp) -> Vec<warroom::domain::Entry> {
    app.ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap()
}

fn tagged(entries: &[warroom::domain::Entry]) -> Vec<&warroom::domain::Entry> {
    entries.iter().filter(|e| e.slack_ts.is_some()).collect()
}

#[tokio::test]
async fn a_scribe_tag_records_the_message_with_author_time_and_link() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = room_with_scribe(&app).await;
    app.slack.set_name(CAROL, "Carol");
    let said_at = start_time() + chrono::Duration::minutes(3);
    let ts = app.slack.user_posts(
        &room,
        CAROL,
        "p99 latency is 4s on checkout-api",
        None,
        said_at,
    );
    app.clock.advance(Duration::from_secs(600));

    let res = app
        .event(
            reaction("reaction_added", "Ev1", SCRIBE, "pushpin", &room, &ts),
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    app.wait_idle().await;

    let all = entries(&app).await;
    let t = tagged(&all);
    assert_eq!(t.len(), 1);
    let e = t[0];
    assert_eq!(e.kind, EntryKind::Message);
    assert_eq!(e.text, "p99 latency is 4s on checkout-api");
    assert_eq!(e.author_name.as_deref(), Some("Carol"));
    assert_eq!(e.author.as_ref().unwrap().0, CAROL);
    assert_eq!(
        e.occurred_at.timestamp(),
        said_at.timestamp(),
        "the message's own time, not when it was tagged"
    );
    assert_eq!(e.slack_ts.as_ref().map(|x| x.as_str()), Some(ts.as_str()));
    assert!(
        e.permalink
            .as_deref()
            .unwrap()
            .starts_with(&format!("https://acme.slack.com/archives/{room}/p"))
    );
    assert!(e.fetched);
    assert_eq!(
        app.slack.bot_reactions(&room, &ts),
        ["memo"],
        "confirmed quietly with a reaction"
    );
    assert_eq!(
        app.slack.messages_in(&room).len(),
        3,
        "no chat message: board, Carol's Scribe checklist and her message only"
    );

    // A second message by Carol: her name comes from the cache.
    let ts2 = app.slack.user_posts(
        &room,
        CAROL,
        "rolling back 1.4.2",
        None,
        said_at + chrono::Duration::minutes(1),
    );
    app.event(
        reaction("reaction_added", "Ev2", SCRIBE, "pushpin", &room, &ts2),
        None,
    )
    .await;
    app.wait_idle().await;
    assert_eq!(tagged(&entries(&app).await).len(), 2);
    assert_eq!(app.slack.calls("users.info").len(), 1);
}

#[tokio::test]
async fn a_bystanders_tag_changes_nothing_but_the_lead_may_tag() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = room_with_scribe(&app).await;
    let ts = app
        .slack
        .user_posts(&room, CAROL, "I think it's DNS", None, start_time());
    let jobs_before = app.count("SELECT COUNT(*) FROM jobs").await;
    app.event(
        reaction("reaction_added", "Ev1", DAN, "pushpin", &room, &ts),
        None,
    )
    .await;
    app.wait_idle().await;
    assert!(tagged(&entries(&app).await).is_empty());
    // Only the refusal is queued (tests/it/permissions.rs checks its words).
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs").await,
        jobs_before + 1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'ephemeral'")
            .await,
        1
    );
    assert!(app.slack.calls("conversations.history").is_empty());

    // Some other emoji from the scribe changes nothing either.
    app.event(
        reaction("reaction_added", "Ev2", SCRIBE, "tada", &room, &ts),
        None,
    )
    .await;
    assert!(tagged(&entries(&app).await).is_empty());

    // The declarer leads, and the Incident Lead is a tagger by default.
    app.event(
        reaction("reaction_added", "Ev3", DECLARER, "pushpin", &room, &ts),
        None,
    )
    .await;
    app.wait_idle().await;
    assert_eq!(tagged(&entries(&app).await).len(), 1);
}

#[tokio::test]
async fn the_same_event_delivered_again_gives_one_entry() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = room_with_scribe(&app).await;
    let ts = app.slack.user_posts(
        &room,
        CAROL,
        "error rate back to normal",
        None,
        start_time(),
    );
    let event = reaction(
        "reaction_added",
        "Ev0PV52K25",
        SCRIBE,
        "pushpin",
        &room,
        &ts,
    );
    for retry in [None, Some(1), Some(2), Some(3)] {
        assert_eq!(app.event(event.clone(), retry).await.status(), 200);
    }
    app.wait_idle().await;
    assert_eq!(tagged(&entries(&app).await).len(), 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'capture_message'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM timeline_entries WHERE slack_ts IS NOT NULL")
            .await,
        1
    );
    assert_eq!(app.slack.calls("conversations.history").len(), 1);
}

#[tokio::test]
async fn untag_edit_and_delete() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = room_with_scribe(&app).await;
    let a = app
        .slack
        .user_posts(&room, CAROL, "restarting pods", None, start_time());
    let b = app.slack.user_posts(
        &room,
        CAROL,
        "pods restarted",
        None,
        start_time() + chrono::Duration::seconds(30),
    );
    let c = app.slack.user_posts(
        &room,
        CAROL,
        "wrong channel, sorry",
        None,
        start_time() + chrono::Duration::seconds(60),
    );
    for (i, ts) in [&a, &b, &c].into_iter().enumerate() {
        app.event(
            reaction(
                "reaction_added",
                &format!("EvT{i}"),
                SCRIBE,
                "pushpin",
                &room,
                ts,
            ),
            None,
        )
        .await;
    }
    app.wait_idle().await;
    assert_eq!(tagged(&entries(&app).await).len(), 3);

    // Untag: hidden from the timeline, kept in the database.
    app.event(
        reaction("reaction_removed", "EvU", SCRIBE, "pushpin", &room, &a),
        None,
    )
    .await;
    // A bystander removing their own pushpin changes nothing.
    app.event(
        reaction("reaction_removed", "EvU2", DAN, "pushpin", &room, &b),
        None,
    )
    .await;
    // Edit.
    app.slack.edit(&room, &b, "pods restarted (all 12)");
    app.event(
        json!({"type": "event_callback", "event_id": "EvE", "team_id": "T1", "event": {
            "type": "message", "subtype": "message_changed", "channel": room, "hidden": true,
            "message": {"type": "message", "user": CAROL, "text": "pods restarted (all 12)", "ts": b, "edited": {"user": CAROL, "ts": "1795403000.000001"}},
            "previous_message": {"type": "message", "user": CAROL, "text": "pods restarted", "ts": b},
            "event_ts": "1795403000.000001", "ts": "1795403000.000001"}}),
        None,
    )
    .await;
    // Delete.
    app.slack.delete(&room, &c);
    app.event(
        json!({"type": "event_callback", "event_id": "EvD", "team_id": "T1", "event": {
            "type": "message", "subtype": "message_deleted", "channel": room, "hidden": true, "deleted_ts": c,
            "event_ts": "1795403001.000001", "ts": "1795403001.000001"}}),
        None,
    )
    .await;

    let visible = entries(&app).await;
    let visible = tagged(&visible);
    assert_eq!(visible.len(), 1);
    assert_eq!(visible[0].text, "pods restarted (all 12)");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM timeline_entries WHERE slack_ts IS NOT NULL")
            .await,
        3,
        "kept for audit"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM timeline_entries WHERE hidden = 1")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM timeline_entries WHERE deleted = 1")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM timeline_entries WHERE edited_at IS NOT NULL")
            .await,
        1
    );

    // Tagging again brings the untagged entry back.
    app.event(
        reaction("reaction_added", "EvR", SCRIBE, "pushpin", &room, &a),
        None,
    )
    .await;
    app.wait_idle().await;
    assert_eq!(tagged(&entries(&app).await).len(), 2);
}

#[tokio::test]
async fn a_thread_reply_can_be_tagged() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = room_with_scribe(&app).await;
    let parent = app.slack.user_posts(
        &room,
        CAROL,
        "checking the load balancer",
        None,
        start_time(),
    );
    let reply = app.slack.user_posts(
        &room,
        DAN,
        "LB health checks failing on eu-west",
        Some(&parent),
        start_time() + chrono::Duration::minutes(2),
    );
    app.event(
        reaction("reaction_added", "Ev1", SCRIBE, "pushpin", &room, &reply),
        None,
    )
    .await;
    app.wait_idle().await;
    let all = entries(&app).await;
    let t = tagged(&all);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].text, "LB health checks failing on eu-west");
    assert_eq!(t[0].author_name.as_deref(), Some("udan"));
    assert_eq!(app.slack.calls("conversations.replies").len(), 1);
    assert_eq!(app.slack.bot_reactions(&room, &reply), ["memo"]);
}

#[tokio::test]
async fn typed_tags_mark_kinds_and_set_key_times() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = room_with_scribe(&app).await;
    let impact = start_time() - chrono::Duration::minutes(40);
    let first = app.slack.user_posts(
        &room,
        CAROL,
        "first 500s in the logs at 02:20",
        None,
        impact,
    );
    let fix = app.slack.user_posts(
        &room,
        CAROL,
        "rollback done, errors gone",
        None,
        start_time() + chrono::Duration::minutes(25),
    );
    let idea = app.slack.user_posts(
        &room,
        CAROL,
        "maybe the new pool size?",
        None,
        start_time() + chrono::Duration::minutes(5),
    );
    let seen = app.slack.user_posts(
        &room,
        CAROL,
        "pager fired",
        None,
        start_time() - chrono::Duration::minutes(10),
    );
    app.event(
        reaction("reaction_added", "Ev1", SCRIBE, "boom", &room, &first),
        None,
    )
    .await;
    app.event(
        reaction(
            "reaction_added",
            "Ev2",
            SCRIBE,
            "adhesive_bandage",
            &room,
            &fix,
        ),
        None,
    )
    .await;
    app.event(
        reaction(
            "reaction_added",
            "Ev3",
            SCRIBE,
            "thinking_face",
            &room,
            &idea,
        ),
        None,
    )
    .await;
    app.event(
        reaction("reaction_added", "Ev4", SCRIBE, "eyes", &room, &seen),
        None,
    )
    .await;
    // A plain pushpin on an already typed entry keeps its type.
    app.event(
        reaction("reaction_added", "Ev5", SCRIBE, "pushpin", &room, &fix),
        None,
    )
    .await;
    app.wait_idle().await;

    let incident = app.incident(1).await;
    assert_eq!(
        incident.impact_started_at.map(|t| t.timestamp()),
        Some(impact.timestamp())
    );
    assert_eq!(
        incident.mitigated_at.map(|t| t.timestamp()),
        Some((start_time() + chrono::Duration::minutes(25)).timestamp())
    );
    assert_eq!(
        incident.detected_at.map(|t| t.timestamp()),
        Some((start_time() - chrono::Duration::minutes(10)).timestamp())
    );
    let all = entries(&app).await;
    let kinds: Vec<EntryKind> = tagged(&all).iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EntryKind::ImpactStarted,
            EntryKind::Detected,
            EntryKind::Hypothesis,
            EntryKind::Mitigated
        ]
    );
    let view = app
        .command_json(SCRIBE, &room, "timeline")
        .await
        .to_string();
    assert!(
        view.contains("[impact started]")
            && view.contains("[mitigated]")
            && view.contains("[hypothesis]"),
        "{view}"
    );
}

#[tokio::test]
async fn the_timeline_view_shows_dates_when_the_incident_spans_two_days() {
    let app = TestApp::spawn(Setup::default()).await;
    // Declared at 23:50; the fix lands after midnight.
    app.clock
        .set(start_time() - chrono::Duration::hours(3) - chrono::Duration::minutes(10));
    let room = room_with_scribe(&app).await;
    let same_day = app.command_json(SCRIBE, &room, "timeline").await;
    assert_eq!(same_day["response_type"], "ephemeral");
    assert!(!same_day.to_string().contains("date_short"));

    let after_midnight = app.clock.now() + chrono::Duration::minutes(25);
    let ts = app
        .slack
        .user_posts(&room, CAROL, "fixed after midnight", None, after_midnight);
    app.clock.set(after_midnight + chrono::Duration::minutes(1));
    app.event(
        reaction("reaction_added", "Ev1", SCRIBE, "pushpin", &room, &ts),
        None,
    )
    .await;
    app.wait_idle().await;
    let view = app.command_json(SCRIBE, &room, "timeline").await;
    let text = view.to_string();
    assert!(text.contains("{date_short} {time}"), "{text}");
    assert!(
        text.contains("2026-11-22 23:50 UTC") && text.contains("2026-11-23 00:15 UTC"),
        "{text}"
    );
    assert!(
        text.contains("fixed after midnight")
            && text.contains("claimed Scribe")
            && text.contains("declared")
    );
    let blocks = view["blocks"].as_array().unwrap();
    assert!(blocks.len() >= 2 && blocks.len() <= 50);
}

#[tokio::test]
async fn tags_from_a_restarted_process_are_fetched_once() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = room_with_scribe(&app).await;
    let app = app.restart(false).await;
    let ts = app
        .slack
        .user_posts(&room, CAROL, "db failover started", None, start_time());
    app.event(
        reaction("reaction_added", "Ev1", SCRIBE, "pushpin", &room, &ts),
        None,
    )
    .await;
    // Acked and recorded, not yet fetched.
    let all = entries(&app).await;
    assert_eq!(tagged(&all).len(), 1);
    assert!(!tagged(&all)[0].fetched);
    let view = app
        .command_json(SCRIBE, &room, "timeline")
        .await
        .to_string();
    assert!(view.contains("fetching the message"), "{view}");
    let app = app.restart(true).await;
    app.wait_idle().await;
    let all = entries(&app).await;
    assert_eq!(tagged(&all)[0].text, "db failover started");
    assert_eq!(app.slack.calls("conversations.history").len(), 1);
}
