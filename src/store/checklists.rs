//! Role checklists: opened when a role is taken, posted, ticked, and their
//! recurring tasks falling due (each cadence fired once).

use super::Effects;
use super::rows::not_open;
use crate::db::{Read, Result, RowsAffected, StoreError, from_millis, millis, sql_impl};
use crate::domain::checklist::{Checklist, Tasks};
use crate::domain::{ChecklistId, IncidentNumber, MessageTs, RoleName, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// A checklist whose recurring tasks have fallen due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueChecklist {
    pub id: ChecklistId,
    pub incident: IncidentNumber,
    pub due_at: DateTime<Utc>,
}

/// Role checklists: opening one for a holder, reading it, its posted
/// message, ticks, and its recurring tasks' cadence (due, fired once,
/// next due time).
#[async_trait]
pub trait ChecklistStore: Send + Sync {
    /// Opens `holder`'s checklist of `role` with these tasks, recurring
    /// tasks first due at `cadence_at`; one who takes the role again gets
    /// their checklist back (ticks kept, cadence set again).
    async fn open_checklist(
        &self,
        number: IncidentNumber,
        role: &RoleName,
        holder: &UserId,
        tasks: &Tasks,
        cadence_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Checklist>;

    async fn checklist(&self, id: ChecklistId) -> Result<Option<Checklist>>;

    /// The checklist message, once posted.
    async fn record_checklist_post(&self, id: ChecklistId, ts: &MessageTs) -> Result<()>;

    /// Ticks (`done`) or unticks one task with `effects` (its timeline
    /// entry, the edit of the message); false (nothing written) when the
    /// task already was so.
    async fn tick_task(
        &self,
        id: ChecklistId,
        task: usize,
        by: &UserId,
        done: bool,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool>;

    /// Checklists of open incidents whose recurring tasks are due.
    async fn due_checklists(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<DueChecklist>>;

    /// Fires a checklist's cadence once: moves `cadence_at` from
    /// `due.due_at` to `next`, starts its next summary window at `now`, and
    /// applies `effects`, unless another replica or round did (false).
    async fn fire_checklist(
        &self,
        due: &DueChecklist,
        next: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool>;

    /// The earliest recurring-task due time of an open incident.
    async fn next_checklist_due(&self) -> Result<Option<DateTime<Utc>>>;
}

sql_impl! {
    #[async_trait]
    impl ChecklistStore for B {
        async fn open_checklist(
            &self,
            number: IncidentNumber,
            role: &RoleName,
            holder: &UserId,
            tasks: &Tasks,
            cadence_at: Option<DateTime<Utc>>,
            now: DateTime<Utc>,
        ) -> Result<Checklist> {
            let json = serde_json::to_string(tasks)
                .map_err(|e| StoreError::Serialize(format!("the tasks of a {role} checklist ({e})")))?;
            let mut tx = self.write().await?;
            tx.lock_incident(number).await?;
            let id: ChecklistId = sqlx::query_scalar(
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

        async fn checklist(&self, id: ChecklistId) -> Result<Option<Checklist>> {
            let Some(row) = sqlx::query(
                "SELECT id, incident_number, role, holder, tasks, ts, cadence_at, since FROM checklists WHERE id = $1",
            )
            .bind(id)
            .read_optional(self.reader())
            .await?
            else {
                return Ok(None);
            };
            let tasks: String = row.try_get("tasks")?;
            let done: Vec<i64> =
                sqlx::query_scalar("SELECT task FROM checklist_ticks WHERE checklist_id = $1")
                    .bind(id)
                    .read_all(self.reader())
                    .await?;
            Ok(Some(Checklist {
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

        async fn record_checklist_post(&self, id: ChecklistId, ts: &MessageTs) -> Result<()> {
            let mut tx = self.write_background().await?;
            sqlx::query("UPDATE checklists SET ts = $1 WHERE id = $2")
                .bind(ts.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }

        async fn tick_task(
            &self,
            id: ChecklistId,
            task: usize,
            by: &UserId,
            done: bool,
            now: DateTime<Utc>,
            effects: Effects,
        ) -> Result<bool> {
            let task = i64::try_from(task)
                .map_err(|e| StoreError::Serialize(format!("task number {task} ({e})")))?;
            let mut tx = self.write().await?;
            let number: Option<IncidentNumber> =
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
            .read_all(self.reader())
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
            .read_one(self.reader())
            .await?;
            next.map(from_millis).transpose()
        }
    }
}
