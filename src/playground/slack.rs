//! A stateful fake of Slack's Web API on 127.0.0.1: records every call and
//! answers like Slack does (fresh channel ids, `name_taken`, stored
//! messages), with failures on demand (500, 429 + Retry-After, API errors).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One recorded Web API call.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub body: Value,
    pub auth: Option<String>,
}

#[derive(Clone, Debug)]
pub enum Failure {
    /// HTTP 500; Slack did nothing.
    Status500,
    /// HTTP 429 with `Retry-After: secs`; Slack did nothing.
    RateLimited(u64),
    /// `{"ok": false, "error": code}`.
    Api(&'static str),
    /// Answers normally, but only after this long.
    Slow(Duration),
    /// Does what was asked, then answers 500: the caller cannot know it
    /// worked (a timeout after Slack acted).
    LostResponse,
    /// Does what was asked, then never answers: the caller can be killed
    /// while the call is in flight, after Slack acted.
    Hang,
    /// Does what was asked at once, but answers only after this long: a
    /// caller with a shorter timeout gives up after Slack acted.
    LateAnswer(Duration),
    /// Waits until the test calls `notify_one` on this, then answers
    /// normally: a call that lasts exactly as long as the test needs.
    Until(std::sync::Arc<tokio::sync::Notify>),
    /// Does what was asked, then answers `{"ok": true}` and nothing else:
    /// Slack's success, in a form the caller cannot read its ids from.
    Garbled,
}

#[derive(Clone, Debug)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub creator: String,
    pub topic: String,
    pub members: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Message {
    pub channel: String,
    pub ts: String,
    pub body: Value,
    pub edits: usize,
}

/// An uploaded file: its bytes, title, and the channel it was shared in
/// once the upload was completed.
#[derive(Default)]
struct File {
    bytes: Vec<u8>,
    title: String,
    channel: Option<String>,
    /// Unix seconds (real time) when its upload began.
    created: i64,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    channels: Vec<Channel>,
    messages: Vec<Message>,
    failures: HashMap<String, VecDeque<Failure>>,
    /// Failures for calls about a channel whose name starts with a prefix:
    /// (method, prefix, failures).
    channel_failures: Vec<(String, String, VecDeque<Failure>)>,
    counter: u64,
    /// Reactions the bot added: (channel, ts, emoji).
    reactions: Vec<(String, String, String)>,
    /// Display names for users.info.
    names: HashMap<String, String>,
    /// Files by id.
    files: HashMap<String, File>,
    /// Channels someone archived.
    archived: HashSet<String>,
    /// Channels the bot was removed from (until it joins again).
    outside: HashSet<String>,
    /// Private channels: the bot cannot join them itself.
    private: HashSet<String>,
    /// What `apps.connections.open` hands out (see `fake_socket.rs`).
    socket_url: Option<String>,
    /// Answer every method in its full published shape (see
    /// [`Simulator::answer_in_full_shapes`]).
    full_shapes: bool,
    /// The scopes `auth.test` reports in `x-oauth-scopes`; `None`: all of
    /// the manifest's.
    scopes: Option<Vec<String>>,
    /// Slack's rate limits, when enforced.
    limits: Option<Arc<Limits>>,
    /// Calls answered 429 by the enforced limits (not in `calls`).
    throttled: Vec<Call>,
    /// How long every answer takes.
    latency: Duration,
}

/// Slack's published rate limits, as Slack applies them: `chat.postMessage`
/// one a second per channel with a short burst, other methods by tier per
/// workspace (Tier 2 20, Tier 3 50, Tier 4 100 a minute).
pub struct Limits {
    clock: LimitClock,
    posts: Keyed,
    tiers: [Keyed; 3],
}

type Keyed = governor::RateLimiter<
    String,
    governor::state::keyed::DashMapStateStore<String>,
    LimitClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

/// The fake's limits read the app's clock (manual in tests).
#[derive(Clone)]
struct LimitClock(crate::clock::Clock);

impl governor::clock::Clock for LimitClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        (self.0.now() - chrono::DateTime::<chrono::Utc>::UNIX_EPOCH)
            .to_std()
            .unwrap_or_default()
    }
}

impl Limits {
    fn new(clock: crate::clock::Clock) -> Limits {
        use governor::Quota;
        use std::num::NonZeroU32;
        let n = |n: u32| NonZeroU32::new(n).unwrap();
        let clock = LimitClock(clock);
        let keyed = |q: Quota| -> Keyed {
            governor::RateLimiter::new(
                q,
                governor::state::keyed::DashMapStateStore::default(),
                clock.clone(),
            )
        };
        Limits {
            posts: keyed(Quota::per_second(n(1)).allow_burst(n(4))),
            tiers: [
                keyed(Quota::per_minute(n(20))),
                keyed(Quota::per_minute(n(50))),
                keyed(Quota::per_minute(n(100))),
            ],
            clock,
        }
    }

    /// `None` when the call is allowed now, or the seconds to wait.
    fn check(&self, method: &str, body: &Value) -> Option<u64> {
        let (limiter, key) = match method {
            "chat.postMessage" => (
                &self.posts,
                body["channel"].as_str().unwrap_or_default().to_string(),
            ),
            "conversations.create" | "conversations.setTopic" | "conversations.list" => {
                (&self.tiers[0], method.to_string())
            }
            "conversations.invite"
            | "conversations.join"
            | "conversations.history"
            | "conversations.replies"
            | "chat.update"
            | "reactions.add"
            | "files.list" => (&self.tiers[1], method.to_string()),
            _ => (&self.tiers[2], method.to_string()),
        };
        limiter.check_key(&key).err().map(|not_until| {
            let now = governor::clock::Clock::now(&self.clock);
            not_until.wait_time_from(now).as_secs_f64().ceil().max(1.0) as u64
        })
    }
}

#[derive(Clone, Default)]
pub struct Simulator {
    inner: Arc<Mutex<Inner>>,
    pub base_url: String,
}

pub const BOT_USER: &str = "UBOTWARROOM";
/// The app-level token Socket Mode tests use.
pub const APP_TOKEN: &str = "xapp-1-A1-test-token";

impl Simulator {
    /// Serves the simulated Web API on a free port of 127.0.0.1 (for tests:
    /// panics when no port is free).
    pub async fn start() -> Simulator {
        match Simulator::bind().await {
            Ok(simulator) => simulator,
            Err(e) => panic!("cannot start the Slack simulator on 127.0.0.1: {e}"),
        }
    }

    /// Serves the simulated Web API (`/api/{method}`, and the upload URLs
    /// it hands out) on a free port of 127.0.0.1 until the process ends.
    pub async fn bind() -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let fake = Simulator {
            base_url: format!("http://{addr}/api"),
            ..Simulator::default()
        };
        let app = Router::new()
            .route("/api/{method}", any(handle))
            .route("/upload/{id}", axum::routing::post(upload))
            .with_state(fake.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the Slack simulator stopped serving");
            }
        });
        Ok(fake)
    }

    /// From now on every successful answer has the full field set Slack
    /// publishes for its method (`tests/fixtures/slack-shapes/api/`), with
    /// only the fake's own values (ids, ts, names, urls…) laid over it:
    /// every field the bot does not use is there too, placeholders included.
    pub fn answer_in_full_shapes(&self) {
        self.inner.lock().unwrap().full_shapes = true;
    }

    /// From now on, answers 429 (with `Retry-After`) to calls over Slack's
    /// published rate limits, on `clock` (the app's).
    pub fn enforce_limits(&self, clock: crate::clock::Clock) {
        self.inner.lock().unwrap().limits = Some(Arc::new(Limits::new(clock)));
    }

    /// Calls the enforced limits answered with 429.
    pub fn throttled(&self) -> Vec<Call> {
        self.inner.lock().unwrap().throttled.clone()
    }

    /// Every answer takes `latency` (real time) from now on.
    pub fn set_latency(&self, latency: Duration) {
        self.inner.lock().unwrap().latency = latency;
    }

    /// The next `times` calls to `method` fail with `failure`.
    pub fn fail_next(&self, method: &str, failure: Failure, times: usize) {
        let mut inner = self.inner.lock().unwrap();
        let queue = inner.failures.entry(method.to_string()).or_default();
        for _ in 0..times {
            queue.push_back(failure.clone());
        }
    }

    /// The next `times` calls to `method` about a channel whose name starts
    /// with `prefix` (say the war room, `inc-1-`, before it exists) fail
    /// with `failure`; calls about other channels are not affected.
    pub fn fail_next_in(&self, method: &str, prefix: &str, failure: Failure, times: usize) {
        let failures = std::iter::repeat_n(failure, times).collect();
        self.inner.lock().unwrap().channel_failures.push((
            method.to_string(),
            prefix.to_string(),
            failures,
        ));
    }

    /// `apps.connections.open` answers with this WebSocket URL.
    pub fn set_socket_url(&self, url: &str) {
        self.inner.lock().unwrap().socket_url = Some(url.to_string());
    }

    /// Someone archives `channel`: posting, editing, topics and invites
    /// there answer `is_archived`.
    pub fn archive(&self, channel: &str) {
        self.inner
            .lock()
            .unwrap()
            .archived
            .insert(channel.to_string());
    }

    /// Someone removes the bot from `channel`: posting and editing there
    /// answer `not_in_channel` until it joins again.
    pub fn remove_bot(&self, channel: &str) {
        self.inner
            .lock()
            .unwrap()
            .outside
            .insert(channel.to_string());
    }

    /// `channel` is private: `conversations.join` is refused.
    pub fn make_private(&self, channel: &str) {
        self.inner
            .lock()
            .unwrap()
            .private
            .insert(channel.to_string());
    }

    /// Whether `channel` is private (created with `is_private`, or made so).
    pub fn is_private(&self, channel: &str) -> bool {
        self.inner.lock().unwrap().private.contains(channel)
    }

    /// The bot token has only these scopes (`auth.test`'s `x-oauth-scopes`).
    pub fn set_scopes(&self, scopes: &[&str]) {
        self.inner.lock().unwrap().scopes = Some(scopes.iter().map(|s| s.to_string()).collect());
    }

    /// A channel someone made by hand, with the bot in it or not.
    pub fn add_channel(&self, id: &str, name: &str, bot_is_member: bool) {
        let members = if bot_is_member {
            vec![BOT_USER.to_string()]
        } else {
            vec![]
        };
        self.inner.lock().unwrap().channels.push(Channel {
            id: id.to_string(),
            name: name.to_string(),
            creator: "UHUMAN".to_string(),
            topic: String::new(),
            members,
        });
    }

    /// Makes a channel name taken, as if someone created it by hand.
    pub fn take_name(&self, name: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        let id = format!("CTAKEN{}", inner.counter);
        inner.channels.push(Channel {
            id,
            name: name.to_string(),
            creator: "UHUMAN".to_string(),
            topic: String::new(),
            members: vec![],
        });
    }

    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.inner
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// How many calls of `method` were about `channel`.
    pub fn calls_in(&self, method: &str, channel: &str) -> usize {
        self.calls(method)
            .iter()
            .filter(|c| c.body["channel"] == channel)
            .count()
    }

    pub fn all_calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    pub fn channels(&self) -> Vec<Channel> {
        self.inner.lock().unwrap().channels.clone()
    }

    pub fn channel_named_like(&self, prefix: &str) -> Vec<Channel> {
        self.channels()
            .into_iter()
            .filter(|c| c.name.starts_with(prefix))
            .collect()
    }

    pub fn channel(&self, id: &str) -> Option<Channel> {
        self.channels().into_iter().find(|c| c.id == id)
    }

    pub fn messages_in(&self, channel: &str) -> Vec<Message> {
        self.inner
            .lock()
            .unwrap()
            .messages
            .iter()
            .filter(|m| m.channel == channel)
            .cloned()
            .collect()
    }

    /// A person posts `text` in `channel` (in a thread when `thread_ts` is
    /// given) at `at`; returns the message's ts.
    pub fn user_posts(
        &self,
        channel: &str,
        user: &str,
        text: &str,
        thread_ts: Option<&str>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        let ts = format!("{}.{:06}", at.timestamp(), inner.counter);
        let mut body = json!({"type": "message", "user": user, "text": text, "ts": ts});
        if let Some(parent) = thread_ts {
            body["thread_ts"] = json!(parent);
        }
        inner.messages.push(Message {
            channel: channel.to_string(),
            ts: ts.clone(),
            body,
            edits: 0,
        });
        ts
    }

    /// Someone edits a message (the fake keeps the new text for history).
    pub fn edit(&self, channel: &str, ts: &str, text: &str) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(m) = inner
            .messages
            .iter_mut()
            .find(|m| m.channel == channel && m.ts == ts)
        {
            m.body["text"] = json!(text);
            m.edits += 1;
        }
    }

    /// Someone deletes a message.
    pub fn delete(&self, channel: &str, ts: &str) {
        self.inner
            .lock()
            .unwrap()
            .messages
            .retain(|m| !(m.channel == channel && m.ts == ts));
    }

    pub fn set_name(&self, user: &str, display_name: &str) {
        self.inner
            .lock()
            .unwrap()
            .names
            .insert(user.to_string(), display_name.to_string());
    }

    /// Emoji the bot added to a message.
    pub fn bot_reactions(&self, channel: &str, ts: &str) -> Vec<String> {
        self.inner
            .lock()
            .unwrap()
            .reactions
            .iter()
            .filter(|(c, t, _)| c == channel && t == ts)
            .map(|(_, _, e)| e.clone())
            .collect()
    }

    /// Files shared in `channel`: (title, content).
    pub fn files_in(&self, channel: &str) -> Vec<(String, String)> {
        let inner = self.inner.lock().unwrap();
        let mut ids: Vec<&String> = inner.files.keys().collect();
        ids.sort();
        ids.into_iter()
            .map(|id| &inner.files[id])
            .filter(|f| f.channel.as_deref() == Some(channel))
            .map(|f| {
                (
                    f.title.clone(),
                    String::from_utf8_lossy(&f.bytes).to_string(),
                )
            })
            .collect()
    }

    /// Polls until `check` holds (the app works in the background); panics
    /// with `what` after a few seconds.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        mut check: impl FnMut(&Simulator) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(v) = check(self) {
                return v;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; calls: {:#?}",
                    self.all_calls()
                        .iter()
                        .map(|c| &c.method)
                        .collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// HTTP 429 with `Retry-After: secs`, as Slack answers.
fn rate_limited(secs: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            ("retry-after", secs.to_string()),
            ("content-type", "application/json".to_string()),
        ],
        r#"{"ok":false,"error":"ratelimited"}"#,
    )
        .into_response()
}

fn ok(mut v: Value) -> Response {
    v["ok"] = json!(true);
    Json(v).into_response()
}

fn err(code: &str) -> Response {
    Json(json!({"ok": false, "error": code})).into_response()
}

fn channel_json(c: &Channel) -> Value {
    channel_json_private(c, false)
}

fn channel_json_private(c: &Channel, private: bool) -> Value {
    json!({
        "id": c.id, "name": c.name, "created": 1_700_000_000, "creator": c.creator,
        "is_channel": !private, "is_group": private, "is_private": private, "is_archived": false,
        "topic": {"value": c.topic, "creator": BOT_USER, "last_set": 0}
    })
}

/// The upload URL Slack hands out: the bytes of one file.
async fn upload(
    State(fake): State<Simulator>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let mut inner = fake.inner.lock().unwrap();
    inner.calls.push(Call {
        method: "upload".to_string(),
        body: json!({"id": id, "length": body.len()}),
        auth: None,
    });
    match inner.files.get_mut(&id) {
        Some(file) => {
            file.bytes = body.to_vec();
            (StatusCode::OK, format!("OK - {}", body.len())).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such upload").into_response(),
    }
}

fn history_json(m: &Message) -> Value {
    json!({
        "type": "message",
        "ts": m.ts,
        "text": m.body.get("text").cloned().unwrap_or(json!("")),
        "user": m.body.get("user").cloned().unwrap_or(json!(BOT_USER)),
        "thread_ts": m.body.get("thread_ts"),
        "metadata": m.body.get("metadata"),
    })
}

/// `oldest <= ts <= latest`, with Slack's `inclusive` flag (fixed-width ts).
fn in_range(ts: &str, q: &Value) -> bool {
    let inclusive = q.get("inclusive").and_then(Value::as_str) == Some("true");
    let ok = |bound: Option<&str>, after: bool| match bound {
        None => true,
        Some(b) if after => ts > b || (inclusive && ts == b),
        Some(b) => ts < b || (inclusive && ts == b),
    };
    ok(q.get("oldest").and_then(Value::as_str), true)
        && ok(q.get("latest").and_then(Value::as_str), false)
}

async fn handle(
    State(fake): State<Simulator>,
    Path(method): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    // slack-morphism sends JSON bodies for POST and query strings for GET.
    let body: Value = match query.filter(|q| !q.is_empty()) {
        Some(q) => {
            json!(serde_urlencoded::from_str::<HashMap<String, String>>(&q).unwrap_or_default())
        }
        None => serde_json::from_slice(&body)
            .or_else(|_| {
                serde_urlencoded::from_bytes::<HashMap<String, String>>(&body).map(|m| json!(m))
            })
            .unwrap_or(Value::Null),
    };
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (failure, latency) = {
        let mut inner = fake.inner.lock().unwrap();
        let call = Call {
            method: method.clone(),
            body: body.clone(),
            auth: auth.clone(),
        };
        if let Some(wait) = inner.limits.clone().and_then(|l| l.check(&method, &body)) {
            inner.throttled.push(call);
            return rate_limited(wait);
        }
        inner.calls.push(call);
        let name = body["channel"].as_str().and_then(|id| {
            inner
                .channels
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.name.clone())
        });
        let in_channel = name.and_then(|name| {
            inner
                .channel_failures
                .iter_mut()
                .find(|(m, prefix, f)| *m == method && name.starts_with(prefix) && !f.is_empty())
                .and_then(|(_, _, f)| f.pop_front())
        });
        (
            in_channel.or_else(|| {
                inner
                    .failures
                    .get_mut(&method)
                    .and_then(VecDeque::pop_front)
            }),
            inner.latency,
        )
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // Only apps.connections.open takes the app-level token.
    let token = if method == "apps.connections.open" {
        APP_TOKEN
    } else {
        "xoxb-test-token"
    };
    if auth.as_deref() != Some(format!("Bearer {token}").as_str()) {
        return err("not_authed");
    }
    if let Some(Failure::Slow(d)) = failure {
        tokio::time::sleep(d).await;
    }
    if let Some(Failure::Until(gate)) = &failure {
        gate.notified().await;
    }
    let hang = matches!(failure, Some(Failure::Hang));
    let garbled = matches!(failure, Some(Failure::Garbled));
    let full_shapes = fake.inner.lock().unwrap().full_shapes;
    let late = match failure {
        Some(Failure::LateAnswer(d)) => Some(d),
        _ => None,
    };
    let response = respond(&fake, method.clone(), body, failure);
    let response = if garbled || full_shapes {
        reshape(&method, response, garbled).await
    } else {
        response
    };
    if hang {
        std::future::pending::<()>().await;
    }
    if let Some(d) = late {
        tokio::time::sleep(d).await;
    }
    response
}

/// What Slack does and answers, once any delay is over (synchronous, so the
/// lock on the fake's state is never held across an await).
fn respond(fake: &Simulator, method: String, body: Value, failure: Option<Failure>) -> Response {
    let lose_response = matches!(failure, Some(Failure::LostResponse));
    let mut inner = fake.inner.lock().unwrap();
    // Refusals answer without doing anything; the other failures only
    // change when or whether the answer arrives.
    let refusal = match failure {
        Some(Failure::Status500) => {
            Some((StatusCode::INTERNAL_SERVER_ERROR, "upstream trouble").into_response())
        }
        Some(Failure::RateLimited(secs)) => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("retry-after", secs.to_string()),
                    ("content-type", "application/json".to_string()),
                ],
                json!({"ok": false, "error": "ratelimited"}).to_string(),
            )
                .into_response(),
        ),
        Some(Failure::Api(code)) => Some(err(code)),
        _ => None,
    };
    if let Some(refusal) = refusal {
        return refusal;
    }
    inner.counter += 1;
    let n = inner.counter;
    let s = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let target = s("channel");
    let writes = matches!(
        method.as_str(),
        "chat.postMessage"
            | "chat.update"
            | "chat.postEphemeral"
            | "conversations.setTopic"
            | "conversations.invite"
            | "conversations.join"
            | "reactions.add"
    );
    if writes && inner.archived.contains(&target) {
        return err("is_archived");
    }
    if method == "conversations.join" && inner.private.contains(&target) {
        return err("method_not_supported_for_channel_type");
    }
    let needs_member = writes && !matches!(method.as_str(), "conversations.join");
    if needs_member && inner.outside.contains(&target) {
        return err("not_in_channel");
    }
    if method == "conversations.join" {
        inner.outside.remove(&target);
    }
    let response = match method.as_str() {
        "auth.test" => {
            // Slack lists the token's scopes in a response header.
            let scopes = match &inner.scopes {
                Some(s) => s.join(","),
                None => crate::slack::probe::BOT_SCOPES.join(","),
            };
            let mut response = ok(
                json!({"user_id": BOT_USER, "user": "warroom", "team_id": "T1", "team": "Acme", "url": "https://acme.slack.com/", "bot_id": "BWARROOM"}),
            );
            if let Ok(v) = scopes.parse() {
                response.headers_mut().insert("x-oauth-scopes", v);
            }
            response
        }
        "conversations.info" => {
            let id = s("channel");
            let Some(c) = inner.channels.iter().find(|c| c.id == id) else {
                return err("channel_not_found");
            };
            let mut json = channel_json_private(c, inner.private.contains(&id));
            json["is_member"] =
                json!(c.members.iter().any(|m| m == BOT_USER) && !inner.outside.contains(&id));
            json["is_archived"] = json!(inner.archived.contains(&id));
            ok(json!({"channel": json}))
        }
        "conversations.list" => {
            // Like Slack: public channels unless `types` asks for private
            // ones too (which the bot sees only when it is a member).
            let types = s("types");
            let types = if types.is_empty() {
                "public_channel".to_string()
            } else {
                types
            };
            let channels: Vec<Value> = inner
                .channels
                .iter()
                .filter_map(|c| {
                    let private = inner.private.contains(&c.id);
                    let listed = if private {
                        types.contains("private_channel") && c.members.iter().any(|m| m == BOT_USER)
                    } else {
                        types.contains("public_channel")
                    };
                    listed.then(|| channel_json_private(c, private))
                })
                .collect();
            ok(json!({"channels": channels, "response_metadata": {"next_cursor": ""}}))
        }
        "views.open" => {
            if s("trigger_id").is_empty() {
                return err("invalid_trigger_id");
            }
            let mut view = body.get("view").cloned().unwrap_or(json!({}));
            view["id"] = json!(format!("V{n}"));
            view["team_id"] = json!("T1");
            view["hash"] = json!(format!("{n}.abc"));
            ok(json!({"view": view}))
        }
        "conversations.create" => {
            let name = s("name");
            let valid = !name.is_empty()
                && name.len() <= 80
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !valid {
                return err("invalid_name_specials");
            }
            if inner.channels.iter().any(|c| c.name == name) {
                return err("name_taken");
            }
            let channel = Channel {
                id: format!("C{n:06}"),
                name,
                creator: BOT_USER.to_string(),
                topic: String::new(),
                members: vec![BOT_USER.to_string()],
            };
            let private = body.get("is_private").and_then(Value::as_bool) == Some(true);
            if private {
                inner.private.insert(channel.id.clone());
            }
            let json = channel_json_private(&channel, private);
            inner.channels.push(channel);
            ok(json!({"channel": json}))
        }
        "conversations.invite" => {
            let id = s("channel");
            let users = s("users");
            let Some(c) = inner.channels.iter_mut().find(|c| c.id == id) else {
                return err("channel_not_found");
            };
            for u in users.split(',') {
                if c.members.iter().any(|m| m == u) {
                    return err("already_in_channel");
                }
                c.members.push(u.to_string());
            }
            let json = channel_json(c);
            ok(json!({"channel": json}))
        }
        "conversations.join" => {
            // Channels the fake did not create (the announcement channel,
            // say) are public channels anyone may join.
            let id = s("channel");
            let json = match inner.channels.iter_mut().find(|c| c.id == id) {
                Some(c) => {
                    if !c.members.iter().any(|m| m == BOT_USER) {
                        c.members.push(BOT_USER.to_string());
                    }
                    channel_json(c)
                }
                None if id.starts_with('C') => channel_json(&Channel {
                    id: id.clone(),
                    name: id.to_lowercase(),
                    creator: "UHUMAN".to_string(),
                    topic: String::new(),
                    members: vec![BOT_USER.to_string()],
                }),
                None => return err("channel_not_found"),
            };
            ok(json!({"channel": json}))
        }
        "conversations.setTopic" => {
            let id = s("channel");
            let Some(c) = inner.channels.iter_mut().find(|c| c.id == id) else {
                return err("channel_not_found");
            };
            c.topic = s("topic");
            let json = channel_json(c);
            ok(json!({"channel": json}))
        }
        "chat.postMessage" => {
            let channel = s("channel");
            // A user id as the channel is a direct message from the app.
            let is_channel =
                channel.starts_with('C') || channel.starts_with('G') || channel.starts_with('U');
            if !is_channel {
                return err("channel_not_found");
            }
            let ts = format!("1700000000.{n:06}");
            inner.messages.push(Message {
                channel: channel.clone(),
                ts: ts.clone(),
                body: body.clone(),
                edits: 0,
            });
            ok(
                json!({"channel": channel, "ts": ts, "message": {"ts": ts, "text": body.get("text"), "user": BOT_USER}}),
            )
        }
        "chat.update" => {
            let (channel, ts) = (s("channel"), s("ts"));
            let Some(m) = inner
                .messages
                .iter_mut()
                .find(|m| m.channel == channel && m.ts == ts)
            else {
                return err("message_not_found");
            };
            m.body = body.clone();
            m.edits += 1;
            ok(
                json!({"channel": channel, "ts": ts, "text": body.get("text"), "message": {"text": body.get("text"), "user": BOT_USER}}),
            )
        }
        "chat.postEphemeral" => ok(json!({"message_ts": format!("1700000000.{n:06}")})),
        "conversations.history" => {
            let channel = s("channel");
            let limit = body
                .get("limit")
                .and_then(Value::as_str)
                .and_then(|l| l.parse().ok())
                .unwrap_or(100usize);
            let mut found: Vec<Value> = inner
                .messages
                .iter()
                .filter(|m| {
                    m.channel == channel
                        && m.body.get("thread_ts").is_none()
                        && in_range(&m.ts, &body)
                })
                .map(history_json)
                .collect();
            found.reverse(); // newest first, as Slack answers
            found.truncate(limit);
            ok(json!({"messages": found, "has_more": false}))
        }
        "conversations.replies" => {
            let (channel, ts) = (s("channel"), s("ts"));
            let Some(target) = inner
                .messages
                .iter()
                .find(|m| m.channel == channel && m.ts == ts)
            else {
                return err("thread_not_found");
            };
            let parent = target
                .body
                .get("thread_ts")
                .and_then(Value::as_str)
                .unwrap_or(&target.ts)
                .to_string();
            let thread: Vec<&Message> = inner
                .messages
                .iter()
                .filter(|m| {
                    m.channel == channel
                        && (m.ts == parent
                            || m.body.get("thread_ts").and_then(Value::as_str)
                                == Some(parent.as_str()))
                })
                .collect();
            // Slack always answers with the parent first, then the replies in range.
            let mut found: Vec<Value> = thread
                .iter()
                .filter(|m| m.ts == parent)
                .map(|m| history_json(m))
                .collect();
            found.extend(
                thread
                    .iter()
                    .filter(|m| m.ts != parent && in_range(&m.ts, &body))
                    .map(|m| history_json(m)),
            );
            let limit = body
                .get("limit")
                .and_then(Value::as_str)
                .and_then(|l| l.parse().ok())
                .unwrap_or(1000usize);
            found.truncate(limit);
            ok(json!({"messages": found, "has_more": false}))
        }
        "files.getUploadURLExternal" => {
            let id = format!("F{n:06}");
            inner.files.insert(
                id.clone(),
                File {
                    title: s("filename"),
                    created: chrono::Utc::now().timestamp(),
                    ..File::default()
                },
            );
            let base = fake.base_url.trim_end_matches("/api").to_string();
            ok(json!({"upload_url": format!("{base}/upload/{id}"), "file_id": id}))
        }
        "files.completeUploadExternal" => {
            let channel = s("channel_id");
            let mut done = Vec::new();
            for f in body
                .get("files")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
            {
                let id = f
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let Some(file) = inner.files.get_mut(&id) else {
                    return err("file_not_found");
                };
                if let Some(title) = f.get("title").and_then(Value::as_str) {
                    file.title = title.to_string();
                }
                file.channel = Some(channel.clone());
                done.push(json!({"id": id, "title": file.title}));
            }
            ok(json!({"files": done}))
        }
        "files.list" => {
            let channel = s("channel");
            let from = s("ts_from").parse::<i64>().unwrap_or(0);
            let mut files: Vec<(&String, &File)> = inner
                .files
                .iter()
                .filter(|(_, f)| {
                    f.channel.as_deref() == Some(channel.as_str()) && f.created >= from
                })
                .collect();
            files.sort_by_key(|(id, _)| (*id).clone());
            let files: Vec<Value> = files
                .iter()
                .map(|(id, f)| json!({"id": id, "title": f.title, "created": f.created}))
                .collect();
            ok(json!({"files": files}))
        }
        "users.info" => {
            let user = s("user");
            let name = inner
                .names
                .get(&user)
                .cloned()
                .unwrap_or_else(|| user.to_lowercase());
            ok(
                json!({"user": {"id": user, "name": name, "real_name": format!("{name} (real)"), "profile": {"display_name": name, "real_name": format!("{name} (real)")}}}),
            )
        }
        "chat.getPermalink" => {
            let (channel, ts) = (s("channel"), s("message_ts"));
            ok(
                json!({"channel": channel, "permalink": format!("https://acme.slack.com/archives/{channel}/p{}", ts.replace('.', ""))}),
            )
        }
        "reactions.add" => {
            let (channel, ts, name) = (s("channel"), s("timestamp"), s("name"));
            if !inner
                .messages
                .iter()
                .any(|m| m.channel == channel && m.ts == ts)
            {
                return err("message_not_found");
            }
            if inner
                .reactions
                .iter()
                .any(|(c, t, e)| *c == channel && *t == ts && *e == name)
            {
                return err("already_reacted");
            }
            inner.reactions.push((channel, ts, name));
            ok(json!({}))
        }
        "apps.connections.open" => match &inner.socket_url {
            Some(url) => ok(json!({"url": url})),
            None => err("invalid_auth"),
        },
        _ => err("unknown_method"),
    };
    if lose_response {
        return (StatusCode::INTERNAL_SERVER_ERROR, "the answer was lost").into_response();
    }
    response
}

/// The published shape of each method's successful answer, by method name
/// (`tests/fixtures/slack-shapes/api/`, built into the binary).
macro_rules! shape {
    ($method:literal) => {
        (
            $method,
            include_str!(concat!(
                "../../tests/fixtures/slack-shapes/api/",
                $method,
                ".json"
            )),
        )
    };
}

const SHAPES: &[(&str, &str)] = &[
    shape!("auth.test"),
    shape!("chat.getPermalink"),
    shape!("chat.postEphemeral"),
    shape!("chat.postMessage"),
    shape!("chat.update"),
    shape!("conversations.create"),
    shape!("conversations.history"),
    shape!("conversations.info"),
    shape!("conversations.invite"),
    shape!("conversations.join"),
    shape!("conversations.list"),
    shape!("conversations.replies"),
    shape!("conversations.setTopic"),
    shape!("files.completeUploadExternal"),
    shape!("files.getUploadURLExternal"),
    shape!("files.list"),
    shape!("reactions.add"),
    shape!("users.info"),
    shape!("views.open"),
];

fn full_shape(method: &str) -> Option<&'static Value> {
    static PARSED: std::sync::OnceLock<HashMap<&'static str, Value>> = std::sync::OnceLock::new();
    PARSED
        .get_or_init(|| {
            SHAPES
                .iter()
                .filter_map(|(method, text)| Some((*method, serde_json::from_str(text).ok()?)))
                .collect()
        })
        .get(method)
}

/// `answer` laid over `shape`: objects field by field, each element of a
/// list over the shape's first element, anything else replaced.
pub fn overlay(shape: &Value, answer: Value) -> Value {
    match (shape, answer) {
        (Value::Object(shape), Value::Object(answer)) => {
            let mut out = shape.clone();
            for (k, v) in answer {
                let merged = match shape.get(&k) {
                    Some(s) => overlay(s, v),
                    None => v,
                };
                out.insert(k, merged);
            }
            Value::Object(out)
        }
        (Value::Array(shape), Value::Array(answer)) => match shape.first() {
            Some(first) => Value::Array(answer.into_iter().map(|v| overlay(first, v)).collect()),
            None => Value::Array(answer),
        },
        (_, answer) => answer,
    }
}

/// A successful JSON answer in its full published shape, or garbled down to
/// `{"ok": true}`; anything else (errors, 500s, 429s) as it was.
async fn reshape(method: &str, response: Response, garbled: bool) -> Response {
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let answer: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Response::from_parts(parts, axum::body::Body::from(bytes)),
    };
    if answer["ok"] != json!(true) {
        return Json(answer).into_response();
    }
    if garbled {
        return Json(json!({"ok": true})).into_response();
    }
    match full_shape(method) {
        Some(shape) => Json(overlay(shape, answer)).into_response(),
        None => Json(answer).into_response(),
    }
}
