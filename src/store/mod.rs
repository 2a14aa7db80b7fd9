//! Durable state, one trait per feature, each in its own file with its one
//! generic implementation for every `crate::db::Backend`: [`IncidentStore`]
//! (`incidents.rs`), [`RoleStore`] (`roles.rs`), [`TimelineStore`]
//! (`timeline.rs`), [`UpdateStore`] (`updates.rs`), [`ChecklistStore`]
//! (`checklists.rs`), [`FollowupStore`] (`followups.rs`),
//! [`EnvelopeStore`] (`envelopes.rs`), [`AlertStore`] (`alerts.rs`),
//! [`EventStore`] (`events.rs`, the event log every change appends to),
//! [`WebhookStore`] (`webhooks.rs`, the outgoing webhooks' outbox),
//! [`ApiStore`] (`api.rs`, the read API's tokens and incident list),
//! [`HomeStore`] (`home.rs`, who follows their App Home tab),
//! [`WebStore`] (`web.rs`, the web record's logins and sessions) and
//! [`Housekeeping`]
//! (`housekeeping.rs`). [`Store`] is all of them and the job [`Queue`], so
//! a [`DynStore`] does everything, and a function that needs one feature
//! takes that feature's trait (`&dyn FollowupStore`).
//!
//! Every method is one transaction: a state change, the timeline entries
//! it causes and the Slack work it needs ([`Effects`]) are written together
//! or not at all. The transaction's shared helpers are in `tx.rs`, the rows
//! read as domain values in `rows.rs`, what a change carries in
//! `change.rs`.
//!
//! A new feature (alerts, webhooks, …) adds its file with its trait and
//! its `sql_impl! { #[async_trait] impl FeatureStore for B { … } }`, then
//! its `mod` and `pub use` here and its trait in [`Store`] and the blanket
//! impl below.

mod alert_tx;
mod alerts;
mod api;
mod change;
mod checklists;
mod envelopes;
mod events;
mod followups;
mod home;
mod housekeeping;
mod incidents;
mod roles;
mod rows;
mod timeline;
mod tx;
mod updates;
mod web;
mod webhooks;

pub use crate::db::{PostgresStore, SqliteStore, StoreError};

pub use crate::domain::comms::{Communication, Destination};

pub use api::{ApiStore, ApiToken, Flag, IncidentQuery};

pub use alerts::{AlertStore, DeclarePlan, IncomingAlert, Ingested, Intake, LinkRefusal};

pub use change::{ChangeError, Effects, Guard, ScheduleOp};

pub use checklists::{ChecklistStore, DueChecklist};

pub use envelopes::{EnvelopeClaim, EnvelopeStore};

pub use events::EventStore;

pub use followups::{FollowupStore, NewFollowup, SeenBy, Wanted};

pub use home::{HOME_FOLLOWS_FOR, HomeStore};

pub use housekeeping::{Housekeeping, OperatorGauges};

pub use incidents::IncidentStore;

pub use roles::{RoleChange, RoleStore};

pub use timeline::{EntryHistory, EventChange, FetchedMessage, TimelineStore};

pub use updates::{DueReminder, UpdateStore};

pub use web::{PendingLogin, WebStore};

pub use webhooks::{Delivery, DeliveryOutcome, EndpointFilter, EndpointStatus, WebhookStore};

use crate::queue::Queue;
use std::sync::Arc;

/// Everything the database does: every feature's store and the job queue.
/// Implemented for whatever implements them all (every `Backend` does).
pub trait Store:
    IncidentStore
    + RoleStore
    + TimelineStore
    + UpdateStore
    + ChecklistStore
    + FollowupStore
    + EnvelopeStore
    + AlertStore
    + EventStore
    + WebhookStore
    + ApiStore
    + HomeStore
    + WebStore
    + crate::db::SharedPace
    + Housekeeping
    + Queue
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: IncidentStore
        + RoleStore
        + TimelineStore
        + UpdateStore
        + ChecklistStore
        + FollowupStore
        + EnvelopeStore
        + AlertStore
        + EventStore
        + WebhookStore
        + ApiStore
        + HomeStore
        + WebStore
        + HomeStore
        + crate::db::SharedPace
        + Housekeeping
        + Queue
        + Send
        + Sync
        + 'static
{
}

pub type DynStore = Arc<dyn Store>;

/// Opens the store the URL names.
pub async fn connect(url: &str) -> Result<DynStore, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else {
        Err(StoreError::Unsupported(
            url.split('@').next_back().unwrap_or("").to_string(),
        ))
    }
}
