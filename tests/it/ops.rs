//! Operating warroom through its binary: `warroom check` against the fake
//! Slack, `warroom backup` while the server writes, the admin port, JSON
//! logs and a graceful stop on SIGTERM.

use crate::fake_slack::{Failure, FakeSlack};
use crate::helpers::{
    DECLARER, DeclareInput, ORIGIN, SECRET, Setup, SlackEventually, TOKEN, TestApp,
    declare_submission, eventually, interaction_form,
};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn warroom(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warroom"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

async fn check(dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = warroom(dir);
    cmd.arg("check").envs(env.iter().copied());
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[test]
fn bot_scopes_are_the_manifests() {
    let manifest: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/manifest.yml")).unwrap(),
    )
    .unwrap();
    let asked: Vec<&str> = manifest["oauth_config"]["scopes"]["bot"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(asked, warroom::slack::probe::BOT_SCOPES);
    // README's list of scopes, each with what it is for, names every one.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for scope in warroom::slack::probe::BOT_SCOPES {
        assert!(
            readme.contains(&format!("`{scope}`")),
            "README does not say what the `{scope}` scope is for"
        );
    }
}

#[tokio::test]
async fn check_passes_when_slack_is_set_up() {
    let slack = FakeSlack::start().await;
    slack.add_channel("CANNOUNCE", "incidents", true);
    let dir = tempfile::tempdir().unwrap();
    let out = check(
        dir.path(),
        &[
            ("SLACK_BOT_TOKEN", TOKEN),
            ("SLACK_SIGNING_SECRET", SECRET),
            ("WARROOM_SLACK__API_URL", &slack.base_url),
            ("WARROOM_ANNOUNCE_CHANNEL", "CANNOUNCE"),
        ],
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    assert!(lines.iter().all(|l| l.starts_with("✓ ")), "{stdout}");
    assert!(
        stdout.contains("@warroom (UBOTWARROOM) in Acme"),
        "{stdout}"
    );
    let all = format!(
        "all {} that manifest.yml asks for",
        warroom::slack::probe::BOT_SCOPES.len()
    );
    assert!(stdout.contains(&all), "{stdout}");
    assert!(
        stdout.contains("CANNOUNCE (#incidents): the bot is a member"),
        "{stdout}"
    );
    assert_eq!(slack.calls("auth.test").len(), 1);
    let info = slack.calls("conversations.info");
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].body["channel"], "CANNOUNCE");
    // A public channel the bot is not in is fine with chat:write.public.
    slack.add_channel("CPUBLIC", "status", false);
    let out = check(
        dir.path(),
        &[
            ("SLACK_BOT_TOKEN", TOKEN),
            ("SLACK_SIGNING_SECRET", SECRET),
            ("WARROOM_SLACK__API_URL", &slack.base_url),
            ("WARROOM_ANNOUNCE_CHANNEL", "CPUBLIC"),
        ],
    )
    .await;
    let (stdout, _) = text(&out);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("chat:write.public"), "{stdout}");
}

#[tokio::test]
async fn check_names_each_problem_and_what_to_do() {
    let slack = FakeSlack::start().await;
    let all = warroom::slack::probe::BOT_SCOPES;
    let fewer: Vec<&str> = all
        .iter()
        .copied()
        .filter(|s| !matches!(*s, "files:read" | "chat:write.public"))
        .collect();
    slack.set_scopes(&fewer);
    slack.add_channel("CSECRET", "sec-ops", false);
    slack.make_private("CSECRET");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.md.j2"), "{% if %}").unwrap();
    let env = [
        ("SLACK_BOT_TOKEN", TOKEN),
        ("SLACK_SIGNING_SECRET", SECRET),
        ("WARROOM_SLACK__API_URL", slack.base_url.as_str()),
        ("WARROOM_ANNOUNCE_CHANNEL", "CSECRET"),
        ("WARROOM_POSTMORTEM__TEMPLATE", "broken.md.j2"),
    ];
    let out = check(dir.path(), &env).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let failed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("✗ ")).collect();
    assert_eq!(failed.len(), 3, "{stdout}");
    assert!(
        failed[0].contains("lacks chat:write.public, files:read")
            && failed[0].contains("reinstall the app"),
        "{stdout}"
    );
    assert!(
        failed[1].contains("CSECRET (#sec-ops)") && failed[1].contains("/invite @warroom"),
        "{stdout}"
    );
    assert!(
        failed[2].contains("postmortem.template") && failed[2].contains("broken.md.j2"),
        "{stdout}"
    );
    assert!(stderr.contains("3 check(s) failed"), "{stderr}");

    // An unknown channel, then a token Slack refuses.
    let env = [
        ("SLACK_BOT_TOKEN", TOKEN),
        ("SLACK_SIGNING_SECRET", SECRET),
        ("WARROOM_SLACK__API_URL", slack.base_url.as_str()),
        ("WARROOM_ANNOUNCE_CHANNEL", "CNOWHERE"),
    ];
    let out = check(dir.path(), &env).await;
    let (stdout, _) = text(&out);
    assert!(!out.status.success());
    assert!(
        stdout.contains("✗ announce_channel CNOWHERE: Slack answered channel_not_found"),
        "{stdout}"
    );
    let wrong = "xoxb-revoked-token";
    let env = [
        ("SLACK_BOT_TOKEN", wrong),
        ("SLACK_SIGNING_SECRET", SECRET),
        ("WARROOM_SLACK__API_URL", slack.base_url.as_str()),
    ];
    let out = check(dir.path(), &env).await;
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stdout.contains("✗ Slack refused the bot token (not_authed)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("✓ built-in postmortem template"),
        "{stdout}"
    );
    assert!(!stdout.contains(wrong) && !stderr.contains(wrong));
    // A configuration that cannot be read is the first failed check.
    let out = check(dir.path(), &[("WARROOM_TIMEZONE", "Mars/Olympus")]).await;
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.starts_with("✗ configuration: `timezone` is not an IANA"),
        "{stdout}"
    );
    // Nothing configured: one line for the credentials, the rest still runs.
    let out = check(dir.path(), &[]).await;
    let (stdout, _) = text(&out);
    assert!(!out.status.success());
    assert!(stdout.contains("✗ Slack credentials"), "{stdout}");
}

#[tokio::test]
async fn backup_copies_a_consistent_database_while_the_server_writes() {
    let app = TestApp::spawn(Setup::default()).await;
    let url = format!("sqlite://{}", app.db_path().display());
    let out_dir = tempfile::tempdir().unwrap();
    // Declarations keep coming until every copy is taken, and a few after.
    let copying = std::sync::atomic::AtomicBool::new(true);
    let writes = async {
        let mut i = 0;
        let mut after = 0;
        while after < 5 {
            if !copying.load(std::sync::atomic::Ordering::SeqCst) {
                after += 1;
            }
            let res = app
                .submit_declare(
                    DECLARER,
                    &format!("V-backup-{i}"),
                    DeclareInput {
                        title: format!("Backup load {i}"),
                        ..DeclareInput::default()
                    },
                )
                .await;
            assert_eq!(res.status(), 200);
            i += 1;
        }
        i
    };
    let backups = async {
        let mut copies = Vec::new();
        let mut declared = 0;
        for n in 0..3 {
            // Each copy is taken after more declarations have landed.
            declared = eventually("more declarations", || async {
                let now = app.count("SELECT COUNT(*) FROM incidents").await;
                if now > declared { Ok(now) } else { Err(now) }
            })
            .await;
            let path = out_dir.path().join(format!("copy-{n}.db"));
            let mut cmd = warroom(out_dir.path());
            cmd.arg("backup")
                .arg(&path)
                .env("WARROOM_DATABASE_URL", &url);
            let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
                .await
                .unwrap();
            let (stdout, stderr) = text(&out);
            assert!(out.status.success(), "{stdout}\n{stderr}");
            assert!(stdout.contains("integrity ok"), "{stdout}");
            copies.push(path);
        }
        copying.store(false, std::sync::atomic::Ordering::SeqCst);
        copies
    };
    let (written, copies) = tokio::join!(writes, backups);
    let mut seen = Vec::new();
    for copy in &copies {
        let incidents = crate::helpers::count_at(copy, "SELECT COUNT(*) FROM incidents").await;
        // Each declaration wrote its incident, timeline entry and jobs in
        // one transaction: a copy holds all of them or none.
        let orphans = crate::helpers::count_at(
            copy,
            "SELECT COUNT(*) FROM incidents i WHERE NOT EXISTS \
             (SELECT 1 FROM timeline_entries t WHERE t.incident_number = i.number) \
             OR NOT EXISTS (SELECT 1 FROM jobs j WHERE j.incident_number = i.number)",
        )
        .await;
        assert_eq!(orphans, 0, "{copy:?}");
        seen.push(incidents);
    }
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    let total = app.count("SELECT COUNT(*) FROM incidents").await;
    assert_eq!(total, written);
    assert!(seen[0] > 0, "the first copy has the first writes: {seen:?}");
    assert!(
        seen[2] < total,
        "writes went on while and after the copies were taken: {seen:?} of {total}"
    );

    // Never overwrites; PostgreSQL is pg_dump's job.
    let out = warroom(out_dir.path())
        .arg("backup")
        .arg(&copies[0])
        .env("WARROOM_DATABASE_URL", &url)
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("already exists"), "{stderr}");
    let out = warroom(out_dir.path())
        .args(["backup", "x.db"])
        .env("WARROOM_DATABASE_URL", "postgres://u@127.0.0.1:1/db")
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(stderr.contains("pg_dump"), "{stderr}");
    // A mistyped path is not backed up as an empty database.
    let out = warroom(out_dir.path())
        .args(["backup", "y.db"])
        .env("WARROOM_DATABASE_URL", "sqlite://no-such.db")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!out_dir.path().join("no-such.db").exists());
}

/// Kills the server even when an assertion fails first.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(unix)]
#[tokio::test]
async fn admin_port_json_logs_and_a_graceful_stop() {
    let slack = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let child = warroom(dir.path())
        .arg("serve")
        .env("SLACK_BOT_TOKEN", TOKEN)
        .env("SLACK_SIGNING_SECRET", SECRET)
        .env("WARROOM_LISTEN", "127.0.0.1:0")
        .env("WARROOM_ADMIN_LISTEN", "127.0.0.1:0")
        .env("WARROOM_SLACK__API_URL", &slack.base_url)
        .env("WARROOM_LOG__FORMAT", "json")
        .env("WARROOM_LOG", "debug")
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
    let mut log: Vec<serde_json::Value> = Vec::new();
    let (addr, admin) = loop {
        let line = rx
            .recv_timeout(crate::helpers::PATIENCE)
            .expect("warroom did not start");
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        log.push(v.clone());
        if v["fields"]["message"] == "warroom is listening" {
            break (
                v["fields"]["addr"].as_str().unwrap().to_string(),
                v["fields"]["admin"].as_str().unwrap().to_string(),
            );
        }
    };
    let http = reqwest::Client::new();
    let get = |url: String| {
        let http = http.clone();
        async move {
            let res = http.get(url).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    assert_eq!(
        get(format!("http://{admin}/readyz")).await,
        (200, "ready".into())
    );
    assert_eq!(get(format!("http://{admin}/healthz")).await.0, 200);
    assert_eq!(get(format!("http://{admin}/metrics")).await.0, 200);
    // The container HEALTHCHECK's command.
    let mut probe = warroom(dir.path());
    probe.arg("healthcheck").env("WARROOM_ADMIN_LISTEN", &admin);
    let probed = tokio::task::spawn_blocking(move || probe.output().unwrap())
        .await
        .unwrap();
    assert!(probed.status.success(), "{:?}", text(&probed));
    for path in ["/metrics", "/healthz", "/readyz"] {
        assert_eq!(
            get(format!("http://{addr}{path}")).await.0,
            404,
            "{path} is only on the admin port"
        );
    }

    // A declaration whose jobs run: their log lines carry the job's span.
    let submission = declare_submission(
        DECLARER,
        "V-json-1",
        &DeclareInput {
            title: "JSON logs".into(),
            ..DeclareInput::default()
        },
    );
    let res = crate::helpers::post_signed_at(
        &http,
        &format!("http://{addr}/slack/interactivity"),
        chrono::Utc::now().timestamp(),
        "application/x-www-form-urlencoded",
        interaction_form(&submission),
        &[],
    )
    .await;
    assert_eq!(res.status(), 200);
    slack
        .eventually("the role board", |s| {
            s.calls("chat.postMessage")
                .into_iter()
                .find(|c| c.body["channel"] != ORIGIN)
        })
        .await;

    // Every metric a scrape shows is documented in README.
    let (_, metrics) = get(format!("http://{admin}/metrics")).await;
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let names: BTreeSet<&str> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.len() >= 4, "{metrics}");
    for name in names {
        assert!(
            readme.contains(&format!("`{name}")),
            "README does not document {name}"
        );
    }
    // And every value of the closed label sets (`outcome`, `state`).
    for line in metrics.lines().filter(|l| !l.starts_with('#')) {
        for label in ["outcome", "state"] {
            if let Some(rest) = line.split(&format!("{label}=\"")).nth(1) {
                let value = rest.split('"').next().unwrap();
                assert!(
                    readme.contains(&format!("`{value}`")),
                    "README does not document {label}=\"{value}\""
                );
            }
        }
    }
    // SIGTERM while a command waits on a slow views.open: it is answered,
    // then the process exits cleanly.
    slack.fail_next("views.open", Failure::Slow(Duration::from_millis(1500)), 1);
    let slow = tokio::spawn({
        let http = http.clone();
        let url = format!("http://{addr}/slack/commands");
        async move {
            crate::helpers::post_signed_at(
                &http,
                &url,
                chrono::Utc::now().timestamp(),
                "application/x-www-form-urlencoded",
                crate::helpers::command_form(DECLARER, ORIGIN, "declare Slow"),
                &[],
            )
            .await
            .status()
            .as_u16()
        }
    });
    slack
        .eventually("views.open to start", |s| s.calls("views.open").pop())
        .await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(slow.await.unwrap(), 200, "the request in flight finished");
    let status = tokio::task::spawn_blocking(move || {
        let status = child.0.wait().unwrap();
        (child, status)
    })
    .await
    .unwrap()
    .1;
    assert!(status.success(), "{status:?}");
    for line in crate::helpers::rest_of_log(&rx) {
        log.push(serde_json::from_str(&line).unwrap());
    }
    let job_line = log
        .iter()
        .find(|v| v["span"]["name"] == "job" && v["span"]["kind"] == "create_channel")
        .unwrap_or_else(|| panic!("no job log line: {log:#?}"));
    for field in ["id", "incident", "attempt"] {
        assert!(!job_line["span"][field].is_null(), "{field}: {job_line}");
    }
    let all = serde_json::to_string(&log).unwrap();
    assert!(
        !all.contains(TOKEN) && !all.contains(SECRET),
        "a secret leaked"
    );
}
