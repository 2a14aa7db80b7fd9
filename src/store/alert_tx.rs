//! The alert groups' transaction helpers: rows read as groups and alerts,
//! and the steps `ingest_alerts` and the card's buttons share inside one
//! write transaction (find or lock a group, apply its alerts' changes,
//! link it to an incident, check the hourly budget). Split from
//! `alerts.rs`, which holds the store's operations.

use super::Effects;
use super::alerts::{GROUP_COLUMNS, IncomingAlert, LinkRefusal};
use super::rows::INCIDENT_COLUMNS;
use crate::db::{Result, RowsAffected, StoreError, from_millis, millis, sql_impl};
use crate::domain::alerts::{self, Alert, AlertChange, AlertGroup, AlertStatus, Known};
use crate::domain::events::NewEvent;
use crate::domain::{
    AlertGroupId, ChannelId, EntryKind, Incident, IncidentNumber, MessageTs, NewEntry,
    SeverityName, UserId,
};
use crate::queue::Job;
use chrono::{DateTime, Utc};
use sqlx::Row;

pub(super) fn json<T: serde::Serialize>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Serialize(format!("{what} ({e})")))
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

sql_impl! {
    pub(super) fn group_from_row(row: &R) -> Result<AlertGroup> {
        let labels: String = row.try_get("labels")?;
        let links: String = row.try_get("links")?;
        Ok(AlertGroup {
            id: row.try_get("id")?,
            source: row.try_get("source")?,
            group_key: row.try_get("group_key")?,
            title: row.try_get("title")?,
            labels: from_json(&labels, "alert group labels")?,
            links: from_json(&links, "alert group links")?,
            severity: SeverityName(row.try_get("severity")?),
            channel: ChannelId(row.try_get("channel")?),
            private: row.try_get("is_private")?,
            incident: row.try_get("incident_number")?,
            earlier_incident: row.try_get("earlier_incident")?,
            held_back: row.try_get("held_back")?,
            dismissed_by: row.try_get::<Option<String>, _>("dismissed_by")?.map(UserId),
            card_ts: row.try_get::<Option<String>, _>("card_ts")?.map(MessageTs),
            firing: row.try_get("firing")?,
            total: row.try_get("total")?,
            first_started_at: from_millis(row.try_get("first_started_at")?)?,
            ended: row.try_get::<Option<i64>, _>("ended_at")?.is_some(),
        })
    }
}

sql_impl! {
    pub(super) fn alert_from_row(row: &R) -> Result<Alert> {
        let status: String = row.try_get("status")?;
        let labels: String = row.try_get("labels")?;
        let annotations: String = row.try_get("annotations")?;
        let links: String = row.try_get("links")?;
        Ok(Alert {
            fingerprint: row.try_get("fingerprint")?,
            status: AlertStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("alert status {status}")))?,
            labels: from_json(&labels, "alert labels")?,
            annotations: from_json(&annotations, "alert annotations")?,
            links: from_json(&links, "alert links")?,
            starts_at: from_millis(row.try_get("starts_at")?)?,
            ends_at: row
                .try_get::<Option<i64>, _>("ends_at")?
                .map(from_millis)
                .transpose()?,
        })
    }
}

/// The jobs that bring a group's card in line (one pending copy serves any
/// number of changes).
pub(super) fn sync_card(id: AlertGroupId) -> Vec<Job> {
    vec![Job::SyncAlertCard { group: id }]
}

sql_impl! {
    impl Tx {
        /// The live group of a key, its row locked.
        pub(super) async fn live_group(&mut self, source: &str, key: &str) -> Result<Option<AlertGroup>> {
            let id: Option<AlertGroupId> = sqlx::query_scalar(
                "SELECT id FROM alert_groups WHERE source = $1 AND group_key = $2 AND ended_at IS NULL",
            )
            .bind(source)
            .bind(key)
            .fetch_optional(&mut **self)
            .await?;
            let Some(id) = id else {
                return Ok(None);
            };
            // Ended between the two reads (on PostgreSQL): none is live.
            Ok(self.locked_group(id).await?.filter(|g| !g.ended))
        }

        /// A group by id, its row locked.
        pub(super) async fn locked_group(&mut self, id: AlertGroupId) -> Result<Option<AlertGroup>> {
            let sql = format!("SELECT {GROUP_COLUMNS} FROM alert_groups WHERE id = $1 {}", B::INCIDENT_LOCK);
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(&mut **self)
                .await?
                .as_ref()
                .map(group_from_row)
                .transpose()
        }

        /// The incident `number` if it is still open, its row locked.
        pub(super) async fn open_incident(&mut self, number: IncidentNumber) -> Result<Option<Incident>> {
            let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE number = $1 {}", B::INCIDENT_LOCK);
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(number)
                .fetch_optional(&mut **self)
                .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let incident = super::rows::incident_from_row(&row)?;
            Ok(incident.status.is_open().then_some(incident))
        }

        /// Alerts firing in the live groups linked to incident `number`.
        pub(super) async fn firing_for(&mut self, number: IncidentNumber) -> Result<i64> {
            Ok(sqlx::query_scalar(
                "SELECT COUNT(*) FROM alerts a JOIN alert_groups g ON a.group_id = g.id
                 WHERE g.incident_number = $1 AND g.ended_at IS NULL AND a.status = 'firing'",
            )
            .bind(number)
            .fetch_one(&mut **self)
            .await?)
        }

        /// Whether a `declare` route may open one more war room now, with
        /// the budget's row locked (replicas count one at a time).
        pub(super) async fn declare_allowed(&mut self, max: u32, now: DateTime<Utc>) -> Result<bool> {
            let sql = format!("SELECT id FROM alert_budget WHERE id = 1 {}", B::INCIDENT_LOCK);
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_optional(&mut **self)
                .await?;
            let declared: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM alert_groups WHERE auto_declared_at > $1",
            )
            .bind(millis(now - chrono::Duration::hours(1)))
            .fetch_one(&mut **self)
            .await?;
            Ok(declared < i64::from(max))
        }

        /// Writes each alert's change; the timeline entries they make.
        pub(super) async fn apply_alerts(
            &mut self,
            group: AlertGroupId,
            incoming: &[IncomingAlert],
        ) -> Result<Vec<NewEntry>> {
            // What is known of the group's alerts, read at once.
            let mut known_all = std::collections::HashMap::new();
            for row in sqlx::query(
                "SELECT fingerprint, status, starts_at, ends_at FROM alerts WHERE group_id = $1",
            )
            .bind(group)
            .fetch_all(&mut **self)
            .await?
            {
                let status: String = row.try_get("status")?;
                let fingerprint: String = row.try_get("fingerprint")?;
                known_all.insert(
                    fingerprint,
                    Known {
                        status: AlertStatus::parse(&status)
                            .ok_or_else(|| StoreError::Corrupt(format!("alert status {status}")))?,
                        starts_at: from_millis(row.try_get("starts_at")?)?,
                        ends_at: row.try_get::<Option<i64>, _>("ends_at")?.map(from_millis).transpose()?,
                    },
                );
            }
            let mut entries = Vec::new();
            let mut changed = false;
            for a in incoming {
                let known = known_all.get(&a.alert.fingerprint).copied();
                let change = alerts::change(known, &a.alert);
                if change == AlertChange::Unchanged {
                    continue;
                }
                let now_known = alerts::after(known, &a.alert, change);
                changed = true;
                sqlx::query(
                    "INSERT INTO alerts (group_id, fingerprint, status, labels, annotations, links, starts_at, ends_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (group_id, fingerprint) DO UPDATE SET status = excluded.status,
                       labels = excluded.labels, annotations = excluded.annotations, links = excluded.links,
                       starts_at = excluded.starts_at, ends_at = excluded.ends_at",
                )
                .bind(group)
                .bind(&a.alert.fingerprint)
                .bind(now_known.status.as_str())
                .bind(json(&a.alert.labels, "alert labels")?)
                .bind(json(&a.alert.annotations, "alert annotations")?)
                .bind(json(&a.alert.links, "alert links")?)
                .bind(millis(now_known.starts_at))
                .bind(now_known.ends_at.map(millis))
                .execute(&mut **self)
                .await?;
                let entry = |resolved: bool, text: &str| NewEntry {
                    occurred_at: alerts::changed_at(&a.alert, resolved),
                    kind: EntryKind::Alert,
                    author: None,
                    text: text.to_string(),
                };
                match change {
                    AlertChange::Fired => entries.push(entry(false, &a.fired)),
                    AlertChange::Resolved => entries.push(entry(true, &a.resolved)),
                    AlertChange::FiredAndResolved => {
                        entries.push(entry(false, &a.fired));
                        entries.push(entry(true, &a.resolved));
                    }
                    AlertChange::Unchanged => {}
                }
            }
            // A repeat writes nothing (on SQLite its commit then costs no
            // disk write).
            if !changed {
                return Ok(entries);
            }
            let counts = sqlx::query(
                "SELECT COUNT(*) AS total, COUNT(CASE WHEN status = 'firing' THEN 1 END) AS firing FROM alerts WHERE group_id = $1",
            )
            .bind(group)
            .fetch_one(&mut **self)
            .await?;
            let (total, firing): (i64, i64) = (counts.try_get("total")?, counts.try_get("firing")?);
            sqlx::query("UPDATE alert_groups SET firing = $1, total = $2 WHERE id = $3")
                .bind(firing)
                .bind(total)
                .bind(group)
                .execute(&mut **self)
                .await?;
            Ok(entries)
        }

        /// Links a locked group to a locked open incident, with its card
        /// edited and `entries` on the incident's timeline.
        pub(super) async fn link_group(
            &mut self,
            group: AlertGroupId,
            number: IncidentNumber,
            entries: Vec<NewEntry>,
            jobs: Vec<Job>,
            now: DateTime<Utc>,
        ) -> Result<()> {
            let linked = sqlx::query("UPDATE alert_groups SET incident_number = $1 WHERE id = $2 AND incident_number IS NULL")
                .bind(number)
                .bind(group)
                .execute(&mut **self)
                .await?
                .rows_affected();
            if linked > 0 {
                self.alert_linked(group, number, now).await?;
            }
            self.apply_effects(
                number,
                Effects {
                    timeline: entries,
                    jobs,
                    ..Effects::default()
                },
                now,
            )
            .await?;
            self.enqueue(None, sync_card(group), now).await?;
            Ok(())
        }

        /// Records in the event log that `group` now feeds incident `number`.
        pub(super) async fn alert_linked(
            &mut self,
            group: AlertGroupId,
            number: IncidentNumber,
            now: DateTime<Utc>,
        ) -> Result<()> {
            let row = sqlx::query("SELECT source, group_key FROM alert_groups WHERE id = $1")
                .bind(group)
                .fetch_one(&mut **self)
                .await?;
            let source: String = row.try_get("source")?;
            let key: String = row.try_get("group_key")?;
            self.append_event(
                Some(number),
                NewEvent::alert_linked(group, &source, &key),
                None,
                now,
            )
            .await?;
            Ok(())
        }

        /// Whether a button on group `g`'s card may still link it.
        pub(super) async fn linkable(&mut self, g: &AlertGroup) -> Result<Result<(), LinkRefusal>> {
            if let Some(n) = g.incident {
                return Ok(Err(LinkRefusal::Linked(n)));
            }
            if g.ended && self.live_group(&g.source, &g.group_key).await?.is_some() {
                return Ok(Err(LinkRefusal::Superseded));
            }
            Ok(Ok(()))
        }
    }
}
