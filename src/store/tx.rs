//! The write transaction's helpers that every feature's changes share:
//! locking an incident's row, checking a [`Guard`] against it, applying a
//! change's [`Effects`] (membership, timeline entries, reminder clocks, jobs
//! through the queue's `Tx::enqueue`), and the compare-and-set that applies
//! them only when it changed something.

use super::rows::{INCIDENT_COLUMNS, assignment_from_row, incident_from_row};
use super::{ChangeError, Effects, Guard, ScheduleOp};
use crate::db::{Result, RowsAffected, StoreError, millis, sql_impl};
use crate::domain::events::NewEvent;
use crate::domain::{Assignment, Incident, IncidentNumber, UserId};
use chrono::{DateTime, Utc};
use sqlx::Database;

sql_impl! {
    impl Tx {
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
        ) -> Result<Incident, ChangeError> {
            let incident = self.fetch_incident(number).await?;
            if guard.open || guard.permission.is_some() {
                let assignments = self.assignments_in(number).await?;
                guard
                    .check(&incident, &assignments)
                    .map_err(ChangeError::Refused)?;
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
            rows.iter().map(assignment_from_row).collect()
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
            let actor = effects.actor();
            for event in effects.events {
                self.append_event(Some(number), event, actor.as_ref(), now).await?;
            }
            for e in effects.timeline {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO timeline_entries (incident_number, occurred_at, recorded_at, kind, author, text) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(number)
                .bind(millis(e.occurred_at))
                .bind(millis(now))
                .bind(e.kind.as_str())
                .bind(e.author.as_ref().map(UserId::as_str))
                .bind(e.text)
                .fetch_one(&mut **self)
                .await?;
                self.append_event(
                    Some(number),
                    NewEvent::entry_added(id, e.kind),
                    e.author.as_ref(),
                    e.occurred_at,
                )
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
    }
}
