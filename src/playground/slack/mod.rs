//! The Slack simulator: a stateful Web API on 127.0.0.1 that records every
//! call and answers like Slack does (fresh channel ids, `name_taken`, stored
//! messages, threads, reactions, ephemerals, views, files, direct messages).
//! The playground runs the bot against it; the tests do too. This file is
//! its state and the tests' API to set it up and read it back (the Web API
//! answers are in `web.rs`, people's actions in `people.rs`).
//!
//! Only for tests and benchmarks, built with the `test-support` feature
//! (which `cargo test` and `cargo bench` turn on, and a release build
//! leaves out): failure injection (`Simulator::fail_next`), Slack's rate
//! limits (`Simulator::enforce_limits`), answers in Slack's full published
//! shapes (`Simulator::answer_in_full_shapes`, with their fixtures), a slow
//! Slack (`Simulator::set_latency`) and the Socket Mode URL
//! (`Simulator::set_socket_url`).

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

#[cfg(feature = "test-support")]
mod limits;
mod people;
#[cfg(feature = "test-support")]
mod shapes;
mod web;

#[cfg(feature = "test-support")]
pub use limits::Limits;
#[cfg(feature = "test-support")]
pub use shapes::overlay;
#[cfg(feature = "test-support")]
use shapes::reshape;
use web::*;

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
    /// Each person's Home tab as last published.
    homes: HashMap<String, Value>,
    /// Workflow runs of the step "Declare an incident": execution id → who
    /// ran it, told the outcome as Workflow Builder tells them.
    workflow_runs: HashMap<String, String>,
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
    #[cfg(feature = "test-support")]
    full_shapes: bool,
    /// The scopes `auth.test` reports in `x-oauth-scopes`; `None`: all of
    /// the manifest's.
    scopes: Option<Vec<String>>,
    /// Slack's rate limits, when enforced.
    #[cfg(feature = "test-support")]
    limits: Option<Arc<Limits>>,
    /// Calls answered 429 by the enforced limits (not in `calls`).
    #[cfg(feature = "test-support")]
    throttled: Vec<Call>,
    /// How long every answer takes.
    latency: Duration,
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

    #[cfg(feature = "test-support")]
    /// From now on every successful answer has the full field set Slack
    /// publishes for its method (`tests/fixtures/slack-shapes/api/`), with
    /// only the fake's own values (ids, ts, names, urls…) laid over it:
    /// every field the bot does not use is there too, placeholders included.
    pub fn answer_in_full_shapes(&self) {
        self.inner.lock().unwrap().full_shapes = true;
    }

    #[cfg(feature = "test-support")]
    /// From now on, answers 429 (with `Retry-After`) to calls over Slack's
    /// published rate limits, on `clock` (the app's).
    pub fn enforce_limits(&self, clock: crate::clock::Clock) {
        self.inner.lock().unwrap().limits = Some(Arc::new(Limits::new(clock)));
    }

    /// Calls the enforced limits answered with 429.
    #[cfg(feature = "test-support")]
    pub fn throttled(&self) -> Vec<Call> {
        self.inner.lock().unwrap().throttled.clone()
    }

    #[cfg(feature = "test-support")]
    /// Every answer takes `latency` (real time) from now on.
    pub fn set_latency(&self, latency: Duration) {
        self.inner.lock().unwrap().latency = latency;
    }

    #[cfg(feature = "test-support")]
    /// The next `times` calls to `method` fail with `failure`.
    pub fn fail_next(&self, method: &str, failure: Failure, times: usize) {
        let mut inner = self.inner.lock().unwrap();
        let queue = inner.failures.entry(method.to_string()).or_default();
        for _ in 0..times {
            queue.push_back(failure.clone());
        }
    }

    #[cfg(feature = "test-support")]
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

    #[cfg(feature = "test-support")]
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

    /// Puts `user` in `channel` (as if invited earlier).
    pub fn add_member(&self, channel: &str, user: &str) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(c) = inner.channels.iter_mut().find(|c| c.id == channel)
            && !c.members.iter().any(|m| m == user)
        {
            c.members.push(user.to_string());
        }
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

    /// The playground ran a workflow (execution id) for `user`.
    pub fn remember_workflow_run(&self, execution: &str, user: &str) {
        self.inner
            .lock()
            .unwrap()
            .workflow_runs
            .insert(execution.to_string(), user.to_string());
    }

    /// `user`'s Home tab as last published, if ever.
    pub fn home_of(&self, user: &str) -> Option<Value> {
        self.inner.lock().unwrap().homes.get(user).cloned()
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
