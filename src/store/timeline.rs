//! The timeline: reading it, Slack events that change it (once per event
//! id), and tagged messages filled in (or found gone) by their job.

use super::Effects;
use crate::db::{Read, Result, RowsAffected, StoreError, from_millis, millis, sql_impl};
use crate::domain::events::NewEvent;
use crate::domain::{Entry, EntryKind, IncidentNumber, MessageTs, TimelineChange, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// What a Slack event changes on an incident's timeline, and what it
/// causes (a refused tag changes nothing but queues a private answer).
#[derive(Clone, Debug)]
pub struct EventChange {
    pub incident: IncidentNumber,
    pub change: Option<TimelineChange>,
    pub effects: Effects,
}

/// What became of a timeline entry after it was recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryHistory {
    pub recorded_at: DateTime<Utc>,
    /// Who tagged the message (tagged entries).
    pub tagged_by: Option<UserId>,
    /// When the tagged message was last edited in Slack.
    pub edited_at: Option<DateTime<Utc>>,
    /// The tag was removed: hidden from the timeline, kept for audit.
    pub untagged: bool,
    /// The message was deleted in Slack: kept for audit.
    pub deleted: bool,
}

/// A tagged message as fetched from Slack.
#[derive(Clone, Debug)]
pub struct FetchedMessage<'a> {
    pub slack_ts: &'a MessageTs,
    pub text: &'a str,
    pub author: Option<&'a UserId>,
    pub author_name: &'a str,
    pub permalink: Option<&'a str>,
}

/// The timeline as read, the Slack events that change it (each applied
/// once per event id, with its effects), and the tagged messages that a
/// job fills in or finds deleted.
#[async_trait]
pub trait TimelineStore: Send + Sync {
    /// The visible timeline, in time order.
    async fn timeline(&self, number: IncidentNumber) -> Result<Vec<Entry>>;

    /// Every entry the record keeps, in time order, with what became of
    /// it (edited, untagged, deleted): the read API's timeline.
    async fn timeline_record(&self, number: IncidentNumber) -> Result<Vec<(Entry, EntryHistory)>>;

    /// Remembers a Slack event id and applies what it changes, in one
    /// transaction; false (and nothing changed) when it was seen before.
    async fn record_event(
        &self,
        event_id: &str,
        now: DateTime<Utc>,
        change: Option<EventChange>,
    ) -> Result<bool>;

    /// Remembers a Slack event id and queues `jobs` (of no incident) in one
    /// transaction; false (and nothing queued) when it was seen before.
    async fn record_event_with_jobs(
        &self,
        event_id: &str,
        now: DateTime<Utc>,
        jobs: Vec<crate::queue::Job>,
    ) -> Result<bool>;

    /// A change someone made to the timeline directly (a message shortcut:
    /// quoted, or removed again), with its effects, in one transaction
    /// guarded as `effects.guard` says.
    async fn change_timeline(
        &self,
        number: IncidentNumber,
        change: TimelineChange,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<(), super::ChangeError>;

    /// Fills in a tagged message's text, author and link once fetched.
    async fn fill_tagged_message(
        &self,
        number: IncidentNumber,
        message: FetchedMessage<'_>,
    ) -> Result<()>;

    /// A tagged message Slack no longer has: marked deleted, kept.
    async fn mark_message_gone(&self, number: IncidentNumber, slack_ts: &MessageTs) -> Result<()>;
}

sql_impl! {
    #[async_trait]
    impl TimelineStore for B {
        async fn timeline(&self, number: IncidentNumber) -> Result<Vec<Entry>> {
            Ok(self
                .timeline_record(number)
                .await?
                .into_iter()
                .filter(|(_, h)| !h.untagged && !h.deleted)
                .map(|(e, _)| e)
                .collect())
        }

        async fn timeline_record(
            &self,
            number: IncidentNumber,
        ) -> Result<Vec<(Entry, EntryHistory)>> {
            let rows = sqlx::query(
                "SELECT id, occurred_at, recorded_at, kind, author, author_name, text, slack_ts, permalink, fetched, tagged_by, edited_at, hidden, deleted FROM timeline_entries
                 WHERE incident_number = $1 ORDER BY occurred_at, id",
            )
            .bind(number)
            .read_all(self.reader())
            .await?;
            rows.iter()
                .map(|r| {
                    let kind: String = r.try_get("kind")?;
                    let entry = Entry {
                        id: r.try_get("id")?,
                        occurred_at: from_millis(r.try_get("occurred_at")?)?,
                        kind: EntryKind::parse(&kind)
                            .ok_or_else(|| StoreError::Corrupt(format!("entry kind {kind}")))?,
                        author: r.try_get::<Option<String>, _>("author")?.map(UserId),
                        author_name: r.try_get("author_name")?,
                        text: r.try_get("text")?,
                        slack_ts: r.try_get::<Option<String>, _>("slack_ts")?.map(MessageTs),
                        permalink: r.try_get("permalink")?,
                        fetched: r.try_get("fetched")?,
                        added_by: r.try_get::<Option<String>, _>("tagged_by")?.map(UserId),
                    };
                    let history = EntryHistory {
                        recorded_at: from_millis(r.try_get("recorded_at")?)?,
                        tagged_by: r.try_get::<Option<String>, _>("tagged_by")?.map(UserId),
                        edited_at: r
                            .try_get::<Option<i64>, _>("edited_at")?
                            .map(from_millis)
                            .transpose()?,
                        untagged: r.try_get("hidden")?,
                        deleted: r.try_get("deleted")?,
                    };
                    Ok((entry, history))
                })
                .collect()
        }

        async fn record_event(
            &self,
            event_id: &str,
            now: DateTime<Utc>,
            change: Option<EventChange>,
        ) -> Result<bool> {
            let mut tx = self.write().await?;
            if let Some(c) = &change {
                tx.lock_incident(c.incident).await?;
            }
            if !tx.remember_event(event_id, now).await? {
                return Ok(false);
            }
            if let Some(EventChange {
                incident: n,
                change,
                effects,
            }) = change
            {
                if let Some(change) = change {
                    tx.apply_timeline_change(n, change, now).await?;
                }
                tx.apply_effects(n, effects, now).await?;
            }
            tx.commit().await?;
            Ok(true)
        }

        async fn record_event_with_jobs(
            &self,
            event_id: &str,
            now: DateTime<Utc>,
            jobs: Vec<crate::queue::Job>,
        ) -> Result<bool> {
            let mut tx = self.write().await?;
            if !tx.remember_event(event_id, now).await? {
                return Ok(false);
            }
            tx.enqueue(None, jobs, now).await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn change_timeline(
            &self,
            number: IncidentNumber,
            change: TimelineChange,
            now: DateTime<Utc>,
            effects: Effects,
        ) -> Result<(), super::ChangeError> {
            let mut tx = self.write().await?;
            tx.guarded(number, &effects.guard).await?;
            tx.apply_timeline_change(number, change, now).await?;
            tx.apply_effects(number, effects, now).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn fill_tagged_message(
            &self,
            number: IncidentNumber,
            m: FetchedMessage<'_>,
        ) -> Result<()> {
            let mut tx = self.write_background().await?;
            sqlx::query(
                "UPDATE timeline_entries SET text = $1, author = $2, author_name = $3, permalink = $4, fetched = TRUE
                 WHERE incident_number = $5 AND slack_ts = $6",
            )
            .bind(m.text)
            .bind(m.author.map(|u| u.0.as_str()))
            .bind(m.author_name)
            .bind(m.permalink)
            .bind(number)
            .bind(m.slack_ts.as_str())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }

        async fn mark_message_gone(&self, number: IncidentNumber, slack_ts: &MessageTs) -> Result<()> {
            let mut tx = self.write_background().await?;
            sqlx::query("UPDATE timeline_entries SET deleted = TRUE, fetched = TRUE WHERE incident_number = $1 AND slack_ts = $2")
                .bind(number)
                .bind(slack_ts.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }
    }
}

sql_impl! {
    impl Tx {
        /// Remembers a Slack event id; false when it was seen before (a
        /// redelivery, to be acted on no further).
        pub(super) async fn remember_event(
            &mut self,
            event_id: &str,
            now: DateTime<Utc>,
        ) -> Result<bool> {
            let inserted = sqlx::query(
                "INSERT INTO slack_events (event_id, received_at) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(event_id)
            .bind(millis(now))
            .execute(&mut **self)
            .await?
            .rows_affected();
            Ok(inserted == 1)
        }

        /// Applies a tag, untag, edit or deletion of a message entry.
        pub(super) async fn apply_timeline_change(
            &mut self,
            number: IncidentNumber,
            change: TimelineChange,
            now: DateTime<Utc>,
        ) -> Result<()> {
            // The entry of a message, if it has one, and whether it shows:
            // the event log hears of an entry when it appears or goes.
            let slack_ts = match &change {
                TimelineChange::Tag { slack_ts, .. }
                | TimelineChange::Untag { slack_ts }
                | TimelineChange::Edit { slack_ts, .. }
                | TimelineChange::Delete { slack_ts } => slack_ts.clone(),
                TimelineChange::Quote { message, .. } => message.ts.clone(),
            };
            let shown: Option<(i64, bool)> = sqlx::query(
                "SELECT id, hidden, deleted FROM timeline_entries WHERE incident_number = $1 AND slack_ts = $2",
            )
            .bind(number)
            .bind(slack_ts.as_str())
            .fetch_optional(&mut **self)
            .await?
            .map(|row| -> Result<(i64, bool)> {
                let hidden: bool = row.try_get("hidden")?;
                let deleted: bool = row.try_get("deleted")?;
                Ok((row.try_get("id")?, !hidden && !deleted))
            })
            .transpose()?;
            match change {
                TimelineChange::Tag {
                    slack_ts,
                    occurred_at,
                    kind,
                    tagged_by,
                } => {
                    // A plain tag never downgrades a typed one.
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO timeline_entries (incident_number, occurred_at, recorded_at, kind, text, slack_ts, tagged_by, fetched)
                         VALUES ($1, $2, $3, $4, '', $5, $6, FALSE)
                         ON CONFLICT (incident_number, slack_ts) WHERE slack_ts IS NOT NULL DO UPDATE SET
                            hidden = FALSE,
                            deleted = FALSE,
                            fetched = FALSE,
                            kind = CASE WHEN excluded.kind = 'message' THEN timeline_entries.kind ELSE excluded.kind END
                         RETURNING id",
                    )
                    .bind(number)
                    .bind(millis(occurred_at))
                    .bind(millis(now))
                    .bind(kind.as_str())
                    .bind(slack_ts.as_str())
                    .bind(&tagged_by.0)
                    .fetch_one(&mut **self)
                    .await?;
                    if !shown.is_some_and(|(_, visible)| visible) {
                        self.append_event(
                            Some(number),
                            NewEvent::entry_added(id, kind),
                            Some(&tagged_by),
                            now,
                        )
                        .await?;
                    }
                    let column = match kind {
                        EntryKind::ImpactStarted => {
                            Some("UPDATE incidents SET impact_started_at = $1 WHERE number = $2")
                        }
                        EntryKind::Detected => {
                            Some("UPDATE incidents SET detected_at = $1 WHERE number = $2")
                        }
                        EntryKind::Mitigated => {
                            Some("UPDATE incidents SET mitigated_at = $1 WHERE number = $2")
                        }
                        _ => None,
                    };
                    if let Some(sql) = column {
                        sqlx::query(sql)
                            .bind(millis(occurred_at))
                            .bind(number)
                            .execute(&mut **self)
                            .await?;
                    }
                }
                TimelineChange::Quote {
                    message,
                    occurred_at,
                    added_by,
                } => {
                    // Known already (tagged, quoted, removed): shown again,
                    // its kind and text kept.
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO timeline_entries (incident_number, occurred_at, recorded_at, kind, author, text, slack_ts, tagged_by, fetched)
                         VALUES ($1, $2, $3, 'message', $4, $5, $6, $7, TRUE)
                         ON CONFLICT (incident_number, slack_ts) WHERE slack_ts IS NOT NULL DO UPDATE SET
                            tagged_by = CASE WHEN timeline_entries.hidden OR timeline_entries.deleted
                                THEN excluded.tagged_by ELSE timeline_entries.tagged_by END,
                            hidden = FALSE,
                            deleted = FALSE
                         RETURNING id",
                    )
                    .bind(number)
                    .bind(millis(occurred_at))
                    .bind(millis(now))
                    .bind(message.author.as_ref().map(UserId::as_str))
                    .bind(&message.text)
                    .bind(message.ts.as_str())
                    .bind(added_by.as_str())
                    .fetch_one(&mut **self)
                    .await?;
                    if !shown.is_some_and(|(_, visible)| visible) {
                        self.append_event(
                            Some(number),
                            NewEvent::entry_added(id, EntryKind::Message),
                            Some(&added_by),
                            now,
                        )
                        .await?;
                    }
                }
                TimelineChange::Untag { slack_ts } => {
                    sqlx::query(
                        "UPDATE timeline_entries SET hidden = TRUE WHERE incident_number = $1 AND slack_ts = $2",
                    )
                    .bind(number)
                    .bind(slack_ts.0)
                    .execute(&mut **self)
                    .await?;
                    self.entry_gone(number, shown, now).await?;
                }
                TimelineChange::Edit { slack_ts, text, at } => {
                    sqlx::query("UPDATE timeline_entries SET text = $1, edited_at = $2 WHERE incident_number = $3 AND slack_ts = $4")
                    .bind(text)
                    .bind(millis(at))
                    .bind(number)
                    .bind(slack_ts.0)
                    .execute(&mut **self)
                    .await?;
                }
                TimelineChange::Delete { slack_ts } => {
                    sqlx::query("UPDATE timeline_entries SET deleted = TRUE WHERE incident_number = $1 AND slack_ts = $2")
                    .bind(number)
                    .bind(slack_ts.0)
                    .execute(&mut **self)
                    .await?;
                    self.entry_gone(number, shown, now).await?;
                }
            }
            Ok(())
        }

        /// Records that a shown entry is gone (untagged, or its message
        /// deleted); nothing for one that was not shown.
        async fn entry_gone(
            &mut self,
            number: IncidentNumber,
            shown: Option<(i64, bool)>,
            now: DateTime<Utc>,
        ) -> Result<()> {
            if let Some((id, true)) = shown {
                self.append_event(Some(number), NewEvent::entry_removed(id), None, now)
                    .await?;
            }
            Ok(())
        }
    }
}
