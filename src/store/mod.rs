//! Durable state behind one trait. Every method is one transaction: a state
//! change, the timeline entries it causes and the Slack work it needs are
//! written together or not at all. The job queue's side is `crate::queue`.
//! Long because the trait is the store's whole interface, one method per
//! transaction, with the values they take.

mod postgres;
pub(crate) mod sql;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

pub use crate::domain::comms::{Communication, Destination};
use crate::domain::permissions::Refusal;
use crate::domain::{
    Allowed, Assignment, ChannelId, Declaration, Entry, Incident, IncidentNumber, MessageTs,
    NewEntry, Permission, RoleName, SeverityName, Status, TimelineChange, UserId,
};
use crate::queue::{Job, Queue};
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
    /// A value could not be turned into what the database stores (a job's
    /// or a checklist's JSON, a task number): nothing was written.
    #[error(
        "could not write {0} to the database; nothing was saved. This is a bug in warroom: report it with this message"
    )]
    Serialize(String),
    #[error("incident {0} does not exist")]
    NoIncident(IncidentNumber),
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DATABASE")]
    Unsupported(String),
    /// A [`Guard`] refused the change; nothing was written. Its text
    /// (`Display`, from `slack::render`) is for the person who asked.
    #[error("{0}")]
    Refused(Refusal),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What a change causes besides itself: timeline entries, Slack work and
/// reminder rescheduling; and what must still hold for it to be made.
#[derive(Clone, Debug, Default)]
pub struct Effects {
    pub timeline: Vec<NewEntry>,
    pub jobs: Vec<Job>,
    pub schedule: Vec<ScheduleOp>,
    pub guard: Guard,
}

/// Conditions checked inside the write transaction, against the incident
/// row it locked: a check made before the transaction could be overtaken
/// (`/incident status` racing `/incident close` would reopen it). A
/// refusal is [`StoreError::Refused`] and writes nothing.
#[derive(Clone, Debug, Default)]
pub struct Guard {
    /// Refuse when the incident is closed.
    pub open: bool,
    /// Refuse unless this person may take the action.
    pub permission: Option<(Permission, Allowed, UserId)>,
    /// Who claims (checked by `set_role` only when the role is held by
    /// someone else, against `permissions.take_over`).
    pub take_over: Option<(Allowed, UserId)>,
    /// Remember this person as being in the war room (they acted there).
    pub member: Option<UserId>,
}

impl Guard {
    /// Open, and `user` was seen in the war room.
    pub fn open_by(user: &UserId) -> Self {
        Guard {
            open: true,
            member: Some(user.clone()),
            ..Guard::default()
        }
    }

    /// Also requires `permission`.
    pub fn allowing(mut self, permission: Permission, allowed: &Allowed, user: &UserId) -> Self {
        self.permission = Some((permission, allowed.clone(), user.clone()));
        self
    }
}

/// Checks a guard against the incident and its roles as locked by the
/// transaction; the refusal says why.
pub(crate) fn check_guard(
    guard: &Guard,
    incident: &Incident,
    assignments: &[Assignment],
) -> Result<()> {
    if guard.open && incident.status == Status::Closed {
        return Err(StoreError::Refused(Refusal::Closed(incident.reference())));
    }
    if let Some((permission, allowed, user)) = &guard.permission
        && !crate::domain::may(incident, assignments, allowed, user)
    {
        return Err(StoreError::Refused(crate::domain::permissions::refusal(
            incident,
            assignments,
            allowed,
            *permission,
        )));
    }
    Ok(())
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
    pub slack_ts: &'a MessageTs,
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

/// What a Socket Mode delivery found when it claimed its envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvelopeClaim {
    /// Nobody acted on it yet (or the one who did died): act on it.
    Claimed,
    /// Acted on before; answer again with this reply (ack payload, JSON).
    Done(Option<String>),
    /// Another delivery is acting on it right now.
    Busy,
}

#[async_trait]
/// Everything but the job queue, which is [`Queue`].
pub trait Store: Queue + Send + Sync + 'static {
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
        lead_role: &RoleName,
        effects: Effects,
    ) -> Result<(Incident, bool)>;

    async fn incident(&self, number: IncidentNumber) -> Result<Option<Incident>>;
    async fn incident_by_channel(&self, channel_id: &ChannelId) -> Result<Option<Incident>>;
    async fn open_incidents(&self) -> Result<Vec<Incident>>;
    /// Whether `user` is known to be in the war room of incident `number`.
    async fn is_member(&self, number: IncidentNumber, user: &UserId) -> Result<bool>;
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
    async fn assignments(&self, number: IncidentNumber) -> Result<Vec<Assignment>>;
    async fn timeline(&self, number: IncidentNumber) -> Result<Vec<Entry>>;

    /// Gives `role` to `user`. With `exclusive`, other holders lose it.
    async fn set_role(
        &self,
        number: IncidentNumber,
        role: &RoleName,
        user: &UserId,
        exclusive: bool,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<RoleChange>;

    /// Takes `role` from `user`; false (and nothing written) if not held.
    async fn release_role(
        &self,
        number: IncidentNumber,
        role: &RoleName,
        user: &UserId,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool>;

    /// Sets the severity; returns the previous one, or `None` (and nothing
    /// written) when it was already `level`.
    async fn set_severity(
        &self,
        number: IncidentNumber,
        level: &SeverityName,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<Option<SeverityName>>;

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
    ) -> Result<Option<SeverityName>>;

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
    async fn record_channel(
        &self,
        number: IncidentNumber,
        id: &ChannelId,
        name: &str,
    ) -> Result<()>;
    async fn record_board(&self, number: IncidentNumber, ts: &MessageTs) -> Result<()>;
    async fn record_announcement(&self, number: IncidentNumber, ts: &MessageTs) -> Result<()>;

    /// Remembers a Slack event id and applies what it changes, in one
    /// transaction; false (and nothing changed) when it was seen before.
    async fn record_event(
        &self,
        event_id: &str,
        now: DateTime<Utc>,
        change: Option<EventChange>,
    ) -> Result<bool>;

    /// Socket Mode: claims envelope `id` for this delivery. A claim made
    /// before `stale_before` and never finished (its process died) is taken
    /// over.
    async fn claim_envelope(
        &self,
        id: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<EnvelopeClaim>;
    /// Records the reply given to a claimed envelope (`None`: an ack
    /// without payload), so a redelivery answers the same.
    async fn finish_envelope(
        &self,
        id: &str,
        reply: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Drops a claim whose work failed, so a redelivery may try again.
    async fn release_envelope(&self, id: &str) -> Result<()>;

    /// Fills in a tagged message's text, author and link once fetched.
    async fn fill_tagged_message(
        &self,
        number: IncidentNumber,
        message: FetchedMessage<'_>,
    ) -> Result<()>;
    /// A tagged message Slack no longer has: marked deleted, kept.
    async fn mark_message_gone(&self, number: IncidentNumber, slack_ts: &MessageTs) -> Result<()>;

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
        channel: &ChannelId,
        ts: &MessageTs,
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
    /// Incidents declared since `since`, drills excluded.
    async fn incidents_since(&self, since: DateTime<Utc>) -> Result<Vec<Incident>>;

    /// Forgets Slack event ids and Socket Mode envelope ids received before
    /// `events_before` (Slack stops redelivering within the hour) and
    /// finished jobs before
    /// `jobs_before`. Returns how many rows went.
    async fn prune(&self, events_before: DateTime<Utc>, jobs_before: DateTime<Utc>) -> Result<u64>;

    /// A cached display name and when it was fetched.
    async fn user_name(&self, id: &UserId) -> Result<Option<(String, DateTime<Utc>)>>;
    async fn remember_user_name(&self, id: &UserId, name: &str, now: DateTime<Utc>) -> Result<()>;

    /// Opens `holder`'s checklist of `role` with these tasks, recurring
    /// tasks first due at `cadence_at`; one who takes the role again gets
    /// their checklist back (ticks kept, cadence set again).
    async fn open_checklist(
        &self,
        number: IncidentNumber,
        role: &RoleName,
        holder: &UserId,
        tasks: &crate::domain::checklist::Tasks,
        cadence_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<crate::domain::checklist::Checklist>;
    async fn checklist(&self, id: i64) -> Result<Option<crate::domain::checklist::Checklist>>;
    /// The checklist message, once posted.
    async fn record_checklist_post(&self, id: i64, ts: &MessageTs) -> Result<()>;
    /// Ticks (`done`) or unticks one task with `effects` (its timeline
    /// entry, the edit of the message); false (nothing written) when the
    /// task already was so.
    async fn tick_task(
        &self,
        id: i64,
        task: usize,
        by: &UserId,
        done: bool,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool>;
    /// Checklists of open incidents whose recurring tasks are due.
    async fn due_checklists(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<DueChecklist>>;
    /// Fires a checklist's cadence once: moves `cadence_at` from
    /// `due.due_at` to `next`, starts its next summary window at `now`, and
    /// applies `effects`, unless another replica or round did (false).
    async fn fire_checklist(
        &self,
        due: &DueChecklist,
        next: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool>;
    /// The earliest recurring-task due time of an open incident.
    async fn next_checklist_due(&self) -> Result<Option<DateTime<Utc>>>;

    /// Records a follow-up with `effects` (its timeline entry; the guard
    /// says who may), in one transaction; its id.
    async fn add_followup(
        &self,
        item: &NewFollowup,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<i64>;
    async fn followup(&self, id: i64) -> Result<Option<crate::domain::followups::Followup>>;
    /// Follow-ups, oldest first: of one owner or everyone's, open ones only
    /// or all; at most `limit`.
    async fn followups(
        &self,
        owner: Option<&UserId>,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<crate::domain::followups::Followup>>;
    /// How many follow-ups of all incidents are open, and how many of
    /// those were due before `today`.
    async fn followup_counts(&self, today: chrono::NaiveDate) -> Result<(usize, usize)>;
    /// The follow-ups of one incident, oldest first.
    async fn incident_followups(
        &self,
        number: IncidentNumber,
    ) -> Result<Vec<crate::domain::followups::Followup>>;
    /// Marks a follow-up done with `effects`, once: false (nothing
    /// written) when it already was.
    async fn complete_followup(
        &self,
        id: i64,
        by: &UserId,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool>;
    /// Open follow-ups whose reminder is due: (id, incident, remind_at).
    async fn due_followups(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(i64, IncidentNumber, DateTime<Utc>)>>;
    /// Sends a follow-up's reminder once: clears `remind_at` if it still is
    /// `due_at` and applies `effects` (the reminder job), else false.
    async fn fire_followup(
        &self,
        id: i64,
        incident: IncidentNumber,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool>;
    /// The earliest reminder time of an open follow-up.
    async fn next_followup_due(&self) -> Result<Option<DateTime<Utc>>>;
    /// Whether the weekly follow-up digest of `week` (its Monday) went out.
    async fn followup_digest_sent(&self, week: chrono::NaiveDate) -> Result<bool>;
    /// Sends the weekly follow-up digest of `week`, due at `due_at`, once:
    /// records the week and queues a direct message ([`Job::FollowupDigest`])
    /// to each owner of open follow-ups, in one transaction. `None` (nothing
    /// written) when that week's went out already; else how many owners
    /// get one.
    async fn fire_followup_digest(
        &self,
        week: chrono::NaiveDate,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<usize>>;
}

/// A follow-up to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFollowup {
    pub incident: IncidentNumber,
    pub text: String,
    pub owner: UserId,
    pub due: Option<chrono::NaiveDate>,
    pub created_by: UserId,
    /// When the owner is reminded (none without a due date).
    pub remind_at: Option<DateTime<Utc>>,
}

/// A checklist whose recurring tasks have fallen due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueChecklist {
    pub id: i64,
    pub incident: IncidentNumber,
    pub due_at: DateTime<Utc>,
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
