//! SQLite: WAL, `synchronous = FULL`, and one writer at a time in this
//! process: every write takes an async lock first (tokio's mutex wakes
//! waiters in order), so writers queue here instead of in SQLite's busy
//! handler, which sleeps in steps of up to 100 ms. Write transactions still
//! open with `BEGIN IMMEDIATE`, and the busy timeout remains for another
//! process (`warroom migrate`) holding the database. The SQL is shared
//! with PostgreSQL (the store's and the queue's); this file is the
//! [`Backend`] implementation.

use super::{Backend, Reader, Result, Tx, WriterGuard};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    pool: SqlitePool,
    /// The one writer: held for each write transaction or statement.
    writer: Arc<tokio::sync::Mutex<()>>,
    /// Request-path writers waiting for `writer`: job bookkeeping lets
    /// them go first, so acks are not starved by the job queue.
    urgent: Arc<(std::sync::atomic::AtomicUsize, tokio::sync::Notify)>,
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
        Ok(Self {
            pool,
            writer: Arc::new(tokio::sync::Mutex::new(())),
            urgent: Arc::default(),
        })
    }

    /// The writer lock for a write a request (or the scheduler) waits on.
    async fn writer(&self) -> Option<WriterGuard> {
        use std::sync::atomic::Ordering;
        let (waiting, freed) = &*self.urgent;
        waiting.fetch_add(1, Ordering::SeqCst);
        let guard = self.writer.clone().lock_owned().await;
        if waiting.fetch_sub(1, Ordering::SeqCst) == 1 {
            freed.notify_waiters();
        }
        Some(guard)
    }

    /// The writer lock for job bookkeeping: after any waiting request.
    async fn background_writer(&self) -> Option<WriterGuard> {
        use std::sync::atomic::Ordering;
        let (waiting, freed) = &*self.urgent;
        loop {
            let notified = freed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if waiting.load(Ordering::SeqCst) == 0 {
                break;
            }
            notified.await;
        }
        Some(self.writer.clone().lock_owned().await)
    }
}

impl Backend for SqliteStore {
    type Db = Sqlite;
    /// SQLite has no row locks; `BEGIN IMMEDIATE` already serialises claims.
    const CLAIM_LOCK: &'static str = "";
    /// No row locks either: `BEGIN IMMEDIATE` serialises every write.
    const INCIDENT_LOCK: &'static str = "";
    /// SQLite is one process: at start, nothing can still be running.
    const ONE_PROCESS: bool = true;

    fn reader(&self) -> Reader<'_, Sqlite> {
        Reader::new(&self.pool)
    }

    /// Migrations write too: under the writer lock.
    async fn run_migrations(&self) -> Result<()> {
        let _writer = self.writer().await;
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn write(&self) -> Result<Tx<Self>> {
        let writer = self.writer().await;
        Ok(Tx {
            tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
            _writer: writer,
        })
    }

    async fn write_background(&self) -> Result<Tx<Self>> {
        let writer = self.background_writer().await;
        Ok(Tx {
            tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
            _writer: writer,
        })
    }
}
