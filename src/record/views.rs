//! The rest of the record as the read API returns it: the list's page,
//! timeline entries, status updates, follow-ups and insights. Built from
//! what the store holds; pure.

use super::{IncidentSummary, Person};
use crate::domain::comms::Communication;
use crate::domain::followups::Followup;
use crate::domain::metrics::Stats;
use crate::domain::{
    ChannelId, Entry, FollowupId, Incident, IncidentNumber, MessageTs, SeverityName, UpdateId,
    UserId,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// One page of incidents, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IncidentPage {
    pub incidents: Vec<IncidentSummary>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// One timeline entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub id: i64,
    /// When it happened (a tagged message: when it was posted).
    pub at: DateTime<Utc>,
    /// `note`, `message`, `decision`, `severity`, `status`, `role`, …
    pub kind: String,
    pub author: Option<Person>,
    pub text: String,
    /// A tagged message's own Slack timestamp.
    pub message_ts: Option<MessageTs>,
    pub permalink: Option<String>,
    /// False while a tagged message's text is still being fetched.
    pub fetched: bool,
    /// When warroom recorded it.
    pub recorded_at: DateTime<Utc>,
    /// Who tagged the message (tagged entries).
    pub tagged_by: Option<UserId>,
    /// When the tagged message was last edited in Slack (`text` is the
    /// edited text).
    pub edited_at: Option<DateTime<Utc>>,
    /// `untagged` (the tag was removed) or `deleted` (the message was
    /// deleted in Slack): off the timeline, kept for audit. `null`: on it.
    pub removed: Option<String>,
}

impl TimelineEntry {
    pub fn of(
        e: Entry,
        h: crate::store::EntryHistory,
        names: &BTreeMap<UserId, String>,
    ) -> TimelineEntry {
        TimelineEntry {
            recorded_at: h.recorded_at,
            tagged_by: h.tagged_by,
            edited_at: h.edited_at,
            removed: if h.deleted {
                Some("deleted".to_string())
            } else if h.untagged {
                Some("untagged".to_string())
            } else {
                None
            },
            id: e.id,
            at: e.occurred_at,
            kind: e.kind.as_str().to_string(),
            author: e.author.map(|id| Person {
                name: e.author_name.or_else(|| names.get(&id).cloned()),
                id,
            }),
            text: e.text,
            message_ts: e.slack_ts,
            permalink: e.permalink,
            fetched: e.fetched,
        }
    }
}

/// One status update, to one channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StatusUpdate {
    pub id: UpdateId,
    pub posted_by: Person,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// In Slack's format.
    pub text: String,
    pub channel: ChannelId,
    /// `announce`, `war room` or an audience's name.
    pub audience: String,
    /// When Slack took it; `null` while the post is pending.
    pub posted_at: Option<DateTime<Utc>>,
}

impl StatusUpdate {
    pub fn of(c: Communication, names: &BTreeMap<UserId, String>) -> StatusUpdate {
        StatusUpdate {
            id: c.update_id,
            posted_by: Person {
                name: names.get(&c.posted_by).cloned(),
                id: c.posted_by,
            },
            at: c.recorded_at,
            text: c.text,
            channel: c.channel,
            audience: c.audience,
            posted_at: c.posted_at,
        }
    }
}

/// One follow-up (action item).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FollowupItem {
    pub id: FollowupId,
    pub incident: IncidentNumber,
    /// As typed, in Slack's format.
    pub text: String,
    pub owner: Person,
    pub due: Option<NaiveDate>,
    /// `open`, `overdue` (open, due before today) or `done`.
    pub state: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<UserId>,
}

impl FollowupItem {
    pub fn of(f: Followup, today: NaiveDate, names: &BTreeMap<UserId, String>) -> FollowupItem {
        let state = if !f.is_open() {
            "done"
        } else if f.is_overdue(today) {
            "overdue"
        } else {
            "open"
        };
        FollowupItem {
            id: f.id,
            incident: f.incident,
            text: f.text,
            owner: Person {
                name: names.get(&f.owner).cloned(),
                id: f.owner,
            },
            due: f.due,
            state: state.to_string(),
            created_by: f.created_by,
            created_at: f.created_at,
            done_at: f.done_at,
            done_by: f.done_by,
        }
    }
}

/// What `/incident stats` says about a period, as data.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Insights {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Incidents declared in the period (drills left out).
    pub incidents: usize,
    pub by_severity: Vec<SeverityCount>,
    /// Incidents declared per week (weeks start on Monday), oldest first.
    pub by_week: Vec<WeekCount>,
    pub time_to_detect: TimeFigures,
    pub time_to_mitigate: TimeFigures,
    pub time_to_resolve: TimeFigures,
    /// Follow-ups of every incident open now, and how many are overdue.
    pub followups_open: usize,
    pub followups_overdue: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SeverityCount {
    pub severity: SeverityName,
    pub incidents: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WeekCount {
    /// The week's Monday.
    pub week: NaiveDate,
    pub incidents: usize,
}

/// One time-to metric over the period, in seconds.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TimeFigures {
    /// Incidents for which it is known.
    pub known: usize,
    pub mean_seconds: Option<i64>,
    pub median_seconds: Option<i64>,
}

impl Insights {
    /// The insights of `incidents` (declared in the period, drills and
    /// what the reader may not see already left out), weeks in `tz`.
    pub fn of(
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        incidents: &[Incident],
        levels: &crate::domain::SeverityCatalog,
        followups: (usize, usize),
        tz: chrono_tz::Tz,
    ) -> Insights {
        let stats = Stats::of(incidents, levels, followups);
        let figures = |k: usize| {
            let t = stats.times.get(k);
            TimeFigures {
                known: t.map_or(0, |t| t.known),
                mean_seconds: t.and_then(|t| t.mean_median).map(|(m, _)| m.num_seconds()),
                median_seconds: t.and_then(|t| t.mean_median).map(|(_, m)| m.num_seconds()),
            }
        };
        let mut weeks: BTreeMap<NaiveDate, usize> = BTreeMap::new();
        for i in incidents {
            // The week as the team's clock (`timezone`) has it.
            let day = i.declared_at.with_timezone(&tz).date_naive();
            *weeks.entry(crate::domain::monday_of(day)).or_default() += 1;
        }
        let mut by_severity: Vec<SeverityCount> = stats
            .by_severity
            .iter()
            .map(|(name, n)| SeverityCount {
                severity: SeverityName::new(name.clone()),
                incidents: *n,
            })
            .collect();
        // Levels no longer configured, by their own names.
        let mut others: BTreeMap<&str, usize> = BTreeMap::new();
        for i in incidents {
            if levels.resolve(i.severity.as_str()).is_err() {
                *others.entry(i.severity.as_str()).or_default() += 1;
            }
        }
        by_severity.extend(others.into_iter().map(|(name, n)| SeverityCount {
            severity: SeverityName::new(name),
            incidents: n,
        }));
        Insights {
            since,
            until,
            incidents: stats.incidents,
            by_severity,
            by_week: weeks
                .into_iter()
                .map(|(week, incidents)| WeekCount { week, incidents })
                .collect(),
            time_to_detect: figures(0),
            time_to_mitigate: figures(1),
            time_to_resolve: figures(2),
            followups_open: stats.followups_open,
            followups_overdue: stats.followups_overdue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn insights_count_weeks_on_the_teams_clock() {
        // Monday 03:00 UTC is Sunday evening in Los Angeles.
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 3, 0, 0).unwrap();
        let incidents = [crate::domain::sample_incident(1, at)];
        let levels =
            crate::domain::SeverityCatalog::new(crate::domain::SeverityCatalog::defaults())
                .expect("levels");
        let week = |tz: chrono_tz::Tz| {
            Insights::of(at, at, &incidents, &levels, (0, 0), tz).by_week[0].week
        };
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).expect("a day");
        assert_eq!(week(chrono_tz::America::Los_Angeles), day(23));
        assert_eq!(week(chrono_tz::UTC), day(30));
    }
}
