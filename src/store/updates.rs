//! Status updates and the reminders to write them: recording an update
//! with one post per destination, the communications timeline, and the
//! update, nudge and scribe reminders falling due (each fired once).

use super::rows::not_open;
use super::{ChangeError, Effects};
use crate::db::{Read, Result, RowsAffected, from_millis, millis, sql_impl};
use crate::domain::comms::{Communication, Destination};
use crate::domain::events::NewEvent;
use crate::domain::{ChannelId, IncidentNumber, MessageTs, SeverityName, UpdateId, UserId};
use crate::queue::Job;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// A reminder that has fallen due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueReminder {
    pub incident: IncidentNumber,
    pub kind: crate::domain::comms::ReminderKind,
    pub due_at: DateTime<Utc>,
    pub severity: SeverityName,
}

/// Status updates (one post per destination, each recorded when posted),
/// the communications timeline, and the nudge, update-due and scribe
/// reminders: which are due, firing one once, the next due time.
#[async_trait]
pub trait UpdateStore: Send + Sync {
    /// Records a status update and queues one post per destination; returns
    /// the update's id.
    async fn record_update(
        &self,
        number: IncidentNumber,
        posted_by: &UserId,
        text: &str,
        destinations: &[Destination],
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<UpdateId, ChangeError>;

    /// The communications timeline of an incident, oldest first.
    async fn communications(&self, number: IncidentNumber) -> Result<Vec<Communication>>;

    /// Marks one post of an update as done.
    async fn record_update_post(
        &self,
        update_id: UpdateId,
        channel: &ChannelId,
        ts: &MessageTs,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Reminders due at `now` for open incidents (at most `limit`).
    async fn due_reminders(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<DueReminder>>;

    /// Fires a reminder once: moves its due time from `due.due_at` to `next`
    /// and applies `effects`, unless it was moved meanwhile (false).
    async fn fire_reminder(
        &self,
        due: &DueReminder,
        next: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool>;

    /// The earliest scheduled reminder of an open incident.
    async fn next_reminder_due(&self) -> Result<Option<DateTime<Utc>>>;
}

sql_impl! {
    #[async_trait]
    impl UpdateStore for B {
        async fn record_update(
            &self,
            number: IncidentNumber,
            posted_by: &UserId,
            text: &str,
            destinations: &[Destination],
            now: DateTime<Utc>,
            mut effects: Effects,
        ) -> Result<UpdateId, ChangeError> {
            let mut tx = self.write().await?;
            tx.guarded(number, &effects.guard).await?;
            let id: UpdateId = sqlx::query_scalar(
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
            let channels: Vec<&ChannelId> = destinations.iter().map(|d| &d.channel).collect();
            tx.append_event(
                Some(number),
                NewEvent::update_posted(id, text, &channels),
                Some(posted_by),
                now,
            )
            .await?;
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
            .read_all(self.reader())
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
            update_id: UpdateId,
            channel: &ChannelId,
            ts: &MessageTs,
            now: DateTime<Utc>,
        ) -> Result<()> {
            let mut tx = self.write_background().await?;
            sqlx::query(
                "UPDATE update_posts SET ts = $1, posted_at = $2 WHERE update_id = $3 AND channel = $4",
            )
            .bind(ts.as_str())
            .bind(millis(now))
            .bind(update_id)
            .bind(channel.as_str())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
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
                    .read_all(self.reader())
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
            .read_one(self.reader())
            .await?;
            next.map(from_millis).transpose()
        }
    }
}
