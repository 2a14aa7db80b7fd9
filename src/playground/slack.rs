//! The Slack simulator: a stateful Web API on 127.0.0.1 that records every
//! call and answers like Slack does (fresh channel ids, `name_taken`, stored
//! messages, threads, reactions, ephemerals, views, files, direct messages).
//! The playground runs the bot against it; the tests do too.
//!
//! Only for tests (public so the integration tests and benchmarks can use
//! them): failure injection ([`Failure`], [`Simulator::fail_next`]), Slack's
//! rate limits ([`Simulator::enforce_limits`]), answers in Slack's full
//! published shapes ([`Simulator::answer_in_full_shapes`]) and the Socket
//! Mode URL ([`Simulator::set_socket_url`]).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

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

/// A message only one person sees (`chat.postEphemeral`, a command's
/// answer, what the bot posts to a `response_url`).
#[derive(Clone, Debug)]
pub struct Ephemeral {
    pub channel: String,
    /// Who sees it.
    pub user: String,
    pub ts: String,
    pub body: Value,
}

/// A modal someone has open (`views.open`, `views.push`).
#[derive(Clone, Debug)]
pub struct View {
    pub id: String,
    /// Whose screen it is on: the person the `trigger_id` was issued to
    /// (`None` for trigger ids the simulator did not hand out).
    pub user: Option<String>,
    /// The view as the bot last sent it, with its `id` and `hash`.
    pub view: Value,
}

/// An emoji reaction on a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaction {
    pub channel: String,
    pub ts: String,
    pub name: String,
    pub user: String,
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
    /// When it was shared (a message ts), once it was.
    shared_ts: Option<String>,
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
    /// Everyone's reactions, the bot's included.
    reactions: Vec<Reaction>,
    ephemerals: Vec<Ephemeral>,
    /// Open modals, oldest first (a pushed view is after its parent).
    views: Vec<View>,
    /// Trigger ids handed out, with whom they were handed to.
    triggers: HashMap<String, String>,
    /// `response_url` ids handed out: (channel, user).
    response_urls: HashMap<String, (String, String)>,
    /// The bot token the Web API accepts; `None`: [`TEST_TOKEN`].
    token: Option<String>,
    /// Where message timestamps come from; `None`: fixed, made-up times.
    clock: Option<crate::clock::Clock>,
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

#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Mutex<Inner>>,
    /// The Web API's URL (`slack.api_url`), `http://127.0.0.1:PORT/api`.
    pub base_url: String,
    /// Counts the changes someone could see (posts, edits, reactions,
    /// views…), so a page can follow them.
    changes: Arc<watch::Sender<u64>>,
}

impl Default for Simulator {
    fn default() -> Self {
        Simulator {
            inner: Arc::default(),
            base_url: String::new(),
            changes: Arc::new(watch::channel(0).0),
        }
    }
}

pub const BOT_USER: &str = "UBOTWARROOM";
/// The bot token the Web API accepts unless told another
/// ([`Simulator::set_token`]).
pub const TEST_TOKEN: &str = "xoxb-test-token";
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
            .route("/response/{id}", axum::routing::post(respond_to_url))
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

    /// Messages in `channel` (a user id: the app's direct messages to them).
    pub fn messages_in(&self, channel: &str) -> Vec<Message> {
        let channel = if is_user_id(channel) {
            dm_channel(channel)
        } else {
            channel.to_string()
        };
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
        if let Some(c) = inner.channels.iter_mut().find(|c| c.id == channel)
            && !c.members.iter().any(|m| m == user)
        {
            c.members.push(user.to_string());
        }
        drop(inner);
        self.changed();
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
        drop(inner);
        self.changed();
    }

    /// Someone deletes a message.
    pub fn delete(&self, channel: &str, ts: &str) {
        self.inner
            .lock()
            .unwrap()
            .messages
            .retain(|m| !(m.channel == channel && m.ts == ts));
        self.changed();
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
            .filter(|r| r.channel == channel && r.ts == ts && r.user == BOT_USER)
            .map(|r| r.name.clone())
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

/// What people do in the simulated workspace, and what a page shows of it.
impl Simulator {
    /// The Web API accepts only this bot token from now on.
    pub fn set_token(&self, token: &str) {
        self.inner.lock().unwrap().token = Some(token.to_string());
    }

    /// Message timestamps come from `clock` (the bot's) from now on.
    pub fn set_clock(&self, clock: crate::clock::Clock) {
        self.inner.lock().unwrap().clock = Some(clock);
    }

    /// Tells followers ([`Simulator::subscribe`]) something changed.
    pub fn changed(&self) {
        self.changes.send_modify(|v| *v += 1);
    }

    /// Follows changes anyone could see: the value counts them.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// A `trigger_id` for something `user` just did: a modal the bot opens
    /// with it appears on their screen.
    pub fn issue_trigger(&self, user: &str) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        let trigger = format!("{}.{}.playground", inner.counter, inner.ts(inner.counter));
        inner.triggers.insert(trigger.clone(), user.to_string());
        trigger
    }

    /// A `response_url` for a command `user` typed in `channel`.
    pub fn issue_response_url(&self, channel: &str, user: &str) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        let id = format!("R{:06}", inner.counter);
        inner
            .response_urls
            .insert(id.clone(), (channel.to_string(), user.to_string()));
        format!("{}/response/{id}", self.base_url.trim_end_matches("/api"))
    }

    /// Shows `body` (`text`, `blocks`) to `user` only, in `channel`.
    pub fn show_ephemeral(&self, channel: &str, user: &str, body: Value) {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        let ts = inner.ts(inner.counter);
        inner.ephemerals.push(Ephemeral {
            channel: channel.to_string(),
            user: user.to_string(),
            ts,
            body,
        });
        drop(inner);
        self.changed();
    }

    /// A command's answer made public: a message from the bot in `channel`.
    pub fn bot_says(&self, channel: &str, body: Value) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        let ts = inner.ts(inner.counter);
        inner.messages.push(Message {
            channel: channel.to_string(),
            ts: ts.clone(),
            body,
            edits: 0,
        });
        drop(inner);
        self.changed();
        ts
    }

    /// `user` reacts with `name` to a message; refused like Slack
    /// (`message_not_found`, `already_reacted`).
    pub fn react(
        &self,
        user: &str,
        channel: &str,
        ts: &str,
        name: &str,
    ) -> Result<(), &'static str> {
        let mut inner = self.inner.lock().unwrap();
        if !inner
            .messages
            .iter()
            .any(|m| m.channel == channel && m.ts == ts)
        {
            return Err("message_not_found");
        }
        let reaction = Reaction {
            channel: channel.to_string(),
            ts: ts.to_string(),
            name: name.to_string(),
            user: user.to_string(),
        };
        if inner.reactions.contains(&reaction) {
            return Err("already_reacted");
        }
        inner.reactions.push(reaction);
        drop(inner);
        self.changed();
        Ok(())
    }

    /// `user` takes their reaction back (`no_reaction` if there was none).
    pub fn unreact(
        &self,
        user: &str,
        channel: &str,
        ts: &str,
        name: &str,
    ) -> Result<(), &'static str> {
        let mut inner = self.inner.lock().unwrap();
        let before = inner.reactions.len();
        inner
            .reactions
            .retain(|r| !(r.user == user && r.channel == channel && r.ts == ts && r.name == name));
        if inner.reactions.len() == before {
            return Err("no_reaction");
        }
        drop(inner);
        self.changed();
        Ok(())
    }

    /// Everyone's reactions to a message.
    pub fn reactions_on(&self, channel: &str, ts: &str) -> Vec<Reaction> {
        self.inner
            .lock()
            .unwrap()
            .reactions
            .iter()
            .filter(|r| r.channel == channel && r.ts == ts)
            .cloned()
            .collect()
    }

    /// The ephemerals `user` was shown, oldest first.
    pub fn ephemerals_for(&self, user: &str) -> Vec<Ephemeral> {
        self.inner
            .lock()
            .unwrap()
            .ephemerals
            .iter()
            .filter(|e| e.user == user)
            .cloned()
            .collect()
    }

    /// The modals open on `user`'s screen, the one on top last.
    pub fn views_of(&self, user: &str) -> Vec<View> {
        self.inner
            .lock()
            .unwrap()
            .views
            .iter()
            .filter(|v| v.user.as_deref() == Some(user))
            .cloned()
            .collect()
    }

    pub fn view(&self, id: &str) -> Option<View> {
        let inner = self.inner.lock().unwrap();
        inner.views.iter().find(|v| v.id == id).cloned()
    }

    /// Closes the modal `id` and those pushed on top of it.
    pub fn close_view(&self, id: &str) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(at) = inner.views.iter().position(|v| v.id == id) {
            let user = inner.views[at].user.clone();
            let mut i = 0;
            inner.views.retain(|v| {
                let keep = i < at || v.user != user;
                i += 1;
                keep
            });
        }
        drop(inner);
        self.changed();
    }

    /// Closes every modal on `user`'s screen (`response_action: clear`).
    pub fn clear_views(&self, user: &str) {
        self.inner
            .lock()
            .unwrap()
            .views
            .retain(|v| v.user.as_deref() != Some(user));
        self.changed();
    }

    /// Replaces the modal `id` (`response_action: update`).
    pub fn replace_view(&self, id: &str, mut view: Value) {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        let n = inner.counter;
        if let Some(open) = inner.views.iter_mut().find(|v| v.id == id) {
            view["id"] = json!(id);
            view["hash"] = json!(format!("{n}.abc"));
            open.view = view;
        }
        drop(inner);
        self.changed();
    }

    /// Opens `view` on top of `user`'s modals (`response_action: push`).
    pub fn push_view(&self, user: &str, mut view: Value) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        let n = inner.counter;
        let id = format!("V{n}");
        view["id"] = json!(id);
        view["hash"] = json!(format!("{n}.abc"));
        inner.views.push(View {
            id: id.clone(),
            user: Some(user.to_string()),
            view,
        });
        drop(inner);
        self.changed();
        id
    }

    /// An uploaded file: its title and content.
    pub fn file(&self, id: &str) -> Option<(String, Vec<u8>)> {
        let inner = self.inner.lock().unwrap();
        inner
            .files
            .get(id)
            .map(|f| (f.title.clone(), f.bytes.clone()))
    }

    /// One message (not an ephemeral).
    pub fn message(&self, channel: &str, ts: &str) -> Option<Message> {
        let inner = self.inner.lock().unwrap();
        inner
            .messages
            .iter()
            .find(|m| m.channel == channel && m.ts == ts)
            .cloned()
    }

    /// Everything a page shows, as JSON: people, channels (direct messages
    /// included), messages, ephemerals, reactions, open modals and files.
    pub fn snapshot(&self) -> Value {
        let version = *self.changes.borrow();
        let inner = self.inner.lock().unwrap();
        let mut people: Vec<(&String, &String)> = inner.names.iter().collect();
        people.sort();
        let people: Vec<Value> = people
            .into_iter()
            .map(|(id, name)| json!({"id": id, "name": name}))
            .collect();
        let mut channels: Vec<Value> = inner
            .channels
            .iter()
            .map(|c| {
                json!({"id": c.id, "name": c.name, "topic": c.topic, "members": c.members,
                    "private": inner.private.contains(&c.id), "archived": inner.archived.contains(&c.id)})
            })
            .collect();
        let mut dms: Vec<&str> = inner
            .messages
            .iter()
            .map(|m| m.channel.as_str())
            .filter(|c| c.starts_with('D'))
            .collect();
        dms.sort();
        dms.dedup();
        for dm in dms {
            channels.push(
                json!({"id": dm, "name": "warroom", "dm_with": format!("U{}", &dm[1..]),
                "topic": "", "members": [], "private": true, "archived": false}),
            );
        }
        let message_json = |channel: &str, ts: &str, body: &Value, edits: usize| {
            json!({
                "channel": channel, "ts": ts,
                "user": body.get("user").and_then(Value::as_str).unwrap_or(BOT_USER),
                "text": body.get("text").cloned().unwrap_or(json!("")),
                "blocks": body.get("blocks").cloned().unwrap_or(json!([])),
                "thread_ts": body.get("thread_ts"),
                "edited": edits > 0,
            })
        };
        let messages: Vec<Value> = inner
            .messages
            .iter()
            .map(|m| message_json(&m.channel, &m.ts, &m.body, m.edits))
            .collect();
        let ephemerals: Vec<Value> = inner
            .ephemerals
            .iter()
            .map(|e| {
                let mut v = message_json(&e.channel, &e.ts, &e.body, 0);
                v["to"] = json!(e.user);
                v["user"] = json!(BOT_USER);
                v
            })
            .collect();
        let reactions: Vec<Value> = inner
            .reactions
            .iter()
            .map(|r| json!({"channel": r.channel, "ts": r.ts, "name": r.name, "user": r.user}))
            .collect();
        let views: Vec<Value> = inner
            .views
            .iter()
            .map(|v| json!({"id": v.id, "user": v.user, "view": v.view}))
            .collect();
        let mut files: Vec<(&String, &File)> = inner
            .files
            .iter()
            .filter(|(_, f)| f.channel.is_some())
            .collect();
        files.sort_by_key(|(id, _)| (*id).clone());
        let files: Vec<Value> = files
            .into_iter()
            .map(|(id, f)| {
                json!({"id": id, "title": f.title, "channel": f.channel, "ts": f.shared_ts, "size": f.bytes.len()})
            })
            .collect();
        json!({
            "version": version, "bot": BOT_USER, "people": people, "channels": channels,
            "messages": messages, "ephemerals": ephemerals, "reactions": reactions,
            "views": views, "files": files,
        })
    }
}

impl Inner {
    /// A fresh message timestamp: the clock's second (if the simulator has
    /// a clock) and the call counter, fixed width so they sort as text.
    fn ts(&self, n: u64) -> String {
        let secs = match &self.clock {
            Some(clock) => clock.now().timestamp(),
            None => 1_700_000_000,
        };
        format!("{secs}.{n:06}")
    }
}

/// Methods that change nothing anyone could see.
const READS: &[&str] = &[
    "auth.test",
    "conversations.info",
    "conversations.list",
    "conversations.history",
    "conversations.replies",
    "users.info",
    "chat.getPermalink",
    "files.list",
    "files.getUploadURLExternal",
    "apps.connections.open",
];

/// `U…` or `W…`: a user id, where a channel id could be.
fn is_user_id(id: &str) -> bool {
    id.len() > 1 && id.starts_with(['U', 'W'])
}

/// The id of the app's direct-message channel with `user`.
fn dm_channel(user: &str) -> String {
    format!("D{}", &user[1..])
}

/// What the bot posts to a `response_url` it was given: an ephemeral for
/// the person who typed the command, or a message in the channel.
async fn respond_to_url(
    State(fake): State<Simulator>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    let target = fake.inner.lock().unwrap().response_urls.get(&id).cloned();
    let Some((channel, user)) = target else {
        return (StatusCode::NOT_FOUND, "no_such_response_url").into_response();
    };
    if body["response_type"] == "in_channel" {
        fake.bot_says(&channel, body);
    } else {
        fake.show_ephemeral(&channel, &user, body);
    }
    (StatusCode::OK, "ok").into_response()
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
            drop(inner);
            fake.changed();
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
        APP_TOKEN.to_string()
    } else {
        let inner = fake.inner.lock().unwrap();
        inner
            .token
            .clone()
            .unwrap_or_else(|| TEST_TOKEN.to_string())
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
    if !READS.contains(&method.as_str()) {
        fake.changed();
    }
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
        "views.open" | "views.push" => {
            let trigger = s("trigger_id");
            if trigger.is_empty() {
                return err("invalid_trigger_id");
            }
            let user = inner.triggers.remove(&trigger);
            let mut view = body.get("view").cloned().unwrap_or(json!({}));
            view["id"] = json!(format!("V{n}"));
            view["team_id"] = json!("T1");
            view["hash"] = json!(format!("{n}.abc"));
            inner.views.push(View {
                id: format!("V{n}"),
                user,
                view: view.clone(),
            });
            ok(json!({"view": view}))
        }
        "views.update" => {
            let (id, external) = (s("view_id"), s("external_id"));
            let hash = s("hash");
            let Some(open) = inner.views.iter_mut().find(|v| {
                (!id.is_empty() && v.id == id)
                    || (!external.is_empty() && v.view["external_id"] == json!(external))
            }) else {
                return err("not_found");
            };
            if !hash.is_empty() && open.view["hash"] != json!(hash) {
                return err("hash_conflict");
            }
            let mut view = body.get("view").cloned().unwrap_or(json!({}));
            view["id"] = json!(open.id);
            view["team_id"] = json!("T1");
            view["hash"] = json!(format!("{n}.abc"));
            open.view = view.clone();
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
            let mut channel = s("channel");
            // A user id as the channel is a direct message from the app.
            if is_user_id(&channel) {
                channel = dm_channel(&channel);
            }
            let is_channel =
                channel.starts_with('C') || channel.starts_with('G') || channel.starts_with('D');
            if !is_channel {
                return err("channel_not_found");
            }
            let ts = inner.ts(n);
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
        "chat.postEphemeral" => {
            let ts = inner.ts(n);
            inner.ephemerals.push(Ephemeral {
                channel: s("channel"),
                user: s("user"),
                ts: ts.clone(),
                body: body.clone(),
            });
            ok(json!({"message_ts": ts}))
        }
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
            let shared_ts = inner.ts(n);
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
                file.shared_ts = Some(shared_ts.clone());
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
            let reaction = Reaction {
                channel,
                ts,
                name,
                user: BOT_USER.to_string(),
            };
            if inner.reactions.contains(&reaction) {
                return err("already_reacted");
            }
            inner.reactions.push(reaction);
            ok(json!({}))
        }
        "reactions.remove" => {
            let reaction = Reaction {
                channel: s("channel"),
                ts: s("timestamp"),
                name: s("name"),
                user: BOT_USER.to_string(),
            };
            let before = inner.reactions.len();
            inner.reactions.retain(|r| *r != reaction);
            if inner.reactions.len() == before {
                return err("no_reaction");
            }
            ok(json!({}))
        }
        "conversations.open" => {
            let users = s("users");
            let user = users.split(',').next().unwrap_or_default();
            if !is_user_id(user) {
                return err("user_not_found");
            }
            ok(json!({"channel": {"id": dm_channel(user)}}))
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
