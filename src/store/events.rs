//! The event log (`incident_events`): appended by the write transactions of
//! the other stores ([`Tx::append_event`]), read by the read API's
//! histories and the webhook deliveries.

use crate::db::{Read, Result, StoreError, from_millis, millis, sql_impl};
use crate::domain::events::{Event, NewEvent};
use crate::domain::{IncidentNumber, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

const EVENT_COLUMNS: &str = "id, event_id, incident_number, type, occurred_at, actor, data";

#[async_trait]
pub trait EventStore: Send + Sync {
    /// The events of one incident, oldest first.
    async fn events(&self, number: IncidentNumber) -> Result<Vec<Event>>;

    /// The event with this public id.
    async fn event(&self, id: &str) -> Result<Option<Event>>;
}

sql_impl! {
    pub(super) fn event_from_row(row: &R) -> Result<Event> {
        let kind: String = row.try_get("type")?;
        let data: String = row.try_get("data")?;
        Ok(Event {
            seq: row.try_get("id")?,
            id: row.try_get("event_id")?,
            incident: row.try_get("incident_number")?,
            kind: kind
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("event type {kind}")))?,
            occurred_at: from_millis(row.try_get("occurred_at")?)?,
            actor: row.try_get::<Option<String>, _>("actor")?.map(UserId),
            data: serde_json::from_str(&data)
                .map_err(|e| StoreError::Corrupt(format!("event data ({e})")))?,
        })
    }
}

sql_impl! {
    #[async_trait]
    impl EventStore for B {
        async fn events(&self, number: IncidentNumber) -> Result<Vec<Event>> {
            let sql = format!(
                "SELECT {EVENT_COLUMNS} FROM incident_events WHERE incident_number = $1 ORDER BY id"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(number)
                .read_all(self.reader())
                .await?
                .iter()
                .map(event_from_row)
                .collect()
        }

        async fn event(&self, id: &str) -> Result<Option<Event>> {
            let sql = format!("SELECT {EVENT_COLUMNS} FROM incident_events WHERE event_id = $1");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .read_optional(self.reader())
                .await?
                .as_ref()
                .map(event_from_row)
                .transpose()
        }
    }
}

sql_impl! {
    impl Tx {
        /// Records `event` about incident `number` (none: not an incident's)
        /// in this transaction; returns its public id. The one place an
        /// event is written.
        pub(crate) async fn append_event(
            &mut self,
            number: Option<IncidentNumber>,
            event: NewEvent,
            actor: Option<&UserId>,
            at: DateTime<Utc>,
        ) -> Result<String> {
            let id = new_event_id()?;
            let seq: i64 = sqlx::query_scalar(
                "INSERT INTO incident_events (event_id, incident_number, type, occurred_at, actor, data) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(&id)
            .bind(number.map(IncidentNumber::get))
            .bind(event.kind.as_str())
            .bind(millis(at))
            .bind(actor.map(UserId::as_str))
            .bind(event.data.to_string())
            .fetch_one(&mut **self)
            .await?;
            self.enqueue_deliveries(seq, event.kind, number, at).await?;
            if super::home::shown_at_home(event.kind) {
                self.refresh_homes(at).await?;
            }
            Ok(id)
        }
    }
}

/// A fresh public event id: `evt_` and 96 random bits in hex, unique
/// whatever the database (a restored backup does not hand out an id again).
fn new_event_id() -> Result<String> {
    crate::random::hex::<12>()
        .map(|h| format!("evt_{h}"))
        .map_err(|e| StoreError::Serialize(format!("an event id (no randomness: {e})")))
}
