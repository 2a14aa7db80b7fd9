//! Timeline entries: what happened in an incident, at the time it happened.

use super::UserId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What kind of event an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Declared,
    Note,
    Role,
    Severity,
    Status,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Declared => "declared",
            EntryKind::Note => "note",
            EntryKind::Role => "role",
            EntryKind::Severity => "severity",
            EntryKind::Status => "status",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "declared" => EntryKind::Declared,
            "note" => EntryKind::Note,
            "role" => EntryKind::Role,
            "severity" => EntryKind::Severity,
            "status" => EntryKind::Status,
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
    pub text: String,
}
