//! Socket Mode envelopes: a delivery claims its `envelope_id` before acting,
//! and stores its reply after, so a redelivery (on any connection or
//! replica) answers the same and acts once.

use crate::db::{Result, RowsAffected, millis, sql_impl};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// What a Socket Mode delivery found when it claimed its envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvelopeClaim {
    /// Nobody acted on it yet (or the one who did died): act on it.
    Claimed,
    /// Acted on before; answer again with this reply (ack payload, JSON).
    Done(Option<String>),
    /// Another delivery is acting on it right now.
    Busy,
}

/// Socket Mode envelopes: claiming one before acting on it, storing its
/// reply, or releasing a claim whose work failed.
#[async_trait]
pub trait EnvelopeStore: Send + Sync {
    /// Socket Mode: claims envelope `id` for this delivery. A claim made
    /// before `stale_before` and never finished (its process died) is taken
    /// over.
    async fn claim_envelope(
        &self,
        id: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<EnvelopeClaim>;

    /// Records the reply given to a claimed envelope (`None`: an ack
    /// without payload), so a redelivery answers the same.
    async fn finish_envelope(
        &self,
        id: &str,
        reply: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Drops a claim whose work failed, so a redelivery may try again.
    async fn release_envelope(&self, id: &str) -> Result<()>;
}

sql_impl! {
    #[async_trait]
    impl EnvelopeStore for B {
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
            let mut tx = self.write().await?;
            sqlx::query(
                "UPDATE socket_envelopes SET finished_at = $1, reply = $2 WHERE envelope_id = $3",
            )
            .bind(millis(now))
            .bind(reply)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }

        async fn release_envelope(&self, id: &str) -> Result<()> {
            let mut tx = self.write().await?;
            sqlx::query("DELETE FROM socket_envelopes WHERE envelope_id = $1 AND finished_at IS NULL")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }
    }
}
