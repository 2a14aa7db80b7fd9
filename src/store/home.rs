//! The App Home: who opened it recently, so a change on it republishes
//! their tab (and only theirs), each at most once per burst of changes.

use crate::db::{Result, millis, sql_impl};
use crate::domain::UserId;
use crate::domain::events::EventType;
use crate::queue::Job;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// How long after opening the Home tab a person's tab follows changes.
/// Later, Slack shows the last one published until they open it again,
/// which publishes it afresh.
pub const HOME_FOLLOWS_FOR: chrono::Duration = chrono::Duration::minutes(15);

#[async_trait]
pub trait HomeStore: Send + Sync {
    /// `user` opened the Home tab: remembered, and their tab published.
    async fn home_opened(&self, user: &UserId, now: DateTime<Utc>) -> Result<()>;
}

sql_impl! {
    #[async_trait]
    impl HomeStore for B {
        async fn home_opened(&self, user: &UserId, now: DateTime<Utc>) -> Result<()> {
            let mut tx = self.write().await?;
            sqlx::query(
                "INSERT INTO home_views (user_id, opened_at) VALUES ($1, $2)
                 ON CONFLICT (user_id) DO UPDATE SET opened_at = excluded.opened_at",
            )
            .bind(user.as_str())
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            let publish = Job::PublishHome {
                user: user.clone(),
                refresh: false,
            };
            tx.enqueue(None, vec![publish], now).await?;
            tx.commit().await?;
            Ok(())
        }
    }
}

/// Whether an event of this type changes what a Home tab shows (the open
/// incidents, their severity, status and lead, roles, follow-ups, the
/// closed ones).
pub(super) fn shown_at_home(kind: EventType) -> bool {
    matches!(
        kind,
        EventType::IncidentDeclared
            | EventType::IncidentUpdated
            | EventType::SeverityChanged
            | EventType::StatusChanged
            | EventType::RoleAssigned
            | EventType::RoleReleased
            | EventType::Closed
            | EventType::FollowupCreated
            | EventType::FollowupCompleted
    )
}

sql_impl! {
    impl Tx {
        /// Queues a refresh of the Home tab of everyone who opened it in the
        /// last [`HOME_FOLLOWS_FOR`]: one pending refresh per person, run a
        /// moment later, so a burst of changes publishes each tab once.
        pub(super) async fn refresh_homes(&mut self, now: DateTime<Utc>) -> Result<()> {
            let users: Vec<String> =
                sqlx::query_scalar("SELECT user_id FROM home_views WHERE opened_at > $1")
                    .bind(millis(now - HOME_FOLLOWS_FOR))
                    .fetch_all(&mut **self)
                    .await?;
            let jobs = users
                .into_iter()
                .map(|u| Job::PublishHome {
                    user: UserId(u),
                    refresh: true,
                })
                .collect();
            self.enqueue(None, jobs, now).await
        }

        /// Queues a refresh of `user`'s Home tab, if they opened it in the
        /// last [`HOME_FOLLOWS_FOR`] (one pending refresh, as above).
        pub(super) async fn refresh_home_of(&mut self, user: &UserId, now: DateTime<Utc>) -> Result<()> {
            let follows: Option<i64> = sqlx::query_scalar(
                "SELECT opened_at FROM home_views WHERE user_id = $1 AND opened_at > $2",
            )
            .bind(user.as_str())
            .bind(millis(now - HOME_FOLLOWS_FOR))
            .fetch_optional(&mut **self)
            .await?;
            if follows.is_none() {
                return Ok(());
            }
            let publish = Job::PublishHome {
                user: user.clone(),
                refresh: true,
            };
            self.enqueue(None, vec![publish], now).await
        }
    }
}
