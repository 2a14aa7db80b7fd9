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
//!   `declare_view_id`) or a compare-and-set (`fire_reminder`, `finish_job`).

use super::{Backend, Reader, Result, Tx};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("warroom");
        let pool = PgPoolOptions::new()
            .max_connections(10)
            // A database that does not answer fails the request (Slack
            // retries it) rather than holding it past Slack's 3 seconds.
            .acquire_timeout(Duration::from_secs(5))
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

    async fn run_migrations(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
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
