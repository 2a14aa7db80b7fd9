//! Follow-ups (action items): recording, listing and completing them, their
//! reminders, and the weekly digest (each sent once).

use super::{ChangeError, Effects};
use crate::db::{Read, Result, RowsAffected, StoreError, from_millis, millis, sql_impl};
use crate::domain::events::NewEvent;
use crate::domain::followups::Followup;
use crate::domain::{FollowupId, IncidentNumber, UserId};
use crate::queue::Job;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

/// A follow-up to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFollowup {
    pub incident: IncidentNumber,
    pub text: String,
    pub owner: UserId,
    pub due: Option<NaiveDate>,
    pub created_by: UserId,
    /// When the owner is reminded (none without a due date).
    pub remind_at: Option<DateTime<Utc>>,
}

/// Which follow-ups a listing wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted {
    Open,
    /// Open, due before `today`.
    Overdue {
        today: NaiveDate,
    },
    Done,
    All,
}

/// Who reads a listing: what it shows of private incidents' follow-ups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeenBy<'a> {
    /// Every follow-up.
    Anyone,
    /// None of a private incident's.
    PublicOnly,
    /// A private incident's only when this person owns it or is known to
    /// be in its war room.
    Person(&'a UserId),
}

/// Follow-ups: recording (guarded), reading and listing, counting,
/// completing once, their owners' reminders (due, fired once, next due
/// time) and the weekly digest (sent once per week).
#[async_trait]
pub trait FollowupStore: Send + Sync {
    /// Records a follow-up with `effects` (its timeline entry; the guard
    /// says who may), in one transaction; its id.
    async fn add_followup(
        &self,
        item: &NewFollowup,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<FollowupId, ChangeError>;

    async fn followup(&self, id: FollowupId) -> Result<Option<Followup>>;

    /// Follow-ups, newest first: of one owner or everyone's, those
    /// `wanted`, as `seen_by` may see them; at most `limit` (every filter
    /// applied here, before the limit).
    async fn followups(
        &self,
        owner: Option<&UserId>,
        wanted: Wanted,
        seen_by: SeenBy<'_>,
        limit: i64,
    ) -> Result<Vec<Followup>>;

    /// The follow-ups of one incident, oldest first.
    async fn incident_followups(&self, number: IncidentNumber) -> Result<Vec<Followup>>;

    /// Marks a follow-up done with `effects`, once: false (nothing
    /// written) when it already was.
    async fn complete_followup(
        &self,
        id: FollowupId,
        by: &UserId,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool>;

    /// Open follow-ups whose reminder is due: (id, incident, remind_at).
    async fn due_followups(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(FollowupId, IncidentNumber, DateTime<Utc>)>>;

    /// Sends a follow-up's reminder once: clears `remind_at` if it still is
    /// `due_at` and applies `effects` (the reminder job), else false.
    async fn fire_followup(
        &self,
        id: FollowupId,
        incident: IncidentNumber,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool>;

    /// The earliest reminder time of an open follow-up.
    async fn next_followup_due(&self) -> Result<Option<DateTime<Utc>>>;

    /// Whether the weekly follow-up digest of `week` (its Monday) went out.
    async fn followup_digest_sent(&self, week: NaiveDate) -> Result<bool>;

    /// Sends the weekly follow-up digest of `week`, due at `due_at`, once:
    /// records the week and queues a direct message ([`Job::FollowupDigest`])
    /// to each owner of open follow-ups, in one transaction. `None` (nothing
    /// written) when that week's went out already; else how many owners
    /// get one.
    async fn fire_followup_digest(
        &self,
        week: NaiveDate,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<usize>>;
}

sql_impl! {
    #[async_trait]
    impl FollowupStore for B {
        async fn add_followup(
            &self,
            item: &NewFollowup,
            now: DateTime<Utc>,
            effects: Effects,
        ) -> Result<FollowupId, ChangeError> {
            let mut tx = self.write().await?;
            tx.guarded(item.incident, &effects.guard).await?;
            let id: FollowupId = sqlx::query_scalar(
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
            tx.append_event(
                Some(item.incident),
                NewEvent::followup_created(id),
                Some(&item.created_by),
                now,
            )
            .await?;
            tx.apply_effects(item.incident, effects, now).await?;
            tx.commit().await?;
            Ok(id)
        }

        async fn followup(&self, id: FollowupId) -> Result<Option<Followup>> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {FOLLOWUP_COLUMNS} FROM followups WHERE id = $1"
            )))
            .bind(id)
            .read_optional(self.reader())
            .await?;
            row.as_ref().map(followup_from_row).transpose()
        }

        async fn followups(
            &self,
            owner: Option<&UserId>,
            wanted: Wanted,
            seen_by: SeenBy<'_>,
            limit: i64,
        ) -> Result<Vec<Followup>> {
            let (wanted, today) = match wanted {
                Wanted::Open => ("open", String::new()),
                Wanted::Overdue { today } => ("overdue", today.format("%Y-%m-%d").to_string()),
                Wanted::Done => ("done", String::new()),
                Wanted::All => ("all", String::new()),
            };
            let (seen, person) = match seen_by {
                SeenBy::Anyone => ("anyone", None),
                SeenBy::PublicOnly => ("public", None),
                SeenBy::Person(user) => ("person", Some(user.0.clone())),
            };
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {FOLLOWUP_COLUMNS} FROM followups f
                 WHERE ($1 IS NULL OR f.owner = $1)
                   AND ($2 = 'all'
                        OR ($2 = 'open' AND f.done_at IS NULL)
                        OR ($2 = 'overdue' AND f.done_at IS NULL AND f.due_on IS NOT NULL AND f.due_on < $5)
                        OR ($2 = 'done' AND f.done_at IS NOT NULL))
                   AND ($6 = 'anyone'
                        OR NOT EXISTS (SELECT 1 FROM incidents i
                                       WHERE i.number = f.incident_number AND i.is_private)
                        OR ($6 = 'person'
                            AND (f.owner = $3
                                 OR EXISTS (SELECT 1 FROM war_room_members m
                                            WHERE m.incident_number = f.incident_number
                                              AND m.user_id = $3 AND m.present))))
                 ORDER BY f.id DESC LIMIT $4"
            )))
            .bind(owner.map(|o| o.0.clone()))
            .bind(wanted)
            .bind(person)
            .bind(limit)
            .bind(today)
            .bind(seen)
            .read_all(self.reader())
            .await?;
            rows.iter().map(followup_from_row).collect()
        }

        async fn incident_followups(&self, number: IncidentNumber) -> Result<Vec<Followup>> {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {FOLLOWUP_COLUMNS} FROM followups WHERE incident_number = $1 ORDER BY id"
            )))
            .bind(number)
            .read_all(self.reader())
            .await?;
            rows.iter().map(followup_from_row).collect()
        }

        async fn complete_followup(
            &self,
            id: FollowupId,
            by: &UserId,
            now: DateTime<Utc>,
            effects: Effects,
        ) -> Result<bool> {
            let mut tx = self.write().await?;
            let number: Option<IncidentNumber> =
                sqlx::query_scalar("SELECT incident_number FROM followups WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(number) = number else {
                return Ok(false);
            };
            tx.lock_incident(number).await?;
            let done = sqlx::query(
                "UPDATE followups SET done_at = $1, done_by = $2 WHERE id = $3 AND done_at IS NULL",
            )
            .bind(millis(now))
            .bind(&by.0)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 0 {
                return Ok(false);
            }
            tx.append_event(Some(number), NewEvent::followup_completed(id), Some(by), now)
                .await?;
            tx.apply_effects(number, effects, now).await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn due_followups(
            &self,
            now: DateTime<Utc>,
            limit: i64,
        ) -> Result<Vec<(FollowupId, IncidentNumber, DateTime<Utc>)>> {
            let rows = sqlx::query(
                "SELECT id, incident_number, remind_at FROM followups
                 WHERE remind_at <= $1 AND done_at IS NULL ORDER BY remind_at LIMIT $2",
            )
            .bind(millis(now))
            .bind(limit)
            .read_all(self.reader())
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
            id: FollowupId,
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
            .read_one(self.reader())
            .await?;
            next.map(from_millis).transpose()
        }

        async fn followup_digest_sent(&self, week: NaiveDate) -> Result<bool> {
            let sent: Option<i64> =
                sqlx::query_scalar("SELECT sent_at FROM followup_digests WHERE week = $1")
                    .bind(week.format("%Y-%m-%d").to_string())
                    .read_optional(self.reader())
                    .await?;
            Ok(sent.is_some())
        }

        async fn fire_followup_digest(
            &self,
            week: NaiveDate,
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
            let owners: Vec<UserId> = sqlx::query_scalar(
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
}

/// The columns [`followup_from_row`] reads.
const FOLLOWUP_COLUMNS: &str =
    "id, incident_number, text, owner, due_on, created_by, created_at, done_at, done_by";

sql_impl! {
    /// A follow-up, from a row of [`FOLLOWUP_COLUMNS`].
    fn followup_from_row(row: &R) -> Result<Followup> {
        let id: FollowupId = row.try_get("id")?;
        let due = row
            .try_get::<Option<String>, _>("due_on")?
            .map(|d| {
                NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map_err(|e| StoreError::Corrupt(format!("follow-up {id} due date {d}: {e}")))
            })
            .transpose()?;
        Ok(Followup {
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
}
