//! Pacing and ordering against a fake Slack that enforces Slack's published
//! rate limits (429 with `Retry-After`), with the app's pacer on. The
//! manual clock drives both, so a second of pacing is a step of the test.

use crate::fake_slack::{Failure, FakeSlack};
use crate::helpers::{DECLARER, DeclareInput, ORIGIN, Setup, SlackEventually, TestApp};
use std::time::Duration;
use warroom::clock::Clock;

/// An app with client-side pacing on, against a fake enforcing the limits.
async fn paced_app() -> TestApp {
    let app = TestApp::spawn(Setup {
        env: vec![("WARROOM_SLACK__RATE_CONTROL", "true".to_string())],
        ..Setup::default()
    })
    .await;
    app.slack.enforce_limits(Clock::Manual(app.clock.clone()));
    app
}

/// Declares an incident without waiting for its Slack work.
async fn declare_now(app: &TestApp, n: usize, title: &str) {
    let res = app
        .command(DECLARER, ORIGIN, &format!("declare {title}"))
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .submit_declare(
            DECLARER,
            &format!("V-pacing-{n}"),
            DeclareInput {
                title: title.to_string(),
                severity: Some("SEV2".to_string()),
                ..DeclareInput::default()
            },
        )
        .await;
    assert_eq!(res.status(), 200);
}

/// Lets due work run, then moves the clock 100 ms, until no job is left;
/// returns how far the clock moved.
async fn run_paced(app: &TestApp) -> Duration {
    let start = app.clock.now();
    app.step_until(
        "every paced job to finish",
        Duration::from_millis(100),
        || async {
            let c = app.ctx.store.job_counts().await.unwrap();
            if c.pending == 0 && c.running == 0 {
                return Ok((app.clock.now() - start).to_std().unwrap());
            }
            let next = app.ctx.store.next_job_due().await.unwrap();
            Err(format!(
                "still busy at {}: {c:?}, next due {next:?}; calls {:?}",
                app.clock.now().timestamp_millis(),
                app.slack
                    .all_calls()
                    .iter()
                    .map(|c| &c.method)
                    .collect::<Vec<_>>()
            ))
        },
    )
    .await
}

/// Waits (real time, clock still) until `check` holds.
async fn until<T>(slack: &FakeSlack, what: &str, check: impl FnMut(&FakeSlack) -> Option<T>) -> T {
    slack.eventually(what, check).await
}

#[tokio::test]
async fn a_storm_of_declarations_delivers_everything_once_within_slacks_limits() {
    let app = paced_app().await;
    for n in 0..20 {
        declare_now(&app, n, &format!("storm {n}")).await;
    }
    let took = run_paced(&app).await;

    let rooms = app.slack.channel_named_like("inc-");
    assert_eq!(rooms.len(), 20, "one war room each");
    for room in &rooms {
        let boards = app.slack.messages_in(&room.id);
        assert_eq!(boards.len(), 1, "one board in {}: {boards:#?}", room.name);
        assert_eq!(app.slack.calls_in("conversations.invite", &room.id), 1);
        assert_eq!(app.slack.calls_in("conversations.setTopic", &room.id), 1);
        assert!(room.topic.contains("SEV2"), "{}", room.topic);
    }
    assert_eq!(
        app.slack.messages_in(ORIGIN).len(),
        20,
        "one announcement each"
    );
    assert_eq!(app.slack.calls("chat.postMessage").len(), 40);
    assert!(
        app.slack.throttled().is_empty(),
        "Slack never had to say 429: {:?}",
        app.slack
            .throttled()
            .iter()
            .map(|c| &c.method)
            .collect::<Vec<_>>()
    );
    // The announcements share one channel: about one a second after a
    // short burst, and no slower than that needs.
    assert!(
        took >= Duration::from_secs(16) && took <= Duration::from_secs(20),
        "{took:?}"
    );
    let failed = app
        .count("SELECT COUNT(*) FROM jobs WHERE state = 'failed'")
        .await;
    assert_eq!(failed, 0);
}

#[tokio::test]
async fn a_429_pauses_only_the_method_it_concerns_for_its_retry_after() {
    let app = paced_app().await;
    app.slack
        .fail_next("conversations.setTopic", Failure::RateLimited(30), 1);
    declare_now(&app, 0, "first").await;
    // Everything else goes out at once: the clock has not moved.
    let room = until(&app.slack, "the role board", |s| {
        let room = s.channel_named_like("inc-1-").first()?.id.clone();
        (s.messages_in(&room).len() == 1).then_some(room)
    })
    .await;
    until(&app.slack, "the announcement", |s| {
        (s.messages_in(ORIGIN).len() == 1).then_some(())
    })
    .await;
    until(&app.slack, "the invite", |s| {
        (s.calls_in("conversations.invite", &room) == 1).then_some(())
    })
    .await;

    // Another incident's topic waits too (the method is paused for the
    // workspace); its board does not.
    declare_now(&app, 1, "second").await;
    let second = until(&app.slack, "the second board", |s| {
        let room = s.channel_named_like("inc-2-").first()?.id.clone();
        (s.messages_in(&room).len() == 1).then_some(room)
    })
    .await;
    app.clock.advance(Duration::from_secs(29));
    app.idle().await;
    assert_eq!(
        app.slack.calls("conversations.setTopic").len(),
        1,
        "only the refused one"
    );
    assert!(app.slack.channel(&room).unwrap().topic.is_empty());

    app.clock.advance(Duration::from_secs(1));
    run_paced(&app).await;
    assert!(app.slack.channel(&room).unwrap().topic.contains("SEV2"));
    assert!(app.slack.channel(&second).unwrap().topic.contains("SEV2"));
    assert_eq!(app.slack.calls("conversations.setTopic").len(), 3);
    // The refused call did nothing, so it did not count as an attempt.
    let attempts = app
        .count("SELECT MAX(attempts) FROM jobs WHERE kind = 'sync_topic'")
        .await;
    assert_eq!(attempts, 1);
}

#[tokio::test]
async fn a_stuck_topic_holds_back_neither_the_board_nor_the_announcement() {
    let app = paced_app().await;
    declare_now(&app, 0, "stuck").await;
    run_paced(&app).await;
    let room = app.slack.channel_named_like("inc-1-")[0].id.clone();

    // Slack answers 500 to every topic change for a long while.
    app.slack
        .fail_next("conversations.setTopic", Failure::Status500, 8);
    let answer = app.command_json(DECLARER, &room, "severity SEV1").await;
    assert!(answer.to_string().contains("SEV1"), "{answer}");

    // Board and announcement are edited at once; the clock has not moved.
    until(&app.slack, "both edits", |s| {
        let board = s.messages_in(&room);
        let announcement = s.messages_in(ORIGIN);
        (board[0].edits == 1 && announcement[0].edits == 1).then_some(())
    })
    .await;
    assert!(
        app.slack.messages_in(&room)[0]
            .body
            .to_string()
            .contains("SEV1")
    );
    assert!(
        app.slack.messages_in(ORIGIN)[0]
            .body
            .to_string()
            .contains("SEV1")
    );
    assert!(!app.slack.channel(&room).unwrap().topic.contains("SEV1"));

    // A later change still is not held back by the topic retrying.
    let answer = app.command_json(DECLARER, &room, "severity SEV3").await;
    assert!(answer.to_string().contains("SEV3"), "{answer}");
    until(&app.slack, "the second edits", |s| {
        (s.messages_in(&room)[0].edits == 2 && s.messages_in(ORIGIN)[0].edits == 2).then_some(())
    })
    .await;

    // The topic catches up once Slack recovers.
    run_paced(&app).await;
    let topic = app.slack.channel(&room).unwrap().topic;
    assert!(topic.contains("SEV3"), "{topic}");
    assert_eq!(
        app.slack.messages_in(&room).len(),
        1,
        "edited, not reposted"
    );
}
