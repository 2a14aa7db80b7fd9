//! What the read API reads beyond the other stores: its tokens (only their
//! SHA-256 kept), the incident list with its filters and cursor, and the
//! latest postmortem draft.

use super::rows::{INCIDENT_COLUMNS, incident_from_row};
use crate::db::{Read, Result, RowsAffected, from_millis, millis, sql_impl};
use crate::domain::{Incident, IncidentNumber, SeverityName, Status, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// A read API token as kept: never the token itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub name: String,
    /// Sees private incidents.
    pub private: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Which incidents a list asks for, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncidentQuery {
    /// `None`: any status.
    pub statuses: Option<Vec<Status>>,
    /// Empty: any severity.
    pub severities: Vec<SeverityName>,
    /// Declared at or after.
    pub since: Option<DateTime<Utc>>,
    /// Declared before.
    pub until: Option<DateTime<Utc>>,
    /// Each must appear in the title or the summary (any case).
    pub words: Vec<String>,
    pub drills: bool,
    pub private: bool,
    /// With `private`: a private incident only when this person is known
    /// to be in its war room (filtered before the limit).
    pub member: Option<UserId>,
    /// Those closed last first (else the newest number first).
    pub last_closed_first: bool,
    /// Numbers below this one only (the cursor).
    pub before: Option<IncidentNumber>,
    pub limit: i64,
}

/// A flag an incident is declared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    Private,
    Drill,
}

#[async_trait]
pub trait ApiStore: Send + Sync {
    /// Records a token by its digest. False: the name is taken.
    async fn create_token(
        &self,
        name: &str,
        sha256: &str,
        private: bool,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    async fn tokens(&self) -> Result<Vec<ApiToken>>;

    /// False: no such token.
    async fn revoke_token(&self, name: &str) -> Result<bool>;

    /// The token whose digest this is.
    async fn token_by_digest(&self, sha256: &str) -> Result<Option<ApiToken>>;

    /// Notes that token `name` was used at `now`.
    async fn token_used(&self, name: &str, now: DateTime<Utc>) -> Result<()>;

    /// The incidents `query` asks for, newest first, at most its limit.
    async fn list_incidents(&self, query: &IncidentQuery) -> Result<Vec<Incident>>;

    /// The latest postmortem draft of an incident and when it was made.
    async fn latest_postmortem(
        &self,
        number: IncidentNumber,
    ) -> Result<Option<(DateTime<Utc>, String)>>;

    /// The numbers of the private incidents, or of the drills.
    async fn flagged_incidents(&self, flag: Flag) -> Result<Vec<IncidentNumber>>;
}

sql_impl! {
    fn token_from_row(row: &R) -> Result<ApiToken> {
        Ok(ApiToken {
            name: row.try_get("name")?,
            private: row.try_get("private")?,
            created_at: from_millis(row.try_get("created_at")?)?,
            last_used_at: row
                .try_get::<Option<i64>, _>("last_used_at")?
                .map(from_millis)
                .transpose()?,
        })
    }
}

sql_impl! {
    #[async_trait]
    impl ApiStore for B {
        async fn create_token(
            &self,
            name: &str,
            sha256: &str,
            private: bool,
            now: DateTime<Utc>,
        ) -> Result<bool> {
            let mut tx = self.write().await?;
            let inserted = sqlx::query(
                "INSERT INTO api_tokens (name, token_sha256, private, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(sha256)
            .bind(private)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(inserted == 1)
        }

        async fn tokens(&self) -> Result<Vec<ApiToken>> {
            sqlx::query("SELECT name, private, created_at, last_used_at FROM api_tokens ORDER BY name")
                .read_all(self.reader())
                .await?
                .iter()
                .map(token_from_row)
                .collect()
        }

        async fn revoke_token(&self, name: &str) -> Result<bool> {
            let mut tx = self.write().await?;
            let gone = sqlx::query("DELETE FROM api_tokens WHERE name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(gone == 1)
        }

        async fn token_by_digest(&self, sha256: &str) -> Result<Option<ApiToken>> {
            sqlx::query(
                "SELECT name, private, created_at, last_used_at FROM api_tokens WHERE token_sha256 = $1",
            )
            .bind(sha256)
            .read_optional(self.reader())
            .await?
            .as_ref()
            .map(token_from_row)
            .transpose()
        }

        async fn token_used(&self, name: &str, now: DateTime<Utc>) -> Result<()> {
            let mut tx = self.write_background().await?;
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE name = $2")
                .bind(millis(now))
                .bind(name)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }

        async fn list_incidents(&self, q: &IncidentQuery) -> Result<Vec<Incident>> {
            let mut binds: Vec<Bind> = Vec::new();
            let mut clauses: Vec<String> = Vec::new();
            if let Some(statuses) = &q.statuses {
                if statuses.is_empty() {
                    return Ok(Vec::new());
                }
                let marks: Vec<String> = statuses
                    .iter()
                    .map(|s| mark(&mut binds, Bind::Text(s.as_str().to_string())))
                    .collect();
                clauses.push(format!("status IN ({})", marks.join(", ")));
            }
            if !q.severities.is_empty() {
                let marks: Vec<String> = q
                    .severities
                    .iter()
                    .map(|s| mark(&mut binds, Bind::Text(s.as_str().to_string())))
                    .collect();
                clauses.push(format!("severity IN ({})", marks.join(", ")));
            }
            if let Some(since) = q.since {
                clauses.push(format!("declared_at >= {}", mark(&mut binds, Bind::Int(millis(since)))));
            }
            if let Some(until) = q.until {
                clauses.push(format!("declared_at < {}", mark(&mut binds, Bind::Int(millis(until)))));
            }
            for word in &q.words {
                let pattern = format!("%{}%", like_escaped(&word.to_lowercase()));
                let a = mark(&mut binds, Bind::Text(pattern.clone()));
                let b = mark(&mut binds, Bind::Text(pattern));
                clauses.push(format!(
                    "(LOWER(title) LIKE {a} ESCAPE '\\' OR LOWER(summary) LIKE {b} ESCAPE '\\')"
                ));
            }
            if !q.drills {
                clauses.push(format!("drill = {}", mark(&mut binds, Bind::Bool(false))));
            }
            if !q.private {
                clauses.push(format!("is_private = {}", mark(&mut binds, Bind::Bool(false))));
            } else if let Some(member) = &q.member {
                let public = mark(&mut binds, Bind::Bool(false));
                let user = mark(&mut binds, Bind::Text(member.0.clone()));
                let present = mark(&mut binds, Bind::Bool(true));
                clauses.push(format!(
                    "(is_private = {public} OR EXISTS (SELECT 1 FROM war_room_members m
                      WHERE m.incident_number = incidents.number AND m.user_id = {user} AND m.present = {present}))"
                ));
            }
            if let Some(before) = q.before {
                clauses.push(format!("number < {}", mark(&mut binds, Bind::Int(before.get()))));
            }
            let filter = if clauses.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", clauses.join(" AND "))
            };
            let limit = mark(&mut binds, Bind::Int(q.limit));
            let order = if q.last_closed_first {
                "closed_at DESC, number DESC"
            } else {
                "number DESC"
            };
            let sql = format!(
                "SELECT {INCIDENT_COLUMNS} FROM incidents {filter} ORDER BY {order} LIMIT {limit}"
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for b in binds {
                query = match b {
                    Bind::Text(t) => query.bind(t),
                    Bind::Int(i) => query.bind(i),
                    Bind::Bool(v) => query.bind(v),
                };
            }
            query
                .read_all(self.reader())
                .await?
                .iter()
                .map(incident_from_row)
                .collect()
        }

        async fn latest_postmortem(
            &self,
            number: IncidentNumber,
        ) -> Result<Option<(DateTime<Utc>, String)>> {
            let row = sqlx::query(
                "SELECT generated_at, markdown FROM postmortems WHERE incident_number = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(number)
            .read_optional(self.reader())
            .await?;
            row.map(|r| Ok((from_millis(r.try_get("generated_at")?)?, r.try_get("markdown")?)))
                .transpose()
        }

        async fn flagged_incidents(&self, flag: Flag) -> Result<Vec<IncidentNumber>> {
            let sql = match flag {
                Flag::Private => "SELECT number FROM incidents WHERE is_private = $1",
                Flag::Drill => "SELECT number FROM incidents WHERE drill = $1",
            };
            let rows = sqlx::query(sql).bind(true).read_all(self.reader()).await?;
            rows.iter()
                .map(|r| Ok(IncidentNumber::new(r.try_get::<i64, _>("number")?)))
                .collect()
        }
    }
}

/// A value bound to a numbered placeholder.
enum Bind {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// Binds `value` next; returns its placeholder (`$3`).
fn mark(binds: &mut Vec<Bind>, value: Bind) -> String {
    binds.push(value);
    format!("${}", binds.len())
}

/// `text` with LIKE's wildcards escaped (by `\\`).
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
