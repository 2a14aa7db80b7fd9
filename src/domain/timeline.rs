//! Timeline entries: what happened in an incident, at the time it happened.

use super::UserId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What kind of event an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Declared,
    Note,
    Role,
    Severity,
    Status,
    /// A message the scribe tagged.
    Message,
    /// Typed tags: a tagged message that marks a key moment or a kind.
    ImpactStarted,
    Detected,
    Mitigated,
    Resolved,
    Decision,
    Hypothesis,
    /// A status update the communication lead posted.
    Update,
    /// A reminder the bot sent (or a snooze).
    Reminder,
    /// A task ticked or unticked on a role checklist.
    Task,
    /// An alert of a linked alert group fired or resolved.
    Alert,
}

impl EntryKind {
    pub const ALL: [EntryKind; 16] = [
        EntryKind::Declared,
        EntryKind::Note,
        EntryKind::Role,
        EntryKind::Severity,
        EntryKind::Status,
        EntryKind::Message,
        EntryKind::ImpactStarted,
        EntryKind::Detected,
        EntryKind::Mitigated,
        EntryKind::Resolved,
        EntryKind::Decision,
        EntryKind::Hypothesis,
        EntryKind::Update,
        EntryKind::Reminder,
        EntryKind::Task,
        EntryKind::Alert,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Declared => "declared",
            EntryKind::Note => "note",
            EntryKind::Role => "role",
            EntryKind::Severity => "severity",
            EntryKind::Status => "status",
            EntryKind::Message => "message",
            EntryKind::ImpactStarted => "impact_started",
            EntryKind::Detected => "detected",
            EntryKind::Mitigated => "mitigated",
            EntryKind::Resolved => "resolved",
            EntryKind::Decision => "decision",
            EntryKind::Hypothesis => "hypothesis",
            EntryKind::Update => "update",
            EntryKind::Reminder => "reminder",
            EntryKind::Task => "task",
            EntryKind::Alert => "alert",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A tagged message of a specific type (not a plain tag).
    pub fn is_typed_tag(self) -> bool {
        matches!(
            self,
            EntryKind::ImpactStarted
                | EntryKind::Detected
                | EntryKind::Mitigated
                | EntryKind::Resolved
                | EntryKind::Decision
                | EntryKind::Hypothesis
        )
    }

    /// How the timeline labels the entry, if at all.
    pub fn label(self) -> Option<&'static str> {
        Some(match self {
            EntryKind::ImpactStarted => "impact started",
            EntryKind::Detected => "detected",
            EntryKind::Mitigated => "mitigated",
            EntryKind::Resolved => "resolved",
            EntryKind::Decision => "decision",
            EntryKind::Hypothesis => "hypothesis",
            EntryKind::Update => "status update",
            EntryKind::Alert => "alert",
            _ => return None,
        })
    }
}

/// An entry to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEntry {
    pub occurred_at: DateTime<Utc>,
    pub kind: EntryKind,
    pub author: Option<UserId>,
    pub text: String,
}

/// A recorded entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub kind: EntryKind,
    pub author: Option<UserId>,
    /// Display name of a tagged message's author.
    pub author_name: Option<String>,
    pub text: String,
    /// The tagged message's own Slack timestamp.
    pub slack_ts: Option<super::MessageTs>,
    pub permalink: Option<String>,
    /// False while a tagged message's text is still being fetched.
    pub fetched: bool,
    /// Who put a message on the timeline (tagged it, or added it with the
    /// shortcut); `None` for the bot's own entries.
    pub added_by: Option<UserId>,
}

/// A change to the timeline caused by a Slack event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimelineChange {
    /// A tagger reacted: the message becomes (or again is) an entry.
    Tag {
        slack_ts: super::MessageTs,
        occurred_at: DateTime<Utc>,
        kind: EntryKind,
        tagged_by: UserId,
    },
    /// The tagging reaction was removed: the entry is hidden, kept for audit.
    Untag { slack_ts: super::MessageTs },
    /// The message was edited.
    Edit {
        slack_ts: super::MessageTs,
        text: String,
        at: DateTime<Utc>,
    },
    /// The message was deleted: the entry is marked deleted, kept for audit.
    Delete { slack_ts: super::MessageTs },
    /// Someone put a message on the timeline with the "Add to incident
    /// timeline" shortcut (or declared the incident from it): recorded as
    /// Slack sent it, at its own time and author, `added_by` saying who.
    /// The same message again is the same entry (shown again if removed).
    Quote {
        message: QuotedMessage,
        occurred_at: DateTime<Utc>,
        added_by: UserId,
    },
}

/// A Slack message as a message shortcut's payload carries it: where it
/// is, its own timestamp, its text (in Slack's format) and its author
/// (none for a bot's message).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotedMessage {
    pub channel: super::ChannelId,
    pub ts: super::MessageTs,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<UserId>,
}

/// A Slack message timestamp (`1700000000.000100`) as a time.
/// The stretch of timeline a Scribe's internal summary covers: from the
/// last summary (`since`) to when the reminder fired (`until`), carried in
/// the reminder job and its button as Unix milliseconds so a retry or a
/// later click renders the same text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SummaryWindow {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl SummaryWindow {
    /// From the carried milliseconds; out-of-range ones read as the
    /// declaration (`since`) and as `since` (`until`).
    pub fn from_millis(since: i64, until: i64, declared_at: DateTime<Utc>) -> Self {
        let since = DateTime::from_timestamp_millis(since).unwrap_or(declared_at);
        let until = DateTime::from_timestamp_millis(until).unwrap_or(since);
        SummaryWindow { since, until }
    }

    /// The entries a summary is drawn from: those before `until` (the
    /// summary itself picks what happened since `since`).
    pub fn entries(&self, timeline: Vec<Entry>) -> Vec<Entry> {
        timeline
            .into_iter()
            .filter(|e| e.occurred_at < self.until)
            .collect()
    }
}

pub fn slack_ts_time(ts: &super::MessageTs) -> Option<DateTime<Utc>> {
    let ts = ts.as_str();
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, "0"));
    let secs: i64 = secs.parse().ok()?;
    let micros: u32 = format!("{frac:0<6}").get(..6)?.parse().ok()?;
    DateTime::from_timestamp(secs, micros * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_timestamps() {
        let t = slack_ts_time(&crate::domain::MessageTs::new("1700000000.000100")).unwrap();
        assert_eq!(t.timestamp(), 1_700_000_000);
        assert_eq!(t.timestamp_subsec_micros(), 100);
        assert_eq!(
            slack_ts_time(&crate::domain::MessageTs::new("1700000000.5"))
                .unwrap()
                .timestamp_subsec_millis(),
            500
        );
        assert!(slack_ts_time(&crate::domain::MessageTs::new("soon")).is_none());
        assert!(slack_ts_time(&crate::domain::MessageTs::new("")).is_none());
    }

    #[test]
    fn kinds_round_trip() {
        for k in EntryKind::ALL {
            assert_eq!(EntryKind::parse(k.as_str()), Some(k));
        }
        assert!(EntryKind::Decision.is_typed_tag());
        assert!(!EntryKind::Message.is_typed_tag());
    }
}
