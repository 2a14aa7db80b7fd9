//! Private and security incidents: a private war room, what people outside
//! it see (announcement, `/incident list`, `stats`), membership, take-over
//! and the guards checked inside the write transaction.

use crate::fake_slack::Failure;
use crate::helpers::*;
use serde_json::{Value, json};
use std::time::Duration;
use warroom::domain::{Status, UserId};
use warroom::store::{ChangeError, Effects, Guard};

const BOB: &str = "UBOB";
const MALLORY: &str = "UMALLORY";
pub const TITLE: &str = "Leaked signing keys";
pub const SUMMARY: &str = "Keys for the payments signer found in a public gist";

/// Declares through the form with these flags; returns the war room.
pub async fn declare_with(app: &TestApp, view: &str, flags: Vec<&'static str>) -> String {
    let before = app.count("SELECT COUNT(*) FROM incidents").await;
    let res = app
        .submit_declare(
            DECLARER,
            view,
            DeclareInput {
                title: TITLE.to_string(),
                summary: SUMMARY.to_string(),
                severity: Some("SEV1".to_string()),
                flags,
                ..DeclareInput::default()
            },
        )
        .await;
    assert_eq!(res.status(), 200);
    let room = app.wait_room(before + 1).await;
    app.wait_idle().await;
    room
}

/// Every message body sent to `channel` (posts and edits).
fn bodies_in(app: &TestApp, channel: &str) -> Vec<String> {
    app.slack
        .all_calls()
        .iter()
        .filter(|c| {
            matches!(
                c.method.as_str(),
                "chat.postMessage" | "chat.update" | "chat.postEphemeral"
            ) && c.body.get("channel").and_then(Value::as_str) == Some(channel)
        })
        .map(|c| c.body.to_string())
        .collect()
}

/// Everything the bot sent to Slack anywhere but `room`.
fn sent_outside(app: &TestApp, room: &str) -> Vec<String> {
    app.slack
        .all_calls()
        .iter()
        .filter(|c| {
            !matches!(
                c.method.as_str(),
                "conversations.create" | "views.open" | "files.getUploadURLExternal"
            ) && c.body.get("channel").and_then(Value::as_str) != Some(room)
                && c.body.get("channel_id").and_then(Value::as_str) != Some(room)
        })
        .map(|c| format!("{} {}", c.method, c.body))
        .collect()
}

fn member_event(kind: &str, id: &str, user: &str, channel: &str) -> Value {
    member_event_at(kind, id, user, channel, "1795402800.000100")
}

/// A member event that happened at `event_ts` (Slack's `1700000000.000100`).
fn member_event_at(kind: &str, id: &str, user: &str, channel: &str, event_ts: &str) -> Value {
    json!({
        "token": "t", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": id, "event_time": 1_700_000_000,
        "event": {"type": kind, "user": user, "channel": channel, "channel_type": "G", "team": "T1", "event_ts": event_ts}
    })
}

/// `event_ts` of a moment `secs` seconds after the test's start.
fn slack_ts(secs: i64) -> String {
    format!("{}.000100", start_time().timestamp() + secs)
}

/// Whether `user` sees the private incident 1: in `/incident list`, and as
/// the store records it (the two must agree).
async fn sees_incident(app: &TestApp, user: &str) -> bool {
    let listed = list_text(app, user, ORIGIN).await.contains(TITLE);
    let member = app
        .ctx
        .store
        .is_member(
            warroom::domain::IncidentNumber::new(1),
            &UserId(user.to_string()),
        )
        .await
        .unwrap();
    assert_eq!(listed, member, "what {user} is shown follows membership");
    listed
}

async fn list_text(app: &TestApp, user: &str, channel: &str) -> String {
    let answer = app.command_json(user, channel, "list").await;
    assert_eq!(answer["response_type"], "ephemeral");
    answer["text"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_private_incident_runs_from_declare_to_postmortem_without_its_title_leaving_the_room() {
    let app = TestApp::spawn(Setup::default()).await;
    app.slack.set_name(DECLARER, "Alice");
    app.slack.set_name(BOB, "Bob");
    let room = declare_with(&app, "V1", vec!["private"]).await;

    // The war room is a private channel.
    let create = &app.slack.calls("conversations.create")[0];
    assert_eq!(create.body["is_private"], true, "{}", create.body);
    assert!(app.slack.is_private(&room));
    assert!(app.incident(1).await.private);
    assert!(
        app.slack
            .channel(&room)
            .unwrap()
            .members
            .contains(&DECLARER.to_string())
    );

    // The announcement names neither title nor summary.
    let announcement = bodies_in(&app, ORIGIN);
    assert_eq!(announcement.len(), 1, "{announcement:?}");
    assert!(announcement[0].contains("INC-1"), "{}", announcement[0]);
    assert!(announcement[0].contains("SEV1"));
    assert!(announcement[0].contains("private incident"));
    assert!(
        announcement[0].contains(&format!("ask <@{DECLARER}> to be added")),
        "{}",
        announcement[0]
    );

    // `/incident list`: the declarer (invited) sees it, someone else does not.
    let inside = list_text(&app, DECLARER, ORIGIN).await;
    assert!(inside.contains(TITLE), "{inside}");
    let outside = list_text(&app, MALLORY, ORIGIN).await;
    assert!(!outside.contains(TITLE), "{outside}");
    assert!(!outside.contains("INC-1"), "{outside}");

    // Bob is added by hand: Slack tells the bot, and he sees it; when he
    // leaves, he no longer does. A redelivered event changes nothing.
    app.event(
        member_event("member_joined_channel", "EvJ1", BOB, &room),
        None,
    )
    .await;
    assert!(list_text(&app, BOB, ORIGIN).await.contains(TITLE));
    app.event(
        member_event("member_left_channel", "EvL1", BOB, &room),
        None,
    )
    .await;
    assert!(!list_text(&app, BOB, ORIGIN).await.contains(TITLE));
    app.event(
        member_event("member_joined_channel", "EvJ1", BOB, &room),
        Some(1),
    )
    .await;
    assert!(!list_text(&app, BOB, ORIGIN).await.contains(TITLE));

    // Bob claims Scribe in the room (so he is in it again) and tags a message.
    app.click(BOB, &room, "role.claim", "1|Scribe").await;
    app.wait_idle().await;
    assert!(list_text(&app, BOB, ORIGIN).await.contains(TITLE));
    let ts = app.slack.user_posts(
        &room,
        DECLARER,
        "rotated the signer's keys; see <https://vault.acme.io/x|vault>",
        None,
        start_time() + chrono::Duration::minutes(2),
    );
    app.event(
        reaction("reaction_added", "EvT1", BOB, "pushpin", &room, &ts),
        None,
    )
    .await;
    app.wait_idle().await;
    let entries = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    let tagged = entries.iter().find(|e| e.slack_ts.is_some()).unwrap();
    assert!(tagged.fetched);
    assert!(tagged.text.contains("rotated the signer's keys"));
    assert_eq!(app.slack.bot_reactions(&room, &ts), ["memo"]);

    // Updates, reminders and close all happen in the private room.
    app.command_json(DECLARER, &room, "update Keys rotated, no misuse seen")
        .await;
    app.advance(minutes(31)).await;
    assert!(
        bodies_in(&app, &room)
            .iter()
            .any(|b| b.contains("no status update since")),
        "the nudge reached the private room"
    );
    let closed = app.command_json(DECLARER, &room, "close").await;
    assert_eq!(closed["response_type"], "in_channel");
    app.settle().await;
    let files = app.slack.files_in(&room);
    assert_eq!(files.len(), 1, "the postmortem file is in the private room");
    let (_, markdown) = &files[0];
    assert!(markdown.contains(TITLE));
    assert!(
        markdown.contains("| Private war room | yes |"),
        "{markdown}"
    );
    assert!(markdown.contains("| Declared by | @Alice |"), "{markdown}");
    assert!(
        markdown.contains("[vault](https://vault.acme.io/x)"),
        "{markdown}"
    );

    // Nothing sent anywhere else carried the title, the summary or the
    // status update's words: a private incident's update stays in its war
    // room unless someone picks the announcement channel in the form.
    let leaks: Vec<String> = sent_outside(&app, &room)
        .into_iter()
        .filter(|c| {
            c.contains(TITLE)
                || c.contains(SUMMARY)
                || c.contains("leaked-signing")
                || c.contains("Keys rotated")
        })
        .collect();
    assert!(leaks.is_empty(), "{leaks:#?}");
    assert!(
        bodies_in(&app, &room)
            .iter()
            .any(|b| b.contains("Keys rotated, no misuse seen")),
        "the update is in the war room"
    );

    // `stats` counts it for the people in it, without its title, and
    // not for others (issue 27.2).
    let stats = app.command_json(DECLARER, ORIGIN, "stats").await;
    let stats = stats["text"].as_str().unwrap();
    assert!(
        stats.contains("Incidents in the last 90 days: 1"),
        "{stats}"
    );
    assert!(!stats.contains(TITLE));
    let outside = app.command_json(MALLORY, ORIGIN, "stats").await;
    assert!(
        outside["text"]
            .as_str()
            .unwrap()
            .starts_with("No incidents"),
        "{outside}"
    );
}

#[tokio::test]
async fn security_incidents_are_private_unless_configured_otherwise() {
    let app = TestApp::spawn(Setup::default()).await;
    declare_with(&app, "V1", vec!["security"]).await;
    assert!(app.incident(1).await.private);
    assert_eq!(
        app.slack.calls("conversations.create")[0].body["is_private"],
        true
    );
    declare_with(&app, "V2", vec![]).await;
    assert!(!app.incident(2).await.private);
    assert_eq!(
        app.slack.calls("conversations.create")[1].body["is_private"],
        false
    );

    let app = TestApp::spawn(Setup {
        env: vec![("WARROOM_INCIDENTS__SECURITY_PRIVATE", "false".to_string())],
        ..Setup::default()
    })
    .await;
    declare_with(&app, "V1", vec!["security"]).await;
    assert!(!app.incident(1).await.private);
    declare_with(&app, "V2", vec!["security", "private"]).await;
    assert!(app.incident(2).await.private);
}

#[tokio::test]
async fn announce_none_posts_nothing_outside_and_full_posts_as_for_public_ones() {
    let app = TestApp::spawn(Setup {
        env: vec![("WARROOM_PRIVATE_INCIDENTS__ANNOUNCE", "none".to_string())],
        ..Setup::default()
    })
    .await;
    let room = declare_with(&app, "V1", vec!["private"]).await;
    app.command_json(DECLARER, &room, "severity sev2").await;
    app.command_json(DECLARER, &room, "update contained").await;
    app.wait_idle().await;
    assert!(
        bodies_in(&app, ORIGIN).is_empty(),
        "{:?}",
        bodies_in(&app, ORIGIN)
    );
    assert!(
        bodies_in(&app, &room)
            .iter()
            .any(|b| b.contains("contained")),
        "the update's copy is in the war room"
    );
    // The form ticks no audience by default, and none is needed.
    app.command(DECLARER, &room, "update").await;
    let view = app.slack.calls("views.open").last().unwrap().body["view"].clone();
    assert!(
        !view.to_string().contains("initial_options"),
        "nothing ticked: {view}"
    );
    let res = app
        .interaction(json!({
            "type": "view_submission",
            "user": {"id": DECLARER},
            "view": {
                "id": "VUPD1", "type": "modal", "callback_id": "update", "private_metadata": "1",
                "state": {"values": {
                    "status": {"value": {"type": "plain_text_input", "value": "keys rotated by form"}},
                    "audiences": {"value": {"type": "checkboxes", "selected_options": []}}
                }}
            }
        }))
        .await;
    assert_eq!(res.status(), 200);
    let answer = res.text().await.unwrap();
    assert!(!answer.contains("errors"), "{answer}");
    app.wait_idle().await;
    assert!(
        bodies_in(&app, &room)
            .iter()
            .any(|b| b.contains("keys rotated by form"))
    );

    let app = TestApp::spawn(Setup {
        env: vec![("WARROOM_PRIVATE_INCIDENTS__ANNOUNCE", "full".to_string())],
        ..Setup::default()
    })
    .await;
    declare_with(&app, "V1", vec!["private"]).await;
    let announced = bodies_in(&app, ORIGIN);
    assert_eq!(announced.len(), 1);
    assert!(announced[0].contains(TITLE), "{}", announced[0]);
    assert!(announced[0].contains(SUMMARY));
}

#[tokio::test]
async fn a_lost_answer_finds_the_private_war_room_the_bot_created() {
    let app = TestApp::spawn(Setup::default()).await;
    app.slack
        .fail_next("conversations.create", Failure::LostResponse, 1);
    app.submit_declare(
        DECLARER,
        "V1",
        DeclareInput {
            flags: vec!["private"],
            ..DeclareInput::default()
        },
    )
    .await;
    let room = app
        .step_until("the war room", Duration::from_secs(5), || async {
            app.room(1).await.ok_or("no war room yet")
        })
        .await;
    let rooms = app.slack.channel_named_like("inc-1");
    assert_eq!(rooms.len(), 1, "one war room: {rooms:?}");
    assert_eq!(rooms[0].id, room);
    assert!(app.slack.is_private(&room));
    let list = &app.slack.calls("conversations.list")[0];
    assert!(
        list.body["types"]
            .as_str()
            .unwrap()
            .contains("private_channel"),
        "{}",
        list.body
    );
}

#[tokio::test]
async fn status_cannot_reopen_an_incident_closed_meanwhile() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    // `/incident status investigating` checked "open" before close
    // committed; its write comes after. The check inside the transaction
    // refuses it.
    let before_close = app.incident(1).await;
    assert!(before_close.status.is_open());
    app.command_json(DECLARER, &room, "close").await;
    let late = app
        .ctx
        .store
        .set_status(
            warroom::domain::IncidentNumber::new(1),
            Status::Identified,
            app.clock.now(),
            Effects {
                guard: Guard::open_by(&UserId(BOB.to_string())),
                ..Effects::default()
            },
        )
        .await;
    assert!(
        matches!(&late, Err(ChangeError::Refused(why)) if why.to_string().contains("closed")),
        "{late:?}"
    );
    assert_eq!(app.incident(1).await.status, Status::Closed);

    // The same race through the server: whichever lands first, a closed
    // incident stays closed.
    for n in 2..=6 {
        let room = app.declare("Checkout returns 500", "SEV2").await;
        let status = app.command_json(DECLARER, &room, "status identified");
        let close = app.command_json(DECLARER, &room, "close");
        let (_, closed) = tokio::join!(status, close);
        assert_eq!(closed["response_type"], "in_channel", "{closed}");
        let late = app
            .command_json(DECLARER, &room, "status investigating")
            .await;
        assert!(late["text"].as_str().unwrap().contains("closed"), "{late}");
        assert_eq!(app.incident(n).await.status, Status::Closed);
    }
    app.settle().await;
}

#[tokio::test]
async fn take_over_can_be_limited_to_listed_roles() {
    let app = TestApp::spawn(Setup {
        env: vec![(
            "WARROOM_PERMISSIONS__TAKE_OVER",
            "Incident Lead".to_string(),
        )],
        ..Setup::default()
    })
    .await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    // An unheld role is still one click.
    app.click(BOB, &room, "role.claim", "1|Scribe").await;
    app.wait_idle().await;
    // Taking the lead from the declarer is not Bob's to do.
    app.click(BOB, &room, "role.claim", "1|Incident Lead").await;
    app.wait_idle().await;
    let holders = app
        .ctx
        .store
        .assignments(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    let lead: Vec<&str> = holders
        .iter()
        .filter(|a| a.role.as_str() == "Incident Lead")
        .map(|a| a.user.0.as_str())
        .collect();
    assert_eq!(lead, [DECLARER]);
    let told = app.slack.calls("chat.postEphemeral");
    let told = told.last().expect("Bob was told");
    assert_eq!(told.body["user"], BOB);
    let text = told.body["text"].as_str().unwrap();
    assert!(text.contains("take over a role"), "{text}");
    assert!(text.contains("Incident Lead"), "{text}");
    // The lead may hand Scribe to someone else by taking it over.
    app.click(DECLARER, &room, "role.claim", "1|Scribe").await;
    app.wait_idle().await;
    let scribe: Vec<String> = app
        .ctx
        .store
        .assignments(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.role.as_str() == "Scribe")
        .map(|a| a.user.0)
        .collect();
    assert_eq!(scribe, [DECLARER]);
}

#[tokio::test]
async fn member_events_delivered_out_of_order_keep_what_happened_last() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = declare_with(&app, "V1", vec!["private"]).await;
    let event = |kind: &str, id: &str, secs: i64| {
        let kind = format!("member_{kind}_channel");
        member_event_at(&kind, id, BOB, &room, &slack_ts(secs))
    };
    assert!(!sees_incident(&app, BOB).await);

    // Bob is added a minute in and leaves a minute later; Slack delivers the
    // leave first, then the join.
    for (kind, id, secs) in [("left", "EvL1", 120), ("joined", "EvJ1", 60)] {
        let res = app.event(event(kind, id, secs), None).await;
        assert_eq!(res.status(), 200);
    }
    assert!(!sees_incident(&app, BOB).await, "he left last");

    // Added again at three minutes; a leave from two and a half minutes in,
    // delivered late, does not take him out.
    for (kind, id, secs) in [("joined", "EvJ2", 180), ("left", "EvL2", 150)] {
        let res = app.event(event(kind, id, secs), None).await;
        assert_eq!(res.status(), 200);
    }
    assert!(sees_incident(&app, BOB).await, "he joined last");
}

#[tokio::test]
async fn submitting_a_form_after_leaving_the_war_room_does_not_make_one_a_member_again() {
    let app = TestApp::spawn(Setup {
        env: vec![("WARROOM_PERMISSIONS__SEVERITY", "anyone".to_string())],
        ..Setup::default()
    })
    .await;
    let room = declare_with(&app, "V1", vec!["private"]).await;
    // Bob was in the room for a while, then left; the forms he had opened
    // there are submitted afterwards.
    app.event(
        member_event_at("member_joined_channel", "EvJ1", BOB, &room, &slack_ts(10)),
        None,
    )
    .await;
    assert!(sees_incident(&app, BOB).await);
    app.event(
        member_event_at("member_left_channel", "EvL1", BOB, &room, &slack_ts(20)),
        None,
    )
    .await;
    assert!(!sees_incident(&app, BOB).await);
    app.advance(minutes(1)).await;

    let user = json!({"id": BOB, "username": "bob", "name": "bob", "team_id": "T1"});
    let select = |v: Option<&str>| json!({"value": {"type": "static_select", "selected_option": v.map(|v| json!({"text": {"type": "plain_text", "text": v}, "value": v}))}});
    let forms = [
        json!({"type": "view_submission", "user": user, "view": {
            "id": "VUPD1", "type": "modal", "callback_id": "update", "private_metadata": "1",
            "state": {"values": {
                "status": {"value": {"type": "plain_text_input", "value": "keys rotated"}},
                "audiences": {"value": {"type": "checkboxes", "selected_options": [
                    {"text": {"type": "plain_text", "text": "Announcement"}, "value": "announcement"}
                ]}}
            }}
        }}),
        json!({"type": "view_submission", "user": user, "view": {
            "id": "VSEV1", "type": "modal", "callback_id": "severity", "private_metadata": "1",
            "state": {"values": {
                "impact_answer": select(None), "urgency": select(None), "severity": select(Some("SEV2")),
            }}
        }}),
        json!({"type": "view_submission", "user": user, "view": {
            "id": "VFU1", "type": "modal", "callback_id": "followup", "private_metadata": "1",
            "state": {"values": {
                "text": {"value": {"type": "plain_text_input", "value": "Rotate keys monthly"}},
                "owner": {"value": {"type": "users_select", "selected_user": null}},
                "due": {"value": {"type": "datepicker", "selected_date": null}}
            }}
        }}),
    ];
    for form in forms {
        let callback = form["view"]["callback_id"].clone();
        let res = app.interaction(form).await;
        assert_eq!(res.status(), 200);
        let answer = res.text().await.unwrap();
        assert!(!answer.contains("errors"), "{callback}: {answer}");
        assert!(!sees_incident(&app, BOB).await, "after the {callback} form");
    }
    // Each form did its work.
    app.settle().await;
    let timeline = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    for said in ["keys rotated", "SEV2", "Rotate keys monthly"] {
        assert!(
            timeline.iter().any(|e| e.text.contains(said)),
            "{said}: {timeline:#?}"
        );
    }
    assert_eq!(app.incident(1).await.severity.as_str(), "SEV2");

    // What he does in the room itself still counts.
    app.command_json(BOB, &room, "note back in the room").await;
    assert!(sees_incident(&app, BOB).await);
}

/// With the default `announce = "redacted"`, a private incident's status
/// update stays in its war room; the form ticks no place outside, warns
/// that the announcement channel is public, and posts there only when the
/// person ticks it.
#[tokio::test]
async fn a_private_update_reaches_the_announcement_channel_only_when_picked() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = declare_with(&app, "V1", vec!["private"]).await;
    app.wait_idle().await;
    let announced_before = bodies_in(&app, ORIGIN).len();
    app.command_json(
        DECLARER,
        &room,
        "update Tokens rotated for the 3 affected admin accounts",
    )
    .await;
    app.wait_idle().await;
    assert_eq!(
        bodies_in(&app, ORIGIN).len(),
        announced_before,
        "nothing more outside: {:?}",
        bodies_in(&app, ORIGIN)
    );
    assert!(
        bodies_in(&app, &room)
            .iter()
            .any(|b| b.contains("Tokens rotated for the 3 affected admin accounts"))
    );

    app.command(DECLARER, &room, "update").await;
    let view = app.slack.calls("views.open").last().unwrap().body["view"].clone();
    let text = view.to_string();
    assert!(!text.contains("initial_options"), "nothing ticked: {view}");
    assert!(text.contains("A public channel"), "the warning: {view}");
    let res = app
        .interaction(json!({
            "type": "view_submission",
            "user": {"id": DECLARER},
            "view": {
                "id": "VUPD2", "type": "modal", "callback_id": "update", "private_metadata": "1",
                "state": {"values": {
                    "status": {"value": {"type": "plain_text_input", "value": "all tokens rotated"}},
                    "audiences": {"value": {"type": "checkboxes", "selected_options": [{"value": "announcement"}]}}
                }}
            }
        }))
        .await;
    assert_eq!(res.status(), 200);
    app.wait_idle().await;
    assert!(
        bodies_in(&app, ORIGIN)
            .iter()
            .any(|b| b.contains("all tokens rotated")),
        "picked, so posted: {:?}",
        bodies_in(&app, ORIGIN)
    );
    // Still without the title.
    assert!(!bodies_in(&app, ORIGIN).iter().any(|b| b.contains(TITLE)));
}

/// Issue 27.2: `/incident stats` counts a private incident only for people
/// known to be in its war room, so comparing two answers does not reveal
/// that one started.
#[tokio::test]
async fn stats_leave_out_a_private_incident_for_people_outside_it() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.command(DECLARER, &room, "followup Add a canary").await;
    app.idle().await;
    let stats = |user: &'static str| {
        let app = &app;
        async move {
            app.command_json(user, "CELSEWHERE", "stats").await["text"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let before = stats(BOB).await;
    let private = declare_with(&app, "V1", vec!["private"]).await;
    app.command(DECLARER, &private, "followup Rotate the keys")
        .await;
    app.idle().await;
    assert_eq!(
        stats(BOB).await,
        before,
        "nothing tells Bob a private incident started"
    );
    let alice = stats(DECLARER).await;
    assert!(alice.contains("last 90 days: 2*"), "{alice}");
    assert!(before.contains("last 90 days: 1*"), "{before}");
}
