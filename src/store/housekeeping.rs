//! What belongs to no one feature: migrations and the health check,
//! pruning what Slack no longer redelivers, the user-name cache, kept
//! postmortem drafts and the statistics' read.

use super::rows::{INCIDENT_COLUMNS, incident_from_row};
use crate::db::{Read, Result, RowsAffected, from_millis, millis, sql_impl};
use crate::domain::events::NewEvent;
use crate::domain::{Incident, IncidentNumber, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use std::collections::BTreeMap;

/// What `/metrics` reads from the database at a scrape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperatorGauges {
    /// Open incidents (private ones too, never named) by severity.
    pub open_by_severity: BTreeMap<String, i64>,
    /// By job kind, how long the oldest due job has been waiting.
    pub job_lag: BTreeMap<&'static str, chrono::Duration>,
}

/// What belongs to no feature: migrations, the health check, pruning old
/// event and envelope ids and finished jobs, the user-name cache, kept
/// postmortem drafts, and the incidents the statistics count.
#[async_trait]
pub trait Housekeeping: Send + Sync {
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<()>;

    /// Open incidents by severity and the oldest due job's wait by kind, at
    /// `now` (the due jobs read are the 1,000 oldest).
    async fn operator_gauges(&self, now: DateTime<Utc>) -> Result<OperatorGauges>;

    /// Answers when the database does.
    async fn ping(&self) -> Result<()>;

    /// Keeps a generated postmortem draft.
    async fn save_postmortem(
        &self,
        number: IncidentNumber,
        markdown: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Incidents declared since `since`, drills excluded.
    async fn incidents_since(&self, since: DateTime<Utc>) -> Result<Vec<Incident>>;

    /// Forgets Slack event ids and Socket Mode envelope ids received before
    /// `events_before` (Slack stops redelivering within the hour), and
    /// finished jobs and ended webhook deliveries before `jobs_before`.
    /// Returns how many rows went.
    async fn prune(&self, events_before: DateTime<Utc>, jobs_before: DateTime<Utc>) -> Result<u64>;

    /// A cached display name and when it was fetched.
    async fn user_name(&self, id: &UserId) -> Result<Option<(String, DateTime<Utc>)>>;

    async fn remember_user_name(&self, id: &UserId, name: &str, now: DateTime<Utc>) -> Result<()>;

    /// The cached display names of `ids` (those the bot has looked up).
    async fn user_names(&self, ids: &[UserId]) -> Result<BTreeMap<UserId, String>>;
}

sql_impl! {
    #[async_trait]
    impl Housekeeping for B {
        async fn migrate(&self) -> Result<()> {
            self.run_migrations().await
        }

        async fn operator_gauges(&self, now: DateTime<Utc>) -> Result<OperatorGauges> {
            let mut gauges = OperatorGauges::default();
            let rows = sqlx::query(
                "SELECT severity, COUNT(*) AS n FROM incidents WHERE status IN ('investigating', 'identified', 'mitigated') GROUP BY severity",
            )
            .read_all(self.reader())
            .await?;
            for r in rows {
                gauges
                    .open_by_severity
                    .insert(r.try_get("severity")?, r.try_get("n")?);
            }
            let due = sqlx::query(
                "SELECT payload, run_after FROM jobs WHERE state = 'pending' AND run_after <= $1 ORDER BY run_after LIMIT 1000",
            )
            .bind(millis(now))
            .read_all(self.reader())
            .await?;
            for r in due {
                let payload: String = r.try_get("payload")?;
                let Ok(job) = serde_json::from_str::<crate::queue::Job>(&payload) else {
                    continue;
                };
                let waited = now - from_millis(r.try_get("run_after")?)?;
                gauges.job_lag.entry(job.kind()).or_insert(waited);
            }
            Ok(gauges)
        }

        async fn ping(&self) -> Result<()> {
            sqlx::query("SELECT 1").read_one(self.reader()).await?;
            Ok(())
        }

        async fn save_postmortem(
            &self,
            number: IncidentNumber,
            markdown: &str,
            now: DateTime<Utc>,
        ) -> Result<()> {
            let mut tx = self.write_background().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO postmortems (incident_number, generated_at, markdown) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(number)
            .bind(millis(now))
            .bind(markdown)
            .fetch_one(&mut *tx)
            .await?;
            tx.append_event(Some(number), NewEvent::postmortem_drafted(id), None, now)
                .await?;
            tx.commit().await?;
            Ok(())
        }

        async fn incidents_since(&self, since: DateTime<Utc>) -> Result<Vec<Incident>> {
            let sql = format!(
                "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE drill = FALSE AND declared_at >= $1 ORDER BY number"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(millis(since))
                .read_all(self.reader())
                .await?
                .iter()
                .map(incident_from_row)
                .collect()
        }

        async fn prune(&self, events_before: DateTime<Utc>, jobs_before: DateTime<Utc>) -> Result<u64> {
            let mut tx = self.write_background().await?;
            let events = sqlx::query("DELETE FROM slack_events WHERE received_at < $1")
                .bind(millis(events_before))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let envelopes = sqlx::query("DELETE FROM socket_envelopes WHERE claimed_at < $1")
                .bind(millis(events_before))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            // Alert senders' delivery ids: a sender retries within minutes.
            let alert_deliveries = sqlx::query("DELETE FROM alert_deliveries WHERE received_at < $1")
                .bind(millis(events_before))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let jobs = sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < $1")
                .bind(millis(jobs_before))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            // Webhook deliveries that ended (the events themselves stay: they
            // are the incident's record).
            let deliveries = sqlx::query(
                "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < $1",
            )
            .bind(millis(jobs_before))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(events + envelopes + alert_deliveries + jobs + deliveries)
        }

        async fn user_name(&self, id: &UserId) -> Result<Option<(String, DateTime<Utc>)>> {
            let row = sqlx::query("SELECT name, fetched_at FROM slack_users WHERE id = $1")
                .bind(&id.0)
                .read_optional(self.reader())
                .await?;
            row.map(|r| Ok((r.try_get("name")?, from_millis(r.try_get("fetched_at")?)?)))
                .transpose()
        }

        async fn user_names(&self, ids: &[UserId]) -> Result<BTreeMap<UserId, String>> {
            let mut names = BTreeMap::new();
            // A bounded `IN` list a chunk at a time, the same SQL on both
            // databases.
            for chunk in ids.chunks(100) {
                let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "SELECT id, name FROM slack_users WHERE id IN ({})",
                    marks.join(", ")
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    q = q.bind(id.as_str());
                }
                for row in q.read_all(self.reader()).await? {
                    names.insert(UserId(row.try_get("id")?), row.try_get("name")?);
                }
            }
            Ok(names)
        }

        async fn remember_user_name(&self, id: &UserId, name: &str, now: DateTime<Utc>) -> Result<()> {
            let mut tx = self.write_background().await?;
            sqlx::query(
                "INSERT INTO slack_users (id, name, fetched_at) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, fetched_at = excluded.fetched_at",
            )
            .bind(&id.0)
            .bind(name)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }
    }
}
