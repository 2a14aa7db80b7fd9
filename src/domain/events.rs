//! What happened to an incident, as the outside world hears of it: the
//! event log that the read API's histories, the outgoing webhooks and the
//! web pages read. Each change writes its events in the transaction that
//! makes it (`store::Effects::events`). Pure.

use super::{
    ChannelId, FollowupId, IncidentNumber, RoleName, SeverityName, Status, UpdateId, UserId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt;
use std::str::FromStr;

/// The kinds of event, named as webhook receivers see them (`type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "incident.declared")]
    IncidentDeclared,
    /// Title, summary or the private flag changed.
    #[serde(rename = "incident.updated")]
    IncidentUpdated,
    #[serde(rename = "incident.severity_changed")]
    SeverityChanged,
    #[serde(rename = "incident.status_changed")]
    StatusChanged,
    #[serde(rename = "incident.role_assigned")]
    RoleAssigned,
    #[serde(rename = "incident.role_released")]
    RoleReleased,
    #[serde(rename = "incident.status_update_posted")]
    StatusUpdatePosted,
    #[serde(rename = "incident.closed")]
    Closed,
    #[serde(rename = "timeline.entry_added")]
    EntryAdded,
    #[serde(rename = "timeline.entry_removed")]
    EntryRemoved,
    #[serde(rename = "postmortem.drafted")]
    PostmortemDrafted,
    #[serde(rename = "followup.created")]
    FollowupCreated,
    #[serde(rename = "followup.completed")]
    FollowupCompleted,
    /// An alert group was linked to the incident.
    #[serde(rename = "alert.linked")]
    AlertLinked,
    /// Someone pressed Page on-call: PagerDuty is asked to page, whatever
    /// the severity.
    #[serde(rename = "incident.paged")]
    Paged,
    /// Sent by `warroom webhooks test`; never recorded for an incident.
    #[serde(rename = "ping")]
    Ping,
}

impl EventType {
    pub const ALL: [EventType; 16] = [
        EventType::IncidentDeclared,
        EventType::IncidentUpdated,
        EventType::SeverityChanged,
        EventType::StatusChanged,
        EventType::RoleAssigned,
        EventType::RoleReleased,
        EventType::StatusUpdatePosted,
        EventType::Closed,
        EventType::EntryAdded,
        EventType::EntryRemoved,
        EventType::PostmortemDrafted,
        EventType::FollowupCreated,
        EventType::FollowupCompleted,
        EventType::AlertLinked,
        EventType::Paged,
        EventType::Ping,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::IncidentDeclared => "incident.declared",
            EventType::IncidentUpdated => "incident.updated",
            EventType::SeverityChanged => "incident.severity_changed",
            EventType::StatusChanged => "incident.status_changed",
            EventType::RoleAssigned => "incident.role_assigned",
            EventType::RoleReleased => "incident.role_released",
            EventType::StatusUpdatePosted => "incident.status_update_posted",
            EventType::Closed => "incident.closed",
            EventType::EntryAdded => "timeline.entry_added",
            EventType::EntryRemoved => "timeline.entry_removed",
            EventType::PostmortemDrafted => "postmortem.drafted",
            EventType::FollowupCreated => "followup.created",
            EventType::FollowupCompleted => "followup.completed",
            EventType::AlertLinked => "alert.linked",
            EventType::Paged => "incident.paged",
            EventType::Ping => "ping",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown event type `{0}`")]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownEventType(s.to_string()))
    }
}

/// Which event types an endpoint wants: `incident.*`, `followup.created`,
/// `*`. Checked when the configuration is read: a pattern that names no
/// event type is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventPattern(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{0}` matches no event type: use a type such as `incident.declared`, a family such as `incident.*`, or `*`"
)]
pub struct BadPattern(pub String);

impl EventPattern {
    pub fn parse(pattern: &str) -> Result<Self, BadPattern> {
        let p = EventPattern(pattern.trim().to_string());
        if EventType::ALL.iter().any(|t| p.matches(*t)) {
            Ok(p)
        } else {
            Err(BadPattern(pattern.to_string()))
        }
    }

    pub fn matches(&self, event: EventType) -> bool {
        let name = event.as_str();
        match self.0.strip_suffix('*') {
            Some("") => true,
            Some(prefix) => prefix.ends_with('.') && name.starts_with(prefix),
            None => self.0 == name,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An event to record with the change that causes it. Its `data` is what
/// the event is about beyond the incident itself (the old and new
/// severity, the role and its holder, the entry's id), in the shape
/// webhook receivers get it; build it with the constructors, which hold
/// the shapes in one place.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub kind: EventType,
    pub data: Value,
}

impl NewEvent {
    fn of(kind: EventType, data: Value) -> Self {
        NewEvent { kind, data }
    }

    pub fn declared() -> Self {
        Self::of(EventType::IncidentDeclared, json!({}))
    }

    pub fn severity_changed(from: &SeverityName, to: &SeverityName) -> Self {
        Self::of(
            EventType::SeverityChanged,
            json!({ "from": from, "to": to }),
        )
    }

    pub fn status_changed(from: Status, to: Status) -> Self {
        Self::of(EventType::StatusChanged, json!({ "from": from, "to": to }))
    }

    pub fn closed() -> Self {
        Self::of(EventType::Closed, json!({}))
    }

    /// `user` now holds `role`; `replaced` lost it to them.
    pub fn role_assigned(role: &RoleName, user: &UserId, replaced: &[UserId]) -> Self {
        Self::of(
            EventType::RoleAssigned,
            json!({ "role": role, "user": user, "replaced": replaced }),
        )
    }

    pub fn role_released(role: &RoleName, user: &UserId) -> Self {
        Self::of(
            EventType::RoleReleased,
            json!({ "role": role, "user": user }),
        )
    }

    /// A status update, `text` in Slack's format, going to `channels`.
    pub fn update_posted(update: UpdateId, text: &str, channels: &[&ChannelId]) -> Self {
        Self::of(
            EventType::StatusUpdatePosted,
            json!({ "update_id": update, "text": text, "channels": channels }),
        )
    }

    pub fn entry_added(entry: i64, kind: super::EntryKind) -> Self {
        Self::of(
            EventType::EntryAdded,
            json!({ "entry_id": entry, "kind": kind.as_str() }),
        )
    }

    pub fn entry_removed(entry: i64) -> Self {
        Self::of(EventType::EntryRemoved, json!({ "entry_id": entry }))
    }

    pub fn postmortem_drafted(postmortem: i64) -> Self {
        Self::of(
            EventType::PostmortemDrafted,
            json!({ "postmortem_id": postmortem }),
        )
    }

    /// Alert group `group` (of `source`, keyed `group_key`) now feeds the
    /// incident.
    pub fn alert_linked(group: super::AlertGroupId, source: &str, group_key: &str) -> Self {
        Self::of(
            EventType::AlertLinked,
            json!({ "alert_group_id": group, "source": source, "group_key": group_key }),
        )
    }

    /// The on-call was paged on request (the Page on-call button).
    pub fn paged() -> Self {
        Self::of(EventType::Paged, json!({}))
    }

    pub fn followup_created(followup: FollowupId) -> Self {
        Self::of(
            EventType::FollowupCreated,
            json!({ "followup_id": followup }),
        )
    }

    pub fn followup_completed(followup: FollowupId) -> Self {
        Self::of(
            EventType::FollowupCompleted,
            json!({ "followup_id": followup }),
        )
    }
}

/// An event as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Its place in the log: events are read back in this order.
    pub seq: i64,
    /// Its public id (`evt_…`): the `webhook-id` of every delivery of it.
    pub id: String,
    pub incident: Option<IncidentNumber>,
    pub kind: EventType,
    pub occurred_at: DateTime<Utc>,
    /// Who caused it, when a person did.
    pub actor: Option<UserId>,
    pub data: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::Value::String(t.as_str().to_string())
            );
        }
        assert!("incident.exploded".parse::<EventType>().is_err());
    }

    #[test]
    fn patterns() {
        let p = |s: &str| EventPattern::parse(s).unwrap();
        assert!(p("*").matches(EventType::FollowupCreated));
        assert!(p("incident.*").matches(EventType::SeverityChanged));
        assert!(!p("incident.*").matches(EventType::EntryAdded));
        assert!(p("followup.created").matches(EventType::FollowupCreated));
        assert!(!p("followup.created").matches(EventType::FollowupCompleted));
        for bad in ["incident", "incidents.*", "inc*", "nothing.here", ""] {
            assert!(EventPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
