//! The incident model: pure data and rules, no IO, no Slack JSON, no SQL.

pub mod alerts;
pub mod bridge;
pub mod checklist;
pub mod comms;
pub mod events;
pub mod followups;
pub mod metrics;
pub mod permissions;
pub mod roles;
pub mod severity;
pub mod severity_matrix;
pub mod timeline;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// Links still in a message being written (`link_shared` from the
/// composer): Slack names them by `unfurl_id`, and `chat.unfurl` answers
/// by that id and `source` instead of a channel and ts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposerLinks {
    pub unfurl_id: String,
}

/// The Monday of `day`'s (ISO) week.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day.checked_sub_days(chrono::Days::new(u64::from(
        day.weekday().num_days_from_monday(),
    )))
    .unwrap_or(day)
}
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub use permissions::{Allowed, Permission, Permissions, may};
pub use roles::{Role, RoleCatalog};
pub use severity::{SeverityCatalog, SeverityLevel};
pub use severity_matrix::{Assessment, SeverityMatrix};
pub use timeline::{Entry, EntryKind, NewEntry, QuotedMessage, TimelineChange};

/// Where an incident stands in its lifecycle (detect → … → resolve → review).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Investigating,
    Identified,
    Mitigated,
    Resolved,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Investigating => "investigating",
            Status::Identified => "identified",
            Status::Mitigated => "mitigated",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    /// Open incidents are the ones people are still working on.
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown status `{0}`: use investigating, identified, mitigated or resolved")]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "investigating" => Ok(Status::Investigating),
            "identified" => Ok(Status::Identified),
            "mitigated" => Ok(Status::Mitigated),
            "resolved" => Ok(Status::Resolved),
            "closed" => Ok(Status::Closed),
            other => Err(UnknownStatus(other.to_string())),
        }
    }
}

/// A plain string newtype (a Slack id, a configured name), so one kind
/// cannot be passed where another is expected: no `Deref` to `str`, no
/// conversion from `&str` nor comparison with one, so a `&str` parameter
/// takes none of them and none takes a `&str`. Made where the text enters
/// (`slack::inbound`, the Web API's answers, the configuration, the
/// store's rows) with `new`. Transparent in JSON; the store binds and reads
/// it as text.
macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(text: impl Into<String>) -> Self {
                $name(text.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// A number newtype (an incident's number, a follow-up's id, …), so one
/// kind of number cannot be passed for another. Transparent in JSON; the
/// store binds and reads it as an integer (`get`, `new`).
macro_rules! number_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub const fn new(n: i64) -> Self {
                $name(n)
            }

            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

number_newtype!(
    /// An incident's number: 1, 2, 3, … in declaration order.
    IncidentNumber
);
number_newtype!(
    /// A follow-up's id.
    FollowupId
);
number_newtype!(
    /// A status update's id.
    UpdateId
);
number_newtype!(
    /// A role checklist's id.
    ChecklistId
);
number_newtype!(
    /// An alert group's id (one episode of a source's group key).
    AlertGroupId
);

text_newtype!(
    /// A Slack user id (`U…`/`W…`), kept opaque. How Slack mentions one
    /// (`UserId::mention`) lives in `slack::render`.
    UserId
);
text_newtype!(
    /// A Slack conversation id (`C…`, `G…`, `D…`), kept opaque.
    ChannelId
);
text_newtype!(
    /// A severity level's configured name (`SEV1`), as incidents carry it.
    SeverityName
);
text_newtype!(
    /// A role's configured name (`Incident Lead`), as assignments,
    /// checklists and permission lists carry it.
    RoleName
);
text_newtype!(
    /// A Slack message timestamp (`1700000000.000100`): with its channel,
    /// the message's id. Kept opaque.
    MessageTs
);

/// An incident as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub number: IncidentNumber,
    pub title: String,
    pub severity: SeverityName,
    pub status: Status,
    pub summary: String,
    pub security: bool,
    pub drill: bool,
    /// The war room is a private channel; others see little of it
    /// (`private_incidents.announce`, `/incident list`).
    pub private: bool,
    pub declared_by: UserId,
    pub declared_at: DateTime<Utc>,
    pub impact_started_at: Option<DateTime<Utc>>,
    /// Set by a "detected" tag.
    pub detected_at: Option<DateTime<Utc>>,
    pub mitigated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Channel where `/incident declare` was typed.
    pub origin_channel: ChannelId,
    /// Channel where the announcement goes.
    pub announce_channel: ChannelId,
    pub channel_id: Option<ChannelId>,
    pub channel_name: Option<String>,
    pub board_ts: Option<MessageTs>,
    pub announce_ts: Option<MessageTs>,
    /// When the last status update was recorded.
    pub last_update_at: Option<DateTime<Utc>>,
    /// Reminder due times (`None`: not scheduled).
    pub schedule: comms::Schedule,
    /// Impact and urgency as answered (`severity_matrix`), if they were.
    pub assessment: Option<Assessment>,
}

impl Incident {
    /// `INC-7` or `DRILL-7`.
    pub fn reference(&self) -> String {
        if self.drill {
            format!("DRILL-{}", self.number)
        } else {
            format!("INC-{}", self.number)
        }
    }
}

/// Who holds which role in one incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub role: RoleName,
    pub user: UserId,
}

/// Who leads: the Incident Lead, else the declarer (SPEC: "the declarer
/// holds Incident Lead until someone else claims it").
pub fn lead(incident: &Incident, assignments: &[Assignment]) -> UserId {
    holders(assignments, roles::INCIDENT_LEAD)
        .first()
        .map(|u| (*u).clone())
        .unwrap_or_else(|| incident.declared_by.clone())
}

/// Everyone holding `role`.
pub fn holders<'a>(assignments: &'a [Assignment], role: &str) -> Vec<&'a UserId> {
    assignments
        .iter()
        .filter(|a| a.role.as_str() == role)
        .map(|a| &a.user)
        .collect()
}

/// What a new incident is declared with, once the modal's input was checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Declaration {
    pub title: String,
    pub severity: SeverityName,
    pub summary: String,
    pub impact_started_at: Option<DateTime<Utc>>,
    pub security: bool,
    pub drill: bool,
    pub private: bool,
    pub declared_by: UserId,
    pub origin_channel: ChannelId,
    pub announce_channel: ChannelId,
    /// Impact and urgency as answered in the form, if they were.
    pub assessment: Option<Assessment>,
}

/// Slack's limit for a channel name.
pub const MAX_CHANNEL_NAME: usize = 80;

/// `inc-<number>-<slug>` (`drill-…` for a drill), with `-<n>` appended for the
/// n-th attempt after `name_taken`. Lower case, only `a-z0-9-_`, at most 80
/// characters however long the title.
pub fn channel_name(number: IncidentNumber, title: &str, drill: bool, attempt: u32) -> String {
    let prefix = if drill { "drill" } else { "inc" };
    let head = format!("{prefix}-{number}");
    let tail = if attempt > 1 {
        format!("-{attempt}")
    } else {
        String::new()
    };
    let room = MAX_CHANNEL_NAME.saturating_sub(head.len() + tail.len() + 1);
    let slug = slug(title, room);
    if slug.is_empty() {
        format!("{head}{tail}")
    } else {
        format!("{head}-{slug}{tail}")
    }
}

/// Lower-case `a-z0-9-_` slug of at most `max` characters, without leading,
/// trailing or repeated dashes.
pub fn slug(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(max);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// An incident for unit tests: SEV2, public, declared at `declared_at`,
/// resolved half an hour later.
#[cfg(test)]
pub fn sample_incident(number: i64, declared_at: DateTime<Utc>) -> Incident {
    Incident {
        number: IncidentNumber::new(number),
        title: "Checkout errors".into(),
        severity: SeverityName::new("SEV2"),
        status: Status::Closed,
        summary: String::new(),
        security: false,
        drill: false,
        private: false,
        declared_by: UserId("U1".into()),
        declared_at,
        impact_started_at: None,
        detected_at: None,
        mitigated_at: None,
        resolved_at: Some(declared_at + chrono::Duration::minutes(30)),
        closed_at: None,
        origin_channel: ChannelId::new("C1"),
        announce_channel: ChannelId::new("C1"),
        channel_id: None,
        channel_name: None,
        board_ts: None,
        announce_ts: None,
        last_update_at: None,
        schedule: Default::default(),
        assessment: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_follow_slack_rules() {
        assert_eq!(
            channel_name(
                IncidentNumber::new(7),
                "Checkout API returns 500s!",
                false,
                1
            ),
            "inc-7-checkout-api-returns-500s"
        );
        assert_eq!(
            channel_name(IncidentNumber::new(7), "DB down", true, 1),
            "drill-7-db-down"
        );
        assert_eq!(
            channel_name(IncidentNumber::new(7), "DB down", false, 3),
            "inc-7-db-down-3"
        );
        assert_eq!(
            channel_name(IncidentNumber::new(12), "   ", false, 1),
            "inc-12"
        );
        assert_eq!(
            channel_name(IncidentNumber::new(12), "Überlast — Café", false, 1),
            "inc-12-berlast-caf"
        );
        let long = "x".repeat(200);
        let name = channel_name(IncidentNumber::new(123), &long, false, 12);
        assert_eq!(name.len(), MAX_CHANNEL_NAME);
        assert!(name.ends_with("-12"));
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        );
    }

    #[test]
    fn slug_never_ends_with_a_dash_after_truncation() {
        assert_eq!(slug("ab cd", 3), "ab");
        assert_eq!(slug("--a__b--", 10), "a__b");
    }

    #[test]
    fn status_parses_case_insensitively() {
        assert_eq!("Mitigated".parse(), Ok(Status::Mitigated));
        assert!("fixed".parse::<Status>().is_err());
        assert!(Status::Identified.is_open());
        assert!(!Status::Resolved.is_open());
    }
}
