//! What a change is made of besides itself ([`Effects`]: timeline entries,
//! jobs, reminder clocks), what must hold for it to be made ([`Guard`]), and
//! how a guarded change fails ([`ChangeError`]: refused, or the database).

use crate::db::StoreError;
use crate::domain::permissions::Refusal;
use crate::domain::{Allowed, Assignment, Incident, NewEntry, Permission, Status, UserId};
use crate::queue::Job;
use chrono::{DateTime, Utc};

/// Why a guarded change was not made. Nothing was written either way.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// Its [`Guard`] refused it. The text (`Display`, from `slack::render`)
    /// is for the person who asked.
    #[error("{0}")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ChangeError {
    fn from(e: sqlx::Error) -> Self {
        ChangeError::Store(e.into())
    }
}

/// What a change causes besides itself: timeline entries, Slack work and
/// reminder rescheduling; and what must still hold for it to be made.
#[derive(Clone, Debug, Default)]
pub struct Effects {
    pub timeline: Vec<NewEntry>,
    pub jobs: Vec<Job>,
    pub schedule: Vec<ScheduleOp>,
    pub guard: Guard,
    /// Events recorded beside those the timeline entries make (each entry
    /// is a `timeline.entry_added` by itself).
    pub events: Vec<crate::domain::events::NewEvent>,
}

impl Effects {
    /// Who made the change: the author of its first timeline entry, else
    /// whoever its guard names. The event log's `actor`.
    pub fn actor(&self) -> Option<UserId> {
        self.timeline
            .iter()
            .find_map(|e| e.author.clone())
            .or_else(|| self.guard.permission.as_ref().map(|(_, _, u)| u.clone()))
            .or_else(|| self.guard.member.clone())
    }
}

/// Conditions checked inside the write transaction, against the incident
/// row it locked: a check made before the transaction could be overtaken
/// (`/incident status` racing `/incident close` would reopen it). A
/// refusal is [`ChangeError::Refused`] and writes nothing.
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

    /// Checks the guard against the incident and its roles as locked by
    /// the transaction; the refusal says why.
    pub(super) fn check(
        &self,
        incident: &Incident,
        assignments: &[Assignment],
    ) -> Result<(), Refusal> {
        if self.open && incident.status == Status::Closed {
            return Err(Refusal::Closed(incident.reference()));
        }
        if let Some((permission, allowed, user)) = &self.permission
            && !crate::domain::may(incident, assignments, allowed, user)
        {
            return Err(crate::domain::permissions::refusal(
                incident,
                assignments,
                allowed,
                *permission,
            ));
        }
        Ok(())
    }
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
