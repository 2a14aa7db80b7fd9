//! Roles on an incident: who holds what, giving and taking a role (a
//! take-over checked against `permissions.take_over` inside the write).

use super::rows::assignment_from_row;
use super::{ChangeError, Effects};
use crate::db::{Read, Result, RowsAffected, millis, sql_impl};
use crate::domain::events::NewEvent;
use crate::domain::{Assignment, IncidentNumber, Permission, RoleName, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use std::collections::BTreeMap;

/// How a role change turned out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleChange {
    /// The user already held the role; nothing was written.
    Unchanged,
    /// The user now holds it; `replaced` lost it to them.
    Changed { replaced: Vec<UserId> },
}

/// Who holds which role, and giving or taking one (guarded: a take-over
/// of a held role is checked against the claimer's permission).
#[async_trait]
pub trait RoleStore: Send + Sync {
    async fn assignments(&self, number: IncidentNumber) -> Result<Vec<Assignment>>;

    /// The first holder of `role` (as [`crate::domain::holders`] orders
    /// them: longest held first) in each of `numbers` that has one, in one
    /// query.
    async fn first_holders(
        &self,
        numbers: &[IncidentNumber],
        role: &str,
    ) -> Result<BTreeMap<IncidentNumber, UserId>>;

    /// Gives `role` to `user`. With `exclusive`, other holders lose it.
    async fn set_role(
        &self,
        number: IncidentNumber,
        role: &RoleName,
        user: &UserId,
        exclusive: bool,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<RoleChange, ChangeError>;

    /// Takes `role` from `user`; false (and nothing written) if not held.
    async fn release_role(
        &self,
        number: IncidentNumber,
        role: &RoleName,
        user: &UserId,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool, ChangeError>;
}

sql_impl! {
    #[async_trait]
    impl RoleStore for B {
        async fn assignments(&self, number: IncidentNumber) -> Result<Vec<Assignment>> {
            let rows = sqlx::query(
                "SELECT role, user_id FROM role_assignments WHERE incident_number = $1 ORDER BY assigned_at, user_id",
            )
            .bind(number)
            .read_all(self.reader())
            .await?;
            rows.iter().map(assignment_from_row).collect()
        }

        async fn first_holders(
            &self,
            numbers: &[IncidentNumber],
            role: &str,
        ) -> Result<BTreeMap<IncidentNumber, UserId>> {
            if numbers.is_empty() {
                return Ok(BTreeMap::new());
            }
            let marks: Vec<String> = (0..numbers.len()).map(|i| format!("${}", i + 2)).collect();
            // Newest first, so the longest held is written last and stays.
            let sql = format!(
                "SELECT incident_number, user_id FROM role_assignments
                 WHERE role = $1 AND incident_number IN ({})
                 ORDER BY assigned_at DESC, user_id DESC",
                marks.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(role);
            for number in numbers {
                query = query.bind(*number);
            }
            let mut first = BTreeMap::new();
            for row in query.read_all(self.reader()).await? {
                first.insert(
                    IncidentNumber::new(row.try_get("incident_number")?),
                    UserId(row.try_get("user_id")?),
                );
            }
            Ok(first)
        }

        async fn set_role(
            &self,
            number: IncidentNumber,
            role: &RoleName,
            user: &UserId,
            exclusive: bool,
            now: DateTime<Utc>,
            effects: Effects,
        ) -> Result<RoleChange, ChangeError> {
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
                    return Err(ChangeError::Refused(crate::domain::permissions::refusal(
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
            let actor = effects.actor();
            for gone in &replaced {
                tx.append_event(
                    Some(number),
                    NewEvent::role_released(role, gone),
                    actor.as_ref(),
                    now,
                )
                .await?;
            }
            tx.append_event(
                Some(number),
                NewEvent::role_assigned(role, user, &replaced),
                actor.as_ref(),
                now,
            )
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
        ) -> Result<bool, ChangeError> {
            let mut tx = self.write().await?;
            tx.guarded(number, &effects.guard).await?;
            let released = sqlx::query(
                "DELETE FROM role_assignments WHERE incident_number = $1 AND role = $2 AND user_id = $3",
            )
            .bind(number)
            .bind(role.as_str())
            .bind(&user.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if released == 0 {
                return Ok(false);
            }
            tx.append_event(
                Some(number),
                NewEvent::role_released(role, user),
                effects.actor().as_ref(),
                now,
            )
            .await?;
            tx.apply_effects(number, effects, now).await?;
            tx.commit().await?;
            Ok(true)
        }
    }
}
