//! Alert groups: a notification taken in (`ingest_alerts`: the group found
//! or claimed, its alerts' changes, and what follows: an incident declared
//! within the hourly budget, a card to post or edit, timeline entries of a
//! linked incident, the "all resolved" message), the card's buttons (link
//! to an incident, declare from it, dismiss), and what the card and the
//! gauge read. Each is one transaction.
//!
//! **Invariant:** one live group per (source, group key), held by the
//! partial unique index `alert_groups_live`; a group is linked to one
//! incident, set by compare-and-set on `incident_number IS NULL` with the
//! group row locked, so no key ever opens a second open incident.

use super::Effects;
use super::alert_tx::{alert_from_row, from_json, group_from_row, json, sync_card};
use crate::db::{Read, Result, RowsAffected, StoreError, millis, sql_impl};
use crate::domain::alerts::{Alert, AlertGroup, AlertStatus, Labels, Link, RouteAction};
use crate::domain::{
    AlertGroupId, ChannelId, Declaration, Incident, IncidentNumber, MessageTs, NewEntry, RoleName,
    SeverityName, UserId,
};
use crate::queue::Job;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// One alert of a notification, with the timeline lines its changes make
/// (rendered by the service, in Slack's format).
#[derive(Clone, Debug)]
pub struct IncomingAlert {
    pub alert: Alert,
    pub fired: String,
    pub resolved: String,
}

/// An incident to open for an alert group, ready to write.
#[derive(Clone, Debug)]
pub struct DeclarePlan {
    pub declaration: Declaration,
    pub lead_role: RoleName,
    /// The declaration's timeline entry and jobs.
    pub effects: Effects,
    /// The earliest alert's start: when the problem was detected.
    pub detected_at: DateTime<Utc>,
}

/// A notification for one group, with everything its outcome may need.
#[derive(Clone, Debug)]
pub struct Intake {
    pub source: String,
    pub group_key: String,
    /// A delivery id acted on once (PagerDuty's `X-Webhook-Id`).
    pub delivery: Option<String>,
    pub title: String,
    pub labels: Labels,
    pub links: Vec<Link>,
    pub severity: SeverityName,
    pub channel: ChannelId,
    pub private: bool,
    /// `Declare` or `Suggest` (an ignored group is never taken in).
    pub action: RouteAction,
    pub alerts: Vec<IncomingAlert>,
    /// A line for a linked incident's timeline (a PagerDuty note).
    pub note: Option<NewEntry>,
    /// With `Declare`: the incident to open while the budget allows.
    pub declare: Option<DeclarePlan>,
    pub max_declares_per_hour: u32,
    /// What the card says when the budget is spent.
    pub held_back: String,
}

/// What taking a notification in did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ingested {
    /// The delivery was acted on before.
    Duplicate,
    /// Nothing firing and no live group: nothing to record.
    Nothing,
    /// A new group opened its incident.
    Declared {
        group: AlertGroupId,
        incident: IncidentNumber,
    },
    /// A new group, with a card (`held_back`: a `declare` route over its
    /// budget).
    Suggested {
        group: AlertGroupId,
        held_back: bool,
    },
    /// A live group: `changes` alerts changed.
    Updated {
        group: AlertGroupId,
        incident: Option<IncidentNumber>,
        changes: usize,
    },
}

/// Why a card's button changed nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkRefusal {
    NoGroup,
    /// Already linked to this incident.
    Linked(IncidentNumber),
    Dismissed,
    /// The group is over and its key fired again since: the newer card
    /// is the one to use.
    Superseded,
    /// The incident is closed or does not exist.
    NotOpen(IncidentNumber),
}

/// Alert groups and their alerts.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Takes one notification in, in one transaction (see the module).
    async fn ingest_alerts(&self, intake: &Intake, now: DateTime<Utc>) -> Result<Ingested>;

    async fn alert_group(&self, id: AlertGroupId) -> Result<Option<AlertGroup>>;

    /// A group's alerts, firing first, then by start.
    async fn group_alerts(&self, id: AlertGroupId) -> Result<Vec<Alert>>;

    /// Links group `id` to the open incident `number` (Attach to…), with
    /// `entries` (its alerts so far, and who linked it) on the incident's
    /// timeline, and the card edited.
    async fn link_alert_group(
        &self,
        id: AlertGroupId,
        number: IncidentNumber,
        entries: Vec<NewEntry>,
        now: DateTime<Utc>,
    ) -> Result<Result<(), LinkRefusal>>;

    /// Declares the incident of `plan` for group `id` (the card's declare
    /// form, `view_id` making a repeated submission a no-op) and links
    /// them, with `entries` on its timeline: the incident, and whether it
    /// is new; or why not.
    async fn declare_for_group(
        &self,
        id: AlertGroupId,
        plan: DeclarePlan,
        view_id: &str,
        entries: Vec<NewEntry>,
        now: DateTime<Utc>,
    ) -> Result<Result<(Incident, bool), LinkRefusal>>;

    /// Dismisses the card of group `id`, once, recording who.
    async fn dismiss_alert_group(
        &self,
        id: AlertGroupId,
        by: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Result<(), LinkRefusal>>;

    /// Queues jobs of no incident (an answer to someone who clicked a
    /// card), changing nothing else.
    async fn add_unowned_jobs(&self, jobs: Vec<Job>, now: DateTime<Utc>) -> Result<()>;

    /// The card's ts, once posted.
    async fn record_alert_card(&self, id: AlertGroupId, ts: &MessageTs) -> Result<()>;

    /// Live groups with at least one alert firing (the gauge).
    async fn open_alert_groups(&self) -> Result<i64>;

    /// The links of the alert groups linked to incident `number` and of
    /// their first alerts (for the role board), each once.
    async fn incident_alert_links(&self, number: IncidentNumber) -> Result<Vec<Link>>;
}

/// A group that fires again this soon after the one whose incident ended
/// gets a card naming that incident, whatever its route.
const FIRES_AGAIN_WITHIN: chrono::Duration = chrono::Duration::hours(24);

pub(super) const GROUP_COLUMNS: &str = "id, source, group_key, title, labels, links, severity, channel, is_private, incident_number, earlier_incident, held_back, dismissed_by, card_ts, firing, total, first_started_at, ended_at";

sql_impl! {
    #[async_trait]
    impl AlertStore for B {
        async fn ingest_alerts(&self, intake: &Intake, now: DateTime<Utc>) -> Result<Ingested> {
            let mut tx = self.write().await?;
            if let Some(delivery) = &intake.delivery {
                let fresh = sqlx::query(
                    "INSERT INTO alert_deliveries (source, delivery_id, received_at) VALUES ($1, $2, $3) ON CONFLICT (source, delivery_id) DO NOTHING",
                )
                .bind(&intake.source)
                .bind(delivery)
                .bind(millis(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if fresh == 0 {
                    return Ok(Ingested::Duplicate);
                }
            }
            let mut earlier = None;
            let mut group = tx.live_group(&intake.source, &intake.group_key).await?;
            // A group whose incident is no longer open is over: firing
            // again, it is a new group, whose card names that incident.
            if let Some(g) = &group
                && let Some(n) = g.incident
                && tx.open_incident(n).await?.is_none()
            {
                sqlx::query("UPDATE alert_groups SET ended_at = $1 WHERE id = $2")
                    .bind(millis(now))
                    .bind(g.id)
                    .execute(&mut *tx)
                    .await?;
                earlier = Some(n);
                group = None;
            }
            let mut fresh = false;
            let group = match group {
                Some(g) => g,
                None => {
                    let firing = intake.alerts.iter().any(|a| a.alert.status == AlertStatus::Firing);
                    if !firing {
                        tx.commit().await?;
                        return Ok(Ingested::Nothing);
                    }
                    // Resolved after its incident closed and firing again
                    // within a day: the new group's card names that
                    // incident too.
                    if earlier.is_none() {
                        let last: Option<i64> = sqlx::query_scalar(
                            "SELECT incident_number FROM alert_groups
                             WHERE source = $1 AND group_key = $2 AND ended_at >= $3
                               AND incident_number IS NOT NULL
                             ORDER BY ended_at DESC LIMIT 1",
                        )
                        .bind(&intake.source)
                        .bind(&intake.group_key)
                        .bind(millis(now - FIRES_AGAIN_WITHIN))
                        .fetch_optional(&mut *tx)
                        .await?
                        .flatten();
                        if let Some(n) = last.map(IncidentNumber::new)
                            && tx.open_incident(n).await?.is_none()
                        {
                            earlier = Some(n);
                        }
                    }
                    let first_started = intake
                        .alerts
                        .iter()
                        .map(|a| a.alert.starts_at)
                        .min()
                        .unwrap_or(now);
                    // Claims the key: a second replica's insert meets the
                    // live row (waiting for its commit on PostgreSQL) and
                    // does nothing; it then updates the group this one made.
                    let id: Option<AlertGroupId> = sqlx::query_scalar(
                        "INSERT INTO alert_groups (source, group_key, title, labels, links, severity, channel, is_private, earlier_incident, first_started_at, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                         ON CONFLICT (source, group_key) WHERE ended_at IS NULL DO NOTHING RETURNING id",
                    )
                    .bind(&intake.source)
                    .bind(&intake.group_key)
                    .bind(&intake.title)
                    .bind(json(&intake.labels, "alert group labels")?)
                    .bind(json(&intake.links, "alert group links")?)
                    .bind(intake.severity.as_str())
                    .bind(intake.channel.as_str())
                    .bind(intake.private)
                    .bind(earlier.map(IncidentNumber::get))
                    .bind(millis(first_started))
                    .bind(millis(now))
                    .fetch_optional(&mut *tx)
                    .await?;
                    fresh = id.is_some();
                    tx.live_group(&intake.source, &intake.group_key)
                        .await?
                        .ok_or_else(|| StoreError::Corrupt("an alert group vanished while claimed".into()))?
                }
            };
            let mut declared = None;
            let mut held_back = false;
            // Firing again after its incident ended: a card naming that
            // incident lets people decide, whatever the route.
            if fresh && intake.action == RouteAction::Declare && earlier.is_none() {
                match &intake.declare {
                    Some(plan) if tx.declare_allowed(intake.max_declares_per_hour, now).await? => {
                        let (incident, _) = tx
                            .insert_incident(&plan.declaration, None, now, &plan.lead_role, plan.effects.clone())
                            .await?;
                        sqlx::query("UPDATE incidents SET detected_at = $1 WHERE number = $2")
                            .bind(millis(plan.detected_at))
                            .bind(incident.number)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("UPDATE alert_groups SET incident_number = $1, auto_declared_at = $2 WHERE id = $3")
                            .bind(incident.number)
                            .bind(millis(now))
                            .bind(group.id)
                            .execute(&mut *tx)
                            .await?;
                        tx.alert_linked(group.id, incident.number, now).await?;
                        declared = Some(incident.number);
                    }
                    _ => {
                        sqlx::query("UPDATE alert_groups SET held_back = $1 WHERE id = $2")
                            .bind(&intake.held_back)
                            .bind(group.id)
                            .execute(&mut *tx)
                            .await?;
                        held_back = true;
                    }
                }
            }
            let incident = declared.or(group.incident);
            let firing_before = match incident {
                Some(n) if declared.is_none() => {
                    tx.lock_incident(n).await?;
                    tx.firing_for(n).await?
                }
                _ => 0,
            };
            let mut entries = tx.apply_alerts(group.id, &intake.alerts).await?;
            let changes = entries.len();
            match incident {
                Some(n) => {
                    entries.extend(intake.note.clone());
                    let mut jobs = vec![];
                    if declared.is_some() {
                        jobs.push(Job::PostAlertCard { group: group.id });
                    }
                    if changes > 0 && firing_before > 0 && tx.firing_for(n).await? == 0 {
                        jobs.push(Job::PostAlertsResolved);
                    }
                    if !entries.is_empty() || !jobs.is_empty() {
                        tx.apply_effects(
                            n,
                            Effects {
                                timeline: entries,
                                jobs,
                                ..Effects::default()
                            },
                            now,
                        )
                        .await?;
                    }
                }
                None => {
                    if fresh || changes > 0 {
                        tx.enqueue(None, sync_card(group.id), now).await?;
                    }
                    // Without an incident, a group is over once every
                    // alert resolved: firing again, it gets a new card.
                    let firing: i64 = if changes > 0 {
                        sqlx::query_scalar("SELECT firing FROM alert_groups WHERE id = $1")
                            .bind(group.id)
                            .fetch_one(&mut *tx)
                            .await?
                    } else {
                        group.firing
                    };
                    if firing == 0 {
                        sqlx::query("UPDATE alert_groups SET ended_at = $1 WHERE id = $2")
                            .bind(millis(now))
                            .bind(group.id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
            tx.commit().await?;
            Ok(match (fresh, declared) {
                (true, Some(incident)) => Ingested::Declared {
                    group: group.id,
                    incident,
                },
                (true, None) => Ingested::Suggested {
                    group: group.id,
                    held_back,
                },
                (false, _) => Ingested::Updated {
                    group: group.id,
                    incident,
                    changes,
                },
            })
        }

        async fn alert_group(&self, id: AlertGroupId) -> Result<Option<AlertGroup>> {
            let sql = format!("SELECT {GROUP_COLUMNS} FROM alert_groups WHERE id = $1");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .read_optional(self.reader())
                .await?
                .as_ref()
                .map(group_from_row)
                .transpose()
        }

        async fn group_alerts(&self, id: AlertGroupId) -> Result<Vec<Alert>> {
            sqlx::query(
                "SELECT fingerprint, status, labels, annotations, links, starts_at, ends_at FROM alerts
                 WHERE group_id = $1 ORDER BY CASE WHEN status = 'firing' THEN 0 ELSE 1 END, starts_at, fingerprint",
            )
            .bind(id)
            .read_all(self.reader())
            .await?
            .iter()
            .map(alert_from_row)
            .collect()
        }

        async fn link_alert_group(
            &self,
            id: AlertGroupId,
            number: IncidentNumber,
            entries: Vec<NewEntry>,
            now: DateTime<Utc>,
        ) -> Result<Result<(), LinkRefusal>> {
            let mut tx = self.write().await?;
            let Some(g) = tx.locked_group(id).await? else {
                return Ok(Err(LinkRefusal::NoGroup));
            };
            if let Err(why) = tx.linkable(&g).await? {
                return Ok(Err(why));
            }
            if tx.open_incident(number).await?.is_none() {
                return Ok(Err(LinkRefusal::NotOpen(number)));
            }
            tx.link_group(id, number, entries, vec![], now).await?;
            tx.commit().await?;
            Ok(Ok(()))
        }

        async fn declare_for_group(
            &self,
            id: AlertGroupId,
            plan: DeclarePlan,
            view_id: &str,
            entries: Vec<NewEntry>,
            now: DateTime<Utc>,
        ) -> Result<Result<(Incident, bool), LinkRefusal>> {
            let mut tx = self.write().await?;
            let Some(g) = tx.locked_group(id).await? else {
                return Ok(Err(LinkRefusal::NoGroup));
            };
            if let Err(why) = tx.linkable(&g).await? {
                // The same form submitted again: its incident, not a refusal.
                if let LinkRefusal::Linked(n) = why {
                    let by_view: Option<IncidentNumber> = sqlx::query_scalar(
                        "SELECT number FROM incidents WHERE declare_view_id = $1",
                    )
                    .bind(view_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if by_view == Some(n) {
                        return Ok(Ok((tx.fetch_incident(n).await?, false)));
                    }
                }
                return Ok(Err(why));
            }
            let (incident, created) = tx
                .insert_incident(&plan.declaration, Some(view_id), now, &plan.lead_role, plan.effects)
                .await?;
            if created {
                sqlx::query("UPDATE incidents SET detected_at = $1 WHERE number = $2")
                    .bind(millis(plan.detected_at))
                    .bind(incident.number)
                    .execute(&mut *tx)
                    .await?;
                tx.link_group(id, incident.number, entries, vec![Job::PostAlertCard { group: id }], now)
                    .await?;
                tx.commit().await?;
            }
            Ok(Ok((incident, created)))
        }

        async fn dismiss_alert_group(
            &self,
            id: AlertGroupId,
            by: &UserId,
            now: DateTime<Utc>,
        ) -> Result<Result<(), LinkRefusal>> {
            let mut tx = self.write().await?;
            let Some(g) = tx.locked_group(id).await? else {
                return Ok(Err(LinkRefusal::NoGroup));
            };
            if let Some(n) = g.incident {
                return Ok(Err(LinkRefusal::Linked(n)));
            }
            if g.dismissed_by.is_some() {
                return Ok(Err(LinkRefusal::Dismissed));
            }
            sqlx::query("UPDATE alert_groups SET dismissed_by = $1, dismissed_at = $2 WHERE id = $3")
                .bind(by.as_str())
                .bind(millis(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.enqueue(None, sync_card(id), now).await?;
            tx.commit().await?;
            Ok(Ok(()))
        }

        async fn add_unowned_jobs(&self, jobs: Vec<Job>, now: DateTime<Utc>) -> Result<()> {
            let mut tx = self.write().await?;
            tx.enqueue(None, jobs, now).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn record_alert_card(&self, id: AlertGroupId, ts: &MessageTs) -> Result<()> {
            let mut tx = self.write_background().await?;
            sqlx::query("UPDATE alert_groups SET card_ts = $1 WHERE id = $2")
                .bind(ts.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }

        async fn incident_alert_links(&self, number: IncidentNumber) -> Result<Vec<Link>> {
            let rows: Vec<String> = sqlx::query_scalar(
                "SELECT links FROM (
                   SELECT a.links AS links, 0 AS o, a.starts_at AS t FROM alerts a JOIN alert_groups g ON a.group_id = g.id
                   WHERE g.incident_number = $1
                   UNION ALL
                   SELECT links, 1 AS o, created_at AS t FROM alert_groups WHERE incident_number = $2) l
                 ORDER BY o, t LIMIT 20",
            )
            .bind(number)
            .bind(number)
            .read_all(self.reader())
            .await?;
            let mut links: Vec<Link> = Vec::new();
            for row in rows {
                for l in from_json::<Vec<Link>>(&row, "alert links")? {
                    if !links.iter().any(|k| k.url == l.url || k.label == l.label) {
                        links.push(l);
                    }
                }
            }
            links.truncate(5);
            Ok(links)
        }

        async fn open_alert_groups(&self) -> Result<i64> {
            Ok(sqlx::query_scalar(
                "SELECT COUNT(*) FROM alert_groups WHERE ended_at IS NULL AND firing > 0",
            )
            .read_one(self.reader())
            .await?)
        }
    }
}
