//! The incident as the outside world reads it: one read model for the read
//! API, the outgoing webhooks' `data.incident`, the web pages and App Home.
//! It gathers the stored incident, its roles and its event log into
//! [`IncidentRecord`] (serialized as the API returns it), and it applies
//! the one visibility rule ([`Viewer`]): who may see a private incident.
//!
//! **Invariant:** nothing outside this module decides whether a reader may
//! see an incident; every reader of the record goes through [`Viewer`].

use crate::domain::events::{Event, EventType};
use crate::domain::metrics::metrics;
use crate::domain::{ChannelId, Incident, IncidentNumber, RoleName, SeverityName, Status, UserId};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Who is reading, and so what they may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// Sees every incident, private ones in full (a `--private` API token,
    /// a webhook endpoint with `include_private`, the operator).
    Everything,
    /// Sees public incidents only (an ordinary API token, a webhook
    /// endpoint without `include_private`).
    PublicOnly,
    /// A person: public incidents, and the private ones whose war room they
    /// are known to be in (the rule of `/incident list`).
    Person(UserId),
}

impl Viewer {
    /// Whether this viewer may see `incident`. A person's membership is
    /// what the bot recorded (`war_room_members`); no Web API call.
    pub async fn may_see(
        &self,
        store: &dyn Store,
        incident: &Incident,
    ) -> Result<bool, StoreError> {
        Ok(match self {
            _ if !incident.private => true,
            Viewer::Everything => true,
            Viewer::PublicOnly => false,
            Viewer::Person(user) => store.is_member(incident.number, user).await?,
        })
    }
}

/// A person as the record names them: their Slack id and, when the bot
/// has looked it up, their display name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Person {
    pub id: UserId,
    pub name: Option<String>,
}

/// The war room: its channel, name and a link that opens it in Slack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WarRoom {
    pub channel: ChannelId,
    pub name: Option<String>,
    pub permalink: String,
}

/// When things happened (RFC 3339, UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Times {
    pub impact_started: Option<DateTime<Utc>>,
    pub detected: Option<DateTime<Utc>>,
    pub declared: DateTime<Utc>,
    pub mitigated: Option<DateTime<Utc>>,
    pub resolved: Option<DateTime<Utc>>,
    pub closed: Option<DateTime<Utc>>,
}

/// The incident's metrics in seconds, where known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Durations {
    pub time_to_detect: Option<i64>,
    pub time_to_mitigate: Option<i64>,
    pub time_to_resolve: Option<i64>,
    pub total: Option<i64>,
}

/// A role: who holds it now, and who held it when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RoleRecord {
    pub role: RoleName,
    pub holders: Vec<Person>,
    pub history: Vec<Tenure>,
}

/// One person's time in a role; `until` is `None` while they hold it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Tenure {
    pub person: Person,
    pub from: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
}

/// One change of severity or status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Change<T: utoipa::ToSchema> {
    pub at: DateTime<Utc>,
    pub from: T,
    pub to: T,
    pub by: Option<Person>,
}

/// An incident's own fields: what the list returns for each incident,
/// and the head of its full record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IncidentSummary {
    pub number: IncidentNumber,
    /// `INC-7`, or `DRILL-7` for a drill.
    pub reference: String,
    pub title: String,
    pub summary: String,
    pub severity: SeverityName,
    pub status: Status,
    pub security: bool,
    pub drill: bool,
    pub private: bool,
    pub declared_by: Person,
    pub war_room: Option<WarRoom>,
    pub times: Times,
    pub durations: Durations,
}

/// The incident as the read API returns it and webhooks carry it: its own
/// fields, its roles and who held them, and its severity and status
/// history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IncidentRecord {
    #[serde(flatten)]
    pub head: IncidentSummary,
    pub roles: Vec<RoleRecord>,
    pub severity_history: Vec<Change<SeverityName>>,
    pub status_history: Vec<Change<Status>>,
}

impl std::ops::Deref for IncidentRecord {
    type Target = IncidentSummary;
    fn deref(&self) -> &IncidentSummary {
        &self.head
    }
}

impl IncidentSummary {
    /// The incident's own fields, people named from `names`. Pure.
    pub fn of(incident: Incident, names: &BTreeMap<UserId, String>) -> IncidentSummary {
        let person = |id: &UserId| Person {
            id: id.clone(),
            name: names.get(id).cloned(),
        };
        let [ttd, ttm, ttr, total] =
            metrics(&incident).map(|m| m.value.ok().map(|d| d.num_seconds()));
        IncidentSummary {
            number: incident.number,
            reference: incident.reference(),
            war_room: incident.channel_id.as_ref().map(|c| WarRoom {
                channel: c.clone(),
                name: incident.channel_name.clone(),
                permalink: channel_link(c),
            }),
            declared_by: person(&incident.declared_by),
            times: Times {
                impact_started: incident.impact_started_at,
                detected: incident.detected_at,
                declared: incident.declared_at,
                mitigated: incident.mitigated_at,
                resolved: incident.resolved_at,
                closed: incident.closed_at,
            },
            durations: Durations {
                time_to_detect: ttd,
                time_to_mitigate: ttm,
                time_to_resolve: ttr,
                total,
            },
            title: incident.title,
            summary: incident.summary,
            severity: incident.severity,
            status: incident.status,
            security: incident.security,
            drill: incident.drill,
            private: incident.private,
        }
    }
}

/// What a reader who may not see a private incident learns of it where it
/// must be named at all (a webhook without `include_private`): that it
/// exists, by number, and nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HiddenIncident {
    pub number: IncidentNumber,
    pub private: bool,
}

/// How Slack opens a channel from a link, without knowing the workspace.
pub fn channel_link(channel: &ChannelId) -> String {
    format!("https://slack.com/app_redirect?channel={channel}")
}

impl IncidentRecord {
    /// The record of incident `number`, or `None` when there is no such
    /// incident or `viewer` may not see it (the two look the same, so a
    /// private incident's existence does not leak).
    pub async fn load(
        store: &dyn Store,
        number: IncidentNumber,
        viewer: &Viewer,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        let Some(incident) = store.incident(number).await? else {
            return Ok(None);
        };
        if !viewer.may_see(store, &incident).await? {
            return Ok(None);
        }
        let assignments = store.assignments(number).await?;
        let events = store.events(number).await?;
        let mut people: BTreeSet<UserId> = BTreeSet::new();
        people.insert(incident.declared_by.clone());
        people.extend(assignments.iter().map(|a| a.user.clone()));
        people.extend(events.iter().filter_map(|e| e.actor.clone()));
        people.extend(events.iter().filter_map(role_user));
        let names = store
            .user_names(&people.into_iter().collect::<Vec<_>>())
            .await?;
        Ok(Some(Self::build(incident, &assignments, &events, &names)))
    }

    /// The record from what the store holds. Pure.
    pub fn build(
        incident: Incident,
        assignments: &[crate::domain::Assignment],
        events: &[Event],
        names: &BTreeMap<UserId, String>,
    ) -> IncidentRecord {
        let person = |id: &UserId| Person {
            id: id.clone(),
            name: names.get(id).cloned(),
        };
        // Role tenures from the log; holders the log does not cover (an
        // incident declared before the log existed) from when it was declared.
        let mut tenures: BTreeMap<RoleName, Vec<Tenure>> = BTreeMap::new();
        for e in events {
            let Some((role, user)) = role_of(e) else {
                continue;
            };
            let list = tenures.entry(role).or_default();
            match e.kind {
                EventType::RoleAssigned => {
                    if !list
                        .iter()
                        .any(|t| t.person.id == user && t.until.is_none())
                    {
                        list.push(Tenure {
                            person: person(&user),
                            from: e.occurred_at,
                            until: None,
                        });
                    }
                }
                _ => {
                    if let Some(t) = list
                        .iter_mut()
                        .rev()
                        .find(|t| t.person.id == user && t.until.is_none())
                    {
                        t.until = Some(e.occurred_at);
                    }
                }
            }
        }
        let mut roles: Vec<RoleRecord> = Vec::new();
        for a in assignments {
            let list = tenures.entry(a.role.clone()).or_default();
            if !list
                .iter()
                .any(|t| t.person.id == a.user && t.until.is_none())
            {
                list.push(Tenure {
                    person: person(&a.user),
                    from: incident.declared_at,
                    until: None,
                });
            }
        }
        for (role, history) in tenures {
            let holders = assignments
                .iter()
                .filter(|a| a.role == role)
                .map(|a| person(&a.user))
                .collect();
            roles.push(RoleRecord {
                role,
                holders,
                history,
            });
        }
        let severity_history = events
            .iter()
            .filter(|e| e.kind == EventType::SeverityChanged)
            .filter_map(|e| {
                Some(Change {
                    at: e.occurred_at,
                    from: SeverityName::new(e.data["from"].as_str()?),
                    to: SeverityName::new(e.data["to"].as_str()?),
                    by: e.actor.as_ref().map(person),
                })
            })
            .collect();
        let status_history = events
            .iter()
            .filter(|e| e.kind == EventType::StatusChanged)
            .filter_map(|e| {
                Some(Change {
                    at: e.occurred_at,
                    from: e.data["from"].as_str()?.parse().ok()?,
                    to: e.data["to"].as_str()?.parse().ok()?,
                    by: e.actor.as_ref().map(person),
                })
            })
            .collect();
        IncidentRecord {
            head: IncidentSummary::of(incident, names),
            roles,
            severity_history,
            status_history,
        }
    }
}

/// The role and holder a role event is about.
fn role_of(e: &Event) -> Option<(RoleName, UserId)> {
    if !matches!(e.kind, EventType::RoleAssigned | EventType::RoleReleased) {
        return None;
    }
    Some((
        RoleName::new(e.data["role"].as_str()?),
        UserId::new(e.data["user"].as_str()?),
    ))
}

fn role_user(e: &Event) -> Option<UserId> {
    role_of(e).map(|(_, user)| user)
}

mod schema;
mod views;

pub use views::{
    FollowupItem, IncidentPage, Insights, SeverityCount, StatusUpdate, TimeFigures, TimelineEntry,
    WeekCount,
};

#[cfg(test)]
mod tests;
