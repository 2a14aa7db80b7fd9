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

/// The weekly digests `user` received as direct messages.
fn digests_to(app: &TestApp, user: &str) -> Vec<Value> {
    app.slack
        .messages_in(user)
        .into_iter()
        .map(|m| m.body)
        .filter(|b| {
            b["text"]
                .as_str()
                .is_some_and(|t| t.contains("Your open follow-ups this week"))
        })
        .collect()
}

/// Monday 2026-11-23 at `hh:mm` UTC (the suite's first day).
fn monday_at(hh: u32, mm: u32) -> chrono::DateTime<chrono::Utc> {
    start_time()
        .date_naive()
        .and_hms_opt(hh, mm, 0)
        .unwrap()
        .and_utc()
}

#[tokio::test]
async fn the_weekly_digest_reaches_each_owner_of_open_followups_once_whatever_the_restarts() {
    use chrono::Datelike;
    assert_eq!(start_time().weekday(), chrono::Weekday::Mon);
    let mut app = TestApp::spawn(Setup {
        env: vec![("WARROOM_TIMEZONE", "Europe/Paris".to_string())],
        ..Setup::default()
    })
    .await;
    // The scheduler's first look (last week's digest, to nobody) is done.
    app.settle().await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.command_json(
        DECLARER,
        &room,
        &format!("followup Raise the pool size <@{BOB}> 2020-01-01"),
    )
    .await;
    app.command_json(
        DECLARER,
        &room,
        &format!("followup Alert on checkout 5xx <@{BOB}> 30d"),
    )
    .await;
    // Alice's own follow-up is done before Monday: she gets nothing.
    app.command_json(DECLARER, &room, "followup Write the runbook")
        .await;
    let mine = listing(&app, DECLARER, "followups").await;
    let id = done_buttons(&mine)[0].clone();
    app.click(DECLARER, &room, &format!("followup.done|{id}"), &id)
        .await;
    app.settle().await;

    // 09:00 in Paris is 08:00 UTC in November.
    app.advance((monday_at(7, 59) - app.clock.now()).to_std().unwrap())
        .await;
    assert!(
        digests_to(&app, BOB).is_empty(),
        "not before 09:00 in Paris"
    );

    // Down across 09:00, and Slack's answer to the digest lost: sent once
    // when back, the retry finding what the lost answer hid.
    app = app.restart(false).await;
    app.clock.advance(minutes(2));
    app.slack.fail_next(
        "chat.postMessage",
        crate::fake_slack::Failure::LostResponse,
        1,
    );
    app = app.restart(true).await;
    app.slack
        .eventually("the digest whose answer is lost", |s| {
            (s.messages_in(BOB).len() == 1).then_some(())
        })
        .await;
    app.wait_not_running().await;
    // Restarted while its retry waits: the retry finds the message.
    app = app.restart(true).await;
    app.advance_until_idle().await;
    app.settle().await;
    let sent = digests_to(&app, BOB);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let digest = &sent[0];
    assert_block_kit(digest);
    assert!(texts(digest).contains("(2, 1 overdue)"), "{digest}");
    assert!(texts(digest).contains("Raise the pool size · <@UBOB> · *overdue* since 2020-01-01"));
    assert!(texts(digest).contains("Alert on checkout 5xx"));
    assert_eq!(done_buttons(digest).len(), 2);
    assert!(
        digests_to(&app, DECLARER).is_empty(),
        "nothing open, nothing sent"
    );
    assert!(digests_to(&app, CAROL).is_empty());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM followup_digests WHERE week = '2026-11-23' AND owners = 1")
            .await,
        1
    );

    // Past 09:00 again, after more restarts: nothing repeats this week.
    app = app.restart(true).await;
    app.advance(minutes(60 * 24 * 6)).await;
    assert_eq!(digests_to(&app, BOB).len(), 1);

    // Ticked done from the digest itself (a click in the direct message).
    let overdue = done_buttons(digest)[0].clone();
    app.click(BOB, BOB, &format!("followup.done|{overdue}"), &overdue)
        .await;
    app.settle().await;
    // Next Monday 09:00 in Paris: the one left.
    app.advance(minutes(60 * 24)).await;
    let sent = digests_to(&app, BOB);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(texts(&sent[1]).contains("(1)"), "{}", sent[1]);
    assert!(!texts(&sent[1]).contains("Raise the pool size"));
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("warroom_reminders_fired_total{kind=\"followup_digest\"} 1\n"),
        "this process queued one digest: {metrics}"
    );
}

#[tokio::test]
async fn a_bot_down_for_weeks_sends_one_digest_when_back() {
    let mut app = TestApp::spawn(Setup::default()).await;
    app.settle().await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.command_json(
        DECLARER,
        &room,
        &format!("followup Add a canary stage <@{BOB}>"),
    )
    .await;
    app.settle().await;
    app = app.restart(false).await;
    // Three Mondays go by while it is down; back on a Tuesday.
    app.clock.advance(minutes(60 * 24 * (7 * 3 + 1)));
    app = app.restart(true).await;
    app.settle().await;
    assert_eq!(digests_to(&app, BOB).len(), 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM followup_digests WHERE owners > 0")
            .await,
        1,
        "the current week's only"
    );
    // And not again that week.
    app.advance(minutes(60 * 24 * 2)).await;
    assert_eq!(digests_to(&app, BOB).len(), 1);
}

#[tokio::test]
async fn no_digest_when_it_is_off() {
    let app = TestApp::spawn(Setup {
        env: vec![("WARROOM_FOLLOWUPS__DIGEST", "off".to_string())],
        ..Setup::default()
    })
    .await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.command_json(
        DECLARER,
        &room,
        &format!("followup Add a canary stage <@{BOB}>"),
    )
    .await;
    app.advance(minutes(60 * 24 * 15)).await;
    assert!(digests_to(&app, BOB).is_empty());
    assert_eq!(app.count("SELECT COUNT(*) FROM followup_digests").await, 0);
}

/// The follow-up form's `view_submission`, as Slack sends it.
fn followup_submission(
    user: &str,
    incident: &str,
    text: &str,
    owner: &str,
    due: Option<&str>,
) -> Value {
    serde_json::json!({
        "type": "view_submission",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user, "username": "u", "name": "u", "team_id": "T1"},
        "api_app_id": "A1",
        "trigger_id": "1337.42.abcd",
        "view": {
            "id": "V-followup",
            "team_id": "T1",
            "type": "modal",
            "callback_id": "followup",
            "private_metadata": incident,
            "hash": "1.abc",
            "title": {"type": "plain_text", "text": "Follow-up for INC-1"},
            "blocks": [],
            "state": {"values": {
                "text": {"value": {"type": "plain_text_input", "value": text}},
                "owner": {"value": {"type": "users_select", "selected_user": owner}},
                "due": {"value": {"type": "datepicker", "selected_date": due}}
            }}
        },
        "response_urls": [],
        "is_enterprise_install": false
    })
}

#[tokio::test]
async fn add_followup_on_the_postmortem_summary_records_one_like_the_command() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    app.command_json(DECLARER, &room, "close").await;
    app.wait_idle().await;
    let summary = app
        .slack
        .messages_in(&room)
        .into_iter()
        .map(|m| m.body)
        .find(|b| b["text"] == "Postmortem draft for INC-1")
        .expect("the postmortem summary");
    assert_block_kit(&summary);
    let button = summary["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["elements"].as_array())
        .flatten()
        .find(|e| e["text"]["text"] == "Add follow-up")
        .expect("an Add follow-up button")
        .clone();
    let (action, value) = (
        button["action_id"].as_str().unwrap(),
        button["value"].as_str().unwrap(),
    );

    // Anyone in the war room: Bob, who holds no role, opens the form.
    let opened = app.slack.calls("views.open").len();
    assert_eq!(app.click(BOB, &room, action, value).await.status(), 200);
    let views = app.slack.calls("views.open");
    assert_eq!(views.len(), opened + 1);
    let view = &views[opened].body["view"];
    crate::matrix::assert_modal(view);
    assert_eq!(view["callback_id"], "followup");
    let owner = view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["block_id"] == "owner")
        .unwrap();
    assert_eq!(
        owner["element"]["initial_user"], BOB,
        "who opened it, to begin with"
    );

    // Bad input: errors beside the fields, nothing recorded.
    let submit = |text: &str, due: Option<&str>| {
        app.interaction(followup_submission(BOB, value, text, CAROL, due))
    };
    let res = submit("  ", Some("2026-11-22")).await;
    assert_eq!(res.status(), 200);
    let errors: Value = res.json().await.unwrap();
    assert_eq!(errors["response_action"], "errors", "{errors}");
    assert!(
        errors["errors"]["text"]
            .as_str()
            .unwrap()
            .contains("Write what"),
        "{errors}"
    );
    assert!(
        errors["errors"]["due"]
            .as_str()
            .unwrap()
            .contains("in the past"),
        "{errors}"
    );
    let errors: Value = submit("Add a canary stage", Some("22/11/2026"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        errors["errors"]["due"]
            .as_str()
            .unwrap()
            .contains("date picker"),
        "{errors}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM followups").await, 0);

    // Good input: recorded as the command records it.
    let res = submit("Add a canary <stage> & alert", Some("2026-11-26")).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().is_empty(), "the form closes");
    app.wait_idle().await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM followups WHERE owner = 'UCAROL' AND created_by = 'UBOB' AND due_on = '2026-11-26' AND text = 'Add a canary &lt;stage&gt; &amp; alert' AND done_at IS NULL AND remind_at IS NOT NULL").await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM timeline_entries WHERE kind = 'task' AND author = 'UBOB' AND text LIKE '<@UBOB> added a follow-up for <@UCAROL>: “Add a canary &lt;stage&gt; &amp; alert”, due 2026-11-26'").await,
        1
    );
    let told: Vec<String> = app
        .slack
        .calls("chat.postEphemeral")
        .iter()
        .filter(|c| c.body["user"] == BOB && c.body["channel"] == room.as_str())
        .map(|c| c.body["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        told.iter()
            .any(|t| t.starts_with(":pushpin: Follow-up for <@UCAROL> on INC-1")),
        "{told:?}"
    );
    let carol = listing(&app, CAROL, "followups").await;
    assert!(
        texts(&carol).contains("Add a canary &lt;stage&gt; &amp; alert"),
        "{carol}"
    );
    assert_eq!(done_buttons(&carol).len(), 1);

    // The draft made again holds it in its action-item table, its `<`, `>`
    // and `&` as entities (a wiki that renders inline HTML shows them as
    // typed).
    app.command_json(DECLARER, &room, "postmortem").await;
    app.wait_idle().await;
    let files = app.slack.files_in(&room);
    assert_eq!(files.len(), 2);
    assert!(
        files[1]
            .1
            .contains("| Add a canary &lt;stage&gt; &amp; alert |"),
        "{}",
        files[1].1
    );

    // A click from outside the war room opens nothing and says where.
    let opened = app.slack.calls("views.open").len();
    app.click(CAROL, "CELSEWHERE", action, value).await;
    app.wait_idle().await;
    assert_eq!(app.slack.calls("views.open").len(), opened);
    assert!(app.slack.calls("chat.postEphemeral").iter().any(|c| {
        c.body["user"] == CAROL
            && c.body["text"]
                .as_str()
                .unwrap_or_default()
                .contains("from its war room")
    }),);
}

/// Issue 27.6: the list is the newest first, and a private incident's
/// follow-ups are left out before the limit, not after: someone outside
/// its war room still sees the public one behind 45 private ones.
#[tokio::test]
async fn the_list_is_newest_first_with_private_ones_filtered_before_the_limit() {
    let app = TestApp::spawn(Setup::default()).await;
    let public = app.declare("Checkout returns 500", "SEV2").await;
    app.command(DECLARER, &public, "followup Add a canary for checkout")
        .await;
    let private = crate::private::declare_with(&app, "V-private", vec!["private"]).await;
    for n in 0..45 {
        app.command(DECLARER, &private, &format!("followup Rotate key {n}"))
            .await;
    }
    app.idle().await;
    let bob = listing(&app, BOB, "followups open").await;
    let text = texts(&bob);
    assert!(text.contains("*Open follow-ups* (1)"), "{text}");
    assert!(text.contains("Add a canary"), "{text}");
    assert!(!text.contains("Rotate key"), "{text}");
    // Someone in the war room sees the newest 40 and is told there are more.
    let alice = texts(&listing(&app, DECLARER, "followups open").await);
    assert!(
        alice.contains("*Open follow-ups* (40), the newest"),
        "{alice}"
    );
    let first = alice.find("Rotate key 44").unwrap();
    let later = alice.find("Rotate key 43").unwrap();
    assert!(first < later, "newest first: {alice}");
    assert!(!alice.contains("Add a canary"), "the oldest is past the 40");
}
