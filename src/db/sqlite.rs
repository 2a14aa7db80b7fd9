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

/// When (Unix ms) SQLite last refused a write for its disk: read-only,
/// I/O error, full, cannot open. Connections opened before then are not
/// reused (see the pool's `after_release`). Process-wide: a spurious
/// recycle costs one reopen.
static DISK_FAILED_AT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Notes `e` if it is SQLite refusing a write for its disk.
pub(super) fn note_disk_error(e: &sqlx::Error) {
    let Some(db) = e.as_database_error() else {
        return;
    };
    let primary = db
        .code()
        .and_then(|c| c.parse::<i64>().ok())
        .map(|c| c & 0xff);
    // SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN.
    if matches!(primary, Some(8 | 10 | 13 | 14)) {
        DISK_FAILED_AT.store(now_ms(), std::sync::atomic::Ordering::SeqCst);
    }
}

/// Whether a connection of age `age` was opened before (or when) SQLite
/// last refused a write for its disk.
fn opened_before_disk_failure(age: Duration) -> bool {
    let failed = DISK_FAILED_AT.load(std::sync::atomic::Ordering::SeqCst);
    failed != 0 && now_ms() - i64::try_from(age.as_millis()).unwrap_or(i64::MAX) <= failed
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
            // After a disk outage a connection can be stuck in two ways,
            // each closed on release instead of reused, so writes work again
            // once the disk does
            // (outage::sqlite_rides_out_30_seconds_of_unwritable_files): a
            // COMMIT that failed ends the transaction in SQLite but not in
            // sqlx, which then refuses every later BEGIN (checked once the
            // rollback queued on release is flushed by the ping); and a
            // connection opened while the files were unwritable keeps its
            // write-ahead log read-only for good (closed when it is older
            // than the last write SQLite refused for its disk).
            .after_release(|conn, meta| {
                Box::pin(async move {
                    sqlx::Connection::ping(&mut *conn).await?;
                    if sqlx::Connection::is_in_transaction(&*conn) {
                        return Ok(false);
                    }
                    Ok(!opened_before_disk_failure(meta.age))
                })
            })
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
