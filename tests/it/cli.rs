//! The `warroom` binary itself: help, start-up refusals, migrate, and a
//! served request whose logs must not carry secrets.

use crate::fake_slack::FakeSlack;
use crate::helpers::{ORIGIN, SECRET, TOKEN};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn warroom(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warroom"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd
}

#[test]
fn help_lists_the_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let out = warroom(dir.path()).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("serve") && text.contains("migrate") && text.contains("--config"),
        "{text}"
    );
    let out = warroom(dir.path()).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("warroom "));
}

fn refusal(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = warroom(dir)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(!out.status.success(), "must refuse to start");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr
}

#[test]
fn start_up_refuses_bad_configuration_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let line = refusal(dir.path(), &[], &["serve"]);
    assert!(line.contains("SLACK_BOT_TOKEN"), "{line}");
    let tokens = [("SLACK_BOT_TOKEN", TOKEN), ("SLACK_SIGNING_SECRET", SECRET)];
    let line = refusal(
        dir.path(),
        &[tokens[0], tokens[1], ("WARROOM_BOGUS", "1")],
        &["serve"],
    );
    assert!(line.contains("bogus"), "{line}");
    let line = refusal(
        dir.path(),
        &[
            tokens[0],
            tokens[1],
            ("WARROOM_REMINDERS__COMMS_DUE_AFTER", "an hour"),
        ],
        &["serve"],
    );
    assert!(line.contains("reminders.comms_due_after"), "{line}");
    let line = refusal(dir.path(), &[], &["--config", "missing.toml", "serve"]);
    assert!(line.contains("missing.toml"), "{line}");
    std::fs::write(dir.path().join("broken.md.j2"), "{% if %}").unwrap();
    let template = ("WARROOM_POSTMORTEM__TEMPLATE", "broken.md.j2");
    let line = refusal(dir.path(), &[tokens[0], tokens[1], template], &["serve"]);
    assert!(line.contains("postmortem.template is broken"), "{line}");
    std::fs::write(
        dir.path().join("warroom.toml"),
        "[reminders]\nnudge = \"5m\"\n",
    )
    .unwrap();
    let line = refusal(dir.path(), &[tokens[0], tokens[1]], &["serve"]);
    assert!(line.contains("nudge"), "{line}");
    assert!(!line.contains(SECRET) && !line.contains(TOKEN));
}

#[test]
fn migrate_creates_the_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = warroom(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.path().join("warroom.db").exists(),
        "default sqlite://warroom.db"
    );
}

#[ignore = "needs WARROOM_TEST_POSTGRES_URL (a PostgreSQL server); .ci/run sets it"]
#[tokio::test]
async fn migrate_creates_the_postgres_schema() {
    let db = crate::pg::TestDb::create("migrate_creates_the_postgres_schema").await;
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = warroom(dir.path())
            .arg("migrate")
            .env("WARROOM_DATABASE_URL", &db.url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    for table in ["incidents", "jobs", "slack_events", "timeline_entries"] {
        assert!(tables.iter().any(|t| t == table), "{table} in {tables:?}");
    }
    assert!(!dir.path().join("warroom.db").exists(), "no SQLite file");
}

#[tokio::test]
async fn serve_handles_a_request_and_never_logs_secrets() {
    let slack = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let child = warroom(dir.path())
        .arg("serve")
        .env("SLACK_BOT_TOKEN", TOKEN)
        .env("SLACK_SIGNING_SECRET", SECRET)
        .env("WARROOM_LISTEN", "127.0.0.1:0")
        .env("WARROOM_SLACK__API_URL", &slack.base_url)
        .env("WARROOM_LOG", "trace")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stderr = child.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut log = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(crate::helpers::PATIENCE)
            .expect("warroom did not start");
        log.push(line.clone());
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let body = serde_urlencoded::to_string([
        ("command", "/incident"),
        ("text", "declare Logged"),
        ("user_id", "UALICE"),
        ("channel_id", ORIGIN),
        ("trigger_id", "1.2.3"),
    ])
    .unwrap();
    let ts = chrono::Utc::now().timestamp().to_string();
    let sig =
        warroom::slack::signature::sign(&secrecy::SecretString::from(SECRET), &ts, body.as_bytes());
    let client = reqwest::Client::new();
    let res = client
        .post(format!("http://{addr}/slack/commands"))
        .header("x-slack-request-timestamp", &ts)
        .header("x-slack-signature", &sig)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let forged = client
        .post(format!("http://{addr}/slack/commands"))
        .header("x-slack-request-timestamp", &ts)
        .header("x-slack-signature", "v0=deadbeef")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(slack.calls("views.open").len(), 1);
    assert_eq!(
        client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    drop(child);
    log.extend(crate::helpers::rest_of_log(&rx));
    let log = log.join("\n");
    assert!(
        log.contains("views.open") || log.contains("slack_command"),
        "trace logging is on: {log}"
    );
    for secret in [TOKEN, SECRET, sig.as_str()] {
        assert!(!log.contains(secret), "log leaks {secret}");
    }
}

/// Kills the server even when an assertion fails first.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `warroom token create|list|revoke` on the SQLite database: the token is
/// printed once, only its digest is kept, and a revoked one is gone.
#[test]
fn tokens_are_created_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| warroom(dir.path()).args(args).output().unwrap();
    let out = run(&["token", "create", "status-page"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(token.starts_with("wr_") && token.len() == 67, "{token}");
    let db = std::fs::read(dir.path().join("warroom.db")).unwrap();
    assert!(
        !db.windows(token.len()).any(|w| w == token.as_bytes()),
        "the token itself is not stored"
    );
    assert!(
        !run(&["token", "create", "status-page"]).status.success(),
        "names are unique"
    );
    assert!(
        run(&["token", "create", "auditor", "--private"])
            .status
            .success()
    );
    let list = String::from_utf8_lossy(&run(&["token", "list"]).stdout).to_string();
    assert!(
        list.contains("auditor\tprivate") && list.contains("status-page\tpublic"),
        "{list}"
    );
    assert!(!list.contains(&token));
    assert!(run(&["token", "revoke", "status-page"]).status.success());
    assert!(!run(&["token", "revoke", "status-page"]).status.success());
    let list = String::from_utf8_lossy(&run(&["token", "list"]).stdout).to_string();
    assert!(!list.contains("status-page"), "{list}");
}
