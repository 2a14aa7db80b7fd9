//! Slack's rate limits shared by every replica on one database: a GCRA
//! (generic cell rate algorithm) "theoretical arrival time" per pacing
//! scope, taken with one atomic statement, and `Retry-After` pauses every
//! replica sees. The pacer (`slack::pacer`) asks here before each call
//! when the database is PostgreSQL.

use super::{Result, RowsAffected, from_millis, millis, sql_impl};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use std::time::Duration;

#[async_trait]
pub trait SharedPace: Send + Sync {
    /// Takes a slot for a call about `scope` at `now`, calls being allowed
    /// one per `interval` with bursts of `tolerance / interval + 1`.
    /// `None`: go; `Some(at)`: not before `at` (a pause, or the limit).
    async fn take_slot(
        &self,
        scope: &str,
        now: DateTime<Utc>,
        interval: Duration,
        tolerance: Duration,
    ) -> Result<Option<DateTime<Utc>>>;

    /// Pauses `scope` until `until` for every replica (Slack said 429).
    async fn pause_scope(&self, scope: &str, until: DateTime<Utc>) -> Result<()>;
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

sql_impl! {
    #[async_trait]
    impl SharedPace for B {
        async fn take_slot(
            &self,
            scope: &str,
            now: DateTime<Utc>,
            interval: Duration,
            tolerance: Duration,
        ) -> Result<Option<DateTime<Utc>>> {
            let (now, interval, tolerance) = (millis(now), ms(interval), ms(tolerance));
            let mut tx = self.write_background().await?;
            // Allowed when the scope is not paused and its arrival time,
            // less the burst tolerance, is not after now; then the arrival
            // time moves one interval on from the later of it and now.
            let taken = sqlx::query(
                "INSERT INTO slack_pace (scope, tat) VALUES ($1, $2 + $3)
                 ON CONFLICT (scope) DO UPDATE
                   SET tat = (CASE WHEN slack_pace.tat > $2 THEN slack_pace.tat ELSE $2 END) + $3
                   WHERE slack_pace.tat - $4 <= $2
                     AND (slack_pace.paused_until IS NULL OR slack_pace.paused_until <= $2)",
            )
            .bind(scope)
            .bind(now)
            .bind(interval)
            .bind(tolerance)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if taken == 1 {
                tx.commit().await?;
                return Ok(None);
            }
            let row = sqlx::query("SELECT tat, paused_until FROM slack_pace WHERE scope = $1")
                .bind(scope)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            let tat: i64 = row.try_get("tat")?;
            let paused: Option<i64> = row.try_get("paused_until")?;
            let at = (tat - tolerance).max(paused.unwrap_or(0)).max(now);
            Ok(Some(from_millis(at)?))
        }

        async fn pause_scope(&self, scope: &str, until: DateTime<Utc>) -> Result<()> {
            let until = millis(until);
            let mut tx = self.write_background().await?;
            sqlx::query(
                "INSERT INTO slack_pace (scope, tat, paused_until) VALUES ($1, 0, $2)
                 ON CONFLICT (scope) DO UPDATE SET paused_until =
                   CASE WHEN slack_pace.paused_until IS NULL OR slack_pace.paused_until < $2
                        THEN $2 ELSE slack_pace.paused_until END",
            )
            .bind(scope)
            .bind(until)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }
    }
}
