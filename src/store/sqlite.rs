//! SQLite: WAL, `synchronous = FULL`, a busy timeout, and write transactions
//! opened with `BEGIN IMMEDIATE` so concurrent writers queue instead of
//! failing with "database is locked".

use super::*;
use crate::domain::{EntryKind, TimelineChange};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    pool: SqlitePool,
}

const INCIDENT_COLUMNS: &str = "number, title, severity, status, summary, security, drill, declared_by, declared_at, impact_started_at, detected_at, mitigated_at, resolved_at, closed_at, origin_channel, announce_channel, channel_id, channel_name, board_ts, announce_ts, last_update_at, nudge_at, due_at, scribe_at";

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a write Slack was told about (the ack) survives power loss.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    async fn write(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

fn incident_from_row(row: &SqliteRow) -> Result<Incident> {
    let opt_time = |col: &str| -> Result<Option<DateTime<Utc>>> {
        row.try_get::<Option<i64>, _>(col)?
            .map(from_millis)
            .transpose()
    };
    let status: String = row.try_get("status")?;
    Ok(Incident {
        number: row.try_get("number")?,
        title: row.try_get("title")?,
        severity: row.try_get("severity")?,
        status: status
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("status {status}")))?,
        summary: row.try_get("summary")?,
        security: row.try_get("security")?,
        drill: row.try_get("drill")?,
        declared_by: UserId(row.try_get("declared_by")?),
        declared_at: from_millis(row.try_get("declared_at")?)?,
        impact_started_at: opt_time("impact_started_at")?,
        detected_at: opt_time("detected_at")?,
        mitigated_at: opt_time("mitigated_at")?,
        resolved_at: opt_time("resolved_at")?,
        closed_at: opt_time("closed_at")?,
        origin_channel: row.try_get("origin_channel")?,
        announce_channel: row.try_get("announce_channel")?,
        channel_id: row.try_get("channel_id")?,
        channel_name: row.try_get("channel_name")?,
        board_ts: row.try_get("board_ts")?,
        announce_ts: row.try_get("announce_ts")?,
        last_update_at: opt_time("last_update_at")?,
        schedule: crate::domain::comms::Schedule {
            nudge_at: opt_time("nudge_at")?,
            due_at: opt_time("due_at")?,
            scribe_at: opt_time("scribe_at")?,
        },
    })
}

async fn fetch_incident(
    tx: &mut Transaction<'static, Sqlite>,
    number: IncidentNumber,
) -> Result<Incident> {
    let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE number = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(number)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NoIncident(number))?;
    incident_from_row(&row)
}

/// Writes timeline entries and jobs. A sync job is skipped when an identical
/// one is still pending: it renders the state current when it runs.
async fn apply_effects(
    tx: &mut Transaction<'static, Sqlite>,
    number: IncidentNumber,
    effects: Effects,
    now: DateTime<Utc>,
) -> Result<()> {
    for e in effects.timeline {
        sqlx::query(
            "INSERT INTO timeline_entries (incident_number, occurred_at, recorded_at, kind, author, text) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(number)
        .bind(millis(e.occurred_at))
        .bind(millis(now))
        .bind(e.kind.as_str())
        .bind(e.author.map(|u| u.0))
        .bind(e.text)
        .execute(&mut **tx)
        .await?;
    }
    for op in effects.schedule {
        let q = match op {
            ScheduleOp::Comms { nudge_at, due_at } => {
                sqlx::query("UPDATE incidents SET nudge_at = ?, due_at = ? WHERE number = ?")
                    .bind(nudge_at.map(millis))
                    .bind(due_at.map(millis))
            }
            ScheduleOp::Scribe(at) => {
                sqlx::query("UPDATE incidents SET scribe_at = ? WHERE number = ?")
                    .bind(at.map(millis))
            }
            ScheduleOp::LastUpdate(at) => {
                sqlx::query("UPDATE incidents SET last_update_at = ? WHERE number = ?")
                    .bind(millis(at))
            }
        };
        q.bind(number).execute(&mut **tx).await?;
    }
    for job in effects.jobs {
        let payload =
            serde_json::to_string(&job).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if job.coalesces() {
            let pending: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM jobs WHERE incident_number = ? AND state = 'pending' AND payload = ? LIMIT 1",
            )
            .bind(number)
            .bind(&payload)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(id) = pending {
                // The pending copy now carries this change too: it starts
                // its retry budget afresh so the change is not given up early.
                sqlx::query("UPDATE jobs SET created_at = ?, attempts = 0 WHERE id = ?")
                    .bind(millis(now))
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                continue;
            }
        }
        sqlx::query(
            "INSERT INTO jobs (incident_number, kind, payload, created_at, run_after) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(number)
        .bind(job.kind())
        .bind(payload)
        .bind(millis(now))
        .bind(millis(now))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Applies a tag, untag, edit or deletion of a message entry.
async fn apply_timeline_change(
    tx: &mut Transaction<'static, Sqlite>,
    number: IncidentNumber,
    change: TimelineChange,
    now: DateTime<Utc>,
) -> Result<()> {
    match change {
        TimelineChange::Tag {
            slack_ts,
            occurred_at,
            kind,
            tagged_by,
        } => {
            // A plain tag never downgrades a typed one.
            sqlx::query(
                "INSERT INTO timeline_entries (incident_number, occurred_at, recorded_at, kind, text, slack_ts, tagged_by, fetched)
                 VALUES (?, ?, ?, ?, '', ?, ?, 0)
                 ON CONFLICT (incident_number, slack_ts) WHERE slack_ts IS NOT NULL DO UPDATE SET
                    hidden = 0,
                    deleted = 0,
                    fetched = 0,
                    kind = CASE WHEN excluded.kind = 'message' THEN timeline_entries.kind ELSE excluded.kind END",
            )
            .bind(number)
            .bind(millis(occurred_at))
            .bind(millis(now))
            .bind(kind.as_str())
            .bind(&slack_ts)
            .bind(&tagged_by.0)
            .execute(&mut **tx)
            .await?;
            let column = match kind {
                EntryKind::ImpactStarted => {
                    Some("UPDATE incidents SET impact_started_at = ? WHERE number = ?")
                }
                EntryKind::Detected => {
                    Some("UPDATE incidents SET detected_at = ? WHERE number = ?")
                }
                EntryKind::Mitigated => {
                    Some("UPDATE incidents SET mitigated_at = ? WHERE number = ?")
                }
                _ => None,
            };
            if let Some(sql) = column {
                sqlx::query(sql)
                    .bind(millis(occurred_at))
                    .bind(number)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        TimelineChange::Untag { slack_ts } => {
            sqlx::query(
                "UPDATE timeline_entries SET hidden = 1 WHERE incident_number = ? AND slack_ts = ?",
            )
            .bind(number)
            .bind(slack_ts)
            .execute(&mut **tx)
            .await?;
        }
        TimelineChange::Edit { slack_ts, text, at } => {
            sqlx::query("UPDATE timeline_entries SET text = ?, edited_at = ? WHERE incident_number = ? AND slack_ts = ?")
                .bind(text)
                .bind(millis(at))
                .bind(number)
                .bind(slack_ts)
                .execute(&mut **tx)
                .await?;
        }
        TimelineChange::Delete { slack_ts } => {
            sqlx::query("UPDATE timeline_entries SET deleted = 1 WHERE incident_number = ? AND slack_ts = ?")
                .bind(number)
                .bind(slack_ts)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_incident(
        &self,
        d: &Declaration,
        view_id: Option<&str>,
        now: DateTime<Utc>,
        lead_role: &str,
        effects: Effects,
    ) -> Result<(Incident, bool)> {
        let mut tx = self.write().await?;
        if let Some(view_id) = view_id {
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT number FROM incidents WHERE declare_view_id = ?")
                    .bind(view_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(number) = existing {
                let incident = fetch_incident(&mut tx, number).await?;
                return Ok((incident, false));
            }
        }
        let number: i64 = sqlx::query_scalar(
            "INSERT INTO incidents (title, severity, summary, security, drill, declared_by, declared_at, impact_started_at, origin_channel, announce_channel, declare_view_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING number",
        )
        .bind(&d.title)
        .bind(&d.severity)
        .bind(&d.summary)
        .bind(d.security)
        .bind(d.drill)
        .bind(&d.declared_by.0)
        .bind(millis(now))
        .bind(d.impact_started_at.map(millis))
        .bind(&d.origin_channel)
        .bind(&d.announce_channel)
        .bind(view_id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO role_assignments (incident_number, role, user_id, assigned_at) VALUES (?, ?, ?, ?)")
            .bind(number)
            .bind(lead_role)
            .bind(&d.declared_by.0)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
        apply_effects(&mut tx, number, effects, now).await?;
        let incident = fetch_incident(&mut tx, number).await?;
        tx.commit().await?;
        Ok((incident, true))
    }

    async fn incident(&self, number: IncidentNumber) -> Result<Option<Incident>> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE number = ?");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(number)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(incident_from_row)
            .transpose()
    }

    async fn incident_by_channel(&self, channel_id: &str) -> Result<Option<Incident>> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE channel_id = ?");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(channel_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(incident_from_row)
            .transpose()
    }

    async fn open_incidents(&self) -> Result<Vec<Incident>> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE status NOT IN ('resolved', 'closed') ORDER BY number"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(incident_from_row)
            .collect()
    }

    async fn assignments(&self, number: IncidentNumber) -> Result<Vec<Assignment>> {
        let rows = sqlx::query(
            "SELECT role, user_id FROM role_assignments WHERE incident_number = ? ORDER BY assigned_at, user_id",
        )
        .bind(number)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Assignment {
                    role: r.try_get("role")?,
                    user: UserId(r.try_get("user_id")?),
                })
            })
            .collect()
    }

    async fn timeline(&self, number: IncidentNumber) -> Result<Vec<Entry>> {
        let rows = sqlx::query(
            "SELECT id, occurred_at, kind, author, author_name, text, slack_ts, permalink, fetched FROM timeline_entries
             WHERE incident_number = ? AND hidden = 0 AND deleted = 0 ORDER BY occurred_at, id",
        )
        .bind(number)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(Entry {
                    id: r.try_get("id")?,
                    occurred_at: from_millis(r.try_get("occurred_at")?)?,
                    kind: EntryKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("entry kind {kind}")))?,
                    author: r.try_get::<Option<String>, _>("author")?.map(UserId),
                    author_name: r.try_get("author_name")?,
                    text: r.try_get("text")?,
                    slack_ts: r.try_get("slack_ts")?,
                    permalink: r.try_get("permalink")?,
                    fetched: r.try_get("fetched")?,
                })
            })
            .collect()
    }

    async fn set_role(
        &self,
        number: IncidentNumber,
        role: &str,
        user: &UserId,
        exclusive: bool,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<RoleChange> {
        let mut tx = self.write().await?;
        let holders: Vec<String> = sqlx::query_scalar(
            "SELECT user_id FROM role_assignments WHERE incident_number = ? AND role = ?",
        )
        .bind(number)
        .bind(role)
        .fetch_all(&mut *tx)
        .await?;
        if holders.contains(&user.0) && (!exclusive || holders.len() == 1) {
            return Ok(RoleChange::Unchanged);
        }
        let mut replaced = Vec::new();
        if exclusive {
            sqlx::query("DELETE FROM role_assignments WHERE incident_number = ? AND role = ? AND user_id <> ?")
                .bind(number)
                .bind(role)
                .bind(&user.0)
                .execute(&mut *tx)
                .await?;
            replaced = holders
                .into_iter()
                .filter(|h| *h != user.0)
                .map(UserId)
                .collect();
        }
        sqlx::query("INSERT OR IGNORE INTO role_assignments (incident_number, role, user_id, assigned_at) VALUES (?, ?, ?, ?)")
            .bind(number)
            .bind(role)
            .bind(&user.0)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
        apply_effects(&mut tx, number, effects, now).await?;
        tx.commit().await?;
        Ok(RoleChange::Changed { replaced })
    }

    async fn release_role(
        &self,
        number: IncidentNumber,
        role: &str,
        user: &UserId,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let deleted = sqlx::query(
            "DELETE FROM role_assignments WHERE incident_number = ? AND role = ? AND user_id = ?",
        )
        .bind(number)
        .bind(role)
        .bind(&user.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        apply_effects(&mut tx, number, effects, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_severity(
        &self,
        number: IncidentNumber,
        level: &str,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<Option<String>> {
        let mut tx = self.write().await?;
        let old = fetch_incident(&mut tx, number).await?.severity;
        if old == level {
            return Ok(None);
        }
        sqlx::query("UPDATE incidents SET severity = ? WHERE number = ?")
            .bind(level)
            .bind(number)
            .execute(&mut *tx)
            .await?;
        apply_effects(&mut tx, number, effects, now).await?;
        tx.commit().await?;
        Ok(Some(old))
    }

    async fn set_status(
        &self,
        number: IncidentNumber,
        status: Status,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<Option<Status>> {
        let mut tx = self.write().await?;
        let old = fetch_incident(&mut tx, number).await?.status;
        if old == status {
            return Ok(None);
        }
        let stamp = millis(now);
        sqlx::query(
            "UPDATE incidents SET status = ?,
                mitigated_at = CASE WHEN ? IN ('mitigated', 'resolved', 'closed') THEN COALESCE(mitigated_at, ?) ELSE mitigated_at END,
                resolved_at  = CASE WHEN ? IN ('resolved', 'closed') THEN COALESCE(resolved_at, ?) ELSE NULL END,
                closed_at    = CASE WHEN ? = 'closed' THEN COALESCE(closed_at, ?) ELSE NULL END
             WHERE number = ?",
        )
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
        apply_effects(&mut tx, number, effects, now).await?;
        tx.commit().await?;
        Ok(Some(old))
    }

    async fn add_effects(
        &self,
        number: IncidentNumber,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        fetch_incident(&mut tx, number).await?;
        apply_effects(&mut tx, number, effects, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_channel(&self, number: IncidentNumber, id: &str, name: &str) -> Result<()> {
        sqlx::query("UPDATE incidents SET channel_id = ?, channel_name = ? WHERE number = ?")
            .bind(id)
            .bind(name)
            .bind(number)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_board(&self, number: IncidentNumber, ts: &str) -> Result<()> {
        sqlx::query("UPDATE incidents SET board_ts = ? WHERE number = ?")
            .bind(ts)
            .bind(number)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_announcement(&self, number: IncidentNumber, ts: &str) -> Result<()> {
        sqlx::query("UPDATE incidents SET announce_ts = ? WHERE number = ?")
            .bind(ts)
            .bind(number)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_event(
        &self,
        event_id: &str,
        now: DateTime<Utc>,
        change: Option<EventChange>,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let inserted = sqlx::query(
            "INSERT INTO slack_events (event_id, received_at) VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event_id)
        .bind(millis(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        if let Some(EventChange {
            incident: n,
            change,
            effects,
        }) = change
        {
            if let Some(change) = change {
                apply_timeline_change(&mut tx, n, change, now).await?;
            }
            apply_effects(&mut tx, n, effects, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn fill_tagged_message(
        &self,
        number: IncidentNumber,
        m: FetchedMessage<'_>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE timeline_entries SET text = ?, author = ?, author_name = ?, permalink = ?, fetched = 1
             WHERE incident_number = ? AND slack_ts = ?",
        )
        .bind(m.text)
        .bind(m.author.map(|u| u.0.as_str()))
        .bind(m.author_name)
        .bind(m.permalink)
        .bind(number)
        .bind(m.slack_ts)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mark_message_gone(&self, number: IncidentNumber, slack_ts: &str) -> Result<()> {
        sqlx::query("UPDATE timeline_entries SET deleted = 1, fetched = 1 WHERE incident_number = ? AND slack_ts = ?")
            .bind(number)
            .bind(slack_ts)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_update(
        &self,
        number: IncidentNumber,
        posted_by: &UserId,
        text: &str,
        destinations: &[Destination],
        now: DateTime<Utc>,
        mut effects: Effects,
    ) -> Result<i64> {
        let mut tx = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO status_updates (incident_number, posted_by, recorded_at, text) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(number)
        .bind(&posted_by.0)
        .bind(millis(now))
        .bind(text)
        .fetch_one(&mut *tx)
        .await?;
        for d in destinations {
            let inserted = sqlx::query(
                "INSERT INTO update_posts (update_id, channel, audience) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(&d.channel)
            .bind(&d.audience)
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
        apply_effects(&mut tx, number, effects, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn communications(&self, number: IncidentNumber) -> Result<Vec<Communication>> {
        let rows = sqlx::query(
            "SELECT u.id, u.posted_by, u.recorded_at, u.text, p.channel, p.audience, p.posted_at, p.ts
             FROM status_updates u JOIN update_posts p ON p.update_id = u.id
             WHERE u.incident_number = ? ORDER BY u.recorded_at, u.id, p.rowid",
        )
        .bind(number)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Communication {
                    update_id: r.try_get("id")?,
                    posted_by: UserId(r.try_get("posted_by")?),
                    recorded_at: from_millis(r.try_get("recorded_at")?)?,
                    text: r.try_get("text")?,
                    channel: r.try_get("channel")?,
                    audience: r.try_get("audience")?,
                    posted_at: r
                        .try_get::<Option<i64>, _>("posted_at")?
                        .map(from_millis)
                        .transpose()?,
                    ts: r.try_get("ts")?,
                })
            })
            .collect()
    }

    async fn record_update_post(
        &self,
        update_id: i64,
        channel: &str,
        ts: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE update_posts SET ts = ?, posted_at = ? WHERE update_id = ? AND channel = ?",
        )
        .bind(ts)
        .bind(millis(now))
        .bind(update_id)
        .bind(channel)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn due_reminders(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<DueReminder>> {
        use crate::domain::comms::ReminderKind;
        let mut due = Vec::new();
        for (kind, sql) in [
            (
                ReminderKind::Due,
                "SELECT number, due_at AS at, severity FROM incidents WHERE due_at <= ? AND status NOT IN ('resolved', 'closed') ORDER BY due_at LIMIT ?",
            ),
            (
                ReminderKind::Nudge,
                "SELECT number, nudge_at AS at, severity FROM incidents WHERE nudge_at <= ? AND status NOT IN ('resolved', 'closed') ORDER BY nudge_at LIMIT ?",
            ),
            (
                ReminderKind::ScribeQuiet,
                "SELECT number, scribe_at AS at, severity FROM incidents WHERE scribe_at <= ? AND status NOT IN ('resolved', 'closed') ORDER BY scribe_at LIMIT ?",
            ),
        ] {
            for r in sqlx::query(sql)
                .bind(millis(now))
                .bind(limit)
                .fetch_all(&self.pool)
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
                "UPDATE incidents SET nudge_at = ? WHERE number = ? AND nudge_at = ?"
            }
            ReminderKind::Due => "UPDATE incidents SET due_at = ? WHERE number = ? AND due_at = ?",
            ReminderKind::ScribeQuiet => {
                "UPDATE incidents SET scribe_at = ? WHERE number = ? AND scribe_at = ?"
            }
        };
        let mut tx = self.write().await?;
        let moved = sqlx::query(sql)
            .bind(next.map(millis))
            .bind(due.incident)
            .bind(millis(due.due_at))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        apply_effects(&mut tx, due.incident, effects, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn next_reminder_due(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(at) FROM (
                SELECT MIN(nudge_at) AS at FROM incidents WHERE nudge_at IS NOT NULL AND status NOT IN ('resolved', 'closed')
                UNION ALL SELECT MIN(due_at) FROM incidents WHERE due_at IS NOT NULL AND status NOT IN ('resolved', 'closed')
                UNION ALL SELECT MIN(scribe_at) FROM incidents WHERE scribe_at IS NOT NULL AND status NOT IN ('resolved', 'closed'))",
        )
        .fetch_one(&self.pool)
        .await?;
        next.map(from_millis).transpose()
    }

    async fn save_postmortem(
        &self,
        number: IncidentNumber,
        markdown: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO postmortems (incident_number, generated_at, markdown) VALUES (?, ?, ?)",
        )
        .bind(number)
        .bind(millis(now))
        .bind(markdown)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn latest_postmortem(&self, number: IncidentNumber) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT markdown FROM postmortems WHERE incident_number = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(number)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn incidents_since(&self, since: DateTime<Utc>) -> Result<Vec<Incident>> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE drill = 0 AND declared_at >= ? ORDER BY number"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(millis(since))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(incident_from_row)
            .collect()
    }

    async fn prune(&self, events_before: DateTime<Utc>, jobs_before: DateTime<Utc>) -> Result<u64> {
        let events = sqlx::query("DELETE FROM slack_events WHERE received_at < ?")
            .bind(millis(events_before))
            .execute(&self.pool)
            .await?
            .rows_affected();
        let jobs = sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < ?")
            .bind(millis(jobs_before))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(events + jobs)
    }

    async fn user_name(&self, id: &UserId) -> Result<Option<(String, DateTime<Utc>)>> {
        let row = sqlx::query("SELECT name, fetched_at FROM slack_users WHERE id = ?")
            .bind(&id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("name")?, from_millis(r.try_get("fetched_at")?)?)))
            .transpose()
    }

    async fn remember_user_name(&self, id: &UserId, name: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO slack_users (id, name, fetched_at) VALUES (?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, fetched_at = excluded.fetched_at",
        )
        .bind(&id.0)
        .bind(name)
        .bind(millis(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn claim_job(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<JobRow>> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "SELECT j.id, j.incident_number, j.payload, j.attempts, j.created_at FROM jobs j
             WHERE ((j.state = 'pending' AND j.run_after <= ?) OR (j.state = 'running' AND j.locked_until <= ?))
               AND NOT EXISTS (
                 SELECT 1 FROM jobs e
                 WHERE e.incident_number = j.incident_number AND e.id < j.id
                   AND e.state IN ('pending', 'running'))
             ORDER BY j.run_after, j.id LIMIT 1",
        )
        .bind(millis(now))
        .bind(millis(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: i64 = row.try_get("id")?;
        sqlx::query("UPDATE jobs SET state = 'running', locked_until = ?, attempts = attempts + 1 WHERE id = ?")
            .bind(millis(lease_until))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let payload: String = row.try_get("payload")?;
        Ok(Some(JobRow {
            id,
            incident: row.try_get("incident_number")?,
            job: serde_json::from_str(&payload)
                .map_err(|e| StoreError::Corrupt(format!("job {id}: {e}")))?,
            attempts: row.try_get::<i64, _>("attempts")? + 1,
            created_at: from_millis(row.try_get("created_at")?)?,
        }))
    }

    async fn next_job_due(&self) -> Result<Option<DateTime<Utc>>> {
        // Only the first unfinished job of each incident can run next; the
        // ones queued behind it are not due, whatever their run_after.
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(CASE WHEN j.state = 'pending' THEN j.run_after ELSE j.locked_until END) FROM jobs j
             WHERE j.state IN ('pending', 'running')
               AND NOT EXISTS (
                 SELECT 1 FROM jobs e
                 WHERE e.incident_number = j.incident_number AND e.id < j.id
                   AND e.state IN ('pending', 'running'))",
        )
        .fetch_one(&self.pool)
        .await?;
        next.map(from_millis).transpose()
    }

    async fn finish_job(&self, id: i64, outcome: JobOutcome, now: DateTime<Utc>) -> Result<()> {
        let q = match outcome {
            JobOutcome::Done => sqlx::query(
                "UPDATE jobs SET state = 'done', finished_at = ?, locked_until = NULL WHERE id = ? AND state = 'running'",
            )
            .bind(millis(now))
            .bind(id),
            JobOutcome::Retry { at, error } => sqlx::query(
                "UPDATE jobs SET state = 'pending', run_after = ?, last_error = ?, locked_until = NULL WHERE id = ? AND state = 'running'",
            )
            .bind(millis(at))
            .bind(error)
            .bind(id),
            JobOutcome::Failed { error } => sqlx::query(
                "UPDATE jobs SET state = 'failed', finished_at = ?, last_error = ?, locked_until = NULL WHERE id = ? AND state = 'running'",
            )
            .bind(millis(now))
            .bind(error)
            .bind(id),
        };
        q.execute(&self.pool).await?;
        Ok(())
    }

    async fn release_stale_jobs(&self) -> Result<u64> {
        // SQLite is one process: at start, nothing can still be running.
        Ok(sqlx::query(
            "UPDATE jobs SET state = 'pending', locked_until = NULL WHERE state = 'running'",
        )
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn job_counts(&self) -> Result<JobCounts> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        let mut c = JobCounts::default();
        for r in rows {
            let n: i64 = r.try_get("n")?;
            match r.try_get::<String, _>("state")?.as_str() {
                "pending" => c.pending = n,
                "running" => c.running = n,
                "done" => c.done = n,
                "failed" => c.failed = n,
                _ => {}
            }
        }
        Ok(c)
    }
}
