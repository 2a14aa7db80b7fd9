//! Slack's other doors (issue 26): the global shortcut, the message
//! shortcuts, the Workflow Builder step and the App Home tab, end to end
//! with payloads in the shape of Slack's published samples, over HTTP and
//! over Socket Mode.

use crate::helpers::*;
use serde_json::{Value, json};

const BOB: &str = "UBOB";
const CAROL: &str = "UCAROL";
/// A channel that is no war room.
const RANDOM: &str = "CRANDOM";
const INCIDENTS: &str = "CINCIDENTS";

/// A `message_action` payload (Slack's sample): `user` used `callback` on
/// the message `ts` by `author` in `channel`.
fn message_action(
    callback: &str,
    user: &str,
    channel: &str,
    ts: &str,
    author: &str,
    text: &str,
) -> Value {
    json!({
        "type": "message_action",
        "token": "legacy",
        "action_ts": "1700000100.000200",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user, "name": "someone", "team_id": "T1"},
        "channel": {"id": channel, "name": "general"},
        "is_enterprise_install": false,
        "callback_id": callback,
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "response_url": "https://hooks.slack.com/app/T1/1/abc",
        "message_ts": ts,
        "message": {"type": "message", "user": author, "ts": ts, "text": text, "team": "T1"}
    })
}

/// A global `shortcut` payload (Slack's sample).
fn shortcut(callback: &str, user: &str) -> Value {
    json!({
        "type": "shortcut",
        "token": "legacy",
        "action_ts": "1700000100.000300",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user, "username": "someone", "team_id": "T1"},
        "is_enterprise_install": false,
        "callback_id": callback,
        "trigger_id": "13345224609.738474920.8088930838d88f008e1"
    })
}

/// A `view_submission` of `callback` with `metadata` and state `values`.
fn submission(user: &str, callback: &str, metadata: &str, values: Value) -> Value {
    json!({
        "type": "view_submission",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user, "username": "u", "name": "u", "team_id": "T1"},
        "api_app_id": "A1",
        "trigger_id": "1337.42.abcd",
        "view": {
            "id": "V-door", "team_id": "T1", "type": "modal",
            "callback_id": callback, "private_metadata": metadata,
            "hash": "1.abc", "state": {"values": values}
        }
    })
}

/// A `function_executed` event for the step "Declare an incident".
fn step_event(event_id: &str, execution: &str, inputs: Value) -> Value {
    json!({
        "token": "t", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": event_id, "event_time": 1_700_000_000,
        "event": {
            "type": "function_executed",
            "function": {"id": "Fn1", "callback_id": "declare_incident", "title": "Declare an incident", "app_id": "A1"},
            "inputs": inputs,
            "function_execution_id": execution,
            "workflow_execution_id": "Wx1",
            "event_ts": "1700000000.000100",
            "bot_access_token": "xwfp-not-used"
        }
    })
}

fn home_opened(event_id: &str, user: &str) -> Value {
    json!({
        "token": "t", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": event_id, "event_time": 1_700_000_000,
        "event": {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home", "event_ts": "1700000000.000100"}
    })
}

/// The last view opened, and its private metadata.
fn last_view(app: &TestApp) -> (Value, String) {
    let call = app
        .slack
        .calls("views.open")
        .pop()
        .expect("no view was opened");
    let view = call.body["view"].clone();
    let metadata = view["private_metadata"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (view, metadata)
}

/// Submits the declare form opened from a message (its `metadata`) as
/// `user` with `title`, and waits for incident `number`'s war room.
async fn submit_opened_form(
    app: &TestApp,
    user: &str,
    view_id: &str,
    title: &str,
    metadata: &str,
    number: i64,
) {
    let mut form = declare_submission(
        user,
        view_id,
        &DeclareInput {
            title: title.to_string(),
            ..DeclareInput::default()
        },
    );
    form["view"]["private_metadata"] = json!(metadata);
    assert_eq!(app.interaction(form).await.status(), 200);
    app.wait_room(number).await;
    app.wait_idle().await;
}

fn blocks_text(view: &Value) -> String {
    view.to_string()
}

async fn app_with_announcements() -> TestApp {
    let app = TestApp::spawn(Setup {
        toml: "announce_channel = \"CINCIDENTS\"\n",
        ..Setup::default()
    })
    .await;
    app.slack.add_channel(INCIDENTS, "incidents", true);
    app.slack.add_channel(RANDOM, "random", true);
    app
}

#[tokio::test]
async fn the_global_shortcut_opens_the_declare_form_which_asks_where_to_announce() {
    let app = TestApp::spawn(Setup::default()).await;
    app.slack.add_channel(INCIDENTS, "incidents", true);
    let res = app.interaction(shortcut("declare", DECLARER)).await;
    assert_eq!(res.status(), 200);
    let (view, metadata) = last_view(&app);
    assert_eq!(view["callback_id"], "declare");
    assert!(
        blocks_text(&view).contains("\"block_id\":\"announce\""),
        "no announce_channel and no channel: the form asks where to announce: {view}"
    );
    // Submitted without a channel: the form says so and keeps open.
    let mut form = declare_submission(DECLARER, "V-global", &DeclareInput::default());
    form["view"]["private_metadata"] = json!(metadata);
    let res = app.interaction(form.clone()).await;
    let body: Value = res.json().await.unwrap();
    assert!(body["errors"]["announce"].is_string(), "{body}");
    form["view"]["state"]["values"]["announce"] =
        json!({"value": {"type": "conversations_select", "selected_conversation": INCIDENTS}});
    let res = app.interaction(form).await;
    assert_eq!(res.status(), 200);
    let room = app.wait_room(1).await;
    app.wait_idle().await;
    assert!(!room.is_empty());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM incidents WHERE announce_channel = 'CINCIDENTS'")
            .await,
        1
    );
    assert!(
        !app.slack.messages_in(INCIDENTS).is_empty(),
        "announced where the form said"
    );
    // From a message: in a group message the form asks too; in a channel
    // it announces there.
    for (channel, asks) in [("G0GROUPDM", true), ("D0DIRECT", true), (RANDOM, false)] {
        let res = app
            .interaction(message_action(
                "declare_from_message",
                DECLARER,
                channel,
                "1795400000.000300",
                DECLARER,
                "Checkout is slow",
            ))
            .await;
        assert_eq!(res.status(), 200);
        let (view, _) = last_view(&app);
        assert_eq!(
            blocks_text(&view).contains("\"block_id\":\"announce\""),
            asks,
            "{channel}"
        );
    }
}

#[tokio::test]
async fn declaring_from_a_message_makes_it_the_first_timeline_entry() {
    let app = app_with_announcements().await;
    let ts = "1795400000.000100";
    let text = "Checkout is returning 500s for <@UCAROL>'s team\nSeen since 10:00";
    let res = app
        .interaction(message_action(
            "declare_from_message",
            BOB,
            RANDOM,
            ts,
            CAROL,
            text,
        ))
        .await;
    assert_eq!(res.status(), 200);
    let (view, metadata) = last_view(&app);
    let title = view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["block_id"] == "title")
        .map(|b| b["element"]["initial_value"].clone())
        .unwrap();
    assert_eq!(title, "Checkout is returning 500s for @UCAROL's team");
    assert!(
        view.to_string().contains("> Seen since 10:00"),
        "the summary quotes the message: {view}"
    );
    submit_opened_form(
        &app,
        BOB,
        "V-msg",
        "Checkout is returning 500s",
        &metadata,
        1,
    )
    .await;
    let entries = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    let first = &entries[0];
    assert_eq!(first.slack_ts.as_ref().map(|t| t.as_str()), Some(ts));
    assert_eq!(first.author.as_ref().map(|u| u.as_str()), Some(CAROL));
    assert_eq!(first.text, text);
    assert_eq!(
        first.occurred_at,
        chrono::DateTime::from_timestamp(1_795_400_000, 0).unwrap(),
        "at the message's own time (to the millisecond)"
    );
    assert!(first.permalink.is_some(), "its link filled in");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM incidents WHERE origin_channel = 'CRANDOM'")
            .await,
        1
    );
}

/// A message from a private incident's war room starts a private incident:
/// the form comes with Private ticked, and it stays private unticked.
#[tokio::test]
async fn declaring_from_a_private_war_rooms_message_declares_a_private_incident() {
    let app = app_with_announcements().await;
    let room = crate::private::declare_with(&app, "V-private", vec!["private"]).await;
    let ts = "1795400000.000200";
    let res = app
        .interaction(message_action(
            "declare_from_message",
            DECLARER,
            &room,
            ts,
            DECLARER,
            "The leaked key also signs refunds",
        ))
        .await;
    assert_eq!(res.status(), 200);
    let (view, metadata) = last_view(&app);
    assert!(
        view.to_string().contains("\"initial_options\"")
            && view.to_string().contains("\"private\""),
        "Private ticked: {view}"
    );
    submit_opened_form(
        &app,
        DECLARER,
        "V-from-private",
        "Refunds signed with the leaked key",
        &metadata,
        2,
    )
    .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM incidents WHERE number = 2 AND is_private")
            .await,
        1,
        "private, though the box came back unticked"
    );
}

#[tokio::test]
async fn adding_a_message_to_the_timeline_in_the_war_room_dedupes_and_removes() {
    let app = app_with_announcements().await;
    let room = app.declare("Search is slow", "SEV2").await;
    let ts = app
        .slack
        .user_posts(&room, CAROL, "p99 is 4 s on search", None, start_time());
    let ts = ts.as_str();
    let add = message_action(
        "add_to_timeline",
        BOB,
        &room,
        ts,
        CAROL,
        "p99 is 4 s on search",
    );
    assert_eq!(app.interaction(add.clone()).await.status(), 200);
    app.wait_idle().await;
    let entries = |app: &TestApp| {
        let store = app.ctx.store.clone();
        async move {
            store
                .timeline(warroom::domain::IncidentNumber::new(1))
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.slack_ts.as_ref().is_some_and(|t| t.as_str() == ts))
                .count()
        }
    };
    assert_eq!(entries(&app).await, 1);
    assert_eq!(
        app.slack.bot_reactions(&room, ts),
        vec!["memo".to_string()],
        "confirmed as a tag is"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM timeline_entries WHERE tagged_by = 'UBOB'")
            .await,
        1,
        "the entry says who added it"
    );
    let shown = app
        .command_json(DECLARER, &room, "timeline")
        .await
        .to_string();
    assert!(
        shown.contains("p99 is 4 s on search") && shown.contains("added by <@UBOB>"),
        "the timeline says who added it: {shown}"
    );
    // The same message again: one entry, and the question whether to
    // take it off.
    let opened = app.slack.calls("views.open").len();
    assert_eq!(app.interaction(add).await.status(), 200);
    assert_eq!(entries(&app).await, 1);
    assert_eq!(app.slack.calls("views.open").len(), opened + 1);
    let (view, metadata) = last_view(&app);
    assert_eq!(view["callback_id"], "timeline.remove");
    // Someone else who may not tag cannot take it off.
    let res = app
        .interaction(submission(CAROL, "timeline.remove", &metadata, json!({})))
        .await;
    assert_eq!(res.status(), 200);
    app.wait_idle().await;
    assert_eq!(entries(&app).await, 1);
    // Who added it can.
    let res = app
        .interaction(submission(BOB, "timeline.remove", &metadata, json!({})))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(entries(&app).await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM timeline_entries WHERE hidden")
            .await,
        1,
        "kept for audit, as an untagged entry is"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM incident_events WHERE type = 'timeline.entry_removed'")
            .await,
        1
    );
    // Carol adds it again: the entry is back, and says Carol added it.
    let again = message_action(
        "add_to_timeline",
        CAROL,
        &room,
        ts,
        CAROL,
        "p99 is 4 s on search",
    );
    assert_eq!(app.interaction(again).await.status(), 200);
    app.wait_idle().await;
    assert_eq!(entries(&app).await, 1);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM timeline_entries WHERE tagged_by = 'UCAROL' AND NOT hidden"
        )
        .await,
        1
    );
    // After the close, the timeline is final: a removal is refused.
    app.command(DECLARER, &room, "close").await;
    app.wait_idle().await;
    let res = app
        .interaction(submission(CAROL, "timeline.remove", &metadata, json!({})))
        .await;
    assert_eq!(res.status(), 200);
    app.wait_idle().await;
    assert_eq!(
        entries(&app).await,
        1,
        "still on the closed incident's timeline"
    );
}

#[tokio::test]
async fn adding_from_another_channel_asks_which_incident_and_hides_private_ones() {
    let app = app_with_announcements().await;
    app.declare("Payments down", "SEV1").await;
    // A private incident BOB is not in.
    crate::private::declare_with(&app, "V-private", vec!["private"]).await;

    let ts = "1795400200.000300";
    let res = app
        .interaction(message_action(
            "add_to_timeline",
            BOB,
            RANDOM,
            ts,
            CAROL,
            "Customers report failed payments",
        ))
        .await;
    assert_eq!(res.status(), 200);
    let (view, metadata) = last_view(&app);
    assert_eq!(view["callback_id"], "timeline.add");
    let listed = view.to_string();
    assert!(listed.contains("Payments down"), "{listed}");
    assert!(
        !listed.contains(crate::private::TITLE),
        "a private incident BOB is not in: {listed}"
    );
    let values = json!({"incident": {"value": {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": "INC-1"}, "value": "1"}}}});
    let res = app
        .interaction(submission(BOB, "timeline.add", &metadata, values))
        .await;
    assert_eq!(res.status(), 200);
    app.wait_idle().await;
    let entries = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    let added = entries
        .iter()
        .find(|e| e.slack_ts.as_ref().is_some_and(|t| t.as_str() == ts))
        .expect("the message is on INC-1's timeline");
    assert_eq!(added.text, "Customers report failed payments");
    assert_eq!(added.author.as_ref().map(|u| u.as_str()), Some(CAROL));
    assert!(added.fetched);
}

#[tokio::test]
async fn the_workflow_step_declares_once_and_answers_with_its_outputs() {
    let app = app_with_announcements().await;
    let inputs = json!({"title": "Queue backlog growing", "severity": "SEV2", "summary": "From the on-call workflow", "private": false, "declarer": BOB});
    let res = app
        .event(step_event("Ev-step-1", "Fx1", inputs.clone()), None)
        .await;
    assert_eq!(res.status(), 200);
    let room = app.wait_room(1).await;
    app.wait_idle().await;
    // Slack delivers the event again: still one incident, one answer.
    let res = app
        .event(step_event("Ev-step-1", "Fx1", inputs), Some(1))
        .await;
    assert_eq!(res.status(), 200);
    app.wait_idle().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 1);
    let done = app.slack.calls("functions.completeSuccess");
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].body["function_execution_id"], "Fx1");
    assert_eq!(done[0].body["outputs"]["incident_number"], "1");
    assert_eq!(done[0].body["outputs"]["war_room"], json!(room));
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM incidents WHERE declared_by = 'UBOB' AND severity = 'SEV2'"
        )
        .await,
        1
    );

    // An unknown severity: no incident, and the workflow hears why.
    let bad = json!({"title": "Something", "severity": "SEV9", "declarer": BOB});
    for retry in [None, Some(1)] {
        let res = app
            .event(step_event("Ev-step-2", "Fx2", bad.clone()), retry)
            .await;
        assert_eq!(res.status(), 200);
    }
    app.wait_idle().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 1);
    let failed = app.slack.calls("functions.completeError");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].body["function_execution_id"], "Fx2");
    let reason = failed[0].body["error"].as_str().unwrap();
    assert!(reason.contains("SEV9"), "a readable reason: {reason}");
}

/// The text of a published Home tab.
fn home_text(app: &TestApp, user: &str) -> String {
    app.slack
        .home_of(user)
        .unwrap_or_else(|| panic!("no Home tab published for {user}"))
        .to_string()
}

#[tokio::test]
async fn home_shows_what_each_person_may_see_and_follows_changes() {
    let app = app_with_announcements().await;
    let room = app.declare("Public outage", "SEV2").await;
    crate::private::declare_with(&app, "V-private", vec!["private"]).await;

    for (i, user) in [DECLARER, BOB].iter().enumerate() {
        let res = app
            .event(home_opened(&format!("Ev-home-{i}"), user), None)
            .await;
        assert_eq!(res.status(), 200);
    }
    app.wait_idle().await;
    let alice = home_text(&app, DECLARER);
    let bob = home_text(&app, BOB);
    for text in [&alice, &bob] {
        assert!(text.contains("home.declare"), "a Declare button: {text}");
        assert!(text.contains("Public outage"));
    }
    assert!(
        alice.contains(crate::private::TITLE),
        "a member sees the private one"
    );
    assert!(
        !bob.contains(crate::private::TITLE),
        "a non-member does not: {bob}"
    );
    assert!(alice.contains("Incident Lead"), "Alice's roles: {alice}");

    // BOB claims a role: both open tabs follow, each published once more.
    let published = app.slack.calls("views.publish").len();
    app.click(BOB, &room, "role.claim", "1|Scribe").await;
    app.step_until("the Home tabs refreshed", minutes(1), || async {
        let now = app.slack.calls("views.publish").len();
        if now >= published + 2 {
            Ok(())
        } else {
            Err(now)
        }
    })
    .await;
    app.idle().await;
    assert_eq!(app.slack.calls("views.publish").len(), published + 2);
    assert!(home_text(&app, BOB).contains("Scribe"), "BOB's new role");

    // 20 incidents change at once: still one publish per open tab.
    let published = app.slack.calls("views.publish").len();
    for n in 0..20 {
        let d = declaration(&format!("Burst {n}"));
        let effects = warroom::store::Effects::default();
        app.ctx
            .store
            .create_incident(
                &d,
                Some(&format!("burst-{n}")),
                app.ctx.clock.now(),
                &warroom::domain::RoleName::new("Incident Lead"),
                effects,
            )
            .await
            .unwrap();
    }
    app.ctx.state_changed();
    app.step_until("the burst published", minutes(1), || async {
        let now = app.slack.calls("views.publish").len();
        if now >= published + 2 {
            Ok(())
        } else {
            Err(now)
        }
    })
    .await;
    app.idle().await;
    assert_eq!(
        app.slack.calls("views.publish").len(),
        published + 2,
        "no more publishes than people who opened their tab"
    );
    assert!(home_text(&app, BOB).contains("Burst 19"));
}

#[tokio::test]
async fn home_follow_up_done_refreshes_the_tab() {
    let app = app_with_announcements().await;
    let room = app.declare("Disk full", "SEV2").await;
    app.command(
        DECLARER,
        &room,
        "followup Add disk alerts <@UBOB> 2030-01-10",
    )
    .await;
    app.wait_idle().await;
    app.event(home_opened("Ev-h", BOB), None).await;
    app.wait_idle().await;
    let tab = app.slack.home_of(BOB).unwrap();
    assert!(tab.to_string().contains("Add disk alerts"), "{tab}");
    let done = tab.to_string();
    let id_start = done.find("followup.done").expect("a Done button");
    let action_id: String = done[id_start..].chars().take_while(|c| *c != '"').collect();
    let published = app.slack.calls("views.publish").len();
    let mut click = click_payload(BOB, "D1", &action_id, "1");
    let map = click.as_object_mut().unwrap();
    map.remove("channel");
    map.remove("message");
    map.insert(
        "container".to_string(),
        json!({"type": "view", "view_id": tab["id"]}),
    );
    map.insert("view".to_string(), tab.clone());
    assert_eq!(app.interaction(click).await.status(), 200);
    app.step_until("the tab refreshed", minutes(1), || async {
        let now = app.slack.calls("views.publish").len();
        if now > published { Ok(()) } else { Err(now) }
    })
    .await;
    assert!(
        home_text(&app, BOB).contains("Nothing open"),
        "{}",
        home_text(&app, BOB)
    );
}

/// Slack's published `message_action` shape (every field Slack documents),
/// with this message and callback filled in, adds the message; the
/// published `app_home_opened` shape publishes the tab.
#[tokio::test]
async fn the_published_shapes_open_these_doors() {
    let app = app_with_announcements().await;
    let room = app.declare("Cache misses", "SEV3").await;
    let ts = app
        .slack
        .user_posts(&room, CAROL, "hit ratio fell to 40%", None, start_time());
    let mut shortcut = crate::shapes::fixture("interactivity/message_shortcut.json");
    shortcut["callback_id"] = json!("add_to_timeline");
    shortcut["trigger_id"] = json!("1.2.3");
    shortcut["user"]["id"] = json!(BOB);
    shortcut["channel"]["id"] = json!(room);
    shortcut["message_ts"] = json!(ts);
    shortcut["message"]["ts"] = json!(ts);
    shortcut["message"]["user"] = json!(CAROL);
    shortcut["message"]["text"] = json!("hit ratio fell to 40%");
    assert_eq!(app.interaction(shortcut).await.status(), 200);
    app.wait_idle().await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM timeline_entries WHERE text = 'hit ratio fell to 40%' AND tagged_by = 'UBOB'")
            .await,
        1
    );

    let mut opened = crate::shapes::fixture("events/app_home_opened.json");
    opened["event"]["user"] = json!(BOB);
    opened["event"]["tab"] = json!("home");
    assert_eq!(app.event(opened, None).await.status(), 200);
    app.wait_idle().await;
    assert!(home_text(&app, BOB).contains("Cache misses"));
}
