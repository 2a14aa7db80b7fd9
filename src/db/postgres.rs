//! PostgreSQL, for deployments that run several `warroom serve` replicas on
//! one database. The SQL is the same as SQLite's; what differs
//! (this file's [`Backend`] implementation):
//! - job claims lock their row with `FOR UPDATE SKIP LOCKED`, so two
//!   replicas never claim the same job and never wait on each other;
//! - a job left running by a replica that died is not released at start
//!   (other replicas may be running theirs): its lease expires instead;
//! - transactions are plain `BEGIN` (READ COMMITTED). A write to an incident
//!   first locks its row (`FOR UPDATE`), so writes to one incident are
//!   serialised across replicas and its jobs' ids follow commit order; what
//!   must happen once is guarded by a unique key (`event_id`,
//!   `declare_view_id`) or a compare-and-set (`fire_reminder`, `finish_job`);
//! - every connection has `lock_timeout` (5 s) and `statement_timeout`
//!   (30 s), so a write stuck behind another replica's lock fails and is
//!   retried rather than waiting as long as that one; migrations, which
//!   wait for each other and may rewrite big tables, run without them.

use super::{Backend, Reader, Result, Tx};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool, Postgres};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a statement waits for a row lock (`lock_timeout`).
const LOCK_TIMEOUT: &str = "5s";
/// How long a statement may run (`statement_timeout`).
const STATEMENT_TIMEOUT: &str = "30s";

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let mut options = PgConnectOptions::from_str(url)?.application_name("warroom");
        // A statement waiting on another replica's row lock, or running
        // away, fails (its request or job is retried) instead of holding
        // a connection for as long as the other takes. Options the URL
        // sets itself are kept.
        let set = options.get_options().unwrap_or_default().to_string();
        for (key, value) in [
            ("lock_timeout", LOCK_TIMEOUT),
            ("statement_timeout", STATEMENT_TIMEOUT),
        ] {
            if !set.contains(key) {
                options = options.options([(key, value)]);
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(10)
            // A database that does not answer fails the request (Slack
            // retries it; a command is told so) well within Slack's 3
            // seconds, rather than holding it past them.
            .acquire_timeout(Duration::from_millis(1500))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }
}

impl Backend for PostgresStore {
    type Db = Postgres;
    const CLAIM_LOCK: &'static str = "FOR UPDATE SKIP LOCKED";
    /// Writes to one incident wait for each other (READ COMMITTED alone would let
    /// two replicas read the same holders and both write).
    const INCIDENT_LOCK: &'static str = "FOR UPDATE";
    /// Other replicas may be running their jobs: nothing is released at
    /// start; a dead replica's claims are taken over when their lease
    /// expires.
    const ONE_PROCESS: bool = false;

    fn reader(&self) -> Reader<'_, Postgres> {
        Reader::new(&self.pool)
    }

    /// Migrations wait for another replica's (sqlx's advisory lock) and
    /// may rewrite big tables: on a connection of their own, without the
    /// timeouts, closed after.
    async fn run_migrations(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?.detach();
        sqlx::raw_sql("SET lock_timeout = 0; SET statement_timeout = 0")
            .execute(&mut conn)
            .await?;
        MIGRATOR.run_direct(None, &mut conn, false).await?;
        conn.close().await?;
        Ok(())
    }

    /// PostgreSQL has its own row locks and pool: no writer lock here.
    async fn write_background(&self) -> Result<Tx<Self>> {
        self.write().await
    }

    async fn write(&self) -> Result<Tx<Self>> {
        Ok(Tx {
            tx: self.pool.begin().await?,
            _writer: None,
        })
    }
}
