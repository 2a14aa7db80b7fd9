//! Slack failing, slow, or the process stopping between ack and work.

use crate::fake_slack::Failure;
use crate::helpers::*;
use std::time::{Duration, Instant};

/// Moves the clock on until the war room exists.
async fn advance_until_room(app: &TestApp) -> String {
    app.step_until("the war room", Duration::from_secs(5), || async {
        app.room(1).await.ok_or_else(|| {
            app.slack
                .all_calls()
                .iter()
                .map(|c| c.method.clone())
                .collect::<Vec<_>>()
        })
    })
    .await
}

/// Waits until what `sql` counts (one integer) passes `holds`.
async fn count_until(app: &TestApp, what: &str, sql: &'static str, holds: fn(i64) -> bool) {
    eventually(what, || async {
        let n = app.count(sql).await;
        if holds(n) { Ok(()) } else { Err(n) }
    })
    .await
}

#[tokio::test]
async fn slack_500s_then_success_makes_one_war_room() {
    let app = TestApp::spawn(Setup::default()).await;
    app.slack
        .fail_next("conversations.create", Failure::Status500, 2);
    app.slack
        .fail_next("chat.postMessage", Failure::Status500, 1);
    app.submit_declare(DECLARER, "V1", DeclareInput::default())
        .await;
    let room = advance_until_room(&app).await;
    app.advance_until_idle().await;
    assert_eq!(app.slack.calls("conversations.create").len(), 3);
    assert_eq!(
        app.slack.channel_named_like("inc-1").len(),
        1,
        "one war room"
    );
    assert_eq!(
        app.slack.channel(&room).unwrap().name,
        "inc-1-checkout-returns-500"
    );
    assert_eq!(
        app.slack.messages_in(&room).len(),
        1,
        "one board: {:#?}",
        app.slack.messages_in(&room)
    );
    assert_eq!(app.slack.messages_in(ORIGIN).len(), 1, "one announcement");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE state = 'done'")
            .await,
        5
    );
    assert_eq!(
        app.count("SELECT MAX(attempts) FROM jobs WHERE kind = 'create_channel'")
            .await,
        3
    );
}

#[tokio::test]
async fn a_429_waits_for_retry_after() {
    let app = TestApp::spawn(Setup::default()).await;
    app.slack
        .fail_next("conversations.create", Failure::RateLimited(30), 1);
    app.submit_declare(DECLARER, "V1", DeclareInput::default())
        .await;
    app.slack
        .eventually("the rate-limited call", |s| {
            (s.calls("conversations.create").len() == 1).then_some(())
        })
        .await;
    // Retry-After is 30 s: 29 s later nothing has been tried again.
    count_until(
        &app,
        "the 429 to be recorded",
        "SELECT COUNT(*) FROM jobs WHERE kind = 'create_channel' AND state = 'pending' AND attempts = 1",
        |n| n > 0,
    )
    .await;
    app.clock.advance(Duration::from_secs(29));
    app.idle().await;
    assert_eq!(app.slack.calls("conversations.create").len(), 1);
    let run_after: i64 = app
        .count("SELECT run_after FROM jobs WHERE kind = 'create_channel'")
        .await;
    assert_eq!(
        run_after,
        (start_time() + chrono::Duration::seconds(30)).timestamp_millis()
    );
    app.clock.advance(Duration::from_secs(1));
    app.wait_idle().await;
    assert_eq!(app.slack.calls("conversations.create").len(), 2);
    assert_eq!(app.slack.channel_named_like("inc-1").len(), 1);
}

#[tokio::test]
async fn a_permanent_slack_error_stops_the_job_and_is_recorded() {
    let app = TestApp::spawn(Setup::default()).await;
    app.slack
        .fail_next("conversations.create", Failure::Api("restricted_action"), 1);
    app.submit_declare(DECLARER, "V1", DeclareInput::default())
        .await;
    app.slack
        .eventually("the refused call", |s| {
            (s.calls("conversations.create").len() == 1).then_some(())
        })
        .await;
    count_until(
        &app,
        "the job to fail",
        "SELECT COUNT(*) FROM jobs WHERE state = 'failed'",
        |n| n > 0,
    )
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs WHERE state = 'failed' AND last_error LIKE '%restricted_action%'").await, 1);
    assert_eq!(
        app.slack.calls("conversations.create").len(),
        1,
        "not retried"
    );
}

#[tokio::test]
async fn jobs_left_by_a_stopped_process_finish_once_after_restart() {
    // The first process acks the submission and stops before any job ran.
    let app = TestApp::spawn(Setup {
        workers: false,
        ..Setup::default()
    })
    .await;
    let res = app
        .submit_declare(DECLARER, "V1", DeclareInput::default())
        .await;
    assert_eq!(res.status(), 200);
    app.command_json(DECLARER, ORIGIN, "list").await;
    assert!(app.slack.calls("conversations.create").is_empty());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE state = 'pending'")
            .await,
        5
    );

    // A job a dead process left `running` is resumed too.
    let db = app.db_path();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE jobs SET state = 'running', locked_until = 99999999999999 WHERE kind = 'create_channel'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let app = app.restart(true).await;
    app.wait_idle().await;
    assert_eq!(app.slack.calls("conversations.create").len(), 1);
    assert_eq!(app.slack.channel_named_like("inc-1").len(), 1);
    let room = app.incident(1).await.channel_id.unwrap();
    assert_eq!(app.slack.messages_in(room.as_str()).len(), 1);
    assert_eq!(app.slack.messages_in(ORIGIN).len(), 1);

    // And a second restart does nothing again.
    let app = app.restart(true).await;
    app.wait_idle().await;
    assert_eq!(app.slack.calls("conversations.create").len(), 1);
    assert_eq!(app.slack.calls("chat.postMessage").len(), 2);
}

#[tokio::test]
async fn answers_within_three_seconds_while_slack_is_slow() {
    let app = TestApp::spawn(Setup::default()).await;
    app.slack
        .fail_next("views.open", Failure::Slow(Duration::from_secs(6)), 1);
    app.slack.fail_next(
        "conversations.create",
        Failure::Slow(Duration::from_secs(6)),
        1,
    );
    // views.open is bounded below Slack's 3 s: the answer asks to try
    // again instead of waiting the 6 s out.
    let asked = Instant::now();
    let answer = app.command_json(DECLARER, ORIGIN, "declare slow").await;
    let answered_in = asked.elapsed();
    assert!(answer["text"].as_str().unwrap().contains("again"));
    // Slack gives up on an answer after 3 s; the form call takes 6 here.
    assert!(
        answered_in < Duration::from_secs(3),
        "answered in {answered_in:?}"
    );
    assert!(
        app.slack.calls("views.open").len() == 1,
        "the form was asked for once"
    );
    // The submission is acked before any Web API call: the incident is
    // stored while Slack is still (slowly) creating its war room.
    let submitted = Instant::now();
    let res = app
        .submit_declare(DECLARER, "V1", DeclareInput::default())
        .await;
    let acked_in = submitted.elapsed();
    assert_eq!(res.status(), 200);
    assert!(acked_in < Duration::from_secs(3), "acked in {acked_in:?}");
    assert_eq!(app.incident(1).await.title, "Checkout returns 500");
    assert_eq!(app.room(1).await, None, "acked before the war room exists");
}

#[tokio::test]
async fn a_created_channel_whose_answer_was_lost_is_adopted_not_doubled() {
    let app = TestApp::spawn(Setup::default()).await;
    // Slack creates the channel but the bot never hears so.
    app.slack
        .fail_next("conversations.create", Failure::LostResponse, 1);
    app.submit_declare(DECLARER, "V1", DeclareInput::default())
        .await;
    let room = advance_until_room(&app).await;
    app.wait_idle().await;
    assert_eq!(
        app.slack.calls("conversations.create").len(),
        2,
        "the retry met name_taken"
    );
    let rooms = app.slack.channel_named_like("inc-1");
    assert_eq!(rooms.len(), 1, "one war room: {rooms:?}");
    assert_eq!(rooms[0].id, room);
    assert_eq!(rooms[0].name, "inc-1-checkout-returns-500");
    assert_eq!(
        app.slack.messages_in(&room).len(),
        1,
        "the board went to the adopted room"
    );

    // A name taken by a person is not adopted.
    app.slack.take_name("inc-2-checkout-returns-500");
    let second = app.declare("Checkout returns 500", "SEV2").await;
    assert_eq!(
        app.slack.channel(&second).unwrap().name,
        "inc-2-checkout-returns-500-2"
    );
}

#[tokio::test]
async fn a_post_whose_answer_was_lost_is_found_not_repeated() {
    let app = TestApp::spawn(Setup::default()).await;
    // The role board is posted, but the bot never hears so.
    app.slack
        .fail_next("chat.postMessage", Failure::LostResponse, 1);
    app.submit_declare(DECLARER, "V1", DeclareInput::default())
        .await;
    let room = advance_until_room(&app).await;
    app.advance_until_idle().await;
    let boards = app.slack.messages_in(&room);
    assert_eq!(boards.len(), 1, "one board");
    assert_eq!(
        app.incident(1).await.board_ts.as_ref().map(|x| x.as_str()),
        Some(boards[0].ts.as_str()),
        "the found board is the one kept current"
    );
    assert_eq!(boards[0].body["metadata"]["event_type"], "warroom_job");
    assert!(
        !app.slack.calls("conversations.history").is_empty(),
        "the retry looked before posting"
    );
    app.click("UBOB", &room, "role.claim", "1|Scribe").await;
    app.wait_idle().await;
    assert_eq!(app.slack.messages_in(&room)[0].edits, 1);
}

#[tokio::test]
async fn old_event_ids_and_finished_jobs_are_pruned() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Prune me", "SEV3").await;
    let ts = app
        .slack
        .user_posts(&room, "UCAROL", "a fact", None, start_time());
    let tag = serde_json::json!({"type": "event_callback", "event_id": "EvOld", "team_id": "T1", "event": {
        "type": "reaction_added", "user": DECLARER, "reaction": "pushpin", "item": {"type": "message", "channel": room, "ts": ts}}});
    app.event(tag, None).await;
    app.command_json(DECLARER, &room, "status resolved").await; // no reminders from here
    app.wait_idle().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM slack_events").await, 1);
    let done = app
        .count("SELECT COUNT(*) FROM jobs WHERE state = 'done'")
        .await;
    assert!(done >= 6);
    // Three days on, the event id goes; thirty-one days on, the finished jobs.
    app.clock.advance(Duration::from_secs(3 * 24 * 3600));
    count_until(
        &app,
        "event ids to be pruned",
        "SELECT COUNT(*) FROM slack_events",
        |n| n == 0,
    )
    .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE state = 'done'")
            .await,
        done,
        "jobs kept for 30 days"
    );
    warroom::reminders::prune(&app.ctx).await.unwrap();
    app.clock.advance(Duration::from_secs(28 * 24 * 3600));
    warroom::reminders::prune(&app.ctx).await.unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE state = 'done'")
            .await,
        0
    );
    assert_eq!(
        tagged_entries(&app).await,
        1,
        "the timeline keeps everything"
    );
}

async fn tagged_entries(app: &TestApp) -> usize {
    app.ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap()
        .iter()
        .filter(|e| e.slack_ts.is_some())
        .count()
}

#[tokio::test]
async fn a_postmortem_upload_whose_answer_was_lost_is_found_not_repeated() {
    let app = TestApp::spawn(Setup {
        env: vec![("WARROOM_PERMISSIONS__CLOSE", "anyone".to_string())],
        ..Setup::default()
    })
    .await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    // Slack shares the file, but the bot never hears so.
    app.slack
        .fail_next("files.completeUploadExternal", Failure::LostResponse, 1);
    app.command_json(DECLARER, &room, "close").await;
    app.advance_until_idle().await;
    assert_eq!(app.slack.files_in(&room).len(), 1, "one postmortem file");
    assert_eq!(
        app.slack.calls("files.completeUploadExternal").len(),
        1,
        "the retry found the file and did not upload again"
    );
    assert_eq!(app.slack.calls("files.list").len(), 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'post_postmortem' AND state = 'done'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_slow_job_keeps_its_claim_by_renewing_its_lease() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    // Editing the board lasts until the test lets it answer, while the
    // app's clock moves 90 s: well past the 60 s lease it was claimed with.
    let gate = std::sync::Arc::new(tokio::sync::Notify::new());
    app.slack
        .fail_next("chat.update", Failure::Until(gate.clone()), 1);
    app.click("UBOB", &room, "role.claim", "1|Scribe").await;
    let lease = || async {
        app.ctx
            .store
            .job_counts()
            .await
            .unwrap()
            .running
            .eq(&1)
            .then_some(())?;
        let until: Option<i64> = {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", app.db_path().display()))
                .await
                .unwrap();
            let until = sqlx::query_scalar("SELECT locked_until FROM jobs WHERE state = 'running'")
                .fetch_optional(&pool)
                .await
                .unwrap();
            pool.close().await;
            until
        };
        until
    };
    eventually("the board job to start", || async {
        lease().await.ok_or("not running")
    })
    .await;
    for _ in 0..3 {
        app.clock.advance(Duration::from_secs(30));
        // The worker renews its lease to a minute from the new time
        // (its heartbeat, counted from the claim, is due at every step).
        let renewed = (app.clock.now() + chrono::Duration::seconds(60)).timestamp_millis();
        eventually("the lease to be renewed", || async {
            match lease().await {
                Some(until) if until == renewed => Ok(()),
                other => Err(other),
            }
        })
        .await;
    }
    gate.notify_one();
    app.wait_idle().await;
    assert_eq!(
        app.slack.calls("chat.update").len(),
        1,
        "no second worker took the job over"
    );
    assert_eq!(
        app.count("SELECT MAX(attempts) FROM jobs WHERE kind = 'sync_board'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_post_that_timed_out_after_slack_acted_is_found_not_repeated() {
    let app = TestApp::spawn(Setup {
        env: vec![
            // Every call of this test has this long: short, but not so
            // short that a loaded machine makes the retry time out too.
            ("WARROOM_SLACK__CALL_TIMEOUT", "1s".to_string()),
            // The client-side throttle's wait would count against 1 s.
            ("WARROOM_SLACK__RATE_CONTROL", "false".to_string()),
        ],
        ..Setup::default()
    })
    .await;
    // Slack posts the role board at once but answers after 5 s; the bot
    // gave up after 1 s and does not know the board is there. (The board's
    // post, not whichever post comes first: the announcement's races it.)
    app.slack.fail_next_in(
        "chat.postMessage",
        "inc-1-",
        Failure::LateAnswer(Duration::from_secs(5)),
        1,
    );
    app.submit_declare(DECLARER, "V1", DeclareInput::default())
        .await;
    let room = advance_until_room(&app).await;
    app.advance_until_idle().await;
    let boards = app.slack.messages_in(&room);
    assert_eq!(boards.len(), 1, "one board: {boards:?}");
    assert_eq!(
        app.incident(1).await.board_ts.as_ref().map(|x| x.as_str()),
        Some(boards[0].ts.as_str())
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'sync_board' AND attempts = 2 AND last_error LIKE '%timed out%'")
            .await,
        1,
        "the first attempt timed out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_on_sqlite_all_land() {
    let app = std::sync::Arc::new(TestApp::spawn(Setup::default()).await);
    let room = app.declare("Checkout returns 500", "SEV2").await;
    // 100 notes and 100 tags at once, while the workers write too: SQLite
    // allows one writer, and `BEGIN IMMEDIATE` plus the busy timeout make the
    // others wait their turn rather than fail with "database is locked".
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..100 {
        let (app, room) = (app.clone(), room.clone());
        requests.spawn(async move {
            let note = app
                .command(DECLARER, &room, &format!("note step {n}"))
                .await;
            let ts =
                app.slack
                    .user_posts(&room, "UCAROL", &format!("finding {n}"), None, start_time());
            let tag = app
                .event(
                    reaction(
                        "reaction_added",
                        &format!("Ev{n}"),
                        DECLARER,
                        "pushpin",
                        &room,
                        &ts,
                    ),
                    None,
                )
                .await;
            (note.status(), tag.status())
        });
    }
    let answers = requests.join_all().await;
    assert!(
        answers
            .iter()
            .all(|(a, b)| a.is_success() && b.is_success()),
        "{answers:?}"
    );
    app.wait_idle().await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM timeline_entries WHERE kind = 'note'")
            .await,
        100
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM timeline_entries WHERE slack_ts IS NOT NULL AND fetched = 1"
        )
        .await,
        100
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE state <> 'done'")
            .await,
        0
    );
}
