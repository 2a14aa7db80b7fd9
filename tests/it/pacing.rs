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

/// Issue 29: Slack counts its limits per app, so replicas pace together
/// through the database. Storms of 20 and 40 declarations spread over
/// three replicas on PostgreSQL, against a fake enforcing Slack's limits
/// for the whole app: no 429, every room, board and announcement once.
#[ignore = "needs WARROOM_TEST_POSTGRES_URL (a PostgreSQL server); .ci/run sets it"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storms_over_three_replicas_stay_within_slacks_limits() {
    for storm in [20usize, 40] {
        let db = crate::pg::TestDb::create("storms_over_three_replicas").await;
        let env = || {
            vec![
                ("WARROOM_DATABASE_URL", db.url.clone()),
                ("WARROOM_SLACK__RATE_CONTROL", "true".to_string()),
            ]
        };
        let a = TestApp::spawn(Setup {
            env: env(),
            ..Setup::default()
        })
        .await;
        let replica = || Setup {
            env: env(),
            replica_of: Some((a.slack.clone(), a.clock.clone())),
            ..Setup::default()
        };
        let b = TestApp::spawn(replica()).await;
        let c = TestApp::spawn(replica()).await;
        a.slack.enforce_limits(Clock::Manual(a.clock.clone()));
        let apps = [&a, &b, &c];
        for n in 0..storm {
            declare_now(apps[n % 3], n, &format!("storm {n}")).await;
        }
        let start = a.clock.now();
        for step in 0.. {
            assert!(step < 5000, "the storm of {storm} never finished");
            let mut next = None;
            for app in apps {
                if let Some(at) = app.idle().await {
                    next = Some(next.map_or(at, |n: chrono::DateTime<chrono::Utc>| n.min(at)));
                }
            }
            let c = a.ctx.store.job_counts().await.unwrap();
            if c.pending == 0 && c.running == 0 {
                break;
            }
            let now = a.clock.now();
            let by = next
                .filter(|at| *at > now)
                .map_or(Duration::from_millis(100), |at| {
                    (at - now).to_std().unwrap().max(Duration::from_millis(1))
                });
            a.clock.advance(by);
        }
        let took = (a.clock.now() - start).to_std().unwrap();
        assert!(
            a.slack.throttled().is_empty(),
            "storm of {storm}: Slack said 429 {} times: {:?}",
            a.slack.throttled().len(),
            a.slack
                .throttled()
                .iter()
                .map(|c| &c.method)
                .collect::<Vec<_>>()
        );
        let rooms = a.slack.channel_named_like("inc-");
        assert_eq!(rooms.len(), storm, "one war room each");
        for room in &rooms {
            assert_eq!(
                a.slack.messages_in(&room.id).len(),
                1,
                "one board in {}",
                room.name
            );
        }
        assert_eq!(
            a.slack.messages_in(ORIGIN).len(),
            storm,
            "one announcement each"
        );
        assert_eq!(
            a.count("SELECT COUNT(*) FROM jobs WHERE state = 'failed'")
                .await,
            0
        );
        // conversations.create is Tier 2: a burst of 20, then one every 3 s.
        let floor = Duration::from_secs(3 * (storm.saturating_sub(20)) as u64);
        eprintln!(
            "storm of {storm} over three replicas: {took:?} (conversations.create floor {floor:?})"
        );
        assert!(took >= floor, "{took:?}");
        assert!(
            took <= floor.mul_f64(1.1) + Duration::from_secs(25),
            "{took:?}"
        );
    }
}
