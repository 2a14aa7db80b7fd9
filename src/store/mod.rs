//! Durable state behind one trait. Every method is one transaction: a state
//! change, the timeline entries it causes and the Slack work it needs are
//! written together or not at all.

mod postgres;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use crate::domain::{
    Assignment, Declaration, Entry, Incident, IncidentNumber, NewEntry, Status, TimelineChange,
    UserId,
};
use crate::jobs::Job;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("incident {0} does not exist")]
    NoIncident(IncidentNumber),
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DATABASE")]
    Unsupported(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What a change causes besides itself: timeline entries, Slack work and
/// reminder rescheduling.
#[derive(Clone, Debug, Default)]
pub struct Effects {
    pub timeline: Vec<NewEntry>,
    pub jobs: Vec<Job>,
    pub schedule: Vec<ScheduleOp>,
}

/// A change to an incident's reminder clocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScheduleOp {
    /// Sets both communication reminders.
    Comms {
        nudge_at: Option<DateTime<Utc>>,
        due_at: Option<DateTime<Utc>>,
    },
    /// Sets the scribe prompt.
    Scribe(Option<DateTime<Utc>>),
    /// Records that a status update was posted now.
    LastUpdate(DateTime<Utc>),
}

/// A reminder that has fallen due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueReminder {
    pub incident: IncidentNumber,
    pub kind: crate::domain::comms::ReminderKind,
    pub due_at: DateTime<Utc>,
    pub severity: String,
}

/// One place a status update goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    pub channel: String,
    pub audience: String,
}

/// One line of the communications timeline: an update at one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Communication {
    pub update_id: i64,
    pub posted_by: UserId,
    pub recorded_at: DateTime<Utc>,
    pub text: String,
    pub channel: String,
    pub audience: String,
    /// When Slack took it; `None` while the post is pending.
    pub posted_at: Option<DateTime<Utc>>,
    pub ts: Option<String>,
}

/// What a Slack event changes on an incident's timeline, and what it
/// causes (a refused tag changes nothing but queues a private answer).
#[derive(Clone, Debug)]
pub struct EventChange {
    pub incident: IncidentNumber,
    pub change: Option<TimelineChange>,
    pub effects: Effects,
}

/// A tagged message as fetched from Slack.
#[derive(Clone, Debug)]
pub struct FetchedMessage<'a> {
    pub slack_ts: &'a str,
    pub text: &'a str,
    pub author: Option<&'a UserId>,
    pub author_name: &'a str,
    pub permalink: Option<&'a str>,
}

/// How a role change turned out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleChange {
    /// The user already held the role; nothing was written.
    Unchanged,
    /// The user now holds it; `replaced` lost it to them.
    Changed { replaced: Vec<UserId> },
}

/// One claim of one job: the attempt number fences it, so a worker whose
/// lease ran out cannot finish a job another worker has claimed since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    pub id: i64,
    pub attempt: i64,
}

/// A job as claimed by a worker.
#[derive(Clone, Debug)]
pub struct JobRow {
    pub id: i64,
    pub incident: Option<IncidentNumber>,
    pub job: Job,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
}

impl JobRow {
    pub fn claim(&self) -> Claim {
        Claim {
            id: self.id,
            attempt: self.attempts,
        }
    }
}

/// What a worker reports about a job it ran.
#[derive(Clone, Debug)]
pub enum JobOutcome {
    Done,
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Not run yet: the pacer holds its call until `at` (Slack's rate
    /// limit, or a 429). `refund`: nothing was sent, so the attempt does
    /// not count.
    Deferred {
        at: DateTime<Utc>,
        refund: bool,
    },
    /// Gave up. `notice` (a job telling the person who caused the work
    /// what went wrong) is queued in the same transaction, so it is sent
    /// once however the process stops.
    Failed {
        error: String,
        notice: Option<Job>,
    },
}

/// Counts of jobs by state, for `/metrics`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub pending: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<()>;
    /// Answers when the database does.
    async fn ping(&self) -> Result<()>;

    /// Creates the incident with the next number; the declarer holds
    /// Incident Lead. `view_id` makes a repeated submission a no-op: the
    /// incident it created before is returned with `false`.
    async fn create_incident(
        &self,
        declaration: &Declaration,
        view_id: Option<&str>,
        now: DateTime<Utc>,
        lead_role: &str,
        effects: Effects,
    ) -> Result<(Incident, bool)>;

    async fn incident(&self, number: IncidentNumber) -> Result<Option<Incident>>;
    async fn incident_by_channel(&self, channel_id: &str) -> Result<Option<Incident>>;
    async fn open_incidents(&self) -> Result<Vec<Incident>>;
    async fn assignments(&self, number: IncidentNumber) -> Result<Vec<Assignment>>;
    async fn timeline(&self, number: IncidentNumber) -> Result<Vec<Entry>>;

    /// Gives `role` to `user`. With `exclusive`, other holders lose it.
    async fn set_role(
        &self,
        number: IncidentNumber,
        role: &str,
        user: &UserId,
        exclusive: bool,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<RoleChange>;

    /// Takes `role` from `user`; false (and nothing written) if not held.
    async fn release_role(
        &self,
        number: IncidentNumber,
        role: &str,
        user: &UserId,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool>;

    /// Sets the severity; returns the previous one, or `None` (and nothing
    /// written) when it was already `level`.
    async fn set_severity(
        &self,
        number: IncidentNumber,
        level: &str,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<Option<String>>;

    /// Moves the lifecycle, stamping mitigated/resolved times the first time
    /// they are reached. Returns the previous status, or `None` (and nothing
    /// written) when it was already `status`.
    async fn set_status(
        &self,
        number: IncidentNumber,
        status: Status,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<Option<Status>>;

    /// Records effects alone (a note, for example).
    async fn add_effects(
        &self,
        number: IncidentNumber,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<()>;

    /// Slack ids produced by jobs.
    async fn record_channel(&self, number: IncidentNumber, id: &str, name: &str) -> Result<()>;
    async fn record_board(&self, number: IncidentNumber, ts: &str) -> Result<()>;
    async fn record_announcement(&self, number: IncidentNumber, ts: &str) -> Result<()>;

    /// Remembers a Slack event id and applies what it changes, in one
    /// transaction; false (and nothing changed) when it was seen before.
    async fn record_event(
        &self,
        event_id: &str,
        now: DateTime<Utc>,
        change: Option<EventChange>,
    ) -> Result<bool>;

    /// Fills in a tagged message's text, author and link once fetched.
    async fn fill_tagged_message(
        &self,
        number: IncidentNumber,
        message: FetchedMessage<'_>,
    ) -> Result<()>;
    /// A tagged message Slack no longer has: marked deleted, kept.
    async fn mark_message_gone(&self, number: IncidentNumber, slack_ts: &str) -> Result<()>;

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
    ) -> Result<i64>;
    /// The communications timeline of an incident, oldest first.
    async fn communications(&self, number: IncidentNumber) -> Result<Vec<Communication>>;
    /// Marks one post of an update as done.
    async fn record_update_post(
        &self,
        update_id: i64,
        channel: &str,
        ts: &str,
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

    /// Keeps a generated postmortem draft.
    async fn save_postmortem(
        &self,
        number: IncidentNumber,
        markdown: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// The newest postmortem draft of an incident.
    async fn latest_postmortem(&self, number: IncidentNumber) -> Result<Option<String>>;
    /// Incidents declared since `since`, drills excluded.
    async fn incidents_since(&self, since: DateTime<Utc>) -> Result<Vec<Incident>>;

    /// Forgets Slack event ids received before `events_before` (Slack stops
    /// redelivering within the hour) and finished jobs before
    /// `jobs_before`. Returns how many rows went.
    async fn prune(&self, events_before: DateTime<Utc>, jobs_before: DateTime<Utc>) -> Result<u64>;

    /// A cached display name and when it was fetched.
    async fn user_name(&self, id: &UserId) -> Result<Option<(String, DateTime<Utc>)>>;
    async fn remember_user_name(&self, id: &UserId, name: &str, now: DateTime<Utc>) -> Result<()>;

    /// Claims the next due job that waits for nothing: a job waits while an
    /// earlier unfinished job of its incident writes the same Slack object,
    /// or (when it needs the war room) creates the room.
    async fn claim_job(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<JobRow>>;
    /// When the next pending job falls due, if any.
    async fn next_job_due(&self) -> Result<Option<DateTime<Utc>>>;
    /// Records how a claimed job ended; false when the claim was lost (its
    /// lease ran out and another worker claimed the job again). A failure's
    /// notice is queued with it, outside its incident's queue (so jobs still
    /// waiting there do not hold it back), unless the same notice was queued
    /// within the hour.
    async fn finish_job(
        &self,
        claim: Claim,
        outcome: JobOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Keeps a running job's lease alive; false when the claim was lost.
    async fn extend_lease(&self, claim: Claim, until: DateTime<Utc>) -> Result<bool>;
    /// At start: makes jobs left running by a dead process claimable again.
    /// SQLite has one process, so every running job is stale; on PostgreSQL
    /// other replicas may be running theirs, and leases expire instead.
    async fn release_stale_jobs(&self) -> Result<u64>;
    async fn job_counts(&self) -> Result<JobCounts>;
}

pub type DynStore = Arc<dyn Store>;

/// Opens the store the URL names.
pub async fn connect(url: &str) -> Result<DynStore> {
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

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("time {ms}")))
}
