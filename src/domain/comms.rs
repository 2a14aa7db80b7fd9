//! Communications: reminder cadence (the 30/60-minute update rule: not more
//! often than every 30 minutes, never silent past 60), update phases and the
//! status-update question bank. Pure: an update's text is assembled from
//! the answers in `slack::render`.

use super::Status;
use chrono::{DateTime, Duration, Utc};

/// How often a severity level wants updates and timeline activity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cadence {
    pub nudge_after: Duration,
    pub due_after: Duration,
    pub scribe_quiet_after: Duration,
}

impl Cadence {
    /// After a firm reminder, the next one comes this much later if still
    /// no update: the gap between nudge and firm reminder (or the whole
    /// interval when they coincide).
    pub fn repeat_after(&self) -> Duration {
        let gap = self.due_after - self.nudge_after;
        if gap > Duration::zero() {
            gap
        } else {
            self.due_after
        }
    }
}

/// What kind of reminder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    /// Gentle: the communication lead may want to post an update.
    Nudge,
    /// Firm: an update is due; names the communication and incident leads.
    Due,
    /// The timeline has been quiet: the scribe should ask for status.
    ScribeQuiet,
}

impl ReminderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::Nudge => "nudge",
            ReminderKind::Due => "due",
            ReminderKind::ScribeQuiet => "scribe_quiet",
        }
    }
}

/// When each reminder of an incident is due; `None` means not scheduled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    pub nudge_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub scribe_at: Option<DateTime<Utc>>,
}

impl Schedule {
    /// Comms clocks (re)started at `from` (the declaration or an update).
    pub fn comms_from(
        from: DateTime<Utc>,
        c: &Cadence,
    ) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        (Some(from + c.nudge_after), Some(from + c.due_after))
    }

    /// The due time after `kind` fired at `due`: nudges wait for the next
    /// update, firm reminders repeat, scribe prompts repeat while quiet.
    pub fn after_firing(
        kind: ReminderKind,
        fired_at: DateTime<Utc>,
        c: &Cadence,
    ) -> Option<DateTime<Utc>> {
        match kind {
            ReminderKind::Nudge => None,
            ReminderKind::Due => Some(fired_at + c.repeat_after()),
            ReminderKind::ScribeQuiet => Some(fired_at + c.scribe_quiet_after),
        }
    }
}

/// The phases of an incident, for the update's questions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Investigating,
    Degradation,
    Restoring,
    Restored,
}

impl Phase {
    pub fn of(status: Status) -> Phase {
        match status {
            Status::Investigating => Phase::Investigating,
            Status::Identified => Phase::Degradation,
            Status::Mitigated => Phase::Restoring,
            Status::Resolved | Status::Closed => Phase::Restored,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Phase::Investigating => "Investigating",
            Phase::Degradation => "Service degradation",
            Phase::Restoring => "Restoring service",
            Phase::Restored => "Service restored",
        }
    }

    /// The questions a good update answers about status in this phase.
    pub fn status_questions(self) -> &'static str {
        match self {
            Phase::Investigating => {
                "What problem or alert do we see, and how does it differ from normal? What have we tried, even if ruled out? What are we doing next?"
            }
            Phase::Degradation => {
                "What have we found? What are we doing next (logs, a fix, a restart)?"
            }
            Phase::Restoring => {
                "What action did we take to start recovery? Will customers need to do anything, or can they speed it up?"
            }
            Phase::Restored => {
                "Did we take any other actions to complete recovery? Is there a preliminary cause?"
            }
        }
    }

    pub fn impact_questions(self) -> &'static str {
        match self {
            Phase::Investigating | Phase::Degradation => {
                "Which service, region or customers are affected? Which error do they see? All of it or some features? Intermittent or every time?"
            }
            Phase::Restoring => {
                "Who is still affected? When will the last customer stop seeing impact?"
            }
            Phase::Restored => {
                "When did impact start and end? How many customers or cases were affected?"
            }
        }
    }
}

pub const WORKAROUND_QUESTION: &str =
    "Can customers help themselves, or use another feature to get the same done?";
pub const NEXT_UPDATE_QUESTION: &str =
    "When can we share the next update? Without an ETA, give a ballpark and add a buffer.";

/// The answers of the update form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateAnswers {
    pub status: String,
    pub impact: String,
    pub workaround: String,
    /// Minutes until the next update, if promised.
    pub next_update_minutes: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cadence(n: i64, d: i64) -> Cadence {
        Cadence {
            nudge_after: Duration::minutes(n),
            due_after: Duration::minutes(d),
            scribe_quiet_after: Duration::minutes(45),
        }
    }

    #[test]
    fn firing_moves_each_clock_as_the_30_60_rule_asks() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
        let c = cadence(30, 60);
        assert_eq!(
            Schedule::comms_from(t, &c),
            (
                Some(t + Duration::minutes(30)),
                Some(t + Duration::minutes(60))
            )
        );
        assert_eq!(Schedule::after_firing(ReminderKind::Nudge, t, &c), None);
        assert_eq!(
            Schedule::after_firing(ReminderKind::Due, t, &c),
            Some(t + Duration::minutes(30))
        );
        assert_eq!(
            Schedule::after_firing(ReminderKind::ScribeQuiet, t, &c),
            Some(t + Duration::minutes(45))
        );
        assert_eq!(cadence(30, 30).repeat_after(), Duration::minutes(30));
    }

    #[test]
    fn phases_follow_the_lifecycle() {
        assert_eq!(Phase::of(Status::Investigating), Phase::Investigating);
        assert_eq!(Phase::of(Status::Identified), Phase::Degradation);
        assert_eq!(Phase::of(Status::Mitigated), Phase::Restoring);
        assert_eq!(Phase::of(Status::Resolved), Phase::Restored);
    }
}

/// Who a reminder speaks to: the holders of the roles it names, the
/// Incident Lead standing in for a role nobody holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReminderPeople {
    pub comms: crate::domain::UserId,
    pub lead: crate::domain::UserId,
    pub scribe: crate::domain::UserId,
    pub assist: Option<crate::domain::UserId>,
}

impl ReminderPeople {
    pub fn of(
        incident: &crate::domain::Incident,
        assignments: &[crate::domain::Assignment],
    ) -> Self {
        use crate::domain::roles::{COMMUNICATION_LEAD, SCRIBE, TECHNICAL_ASSIST};
        let lead = crate::domain::lead(incident, assignments);
        let holder = |role: &str| {
            crate::domain::holders(assignments, role)
                .first()
                .map(|u| (*u).clone())
        };
        ReminderPeople {
            comms: holder(COMMUNICATION_LEAD).unwrap_or_else(|| lead.clone()),
            scribe: holder(SCRIBE).unwrap_or_else(|| lead.clone()),
            assist: holder(TECHNICAL_ASSIST),
            lead,
        }
    }
}

/// One place a status update goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    pub channel: crate::domain::ChannelId,
    pub audience: String,
}

/// One line of the communications timeline: an update at one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Communication {
    pub update_id: crate::domain::UpdateId,
    pub posted_by: crate::domain::UserId,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    pub text: String,
    pub channel: crate::domain::ChannelId,
    pub audience: String,
    /// When Slack took it; `None` while the post is pending.
    pub posted_at: Option<chrono::DateTime<chrono::Utc>>,
    pub ts: Option<crate::domain::MessageTs>,
}
