//! The store's SQL, written once for both backends. `sqlite.rs` and
//! `postgres.rs` implement [`Backend`] (the pool, how a write transaction
//! begins and waits for the writer, the row locks, migrations, releasing
//! stale jobs); every [`Backend`] is a [`Store`] through the one generic
//! implementation here. Placeholders are `$N`, booleans `TRUE`/`FALSE` and
//! times integer milliseconds, which both databases read the same way.
//! Long because it is the one generic implementation of [`Store`]; the job
//! queue's SQL is in `crate::queue::sql`.
//!
//! The bounds on `Backend::Db` (what sqlx must offer for the column types we
//! use) are written out on the two generic `impl` blocks and the two row
//! readers: Rust does not infer them from `B: Backend`.

use super::*;
use crate::domain::EntryKind;
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Transaction, Type,
};
use std::future::Future;

/// The statuses of incidents no longer open, as a SQL list: the one
/// definition of "open" (`status NOT IN` this) in the store's SQL. It is
/// a macro so that `concat!` splices it into the statements' literals; a
/// unit test holds it equal to `Status::is_open`.
macro_rules! not_open {
    () => {
        "('resolved', 'closed')"
    };
}

/// Holds the SQLite writer lock (PostgreSQL needs none).
pub type WriterGuard = tokio::sync::OwnedMutexGuard<()>;

/// What a database adds to the shared SQL.
pub trait Backend: Send + Sync + Sized + 'static {
    type Db: Database<QueryResult: RowsAffected>;
    /// Appended to the job claim's subquery (`FOR UPDATE SKIP LOCKED`, or
    /// nothing where one writer already serialises claims).
    const CLAIM_LOCK: &'static str;
    /// Appended to a write's read of its incident row (`FOR UPDATE`).
    const INCIDENT_LOCK: &'static str;
    fn pool(&self) -> &Pool<Self::Db>;
    fn run_migrations(&self) -> impl Future<Output = Result<()>> + Send;
    /// Begins a write transaction for a request (or the scheduler).
    fn write(&self) -> impl Future<Output = Result<Tx<Self>>> + Send;
    /// Begins a write transaction for job bookkeeping, after waiting requests.
    fn write_background(&self) -> impl Future<Output = Result<Tx<Self>>> + Send;
    /// The writer lock for a single background statement, if there is one.
    fn background_writer(&self) -> impl Future<Output = Option<WriterGuard>> + Send;
    /// See [`Store::release_stale_jobs`].
    fn release_stale(&self) -> impl Future<Output = Result<u64>> + Send;
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
pub struct Tx<B: Backend> {
    pub(crate) tx: Transaction<'static, B::Db>,
    pub(crate) _writer: Option<WriterGuard>,
}

const INCIDENT_COLUMNS: &str = "number, title, severity, status, summary, security, drill, is_private, declared_by, declared_at, impact_started_at, detected_at, mitigated_at, resolved_at, closed_at, origin_channel, announce_channel, channel_id, channel_name, board_ts, announce_ts, last_update_at, nudge_at, due_at, scribe_at, impact, urgency";

fn incident_from_row<R>(row: &R) -> Result<Incident>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    i64: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    bool: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    String: Type<R::Database> + for<'r> Decode<'r, R::Database>,
{
    let opt_time = |col: &str| -> Result<Option<DateTime<Utc>>> {
        row.try_get::<Option<i64>, _>(col)?
            .map(from_millis)
            .transpose()
    };
    let status: String = row.try_get("status")?;
    Ok(Incident {
        number: row.try_get("number")?,
        title: row.try_get("title")?,
        severity: SeverityName(row.try_get("severity")?),
        status: status
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("status {status}")))?,
        summary: row.try_get("summary")?,
        security: row.try_get("security")?,
        drill: row.try_get("drill")?,
        private: row.try_get("is_private")?,
        declared_by: UserId(row.try_get("declared_by")?),
        declared_at: from_millis(row.try_get("declared_at")?)?,
        impact_started_at: opt_time("impact_started_at")?,
        detected_at: opt_time("detected_at")?,
        mitigated_at: opt_time("mitigated_at")?,
        resolved_at: opt_time("resolved_at")?,
        closed_at: opt_time("closed_at")?,
        origin_channel: ChannelId(row.try_get("origin_channel")?),
        announce_channel: ChannelId(row.try_get("announce_channel")?),
        channel_id: row
            .try_get::<Option<String>, _>("channel_id")?
            .map(ChannelId),
        channel_name: row.try_get("channel_name")?,
        board_ts: row.try_get::<Option<String>, _>("board_ts")?.map(MessageTs),
        announce_ts: row
            .try_get::<Option<String>, _>("announce_ts")?
            .map(MessageTs),
        last_update_at: opt_time("last_update_at")?,
        schedule: crate::domain::comms::Schedule {
            nudge_at: opt_time("nudge_at")?,
            due_at: opt_time("due_at")?,
            scribe_at: opt_time("scribe_at")?,
        },
        assessment: match (
            row.try_get::<Option<String>, _>("impact")?,
            row.try_get::<Option<String>, _>("urgency")?,
        ) {
            (Some(impact), Some(urgency)) => Some(crate::domain::Assessment { impact, urgency }),
            _ => None,
        },
    })
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

impl<B: Backend> Tx<B>
where
    for<'c> &'c mut <B::Db as Database>::Connection: Executor<'c, Database = B::Db>,
    <B::Db as Database>::Arguments: IntoArguments<B::Db>,
    for<'a> &'a str: ColumnIndex<<B::Db as Database>::Row> + Type<B::Db> + Encode<'a, B::Db>,
    usize: ColumnIndex<<B::Db as Database>::Row>,
    i64: Type<B::Db> + for<'q> Encode<'q, B::Db> + for<'r> Decode<'r, B::Db>,
    bool: Type<B::Db> + for<'q> Encode<'q, B::Db> + for<'r> Decode<'r, B::Db>,
    String: Type<B::Db> + for<'q> Encode<'q, B::Db> + for<'r> Decode<'r, B::Db>,
    Option<i64>: for<'q> Encode<'q, B::Db>,
    Option<String>: for<'q> Encode<'q, B::Db>,
    for<'a> Option<&'a str>: Encode<'a, B::Db>,
{
    /// Commits, then lets the next writer in.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Reads an incident inside a write transaction, locking its row: writes
    /// to one incident are serialised (on PostgreSQL, across replicas), so a
    /// read-then-write sees the latest state and job ids follow commit order.
    /// Locks an incident's row for the rest of the transaction (see
    /// [`fetch_incident`]).
    pub(super) async fn lock_incident(&mut self, number: IncidentNumber) -> Result<()> {
        let sql = format!(
            "SELECT number FROM incidents WHERE number = $1 {}",
            B::INCIDENT_LOCK
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(number)
            .fetch_optional(&mut **self)
            .await?
            .ok_or(StoreError::NoIncident(number))?;
        Ok(())
    }

    /// Runs `cas`, a conditional write (a due time moved on, a role released,
    /// a follow-up marked done), and only when it changed a row applies
    /// `effects` in the same transaction and commits. `false`: nothing to do
    /// (another replica, an earlier run or an earlier click did it).
    pub(super) async fn apply_if_changed(
        mut self,
        cas: sqlx::query::Query<'_, B::Db, <B::Db as Database>::Arguments>,
        incident: IncidentNumber,
        effects: Effects,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let moved = cas.execute(&mut *self).await?.rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        self.apply_effects(incident, effects, now).await?;
        self.commit().await?;
        Ok(true)
    }

    pub(super) async fn fetch_incident(&mut self, number: IncidentNumber) -> Result<Incident> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE number = $1 {}",
            B::INCIDENT_LOCK
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(number)
            .fetch_optional(&mut **self)
            .await?
            .ok_or(StoreError::NoIncident(number))?;
        incident_from_row(&row)
    }

    /// Checks `guard` against the locked incident and its roles (see
    /// [`Guard`]); returns the incident as locked.
    pub(super) async fn guarded(
        &mut self,
        number: IncidentNumber,
        guard: &Guard,
    ) -> Result<Incident> {
        let incident = self.fetch_incident(number).await?;
        if guard.open || guard.permission.is_some() {
            let assignments = self.assignments_in(number).await?;
            check_guard(guard, &incident, &assignments)?;
        }
        Ok(incident)
    }

    pub(super) async fn assignments_in(
        &mut self,
        number: IncidentNumber,
    ) -> Result<Vec<Assignment>> {
        let rows = sqlx::query(
        "SELECT role, user_id FROM role_assignments WHERE incident_number = $1 ORDER BY assigned_at, user_id",
    )
    .bind(number)
    .fetch_all(&mut **self)
    .await?;
        rows.iter()
            .map(|r| {
                Ok(Assignment {
                    role: RoleName(r.try_get("role")?),
                    user: UserId(r.try_get("user_id")?),
                })
            })
            .collect()
    }

    /// Remembers that `user` is (or is no longer) in the war room, unless a
    /// later change is known already. True when this changed what is known.
    pub(super) async fn upsert_member(
        &mut self,
        number: IncidentNumber,
        user: &UserId,
        present: bool,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        Ok(sqlx::query(
        "INSERT INTO war_room_members (incident_number, user_id, present, changed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (incident_number, user_id) DO UPDATE SET present = excluded.present, changed_at = excluded.changed_at
         WHERE war_room_members.changed_at <= excluded.changed_at",
    )
    .bind(number)
    .bind(&user.0)
    .bind(present)
    .bind(millis(at))
    .execute(&mut **self)
    .await?
    .rows_affected()
        > 0)
    }

    /// Writes timeline entries and jobs. A sync job is skipped when an identical
    /// one is still pending: it renders the state current when it runs.
    pub(super) async fn apply_effects(
        &mut self,
        number: IncidentNumber,
        effects: Effects,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if let Some(user) = &effects.guard.member {
            self.upsert_member(number, user, true, now).await?;
        }
        for e in effects.timeline {
            sqlx::query(
            "INSERT INTO timeline_entries (incident_number, occurred_at, recorded_at, kind, author, text) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(number)
        .bind(millis(e.occurred_at))
        .bind(millis(now))
        .bind(e.kind.as_str())
        .bind(e.author.map(|u| u.0))
        .bind(e.text)
        .execute(&mut **self)
        .await?;
        }
        for op in effects.schedule {
            let q = match op {
                ScheduleOp::Comms { nudge_at, due_at } => {
                    sqlx::query("UPDATE incidents SET nudge_at = $1, due_at = $2 WHERE number = $3")
                        .bind(nudge_at.map(millis))
                        .bind(due_at.map(millis))
                }
                ScheduleOp::Scribe(at) => {
                    sqlx::query("UPDATE incidents SET scribe_at = $1 WHERE number = $2")
                        .bind(at.map(millis))
                }
                ScheduleOp::LastUpdate(at) => {
                    sqlx::query("UPDATE incidents SET last_update_at = $1 WHERE number = $2")
                        .bind(millis(at))
                }
            };
            q.bind(number).execute(&mut **self).await?;
        }
        self.enqueue(Some(number), effects.jobs, now).await?;
        Ok(())
    }

    /// Applies a tag, untag, edit or deletion of a message entry.
    pub(super) async fn apply_timeline_change(
        &mut self,
        number: IncidentNumber,
        change: TimelineChange,
        now: DateTime<Utc>,
    ) -> Result<()> {
        match change {
            TimelineChange::Tag {
                slack_ts,
                occurred_at,
                kind,
                tagged_by,
            } => {
                // A plain tag never downgrades a typed one.
                sqlx::query(
                "INSERT INTO timeline_entries (incident_number, occurred_at, recorded_at, kind, text, slack_ts, tagged_by, fetched)
                 VALUES ($1, $2, $3, $4, '', $5, $6, FALSE)
                 ON CONFLICT (incident_number, slack_ts) WHERE slack_ts IS NOT NULL DO UPDATE SET
                    hidden = FALSE,
                    deleted = FALSE,
                    fetched = FALSE,
                    kind = CASE WHEN excluded.kind = 'message' THEN timeline_entries.kind ELSE excluded.kind END",
            )
            .bind(number)
            .bind(millis(occurred_at))
            .bind(millis(now))
            .bind(kind.as_str())
            .bind(slack_ts.as_str())
            .bind(&tagged_by.0)
            .execute(&mut **self)
            .await?;
                let column = match kind {
                    EntryKind::ImpactStarted => {
                        Some("UPDATE incidents SET impact_started_at = $1 WHERE number = $2")
                    }
                    EntryKind::Detected => {
                        Some("UPDATE incidents SET detected_at = $1 WHERE number = $2")
                    }
                    EntryKind::Mitigated => {
                        Some("UPDATE incidents SET mitigated_at = $1 WHERE number = $2")
                    }
                    _ => None,
                };
                if let Some(sql) = column {
                    sqlx::query(sql)
                        .bind(millis(occurred_at))
                        .bind(number)
                        .execute(&mut **self)
                        .await?;
                }
            }
            TimelineChange::Untag { slack_ts } => {
                sqlx::query(
                "UPDATE timeline_entries SET hidden = TRUE WHERE incident_number = $1 AND slack_ts = $2",
            )
            .bind(number)
            .bind(slack_ts.0)
            .execute(&mut **self)
            .await?;
            }
            TimelineChange::Edit { slack_ts, text, at } => {
                sqlx::query("UPDATE timeline_entries SET text = $1, edited_at = $2 WHERE incident_number = $3 AND slack_ts = $4")
                .bind(text)
                .bind(millis(at))
                .bind(number)
                .bind(slack_ts.0)
                .execute(&mut **self)
                .await?;
            }
            TimelineChange::Delete { slack_ts } => {
                sqlx::query("UPDATE timeline_entries SET deleted = TRUE WHERE incident_number = $1 AND slack_ts = $2")
                .bind(number)
                .bind(slack_ts.0)
                .execute(&mut **self)
                .await?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl<B> Store for B
where
    B: Backend,
    for<'c> &'c mut <B::Db as Database>::Connection: Executor<'c, Database = B::Db>,
    <B::Db as Database>::Arguments: IntoArguments<B::Db>,
    for<'a> &'a str: ColumnIndex<<B::Db as Database>::Row> + Type<B::Db> + Encode<'a, B::Db>,
    usize: ColumnIndex<<B::Db as Database>::Row>,
    i64: Type<B::Db> + for<'q> Encode<'q, B::Db> + for<'r> Decode<'r, B::Db>,
    bool: Type<B::Db> + for<'q> Encode<'q, B::Db> + for<'r> Decode<'r, B::Db>,
    String: Type<B::Db> + for<'q> Encode<'q, B::Db> + for<'r> Decode<'r, B::Db>,
    Option<i64>: for<'q> Encode<'q, B::Db>,
    Option<String>: for<'q> Encode<'q, B::Db>,
    for<'a> Option<&'a str>: Encode<'a, B::Db>,
{
    async fn migrate(&self) -> Result<()> {
        self.run_migrations().await
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(self.pool()).await?;
        Ok(())
    }

    async fn create_incident(
        &self,
        d: &Declaration,
        view_id: Option<&str>,
        now: DateTime<Utc>,
        lead_role: &RoleName,
        effects: Effects,
    ) -> Result<(Incident, bool)> {
        let mut tx = self.write().await?;
        if let Some(view_id) = view_id {
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT number FROM incidents WHERE declare_view_id = $1")
                    .bind(view_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(number) = existing {
                let incident = tx.fetch_incident(number).await?;
                return Ok((incident, false));
            }
        }
        // Two replicas handling one submission at once: the second insert
        // meets the first's view id and returns the incident it made.
        let number: Option<i64> = sqlx::query_scalar(
            "INSERT INTO incidents (title, severity, summary, security, drill, declared_by, declared_at, impact_started_at, origin_channel, announce_channel, declare_view_id, is_private, impact, urgency)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (declare_view_id) DO NOTHING RETURNING number",
        )
        .bind(&d.title)
        .bind(d.severity.as_str())
        .bind(&d.summary)
        .bind(d.security)
        .bind(d.drill)
        .bind(&d.declared_by.0)
        .bind(millis(now))
        .bind(d.impact_started_at.map(millis))
        .bind(d.origin_channel.as_str())
        .bind(d.announce_channel.as_str())
        .bind(view_id)
        .bind(d.private)
        .bind(d.assessment.as_ref().map(|a| a.impact.as_str()))
        .bind(d.assessment.as_ref().map(|a| a.urgency.as_str()))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(number) = number else {
            let existing: i64 =
                sqlx::query_scalar("SELECT number FROM incidents WHERE declare_view_id = $1")
                    .bind(view_id)
                    .fetch_one(&mut *tx)
                    .await?;
            let incident = tx.fetch_incident(existing).await?;
            return Ok((incident, false));
        };
        sqlx::query("INSERT INTO role_assignments (incident_number, role, user_id, assigned_at) VALUES ($1, $2, $3, $4)")
            .bind(number)
            .bind(lead_role.as_str())
            .bind(&d.declared_by.0)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
        // The declarer is invited into the war room first thing.
        tx.upsert_member(number, &d.declared_by, true, now).await?;
        tx.apply_effects(number, effects, now).await?;
        let incident = tx.fetch_incident(number).await?;
        tx.commit().await?;
        Ok((incident, true))
    }

    async fn incident(&self, number: IncidentNumber) -> Result<Option<Incident>> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE number = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(number)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(incident_from_row)
            .transpose()
    }

    async fn incident_by_channel(&self, channel_id: &ChannelId) -> Result<Option<Incident>> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE channel_id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(channel_id.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(incident_from_row)
            .transpose()
    }

    async fn open_incidents(&self) -> Result<Vec<Incident>> {
        let sql = format!(
            concat!(
                "SELECT {} FROM incidents WHERE status NOT IN ",
                not_open!(),
                " ORDER BY number"
            ),
            INCIDENT_COLUMNS
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(incident_from_row)
            .collect()
    }

    async fn is_member(&self, number: IncidentNumber, user: &UserId) -> Result<bool> {
        let present: Option<bool> = sqlx::query_scalar(
            "SELECT present FROM war_room_members WHERE incident_number = $1 AND user_id = $2",
        )
        .bind(number)
        .bind(&user.0)
        .fetch_optional(self.pool())
        .await?;
        Ok(present == Some(true))
    }

    async fn record_membership(
        &self,
        number: IncidentNumber,
        user: &UserId,
        present: bool,
        at: DateTime<Utc>,
        event_id: Option<&str>,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        tx.lock_incident(number).await?;
        if let Some(event_id) = event_id {
            let inserted = sqlx::query(
                "INSERT INTO slack_events (event_id, received_at) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(event_id)
            .bind(millis(at))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Ok(false);
            }
        }
        tx.upsert_member(number, user, present, at).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn assignments(&self, number: IncidentNumber) -> Result<Vec<Assignment>> {
        let rows = sqlx::query(
            "SELECT role, user_id FROM role_assignments WHERE incident_number = $1 ORDER BY assigned_at, user_id",
        )
        .bind(number)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Assignment {
                    role: RoleName(r.try_get("role")?),
                    user: UserId(r.try_get("user_id")?),
                })
            })
            .collect()
    }

    async fn timeline(&self, number: IncidentNumber) -> Result<Vec<Entry>> {
        let rows = sqlx::query(
            "SELECT id, occurred_at, kind, author, author_name, text, slack_ts, permalink, fetched FROM timeline_entries
             WHERE incident_number = $1 AND hidden = FALSE AND deleted = FALSE ORDER BY occurred_at, id",
        )
        .bind(number)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(Entry {
                    id: r.try_get("id")?,
                    occurred_at: from_millis(r.try_get("occurred_at")?)?,
                    kind: EntryKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("entry kind {kind}")))?,
                    author: r.try_get::<Option<String>, _>("author")?.map(UserId),
                    author_name: r.try_get("author_name")?,
                    text: r.try_get("text")?,
                    slack_ts: r.try_get::<Option<String>, _>("slack_ts")?.map(MessageTs),
                    permalink: r.try_get("permalink")?,
                    fetched: r.try_get("fetched")?,
                })
            })
            .collect()
    }

    async fn set_role(
        &self,
        number: IncidentNumber,
        role: &RoleName,
        user: &UserId,
        exclusive: bool,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<RoleChange> {
        let mut tx = self.write().await?;
        let incident = tx.guarded(number, &effects.guard).await?;
        let holders: Vec<String> = sqlx::query_scalar(
            "SELECT user_id FROM role_assignments WHERE incident_number = $1 AND role = $2",
        )
        .bind(number)
        .bind(role.as_str())
        .fetch_all(&mut *tx)
        .await?;
        if holders.contains(&user.0) && (!exclusive || holders.len() == 1) {
            return Ok(RoleChange::Unchanged);
        }
        if let Some((allowed, claimer)) = &effects.guard.take_over
            && exclusive
            && holders.iter().any(|h| *h != user.0)
        {
            let assignments = tx.assignments_in(number).await?;
            if !crate::domain::may(&incident, &assignments, allowed, claimer) {
                return Err(StoreError::Refused(crate::domain::permissions::refusal(
                    &incident,
                    &assignments,
                    allowed,
                    Permission::TakeOver,
                )));
            }
        }
        let mut replaced = Vec::new();
        if exclusive {
            sqlx::query("DELETE FROM role_assignments WHERE incident_number = $1 AND role = $2 AND user_id <> $3")
                .bind(number)
                .bind(role.as_str())
                .bind(&user.0)
                .execute(&mut *tx)
                .await?;
            replaced = holders
                .into_iter()
                .filter(|h| *h != user.0)
                .map(UserId)
                .collect();
        }
        sqlx::query("INSERT INTO role_assignments (incident_number, role, user_id, assigned_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(number)
            .bind(role.as_str())
            .bind(&user.0)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
        tx.apply_effects(number, effects, now).await?;
        tx.commit().await?;
        Ok(RoleChange::Changed { replaced })
    }

    async fn release_role(
        &self,
        number: IncidentNumber,
        role: &RoleName,
        user: &UserId,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        tx.guarded(number, &effects.guard).await?;
        let cas = sqlx::query(
            "DELETE FROM role_assignments WHERE incident_number = $1 AND role = $2 AND user_id = $3",
        )
        .bind(number)
        .bind(role.as_str())
        .bind(&user.0);
        tx.apply_if_changed(cas, number, effects, now).await
    }

    async fn set_severity(
        &self,
        number: IncidentNumber,
        level: &SeverityName,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<Option<SeverityName>> {
        self.set_severity_assessed(number, level, None, now, effects)
            .await
    }

    async fn set_severity_assessed(
        &self,
        number: IncidentNumber,
        level: &SeverityName,
        assessment: Option<&crate::domain::Assessment>,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<Option<SeverityName>> {
        let mut tx = self.write().await?;
        let current = tx.guarded(number, &effects.guard).await?;
        let old = current.severity;
        let new_answers = assessment.is_some_and(|a| current.assessment.as_ref() != Some(a));
        if old == *level && !new_answers {
            return Ok(None);
        }
        sqlx::query("UPDATE incidents SET severity = $1 WHERE number = $2")
            .bind(level.as_str())
            .bind(number)
            .execute(&mut *tx)
            .await?;
        if let Some(a) = assessment {
            sqlx::query("UPDATE incidents SET impact = $1, urgency = $2 WHERE number = $3")
                .bind(&a.impact)
                .bind(&a.urgency)
                .bind(number)
                .execute(&mut *tx)
                .await?;
        }
        tx.apply_effects(number, effects, now).await?;
        tx.commit().await?;
        Ok(Some(old))
    }

    async fn set_status(
        &self,
        number: IncidentNumber,
        status: Status,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<Option<Status>> {
        let mut tx = self.write().await?;
        let old = tx.guarded(number, &effects.guard).await?.status;
        if old == status {
            return Ok(None);
        }
        let stamp = millis(now);
        sqlx::query(concat!(
            "UPDATE incidents SET status = $1,
                mitigated_at = CASE WHEN $2 IN ('mitigated', 'resolved', 'closed') THEN COALESCE(mitigated_at, $3) ELSE mitigated_at END,
                resolved_at  = CASE WHEN $4 IN ", not_open!(), " THEN COALESCE(resolved_at, $5) ELSE NULL END,
                closed_at    = CASE WHEN $6 = 'closed' THEN COALESCE(closed_at, $7) ELSE NULL END
             WHERE number = $8",
        ))
        .bind(status.as_str())
        .bind(status.as_str())
        .bind(stamp)
        .bind(status.as_str())
        .bind(stamp)
        .bind(status.as_str())
        .bind(stamp)
        .bind(number)
        .execute(&mut *tx)
        .await?;
        tx.apply_effects(number, effects, now).await?;
        tx.commit().await?;
        Ok(Some(old))
    }

    async fn add_effects(
        &self,
        number: IncidentNumber,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        tx.guarded(number, &effects.guard).await?;
        tx.apply_effects(number, effects, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_channel(
        &self,
        number: IncidentNumber,
        id: &ChannelId,
        name: &str,
    ) -> Result<()> {
        let _writer = self.background_writer().await;
        sqlx::query("UPDATE incidents SET channel_id = $1, channel_name = $2 WHERE number = $3")
            .bind(id.as_str())
            .bind(name)
            .bind(number)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn record_board(&self, number: IncidentNumber, ts: &MessageTs) -> Result<()> {
        let _writer = self.background_writer().await;
        sqlx::query("UPDATE incidents SET board_ts = $1 WHERE number = $2")
            .bind(ts.as_str())
            .bind(number)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn record_announcement(&self, number: IncidentNumber, ts: &MessageTs) -> Result<()> {
        let _writer = self.background_writer().await;
        sqlx::query("UPDATE incidents SET announce_ts = $1 WHERE number = $2")
            .bind(ts.as_str())
            .bind(number)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn record_event(
        &self,
        event_id: &str,
        now: DateTime<Utc>,
        change: Option<EventChange>,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        if let Some(c) = &change {
            tx.lock_incident(c.incident).await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO slack_events (event_id, received_at) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event_id)
        .bind(millis(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        if let Some(EventChange {
            incident: n,
            change,
            effects,
        }) = change
        {
            if let Some(change) = change {
                tx.apply_timeline_change(n, change, now).await?;
            }
            tx.apply_effects(n, effects, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn claim_envelope(
        &self,
        id: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<EnvelopeClaim> {
        let mut tx = self.write().await?;
        let inserted = sqlx::query(
            "INSERT INTO socket_envelopes (envelope_id, claimed_at) VALUES ($1, $2) ON CONFLICT (envelope_id) DO NOTHING",
        )
        .bind(id)
        .bind(millis(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            tx.commit().await?;
            return Ok(EnvelopeClaim::Claimed);
        }
        let row = sqlx::query(
            "SELECT claimed_at, finished_at, reply FROM socket_envelopes WHERE envelope_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let claimed_at: i64 = row.try_get("claimed_at")?;
        if row.try_get::<Option<i64>, _>("finished_at")?.is_some() {
            return Ok(EnvelopeClaim::Done(row.try_get("reply")?));
        }
        if claimed_at >= millis(stale_before) {
            return Ok(EnvelopeClaim::Busy);
        }
        // Compare-and-set: of two deliveries taking over, one wins.
        let taken = sqlx::query(
            "UPDATE socket_envelopes SET claimed_at = $1 WHERE envelope_id = $2 AND claimed_at = $3 AND finished_at IS NULL",
        )
        .bind(millis(now))
        .bind(id)
        .bind(claimed_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(if taken == 1 {
            EnvelopeClaim::Claimed
        } else {
            EnvelopeClaim::Busy
        })
    }

    async fn finish_envelope(
        &self,
        id: &str,
        reply: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE socket_envelopes SET finished_at = $1, reply = $2 WHERE envelope_id = $3",
        )
        .bind(millis(now))
        .bind(reply)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn release_envelope(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM socket_envelopes WHERE envelope_id = $1 AND finished_at IS NULL")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn fill_tagged_message(
        &self,
        number: IncidentNumber,
        m: FetchedMessage<'_>,
    ) -> Result<()> {
        let _writer = self.background_writer().await;
        sqlx::query(
            "UPDATE timeline_entries SET text = $1, author = $2, author_name = $3, permalink = $4, fetched = TRUE
             WHERE incident_number = $5 AND slack_ts = $6",
        )
        .bind(m.text)
        .bind(m.author.map(|u| u.0.as_str()))
        .bind(m.author_name)
        .bind(m.permalink)
        .bind(number)
        .bind(m.slack_ts.as_str())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn mark_message_gone(&self, number: IncidentNumber, slack_ts: &MessageTs) -> Result<()> {
        let _writer = self.background_writer().await;
        sqlx::query("UPDATE timeline_entries SET deleted = TRUE, fetched = TRUE WHERE incident_number = $1 AND slack_ts = $2")
            .bind(number)
            .bind(slack_ts.as_str())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn record_update(
        &self,
        number: IncidentNumber,
        posted_by: &UserId,
        text: &str,
        destinations: &[Destination],
        now: DateTime<Utc>,
        mut effects: Effects,
    ) -> Result<i64> {
        let mut tx = self.write().await?;
        tx.guarded(number, &effects.guard).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO status_updates (incident_number, posted_by, recorded_at, text) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(number)
        .bind(&posted_by.0)
        .bind(millis(now))
        .bind(text)
        .fetch_one(&mut *tx)
        .await?;
        for (position, d) in (0_i64..).zip(destinations) {
            let inserted = sqlx::query(
                "INSERT INTO update_posts (update_id, channel, audience, position) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(d.channel.as_str())
            .bind(&d.audience)
            .bind(position)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                effects.jobs.push(Job::PostUpdate {
                    update_id: id,
                    channel: d.channel.clone(),
                });
            }
        }
        tx.apply_effects(number, effects, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn communications(&self, number: IncidentNumber) -> Result<Vec<Communication>> {
        let rows = sqlx::query(
            "SELECT u.id, u.posted_by, u.recorded_at, u.text, p.channel, p.audience, p.posted_at, p.ts
             FROM status_updates u JOIN update_posts p ON p.update_id = u.id
             WHERE u.incident_number = $1 ORDER BY u.recorded_at, u.id, p.position",
        )
        .bind(number)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Communication {
                    update_id: r.try_get("id")?,
                    posted_by: UserId(r.try_get("posted_by")?),
                    recorded_at: from_millis(r.try_get("recorded_at")?)?,
                    text: r.try_get("text")?,
                    channel: ChannelId(r.try_get("channel")?),
                    audience: r.try_get("audience")?,
                    posted_at: r
                        .try_get::<Option<i64>, _>("posted_at")?
                        .map(from_millis)
                        .transpose()?,
                    ts: r.try_get::<Option<String>, _>("ts")?.map(MessageTs),
                })
            })
            .collect()
    }

    async fn record_update_post(
        &self,
        update_id: i64,
        channel: &ChannelId,
        ts: &MessageTs,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let _writer = self.background_writer().await;
        sqlx::query(
            "UPDATE update_posts SET ts = $1, posted_at = $2 WHERE update_id = $3 AND channel = $4",
        )
        .bind(ts.as_str())
        .bind(millis(now))
        .bind(update_id)
        .bind(channel.as_str())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn due_reminders(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<DueReminder>> {
        use crate::domain::comms::ReminderKind;
        let mut due = Vec::new();
        for (kind, sql) in [
            (
                ReminderKind::Due,
                concat!(
                    "SELECT number, due_at AS at, severity FROM incidents WHERE due_at <= $1 AND status NOT IN ",
                    not_open!(),
                    " ORDER BY due_at LIMIT $2"
                ),
            ),
            (
                ReminderKind::Nudge,
                concat!(
                    "SELECT number, nudge_at AS at, severity FROM incidents WHERE nudge_at <= $1 AND status NOT IN ",
                    not_open!(),
                    " ORDER BY nudge_at LIMIT $2"
                ),
            ),
            (
                ReminderKind::ScribeQuiet,
                concat!(
                    "SELECT number, scribe_at AS at, severity FROM incidents WHERE scribe_at <= $1 AND status NOT IN ",
                    not_open!(),
                    " ORDER BY scribe_at LIMIT $2"
                ),
            ),
        ] {
            for r in sqlx::query(sql)
                .bind(millis(now))
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            {
                due.push(DueReminder {
                    incident: r.try_get("number")?,
                    kind,
                    due_at: from_millis(r.try_get("at")?)?,
                    severity: r.try_get("severity")?,
                });
            }
        }
        Ok(due)
    }

    async fn fire_reminder(
        &self,
        due: &DueReminder,
        next: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool> {
        use crate::domain::comms::ReminderKind;
        let sql = match due.kind {
            ReminderKind::Nudge => {
                "UPDATE incidents SET nudge_at = $1 WHERE number = $2 AND nudge_at = $3"
            }
            ReminderKind::Due => {
                "UPDATE incidents SET due_at = $1 WHERE number = $2 AND due_at = $3"
            }
            ReminderKind::ScribeQuiet => {
                "UPDATE incidents SET scribe_at = $1 WHERE number = $2 AND scribe_at = $3"
            }
        };
        let tx = self.write().await?;
        let cas = sqlx::query(sql)
            .bind(next.map(millis))
            .bind(due.incident)
            .bind(millis(due.due_at));
        tx.apply_if_changed(cas, due.incident, effects, now).await
    }

    async fn next_reminder_due(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<i64> = sqlx::query_scalar(concat!(
            "SELECT MIN(at) FROM (
                SELECT MIN(nudge_at) AS at FROM incidents WHERE nudge_at IS NOT NULL AND status NOT IN ", not_open!(), "
                UNION ALL SELECT MIN(due_at) FROM incidents WHERE due_at IS NOT NULL AND status NOT IN ", not_open!(), "
                UNION ALL SELECT MIN(scribe_at) FROM incidents WHERE scribe_at IS NOT NULL AND status NOT IN ", not_open!(), ") AS due",
        ))
        .fetch_one(self.pool())
        .await?;
        next.map(from_millis).transpose()
    }

    async fn save_postmortem(
        &self,
        number: IncidentNumber,
        markdown: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let _writer = self.background_writer().await;
        sqlx::query(
            "INSERT INTO postmortems (incident_number, generated_at, markdown) VALUES ($1, $2, $3)",
        )
        .bind(number)
        .bind(millis(now))
        .bind(markdown)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn incidents_since(&self, since: DateTime<Utc>) -> Result<Vec<Incident>> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE drill = FALSE AND declared_at >= $1 ORDER BY number"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(millis(since))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(incident_from_row)
            .collect()
    }

    async fn prune(&self, events_before: DateTime<Utc>, jobs_before: DateTime<Utc>) -> Result<u64> {
        let _writer = self.background_writer().await;
        let events = sqlx::query("DELETE FROM slack_events WHERE received_at < $1")
            .bind(millis(events_before))
            .execute(self.pool())
            .await?
            .rows_affected();
        let envelopes = sqlx::query("DELETE FROM socket_envelopes WHERE claimed_at < $1")
            .bind(millis(events_before))
            .execute(self.pool())
            .await?
            .rows_affected();
        let jobs = sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < $1")
            .bind(millis(jobs_before))
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(events + envelopes + jobs)
    }

    async fn user_name(&self, id: &UserId) -> Result<Option<(String, DateTime<Utc>)>> {
        let row = sqlx::query("SELECT name, fetched_at FROM slack_users WHERE id = $1")
            .bind(&id.0)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((r.try_get("name")?, from_millis(r.try_get("fetched_at")?)?)))
            .transpose()
    }

    async fn remember_user_name(&self, id: &UserId, name: &str, now: DateTime<Utc>) -> Result<()> {
        let _writer = self.background_writer().await;
        sqlx::query(
            "INSERT INTO slack_users (id, name, fetched_at) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, fetched_at = excluded.fetched_at",
        )
        .bind(&id.0)
        .bind(name)
        .bind(millis(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn open_checklist(
        &self,
        number: IncidentNumber,
        role: &RoleName,
        holder: &UserId,
        tasks: &crate::domain::checklist::Tasks,
        cadence_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<crate::domain::checklist::Checklist> {
        let json = serde_json::to_string(tasks)
            .map_err(|e| StoreError::Serialize(format!("the tasks of a {role} checklist ({e})")))?;
        let mut tx = self.write().await?;
        tx.lock_incident(number).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO checklists (incident_number, role, holder, tasks, cadence_at, since, created_at) VALUES ($1, $2, $3, $4, $5, $6, $6)
             ON CONFLICT (incident_number, role, holder) DO UPDATE SET cadence_at = excluded.cadence_at
             RETURNING id",
        )
        .bind(number)
        .bind(role.as_str())
        .bind(&holder.0)
        .bind(json)
        .bind(cadence_at.map(millis))
        .bind(millis(now))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        self.checklist(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("checklist {id} vanished")))
    }

    async fn checklist(&self, id: i64) -> Result<Option<crate::domain::checklist::Checklist>> {
        let Some(row) = sqlx::query(
            "SELECT id, incident_number, role, holder, tasks, ts, cadence_at, since FROM checklists WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let tasks: String = row.try_get("tasks")?;
        let done: Vec<i64> =
            sqlx::query_scalar("SELECT task FROM checklist_ticks WHERE checklist_id = $1")
                .bind(id)
                .fetch_all(self.pool())
                .await?;
        Ok(Some(crate::domain::checklist::Checklist {
            id,
            incident: row.try_get("incident_number")?,
            role: RoleName(row.try_get("role")?),
            holder: UserId(row.try_get("holder")?),
            tasks: serde_json::from_str(&tasks)
                .map_err(|e| StoreError::Corrupt(format!("checklist {id} tasks: {e}")))?,
            done: done
                .into_iter()
                .filter_map(|t| usize::try_from(t).ok())
                .collect(),
            ts: row.try_get::<Option<String>, _>("ts")?.map(MessageTs),
            cadence_at: row
                .try_get::<Option<i64>, _>("cadence_at")?
                .map(from_millis)
                .transpose()?,
            since: from_millis(row.try_get("since")?)?,
        }))
    }

    async fn record_checklist_post(&self, id: i64, ts: &MessageTs) -> Result<()> {
        sqlx::query("UPDATE checklists SET ts = $1 WHERE id = $2")
            .bind(ts.as_str())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn tick_task(
        &self,
        id: i64,
        task: usize,
        by: &UserId,
        done: bool,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool> {
        let task = i64::try_from(task)
            .map_err(|e| StoreError::Serialize(format!("task number {task} ({e})")))?;
        let mut tx = self.write().await?;
        let number: Option<i64> =
            sqlx::query_scalar("SELECT incident_number FROM checklists WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(number) = number else {
            return Ok(false);
        };
        tx.lock_incident(number).await?;
        let changed = if done {
            sqlx::query("INSERT INTO checklist_ticks (checklist_id, task, ticked_by, ticked_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(task)
                .bind(&by.0)
                .bind(millis(now))
                .execute(&mut *tx)
                .await?
                .rows_affected()
        } else {
            sqlx::query("DELETE FROM checklist_ticks WHERE checklist_id = $1 AND task = $2")
                .bind(id)
                .bind(task)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        };
        if changed == 0 {
            return Ok(false);
        }
        tx.apply_effects(number, effects, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn due_checklists(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<DueChecklist>> {
        let rows = sqlx::query(concat!(
            "SELECT c.id, c.incident_number, c.cadence_at FROM checklists c JOIN incidents i ON i.number = c.incident_number
             WHERE c.cadence_at <= $1 AND i.status NOT IN ", not_open!(), " ORDER BY c.cadence_at LIMIT $2",
        ))
        .bind(millis(now))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DueChecklist {
                    id: r.try_get("id")?,
                    incident: r.try_get("incident_number")?,
                    due_at: from_millis(r.try_get("cadence_at")?)?,
                })
            })
            .collect()
    }

    async fn fire_checklist(
        &self,
        due: &DueChecklist,
        next: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        tx.lock_incident(due.incident).await?;
        let cas = sqlx::query(
            "UPDATE checklists SET cadence_at = $1, since = $2 WHERE id = $3 AND cadence_at = $4",
        )
        .bind(next.map(millis))
        .bind(millis(now))
        .bind(due.id)
        .bind(millis(due.due_at));
        tx.apply_if_changed(cas, due.incident, effects, now).await
    }

    async fn next_checklist_due(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<i64> = sqlx::query_scalar(concat!(
            "SELECT MIN(c.cadence_at) FROM checklists c JOIN incidents i ON i.number = c.incident_number
             WHERE c.cadence_at IS NOT NULL AND i.status NOT IN ", not_open!(),
        ))
        .fetch_one(self.pool())
        .await?;
        next.map(from_millis).transpose()
    }

    async fn add_followup(
        &self,
        item: &NewFollowup,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<i64> {
        let mut tx = self.write().await?;
        tx.guarded(item.incident, &effects.guard).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO followups (incident_number, text, owner, due_on, created_by, created_at, remind_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(item.incident)
        .bind(&item.text)
        .bind(&item.owner.0)
        .bind(item.due.map(|d| d.format("%Y-%m-%d").to_string()))
        .bind(&item.created_by.0)
        .bind(millis(now))
        .bind(item.remind_at.map(millis))
        .fetch_one(&mut *tx)
        .await?;
        tx.apply_effects(item.incident, effects, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn followup(&self, id: i64) -> Result<Option<crate::domain::followups::Followup>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FOLLOWUP_COLUMNS} FROM followups WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(followup_from_row).transpose()
    }

    async fn followups(
        &self,
        owner: Option<&UserId>,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<crate::domain::followups::Followup>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FOLLOWUP_COLUMNS} FROM followups
             WHERE ($1 IS NULL OR owner = $1) AND ($2 = FALSE OR done_at IS NULL)
             ORDER BY id LIMIT $3"
        )))
        .bind(owner.map(|o| o.0.clone()))
        .bind(open_only)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(followup_from_row).collect()
    }

    async fn followup_counts(&self, today: chrono::NaiveDate) -> Result<(usize, usize)> {
        // `due_on` is an ISO date, so text order is date order.
        let row = sqlx::query(
            "SELECT COUNT(*) AS open, COUNT(CASE WHEN due_on < $1 THEN 1 END) AS overdue
             FROM followups WHERE done_at IS NULL",
        )
        .bind(today.format("%Y-%m-%d").to_string())
        .fetch_one(self.pool())
        .await?;
        let count = |column: &str| -> Result<usize> {
            let n: i64 = row.try_get(column)?;
            Ok(usize::try_from(n).unwrap_or_default())
        };
        Ok((count("open")?, count("overdue")?))
    }

    async fn incident_followups(
        &self,
        number: IncidentNumber,
    ) -> Result<Vec<crate::domain::followups::Followup>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FOLLOWUP_COLUMNS} FROM followups WHERE incident_number = $1 ORDER BY id"
        )))
        .bind(number)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(followup_from_row).collect()
    }

    async fn complete_followup(
        &self,
        id: i64,
        by: &UserId,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let number: Option<i64> =
            sqlx::query_scalar("SELECT incident_number FROM followups WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(number) = number else {
            return Ok(false);
        };
        tx.lock_incident(number).await?;
        let cas = sqlx::query(
            "UPDATE followups SET done_at = $1, done_by = $2 WHERE id = $3 AND done_at IS NULL",
        )
        .bind(millis(now))
        .bind(&by.0)
        .bind(id);
        tx.apply_if_changed(cas, number, effects, now).await
    }

    async fn due_followups(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(i64, IncidentNumber, DateTime<Utc>)>> {
        let rows = sqlx::query(
            "SELECT id, incident_number, remind_at FROM followups
             WHERE remind_at <= $1 AND done_at IS NULL ORDER BY remind_at LIMIT $2",
        )
        .bind(millis(now))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("incident_number")?,
                    from_millis(r.try_get("remind_at")?)?,
                ))
            })
            .collect()
    }

    async fn fire_followup(
        &self,
        id: i64,
        incident: IncidentNumber,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        tx.lock_incident(incident).await?;
        let cas = sqlx::query(
            "UPDATE followups SET remind_at = NULL WHERE id = $1 AND remind_at = $2 AND done_at IS NULL",
        )
        .bind(id)
        .bind(millis(due_at));
        tx.apply_if_changed(cas, incident, effects, now).await
    }

    async fn next_followup_due(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(remind_at) FROM followups WHERE remind_at IS NOT NULL AND done_at IS NULL",
        )
        .fetch_one(self.pool())
        .await?;
        next.map(from_millis).transpose()
    }

    async fn followup_digest_sent(&self, week: chrono::NaiveDate) -> Result<bool> {
        let sent: Option<i64> =
            sqlx::query_scalar("SELECT sent_at FROM followup_digests WHERE week = $1")
                .bind(week.format("%Y-%m-%d").to_string())
                .fetch_optional(self.pool())
                .await?;
        Ok(sent.is_some())
    }

    async fn fire_followup_digest(
        &self,
        week: chrono::NaiveDate,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<usize>> {
        let week = week.format("%Y-%m-%d").to_string();
        let mut tx = self.write().await?;
        // The week's key decides who sends it: a second replica (or round)
        // inserts nothing, and rolls back.
        let claimed = sqlx::query(
            "INSERT INTO followup_digests (week, due_at, sent_at, owners) VALUES ($1, $2, $3, 0)
             ON CONFLICT (week) DO NOTHING",
        )
        .bind(&week)
        .bind(millis(due_at))
        .bind(millis(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Ok(None);
        }
        let owners: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT owner FROM followups WHERE done_at IS NULL ORDER BY owner",
        )
        .fetch_all(&mut *tx)
        .await?;
        // Not an incident's work: no incident, so nothing queued for an
        // incident holds them back.
        let digests = owners
            .iter()
            .map(|owner| Job::FollowupDigest {
                owner: owner.clone(),
                week: week.clone(),
            })
            .collect();
        tx.enqueue(None, digests, now).await?;
        sqlx::query("UPDATE followup_digests SET owners = $1 WHERE week = $2")
            .bind(i64::try_from(owners.len()).unwrap_or(i64::MAX))
            .bind(&week)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(owners.len()))
    }
}

const FOLLOWUP_COLUMNS: &str =
    "id, incident_number, text, owner, due_on, created_by, created_at, done_at, done_by";

fn followup_from_row<R>(row: &R) -> Result<crate::domain::followups::Followup>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    i64: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    bool: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    String: Type<R::Database> + for<'r> Decode<'r, R::Database>,
{
    let id: i64 = row.try_get("id")?;
    let due = row
        .try_get::<Option<String>, _>("due_on")?
        .map(|d| {
            chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map_err(|e| StoreError::Corrupt(format!("follow-up {id} due date {d}: {e}")))
        })
        .transpose()?;
    Ok(crate::domain::followups::Followup {
        id,
        incident: row.try_get("incident_number")?,
        text: row.try_get("text")?,
        owner: UserId(row.try_get("owner")?),
        due,
        created_by: UserId(row.try_get("created_by")?),
        created_at: from_millis(row.try_get("created_at")?)?,
        done_at: row
            .try_get::<Option<i64>, _>("done_at")?
            .map(from_millis)
            .transpose()?,
        done_by: row.try_get::<Option<String>, _>("done_by")?.map(UserId),
    })
}

#[cfg(test)]
mod tests {
    use crate::domain::Status;

    /// The SQL's "not open" list is exactly the statuses `is_open` rejects.
    #[test]
    fn not_open_matches_the_domain_rule() {
        let all = [
            Status::Investigating,
            Status::Identified,
            Status::Mitigated,
            Status::Resolved,
            Status::Closed,
        ];
        let closed: Vec<String> = all
            .iter()
            .filter(|s| !s.is_open())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        assert_eq!(not_open!(), format!("({})", closed.join(", ")));
    }
}
