//! Follow-ups: action items recorded in the war room, listed anywhere,
//! ticked done with a button, counted by stats and written into the draft.

use crate::helpers::*;
use crate::process::assert_block_kit;
use serde_json::Value;

const BOB: &str = "UBOB";
const CAROL: &str = "UCAROL";

/// The ephemeral answer to a listing command, as Block Kit.
async fn listing(app: &TestApp, user: &str, text: &str) -> Value {
    let answer = app.command_json(user, "CELSEWHERE", text).await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    assert_block_kit(&answer);
    answer
}

fn texts(answer: &Value) -> String {
    answer["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["text"]["text"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn done_buttons(answer: &Value) -> Vec<String> {
    answer["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["accessory"]["type"] == "button")
        .map(|b| b["accessory"]["value"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn followups_are_recorded_listed_ticked_done_counted_and_drafted() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;

    // Owner defaults to the person typing; a due date in days from today
    // (the manual clock's date).
    let answer = app
        .command_json(DECLARER, &room, "followup Alert on checkout 5xx in 7d")
        .await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    let text = answer["text"].as_str().unwrap();
    assert!(text.contains(&format!("<@{DECLARER}>")), "{text}");
    let due = (start_time() + chrono::Duration::days(7))
        .with_timezone(&chrono_tz::UTC)
        .date_naive()
        .to_string();
    assert!(text.contains(&due), "{text} (due {due})");
    // Another owner, a calendar date.
    app.command_json(
        DECLARER,
        &room,
        &format!("followup Raise the pool size <@{BOB}|bob> 2020-01-01"),
    )
    .await;
    // Outside a war room the command records nothing.
    let elsewhere = app
        .command_json(BOB, "CELSEWHERE", "followup Not here")
        .await;
    assert!(elsewhere["text"].as_str().unwrap().contains("war room"));
    // Bad usage is explained.
    let usage = app
        .command_json(BOB, &room, &format!("followup <@{BOB}>"))
        .await;
    assert!(usage["text"].as_str().unwrap().contains("usage"), "{usage}");

    assert_eq!(app.count("SELECT COUNT(*) FROM followups").await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM followups WHERE owner = 'UBOB' AND due_on = '2020-01-01' AND created_by = 'UALICE' AND done_at IS NULL").await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM timeline_entries WHERE text LIKE '%added a follow-up for%'"
        )
        .await,
        2
    );

    // mine (the default), open, all; anywhere.
    let mine = listing(&app, BOB, "followups").await;
    assert!(texts(&mine).contains("Raise the pool size"), "{mine}");
    assert!(!texts(&mine).contains("Alert on checkout"));
    assert!(texts(&mine).contains("*overdue*"), "{mine}");
    assert_eq!(done_buttons(&mine).len(), 1);
    let carol = listing(&app, CAROL, "followups mine").await;
    assert!(texts(&carol).contains("No follow-ups"));
    let open = listing(&app, CAROL, "followups open").await;
    assert_eq!(done_buttons(&open).len(), 2);

    // Stats: two open, one overdue.
    let stats = app.command_json(CAROL, "CELSEWHERE", "stats").await;
    assert!(
        stats["text"]
            .as_str()
            .unwrap()
            .contains("Follow-ups: 2 open, 1 overdue"),
        "{stats}"
    );

    // Done is a button: recorded once, answered, on the timeline.
    let id = done_buttons(&mine)[0].clone();
    let res = app
        .click(BOB, "CELSEWHERE", &format!("followup.done|{id}"), &id)
        .await;
    assert_eq!(res.status(), 200);
    app.wait_idle().await;
    let res = app
        .click(BOB, "CELSEWHERE", &format!("followup.done|{id}"), &id)
        .await;
    assert_eq!(res.status(), 200);
    app.wait_idle().await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM followups WHERE done_at IS NOT NULL AND done_by = 'UBOB'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM timeline_entries WHERE text LIKE '%ticked the follow-up%'")
            .await,
        1
    );
    let answers: Vec<String> = app
        .slack
        .calls("chat.postEphemeral")
        .iter()
        .filter(|c| c.body["user"] == BOB && c.body["channel"] == "CELSEWHERE")
        .map(|c| c.body["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        answers
            .iter()
            .any(|t| t.starts_with(":white_check_mark: Done")),
        "{answers:?}"
    );
    assert!(
        answers.iter().any(|t| t.contains("already done")),
        "{answers:?}"
    );

    let mine = listing(&app, BOB, "followups").await;
    assert!(done_buttons(&mine).is_empty());
    let all = listing(&app, CAROL, "followups all").await;
    assert!(texts(&all).contains(":white_check_mark: done"), "{all}");
    assert_eq!(done_buttons(&all).len(), 1);
    let stats = app.command_json(CAROL, "CELSEWHERE", "stats").await;
    assert!(
        stats["text"]
            .as_str()
            .unwrap()
            .contains("Follow-ups: 1 open, 0 overdue"),
        "{stats}"
    );

    // The draft's action-item table holds them, after close too.
    app.command_json(DECLARER, &room, "close").await;
    app.wait_idle().await;
    let after = app
        .command_json(DECLARER, &room, "followup Write the runbook")
        .await;
    assert_eq!(after["response_type"], "in_channel", "{after}");
    app.command_json(DECLARER, &room, "postmortem").await;
    app.wait_idle().await;
    let files = app.slack.files_in(&room);
    assert_eq!(files.len(), 2, "the draft at close and the regenerated one");
    let draft = &files
        .iter()
        .find(|(_, text)| text.contains("Write the runbook"))
        .expect("the regenerated draft holds the follow-up added after close")
        .1;
    assert!(draft.contains("| Alert on checkout 5xx | @"), "{draft}");
    assert!(draft.contains(&format!("| {due} | open |")), "{draft}");
    assert!(draft.contains("| Raise the pool size |"), "{draft}");
    assert!(draft.contains("| 2020-01-01 | done ("), "{draft}");
    assert!(draft.contains("| Write the runbook |"), "{draft}");
}

#[tokio::test]
async fn followups_of_a_private_incident_are_listed_only_to_its_people() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = crate::private::declare_with(&app, "V-PRIVATE", vec!["private"]).await;
    app.command_json(
        DECLARER,
        &room,
        &format!("followup Rotate the keys <@{BOB}>"),
    )
    .await;
    let carol = listing(&app, CAROL, "followups open").await;
    assert!(!texts(&carol).contains("Rotate the keys"), "{carol}");
    // The owner sees their own.
    let bob = listing(&app, BOB, "followups").await;
    assert!(texts(&bob).contains("Rotate the keys"), "{bob}");
    // Someone in the war room sees it.
    let alice = listing(&app, DECLARER, "followups open").await;
    assert!(texts(&alice).contains("Rotate the keys"), "{alice}");
}

/// Direct messages (chat.postMessage to the user id) reminding `user`.
fn reminders_to(app: &TestApp, user: &str) -> Vec<String> {
    app.slack
        .calls("chat.postMessage")
        .iter()
        .filter(|c| c.body["channel"] == user)
        .map(|c| c.body["text"].as_str().unwrap_or_default().to_string())
        .filter(|t| t.contains("Your follow-up"))
        .collect()
}

#[tokio::test]
async fn the_owner_is_reminded_once_when_a_followup_falls_due_whatever_the_restarts() {
    let mut app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.command_json(DECLARER, &room, "close").await;
    app.wait_idle().await;
    // Due in two days: reminded at 09:00 (UTC, the default timezone) then.
    app.command_json(
        DECLARER,
        &room,
        &format!("followup Add a canary stage <@{BOB}> 2d"),
    )
    .await;
    app.command_json(DECLARER, &room, "followup Nothing due here")
        .await;
    app.wait_idle().await;
    let due = (start_time() + chrono::Duration::days(2))
        .date_naive()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc();
    let until_due = (due - app.clock.now()).to_std().unwrap();

    app.advance(until_due - minutes(1)).await;
    assert!(reminders_to(&app, BOB).is_empty(), "not before it is due");

    // Down across the due time: sent once when back.
    app = app.restart(false).await;
    app.clock.advance(minutes(30));
    app = app.restart(true).await;
    app.settle().await;
    let sent = reminders_to(&app, BOB);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("Add a canary stage"), "{}", sent[0]);
    assert!(sent[0].contains("INC-1"), "{}", sent[0]);

    // Restarts and time repeat nothing.
    app = app.restart(true).await;
    app.advance(minutes(60 * 24 * 8)).await;
    assert_eq!(reminders_to(&app, BOB).len(), 1);
    assert!(
        reminders_to(&app, DECLARER).is_empty(),
        "no due date, no reminder"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM timeline_entries WHERE kind = 'reminder' AND text LIKE '%of the follow-up%'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_followup_done_before_it_is_due_is_not_reminded() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.command_json(
        DECLARER,
        &room,
        &format!("followup Add a canary stage <@{BOB}> 2d"),
    )
    .await;
    let mine = listing(&app, BOB, "followups").await;
    let id = done_buttons(&mine)[0].clone();
    app.click(BOB, &room, &format!("followup.done|{id}"), &id)
        .await;
    app.wait_idle().await;
    app.command_json(DECLARER, &room, "close").await;
    app.advance(minutes(60 * 24 * 3)).await;
    assert!(reminders_to(&app, BOB).is_empty());
}
