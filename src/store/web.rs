//! The web record's sign-in: logins under way (taken once) and sessions
//! (looked up by the SHA-256 of the cookie's value, never the value).

use crate::db::{Read, Result, from_millis, millis, sql_impl};
use crate::domain::UserId;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// What a login keeps until its callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingLogin {
    pub nonce: String,
    pub verifier: String,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait WebStore: Send + Sync {
    /// A login began: what its callback needs, under its `state`.
    async fn begin_login(&self, state: &str, login: &PendingLogin) -> Result<()>;

    /// The login of `state`, removed: a second callback with the same
    /// state (a replay) finds nothing.
    async fn take_login(&self, state: &str) -> Result<Option<PendingLogin>>;

    /// Opens a session for `user` until `expires_at`.
    async fn create_session(
        &self,
        token_sha256: &str,
        user: &UserId,
        team: Option<&str>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;

    /// The person of a session still open at `now`.
    async fn session_user(&self, token_sha256: &str, now: DateTime<Utc>) -> Result<Option<UserId>>;

    /// Signs out: the session is gone.
    async fn end_session(&self, token_sha256: &str) -> Result<()>;
}

sql_impl! {
    #[async_trait]
    impl WebStore for B {
        async fn begin_login(&self, state: &str, login: &PendingLogin) -> Result<()> {
            let mut tx = self.write().await?;
            // Logins never finished are dropped after an hour.
            sqlx::query("DELETE FROM web_logins WHERE created_at < $1")
                .bind(millis(login.created_at - chrono::Duration::hours(1)))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO web_logins (state, nonce, verifier, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(state)
            .bind(&login.nonce)
            .bind(&login.verifier)
            .bind(millis(login.created_at))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }

        async fn take_login(&self, state: &str) -> Result<Option<PendingLogin>> {
            let mut tx = self.write().await?;
            let row = sqlx::query(
                "DELETE FROM web_logins WHERE state = $1 RETURNING nonce, verifier, created_at",
            )
            .bind(state)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            row.map(|r| {
                Ok(PendingLogin {
                    nonce: r.try_get("nonce")?,
                    verifier: r.try_get("verifier")?,
                    created_at: from_millis(r.try_get("created_at")?)?,
                })
            })
            .transpose()
        }

        async fn create_session(
            &self,
            token_sha256: &str,
            user: &UserId,
            team: Option<&str>,
            now: DateTime<Utc>,
            expires_at: DateTime<Utc>,
        ) -> Result<()> {
            let mut tx = self.write().await?;
            sqlx::query("DELETE FROM web_sessions WHERE expires_at < $1")
                .bind(millis(now))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO web_sessions (token_sha256, user_id, team_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_sha256)
            .bind(user.as_str())
            .bind(team)
            .bind(millis(now))
            .bind(millis(expires_at))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }

        async fn session_user(&self, token_sha256: &str, now: DateTime<Utc>) -> Result<Option<UserId>> {
            let user: Option<String> = sqlx::query_scalar(
                "SELECT user_id FROM web_sessions WHERE token_sha256 = $1 AND expires_at > $2",
            )
            .bind(token_sha256)
            .bind(millis(now))
            .read_optional(self.reader())
            .await?;
            Ok(user.map(UserId))
        }

        async fn end_session(&self, token_sha256: &str) -> Result<()> {
            let mut tx = self.write().await?;
            sqlx::query("DELETE FROM web_sessions WHERE token_sha256 = $1")
                .bind(token_sha256)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }
    }
}
