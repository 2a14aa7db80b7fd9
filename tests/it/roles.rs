use crate::helpers::*;
use warroom::domain::Status;

const BOB: &str = "UBOB";
const CAROL: &str = "UCAROL";

/// The newest role board in the war room (checklists are posted there too).
fn board(app: &TestApp, room: &str) -> String {
    boards(app, room).last().unwrap().body.to_string()
}

fn boards(app: &TestApp, room: &str) -> Vec<crate::fake_slack::Message> {
    app.slack
        .messages_in(room)
        .into_iter()
        .filter(|m| m.body["text"].as_str().unwrap_or("").contains("role board"))
        .collect()
}

#[tokio::test]
async fn claim_and_release_edit_the_board_in_place() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Queue backlog", "SEV2").await;

    let res = app.click(BOB, &room, "role.claim", "1|Scribe").await;
    assert_eq!(res.status(), 200);
    app.wait_idle().await;
    let msgs = boards(&app, &room);
    assert_eq!(msgs.len(), 1, "edited in place, not reposted");
    assert_eq!(msgs[0].edits, 1);
    assert!(board(&app, &room).contains(&format!("*Scribe*: <@{BOB}>")));
    let updates = app.slack.calls("chat.update");
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].body["ts"], msgs[0].ts.as_str());

    // Several roles for one person; Tester for several people.
    app.click(BOB, &room, "role.claim", "1|Tester").await;
    app.click(CAROL, &room, "role.claim", "1|Tester").await;
    app.wait_idle().await;
    let b = board(&app, &room);
    assert!(
        b.contains(&format!("*Tester*: <@{BOB}>, <@{CAROL}>")),
        "{b}"
    );

    // One holder for other roles: Carol takes Scribe from Bob.
    app.click(CAROL, &room, "role.claim", "1|Scribe").await;
    app.wait_idle().await;
    assert!(board(&app, &room).contains(&format!("*Scribe*: <@{CAROL}>")));

    // Release by the holder.
    app.click(CAROL, &room, "role.release", "1|Scribe").await;
    app.wait_idle().await;
    assert!(board(&app, &room).contains("*Scribe*: _unclaimed_"));

    // Release by someone who does not hold it: told privately, nothing changes.
    app.click(BOB, &room, "role.release", "1|Scribe").await;
    app.wait_idle().await;
    let eph = app.slack.calls("chat.postEphemeral");
    assert_eq!(eph.len(), 1);
    assert_eq!(eph[0].body["user"], BOB);

    let roles = app
        .ctx
        .store
        .assignments(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    let held: Vec<(String, String)> = roles
        .iter()
        .map(|a| (a.role.0.clone(), a.user.0.clone()))
        .collect();
    assert!(held.contains(&("Tester".into(), BOB.into())));
    assert!(held.contains(&("Tester".into(), CAROL.into())));
    assert!(!held.iter().any(|(r, _)| r == "Scribe"));
    let timeline = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    let role_entries: Vec<&str> = timeline
        .iter()
        .filter(|e| e.kind == warroom::domain::EntryKind::Role)
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(role_entries.len(), 5, "{role_entries:?}");
    assert!(role_entries[0].contains("claimed Scribe"));
    assert!(role_entries[4].contains("released Scribe"));
}

#[tokio::test]
async fn claiming_incident_lead_moves_the_lead_everywhere() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Login loop", "SEV2").await;
    app.click(BOB, &room, "role.claim", "1|Incident Lead").await;
    app.wait_idle().await;
    assert!(
        app.slack
            .channel(&room)
            .unwrap()
            .topic
            .contains(&format!("lead: <@{BOB}>"))
    );
    let announcement = app.slack.messages_in(ORIGIN)[0].body.to_string();
    assert!(
        announcement.contains(&format!("Lead: <@{BOB}>")),
        "{announcement}"
    );
    assert!(board(&app, &room).contains(&format!("*Incident Lead*: <@{BOB}>")));
}

#[tokio::test]
async fn assign_gives_a_role_and_invites_the_assignee() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Disk full", "SEV3").await;
    let answer = app
        .command_json(DECLARER, &room, &format!("assign tech lead <@{BOB}|bob>"))
        .await;
    assert_eq!(answer["response_type"], "in_channel");
    assert!(answer["text"].as_str().unwrap().contains("Technical Lead"));
    app.wait_idle().await;
    assert!(
        app.slack
            .channel(&room)
            .unwrap()
            .members
            .contains(&BOB.to_string())
    );
    assert!(board(&app, &room).contains(&format!("*Technical Lead*: <@{BOB}>")));

    let again = app
        .command_json(DECLARER, &room, &format!("assign technical-lead <@{BOB}>"))
        .await;
    assert_eq!(again["response_type"], "ephemeral");
    let bad = app
        .command_json(DECLARER, &room, &format!("assign chef <@{BOB}>"))
        .await;
    assert!(bad["text"].as_str().unwrap().contains("unknown role"));
    let ambiguous = app
        .command_json(DECLARER, &room, &format!("assign tech <@{BOB}>"))
        .await;
    assert!(
        ambiguous["text"]
            .as_str()
            .unwrap()
            .contains("Technical Lead or Technical Assist")
    );
}

#[tokio::test]
async fn roles_reposts_the_board_and_later_edits_follow_it() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Cache stampede", "SEV2").await;
    let answer = app.command_json(DECLARER, &room, "roles").await;
    assert_eq!(answer, serde_json::Value::Null);
    app.wait_idle().await;
    let msgs = boards(&app, &room);
    assert_eq!(msgs.len(), 2);
    app.click(BOB, &room, "role.claim", "1|Scribe").await;
    app.wait_idle().await;
    let msgs = boards(&app, &room);
    assert_eq!(msgs[0].edits, 0);
    assert_eq!(msgs[1].edits, 1, "the newest board is the one kept current");
}

#[tokio::test]
async fn severity_and_status_edit_announcement_and_topic_in_place() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Payments down", "SEV2").await;

    let answer = app.command_json(DECLARER, &room, "severity sev1").await;
    assert_eq!(answer["response_type"], "in_channel");
    assert!(answer["text"].as_str().unwrap().contains("SEV2 → *SEV1*"));
    app.wait_idle().await;
    let announced = app.slack.messages_in(ORIGIN);
    assert_eq!(announced.len(), 1, "edited, not posted again");
    assert!(announced[0].body.to_string().contains("SEV1"));
    assert!(app.slack.channel(&room).unwrap().topic.contains("SEV1"));

    app.clock.advance(std::time::Duration::from_secs(20 * 60));
    app.command_json(DECLARER, &room, "status mitigated").await;
    app.wait_idle().await;
    assert!(
        app.slack.messages_in(ORIGIN)[0]
            .body
            .to_string()
            .contains("mitigated")
    );
    assert!(
        app.slack
            .channel(&room)
            .unwrap()
            .topic
            .contains("status: mitigated")
    );
    let stored = app.incident(1).await;
    assert_eq!(stored.status, Status::Mitigated);
    assert_eq!(
        stored.mitigated_at,
        Some(start_time() + chrono::Duration::minutes(20))
    );

    app.clock.advance(std::time::Duration::from_secs(5 * 60));
    app.command_json(DECLARER, &room, "status resolved").await;
    app.wait_idle().await;
    let stored = app.incident(1).await;
    assert_eq!(
        stored.resolved_at,
        Some(start_time() + chrono::Duration::minutes(25))
    );
    assert!(
        app.slack.messages_in(ORIGIN)[0]
            .body
            .to_string()
            .contains("resolved")
    );
    assert_eq!(
        app.slack.messages_in(ORIGIN)[0].edits,
        3,
        "severity, mitigated, resolved"
    );

    let same = app.command_json(DECLARER, &room, "status resolved").await;
    assert_eq!(same["response_type"], "ephemeral");
    let bad = app.command_json(DECLARER, &room, "severity SEV9").await;
    assert!(bad["text"].as_str().unwrap().contains("SEV1, SEV2, SEV3"));

    let timeline = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    let kinds: Vec<&str> = timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["declared", "severity", "status", "status"]);
    assert_eq!(
        timeline[2].occurred_at,
        start_time() + chrono::Duration::minutes(20)
    );
}

#[tokio::test]
async fn notes_and_the_timeline_view() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Webhooks delayed", "SEV3").await;
    app.clock.advance(std::time::Duration::from_secs(300));
    let ack = app
        .command_json(BOB, &room, "note rolled back deploy 42")
        .await;
    assert_eq!(ack["response_type"], "ephemeral");
    let view = app.command_json(BOB, &room, "timeline").await;
    assert_eq!(view["response_type"], "ephemeral");
    let text = view["blocks"].to_string();
    assert!(
        text.contains("rolled back deploy 42") && text.contains("<!date^"),
        "{text}"
    );
    let entries = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    assert_eq!(entries.last().unwrap().author.as_ref().unwrap().0, BOB);
    assert_eq!(
        entries.last().unwrap().occurred_at,
        start_time() + chrono::Duration::minutes(5)
    );
}

#[tokio::test]
async fn a_board_deleted_from_slack_is_posted_again() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Board gone", "SEV3").await;
    let old = app.incident(1).await.board_ts.unwrap();
    app.slack.delete(&room, old.as_str());
    app.click(BOB, &room, "role.claim", "1|Scribe").await;
    app.wait_idle().await;
    let boards = boards(&app, &room);
    assert_eq!(boards.len(), 1);
    assert!(
        boards[0]
            .body
            .to_string()
            .contains(&format!("*Scribe*: <@{BOB}>"))
    );
    let new = app.incident(1).await.board_ts.unwrap();
    assert_eq!(new.as_str(), boards[0].ts);
    assert_ne!(new, old);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE state = 'failed'")
            .await,
        0
    );
}
