//! Reading without the writer: [`Reader`], the pool that only fetches, and
//! [`Read`], the queries it runs.

use sqlx::{Database, Executor, FromRow, IntoArguments, Pool};
use std::future::Future;

/// The pool, for reading only: a query is run on it with [`Read`]'s
/// methods, which return rows and never a write's result:
///
/// ```no_run
/// # async fn f(store: &warroom::db::SqliteStore) -> Result<(), sqlx::Error> {
/// use warroom::db::{Backend, Read};
/// let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM incidents")
///     .read_one(store.reader())
///     .await?;
/// # Ok(())
/// # }
/// ```
///
/// It is no `sqlx::Executor`, so a write on it does not compile; it must
/// begin a [`Tx`], which takes SQLite's writer lock:
///
/// ```compile_fail,E0277
/// # async fn f(store: &warroom::db::SqliteStore) -> Result<(), sqlx::Error> {
/// use warroom::db::Backend;
/// sqlx::query("DELETE FROM jobs").execute(store.reader()).await?;
/// # Ok(())
/// # }
/// ```
pub struct Reader<'p, DB: Database>(&'p Pool<DB>);

impl<'p, DB: Database> Reader<'p, DB> {
    /// For the backends: the pool their reads go to.
    pub(super) fn new(pool: &'p Pool<DB>) -> Self {
        Reader(pool)
    }
}

impl<DB: Database> Clone for Reader<'_, DB> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<DB: Database> Copy for Reader<'_, DB> {}

/// A query run for what it reads, through a [`Reader`]: sqlx's
/// `fetch_one`, `fetch_optional` and `fetch_all`, under other names (the
/// query types' own methods take any executor).
pub trait Read<'q, DB: Database>: Sized + Send + 'q {
    /// A row, or the column a scalar query reads.
    type Item: Send + Unpin;
    fn read_one<'e>(
        self,
        reader: Reader<'e, DB>,
    ) -> impl Future<Output = Result<Self::Item, sqlx::Error>> + Send + 'e
    where
        'q: 'e;
    fn read_optional<'e>(
        self,
        reader: Reader<'e, DB>,
    ) -> impl Future<Output = Result<Option<Self::Item>, sqlx::Error>> + Send + 'e
    where
        'q: 'e;
    fn read_all<'e>(
        self,
        reader: Reader<'e, DB>,
    ) -> impl Future<Output = Result<Vec<Self::Item>, sqlx::Error>> + Send + 'e
    where
        'q: 'e;
}

impl<'q, DB, A> Read<'q, DB> for sqlx::query::Query<'q, DB, A>
where
    DB: Database,
    A: 'q + Send + IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Item = DB::Row;
    fn read_one<'e>(
        self,
        reader: Reader<'e, DB>,
    ) -> impl Future<Output = Result<DB::Row, sqlx::Error>> + Send + 'e
    where
        'q: 'e,
    {
        self.fetch_one(reader.0)
    }
    fn read_optional<'e>(
        self,
        reader: Reader<'e, DB>,
    ) -> impl Future<Output = Result<Option<DB::Row>, sqlx::Error>> + Send + 'e
    where
        'q: 'e,
    {
        self.fetch_optional(reader.0)
    }
    fn read_all<'e>(
        self,
        reader: Reader<'e, DB>,
    ) -> impl Future<Output = Result<Vec<DB::Row>, sqlx::Error>> + Send + 'e
    where
        'q: 'e,
    {
        self.fetch_all(reader.0)
    }
}

impl<'q, DB, O, A> Read<'q, DB> for sqlx::query::QueryScalar<'q, DB, O, A>
where
    DB: Database,
    O: 'q + Send + Unpin,
    A: 'q + Send + IntoArguments<DB>,
    (O,): Send + Unpin + for<'r> FromRow<'r, DB::Row>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Item = O;
    fn read_one<'e>(
        self,
        reader: Reader<'e, DB>,
    ) -> impl Future<Output = Result<O, sqlx::Error>> + Send + 'e
    where
        'q: 'e,
    {
        self.fetch_one(reader.0)
    }
    fn read_optional<'e>(
        self,
        reader: Reader<'e, DB>,
    ) -> impl Future<Output = Result<Option<O>, sqlx::Error>> + Send + 'e
    where
        'q: 'e,
    {
        self.fetch_optional(reader.0)
    }
    fn read_all<'e>(
        self,
        reader: Reader<'e, DB>,
    ) -> impl Future<Output = Result<Vec<O>, sqlx::Error>> + Send + 'e
    where
        'q: 'e,
    {
        self.fetch_all(reader.0)
    }
}
