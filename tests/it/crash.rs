//! The real `warroom` binary killed with SIGKILL at the worst moments and
//! started again on the same database: whatever it acked before the kill is
//! done at the next start, exactly once. These run on the system clock, so
//! they wait by polling the fake Slack and the database (`eventually`).

use crate::fake_slack::{Failure, FakeSlack};
use crate::helpers::{
    DECLARER, DeclareInput, ORIGIN, SECRET, SlackEventually, TOKEN, command_form, count_at,
    declare_submission, eventually, interaction_form, post_signed_at,
};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One `warroom serve` process on the test's database and fake Slack. It is
/// killed (SIGKILL) when dropped, so a failing test leaves nothing behind.
struct Warroom {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

impl Warroom {
    /// Starts `warroom serve` in `dir` (database `dir/warroom.db`) and waits
    /// until it logs the address it listens on.
    async fn start(dir: &Path, slack: &FakeSlack) -> Warroom {
        let mut child = Command::new(env!("CARGO_BIN_EXE_warroom"))
            .arg("serve")
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "WARROOM_DATABASE_URL",
                format!("sqlite://{}", db_path(dir).display()),
            )
            .env("WARROOM_LISTEN", "127.0.0.1:0")
            .env("WARROOM_SLACK__API_URL", &slack.base_url)
            .env("SLACK_BOT_TOKEN", TOKEN)
            .env("SLACK_SIGNING_SECRET", SECRET)
            .env("WARROOM_LOG", "info,warroom=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
        let lines = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("warroom is listening")
                    && let Some(addr) = line.split("addr=").nth(1)
                    && let Some(addr) = addr.split_whitespace().next()
                    && let Ok(addr) = addr.parse()
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr);
                }
                lines.lock().unwrap().push(line);
            }
        });
        let mut warroom = Warroom {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            http: reqwest::Client::new(),
        };
        match tokio::time::timeout(crate::helpers::PATIENCE, rx).await {
            Ok(Ok(addr)) => warroom.addr = addr,
            _ => panic!("warroom did not start:\n{}", warroom.log()),
        }
        warroom
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it logged so far.
    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// SIGKILL: no graceful shutdown, no chance to finish or record
    /// anything. Returns the dead process's pid.
    fn kill(mut self) -> u32 {
        let pid = self.pid();
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status:?}");
        pid
    }

    /// Posts `body` to `path` signed with the signing secret, now.
    async fn post(&self, path: &str, body: String) -> reqwest::Response {
        let url = format!("http://{}{path}", self.addr);
        let now = chrono::Utc::now().timestamp();
        post_signed_at(
            &self.http,
            &url,
            now,
            "application/x-www-form-urlencoded",
            body,
            &[],
        )
        .await
    }

    /// Submits the declare modal; asserts it was acked.
    async fn declare(&self, view_id: &str) {
        let payload = declare_submission(DECLARER, view_id, &DeclareInput::default());
        let res = self
            .post("/slack/interactivity", interaction_form(&payload))
            .await;
        assert_eq!(res.status(), 200, "{}", self.log());
    }

    /// `/incident <text>` in `channel`; returns the acked answer.
    async fn command(&self, channel: &str, text: &str) -> Value {
        let res = self
            .post("/slack/commands", command_form(DECLARER, channel, text))
            .await;
        assert_eq!(res.status(), 200, "{}", self.log());
        res.json().await.unwrap()
    }

    /// Waits until no job is pending or running.
    async fn wait_idle(&self, db: &Path) {
        self.wait_unfinished(db, 0).await;
    }

    /// Waits until only one job is unfinished (one held up on purpose).
    async fn wait_idle_but_one(&self, db: &Path) {
        self.wait_unfinished(db, 1).await;
    }

    async fn wait_unfinished(&self, db: &Path, left: i64) {
        let unfinished = "SELECT COUNT(*) FROM jobs WHERE state IN ('pending', 'running')";
        eventually(&format!("at most {left} unfinished jobs"), || async {
            if count_at(db, unfinished).await <= left {
                Ok(())
            } else {
                Err(format!(
                    "jobs still unfinished: {:?}\n{}",
                    jobs(db).await,
                    self.log()
                ))
            }
        })
        .await
    }
}

impl Drop for Warroom {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn db_path(dir: &Path) -> PathBuf {
    dir.join("warroom.db")
}

/// One text column of one row (None for no row or NULL).
async fn text_at(db: &Path, sql: &'static str) -> Option<String> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let v: Option<Option<String>> = sqlx::query_scalar(sql).fetch_optional(&pool).await.unwrap();
    pool.close().await;
    v.flatten()
}

/// Every job as (kind, state, attempts), in order.
async fn jobs(db: &Path) -> Vec<(String, String, i64)> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let rows = sqlx::query_as("SELECT kind, state, attempts FROM jobs ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows
}

fn job(kind: &str, state: &str, attempts: i64) -> (String, String, i64) {
    (kind.to_string(), state.to_string(), attempts)
}

/// The declaration's five jobs, all done, with how often each was tried.
fn all_done(attempts: [i64; 5]) -> Vec<(String, String, i64)> {
    let kinds = [
        "create_channel",
        "invite",
        "sync_topic",
        "sync_board",
        "sync_announcement",
    ];
    kinds
        .iter()
        .zip(attempts)
        .map(|(k, a)| job(k, "done", a))
        .collect()
}

/// Calls to `method` that went to `channel`.
#[tokio::test]
async fn killed_after_slack_created_the_war_room_the_next_start_adopts_it() {
    let slack = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = db_path(dir.path());
    // Slack creates the channel; its answer never reaches the bot.
    slack.fail_next("conversations.create", Failure::Hang, 1);
    let first = Warroom::start(dir.path(), &slack).await;
    first.declare("V-crash-1").await;
    let room = slack
        .eventually("Slack to create the war room", |s| {
            s.channel_named_like("inc-1-").first().map(|c| c.id.clone())
        })
        .await;
    let first_pid = first.kill();

    // The dead process had not recorded the channel; all of the
    // declaration's work was left unfinished.
    assert_eq!(
        text_at(&db, "SELECT channel_id FROM incidents WHERE number = 1").await,
        None
    );
    assert_eq!(
        jobs(&db).await,
        vec![
            job("create_channel", "running", 1),
            job("invite", "pending", 0),
            job("sync_topic", "pending", 0),
            job("sync_board", "pending", 0),
            job("sync_announcement", "pending", 0),
        ]
    );

    let second = Warroom::start(dir.path(), &slack).await;
    assert_ne!(second.pid(), first_pid, "a new process");
    second.wait_idle(&db).await;

    // The retry met name_taken and adopted the bot's own channel: no `-2`.
    assert_eq!(slack.calls("conversations.create").len(), 2);
    let rooms = slack.channel_named_like("inc-1");
    assert_eq!(rooms.len(), 1, "one war room: {rooms:?}");
    assert_eq!(rooms[0].id, room);
    assert_eq!(rooms[0].name, "inc-1-checkout-returns-500");
    assert_eq!(
        text_at(&db, "SELECT channel_id FROM incidents WHERE number = 1").await,
        Some(room.clone())
    );
    // Everything after it happened once, in the adopted room.
    assert_eq!(slack.calls_in("conversations.invite", &room), 1);
    assert_eq!(
        rooms[0].members.iter().filter(|m| *m == DECLARER).count(),
        1
    );
    assert!(rooms[0].topic.starts_with("INC-1"), "{}", rooms[0].topic);
    let boards = slack.messages_in(&room);
    assert_eq!(boards.len(), 1, "one board: {boards:#?}");
    assert_eq!(
        text_at(&db, "SELECT board_ts FROM incidents WHERE number = 1").await,
        Some(boards[0].ts.clone())
    );
    let announcements = slack.messages_in(ORIGIN);
    assert_eq!(announcements.len(), 1, "one announcement");
    assert_eq!(
        text_at(&db, "SELECT announce_ts FROM incidents WHERE number = 1").await,
        Some(announcements[0].ts.clone())
    );
    assert_eq!(jobs(&db).await, all_done([2, 1, 1, 1, 1]));
}

#[tokio::test]
async fn killed_with_a_post_in_flight_and_jobs_pending_the_next_start_posts_each_once() {
    let slack = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = db_path(dir.path());
    // Slack posts the role board; its answer never reaches the bot. (The
    // announcement, posted beside it, is answered.)
    slack.fail_next_in("chat.postMessage", "inc-1-", Failure::Hang, 1);
    let first = Warroom::start(dir.path(), &slack).await;
    first.declare("V-crash-1").await;
    let room = slack
        .eventually("the war room", |s| {
            s.channel_named_like("inc-1-").first().map(|c| c.id.clone())
        })
        .await;
    let board = slack
        .eventually("the role board", |s| s.messages_in(&room).first().cloned())
        .await;
    // The rest does not wait for the board (it writes other objects).
    first.wait_idle_but_one(&db).await;
    let first_pid = first.kill();

    // The board's job was in flight.
    assert_eq!(
        jobs(&db).await,
        vec![
            job("create_channel", "done", 1),
            job("invite", "done", 1),
            job("sync_topic", "done", 1),
            job("sync_board", "running", 1),
            job("sync_announcement", "done", 1),
        ]
    );
    assert_eq!(
        text_at(&db, "SELECT board_ts FROM incidents WHERE number = 1").await,
        None,
        "the board was never recorded"
    );

    let second = Warroom::start(dir.path(), &slack).await;
    assert_ne!(second.pid(), first_pid, "a new process");
    second.wait_idle(&db).await;

    // The retry found the board by its job id instead of posting another.
    let boards = slack.messages_in(&room);
    assert_eq!(boards.len(), 1, "one board: {boards:#?}");
    assert_eq!(boards[0].ts, board.ts);
    assert_eq!(boards[0].body["metadata"]["event_type"], "warroom_job");
    assert_eq!(slack.calls_in("conversations.history", &room), 1);
    assert_eq!(
        text_at(&db, "SELECT board_ts FROM incidents WHERE number = 1").await,
        Some(board.ts.clone()),
        "the found board is the one kept current"
    );
    let announcements = slack.messages_in(ORIGIN);
    assert_eq!(announcements.len(), 1, "one announcement");
    assert_eq!(
        slack.calls("chat.postMessage").len(),
        2,
        "the board once, the announcement once"
    );
    assert_eq!(jobs(&db).await, all_done([1, 1, 1, 2, 1]));
}

#[tokio::test]
async fn killed_right_after_acking_a_change_the_next_start_syncs_slack_once() {
    let slack = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = db_path(dir.path());
    let first = Warroom::start(dir.path(), &slack).await;
    first.declare("V-crash-1").await;
    first.wait_idle(&db).await;
    let room = text_at(&db, "SELECT channel_id FROM incidents WHERE number = 1")
        .await
        .unwrap();
    let board = slack.messages_in(&room)[0].ts.clone();
    let announcement = slack.messages_in(ORIGIN)[0].ts.clone();

    // The first Slack call the change needs does not come back before the
    // kill (nor does Slack act on it while the test runs).
    slack.fail_next(
        "conversations.setTopic",
        Failure::Slow(Duration::from_secs(3600)),
        1,
    );
    let answer = first.command(&room, "severity SEV1").await;
    assert!(
        answer["text"].as_str().unwrap_or_default().contains("SEV1"),
        "{answer}"
    );
    slack
        .eventually("the topic call", |s| {
            (s.calls_in("conversations.setTopic", &room) == 2).then_some(())
        })
        .await;
    // A stuck topic holds back neither the board nor the announcement.
    first.wait_idle_but_one(&db).await;
    let first_pid = first.kill();

    // The ack came after the change and its work were stored together.
    assert_eq!(
        text_at(&db, "SELECT severity FROM incidents WHERE number = 1").await,
        Some("SEV1".to_string())
    );
    assert_eq!(
        jobs(&db).await[5..],
        [
            job("sync_topic", "running", 1),
            job("sync_board", "done", 1),
            job("sync_announcement", "done", 1),
        ]
    );
    assert!(slack.channel(&room).unwrap().topic.contains("SEV2"));

    let second = Warroom::start(dir.path(), &slack).await;
    assert_ne!(second.pid(), first_pid, "a new process");
    second.wait_idle(&db).await;

    // Topic, board and announcement now say SEV1, each brought in line once.
    let topic = slack.channel(&room).unwrap().topic;
    assert!(topic.contains("SEV1"), "{topic}");
    assert_eq!(slack.calls_in("conversations.setTopic", &room), 3);
    let boards = slack.messages_in(&room);
    assert_eq!(boards.len(), 1, "edited, not posted again: {boards:#?}");
    assert_eq!(
        (boards[0].ts.as_str(), boards[0].edits),
        (board.as_str(), 1)
    );
    assert!(boards[0].body.to_string().contains("SEV1"));
    let announcements = slack.messages_in(ORIGIN);
    assert_eq!(announcements.len(), 1);
    assert_eq!(
        (announcements[0].ts.as_str(), announcements[0].edits),
        (announcement.as_str(), 1)
    );
    assert!(announcements[0].body.to_string().contains("SEV1"));
    assert_eq!(slack.calls("chat.update").len(), 2);
    assert_eq!(
        slack.calls("chat.postMessage").len(),
        2,
        "nothing new posted"
    );
    let after = jobs(&db).await;
    assert_eq!(
        after[5..],
        [
            job("sync_topic", "done", 2),
            job("sync_board", "done", 1),
            job("sync_announcement", "done", 1),
        ]
    );
    assert!(
        after.iter().all(|(_, state, _)| state == "done"),
        "{after:?}"
    );
}

/// Killed after Slack shared the postmortem file but before the job was
/// recorded done: the retry finds the summary by its metadata and the file
/// by its title (`files.list` since the job was queued), and shares neither
/// again.
#[tokio::test]
async fn killed_after_slack_completed_the_postmortem_upload_the_next_start_does_not_repeat_it() {
    let slack = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = db_path(dir.path());
    let first = Warroom::start(dir.path(), &slack).await;
    first.declare("V-crash-1").await;
    first.wait_idle(&db).await;
    let room = text_at(&db, "SELECT channel_id FROM incidents WHERE number = 1")
        .await
        .unwrap();
    // Slack shares the draft; its answer never reaches the bot.
    slack.fail_next("files.completeUploadExternal", Failure::Hang, 1);
    first.command(&room, "close").await;
    slack
        .eventually("the shared draft", |s| {
            (s.files_in(&room).len() == 1).then_some(())
        })
        .await;
    let first_pid = first.kill();
    assert_eq!(
        jobs(&db).await.last(),
        Some(&job("post_postmortem", "running", 1))
    );

    let second = Warroom::start(dir.path(), &slack).await;
    assert_ne!(second.pid(), first_pid, "a new process");
    second.wait_idle(&db).await;

    let summaries = slack
        .messages_in(&room)
        .iter()
        .filter(|m| m.body["text"] == "Postmortem draft for INC-1")
        .count();
    assert_eq!(summaries, 1, "the summary is found, not posted again");
    assert_eq!(
        jobs(&db).await.last(),
        Some(&job("post_postmortem", "done", 2))
    );
    let files = slack.files_in(&room);
    assert_eq!(
        files.len(),
        1,
        "one draft: {:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn killed_right_after_acking_alerts_the_next_start_opens_the_war_room_and_card_once() {
    use crate::alerts::{AM_TOKEN, ANNOUNCE, alert, am_body};
    let slack = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = db_path(dir.path());
    std::fs::write(dir.path().join("warroom.toml"), crate::alerts::TOML).unwrap();
    // Slack does what it is asked but its answers never come back, so the
    // first process records none of the work it queued.
    slack.fail_next("conversations.create", Failure::Hang, 1);
    slack.fail_next("chat.postMessage", Failure::Hang, 10);
    let first = Warroom::start(dir.path(), &slack).await;
    let now = chrono::Utc::now();
    let url = format!("http://{}/hooks/alerts/am", first.addr);
    for (key, severity) in [("critical-group", "critical"), ("warning-group", "warning")] {
        let res = first
            .http
            .post(&url)
            .header("authorization", format!("Bearer {AM_TOKEN}"))
            .body(am_body(key, &[alert("Crash", 1, severity, now)]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", first.log());
    }
    let first_pid = first.kill();
    assert_eq!(count_at(&db, "SELECT COUNT(*) FROM incidents").await, 1);
    assert_eq!(count_at(&db, "SELECT COUNT(*) FROM alert_groups").await, 2);

    let second = Warroom::start(dir.path(), &slack).await;
    assert_ne!(second.pid(), first_pid, "a new process");
    second.wait_idle(&db).await;
    assert_eq!(slack.channel_named_like("inc-1-").len(), 1, "one war room");
    let cards = slack
        .messages_in(ANNOUNCE)
        .into_iter()
        .filter(|m| m.body.to_string().contains("alert-head"))
        .count();
    assert_eq!(cards, 1, "one card");
    // The alerts sent again (Alertmanager repeats): still one of each.
    for (key, severity) in [("critical-group", "critical"), ("warning-group", "warning")] {
        let res = second
            .http
            .post(format!("http://{}/hooks/alerts/am", second.addr))
            .header("authorization", format!("Bearer {AM_TOKEN}"))
            .body(am_body(key, &[alert("Crash", 1, severity, now)]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    second.wait_idle(&db).await;
    assert_eq!(count_at(&db, "SELECT COUNT(*) FROM incidents").await, 1);
    assert_eq!(slack.channel_named_like("inc-").len(), 1);
}

/// Killed while a webhook delivery was in flight (the receiver had not
/// answered) and with more waiting behind it: the next start delivers each
/// event once more, with the id it had, in order. At-least-once after a
/// crash: the receiver may see the in-flight one twice, with one id.
#[tokio::test]
async fn killed_with_a_webhook_in_flight_the_next_start_delivers_every_event_with_its_id() {
    use crate::webhooks::{Answer, Receiver};
    let slack = FakeSlack::start().await;
    let receiver = Receiver::start().await;
    receiver.plan("sink", vec![Answer::Hang]);
    let dir = tempfile::tempdir().unwrap();
    let db = db_path(dir.path());
    std::fs::write(dir.path().join("warroom.toml"), receiver.toml("sink", "")).unwrap();
    let first = Warroom::start(dir.path(), &slack).await;
    first.declare("V-1").await;
    first.wait_idle(&db).await;
    eventually("the first delivery in flight", || async {
        let n = receiver.got("sink").len();
        if n == 1 { Ok(()) } else { Err(n) }
    })
    .await;
    let events = count_at(&db, "SELECT COUNT(*) FROM incident_events").await;
    assert!(events >= 2, "declared and its lead assigned: {events}");
    first.kill();
    assert_eq!(
        count_at(
            &db,
            "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'"
        )
        .await,
        events,
        "nothing recorded as delivered"
    );
    let second = Warroom::start(dir.path(), &slack).await;
    eventually("every event delivered", || async {
        let left = count_at(
            &db,
            "SELECT COUNT(*) FROM webhook_deliveries WHERE state <> 'delivered'",
        )
        .await;
        if left == 0 { Ok(()) } else { Err(second.log()) }
    })
    .await;
    let got = receiver.got("sink");
    assert_eq!(
        got.len() as i64,
        events + 1,
        "the in-flight one again, the rest once"
    );
    assert_eq!(got[1].id, got[0].id, "the same webhook-id after the crash");
    let mut ids: Vec<&str> = got[1..].iter().map(|g| g.id.as_str()).collect();
    let in_order = ids.clone();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        in_order.len(),
        "each event once after the restart"
    );
}
