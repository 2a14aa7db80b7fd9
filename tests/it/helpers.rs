//! Starts the real app on port 0 against the fake Slack and a fresh SQLite
//! file, and sends it signed requests built like Slack's.

use super::fake_slack::FakeSlack;
use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use warroom::app::Ctx;
use warroom::clock::{Clock, ManualClock};
use warroom::config::{Settings, Sources};
use warroom::slack::signature;
use warroom::startup::{App, Options};

pub const SECRET: &str = "test-signing-secret";
pub const TOKEN: &str = "xoxb-test-token";
pub const DECLARER: &str = "UALICE";
pub const ORIGIN: &str = "CGENERAL";

/// A SEV2 declaration by [`DECLARER`] in [`ORIGIN`], for tests and benches
/// that write incidents through the store directly.
pub fn declaration(title: &str) -> warroom::domain::Declaration {
    warroom::domain::Declaration {
        title: title.to_string(),
        severity: warroom::domain::SeverityName::new("SEV2"),
        summary: String::new(),
        impact_started_at: None,
        security: false,
        drill: false,
        private: false,
        declared_by: warroom::domain::UserId(DECLARER.into()),
        origin_channel: warroom::domain::ChannelId::new(ORIGIN),
        announce_channel: warroom::domain::ChannelId::new(ORIGIN),
        assessment: None,
    }
}

pub fn minutes(m: u64) -> std::time::Duration {
    std::time::Duration::from_secs(m * 60)
}

/// How long a test waits for something that must happen before it fails:
/// generous, because CI runs on a loaded two-core machine. Tests wait for
/// facts ([`eventually`], [`TestApp::idle`]), never for time, so this is
/// only ever reached by a test that is failing.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// Polls `check` until it returns `Ok`, and returns its value. `Err`
/// carries what it saw instead; after [`PATIENCE`] the test fails naming
/// `what` and the last thing seen. The one place in `tests/it/` that
/// sleeps (`sleeps.rs` holds that): between polls, briefly.
pub async fn eventually<T, O, F, Fut>(what: &str, mut check: F) -> T
where
    O: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, O>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        let seen = match check().await {
            Ok(v) => return v,
            Err(seen) => seen,
        };
        if tokio::time::Instant::now() >= deadline {
            panic!("gave up after {PATIENCE:?} waiting for {what}; last seen: {seen:#?}");
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(20));
    }
}

/// [`eventually`] on the fake Slack.
pub trait SlackEventually {
    /// Waits until `check` holds on the fake Slack; fails naming `what`
    /// and the Web API methods called so far.
    async fn eventually<T>(&self, what: &str, check: impl FnMut(&FakeSlack) -> Option<T>) -> T;
}

impl SlackEventually for FakeSlack {
    async fn eventually<T>(&self, what: &str, mut check: impl FnMut(&FakeSlack) -> Option<T>) -> T {
        eventually(what, || {
            std::future::ready(check(self).ok_or_else(|| {
                self.all_calls()
                    .into_iter()
                    .map(|c| c.method)
                    .collect::<Vec<_>>()
            }))
        })
        .await
    }
}

/// Every line still to come from a process's log (`rx`, fed by a thread
/// reading its output), until that output closes: for a process that has
/// exited or been killed. Fails after [`PATIENCE`] if it never closes.
pub fn rest_of_log(rx: &std::sync::mpsc::Receiver<String>) -> Vec<String> {
    use std::sync::mpsc::RecvTimeoutError;
    let mut lines = Vec::new();
    loop {
        match rx.recv_timeout(PATIENCE) {
            Ok(line) => lines.push(line),
            Err(RecvTimeoutError::Disconnected) => return lines,
            Err(RecvTimeoutError::Timeout) => {
                panic!("the log did not end within {PATIENCE:?}; so far: {lines:#?}")
            }
        }
    }
}

/// 03:00 UTC: incidents happen at night.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
}

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub slack: FakeSlack,
    pub clock: ManualClock,
    pub ctx: Arc<Ctx>,
    pub http: reqwest::Client,
    /// Whether the job workers and the reminder scheduler run.
    workers: bool,
    dir: Arc<tempfile::TempDir>,
    env: Vec<(String, String)>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub struct Setup {
    pub env: Vec<(&'static str, String)>,
    pub workers: bool,
    /// Run on the system clock (benchmarks) instead of the manual one.
    pub real_clock: bool,
    /// Contents of the config file (TOML).
    pub toml: &'static str,
    /// Another replica's fake Slack and clock, to share them.
    pub replica_of: Option<(FakeSlack, ManualClock)>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            env: vec![],
            workers: true,
            real_clock: false,
            toml: "",
            replica_of: None,
        }
    }
}

fn settings(
    dir: &std::path::Path,
    slack: &FakeSlack,
    real_clock: bool,
    extra: &[(String, String)],
) -> Settings {
    let empty = dir.join("warroom.toml");
    if !empty.exists() {
        std::fs::write(&empty, "").unwrap();
    }
    let mut env: HashMap<String, String> = [
        (
            "WARROOM_DATABASE_URL",
            format!("sqlite://{}", dir.join("warroom.db").display()),
        ),
        ("WARROOM_LISTEN", "127.0.0.1:0".to_string()),
        ("WARROOM_SLACK__API_URL", slack.base_url.clone()),
        ("SLACK_BOT_TOKEN", TOKEN.to_string()),
        ("SLACK_SIGNING_SECRET", SECRET.to_string()),
        // On the manual clock, pacing would hold calls until a test moves
        // the clock; tests of pacing turn it on (benchmarks run with it).
        ("WARROOM_SLACK__RATE_CONTROL", real_clock.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    env.extend(extra.iter().cloned());
    Settings::load(Sources {
        file: Some(&empty),
        env,
    })
    .unwrap()
}

impl TestApp {
    pub async fn spawn(setup: Setup) -> TestApp {
        let (slack, clock) = match setup.replica_of {
            Some(shared) => shared,
            None => (FakeSlack::start().await, ManualClock::new(start_time())),
        };
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let env: Vec<(String, String)> = setup
            .env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        std::fs::write(dir.path().join("warroom.toml"), setup.toml).unwrap();
        Self::boot(slack, dir, clock, env, setup.workers, setup.real_clock).await
    }

    async fn boot(
        slack: FakeSlack,
        dir: Arc<tempfile::TempDir>,
        clock: ManualClock,
        env: Vec<(String, String)>,
        workers: bool,
        real_clock: bool,
    ) -> TestApp {
        let settings = settings(dir.path(), &slack, real_clock, &env);
        let app_clock = if real_clock {
            Clock::System
        } else {
            Clock::Manual(clock.clone())
        };
        let app = App::build(settings, app_clock, Options { workers })
            .await
            .unwrap();
        let addr = app.local_addr();
        let ctx = app.ctx();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        TestApp {
            addr,
            slack,
            clock,
            ctx,
            http: reqwest::Client::new(),
            workers,
            dir,
            env,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops this process (gracefully: requests finish, workers stop) and
    /// starts a new one on the same database and fake Slack.
    pub async fn restart(mut self, workers: bool) -> TestApp {
        self.stop_now().await;
        Self::boot(
            self.slack.clone(),
            self.dir.clone(),
            self.clock.clone(),
            self.env.clone(),
            workers,
            false,
        )
        .await
    }

    async fn stop_now(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("warroom.db")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Posts `body` signed with the signing secret at the clock's time.
    pub async fn post_signed(
        &self,
        path: &str,
        content_type: &str,
        body: String,
        headers: &[(&str, String)],
    ) -> reqwest::Response {
        let at = self.ctx.clock.now().timestamp();
        post_signed_at(&self.http, &self.url(path), at, content_type, body, headers).await
    }

    /// `/incident <text>` typed by `user` in `channel`.
    pub async fn command(&self, user: &str, channel: &str, text: &str) -> reqwest::Response {
        self.post_signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            command_form(user, channel, text),
            &[],
        )
        .await
    }

    /// The JSON answer to a command (empty body → Null).
    pub async fn command_json(&self, user: &str, channel: &str, text: &str) -> Value {
        let res = self.command(user, channel, text).await;
        assert_eq!(res.status(), 200);
        let body = res.text().await.unwrap();
        if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&body).unwrap()
        }
    }

    pub async fn interaction(&self, payload: Value) -> reqwest::Response {
        self.post_signed(
            "/slack/interactivity",
            "application/x-www-form-urlencoded",
            interaction_form(&payload),
            &[],
        )
        .await
    }

    pub async fn event(&self, payload: Value, retry: Option<u32>) -> reqwest::Response {
        let headers: Vec<(&str, String)> = retry
            .map(|n| {
                vec![
                    ("x-slack-retry-num", n.to_string()),
                    ("x-slack-retry-reason", "http_timeout".to_string()),
                ]
            })
            .unwrap_or_default();
        self.post_signed(
            "/slack/events",
            "application/json",
            payload.to_string(),
            &headers,
        )
        .await
    }

    /// Submits the declare modal the way Slack does after views.open.
    pub async fn submit_declare(
        &self,
        user: &str,
        view_id: &str,
        form: DeclareInput,
    ) -> reqwest::Response {
        self.interaction(declare_submission(user, view_id, &form))
            .await
    }

    /// Clicks a role-board button.
    pub async fn click(
        &self,
        user: &str,
        channel: &str,
        action_id: &str,
        value: &str,
    ) -> reqwest::Response {
        self.interaction(click_payload(user, channel, action_id, value))
            .await
    }

    /// Declares an incident end to end and waits for its role board and
    /// announcement; returns the war room's channel id.
    pub async fn declare(&self, title: &str, severity: &str) -> String {
        let res = self
            .command(DECLARER, ORIGIN, &format!("declare {title}"))
            .await;
        assert_eq!(res.status(), 200);
        let views = self.slack.calls("views.open");
        let view_id = format!("V-test-{}", views.len());
        let res = self
            .submit_declare(
                DECLARER,
                &view_id,
                DeclareInput {
                    title: title.to_string(),
                    severity: Some(severity.to_string()),
                    ..DeclareInput::default()
                },
            )
            .await;
        assert_eq!(res.status(), 200);
        let number = self.count("SELECT MAX(number) FROM incidents").await;
        let id = self.wait_room(number).await;
        self.wait_idle().await;
        id
    }

    /// Waits until incident `number` has its war room; returns its id.
    pub async fn wait_room(&self, number: i64) -> String {
        eventually(
            &format!("the war room of incident {number}"),
            || async move { self.room(number).await.ok_or("no war room yet") },
        )
        .await
    }

    /// Waits until no job is pending or running.
    pub async fn wait_idle(&self) {
        eventually("no job pending or running", || async {
            let c = self.ctx.store.job_counts().await.unwrap();
            if c.pending == 0 && c.running == 0 {
                Ok(())
            } else {
                Err(c)
            }
        })
        .await
    }

    /// Waits until the app is idle at the clock's time: the job workers and
    /// the reminder scheduler have both found nothing due and nothing
    /// running, after every change made so far (see `warroom::app::Quiet`).
    /// From then on nothing happens until the clock moves or someone acts,
    /// so a test may assert that something did not happen. Returns when
    /// something falls due next (`None`: nothing until someone acts).
    pub async fn idle(&self) -> Option<DateTime<Utc>> {
        assert!(self.workers, "an app without workers is never idle");
        let now = self.ctx.clock.now();
        match tokio::time::timeout(PATIENCE, self.ctx.quiet.settled(now)).await {
            Ok(next) => next,
            Err(_) => {
                use warroom::app::Loop;
                panic!(
                    "not idle at {now} after {PATIENCE:?}: {} changes; the job queue last said {:?}, the reminders {:?}; jobs {:?}",
                    self.ctx.quiet.changes(),
                    *self.ctx.quiet.watch(Loop::Jobs).borrow(),
                    *self.ctx.quiet.watch(Loop::Reminders).borrow(),
                    self.ctx.store.job_counts().await.unwrap(),
                );
            }
        }
    }

    /// Waits until no job is running: a job that just made a call has then
    /// recorded its outcome (and, for a retry, read the clock for its next
    /// attempt), so moving the clock after this cannot race the worker.
    pub async fn wait_not_running(&self) {
        eventually("no job running", || async {
            let c = self.ctx.store.job_counts().await.unwrap();
            if c.running == 0 { Ok(()) } else { Err(c) }
        })
        .await
    }

    /// Moves the clock on `every` at a time until `check` holds, looking
    /// while the app is idle; fails naming `what` and the last thing
    /// `check` saw. Retries are scheduled on the app's clock, so no test
    /// waits for real backoff; the clock moves only while no job runs
    /// (moving it during one would expire its lease, as a very slow Slack
    /// call would). Steps in which nothing falls due are taken at once: the
    /// clock moves by as many times `every` as reach the next due time.
    pub async fn step_until<T, O, F, Fut>(
        &self,
        what: &str,
        every: std::time::Duration,
        mut check: F,
    ) -> T
    where
        O: std::fmt::Debug,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, O>>,
    {
        self.idle().await;
        eventually(what, || {
            let looked = check();
            async move {
                let seen = match looked.await {
                    Ok(v) => return Ok(v),
                    Err(seen) => seen,
                };
                let now = self.clock.now();
                let due_in = match self.idle().await {
                    Some(next) if next > now => (next - now).to_std().unwrap_or_default(),
                    _ => every,
                };
                let steps = due_in.as_nanos().div_ceil(every.as_nanos()).max(1);
                self.clock.advance(every * u32::try_from(steps).unwrap());
                self.idle().await;
                Err(seen)
            }
        })
        .await
    }

    /// Moves the clock on, a step at a time, until no job waits for a
    /// retry, then waits until every job has run.
    pub async fn advance_until_idle(&self) {
        let every = std::time::Duration::from_secs(5);
        self.step_until("every job to finish", every, || async {
            let c = self.ctx.store.job_counts().await.unwrap();
            if c.pending == 0 && c.running == 0 {
                Ok(())
            } else {
                Err(c)
            }
        })
        .await;
        self.wait_idle().await;
    }

    /// Moves the clock and waits until every reminder due by then has fired
    /// and every job has run.
    pub async fn advance(&self, by: std::time::Duration) {
        self.clock.advance(by);
        self.settle().await;
    }

    /// Waits until no reminder is due and no job is pending or running.
    pub async fn settle(&self) {
        eventually("no reminder due and no job left", || async {
            let next = warroom::reminders::next_due(&self.ctx).await.unwrap();
            let c = self.ctx.store.job_counts().await.unwrap();
            if next.is_none_or(|t| t > self.clock.now()) && c.pending == 0 && c.running == 0 {
                Ok(())
            } else {
                Err((next, c))
            }
        })
        .await
    }

    /// The war room of incident `number`, once Slack created it.
    pub async fn room(&self, number: i64) -> Option<String> {
        self.ctx
            .store
            .incident(warroom::domain::IncidentNumber::new(number))
            .await
            .unwrap()
            .and_then(|i| i.channel_id.map(|c| c.0))
    }

    /// Incident `number` as stored (it must exist).
    pub async fn incident(&self, number: i64) -> warroom::domain::Incident {
        self.ctx
            .store
            .incident(warroom::domain::IncidentNumber::new(number))
            .await
            .unwrap()
            .unwrap()
    }

    /// The app's `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The sum of every series of the counter `name` on `/metrics`.
    pub async fn metric_total(&self, name: &str) -> u64 {
        self.metrics()
            .await
            .lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with([' ', '{']))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    /// Runs a SQL query returning one integer against the app's database.
    pub async fn count(&self, sql: &'static str) -> i64 {
        let pg = self
            .env
            .iter()
            .find(|(k, v)| k == "WARROOM_DATABASE_URL" && v.starts_with("postgres"));
        match pg {
            Some((_, url)) => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
                pool.close().await;
                n
            }
            None => count_at(&self.db_path(), sql).await,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Posts `body` to `url` signed the way Slack signs, at `at` (Unix seconds).
pub async fn post_signed_at(
    http: &reqwest::Client,
    url: &str,
    at: i64,
    content_type: &str,
    body: String,
    headers: &[(&str, String)],
) -> reqwest::Response {
    let ts = at.to_string();
    let sig = signature::sign(&SecretString::from(SECRET), &ts, body.as_bytes());
    let mut req = http
        .post(url)
        .header("content-type", content_type)
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", sig);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    req.body(body).send().await.unwrap()
}

/// The form body of `/incident <text>` typed by `user` in `channel`.
pub fn command_form(user: &str, channel: &str, text: &str) -> String {
    serde_urlencoded::to_string([
        ("token", "legacy-verification-token"),
        ("team_id", "T1"),
        ("team_domain", "acme"),
        ("channel_id", channel),
        ("channel_name", "general"),
        ("user_id", user),
        ("user_name", "someone"),
        ("command", "/incident"),
        ("text", text),
        ("api_app_id", "A1"),
        ("is_enterprise_install", "false"),
        ("response_url", "https://hooks.slack.com/commands/T1/1/abc"),
        ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
    ])
    .unwrap()
}

/// A click on a role-board button, as Slack sends it.
pub fn click_payload(user: &str, channel: &str, action_id: &str, value: &str) -> Value {
    json!({
        "type": "block_actions",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user, "username": "u", "name": "u", "team_id": "T1"},
        "api_app_id": "A1",
        "trigger_id": "1337.42.abcd",
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": channel, "is_ephemeral": false},
        "channel": {"id": channel, "name": "inc"},
        "message": {"type": "message", "ts": "1700000000.000001", "text": "board"},
        "response_url": "https://hooks.slack.com/actions/T1/1/abc",
        "actions": [{"action_id": action_id, "block_id": "role-actions-0", "text": {"type": "plain_text", "text": "Claim"}, "value": value, "type": "button", "action_ts": "1700000001.0001"}]
    })
}

/// The form body Slack posts to the interactivity URL.
pub fn interaction_form(payload: &Value) -> String {
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
}

/// The `view_submission` of the declare modal, as Slack sends it after
/// views.open.
pub fn declare_submission(user: &str, view_id: &str, form: &DeclareInput) -> Value {
    let metadata = json!({"channel": form.origin}).to_string();
    let mut values = json!({
        "title": {"value": {"type": "plain_text_input", "value": form.title}},
        "severity": {"value": {"type": "static_select", "selected_option": form.severity.as_ref().map(|s| json!({"text": {"type": "plain_text", "text": s}, "value": s}))}},
        "summary": {"value": {"type": "plain_text_input", "value": form.summary}},
        "impact": {"value": {"type": "datetimepicker", "selected_date_time": form.impact_started_at.map(|t| t.timestamp())}},
        "flags": {"value": {"type": "checkboxes", "selected_options": form.flags.iter().map(|f| json!({"text": {"type": "plain_text", "text": f}, "value": f})).collect::<Vec<_>>()}}
    });
    if form.severity.is_none() {
        values["severity"]["value"]["selected_option"] = Value::Null;
    }
    for (block, answer) in [
        ("impact_answer", &form.impact_answer),
        ("urgency", &form.urgency),
    ] {
        values[block] = json!({"value": {"type": "static_select", "selected_option": answer.as_ref().map(|s| json!({"text": {"type": "plain_text", "text": s}, "value": s}))}});
    }
    json!({
        "type": "view_submission",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user, "username": "alice", "name": "alice", "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": "1337.42.abcd",
        "view": {
            "id": view_id,
            "team_id": "T1",
            "type": "modal",
            "callback_id": "declare",
            "private_metadata": metadata,
            "hash": "156772938.1827394",
            "title": {"type": "plain_text", "text": "Declare an incident"},
            "blocks": [],
            "state": {"values": values}
        },
        "response_urls": [],
        "is_enterprise_install": false
    })
}

/// Runs a SQL query returning one integer against the SQLite file at `db`.
pub async fn count_at(db: &std::path::Path, sql: &'static str) -> i64 {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

/// A `reaction_added` / `reaction_removed` event (`kind`) by `user` on the
/// message `ts` (written by UCAROL) in `channel`.
pub fn reaction(
    kind: &str,
    event_id: &str,
    user: &str,
    emoji: &str,
    channel: &str,
    ts: &str,
) -> Value {
    json!({
        "token": "t", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": event_id, "event_time": 1_700_000_000,
        "event": {
            "type": kind, "user": user, "reaction": emoji, "item_user": "UCAROL",
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": "1795402800.000100"
        }
    })
}

#[derive(Clone, Debug)]
pub struct DeclareInput {
    pub title: String,
    pub severity: Option<String>,
    pub summary: String,
    pub impact_started_at: Option<DateTime<Utc>>,
    pub flags: Vec<&'static str>,
    pub origin: String,
    /// The `severity_matrix` questions' answers.
    pub impact_answer: Option<String>,
    pub urgency: Option<String>,
}

impl Default for DeclareInput {
    fn default() -> Self {
        Self {
            title: "Checkout returns 500".to_string(),
            severity: Some("SEV2".to_string()),
            summary: String::new(),
            impact_started_at: None,
            flags: vec![],
            origin: ORIGIN.to_string(),
            impact_answer: None,
            urgency: None,
        }
    }
}
