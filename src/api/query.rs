//! The read API's query parameters, as sent, and the typed values they
//! become: every malformed one is refused naming it. Pure.

use crate::domain::{IncidentNumber, SeverityCatalog, SeverityName, Status, UserId};
use crate::store::IncidentQuery;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Longest page.
pub const MAX_LIMIT: i64 = 200;
/// The page size when `limit` is not given.
pub const DEFAULT_LIMIT: i64 = 50;
/// Most words `q` may hold.
const MAX_WORDS: usize = 10;

/// A parameter that does not read, and why.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{name}`: {problem}")]
pub struct BadParameter {
    pub name: &'static str,
    pub problem: String,
}

fn bad(name: &'static str, problem: impl Into<String>) -> BadParameter {
    BadParameter {
        name,
        problem: problem.into(),
    }
}

/// `GET /api/v1/incidents`'s parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `open`, `closed`, `all` (the default), or a comma-separated list of
    /// those and of `investigating`, `identified`, `mitigated`, `resolved`.
    pub status: Option<String>,
    /// Comma-separated severity levels (`SEV1,SEV2`).
    pub severity: Option<String>,
    /// Declared at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    /// Declared before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
    /// Words that must all appear in the title or the summary (at most 10).
    pub q: Option<String>,
    /// `true` to include drills (left out by default).
    #[param(value_type = Option<bool>)]
    pub drill: Option<String>,
    /// Incidents per page: 1 to 200, default 50.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn time(name: &'static str, value: &Option<String>) -> Result<Option<DateTime<Utc>>, BadParameter> {
    value
        .as_deref()
        .map(|v| {
            DateTime::parse_from_rfc3339(v.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    bad(
                        name,
                        format!("`{v}` is not an RFC 3339 time ({e}), e.g. 2026-12-01T00:00:00Z"),
                    )
                })
        })
        .transpose()
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

impl ListParams {
    /// The store's query; `private`: the reader sees private incidents.
    pub fn query(
        &self,
        severities: &SeverityCatalog,
        private: bool,
    ) -> Result<IncidentQuery, BadParameter> {
        let statuses = match self.status.as_deref().map(str::trim) {
            None | Some("") | Some("all") => None,
            Some(v) => {
                let mut out: Vec<Status> = Vec::new();
                for s in list(v) {
                    match s {
                        "all" => return Err(bad("status", "`all` cannot be combined with others")),
                        "open" => out.extend([
                            Status::Investigating,
                            Status::Identified,
                            Status::Mitigated,
                        ]),
                        "closed" => out.extend([Status::Resolved, Status::Closed]),
                        other => out.push(other.parse().map_err(|_| {
                            bad(
                                "status",
                                format!("`{other}`: use open, closed, all, or investigating, identified, mitigated, resolved"),
                            )
                        })?),
                    }
                }
                if out.is_empty() {
                    return Err(bad("status", format!("`{v}` names no status")));
                }
                out.sort_by_key(|s| s.as_str());
                out.dedup();
                Some(out)
            }
        };
        let severities = match &self.severity {
            None => Vec::new(),
            Some(v) if v.trim().is_empty() => Vec::new(),
            Some(v) => {
                let named = list(v)
                    .map(|s| {
                        severities
                            .resolve(s)
                            .map(|l| l.name.clone())
                            .map_err(|e| bad("severity", e.to_string()))
                    })
                    .collect::<Result<Vec<SeverityName>, _>>()?;
                if named.is_empty() {
                    return Err(bad("severity", format!("`{v}` names no level")));
                }
                named
            }
        };
        let drills = match self.drill.as_deref().map(str::trim) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => return Err(bad("drill", format!("`{other}`: use true or false"))),
        };
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(v) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| bad("limit", format!("`{v}`: give 1 to {MAX_LIMIT}")))?,
        };
        let before = match self.cursor.as_deref() {
            None => None,
            Some(v) => Some(
                v.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(IncidentNumber::new)
                    .ok_or_else(|| bad("cursor", format!("`{v}` is not a cursor this API gave")))?,
            ),
        };
        let words: Vec<String> = self
            .q
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if words.len() > MAX_WORDS {
            return Err(bad("q", format!("give at most {MAX_WORDS} words")));
        }
        let (since, until) = (time("since", &self.since)?, time("until", &self.until)?);
        if let (Some(since), Some(until)) = (since, until)
            && until <= since
        {
            return Err(bad("until", "must be after `since`"));
        }
        Ok(IncidentQuery {
            statuses,
            severities,
            since,
            until,
            words,
            drills,
            private,
            member: None,
            last_closed_first: false,
            before,
            limit,
        })
    }
}

/// `GET /api/v1/followups`'s parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FollowupParams {
    /// `open` (the default), `overdue`, `done` or `all`.
    pub state: Option<String>,
    /// Only this person's (a Slack user id).
    pub owner: Option<String>,
}

/// Which follow-ups a reader asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowupState {
    Open,
    Overdue,
    Done,
    All,
}

impl FollowupParams {
    pub fn parse(&self) -> Result<(FollowupState, Option<UserId>), BadParameter> {
        let state = match self.state.as_deref().map(str::trim) {
            None | Some("open") => FollowupState::Open,
            Some("overdue") => FollowupState::Overdue,
            Some("done") => FollowupState::Done,
            Some("all") => FollowupState::All,
            Some(other) => {
                return Err(bad(
                    "state",
                    format!("`{other}`: use open, overdue, done or all"),
                ));
            }
        };
        let owner = match self.owner.as_deref().map(str::trim) {
            None => None,
            Some(o)
                if o.len() > 1
                    && o.starts_with(['U', 'W'])
                    && o.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                Some(UserId::new(o))
            }
            Some(o) => {
                return Err(bad(
                    "owner",
                    format!("`{o}` is not a Slack user id (U0123ABCD)"),
                ));
            }
        };
        Ok((state, owner))
    }
}

/// `GET /api/v1/insights`'s parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InsightsParams {
    /// From (RFC 3339); default 90 days before `until`.
    pub since: Option<String>,
    /// To (RFC 3339, inclusive); default now.
    pub until: Option<String>,
}

impl InsightsParams {
    pub fn parse(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), BadParameter> {
        let until = time("until", &self.until)?.unwrap_or(now);
        let since = time("since", &self.since)?.unwrap_or(until - chrono::Duration::days(90));
        if since >= until {
            return Err(bad("since", "must be before `until`"));
        }
        if until - since > chrono::Duration::days(3660) {
            return Err(bad("since", "at most ten years before `until`"));
        }
        Ok((since, until))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> ListParams {
        let q = serde_urlencoded::to_string(pairs).unwrap();
        serde_urlencoded::from_str(&q).unwrap()
    }

    #[test]
    fn filters_read_and_every_bad_one_is_named() {
        let levels = SeverityCatalog::new(SeverityCatalog::defaults()).unwrap();
        let q = params(&[
            ("status", "open"),
            ("severity", "sev1,SEV2"),
            ("since", "2026-12-01T00:00:00Z"),
            ("q", "checkout  down"),
            ("limit", "10"),
            ("cursor", "42"),
        ])
        .query(&levels, false)
        .unwrap();
        assert_eq!(q.statuses.as_ref().unwrap().len(), 3);
        assert_eq!(q.severities.len(), 2);
        assert_eq!(q.words, vec!["checkout", "down"]);
        assert_eq!((q.limit, q.before), (10, Some(IncidentNumber::new(42))));
        assert!(!q.drills && !q.private);
        let all = params(&[]).query(&levels, true).unwrap();
        assert_eq!((all.statuses, all.limit, all.private), (None, 50, true));
        for (name, value) in [
            ("status", "sleeping"),
            ("status", "all,open"),
            ("severity", "SEV9"),
            ("since", "yesterday"),
            ("until", "2026-13-01"),
            ("drill", "maybe"),
            ("limit", "0"),
            ("limit", "201"),
            ("cursor", "abc"),
        ] {
            let e = params(&[(name, value)]).query(&levels, false).unwrap_err();
            assert_eq!(e.name, name, "{e}");
        }
    }

    #[test]
    fn followups_and_insights_parameters() {
        let p = |s: Option<&str>, o: Option<&str>| FollowupParams {
            state: s.map(str::to_string),
            owner: o.map(str::to_string),
        };
        assert_eq!(p(None, None).parse().unwrap().0, FollowupState::Open);
        assert_eq!(
            p(Some("overdue"), Some("U0123ABCD")).parse().unwrap().1,
            Some(UserId::new("U0123ABCD"))
        );
        assert_eq!(p(Some("late"), None).parse().unwrap_err().name, "state");
        assert_eq!(p(None, Some("bob")).parse().unwrap_err().name, "owner");
        let now = Utc::now();
        let i = InsightsParams::default().parse(now).unwrap();
        assert_eq!((i.1 - i.0).num_days(), 90);
        let backwards = InsightsParams {
            since: Some("2026-12-02T00:00:00Z".into()),
            until: Some("2026-12-01T00:00:00Z".into()),
        };
        assert_eq!(backwards.parse(now).unwrap_err().name, "since");
    }
}
