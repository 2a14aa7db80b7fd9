//! Who may close, assign, change the severity and tag: the defaults, a
//! configured role list, `anyone`, each refusal's words, and that a refusal
//! changes nothing. Commands act only on the incident of their channel.

use crate::helpers::*;
use warroom::domain::{Assignment, EntryKind, Incident, Status};

/// Holds no role anywhere.
const BOB: &str = "UBOB";
const CAROL: &str = "UCAROL";
const SCRIBE: &str = "USCRIBE";
const TESS: &str = "UTESS";

/// What a refusal must leave as it was.
#[derive(Debug, PartialEq)]
struct Snapshot {
    incidents: Vec<Incident>,
    roles: Vec<Vec<Assignment>>,
    timeline_entries: i64,
    jobs: i64,
    slack_calls: usize,
}

async fn snapshot(app: &TestApp) -> Snapshot {
    app.settle().await;
    let n = app.count("SELECT COUNT(*) FROM incidents").await;
    let mut incidents = Vec::new();
    let mut roles = Vec::new();
    for number in 1..=n {
        incidents.push(app.incident(number).await);
        roles.push(
            app.ctx
                .store
                .assignments(warroom::domain::IncidentNumber::new(number))
                .await
                .unwrap(),
        );
    }
    Snapshot {
        incidents,
        roles,
        timeline_entries: app.count("SELECT COUNT(*) FROM timeline_entries").await,
        jobs: app.count("SELECT COUNT(*) FROM jobs").await,
        slack_calls: app.slack.all_calls().len(),
    }
}

/// `text` typed by `user` in `room` is answered, to them only, with
/// `refusal`, and nothing changes: no write, no job, no Slack call.
async fn refused(app: &TestApp, user: &str, room: &str, text: &str, refusal: &str) {
    let before = snapshot(app).await;
    let answer = app.command_json(user, room, text).await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    assert_eq!(answer["text"], refusal, "for `{text}` by {user}");
    assert_eq!(
        snapshot(app).await,
        before,
        "`{text}` by {user} changed something"
    );
}

/// `text` typed by `user` in `room` is done and announced in the channel.
async fn done(app: &TestApp, user: &str, room: &str, text: &str) {
    let answer = app.command_json(user, room, text).await;
    assert_eq!(
        answer["response_type"], "in_channel",
        "`{text}` by {user}: {answer}"
    );
    app.settle().await;
}

async fn claim(app: &TestApp, user: &str, room: &str, role: &str) {
    let res = app
        .click(user, room, "role.claim", &format!("1|{role}"))
        .await;
    assert_eq!(res.status(), 200);
    app.settle().await;
}

async fn holders(app: &TestApp, role: &str) -> Vec<String> {
    app.ctx
        .store
        .assignments(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.role.as_str() == role)
        .map(|a| a.user.0)
        .collect()
}

/// Timeline entries made from tagged messages.
async fn tags(app: &TestApp) -> Vec<warroom::domain::Entry> {
    app.ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.slack_ts.is_some())
        .collect()
}

/// The ephemeral messages Slack was asked to show: (channel, user, text).
fn ephemerals(app: &TestApp) -> Vec<(String, String, String)> {
    app.slack
        .calls("chat.postEphemeral")
        .iter()
        .map(|c| {
            let s = |k: &str| c.body[k].as_str().unwrap_or_default().to_string();
            (s("channel"), s("user"), s("text"))
        })
        .collect()
}

#[tokio::test]
async fn by_default_only_the_lead_closes() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout errors", "SEV2").await;
    let only_alice = "Only the Incident Lead (<@UALICE>) can close INC-1. Claim Incident Lead on the role board if you are taking over.";
    refused(&app, BOB, &room, "close", only_alice).await;
    // Holding another role is not enough.
    claim(&app, BOB, &room, "Technical Lead").await;
    refused(&app, BOB, &room, "close", only_alice).await;

    done(&app, DECLARER, &room, "close").await;
    assert_eq!(app.incident(1).await.status, Status::Closed);
}

#[tokio::test]
async fn by_default_only_the_lead_assigns_and_the_lead_is_whoever_claimed_it() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout errors", "SEV2").await;
    refused(
        &app,
        BOB,
        &room,
        &format!("assign scribe <@{BOB}>"),
        "Only the Incident Lead (<@UALICE>) can assign roles in INC-1. Claim Incident Lead on the role board if you are taking over.",
    )
    .await;
    assert!(holders(&app, "Scribe").await.is_empty());

    done(&app, DECLARER, &room, &format!("assign scribe <@{SCRIBE}>")).await;
    assert_eq!(holders(&app, "Scribe").await, [SCRIBE]);

    // Carol takes over the lead: the declarer no longer leads.
    claim(&app, CAROL, &room, "Incident Lead").await;
    refused(
        &app,
        DECLARER,
        &room,
        &format!("assign tester <@{BOB}>"),
        "Only the Incident Lead (<@UCAROL>) can assign roles in INC-1. Claim Incident Lead on the role board if you are taking over.",
    )
    .await;
    done(&app, CAROL, &room, &format!("assign tester <@{BOB}>")).await;
    assert_eq!(holders(&app, "Tester").await, [BOB]);
}

#[tokio::test]
async fn by_default_only_the_lead_changes_the_severity() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout errors", "SEV2").await;
    refused(
        &app,
        BOB,
        &room,
        "severity sev1",
        "Only the Incident Lead (<@UALICE>) can change the severity of INC-1. Claim Incident Lead on the role board if you are taking over.",
    )
    .await;
    // Refused before the level is even read.
    refused(
        &app,
        BOB,
        &room,
        "severity sev9",
        "Only the Incident Lead (<@UALICE>) can change the severity of INC-1. Claim Incident Lead on the role board if you are taking over.",
    )
    .await;
    assert_eq!(app.incident(1).await.severity.as_str(), "SEV2");

    done(&app, DECLARER, &room, "severity sev1").await;
    assert_eq!(app.incident(1).await.severity.as_str(), "SEV1");
}

#[tokio::test]
async fn by_default_only_the_scribe_and_the_lead_tag_and_others_are_told_once() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout errors", "SEV2").await;
    claim(&app, SCRIBE, &room, "Scribe").await;
    let ts = app
        .slack
        .user_posts(&room, CAROL, "I think it's DNS", None, start_time());
    let refusal = "Only the Scribe (<@USCRIBE>) or the Incident Lead (<@UALICE>) can put messages on the timeline of INC-1. Claim one of these roles on the role board if you are taking over.";

    // A bystander's pushpin, delivered three times: one private answer.
    let pin = reaction("reaction_added", "EvBob1", BOB, "pushpin", &room, &ts);
    for retry in [None, Some(1), Some(2)] {
        assert_eq!(app.event(pin.clone(), retry).await.status(), 200);
    }
    app.settle().await;
    assert!(tags(&app).await.is_empty());
    assert_eq!(
        ephemerals(&app),
        [(room.clone(), BOB.to_string(), refusal.to_string())]
    );
    assert!(app.slack.bot_reactions(&room, &ts).is_empty());

    // A typed tag from a bystander sets no key time either, and says
    // nothing: `eyes` is also an everyday reaction.
    app.event(
        reaction("reaction_added", "EvBob2", BOB, "eyes", &room, &ts),
        None,
    )
    .await;
    app.settle().await;
    assert!(tags(&app).await.is_empty());
    assert_eq!(app.incident(1).await.detected_at, None);
    assert_eq!(ephemerals(&app).len(), 1);

    // Taking one's pushpin back says nothing; other emoji say nothing.
    app.event(
        reaction("reaction_removed", "EvBob3", BOB, "pushpin", &room, &ts),
        None,
    )
    .await;
    app.event(
        reaction("reaction_added", "EvBob4", BOB, "tada", &room, &ts),
        None,
    )
    .await;
    app.settle().await;
    assert_eq!(ephemerals(&app).len(), 1);

    // The Scribe and the lead may.
    app.event(
        reaction("reaction_added", "EvS", SCRIBE, "pushpin", &room, &ts),
        None,
    )
    .await;
    let ts2 = app
        .slack
        .user_posts(&room, CAROL, "it was DNS", None, start_time());
    app.event(
        reaction("reaction_added", "EvA", DECLARER, "pushpin", &room, &ts2),
        None,
    )
    .await;
    app.settle().await;
    assert_eq!(tags(&app).await.len(), 2);
    assert_eq!(ephemerals(&app).len(), 1, "no refusal for them");
}

#[tokio::test]
async fn a_configured_role_may_close_and_the_lead_then_may_not() {
    let app = TestApp::spawn(Setup {
        toml: "[permissions]\nclose = [\"Technical Lead\"]\n",
        ..Setup::default()
    })
    .await;
    let room = app.declare("Checkout errors", "SEV2").await;
    refused(
        &app,
        DECLARER,
        &room,
        "close",
        "Only the Technical Lead can close INC-1. Claim Technical Lead on the role board if you are taking over.",
    )
    .await;
    claim(&app, TESS, &room, "Technical Lead").await;
    refused(
        &app,
        BOB,
        &room,
        "close",
        "Only the Technical Lead (<@UTESS>) can close INC-1. Claim Technical Lead on the role board if you are taking over.",
    )
    .await;
    done(&app, TESS, &room, "close").await;
    assert_eq!(app.incident(1).await.status, Status::Closed);
}

#[tokio::test]
async fn configured_roles_may_assign_and_others_may_not() {
    let app = TestApp::spawn(Setup {
        env: vec![(
            "WARROOM_PERMISSIONS__ASSIGN",
            "Incident Lead,Communication Lead".into(),
        )],
        ..Setup::default()
    })
    .await;
    let room = app.declare("Checkout errors", "SEV2").await;
    claim(&app, TESS, &room, "Communication Lead").await;
    refused(
        &app,
        BOB,
        &room,
        &format!("assign scribe <@{BOB}>"),
        "Only the Incident Lead (<@UALICE>) or the Communication Lead (<@UTESS>) can assign roles in INC-1. Claim one of these roles on the role board if you are taking over.",
    )
    .await;
    done(&app, TESS, &room, &format!("assign scribe <@{SCRIBE}>")).await;
    assert_eq!(holders(&app, "Scribe").await, [SCRIBE]);
    done(&app, DECLARER, &room, &format!("assign tester <@{BOB}>")).await;
    assert_eq!(holders(&app, "Tester").await, [BOB]);
}

#[tokio::test]
async fn a_configured_role_may_change_the_severity_and_others_may_not() {
    let app = TestApp::spawn(Setup {
        env: vec![("WARROOM_PERMISSIONS__SEVERITY", "Technical Lead".into())],
        ..Setup::default()
    })
    .await;
    let room = app.declare("Checkout errors", "SEV2").await;
    claim(&app, TESS, &room, "Technical Lead").await;
    let refusal = "Only the Technical Lead (<@UTESS>) can change the severity of INC-1. Claim Technical Lead on the role board if you are taking over.";
    refused(&app, DECLARER, &room, "severity sev1", refusal).await;
    refused(&app, BOB, &room, "severity sev1", refusal).await;
    done(&app, TESS, &room, "severity sev1").await;
    assert_eq!(app.incident(1).await.severity.as_str(), "SEV1");
}

#[tokio::test]
async fn a_configured_role_may_tag_and_others_may_not() {
    let app = TestApp::spawn(Setup {
        env: vec![("WARROOM_TIMELINE__TAGGERS", "Technical Lead".into())],
        ..Setup::default()
    })
    .await;
    let room = app.declare("Checkout errors", "SEV2").await;
    claim(&app, SCRIBE, &room, "Scribe").await;
    claim(&app, TESS, &room, "Technical Lead").await;
    let ts = app
        .slack
        .user_posts(&room, CAROL, "rollback done", None, start_time());
    for (i, user) in [SCRIBE, DECLARER].into_iter().enumerate() {
        app.event(
            reaction(
                "reaction_added",
                &format!("EvNo{i}"),
                user,
                "pushpin",
                &room,
                &ts,
            ),
            None,
        )
        .await;
    }
    app.settle().await;
    assert!(tags(&app).await.is_empty());
    let told: Vec<(String, String)> = ephemerals(&app)
        .into_iter()
        .map(|(_, user, text)| (user, text))
        .collect();
    let refusal = "Only the Technical Lead (<@UTESS>) can put messages on the timeline of INC-1. Claim Technical Lead on the role board if you are taking over.";
    assert_eq!(
        told,
        [
            (SCRIBE.to_string(), refusal.to_string()),
            (DECLARER.to_string(), refusal.to_string())
        ]
    );

    app.event(
        reaction(
            "reaction_added",
            "EvYes",
            TESS,
            "adhesive_bandage",
            &room,
            &ts,
        ),
        None,
    )
    .await;
    app.settle().await;
    let t = tags(&app).await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].kind, EntryKind::Mitigated);
    assert_eq!(ephemerals(&app).len(), 2);
}

#[tokio::test]
async fn anyone_lets_a_bystander_assign_change_the_severity_tag_and_close() {
    let app = TestApp::spawn(Setup {
        env: vec![
            ("WARROOM_PERMISSIONS__CLOSE", "anyone".into()),
            ("WARROOM_PERMISSIONS__ASSIGN", "anyone".into()),
            ("WARROOM_PERMISSIONS__SEVERITY", "anyone".into()),
            ("WARROOM_TIMELINE__TAGGERS", "anyone".into()),
        ],
        ..Setup::default()
    })
    .await;
    let room = app.declare("Checkout errors", "SEV2").await;
    done(&app, BOB, &room, &format!("assign scribe <@{CAROL}>")).await;
    assert_eq!(holders(&app, "Scribe").await, [CAROL]);
    done(&app, BOB, &room, "severity sev1").await;
    assert_eq!(app.incident(1).await.severity.as_str(), "SEV1");
    let ts = app
        .slack
        .user_posts(&room, CAROL, "errors gone", None, start_time());
    app.event(
        reaction("reaction_added", "EvBob", BOB, "pushpin", &room, &ts),
        None,
    )
    .await;
    app.settle().await;
    assert_eq!(tags(&app).await.len(), 1);
    assert!(ephemerals(&app).is_empty());
    done(&app, BOB, &room, "close").await;
    assert_eq!(app.incident(1).await.status, Status::Closed);
}

#[tokio::test]
async fn commands_act_only_on_the_incident_of_their_channel() {
    let app = TestApp::spawn(Setup::default()).await;
    let room1 = app.declare("Checkout errors", "SEV2").await;
    let room2 = app.declare("Search slow", "SEV2").await;
    assert_ne!(room1, room2);
    // Bob leads INC-1, not INC-2.
    claim(&app, BOB, &room1, "Incident Lead").await;

    refused(
        &app,
        BOB,
        &room2,
        "severity sev1",
        "Only the Incident Lead (<@UALICE>) can change the severity of INC-2. Claim Incident Lead on the role board if you are taking over.",
    )
    .await;

    done(&app, BOB, &room1, "severity sev1").await;
    assert_eq!(app.incident(1).await.severity.as_str(), "SEV1");
    assert_eq!(app.incident(2).await.severity.as_str(), "SEV2");

    done(&app, DECLARER, &room2, "severity sev3").await;
    assert_eq!(app.incident(1).await.severity.as_str(), "SEV1");
    assert_eq!(app.incident(2).await.severity.as_str(), "SEV3");

    // Outside any war room, even the leads change nothing.
    let before = snapshot(&app).await;
    for (user, text) in [(BOB, "severity sev2"), (DECLARER, "close")] {
        let answer = app.command_json(user, ORIGIN, text).await;
        assert_eq!(answer["response_type"], "ephemeral");
        assert!(
            answer["text"]
                .as_str()
                .unwrap()
                .contains("works in an incident's war room"),
            "{answer}"
        );
    }
    assert_eq!(snapshot(&app).await, before);

    done(&app, DECLARER, &room2, "close").await;
    assert_eq!(app.incident(2).await.status, Status::Closed);
    assert_eq!(app.incident(1).await.status, Status::Investigating);
}
