//! Outgoing webhooks' durable side: the endpoints as configured
//! (`webhook_endpoints`, written at start, plus what a 410 and the last
//! attempts left there) and the delivery outbox (`webhook_deliveries`: one
//! row per event and endpoint, written by [`Tx::append_event`] in the
//! change's own transaction, so an event is never recorded without its
//! deliveries). A claim leases the first due delivery that waits for no
//! earlier delivery of its incident to its endpoint, and counts the attempt,
//! which fences the outcome: a worker whose lease ran out cannot record
//! over the next claim.

use super::events::event_from_row;
use crate::db::{Read, Result, RowsAffected, StoreError, from_millis, millis, sql_impl};
use crate::domain::IncidentNumber;
use crate::domain::events::{Event, EventPattern, EventType};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// An endpoint as the store keeps it: its name and event patterns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointFilter {
    pub name: String,
    pub events: Vec<String>,
}

/// A claimed delivery: the event to send to `endpoint`, and the attempt
/// this is (1 for the first), which fences its outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub endpoint: String,
    pub attempt: i64,
    pub event: Event,
}

/// How one attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// Try again at `at`.
    Retry {
        at: DateTime<Utc>,
        status: Option<u16>,
        error: String,
    },
    /// Out of attempts: given up.
    Failed { status: Option<u16>, error: String },
    /// Nothing to send for this event (PagerDuty: a severity that does
    /// not page).
    Skipped,
    /// The receiver answered `410 Gone`: the endpoint is disabled until a
    /// restart with it still configured; this delivery waits for that.
    Gone,
    /// This replica does not know the endpoint (a rolling deploy that adds
    /// it): left for another at `at`, the attempt not counted.
    NotHere { at: DateTime<Utc> },
}

/// What `warroom check` and `/metrics` show of one endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointStatus {
    pub name: String,
    pub configured: bool,
    pub enabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Deliveries not yet made (waiting, retrying or held back).
    pub pending: i64,
    /// When the oldest of them was recorded.
    pub oldest_pending: Option<DateTime<Utc>>,
    /// Deliveries given up on.
    pub failed: i64,
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Makes `endpoints` the configured ones: each enabled again (a 410
    /// disabled it until a restart), with its patterns; any other endpoint
    /// gets no new deliveries and its pending ones wait. Called at start:
    /// on SQLite (one process) the leases a previous run left are released
    /// too, so what it was sending when it died goes out at once.
    async fn sync_endpoints(&self, endpoints: &[EndpointFilter]) -> Result<()>;

    /// Leases the first due delivery to an enabled endpoint that waits for
    /// no earlier delivery of the same incident to the same endpoint.
    async fn claim_delivery(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Delivery>>;

    /// Records how attempt `delivery.attempt` ended. False: the lease ran
    /// out and another worker claimed it since; nothing was recorded.
    async fn finish_delivery(
        &self,
        delivery: &Delivery,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// When the next delivery falls due (or its lease ends), if any.
    async fn next_delivery_due(&self) -> Result<Option<DateTime<Utc>>>;

    /// Every endpoint the store knows, by name.
    async fn webhook_status(&self) -> Result<Vec<EndpointStatus>>;
}

/// A pending delivery with no earlier pending delivery of its incident to
/// its endpoint, to an endpoint that is configured and enabled.
const DELIVERABLE: &str = "d.state = 'pending'
    AND d.endpoint IN (SELECT name FROM webhook_endpoints WHERE configured AND enabled)
    AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
        WHERE p.endpoint = d.endpoint AND p.incident_number = d.incident_number
          AND p.state = 'pending' AND p.id < d.id)";

sql_impl! {
    #[async_trait]
    impl WebhookStore for B {
        async fn sync_endpoints(&self, endpoints: &[EndpointFilter]) -> Result<()> {
            let mut tx = self.write().await?;
            if B::ONE_PROCESS {
                sqlx::query("UPDATE webhook_deliveries SET locked_until = NULL WHERE state = 'pending'")
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("UPDATE webhook_endpoints SET configured = $1")
                .bind(false)
                .execute(&mut *tx)
                .await?;
            for e in endpoints {
                let events = serde_json::to_string(&e.events)
                    .map_err(|e| StoreError::Serialize(e.to_string()))?;
                sqlx::query(
                    "INSERT INTO webhook_endpoints (name, events, configured, enabled) VALUES ($1, $2, $3, $3)
                     ON CONFLICT (name) DO UPDATE SET events = $2, configured = $3, enabled = $3, disabled_at = NULL",
                )
                .bind(&e.name)
                .bind(events)
                .bind(true)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        }

        async fn claim_delivery(
            &self,
            now: DateTime<Utc>,
            lease_until: DateTime<Utc>,
        ) -> Result<Option<Delivery>> {
            let claim_lock = Self::CLAIM_LOCK;
            let sql = format!(
                "UPDATE webhook_deliveries SET locked_until = $1, attempts = attempts + 1
                 WHERE id = (
                   SELECT d.id FROM webhook_deliveries d
                   WHERE {DELIVERABLE} AND d.run_at <= $2
                     AND (d.locked_until IS NULL OR d.locked_until <= $2)
                   ORDER BY d.run_at, d.id LIMIT 1 {claim_lock})
                 RETURNING id, endpoint, event_seq, attempts"
            );
            let mut tx = self.write_background().await?;
            let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(millis(lease_until))
                .bind(millis(now))
                .fetch_optional(&mut *tx)
                .await?
            else {
                tx.commit().await?;
                return Ok(None);
            };
            let seq: i64 = row.try_get("event_seq")?;
            let event = sqlx::query(
                "SELECT id, event_id, incident_number, type, occurred_at, actor, data FROM incident_events WHERE id = $1",
            )
            .bind(seq)
            .fetch_one(&mut *tx)
            .await?;
            let delivery = Delivery {
                id: row.try_get("id")?,
                endpoint: row.try_get("endpoint")?,
                attempt: row.try_get("attempts")?,
                event: event_from_row(&event)?,
            };
            tx.commit().await?;
            Ok(Some(delivery))
        }

        async fn finish_delivery(
            &self,
            delivery: &Delivery,
            outcome: &DeliveryOutcome,
            now: DateTime<Utc>,
        ) -> Result<bool> {
            let (state, run_at, status, error) = match outcome {
                DeliveryOutcome::Delivered { status } => ("delivered", now, Some(*status), None),
                DeliveryOutcome::Retry { at, status, error } => {
                    ("pending", *at, *status, Some(error.as_str()))
                }
                DeliveryOutcome::Failed { status, error } => {
                    ("failed", now, *status, Some(error.as_str()))
                }
                DeliveryOutcome::Gone => ("pending", now, Some(410), Some("410 Gone")),
                DeliveryOutcome::Skipped => ("skipped", now, None, None),
                DeliveryOutcome::NotHere { at } => (
                    "pending",
                    *at,
                    None,
                    Some("a replica without this endpoint configured claimed it"),
                ),
            };
            // An attempt this replica could not make is given back.
            let given_back = i64::from(matches!(outcome, DeliveryOutcome::NotHere { .. }));
            let finished = (state != "pending").then(|| millis(now));
            let mut tx = self.write_background().await?;
            let moved = sqlx::query(
                "UPDATE webhook_deliveries SET state = $1, run_at = $2, locked_until = NULL,
                   finished_at = $3, last_status = $4, last_error = $5,
                   attempts = attempts - $8
                 WHERE id = $6 AND attempts = $7 AND state = 'pending'",
            )
            .bind(state)
            .bind(millis(run_at))
            .bind(finished)
            .bind(status.map(i64::from))
            .bind(error)
            .bind(delivery.id)
            .bind(delivery.attempt)
            .bind(given_back)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved == 0 {
                tx.commit().await?;
                return Ok(false);
            }
            let endpoint = match outcome {
                DeliveryOutcome::Skipped | DeliveryOutcome::NotHere { .. } => {
                    tx.commit().await?;
                    return Ok(true);
                }
                DeliveryOutcome::Delivered { .. } => {
                    "UPDATE webhook_endpoints SET last_success_at = $1 WHERE name = $2"
                }
                DeliveryOutcome::Gone => {
                    "UPDATE webhook_endpoints SET enabled = FALSE, disabled_at = $1, last_failure_at = $1, last_error = '410 Gone' WHERE name = $2"
                }
                DeliveryOutcome::Retry { .. } | DeliveryOutcome::Failed { .. } => {
                    "UPDATE webhook_endpoints SET last_failure_at = $1, last_error = $3 WHERE name = $2"
                }
            };
            let query = sqlx::query(endpoint)
                .bind(millis(now))
                .bind(&delivery.endpoint);
            let query = if endpoint.contains("$3") {
                query.bind(error)
            } else {
                query
            };
            query.execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn next_delivery_due(&self) -> Result<Option<DateTime<Utc>>> {
            let sql = format!(
                "SELECT MIN(CASE WHEN d.locked_until IS NOT NULL AND d.locked_until > d.run_at
                             THEN d.locked_until ELSE d.run_at END) AS due
                 FROM webhook_deliveries d WHERE {DELIVERABLE}"
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .read_one(self.reader())
                .await?;
            row.try_get::<Option<i64>, _>("due")?
                .map(from_millis)
                .transpose()
        }

        async fn webhook_status(&self) -> Result<Vec<EndpointStatus>> {
            let rows = sqlx::query(
                "SELECT e.name, e.configured, e.enabled, e.disabled_at, e.last_success_at, e.last_failure_at, e.last_error,
                   (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint = e.name AND d.state = 'pending') AS pending,
                   (SELECT MIN(created_at) FROM webhook_deliveries d WHERE d.endpoint = e.name AND d.state = 'pending') AS oldest,
                   (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint = e.name AND d.state = 'failed') AS failed
                 FROM webhook_endpoints e ORDER BY e.name",
            )
            .read_all(self.reader())
            .await?;
            let at = |row: &_, column: &str| -> Result<Option<DateTime<Utc>>> {
                let row: &<B::Db as sqlx::Database>::Row = row;
                row.try_get::<Option<i64>, _>(column)?
                    .map(from_millis)
                    .transpose()
            };
            rows.iter()
                .map(|row| {
                    Ok(EndpointStatus {
                        name: row.try_get("name")?,
                        configured: row.try_get("configured")?,
                        enabled: row.try_get("enabled")?,
                        disabled_at: at(row, "disabled_at")?,
                        last_success_at: at(row, "last_success_at")?,
                        last_failure_at: at(row, "last_failure_at")?,
                        last_error: row.try_get("last_error")?,
                        pending: row.try_get("pending")?,
                        oldest_pending: at(row, "oldest")?,
                        failed: row.try_get("failed")?,
                    })
                })
                .collect()
        }
    }
}

sql_impl! {
    impl Tx {
        /// Writes the deliveries of event `seq` (of `kind`, about incident
        /// `number`) to every configured, enabled endpoint that wants it, in
        /// this transaction. Called by `append_event` alone.
        pub(super) async fn enqueue_deliveries(
            &mut self,
            seq: i64,
            kind: EventType,
            number: Option<IncidentNumber>,
            now: DateTime<Utc>,
        ) -> Result<()> {
            let rows = sqlx::query("SELECT name, events FROM webhook_endpoints WHERE configured AND enabled")
                .fetch_all(&mut **self)
                .await?;
            for row in rows {
                let name: String = row.try_get("name")?;
                let events: String = row.try_get("events")?;
                let patterns: Vec<String> = serde_json::from_str(&events)
                    .map_err(|e| StoreError::Corrupt(format!("webhook endpoint {name}'s events ({e})")))?;
                let wanted = patterns
                    .iter()
                    .filter_map(|p| EventPattern::parse(p).ok())
                    .any(|p| p.matches(kind));
                if !wanted {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO webhook_deliveries (endpoint, event_seq, incident_number, run_at, created_at) VALUES ($1, $2, $3, $4, $4)",
                )
                .bind(&name)
                .bind(seq)
                .bind(number.map(IncidentNumber::get))
                .bind(millis(now))
                .execute(&mut **self)
                .await?;
            }
            Ok(())
        }
    }
}
