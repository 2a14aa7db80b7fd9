//! Socket Mode against the fake Socket Mode server: the same effects as
//! over HTTP, acks with the right payloads, refreshes and drops that lose
//! nothing, redeliveries acted on once, reconnects with backoff.

use super::fake_slack::{APP_TOKEN, Failure, FakeSlack};
use super::fake_socket::{FakeSocket, command_payload};
use super::helpers::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use warroom::clock::ManualClock;

const SCRIBE: &str = "USCRIBE";

/// The app in Socket Mode (no signing secret) with `connections` sockets,
/// once they are all open.
async fn socket_app(connections: usize) -> (TestApp, FakeSocket) {
    let (app, socket) = socket_app_starting(connections).await;
    socket.wait_open(connections).await;
    wait_sockets(&app, connections).await;
    (app, socket)
}

/// The app in Socket Mode, as soon as it was built (nothing connected yet,
/// perhaps).
async fn socket_app_starting(connections: usize) -> (TestApp, FakeSocket) {
    socket_app_with(connections, "", |_| {}).await
}

/// The app in Socket Mode with `toml` as its configuration file, the fake
/// Slack prepared by `before`.
async fn socket_app_with(
    connections: usize,
    toml: &'static str,
    before: impl FnOnce(&FakeSlack),
) -> (TestApp, FakeSocket) {
    let slack = FakeSlack::start().await;
    let socket = FakeSocket::start().await;
    slack.set_socket_url(&socket.url);
    before(&slack);
    let app = TestApp::spawn(Setup {
        env: vec![
            ("SLACK_APP_TOKEN", APP_TOKEN.to_string()),
            ("SLACK_SIGNING_SECRET", String::new()),
            ("WARROOM_SLACK__SOCKET_CONNECTIONS", connections.to_string()),
        ],
        replica_of: Some((slack, ManualClock::new(start_time()))),
        toml,
        ..Setup::default()
    })
    .await;
    (app, socket)
}

/// Waits until the app counts `n` sockets (it counts from `hello`).
async fn wait_sockets(app: &TestApp, n: usize) {
    eventually(&format!("the app to count {n} sockets"), || {
        let counted = app.ctx.readiness.sockets();
        std::future::ready(if counted == n { Ok(()) } else { Err(counted) })
    })
    .await
}

/// When the app will next try to open a connection, if it has an attempt
/// waiting for its backoff (on the app's clock).
fn scheduled_reconnect(app: &TestApp) -> Option<chrono::DateTime<chrono::Utc>> {
    app.ctx.quiet.reconnects().borrow().iter().min().copied()
}

/// Waits until the app has a connection attempt waiting for its backoff;
/// returns when it is due.
async fn next_reconnect(app: &TestApp) -> chrono::DateTime<chrono::Utc> {
    eventually("a reconnect waiting for its backoff", || {
        std::future::ready(scheduled_reconnect(app).ok_or("none"))
    })
    .await
}

/// Moves the app's clock to `at`, unless it is past it.
fn move_clock_to(app: &TestApp, at: chrono::DateTime<chrono::Utc>) {
    if at > app.clock.now() {
        app.clock.set(at);
    }
}

/// The sum of the `requests` counter's series for `endpoint` and `outcome`.
async fn requests(app: &TestApp, endpoint: &str, outcome: &str) -> u64 {
    let labels = [
        format!("endpoint=\"{endpoint}\""),
        format!("outcome=\"{outcome}\""),
    ];
    app.metrics()
        .await
        .lines()
        .filter(|l| l.starts_with("warroom_requests_total{"))
        .filter(|l| labels.iter().all(|want| l.contains(want.as_str())))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let res = app.http.get(app.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// How Slack's deliveries reach the app in a test.
enum Via<'a> {
    Http(&'a TestApp),
    Socket(&'a FakeSocket),
}

fn json_or_null(body: &str) -> Value {
    if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap()
    }
}

impl Via<'_> {
    fn conn(socket: &FakeSocket) -> usize {
        socket.open_connections()[0]
    }

    /// The answer Slack gets: the HTTP body, or the ack's payload.
    async fn command(&self, user: &str, channel: &str, text: &str) -> Value {
        match self {
            Via::Http(app) => app.command_json(user, channel, text).await,
            Via::Socket(s) => s.command(Self::conn(s), user, channel, text).await,
        }
    }

    async fn interaction(&self, payload: Value) -> Value {
        match self {
            Via::Http(app) => {
                let res = app.interaction(payload).await;
                assert_eq!(res.status(), 200);
                json_or_null(&res.text().await.unwrap())
            }
            Via::Socket(s) => s.interaction(Self::conn(s), payload).await,
        }
    }

    async fn event(&self, payload: Value) -> Value {
        match self {
            Via::Http(app) => {
                let res = app.event(payload, None).await;
                assert_eq!(res.status(), 200);
                json_or_null(&res.text().await.unwrap())
            }
            Via::Socket(s) => s.event(Self::conn(s), payload).await,
        }
    }
}

async fn wait_room(app: &TestApp, number: i64) -> String {
    let room = app.wait_room(number).await;
    app.wait_idle().await;
    room
}

/// The incident loop: declare (a form with an error first), claim a role,
/// tag a message, note, mitigate. Returns every answer Slack got.
async fn incident_loop(app: &TestApp, via: Via<'_>) -> Vec<Value> {
    let mut replies = vec![
        via.command(DECLARER, ORIGIN, "declare Checkout returns 500")
            .await,
    ];
    let untitled = DeclareInput {
        title: String::new(),
        ..DeclareInput::default()
    };
    replies.push(
        via.interaction(declare_submission(DECLARER, "V-loop", &untitled))
            .await,
    );
    replies.push(
        via.interaction(declare_submission(
            DECLARER,
            "V-loop",
            &DeclareInput::default(),
        ))
        .await,
    );
    let room = wait_room(app, 1).await;
    replies.push(
        via.interaction(click_payload(SCRIBE, &room, "role.claim", "1|Scribe"))
            .await,
    );
    app.wait_idle().await;
    let ts = app.slack.user_posts(
        &room,
        "UCAROL",
        "the database is out of connections",
        None,
        app.clock.now(),
    );
    replies.push(
        via.event(reaction(
            "reaction_added",
            "EvLoop1",
            SCRIBE,
            "pushpin",
            &room,
            &ts,
        ))
        .await,
    );
    app.wait_idle().await;
    replies.push(via.command(SCRIBE, &room, "note failover started").await);
    replies.push(via.command(DECLARER, &room, "status mitigated").await);
    app.wait_idle().await;
    replies
}

/// What the loop left behind: Slack calls by method (the socket's own
/// `apps.connections.open` aside), the timeline, the incident and roles.
async fn effects(app: &TestApp) -> Value {
    let mut methods: Vec<String> = app
        .slack
        .all_calls()
        .into_iter()
        .map(|c| c.method)
        .filter(|m| m != "apps.connections.open")
        .collect();
    methods.sort();
    let timeline: Vec<(String, String, bool)> = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind.as_str().to_string(), e.text, e.fetched))
        .collect();
    let incident = app.incident(1).await;
    let roles: Vec<(String, String)> = app
        .ctx
        .store
        .assignments(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.role.0, a.user.0))
        .collect();
    json!({
        "methods": methods,
        "timeline": timeline,
        "incident": [incident.title, incident.severity, incident.status.to_string(), incident.channel_name],
        "roles": roles,
    })
}

#[tokio::test]
async fn the_incident_loop_over_the_socket_does_what_it_does_over_http() {
    let http = TestApp::spawn(Setup::default()).await;
    let over_http = incident_loop(&http, Via::Http(&http)).await;
    let (app, socket) = socket_app(2).await;
    let over_socket = incident_loop(&app, Via::Socket(&socket)).await;

    assert_eq!(over_socket, over_http, "the same answers");
    assert_eq!(
        effects(&app).await,
        effects(&http).await,
        "the same effects"
    );
    // And the answers are the right ones.
    assert_eq!(over_socket[0], Value::Null, "declare opens the form");
    assert_eq!(app.slack.calls("views.open").len(), 1);
    assert_eq!(over_socket[1]["response_action"], "errors");
    assert!(over_socket[1]["errors"]["title"].is_string());
    assert_eq!(over_socket[2], Value::Null, "a good form closes");
    assert_eq!(over_socket[3], Value::Null);
    assert_eq!(over_socket[4], Value::Null);
    assert_eq!(over_socket[5]["response_type"], "ephemeral");
    let timeline = effects(&app).await["timeline"].to_string();
    assert!(timeline.contains("the database is out of connections"));
    assert!(timeline.contains("failover started"));
    assert_eq!(app.incident(1).await.status.to_string(), "mitigated");
    // Every envelope acked exactly once, on the connection it came on.
    for conn in socket.connections() {
        assert!(conn.open);
    }
}

#[tokio::test]
async fn socket_mode_serves_health_and_readiness_but_no_slack_routes() {
    let (app, _socket) = socket_app(2).await;
    assert_eq!(get(&app, "/readyz").await, (200, "ready".to_string()));
    assert_eq!(get(&app, "/healthz").await.0, 200);
    assert_eq!(get(&app, "/metrics").await.0, 200);
    for path in ["/slack/commands", "/slack/events", "/slack/interactivity"] {
        let res = app
            .post_signed(path, "application/json", "{}".to_string(), &[])
            .await;
        assert_eq!(res.status(), 404, "{path}");
    }
    // apps.connections.open went through slack.api_url with the app token.
    let opens = app.slack.calls("apps.connections.open");
    assert_eq!(opens.len(), 2);
    assert!(
        opens
            .iter()
            .all(|c| c.auth.as_deref() == Some(&format!("Bearer {APP_TOKEN}")[..]))
    );
}

#[tokio::test]
async fn http_mode_reports_ready_without_sockets() {
    let app = TestApp::spawn(Setup::default()).await;
    assert_eq!(get(&app, "/readyz").await, (200, "ready".to_string()));
    assert!(app.slack.calls("apps.connections.open").is_empty());
}

/// Declares incident 1 over the socket; returns its war room.
async fn declare_over(app: &TestApp, socket: &FakeSocket) -> String {
    let conn = socket.open_connections()[0];
    socket
        .command(conn, DECLARER, ORIGIN, "declare Payments fail")
        .await;
    socket
        .interaction(
            conn,
            declare_submission(DECLARER, "V-1", &DeclareInput::default()),
        )
        .await;
    wait_room(app, 1).await
}

async fn notes(app: &TestApp) -> Vec<String> {
    app.ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind.as_str() == "note")
        .map(|e| e.text)
        .collect()
}

#[tokio::test]
async fn a_refresh_opens_the_replacement_first_and_loses_nothing() {
    let (app, socket) = socket_app(2).await;
    let room = declare_over(&app, &socket).await;
    let (old, other) = (0, 1);

    // Hold the replacement's apps.connections.open until the test says.
    let gate = Arc::new(tokio::sync::Notify::new());
    app.slack
        .fail_next("apps.connections.open", Failure::Until(gate.clone()), 1);
    socket.disconnect(old, "refresh_requested");
    app.slack
        .eventually("the replacement being opened", |s| {
            (s.calls("apps.connections.open").len() == 3).then_some(())
        })
        .await;
    // Until it closes, the old connection still serves.
    let on_old = socket.envelope(
        old,
        "slash_commands",
        command_payload(DECLARER, &room, "note sent on the old connection"),
    );
    let on_other = socket.envelope(
        other,
        "slash_commands",
        command_payload(DECLARER, &room, "note sent on the other one"),
    );
    assert_eq!(socket.ack(&on_old).await.conn, old);
    assert_eq!(socket.ack(&on_other).await.conn, other);
    assert!(
        socket.connections()[old].open,
        "not closed before its replacement is up"
    );
    gate.notify_one();
    let closed = socket
        .wait_until("the app to close the old connection", |f| {
            let c = &f.connections()[old];
            (!c.open).then(|| c.clone())
        })
        .await;
    assert!(closed.closed_by_app, "closed politely, with a Close frame");
    let conns = socket.connections();
    assert_eq!(conns.len(), 3, "one replacement");
    assert!(
        conns[2].hello_at < closed.closed_at.unwrap(),
        "the replacement was up before the old connection closed"
    );
    let on_new = socket.envelope(
        2,
        "slash_commands",
        command_payload(DECLARER, &room, "note sent on the replacement"),
    );
    assert_eq!(socket.ack(&on_new).await.conn, 2);
    let mut got = notes(&app).await;
    got.sort();
    assert_eq!(
        got,
        [
            "note sent on the old connection",
            "note sent on the other one",
            "note sent on the replacement"
        ]
        .map(|n| n.trim_start_matches("note ").to_string())
    );
    wait_sockets(&app, 2).await;
    assert_eq!(app.slack.calls("apps.connections.open").len(), 3);
    assert_eq!(get(&app, "/readyz").await.0, 200);
}

#[tokio::test]
async fn an_envelope_redelivered_on_another_connection_is_acted_on_once() {
    let (app, socket) = socket_app(2).await;
    let (a, b) = (0, 1);

    // The socket dies while the command is being handled (its modal is
    // still opening); Slack delivers the envelope again on the other one.
    let gate = Arc::new(tokio::sync::Notify::new());
    app.slack
        .fail_next("views.open", Failure::Until(gate.clone()), 1);
    let payload = command_payload(DECLARER, ORIGIN, "declare Payments fail");
    let id = socket.envelope(a, "slash_commands", payload.clone());
    app.slack
        .eventually("views.open", |s| {
            (!s.calls("views.open").is_empty()).then_some(())
        })
        .await;
    socket.drop_conn(a);
    socket.deliver(b, &id, "slash_commands", payload, 1);
    eventually("the redelivery to find the envelope busy", || async {
        let busy = requests(&app, "socket", "busy").await;
        if busy == 1 { Ok(()) } else { Err(busy) }
    })
    .await;
    gate.notify_one();
    let acks = {
        socket.ack(&id).await;
        socket.acks_of(&id)
    };
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].conn, b, "acked on the connection that is alive");
    assert_eq!(app.slack.calls("views.open").len(), 1, "one modal, not two");

    // A command acted on, whose ack Slack did not get: the redelivery is
    // answered with the same reply, and nothing is written twice.
    socket
        .interaction(
            b,
            declare_submission(DECLARER, "V-1", &DeclareInput::default()),
        )
        .await;
    let room = wait_room(&app, 1).await;
    let payload = command_payload(DECLARER, &room, "note written once");
    let id = socket.envelope(b, "slash_commands", payload.clone());
    let first = socket.ack(&id).await;
    socket.deliver(b, &id, "slash_commands", payload, 1);
    let again = socket
        .wait_until("the second ack", |f| f.acks_of(&id).get(1).cloned())
        .await;
    assert_eq!(again.body, first.body, "the same answer");
    assert_eq!(first.body["payload"]["response_type"], "ephemeral");
    assert_eq!(notes(&app).await, ["written once"]);

    // The dead connection is replaced after a backoff on the app's clock.
    move_clock_to(&app, next_reconnect(&app).await);
    let open = socket.wait_open(2).await;
    wait_sockets(&app, 2).await;

    // An event Slack retries (a new envelope, the same event_id) on the
    // other connection is recorded once.
    let ts = app.slack.user_posts(
        &room,
        "UCAROL",
        "p99 is back to normal",
        None,
        app.clock.now(),
    );
    let tag = reaction("reaction_added", "EvTwice", DECLARER, "pushpin", &room, &ts);
    socket.event(open[0], tag.clone()).await;
    let again = socket.envelope(open[1], "events_api", tag);
    assert_eq!(socket.ack(&again).await.body, json!({"envelope_id": again}));
    app.wait_idle().await;
    let tagged = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.slack_ts.as_ref().map(|x| x.as_str()) == Some(ts.as_str()))
        .count();
    assert_eq!(tagged, 1);
}

#[tokio::test]
async fn apps_connections_open_failing_twice_then_succeeding_connects() {
    let (app, socket) = socket_app_with(1, "", |slack| {
        slack.fail_next("apps.connections.open", Failure::Status500, 1);
        slack.fail_next("apps.connections.open", Failure::Api("internal_error"), 1);
    })
    .await;
    app.slack
        .eventually("the first attempt", |s| {
            (!s.calls("apps.connections.open").is_empty()).then_some(())
        })
        .await;
    assert_eq!(
        get(&app, "/readyz").await,
        (503, "not ready".to_string()),
        "no socket yet"
    );
    // Backoff sleeps on the app's clock: move it to each retry until the
    // third try connects.
    eventually("a connection", || async {
        if socket.open_connections().is_empty() {
            if let Some(at) = scheduled_reconnect(&app) {
                move_clock_to(&app, at);
            }
            Err(app.slack.calls("apps.connections.open").len())
        } else {
            Ok(())
        }
    })
    .await;
    wait_sockets(&app, 1).await;
    assert_eq!(app.slack.calls("apps.connections.open").len(), 3);
    assert_eq!(get(&app, "/readyz").await, (200, "ready".to_string()));
}

#[tokio::test]
async fn acks_come_while_the_web_api_is_slow() {
    let (app, socket) = socket_app(1).await;
    // views.open takes far longer than Slack's 3 s; the command's answer
    // must not wait for it (it is bounded), nor hold back other envelopes.
    app.slack
        .fail_next("views.open", Failure::Slow(Duration::from_secs(8)), 1);
    let slow = socket.envelope(
        0,
        "slash_commands",
        command_payload(DECLARER, ORIGIN, "declare Payments fail"),
    );
    app.slack
        .eventually("views.open", |s| {
            (!s.calls("views.open").is_empty()).then_some(())
        })
        .await;
    let quick = socket.envelope(
        0,
        "slash_commands",
        command_payload(DECLARER, ORIGIN, "list"),
    );
    let quick_ack = socket.ack(&quick).await;
    let slow_ack = socket.ack(&slow).await;
    assert!(
        quick_ack.at < slow_ack.at,
        "a slow envelope does not hold back the next one's ack"
    );
    assert_eq!(quick_ack.body["payload"]["response_type"], "ephemeral");
    assert_eq!(
        slow_ack.body["payload"]["response_type"], "ephemeral",
        "the person is told the form could not open: {}",
        slow_ack.body
    );
    // Events are acked once recorded; their Web API work is a job.
    app.slack
        .fail_next("chat.postMessage", Failure::Slow(Duration::from_secs(8)), 5);
    let ev = socket.envelope(
        0,
        "events_api",
        reaction(
            "reaction_added",
            "EvSlow",
            DECLARER,
            "pushpin",
            ORIGIN,
            "1.2",
        ),
    );
    assert_eq!(socket.ack(&ev).await.body, json!({"envelope_id": ev}));
}

/// The `envelope_id` guard as both backends must keep it.
async fn envelope_claims(store: warroom::store::DynStore) {
    use warroom::store::EnvelopeClaim::*;
    store.migrate().await.unwrap();
    let t = start_time();
    let s = |secs: i64| chrono::Duration::seconds(secs);
    let lease = s(15);
    let claim = |id: &'static str, at: chrono::DateTime<chrono::Utc>| {
        let store = store.clone();
        async move { store.claim_envelope(id, at, at - lease).await.unwrap() }
    };

    assert_eq!(claim("e1", t).await, Claimed);
    assert_eq!(claim("e1", t + s(1)).await, Busy, "someone acts on it");
    store
        .finish_envelope("e1", Some(r#"{"text":"hi"}"#), t + s(1))
        .await
        .unwrap();
    assert_eq!(
        claim("e1", t + s(60)).await,
        Done(Some(r#"{"text":"hi"}"#.to_string())),
        "answered as before, however late"
    );
    assert_eq!(claim("e2", t).await, Claimed);
    store.finish_envelope("e2", None, t).await.unwrap();
    assert_eq!(claim("e2", t).await, Done(None));

    // Work that failed is released and can be tried again.
    assert_eq!(claim("e3", t).await, Claimed);
    store.release_envelope("e3").await.unwrap();
    assert_eq!(claim("e3", t).await, Claimed);

    // A claim whose process died is taken over once its lease ran out.
    assert_eq!(claim("e4", t).await, Claimed);
    assert_eq!(claim("e4", t + s(10)).await, Busy);
    assert_eq!(claim("e4", t + s(20)).await, Claimed);
    assert_eq!(claim("e4", t + s(21)).await, Busy);

    // Of many deliveries at once, one acts.
    let racers: Vec<_> = (0..8).map(|_| tokio::spawn(claim("e5", t))).collect();
    let mut won = 0;
    for r in racers {
        if r.await.unwrap() == Claimed {
            won += 1;
        }
    }
    assert_eq!(won, 1);

    // Forgotten with the event ids.
    store.prune(t + s(2 * 86_400), t).await.unwrap();
    assert_eq!(claim("e1", t + s(2 * 86_400)).await, Claimed);
}

crate::on_both_backends!(envelope_claims);

#[tokio::test]
async fn a_graceful_stop_closes_the_sockets_and_a_restart_reconnects() {
    let (app, socket) = socket_app(2).await;
    let app = app.restart(true).await;
    let before = socket.connections();
    assert!(
        before[..2].iter().all(|c| !c.open && c.closed_by_app),
        "the stopped process closed its sockets with a Close frame: {before:?}"
    );
    socket.wait_open(2).await;
    wait_sockets(&app, 2).await;
    assert_eq!(app.slack.calls("apps.connections.open").len(), 4);
}

#[tokio::test]
async fn link_disabled_is_retried_slowly_until_slack_takes_the_app_again() {
    let (app, socket) = socket_app(1).await;
    socket.disconnect(0, "link_disabled");
    socket.drop_conn(0);
    wait_sockets(&app, 0).await;
    assert_eq!(get(&app, "/readyz").await.0, 503);
    // Retried after the longest backoff (half a minute to a minute), on
    // the app's clock: nothing at 29 s, the retry by 60 s.
    let at = next_reconnect(&app).await;
    let wait = at - app.clock.now();
    assert!(
        wait >= chrono::Duration::seconds(30) && wait <= chrono::Duration::seconds(60),
        "{wait}"
    );
    app.clock.advance(Duration::from_secs(29));
    assert_eq!(next_reconnect(&app).await, at, "still waiting");
    assert_eq!(app.slack.calls("apps.connections.open").len(), 1);
    app.clock.advance(Duration::from_secs(31));
    socket.wait_open(1).await;
    wait_sockets(&app, 1).await;
    assert_eq!(get(&app, "/readyz").await.0, 200);
}

#[tokio::test]
async fn a_connection_silent_for_90_seconds_is_replaced() {
    use warroom::transport::socket::{IDLE_LIMIT, PING_EVERY};
    assert_eq!((PING_EVERY.as_secs(), IDLE_LIMIT.as_secs()), (30, 90));
    let (app, socket) = socket_app(1).await;
    // The app pings as it connects; the fake still answers that one.
    socket
        .wait_until("the app's first ping", |f| {
            (f.connections()[0].pings >= 1).then_some(())
        })
        .await;
    // Then Slack's host goes silent: the TCP connection stays up, but no
    // frame comes, not even a pong.
    socket.silence(0).await;

    // A minute of silence: the app pings again (it still takes the
    // connection for alive) and keeps it.
    app.clock.advance(Duration::from_secs(60));
    socket
        .wait_until("a ping nobody answers", |f| {
            (f.connections()[0].unanswered_bytes > 0).then_some(())
        })
        .await;
    assert!(socket.connections()[0].open);
    assert_eq!(app.slack.calls("apps.connections.open").len(), 1);
    assert_eq!(app.ctx.readiness.sockets(), 1);

    // More than 90 s without a frame (counted from the last one the app
    // may have had, at the latest a minute in): taken for dead, closed,
    // and replaced through apps.connections.open after a backoff on the
    // app's clock.
    app.clock.advance(Duration::from_secs(91));
    let closed = socket
        .wait_until("the app to close the silent connection", |f| {
            let c = &f.connections()[0];
            (!c.open).then(|| c.clone())
        })
        .await;
    assert!(closed.silent);
    move_clock_to(&app, next_reconnect(&app).await);
    assert_eq!(socket.wait_open(1).await, [1], "a new connection");
    wait_sockets(&app, 1).await;
    assert_eq!(app.slack.calls("apps.connections.open").len(), 2);
    assert_eq!(get(&app, "/readyz").await.0, 200);
    // And it serves.
    let answer = socket.command(1, DECLARER, ORIGIN, "list").await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
}

#[tokio::test]
async fn an_envelope_redelivered_while_its_first_delivery_runs_is_acted_on_once_and_answered_alike()
{
    let (app, socket) = socket_app(2).await;
    let (a, b) = (0, 1);
    // The first delivery's work (opening the declare form) lasts until the
    // test lets Slack answer.
    let gate = Arc::new(tokio::sync::Notify::new());
    app.slack
        .fail_next("views.open", Failure::Until(gate.clone()), 1);
    let payload = command_payload(DECLARER, ORIGIN, "declare Payments fail");
    let id = socket.envelope(a, "slash_commands", payload.clone());
    app.slack
        .eventually("views.open", |s| {
            (!s.calls("views.open").is_empty()).then_some(())
        })
        .await;
    // No ack yet, so Slack delivers the envelope again, on the other
    // connection, which stays up: that delivery finds the envelope claimed
    // and still being acted on, and waits for the first one's reply.
    socket.deliver(b, &id, "slash_commands", payload, 1);
    eventually("the redelivery to find the envelope busy", || async {
        let busy = requests(&app, "socket", "busy").await;
        if busy == 1 { Ok(()) } else { Err(busy) }
    })
    .await;
    assert!(
        socket.acks_of(&id).is_empty(),
        "neither is answered before the work is done"
    );

    gate.notify_one();
    let mut acks = socket
        .wait_until("an ack on each connection", |f| {
            let acks = f.acks_of(&id);
            (acks.len() == 2).then_some(acks)
        })
        .await;
    acks.sort_by_key(|ack| ack.conn);
    assert_eq!((acks[0].conn, acks[1].conn), (a, b));
    assert_eq!(acks[1].body, acks[0].body, "the same answer");
    assert_eq!(acks[0].body, json!({"envelope_id": id}), "the form opened");
    assert_eq!(app.slack.calls("views.open").len(), 1, "one form, not two");
    assert_eq!(
        requests(&app, "socket", "duplicate").await,
        1,
        "the redelivery answered with the first one's reply"
    );
    assert_eq!(requests(&app, "commands", "ok").await, 1, "acted on once");
}

/// A message over 1 MiB closes the connection it came on (nothing of it is
/// acted on), and the app connects again.
#[tokio::test]
async fn a_message_over_a_mebibyte_closes_its_connection() {
    let (app, socket) = socket_app(1).await;
    let huge = command_payload(
        DECLARER,
        ORIGIN,
        &format!("note {}", "x".repeat(1024 * 1024)),
    );
    let id = socket.envelope(0, "slash_commands", huge);
    socket
        .wait_until("the app to close the connection", |f| {
            (!f.connections()[0].open).then_some(())
        })
        .await;
    assert!(socket.acks_of(&id).is_empty());
    move_clock_to(&app, next_reconnect(&app).await);
    assert_eq!(socket.wait_open(1).await, [1], "a new connection");
    wait_sockets(&app, 1).await;
    let answer = socket.command(1, DECLARER, ORIGIN, "help").await;
    assert!(answer.to_string().contains("/incident"), "{answer}");
}

/// At most 64 envelopes are worked on at once on one connection: one more
/// is left unacked (Slack delivers it again) rather than queued.
#[tokio::test]
async fn a_connection_works_on_at_most_64_envelopes_at_once() {
    let (app, socket) = socket_app(1).await;
    let gate = Arc::new(tokio::sync::Notify::new());
    app.slack
        .fail_next("views.open", Failure::Until(gate.clone()), 64);
    let ids: Vec<String> = (0..64)
        .map(|n| {
            socket.envelope(
                0,
                "slash_commands",
                command_payload(DECLARER, ORIGIN, &format!("declare Outage {n}")),
            )
        })
        .collect();
    app.slack
        .eventually("64 forms being opened", |s| {
            (s.calls("views.open").len() == 64).then_some(())
        })
        .await;
    let extra = socket.envelope(
        0,
        "slash_commands",
        command_payload(DECLARER, ORIGIN, "declare One too many"),
    );
    eventually("the 65th to be refused", || async {
        let busy = requests(&app, "socket", "busy").await;
        if busy == 1 { Ok(()) } else { Err(busy) }
    })
    .await;
    gate.notify_waiters();
    for id in &ids {
        socket.ack(id).await;
    }
    assert!(
        socket.acks_of(&extra).is_empty(),
        "left for Slack to deliver again"
    );
}

/// Work that takes longer than `slack.socket_envelope_timeout` is dropped
/// unacked and its claim released: Slack's redelivery acts on it.
#[tokio::test]
async fn an_envelope_whose_work_runs_out_of_time_is_released_unacked() {
    let slack = FakeSlack::start().await;
    let socket = FakeSocket::start().await;
    slack.set_socket_url(&socket.url);
    let app = TestApp::spawn(Setup {
        env: vec![
            ("SLACK_APP_TOKEN", APP_TOKEN.to_string()),
            ("SLACK_SIGNING_SECRET", String::new()),
            ("WARROOM_SLACK__SOCKET_CONNECTIONS", "1".to_string()),
            (
                "WARROOM_SLACK__SOCKET_ENVELOPE_TIMEOUT",
                "300ms".to_string(),
            ),
        ],
        replica_of: Some((slack, ManualClock::new(start_time()))),
        ..Setup::default()
    })
    .await;
    socket.wait_open(1).await;
    wait_sockets(&app, 1).await;
    let gate = Arc::new(tokio::sync::Notify::new());
    app.slack
        .fail_next("views.open", Failure::Until(gate.clone()), 1);
    let payload = command_payload(DECLARER, ORIGIN, "declare Slow Slack");
    let id = socket.envelope(0, "slash_commands", payload.clone());
    eventually("the work to run out of time", || async {
        let timeouts = requests(&app, "socket", "timeout").await;
        if timeouts == 1 { Ok(()) } else { Err(timeouts) }
    })
    .await;
    gate.notify_waiters();
    assert!(socket.acks_of(&id).is_empty(), "not acked");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM socket_envelopes").await,
        0,
        "the claim released"
    );
    socket.deliver(0, &id, "slash_commands", payload, 1);
    let ack = socket.ack(&id).await;
    assert_eq!(ack.body, json!({"envelope_id": id}), "the form opened");
    assert_eq!(app.slack.calls("views.open").len(), 2);
}

/// Slack's other doors arrive over the socket as over HTTP: a message
/// shortcut (an `interactive` envelope) opens its form, and the Workflow
/// Builder step (an `events_api` envelope) declares once however often it
/// is delivered.
#[tokio::test]
async fn shortcuts_and_the_workflow_step_work_over_the_socket() {
    let (app, socket) = socket_app_with(1, "announce_channel = \"CINCIDENTS\"\n", |slack| {
        slack.add_channel("CINCIDENTS", "incidents", true)
    })
    .await;
    socket.wait_open(1).await;
    wait_sockets(&app, 1).await;
    let conn = socket.open_connections()[0];
    let shortcut = json!({
        "type": "message_action", "callback_id": "declare_from_message",
        "trigger_id": "1.2.3", "team": {"id": "T1"}, "user": {"id": DECLARER},
        "channel": {"id": ORIGIN}, "message_ts": "1795400000.000100",
        "message": {"type": "message", "user": "UCAROL", "ts": "1795400000.000100", "text": "Logins fail"}
    });
    socket.interaction(conn, shortcut).await;
    let view = app
        .slack
        .calls("views.open")
        .pop()
        .expect("the form opened");
    assert!(
        view.body.to_string().contains("Logins fail"),
        "{}",
        view.body
    );

    // The step, delivered twice: one incident, one answer with its outputs.
    let event = json!({
        "type": "event_callback", "event_id": "Ev-sock-step", "event_time": 1_700_000_000,
        "event": {
            "type": "function_executed",
            "function": {"callback_id": "declare_incident"},
            "function_execution_id": "Fx-sock",
            "inputs": {"title": "Logins fail", "declarer": DECLARER}
        }
    });
    socket.event(conn, event.clone()).await;
    socket.event(conn, event).await;
    let room = app.wait_room(1).await;
    app.wait_idle().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 1);
    let done = app.slack.calls("functions.completeSuccess");
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].body["outputs"]["war_room"], json!(room));
    assert!(app.slack.calls("functions.completeError").is_empty());
}
