//! The incident process the bot walks people through: the bridge link,
//! role checklists and their recurring tasks.

use crate::helpers::*;
use serde_json::Value;
use std::collections::HashSet;

const BOB: &str = "UBOB";

/// Slack's Block Kit limits that a message must respect to be accepted:
/// at most 50 blocks, section text at most 3,000 characters, button and
/// option text at most 75, URLs at most 3,000, block ids unique in the
/// message and action ids unique in their block.
pub fn assert_block_kit(body: &Value) {
    let blocks = body["blocks"].as_array().expect("blocks");
    assert!(
        !blocks.is_empty() && blocks.len() <= 50,
        "{} blocks",
        blocks.len()
    );
    let mut block_ids = HashSet::new();
    let element = |e: &Value, action_ids: &mut HashSet<String>| {
        if let Some(id) = e["action_id"].as_str() {
            assert!(id.len() <= 255, "action_id too long: {id}");
            assert!(
                action_ids.insert(id.to_string()),
                "action_id repeated: {id}"
            );
        }
        match e["type"].as_str() {
            Some("button") => {
                let text = e["text"]["text"].as_str().unwrap();
                assert!(e["text"]["type"] == "plain_text" && text.chars().count() <= 75);
                if let Some(url) = e["url"].as_str() {
                    assert!(url.len() <= 3000 && url.starts_with("http"), "{url}");
                }
            }
            Some("checkboxes") => {
                let options = e["options"].as_array().unwrap();
                assert!(!options.is_empty() && options.len() <= 10);
                for o in options {
                    assert!(o["text"]["text"].as_str().unwrap().chars().count() <= 75);
                    assert!(o["value"].as_str().unwrap().len() <= 150);
                }
            }
            other => panic!("unexpected element {other:?}: {e}"),
        }
    };
    for b in blocks {
        let mut action_ids = HashSet::new();
        if let Some(id) = b["block_id"].as_str() {
            assert!(id.len() <= 255);
            assert!(block_ids.insert(id.to_string()), "block_id repeated: {id}");
        }
        match b["type"].as_str() {
            Some("section") => {
                let text = b["text"]["text"].as_str().expect("section text");
                assert!(!text.is_empty() && text.chars().count() <= 3000);
                if !b["accessory"].is_null() {
                    element(&b["accessory"], &mut action_ids);
                }
            }
            Some("context") => {
                let els = b["elements"].as_array().unwrap();
                assert!(!els.is_empty() && els.len() <= 10);
            }
            Some("actions") => {
                let els = b["elements"].as_array().unwrap();
                assert!(!els.is_empty() && els.len() <= 25);
                for e in els {
                    element(e, &mut action_ids);
                }
            }
            other => panic!("unexpected block {other:?}"),
        }
    }
    assert!(
        body["text"].as_str().is_some_and(|t| !t.is_empty()),
        "fallback text"
    );
}

fn with_bridge() -> Setup {
    Setup {
        env: vec![(
            "WARROOM_BRIDGE__URL_TEMPLATE",
            "https://meet.example.com/inc-{number}".to_string(),
        )],
        ..Setup::default()
    }
}

#[tokio::test]
async fn the_bridge_link_is_on_the_role_board_and_in_the_topic() {
    let app = TestApp::spawn(with_bridge()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;

    let board = &app.slack.messages_in(&room)[0];
    assert_block_kit(&board.body);
    let button = &board.body["blocks"][0]["accessory"];
    assert_eq!(button["type"], "button");
    assert_eq!(button["text"]["text"], "Join the bridge");
    assert_eq!(button["url"], "https://meet.example.com/inc-1");
    let topic = app.slack.channel(&room).unwrap().topic;
    assert!(
        topic.ends_with("bridge: https://meet.example.com/inc-1"),
        "{topic}"
    );
    assert!(topic.chars().count() <= 250);

    // An edit of the board keeps the button.
    app.click(BOB, &room, "role.claim", "1|Scribe").await;
    app.wait_idle().await;
    let board_ts = app.incident(1).await.board_ts.unwrap();
    let board = app
        .slack
        .messages_in(&room)
        .into_iter()
        .find(|m| m.ts == board_ts.as_str())
        .unwrap();
    assert!(board.edits >= 1);
    assert_eq!(
        board.body["blocks"][0]["accessory"]["url"],
        "https://meet.example.com/inc-1"
    );

    // The next incident gets its own room on the bridge.
    let room2 = app.declare("Search is slow", "SEV3").await;
    let topic = app.slack.channel(&room2).unwrap().topic;
    assert!(topic.contains("https://meet.example.com/inc-2"), "{topic}");
}

#[tokio::test]
async fn without_a_bridge_there_is_no_button() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    let board = &app.slack.messages_in(&room)[0];
    assert!(board.body["blocks"][0]["accessory"].is_null());
    assert!(!app.slack.channel(&room).unwrap().topic.contains("bridge"));
}

const CAROL: &str = "UCAROL";

/// The checklist message of `role` in the war room.
fn checklist(app: &TestApp, room: &str, role: &str) -> crate::fake_slack::Message {
    let mut found: Vec<_> = app
        .slack
        .messages_in(room)
        .into_iter()
        .filter(|m| {
            m.body["text"]
                .as_str()
                .is_some_and(|t| t.starts_with(&format!("{role} checklist")))
        })
        .collect();
    assert_eq!(found.len(), 1, "one {role} checklist");
    found.remove(0)
}

/// Clicks the checkbox of `task` on checklist `id`: ticked or not after
/// the click, as Slack reports it.
async fn tick(app: &TestApp, user: &str, room: &str, id: i64, task: usize, done: bool) {
    let selected = if done {
        serde_json::json!([{"text": {"type": "plain_text", "text": "Done"}, "value": "done"}])
    } else {
        serde_json::json!([])
    };
    let res = app
        .interaction(serde_json::json!({
            "type": "block_actions",
            "team": {"id": "T1", "domain": "acme"},
            "user": {"id": user, "username": "u", "name": "u", "team_id": "T1"},
            "api_app_id": "A1",
            "trigger_id": "1337.42.abcd",
            "container": {"type": "message", "message_ts": "1700000000.000002", "channel_id": room, "is_ephemeral": false},
            "channel": {"id": room, "name": "inc"},
            "message": {"type": "message", "ts": "1700000000.000002", "text": "checklist"},
            "response_url": "https://hooks.slack.com/actions/T1/1/abc",
            "actions": [{"action_id": format!("checklist.tick|{id}|{task}"), "block_id": format!("task-{task}"),
                "type": "checkboxes", "selected_options": selected, "action_ts": "1700000001.0001"}]
        }))
        .await;
    assert_eq!(res.status(), 200);
    app.wait_idle().await;
}

fn tasks_of(role: &str) -> Vec<String> {
    warroom::domain::roles::default_tasks(role)
        .all()
        .iter()
        .map(|t| t.text.to_string())
        .collect()
}

fn ticked(message: &crate::fake_slack::Message) -> Vec<usize> {
    message.body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["accessory"]["type"] == "checkboxes")
        .enumerate()
        .filter(|(_, b)| !b["accessory"]["initial_options"].is_null())
        .map(|(i, _)| i)
        .collect()
}

#[tokio::test]
async fn taking_a_role_shows_its_checklist_and_ticks_edit_it_in_place() {
    let app = TestApp::spawn(with_bridge()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.click(BOB, &room, "role.claim", "1|Scribe").await;
    app.wait_idle().await;

    let list = checklist(&app, &room, "Scribe");
    assert_block_kit(&list.body);
    let body = list.body.to_string();
    assert!(body.contains(&format!("<@{BOB}>")), "{body}");
    let scribe = tasks_of("Scribe");
    let boxes: Vec<&Value> = list.body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["accessory"]["type"] == "checkboxes")
        .collect();
    assert_eq!(boxes.len(), scribe.len(), "a checkbox per task");
    assert_eq!(boxes[0]["text"]["text"], scribe[0].as_str());
    assert!(body.contains("Every 15m"), "the cadence group: {body}");
    assert!(body.contains(&format!("0 of {} done", scribe.len())));
    assert_eq!(app.count("SELECT COUNT(*) FROM checklists").await, 1);

    // Bob ticks the first task: recorded, and the message edited in place.
    tick(&app, BOB, &room, 1, 0, true).await;
    let list = checklist(&app, &room, "Scribe");
    assert_eq!(list.edits, 1);
    assert_eq!(ticked(&list), [0]);
    assert!(
        list.body
            .to_string()
            .contains(&format!("1 of {} done", scribe.len()))
    );
    // The same state again (a double click) changes nothing.
    tick(&app, BOB, &room, 1, 0, true).await;
    assert_eq!(checklist(&app, &room, "Scribe").edits, 1);
    // Carol ticks another for him; anyone sees and may help.
    tick(&app, CAROL, &room, 1, 3, true).await;
    assert_eq!(ticked(&checklist(&app, &room, "Scribe")), [0, 3]);
    // Unticking works too.
    tick(&app, BOB, &room, 1, 0, false).await;
    let list = checklist(&app, &room, "Scribe");
    assert_eq!(list.edits, 3);
    assert_eq!(ticked(&list), [3]);
    assert_block_kit(&list.body);

    let notes: Vec<(String, String)> = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == warroom::domain::EntryKind::Task)
        .map(|e| (e.author.unwrap().0, e.text))
        .collect();
    assert_eq!(
        notes,
        [
            (
                BOB.to_string(),
                format!("<@{BOB}> ticked “{}” on the Scribe checklist", scribe[0])
            ),
            (
                CAROL.to_string(),
                format!(
                    "<@{CAROL}> ticked “{}” on the Scribe checklist of <@{BOB}>",
                    scribe[3]
                )
            ),
            (
                BOB.to_string(),
                format!("<@{BOB}> unticked “{}” on the Scribe checklist", scribe[0])
            ),
        ]
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM checklist_ticks").await, 1);

    // Assigning a role shows the assignee theirs; the Incident Lead's
    // includes the bridge.
    app.command_json(DECLARER, &room, &format!("assign tech lead <@{CAROL}>"))
        .await;
    app.click(CAROL, &room, "role.claim", "1|Incident Lead")
        .await;
    app.wait_idle().await;
    let tl = checklist(&app, &room, "Technical Lead");
    assert!(tl.body.to_string().contains(&format!("<@{CAROL}>")));
    assert_block_kit(&tl.body);
    let lead = checklist(&app, &room, "Incident Lead");
    assert!(
        lead.body
            .to_string()
            .contains("Bridge established and recording")
    );
    assert_block_kit(&lead.body);

    // A role with no tasks has no checklist.
    assert_eq!(app.count("SELECT COUNT(*) FROM checklists").await, 3);
}

#[tokio::test]
async fn configured_tasks_replace_the_defaults() {
    let app = TestApp::spawn(Setup {
        toml: r#"
[[roles]]
name = "Incident Lead"
tasks = { start = ["Page the database team"] }

[[roles]]
name = "Scribe"
tasks = { during = ["Keep notes"] }

[[roles]]
name = "Observer"
"#,
        ..Setup::default()
    })
    .await;
    let room = app.declare("Replica lag", "SEV2").await;
    app.click(BOB, &room, "role.claim", "1|Scribe").await;
    app.click(CAROL, &room, "role.claim", "1|Observer").await;
    app.wait_idle().await;
    let list = checklist(&app, &room, "Scribe");
    let body = list.body.to_string();
    assert!(
        body.contains("Keep notes") && !body.contains("Every"),
        "{body}"
    );
    assert_eq!(ticked(&list), Vec::<usize>::new());
    // Observer has no tasks configured and none by default: no checklist.
    assert_eq!(app.count("SELECT COUNT(*) FROM checklists").await, 1);
    // No cadence: nothing is scheduled.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM checklists WHERE cadence_at IS NOT NULL")
            .await,
        0
    );
}

/// Checklist reminders posted in the war room so far.
fn recurring(app: &TestApp, room: &str) -> Vec<String> {
    app.slack
        .messages_in(room)
        .into_iter()
        .filter(|m| {
            m.body["text"]
                .as_str()
                .is_some_and(|t| t.contains("time for the recurring"))
        })
        .map(|m| {
            assert_block_kit(&m.body);
            m.body.to_string()
        })
        .collect()
}

#[tokio::test]
async fn recurring_tasks_come_back_on_time_and_once_across_restarts() {
    let mut app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.click(BOB, &room, "role.claim", "1|Scribe").await;
    app.wait_idle().await;
    app.command_json(DECLARER, &room, "note rolled back 1.4.2")
        .await;
    app.command_json(DECLARER, &room, "status identified").await;
    tick(&app, BOB, &room, 1, 0, true).await;

    app.advance(minutes(14)).await;
    assert!(recurring(&app, &room).is_empty(), "not before 15 minutes");
    app.advance(minutes(1)).await;
    let sent = recurring(&app, &room);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains(&format!("<@{BOB}>")), "{}", sent[0]);
    assert!(sent[0].contains("Publish an internal summary"));
    // The Scribe's summary, prefilled from the timeline so far.
    assert!(sent[0].contains("Internal summary, INC-1"), "{}", sent[0]);
    assert!(sent[0].contains("rolled back 1.4.2"));
    assert!(sent[0].contains("Status changed from investigating to identified"));
    assert!(!sent[0].contains("ticked"), "ticks are not milestones");

    // A restart repeats nothing.
    app = app.restart(true).await;
    app.settle().await;
    assert_eq!(recurring(&app, &room).len(), 1);

    // The next one comes 15 minutes later, with only what happened since.
    app.command_json(DECLARER, &room, "note cache warmed").await;
    app.advance(minutes(15)).await;
    let sent = recurring(&app, &room);
    assert_eq!(sent.len(), 2);
    assert!(sent[1].contains("cache warmed"), "{}", sent[1]);
    assert!(!sent[1].contains("rolled back 1.4.2"), "{}", sent[1]);

    // Down through two intervals: one reminder when it is back, not two.
    app = app.restart(false).await;
    app.clock.advance(minutes(40));
    app = app.restart(true).await;
    app.settle().await;
    assert_eq!(recurring(&app, &room).len(), 3);
    let stored = app
        .count("SELECT COUNT(*) FROM timeline_entries WHERE kind = 'reminder' AND text LIKE '%recurring Scribe%'")
        .await;
    assert_eq!(stored, 3, "each on the timeline once");

    // Bob hands the role back: his reminders stop.
    app.click(BOB, &room, "role.release", "1|Scribe").await;
    app.wait_idle().await;
    app.advance(minutes(30)).await;
    assert_eq!(recurring(&app, &room).len(), 3);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM checklists WHERE cadence_at IS NOT NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn the_scribe_edits_and_posts_the_prefilled_summary() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.click(BOB, &room, "role.claim", "1|Scribe").await;
    app.wait_idle().await;
    app.command_json(DECLARER, &room, "note <!channel> rolled back 1.4.2")
        .await;
    app.advance(minutes(15)).await;
    let reminder = app
        .slack
        .messages_in(&room)
        .into_iter()
        .find(|m| {
            m.body["text"]
                .as_str()
                .is_some_and(|t| t.contains("time for the recurring"))
        })
        .unwrap();
    let button = reminder.body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .map(|b| b["elements"][0].clone())
        .unwrap();
    assert_eq!(button["text"]["text"], "Edit and post");

    // The button opens the form, prefilled from the timeline.
    let res = app
        .interaction(serde_json::json!({
            "type": "block_actions",
            "user": {"id": BOB, "username": "b", "name": "b", "team_id": "T1"},
            "trigger_id": "1337.42.abcd",
            "channel": {"id": room, "name": "inc"},
            "actions": [{"action_id": button["action_id"], "value": button["value"], "type": "button"}]
        }))
        .await;
    assert_eq!(res.status(), 200);
    let opened = app.slack.calls("views.open");
    let view = &opened.last().unwrap().body["view"];
    let view: Value = match view {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        v => v.clone(),
    };
    assert_eq!(view["callback_id"], "summary");
    assert_eq!(view["private_metadata"], "1");
    let prefilled = view["blocks"][1]["element"]["initial_value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(prefilled.contains("Internal summary, INC-1"), "{prefilled}");
    assert!(
        prefilled.contains("03:00 UTC"),
        "times in the configured zone: {prefilled}"
    );
    assert!(prefilled.contains("rolled back 1.4.2"));

    // Submitted as edited: posted in the war room and kept on the timeline.
    let edited = format!("{prefilled}\nNext: watch the error rate.");
    let res = app
        .interaction(serde_json::json!({
            "type": "view_submission",
            "user": {"id": BOB, "username": "b", "name": "b", "team_id": "T1"},
            "trigger_id": "1337.42.abcd",
            "view": {
                "id": "VSUM1", "type": "modal", "callback_id": "summary",
                "private_metadata": "1", "hash": "1.2",
                "state": {"values": {"summary": {"value": {"type": "plain_text_input", "value": edited}}}}
            }
        }))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "", "closes the form");
    app.wait_idle().await;
    let posted = app
        .slack
        .messages_in(&room)
        .into_iter()
        .find(|m| m.body["text"] == "INC-1 internal summary")
        .unwrap();
    assert_block_kit(&posted.body);
    let body = posted.body.to_string();
    assert!(body.contains("Next: watch the error rate."), "{body}");
    assert!(!body.contains("<!channel>"), "no channel ping: {body}");
    let timeline = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    let last = timeline.last().unwrap();
    assert_eq!(last.author.as_ref().unwrap().0, BOB);
    assert!(last.text.starts_with("posted an internal summary:"));
}

/// Checklists in the store, the same on both backends: reopening keeps
/// ticks, ticks are idempotent, and a cadence fires once per due time.
async fn checklist_story(store: warroom::store::DynStore) {
    use warroom::domain::UserId;
    use warroom::store::Effects;
    store.migrate().await.unwrap();
    let t0 = start_time();
    let min = chrono::Duration::minutes;
    let (incident, _) = store
        .create_incident(
            &declaration("Queue stuck"),
            None,
            t0,
            &warroom::domain::RoleName::new("Incident Lead"),
            Effects::default(),
        )
        .await
        .unwrap();
    let n = incident.number;
    let bob = UserId(BOB.into());
    let tasks = warroom::domain::roles::default_tasks("Scribe");
    let list = store
        .open_checklist(
            n,
            &warroom::domain::RoleName::new("Scribe"),
            &bob,
            &tasks,
            Some(t0 + min(15)),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(list.tasks, tasks);
    assert_eq!(list.progress(), (0, tasks.all().len()));
    assert_eq!(list.since, t0);
    store
        .record_checklist_post(list.id, &warroom::domain::MessageTs::new("1.2"))
        .await
        .unwrap();

    assert!(
        store
            .tick_task(list.id, 2, &bob, true, t0, Effects::default())
            .await
            .unwrap()
    );
    assert!(
        !store
            .tick_task(list.id, 2, &bob, true, t0, Effects::default())
            .await
            .unwrap()
    );
    assert!(
        !store
            .tick_task(list.id, 1, &bob, false, t0, Effects::default())
            .await
            .unwrap()
    );
    assert!(
        !store
            .tick_task(
                warroom::domain::ChecklistId::new(999),
                1,
                &bob,
                true,
                t0,
                Effects::default(),
            )
            .await
            .unwrap()
    );

    // Taking the role again: the same checklist, ticks and message kept.
    let again = store
        .open_checklist(
            n,
            &warroom::domain::RoleName::new("Scribe"),
            &bob,
            &tasks,
            Some(t0 + min(20)),
            t0 + min(5),
        )
        .await
        .unwrap();
    assert_eq!(again.id, list.id);
    assert_eq!(again.done, [2].into_iter().collect());
    assert_eq!(again.ts.as_ref().map(|x| x.as_str()), Some("1.2"));
    assert_eq!(again.cadence_at, Some(t0 + min(20)));

    assert_eq!(
        store.next_checklist_due().await.unwrap(),
        Some(t0 + min(20))
    );
    assert!(
        store
            .due_checklists(t0 + min(19), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = store.due_checklists(t0 + min(20), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let now = t0 + min(21);
    assert!(
        store
            .fire_checklist(&due[0], Some(now + min(15)), now, Effects::default())
            .await
            .unwrap()
    );
    // A second firing of the same due time (another replica) does nothing.
    assert!(
        !store
            .fire_checklist(&due[0], Some(now + min(15)), now, Effects::default())
            .await
            .unwrap()
    );
    let fired = store.checklist(list.id).await.unwrap().unwrap();
    assert_eq!(fired.since, now);
    assert_eq!(fired.cadence_at, Some(now + min(15)));

    // Resolved incidents have nothing due.
    store
        .set_status(
            n,
            warroom::domain::Status::Resolved,
            now,
            Effects::default(),
        )
        .await
        .unwrap();
    assert_eq!(store.next_checklist_due().await.unwrap(), None);
    assert!(
        store
            .due_checklists(now + min(60), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

crate::on_both_backends!(checklist_story);

#[tokio::test]
async fn the_declarer_asks_for_the_lead_checklist() {
    let app = TestApp::spawn(with_bridge()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    let none = app.command_json(BOB, &room, "checklist").await;
    assert_eq!(none["response_type"], "ephemeral");
    assert!(none["text"].as_str().unwrap().contains("You hold no role"));
    app.wait_idle().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM checklists").await, 0);

    let answer = app.command_json(DECLARER, &room, "checklist").await;
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("Incident Lead checklist"),
        "{answer}"
    );
    app.wait_idle().await;
    let lead = checklist(&app, &room, "Incident Lead");
    assert_block_kit(&lead.body);
    assert!(lead.body.to_string().contains(&format!("<@{DECLARER}>")));
    let tasks = tasks_of("Incident Lead");
    let bridge = tasks
        .iter()
        .position(|t| t == "Bridge established and recording")
        .unwrap();
    tick(&app, DECLARER, &room, 1, bridge, true).await;
    assert_eq!(ticked(&checklist(&app, &room, "Incident Lead")), [bridge]);

    // Asked again: a fresh message, ticks kept, and later ticks edit it.
    app.command_json(DECLARER, &room, "tasks").await;
    app.wait_idle().await;
    let lists: Vec<_> = app
        .slack
        .messages_in(&room)
        .into_iter()
        .filter(|m| {
            m.body["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("Incident Lead checklist"))
        })
        .collect();
    assert_eq!(lists.len(), 2);
    assert_eq!(ticked(&lists[1]), [bridge]);
    tick(&app, DECLARER, &room, 1, 0, true).await;
    let lists: Vec<_> = app
        .slack
        .messages_in(&room)
        .into_iter()
        .filter(|m| {
            m.body["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("Incident Lead checklist"))
        })
        .collect();
    assert_eq!(ticked(&lists[1]), [0, bridge]);
    assert_eq!(lists[1].edits, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM checklists").await, 1);
}

#[tokio::test]
async fn a_closed_incident_keeps_its_checklists_as_they_were() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.click(BOB, &room, "role.claim", "1|Tester").await;
    app.wait_idle().await;
    app.command_json(DECLARER, &room, "close").await;
    app.settle().await;
    let before = checklist(&app, &room, "Tester").edits;
    tick(&app, BOB, &room, 1, 0, true).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM checklist_ticks").await, 0);
    let list = checklist(&app, &room, "Tester");
    assert_eq!(ticked(&list), Vec::<usize>::new(), "put back unticked");
    assert_eq!(list.edits, before + 1);
    let told = app.slack.calls("chat.postEphemeral");
    assert!(
        told.iter()
            .any(|c| c.body["user"] == BOB && c.body.to_string().contains("is closed")),
        "{told:?}"
    );
}
