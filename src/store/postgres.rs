//! PostgreSQL, for deployments that run several `warroom serve` replicas on
//! one database. The SQL is the same as SQLite's (`sql.rs`); what differs:
//! - job claims lock their row with `FOR UPDATE SKIP LOCKED`, so two
//!   replicas never claim the same job and never wait on each other;
//! - a job left running by a replica that died is not released at start
//!   (other replicas may be running theirs): its lease expires instead;
//! - transactions are plain `BEGIN` (READ COMMITTED). A write to an incident
//!   first locks its row (`FOR UPDATE`), so writes to one incident are
//!   serialised across replicas and its jobs' ids follow commit order; what
//!   must happen once is guarded by a unique key (`event_id`,
//!   `declare_view_id`) or a compare-and-set (`fire_reminder`, `finish_job`).

use super::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, Row, Transaction};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

type Db = Postgres;
type DbRow = PgRow;
type ThisStore = PostgresStore;
const CLAIM_LOCK: &str = "FOR UPDATE SKIP LOCKED";
/// Writes to one incident wait for each other (READ COMMITTED alone would let
/// two replicas read the same holders and both write).
const INCIDENT_LOCK: &str = "FOR UPDATE";

pub struct PostgresStore {
    pool: PgPool,
}

/// A write transaction (PostgreSQL needs no writer lock of ours).
pub struct Tx {
    tx: Transaction<'static, Postgres>,
    _writer: Option<()>,
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

    /// PostgreSQL has its own row locks and pool: no writer lock here.
    async fn background_writer(&self) -> Option<()> {
        None
    }

    async fn write_background(&self) -> Result<Tx> {
        self.write().await
    }

    async fn write(&self) -> Result<Tx> {
        Ok(Tx {
            tx: self.pool.begin().await?,
            _writer: None,
        })
    }

    /// Other replicas may be running their jobs: nothing is released here;
    /// a dead replica's claims are taken over when their lease expires.
    async fn release_stale(&self) -> Result<u64> {
        Ok(0)
    }
}

include!("sql.rs");
