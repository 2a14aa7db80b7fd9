//! The SQL base that the job queue and the store share, and that knows
//! neither (it uses only the domain types): [`Backend`] (what SQLite
//! and PostgreSQL do differently, in `sqlite.rs` and `postgres.rs`), the
//! write transaction [`Tx`], the read-only [`Reader`], the storage error,
//! times as milliseconds, and [`sql_impl!`], which writes sqlx's bounds
//! once for every generic impl.
//!
//! **Invariant:** code outside this module never holds the pool. It reads
//! through [`Backend::reader`], which runs queries only for their rows
//! ([`Read`]), and writes through a [`Tx`] from [`Backend::write`] or
//! [`Backend::write_background`], which on SQLite holds the writer lock: a
//! write that would skip the lock does not compile.

mod bounds;
mod pace;
mod postgres;
mod read;
mod sqlite;
mod types;

pub(crate) use bounds::sql_impl;
pub use pace::SharedPace;
pub use postgres::PostgresStore;
pub use read::{Read, Reader};
pub use sqlite::SqliteStore;

use crate::domain::IncidentNumber;
use chrono::{DateTime, Utc};
use sqlx::{Database, Transaction};
use std::future::Future;

/// The database failed, or what it holds (or was to hold) cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// A value could not be turned into what the database stores (a job's
    /// or a checklist's JSON, a task number): nothing was written.
    #[error(
        "could not write {0} to the database; nothing was saved. This is a bug in warroom: report it with this message"
    )]
    Serialize(String),
    #[error("incident {0} does not exist")]
    NoIncident(IncidentNumber),
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DATABASE")]
    Unsupported(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Holds the SQLite writer lock (PostgreSQL needs none).
pub type WriterGuard = tokio::sync::OwnedMutexGuard<()>;

/// What a database adds to the shared SQL. Every `Backend` is a store and
/// a job queue through their generic impls (written with [`sql_impl!`]).
pub trait Backend: Send + Sync + Sized + 'static {
    type Db: Database<QueryResult: RowsAffected>;
    /// Appended to the job claim's subquery (`FOR UPDATE SKIP LOCKED`, or
    /// nothing where one writer already serialises claims).
    const CLAIM_LOCK: &'static str;
    /// Appended to a write's read of its incident row (`FOR UPDATE`).
    const INCIDENT_LOCK: &'static str;
    /// Only this process uses the database (SQLite), so at start no job
    /// can still be running elsewhere (see `Queue::release_stale_jobs`).
    const ONE_PROCESS: bool;
    /// Reads outside a transaction (never waiting for the writer).
    fn reader(&self) -> Reader<'_, Self::Db>;
    fn run_migrations(&self) -> impl Future<Output = Result<()>> + Send;
    /// Begins a write transaction for a request (or the scheduler).
    fn write(&self) -> impl Future<Output = Result<Tx<Self>>> + Send;
    /// Begins a write transaction for job bookkeeping, after waiting
    /// requests: a single statement, too, goes through one.
    fn write_background(&self) -> impl Future<Output = Result<Tx<Self>>> + Send;
}

/// How many rows a statement changed (each driver has its own result type).
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::sqlite::SqliteQueryResult::rows_affected(self)
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::postgres::PgQueryResult::rows_affected(self)
    }
}

/// A write transaction, holding the writer lock (if any) until it ends.
/// Its SQL helpers are added where they belong: the queue's (enqueueing)
/// and the store's (incident locks, guards, effects).
pub struct Tx<B: Backend> {
    pub(crate) tx: Transaction<'static, B::Db>,
    pub(crate) _writer: Option<WriterGuard>,
}

impl<B: Backend> Tx<B> {
    /// Commits, then lets the next writer in.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl<B: Backend> std::ops::Deref for Tx<B> {
    type Target = <B::Db as Database>::Connection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl<B: Backend> std::ops::DerefMut for Tx<B> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        sqlite::note_disk_error(&e);
        StoreError::Db(e)
    }
}

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("time {ms}")))
}
