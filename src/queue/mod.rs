//! The job queue: what a job is ([`Job`]), its row as claimed
//! ([`JobRow`]), the claim that fences it ([`Claim`]), how it ended
//! ([`JobOutcome`]), and the queue's operations ([`Queue`], SQL in
//! `sql.rs`, for every `crate::db::Backend`). The workers that run jobs are
//! in `crate::jobs`; the store writes a change's jobs with it in one
//! transaction (`Tx::enqueue`). Built on `crate::db` alone: the store uses
//! the queue, never the other way round.

pub(crate) mod sql;

use crate::domain::{
    ChannelId, ChecklistId, IncidentNumber, MessageTs, RoleName, UpdateId, UserId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub type Result<T, E = crate::db::StoreError> = std::result::Result<T, E>;

/// One piece of Slack work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// `conversations.create` for the war room, `-2`, `-3`, … on `name_taken`.
    CreateChannel,
    /// `conversations.invite` into the war room.
    Invite { user: UserId },
    /// `conversations.setTopic` from the current state.
    SyncTopic,
    /// Posts the role board, or edits it in place once posted.
    SyncBoard,
    /// Posts a fresh role board (`/incident roles`); later edits go to it.
    PostBoard,
    /// Posts the announcement, or edits it in place once posted.
    SyncAnnouncement,
    /// Fetches a tagged message (text, author, permalink), fills its
    /// timeline entry and confirms the tag with the bot's reaction. `by` is
    /// the tagger, told if it fails (absent in jobs queued before it was).
    CaptureMessage {
        ts: MessageTs,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<UserId>,
    },
    /// Posts one status update to one channel.
    PostUpdate {
        update_id: UpdateId,
        channel: ChannelId,
    },
    /// Posts a reminder in the war room, rendered from the state when it runs.
    PostReminder {
        kind: crate::domain::comms::ReminderKind,
    },
    /// Generates the postmortem draft from the current state, keeps it,
    /// posts its summary in the war room and uploads it as Markdown.
    PostPostmortem,
    /// An ephemeral message to one person.
    Ephemeral {
        channel: ChannelId,
        user: UserId,
        text: String,
    },
    /// Tells the person who caused a job that failed what went wrong: an
    /// ephemeral in `channel`, or a direct message when there is none or
    /// Slack refuses it there. Its own failure tells no one.
    Notice {
        channel: Option<ChannelId>,
        user: UserId,
        text: String,
    },
    /// Opens `user`'s checklist of `role` (they just took it) and posts it
    /// in the war room; its recurring tasks are first due one interval
    /// after the job was queued.
    PostChecklist { role: RoleName, user: UserId },
    /// Edits a checklist message in place from its current ticks.
    SyncChecklist { checklist: ChecklistId },
    /// Reminds a role holder of their recurring tasks; `since` and `until`
    /// (Unix ms) bound the timeline the Scribe's summary is built from.
    PostChecklistReminder {
        checklist: ChecklistId,
        since: i64,
        until: i64,
    },
    /// Posts the Scribe's internal summary, as edited, in the war room.
    PostSummary { text: String, by: UserId },
    /// The weekly digest: a direct message to `owner` listing their open
    /// follow-ups (of every incident) as they are when it runs, each with
    /// a Done button. `week` is the digest's week (its Monday).
    FollowupDigest { owner: UserId, week: String },
    /// Posts an alert group's card, or edits it in place once posted,
    /// from the group as it is when the job runs. No incident: ordered by
    /// its object among jobs without one.
    SyncAlertCard { group: crate::domain::AlertGroupId },
    /// Tells the war room that every alert linked to it resolved, with a
    /// Mark mitigated button.
    PostAlertsResolved,
    /// Posts an alert group's card in the war room it opened or was linked
    /// to when declared (what fired, its links, `alerts.notify`).
    PostAlertCard { group: crate::domain::AlertGroupId },
    /// Says in the war room that the on-call was paged through PagerDuty:
    /// by `by` (Page on-call), or by the severity (`None`).
    PostPaged {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<UserId>,
    },
    /// Fills in a message put on the timeline by a shortcut (its link, its
    /// author's name) and, in the war room, confirms it with the bot's
    /// reaction.
    CaptureQuote {
        message: crate::domain::QuotedMessage,
    },
    /// Tells Slack the workflow step "Declare an incident" is done, with
    /// its outputs (the incident's number and war room), once the war room
    /// exists (`functions.completeSuccess`).
    CompleteStep { execution: String },
    /// Tells Slack the workflow step failed, and why
    /// (`functions.completeError`). No incident.
    FailStep { execution: String, reason: String },
    /// Unfurls links to incident pages in a message (`chat.unfurl`):
    /// `urls` with the incident each names. No incident.
    Unfurl {
        channel: ChannelId,
        ts: MessageTs,
        urls: Vec<(String, IncidentNumber)>,
        /// Links still in the composer: answered by their id instead.
        #[serde(default)]
        composer: Option<crate::domain::ComposerLinks>,
    },
    /// Publishes `user`'s Home tab from the state when it runs
    /// (`views.publish`). No incident; one pending copy per person. A
    /// `refresh` (something on it changed) waits [`HOME_SETTLE`] first, so
    /// a burst of changes publishes once.
    PublishHome {
        user: UserId,
        #[serde(default)]
        refresh: bool,
    },
}

impl Job {
    pub fn kind(&self) -> &'static str {
        match self {
            Job::CreateChannel => "create_channel",
            Job::Invite { .. } => "invite",
            Job::SyncTopic => "sync_topic",
            Job::SyncBoard => "sync_board",
            Job::PostBoard => "post_board",
            Job::SyncAnnouncement => "sync_announcement",
            Job::CaptureMessage { .. } => "capture_message",
            Job::PostUpdate { .. } => "post_update",
            Job::PostReminder { .. } => "post_reminder",
            Job::PostPostmortem => "post_postmortem",
            Job::Ephemeral { .. } => "ephemeral",
            Job::Notice { .. } => "notice",
            Job::PostChecklist { .. } => "post_checklist",
            Job::SyncChecklist { .. } => "sync_checklist",
            Job::PostChecklistReminder { .. } => "post_checklist_reminder",
            Job::PostSummary { .. } => "post_summary",
            Job::FollowupDigest { .. } => "followup_digest",
            Job::SyncAlertCard { .. } => "sync_alert_card",
            Job::PostAlertsResolved => "post_alerts_resolved",
            Job::PostAlertCard { .. } => "post_alert_card",
            Job::PostPaged { .. } => "post_paged",
            Job::CaptureQuote { .. } => "capture_quote",
            Job::CompleteStep { .. } => "complete_step",
            Job::FailStep { .. } => "fail_step",
            Job::PublishHome { .. } => "publish_home",
            Job::Unfurl { .. } => "unfurl",
        }
    }

    /// The Slack object this job writes, which orders it: an earlier
    /// unfinished job of the same incident writing the same object runs
    /// first (edits apply in order, posts into one channel keep theirs).
    /// `None`: nothing to keep in order with.
    pub fn object(&self) -> Option<String> {
        match self {
            Job::CreateChannel => Some(ROOM.to_string()),
            Job::SyncTopic => Some("topic".to_string()),
            Job::SyncBoard | Job::PostBoard => Some("board".to_string()),
            Job::SyncAnnouncement => Some("announcement".to_string()),
            Job::PostUpdate { channel, .. } => Some(format!("post:{channel}")),
            Job::PostReminder { .. }
            | Job::PostPostmortem
            | Job::PostChecklist { .. }
            | Job::PostChecklistReminder { .. }
            | Job::PostSummary { .. }
            | Job::PostAlertsResolved
            | Job::PostAlertCard { .. }
            | Job::PostPaged { .. } => Some("post:room".to_string()),
            Job::SyncAlertCard { group } => Some(format!("alert-card:{group}")),
            Job::SyncChecklist { checklist } => Some(format!("checklist:{checklist}")),
            Job::PublishHome { user, .. } => Some(format!("home:{user}")),
            Job::Invite { .. }
            | Job::CaptureMessage { .. }
            | Job::CaptureQuote { .. }
            | Job::CompleteStep { .. }
            | Job::FailStep { .. }
            | Job::Unfurl { .. }
            | Job::Ephemeral { .. }
            | Job::Notice { .. }
            | Job::FollowupDigest { .. } => None,
        }
    }

    /// Whether this job waits for the war room to be created (it works in
    /// the room, or shows its link).
    pub fn needs_room(&self) -> bool {
        !matches!(
            self,
            Job::CreateChannel
                | Job::Ephemeral { .. }
                | Job::Notice { .. }
                | Job::FollowupDigest { .. }
                | Job::SyncAlertCard { .. }
                | Job::CaptureQuote { .. }
                | Job::FailStep { .. }
                | Job::PublishHome { .. }
                | Job::Unfurl { .. }
        )
    }

    /// The pacer key (see `slack::pacer`) of the first Web API call this
    /// job makes, where it is the same every time and paced for the whole
    /// workspace: while the pacer holds that key back, the store lets jobs
    /// of it wait instead of having them claimed and put back one by one.
    /// `None`: not known in advance (posts into a room not created yet,
    /// edits that may turn into posts, a retry looking for its post first).
    pub fn pace_key(&self) -> Option<&'static str> {
        match self {
            Job::CaptureMessage { .. } => Some("conversations.history"),
            Job::Invite { .. } => Some("conversations.invite"),
            _ => None,
        }
    }

    /// Sync jobs render the state current when they run, so one pending
    /// copy serves any number of changes.
    pub fn coalesces(&self) -> bool {
        matches!(
            self,
            Job::SyncTopic
                | Job::SyncBoard
                | Job::SyncAnnouncement
                | Job::SyncAlertCard { .. }
                | Job::PublishHome { .. }
        )
    }
}

/// How long a Home tab's refresh waits for more changes to carry.
pub const HOME_SETTLE: chrono::Duration = chrono::Duration::seconds(3);

impl Job {
    /// How long after being queued the job may run: a Home refresh
    /// settles first (see [`HOME_SETTLE`]); every other job at once.
    pub fn settle(&self) -> chrono::Duration {
        match self {
            Job::PublishHome { refresh: true, .. } => HOME_SETTLE,
            _ => chrono::Duration::zero(),
        }
    }
}

/// The object of the job creating the war room (see [`Job::object`]).
pub const ROOM: &str = "room";

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

/// The queue's operations. Every backend implements them (`sql.rs`), and
/// the store's union trait requires them, so a `DynStore` answers them too.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Claims the next due job that waits for nothing: a job waits while an
    /// earlier unfinished job of its incident writes the same Slack object,
    /// or (when it needs the war room) creates the room.
    async fn claim_job(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<JobRow>>;
    /// When the next pending job falls due, if any (a job held back by the
    /// pacer is due when its key is free again).
    async fn next_job_due(&self) -> Result<Option<DateTime<Utc>>>;
    /// Records how a claimed job ended; false when the claim was lost (its
    /// lease ran out and another worker claimed the job again). A failure's
    /// notice is queued with it, outside its incident's queue (so jobs still
    /// waiting there do not hold it back), unless the same notice was queued
    /// within the hour. A job deferred before it sent anything holds its
    /// [`Job::pace_key`] back until its new time: the key's due jobs move
    /// there, and jobs of that key queued meanwhile start there.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChecklistId, UpdateId};

    /// Jobs queued by 0.2.0, when ids were plain strings and numbers in
    /// `Job`, still read as the same jobs: the newtypes are transparent.
    #[test]
    fn jobs_written_before_ids_were_typed_still_read() {
        let old = [
            (
                r#"{"job":"invite","user":"U1"}"#,
                Job::Invite {
                    user: UserId::new("U1"),
                },
            ),
            (
                r#"{"job":"capture_message","ts":"1.2","by":"U2"}"#,
                Job::CaptureMessage {
                    ts: MessageTs::new("1.2"),
                    by: Some(UserId::new("U2")),
                },
            ),
            (
                r#"{"job":"post_update","update_id":7,"channel":"C1"}"#,
                Job::PostUpdate {
                    update_id: UpdateId::new(7),
                    channel: ChannelId::new("C1"),
                },
            ),
            (
                r#"{"job":"ephemeral","channel":"C1","user":"U1","text":"hi"}"#,
                Job::Ephemeral {
                    channel: ChannelId::new("C1"),
                    user: UserId::new("U1"),
                    text: "hi".into(),
                },
            ),
            (
                r#"{"job":"notice","channel":null,"user":"U1","text":"hi"}"#,
                Job::Notice {
                    channel: None,
                    user: UserId::new("U1"),
                    text: "hi".into(),
                },
            ),
            (
                r#"{"job":"post_checklist","role":"Scribe","user":"U3"}"#,
                Job::PostChecklist {
                    role: RoleName::new("Scribe"),
                    user: UserId::new("U3"),
                },
            ),
            (
                r#"{"job":"sync_checklist","checklist":4}"#,
                Job::SyncChecklist {
                    checklist: ChecklistId::new(4),
                },
            ),
            (
                r#"{"job":"post_summary","text":"t","by":"U4"}"#,
                Job::PostSummary {
                    text: "t".into(),
                    by: UserId::new("U4"),
                },
            ),
            (
                r#"{"job":"followup_digest","owner":"U5","week":"2026-11-30"}"#,
                Job::FollowupDigest {
                    owner: UserId::new("U5"),
                    week: "2026-11-30".into(),
                },
            ),
        ];
        for (json, job) in old {
            let read: Job = serde_json::from_str(json).unwrap();
            assert_eq!(read, job, "{json}");
            // And written back the same way.
            let written: serde_json::Value = serde_json::to_value(&job).unwrap();
            let original: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(written, original, "{json}");
        }
    }
}
