//! A fresh PostgreSQL database per test, on the server
//! `WARROOM_TEST_POSTGRES_URL` names. Tests that need one are
//! `#[ignore = "needs WARROOM_TEST_POSTGRES_URL"]`, so a run without it shows
//! them as ignored (never as a silent pass); `.ci/run` sets the variable and
//! runs them with `--include-ignored`.

use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};

pub const VAR: &str = "WARROOM_TEST_POSTGRES_URL";

/// A database made for one test and dropped when this is dropped (even when
/// the test fails).
pub struct TestDb {
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDb {
    /// A new, empty database on the server `WARROOM_TEST_POSTGRES_URL`
    /// names. A test that asks for one without the variable fails: it was
    /// run on purpose (`--include-ignored`) and must not pass unrun.
    pub async fn create(test: &str) -> TestDb {
        match Self::from_env().await {
            Some(db) => db,
            None => panic!("{test} needs PostgreSQL: set {VAR}=postgres://USER@HOST:PORT/DATABASE"),
        }
    }

    /// Like `create`, or `None` when `WARROOM_TEST_POSTGRES_URL` is unset
    /// (for benchmarks, which say so and stop).
    pub async fn from_env() -> Option<TestDb> {
        let Ok(admin_url) = std::env::var(VAR) else {
            return None;
        };
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "warroom_test_{}_{}_{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_millis()
        );
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{VAR}={admin_url} does not answer: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("{VAR} must end with /DATABASE"),
        };
        Some(TestDb {
            url,
            admin_url,
            name,
        })
    }
}

impl TestDb {
    /// The database refuses every connection, and those open are cut: an
    /// outage as the application sees it (superusers included, unlike a
    /// connection limit).
    pub async fn go_down(&self) {
        let mut conn = sqlx::PgConnection::connect(&self.admin_url).await.unwrap();
        for sql in [
            format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", self.name),
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
                self.name
            ),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        conn.close().await.unwrap();
    }

    /// The database takes connections again.
    pub async fn come_back(&self) {
        let mut conn = sqlx::PgConnection::connect(&self.admin_url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS true",
            self.name
        )))
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
}

/// Settings for replicas on `url` with reminders every second or two: the
/// nudge after 1 s, the firm reminder after 2 s and every second after, the
/// scribe prompt every 3 s. Client-side pacing is off (Slack's would stretch
/// hundreds of posts over minutes; the fake never answers 429).
pub fn fast_reminders_on(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("WARROOM_DATABASE_URL", url.to_string()),
        ("WARROOM_SLACK__RATE_CONTROL", "false".to_string()),
        ("WARROOM_REMINDERS__COMMS_NUDGE_AFTER", "1s".to_string()),
        ("WARROOM_REMINDERS__COMMS_DUE_AFTER", "2s".to_string()),
        ("WARROOM_REMINDERS__SCRIBE_QUIET_AFTER", "3s".to_string()),
    ]
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: a thread of its own can block.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// For each named story, a module of two tests: `on_sqlite` on a fresh
/// SQLite file, and `on_postgres` on a fresh PostgreSQL database (ignored
/// without `WARROOM_TEST_POSTGRES_URL`). Each story is a focused test of its
/// own, so one failing does not hide the others.
#[macro_export]
macro_rules! on_both_backends {
    ($($story:ident),+ $(,)?) => {
        $($crate::on_both_backends!(@one $story, |store, _url| super::$story(store));)+
    };
    // Stories that also read the database themselves get its URL.
    (with_url: $($story:ident),+ $(,)?) => {
        $($crate::on_both_backends!(@one $story, |store, url| super::$story(store, url));)+
    };
    (@one $story:ident, |$store:ident, $url:ident| $call:expr) => {
        mod $story {
            #[tokio::test]
            async fn on_sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("story.db").display());
                let $store = warroom::store::connect(&url).await.unwrap();
                let $url: &str = &url;
                $call.await;
            }

            #[ignore = "needs WARROOM_TEST_POSTGRES_URL (a PostgreSQL server); .ci/run sets it"]
            #[tokio::test]
            async fn on_postgres() {
                let db = $crate::pg::TestDb::create(concat!(module_path!(), "::on_postgres")).await;
                let $store = warroom::store::connect(&db.url).await.unwrap();
                let $url: &str = &db.url;
                $call.await;
            }
        }
    };
}
