//! SQLite: WAL, `synchronous = FULL`, a busy timeout, and write transactions
//! opened with `BEGIN IMMEDIATE` so concurrent writers queue instead of
//! failing with "database is locked".

use super::*;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

type Db = Sqlite;
type DbRow = SqliteRow;
type ThisStore = SqliteStore;
/// SQLite has no row locks; `BEGIN IMMEDIATE` already serialises claims.
const CLAIM_LOCK: &str = "";
/// No row locks either: `BEGIN IMMEDIATE` serialises every write.
const INCIDENT_LOCK: &str = "";

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a write Slack was told about (the ack) survives power loss.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    async fn write(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// SQLite is one process: at start, nothing can still be running.
    async fn release_stale(&self) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE jobs SET state = 'pending', locked_until = NULL WHERE state = 'running'",
        )
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

// The SQL both backends share, written once with `$N` placeholders.
include!("sql.rs");
