//! Incidents: declaring one, reading them, their severity, status and war
//! room membership, effects recorded alone, and the Slack ids their jobs
//! record (the war room, the role board, the announcement).

use super::rows::{INCIDENT_COLUMNS, incident_from_row, not_open};
use super::{ChangeError, Effects};
use crate::db::{Read, Result, millis, sql_impl};
use crate::domain::events::NewEvent;
use crate::domain::{
    ChannelId, Declaration, Incident, IncidentNumber, MessageTs, RoleName, SeverityName, Status,
    UserId,
};
use crate::queue::Job;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Incidents: declaring, reading (by number, by war room, the open ones),
/// severity and status, who is in the war room, effects or jobs recorded
/// alone, and the Slack ids the jobs record. Every change is one
/// transaction with its [`Effects`]; a guarded one may fail with
/// [`ChangeError::Refused`], having written nothing.
#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// Creates the incident with the next number; the declarer holds
    /// Incident Lead. `view_id` makes a repeated submission a no-op: the
    /// incident it created before is returned with `false`.
    async fn create_incident(
        &self,
        declaration: &Declaration,
        view_id: Option<&str>,
        now: DateTime<Utc>,
        lead_role: &RoleName,
        effects: Effects,
    ) -> Result<(Incident, bool)>;

    async fn incident(&self, number: IncidentNumber) -> Result<Option<Incident>>;

    async fn incident_by_channel(&self, channel_id: &ChannelId) -> Result<Option<Incident>>;

    async fn open_incidents(&self) -> Result<Vec<Incident>>;

    /// Whether `user` is known to be in the war room of incident `number`.
    async fn is_member(&self, number: IncidentNumber, user: &UserId) -> Result<bool>;

    /// The open incidents `user` may see: a private one only for people
    /// known to be in its war room (invited by the bot, seen acting there,
    /// or reported joining by Slack's member events).
    async fn open_incidents_seen_by(&self, user: &UserId) -> Result<Vec<Incident>> {
        let mut open = Vec::new();
        for i in self.open_incidents().await? {
            if !i.private || self.is_member(i.number, user).await? {
                open.push(i);
            }
        }
        Ok(open)
    }

    /// Records that `user` joined (`present`) or left the war room at `at`,
    /// unless something later is already known; with `event_id`, once per
    /// Slack event (false when seen before).
    async fn record_membership(
        &self,
        number: IncidentNumber,
        user: &UserId,
        present: bool,
        at: DateTime<Utc>,
        event_id: Option<&str>,
    ) -> Result<bool>;

    /// Sets the severity; returns the previous one, or `None` (and nothing
    /// written) when it was already `level`.
    async fn set_severity(
        &self,
        number: IncidentNumber,
        level: &SeverityName,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<Option<SeverityName>, ChangeError>;

    /// Sets the severity and, if given, the impact and urgency answers it
    /// came from. Returns the previous severity, or `None` (and nothing
    /// written) when neither the level nor the answers change.
    async fn set_severity_assessed(
        &self,
        number: IncidentNumber,
        level: &SeverityName,
        assessment: Option<&crate::domain::Assessment>,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<Option<SeverityName>, ChangeError>;

    /// Moves the lifecycle, stamping mitigated/resolved times the first time
    /// they are reached. Returns the previous status, or `None` (and nothing
    /// written) when it was already `status`.
    async fn set_status(
        &self,
        number: IncidentNumber,
        status: Status,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<Option<Status>, ChangeError>;

    /// Records effects alone (a note, for example).
    async fn add_effects(
        &self,
        number: IncidentNumber,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<(), ChangeError>;

    /// Queues `jobs` of incident `number` and changes nothing else (an
    /// answer to the person who asked, a checklist posted again): with no
    /// guard, nothing can refuse it.
    async fn add_jobs(
        &self,
        number: IncidentNumber,
        now: DateTime<Utc>,
        jobs: Vec<Job>,
    ) -> Result<()>;

    /// Slack ids produced by jobs.
    async fn record_channel(
        &self,
        number: IncidentNumber,
        id: &ChannelId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;

    async fn record_board(&self, number: IncidentNumber, ts: &MessageTs) -> Result<()>;

    async fn record_announcement(&self, number: IncidentNumber, ts: &MessageTs) -> Result<()>;
}

sql_impl! {
    #[async_trait]
    impl IncidentStore for B {
        async fn create_incident(
            &self,
            d: &Declaration,
            view_id: Option<&str>,
            now: DateTime<Utc>,
            lead_role: &RoleName,
            effects: Effects,
        ) -> Result<(Incident, bool)> {
            let mut tx = self.write().await?;
            let (incident, created) = tx.insert_incident(d, view_id, now, lead_role, effects).await?;
            if created {
                tx.commit().await?;
            }
            Ok((incident, created))
        }

        async fn incident(&self, number: IncidentNumber) -> Result<Option<Incident>> {
            let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE number = $1");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(number)
                .read_optional(self.reader())
                .await?
                .as_ref()
                .map(incident_from_row)
                .transpose()
        }

        async fn incident_by_channel(&self, channel_id: &ChannelId) -> Result<Option<Incident>> {
            let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE channel_id = $1");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(channel_id.as_str())
                .read_optional(self.reader())
                .await?
                .as_ref()
                .map(incident_from_row)
                .transpose()
        }

        async fn open_incidents(&self) -> Result<Vec<Incident>> {
            let sql = format!(
                concat!(
                    "SELECT {} FROM incidents WHERE status NOT IN ",
                    not_open!(),
                    " ORDER BY number"
                ),
                INCIDENT_COLUMNS
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .read_all(self.reader())
                .await?
                .iter()
                .map(incident_from_row)
                .collect()
        }

        async fn is_member(&self, number: IncidentNumber, user: &UserId) -> Result<bool> {
            let present: Option<bool> = sqlx::query_scalar(
                "SELECT present FROM war_room_members WHERE incident_number = $1 AND user_id = $2",
            )
            .bind(number)
            .bind(&user.0)
            .read_optional(self.reader())
            .await?;
            Ok(present == Some(true))
        }

        async fn record_membership(
            &self,
            number: IncidentNumber,
            user: &UserId,
            present: bool,
            at: DateTime<Utc>,
            event_id: Option<&str>,
        ) -> Result<bool> {
            let mut tx = self.write().await?;
            tx.lock_incident(number).await?;
            if let Some(event_id) = event_id
                && !tx.remember_event(event_id, at).await?
            {
                return Ok(false);
            }
            tx.upsert_member(number, user, present, at).await?;
            // Who may see a private incident changed: their Home tab, if
            // they follow it, shows it or no longer does.
            tx.refresh_home_of(user, at).await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn set_severity(
            &self,
            number: IncidentNumber,
            level: &SeverityName,
            now: DateTime<Utc>,
            effects: Effects,
        ) -> Result<Option<SeverityName>, ChangeError> {
            self.set_severity_assessed(number, level, None, now, effects)
                .await
        }

        async fn set_severity_assessed(
            &self,
            number: IncidentNumber,
            level: &SeverityName,
            assessment: Option<&crate::domain::Assessment>,
            now: DateTime<Utc>,
            effects: Effects,
        ) -> Result<Option<SeverityName>, ChangeError> {
            let mut tx = self.write().await?;
            let current = tx.guarded(number, &effects.guard).await?;
            let old = current.severity;
            let new_answers = assessment.is_some_and(|a| current.assessment.as_ref() != Some(a));
            if old == *level && !new_answers {
                return Ok(None);
            }
            sqlx::query("UPDATE incidents SET severity = $1 WHERE number = $2")
                .bind(level.as_str())
                .bind(number)
                .execute(&mut *tx)
                .await?;
            if let Some(a) = assessment {
                sqlx::query("UPDATE incidents SET impact = $1, urgency = $2 WHERE number = $3")
                    .bind(&a.impact)
                    .bind(&a.urgency)
                    .bind(number)
                    .execute(&mut *tx)
                    .await?;
            }
            if old != *level {
                tx.append_event(
                    Some(number),
                    NewEvent::severity_changed(&old, level),
                    effects.actor().as_ref(),
                    now,
                )
                .await?;
            }
            tx.apply_effects(number, effects, now).await?;
            tx.commit().await?;
            Ok(Some(old))
        }

        async fn set_status(
            &self,
            number: IncidentNumber,
            status: Status,
            now: DateTime<Utc>,
            effects: Effects,
        ) -> Result<Option<Status>, ChangeError> {
            let mut tx = self.write().await?;
            let old = tx.guarded(number, &effects.guard).await?.status;
            if old == status {
                return Ok(None);
            }
            let stamp = millis(now);
            sqlx::query(concat!(
                "UPDATE incidents SET status = $1,
                    mitigated_at = CASE WHEN $2 IN ('mitigated', 'resolved', 'closed') THEN COALESCE(mitigated_at, $3) ELSE mitigated_at END,
                    resolved_at  = CASE WHEN $4 IN ", not_open!(), " THEN COALESCE(resolved_at, $5) ELSE NULL END,
                    closed_at    = CASE WHEN $6 = 'closed' THEN COALESCE(closed_at, $7) ELSE NULL END
                 WHERE number = $8",
            ))
            .bind(status.as_str())
            .bind(status.as_str())
            .bind(stamp)
            .bind(status.as_str())
            .bind(stamp)
            .bind(status.as_str())
            .bind(stamp)
            .bind(number)
            .execute(&mut *tx)
            .await?;
            let actor = effects.actor();
            tx.append_event(
                Some(number),
                NewEvent::status_changed(old, status),
                actor.as_ref(),
                now,
            )
            .await?;
            if status == Status::Closed {
                tx.append_event(Some(number), NewEvent::closed(), actor.as_ref(), now)
                    .await?;
            }
            tx.apply_effects(number, effects, now).await?;
            tx.commit().await?;
            Ok(Some(old))
        }

        async fn add_effects(
            &self,
            number: IncidentNumber,
            now: DateTime<Utc>,
            effects: Effects,
        ) -> Result<(), ChangeError> {
            let mut tx = self.write().await?;
            tx.guarded(number, &effects.guard).await?;
            tx.apply_effects(number, effects, now).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn add_jobs(
            &self,
            number: IncidentNumber,
            now: DateTime<Utc>,
            jobs: Vec<Job>,
        ) -> Result<()> {
            let mut tx = self.write().await?;
            tx.lock_incident(number).await?;
            tx.enqueue(Some(number), jobs, now).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn record_channel(
            &self,
            number: IncidentNumber,
            id: &ChannelId,
            name: &str,
            now: DateTime<Utc>,
        ) -> Result<()> {
            let mut tx = self.write_background().await?;
            sqlx::query("UPDATE incidents SET channel_id = $1, channel_name = $2 WHERE number = $3")
                .bind(id.as_str())
                .bind(name)
                .bind(number)
                .execute(&mut *tx)
                .await?;
            // Home tabs link the war room once it exists.
            tx.refresh_homes(now).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn record_board(&self, number: IncidentNumber, ts: &MessageTs) -> Result<()> {
            let mut tx = self.write_background().await?;
            sqlx::query("UPDATE incidents SET board_ts = $1 WHERE number = $2")
                .bind(ts.as_str())
                .bind(number)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }

        async fn record_announcement(&self, number: IncidentNumber, ts: &MessageTs) -> Result<()> {
            let mut tx = self.write_background().await?;
            sqlx::query("UPDATE incidents SET announce_ts = $1 WHERE number = $2")
                .bind(ts.as_str())
                .bind(number)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }
    }
}

sql_impl! {
    impl Tx {
        /// Creates the incident inside this transaction (see
        /// [`IncidentStore::create_incident`]); `false` with the incident a
        /// submission of the same view made before. Does not commit.
        pub(super) async fn insert_incident(
            &mut self,
            d: &Declaration,
            view_id: Option<&str>,
            now: DateTime<Utc>,
            lead_role: &RoleName,
            effects: Effects,
        ) -> Result<(Incident, bool)> {
            if let Some(view_id) = view_id {
                let existing: Option<IncidentNumber> =
                    sqlx::query_scalar("SELECT number FROM incidents WHERE declare_view_id = $1")
                        .bind(view_id)
                        .fetch_optional(&mut **self)
                        .await?;
                if let Some(number) = existing {
                    let incident = self.fetch_incident(number).await?;
                    return Ok((incident, false));
                }
            }
            // Two replicas handling one submission at once: the second insert
            // meets the first's view id and returns the incident it made.
            let number: Option<IncidentNumber> = sqlx::query_scalar(
                "INSERT INTO incidents (title, severity, summary, security, drill, declared_by, declared_at, impact_started_at, origin_channel, announce_channel, declare_view_id, is_private, impact, urgency)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (declare_view_id) DO NOTHING RETURNING number",
            )
            .bind(&d.title)
            .bind(d.severity.as_str())
            .bind(&d.summary)
            .bind(d.security)
            .bind(d.drill)
            .bind(&d.declared_by.0)
            .bind(millis(now))
            .bind(d.impact_started_at.map(millis))
            .bind(d.origin_channel.as_str())
            .bind(d.announce_channel.as_str())
            .bind(view_id)
            .bind(d.private)
            .bind(d.assessment.as_ref().map(|a| a.impact.as_str()))
            .bind(d.assessment.as_ref().map(|a| a.urgency.as_str()))
            .fetch_optional(&mut **self)
            .await?;
            let Some(number) = number else {
                let existing: IncidentNumber =
                    sqlx::query_scalar("SELECT number FROM incidents WHERE declare_view_id = $1")
                        .bind(view_id)
                        .fetch_one(&mut **self)
                        .await?;
                let incident = self.fetch_incident(existing).await?;
                return Ok((incident, false));
            };
            sqlx::query("INSERT INTO role_assignments (incident_number, role, user_id, assigned_at) VALUES ($1, $2, $3, $4)")
                .bind(number)
                .bind(lead_role.as_str())
                .bind(&d.declared_by.0)
                .bind(millis(now))
                .execute(&mut **self)
                .await?;
            // The declarer is invited into the war room first thing.
            self.upsert_member(number, &d.declared_by, true, now).await?;
            let by = Some(&d.declared_by);
            self.append_event(Some(number), NewEvent::declared(), by, now)
                .await?;
            self.append_event(
                Some(number),
                NewEvent::role_assigned(lead_role, &d.declared_by, &[]),
                by,
                now,
            )
            .await?;
            self.apply_effects(number, effects, now).await?;
            let incident = self.fetch_incident(number).await?;
            Ok((incident, true))
        }
    }
}
