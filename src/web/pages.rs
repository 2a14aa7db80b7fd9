//! The pages: the incident list (open first, then recent; filters; pages
//! of 50) and one incident's page (roles and who held them, the timeline,
//! status updates, follow-ups, the postmortem draft).

use super::{Person, Web, WebError, page_response};
use crate::domain::{IncidentNumber, Status, UserId};
use crate::record::{FollowupItem, StatusUpdate, TimelineEntry};
use crate::record::{IncidentRecord, IncidentSummary, Viewer};
use crate::store::IncidentQuery;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Rows on one page of the list.
const PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub(super) struct ListParams {
    /// `open`, `closed` or `all` (the default: open now first, then all).
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    /// Words in the title or summary.
    #[serde(default)]
    q: Option<String>,
    /// Declared in the last this many days (the form sends "" for none).
    #[serde(default)]
    days: Option<String>,
    /// The last number of the previous page.
    #[serde(default)]
    before: Option<String>,
}

impl ListParams {
    fn days(&self) -> Option<u32> {
        self.days.as_deref().and_then(|d| d.trim().parse().ok())
    }

    fn before(&self) -> Option<i64> {
        self.before.as_deref().and_then(|b| b.trim().parse().ok())
    }
}

/// One row of the list.
#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    incident: IncidentSummary,
    lead: String,
    /// "3 h 10 min" open, or how long it lasted.
    age: String,
}

fn span(d: chrono::Duration) -> String {
    let minutes = d.num_minutes().max(0);
    match (minutes / (24 * 60), (minutes / 60) % 24, minutes % 60) {
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// `GET /web`: incidents this person may see: without filters, those open
/// now first, then every incident newest first, a page at a time.
pub(super) async fn list(
    State(web): State<Arc<Web>>,
    Person(user): Person,
    Query(p): Query<ListParams>,
) -> Result<Response, WebError> {
    let open_statuses: Vec<Status> = [
        Status::Investigating,
        Status::Identified,
        Status::Mitigated,
        Status::Resolved,
    ]
    .into_iter()
    .filter(|s| s.is_open())
    .collect();
    let status = p.status.as_deref().unwrap_or("all");
    let statuses = match status {
        "open" => Some(open_statuses.clone()),
        "closed" => Some(vec![Status::Closed]),
        _ => None,
    };
    let severity = p
        .severity
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| web.ctx.settings.severities.resolve(s).ok())
        .map(|l| l.name.clone());
    let now = web.ctx.clock.now();
    let query = IncidentQuery {
        statuses,
        severities: severity.iter().cloned().collect(),
        since: p
            .days()
            .filter(|d| *d > 0)
            .map(|d| now - chrono::Duration::days(i64::from(d.min(3650)))),
        words: p
            .q
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .take(10)
            .map(str::to_string)
            .collect(),
        drills: true,
        private: true,
        member: Some(user.clone()),
        before: p.before().filter(|n| *n > 1).map(IncidentNumber::new),
        limit: PAGE + 1,
        ..IncidentQuery::default()
    };
    let viewer = Viewer::Person(user.clone());
    let found = web.ctx.store.list_incidents(&query).await?;
    let more = found.len() as i64 > PAGE;
    let page: Vec<_> = found.into_iter().take(PAGE as usize).collect();
    let last = page.last().map(|i| i.number.get());
    let rows = rows_of(&web, &viewer, page, now).await?;
    // The first page of the unfiltered list starts with what is open now.
    let unfiltered = p.status.is_none()
        && severity.is_none()
        && p.q.as_deref().unwrap_or_default().trim().is_empty()
        && p.days().is_none()
        && p.before().is_none();
    // The open ones past a page are on the list filtered to open.
    let (open_rows, more_open) = if unfiltered {
        let open = web
            .ctx
            .store
            .list_incidents(&IncidentQuery {
                statuses: Some(open_statuses),
                drills: true,
                private: true,
                member: Some(user.clone()),
                limit: PAGE + 1,
                ..IncidentQuery::default()
            })
            .await?;
        let more_open = open.len() as i64 > PAGE;
        let open = open.into_iter().take(PAGE as usize).collect();
        (rows_of(&web, &viewer, open, now).await?, more_open)
    } else {
        (Vec::new(), false)
    };
    let levels: Vec<String> = web
        .ctx
        .settings
        .severities
        .iter()
        .map(|l| l.name.as_str().to_string())
        .collect();
    let html = web
        .templates
        .get_template("list.html")?
        .render(minijinja::context! {
            me => user.as_str().to_string(),
            rows => minijinja::Value::from(minijinja::value::Serde(&rows)),
            open_rows => minijinja::Value::from(minijinja::value::Serde(&open_rows)),
            more_open => more_open,
            status => status.to_string(),
            severity => severity.as_ref().map(|s| s.as_str().to_string()),
            q => p.q.clone().unwrap_or_default(),
            days => p.days(),
            levels => levels,
            next_url => more.then_some(last).flatten().map(|before| {
            let query = serde_urlencoded::to_string([
                ("status", status.to_string()),
                ("severity", severity.as_ref().map(|s| s.as_str().to_string()).unwrap_or_default()),
                ("q", p.q.clone().unwrap_or_default()),
                ("days", p.days().map(|d| d.to_string()).unwrap_or_default()),
                ("before", before.to_string()),
            ])
            .unwrap_or_default();
            format!("/web?{query}")
        }),
        })?;
    Ok(page_response(StatusCode::OK, html))
}

/// The rows of `incidents` this viewer may see: lead and age or duration.
async fn rows_of(
    web: &Web,
    viewer: &Viewer,
    incidents: Vec<crate::domain::Incident>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Row>, WebError> {
    let mut seen = Vec::new();
    for incident in incidents {
        if viewer.may_see(web.ctx.store.as_ref(), &incident).await? {
            seen.push(incident);
        }
    }
    let numbers: Vec<IncidentNumber> = seen.iter().map(|i| i.number).collect();
    let leads = web
        .ctx
        .store
        .first_holders(&numbers, crate::domain::roles::INCIDENT_LEAD)
        .await?;
    let seen: Vec<_> = seen
        .into_iter()
        .map(|incident| {
            // As `domain::lead`: the Incident Lead, else who declared it.
            let lead = leads
                .get(&incident.number)
                .cloned()
                .unwrap_or_else(|| incident.declared_by.clone());
            let end = incident.closed_at.or(incident.resolved_at).unwrap_or(now);
            let age = span(end - incident.declared_at);
            (incident, lead, age)
        })
        .collect();
    let people: Vec<UserId> = seen
        .iter()
        .flat_map(|(i, lead, _)| [i.declared_by.clone(), lead.clone()])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let names = web.ctx.store.user_names(&people).await?;
    Ok(seen
        .into_iter()
        .map(|(incident, lead, age)| Row {
            lead: names
                .get(&lead)
                .cloned()
                .unwrap_or_else(|| lead.as_str().to_string()),
            incident: IncidentSummary::of(incident, &names),
            age,
        })
        .collect())
}

/// How the page names the people and channels text mentions: people by
/// their known names, the war room by its own.
fn names_for_text(
    people: &BTreeMap<UserId, String>,
    war_room: Option<&crate::record::WarRoom>,
) -> crate::slack::text::Names {
    crate::slack::text::Names {
        users: people
            .iter()
            .map(|(id, name)| (id.as_str().to_string(), name.clone()))
            .collect(),
        channels: war_room
            .and_then(|w| Some((w.channel.as_str().to_string(), w.name.clone()?)))
            .into_iter()
            .collect(),
    }
}

/// The postmortem draft's Markdown as HTML: inline HTML shown as text,
/// links only to http(s) and mailto.
fn markdown_html(markdown: &str) -> String {
    use pulldown_cmark::{Event, Parser, Tag};
    let safe_url = |url: &str| crate::slack::text::web_link(url) || url.trim().starts_with('#');
    let events =
        Parser::new_ext(markdown, pulldown_cmark::Options::ENABLE_TABLES).map(|e| match e {
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) if !safe_url(&dest_url) => Event::Start(Tag::Link {
                link_type,
                dest_url: "#".into(),
                title,
                id,
            }),
            Event::Start(Tag::Image { dest_url, .. }) => Event::Text(dest_url),
            Event::End(pulldown_cmark::TagEnd::Image) => Event::Text("".into()),
            other => other,
        });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// Timeline entries on one page of an incident: a long timeline is read a
/// part at a time, or whole (`?timeline=all`) to print it.
const TIMELINE_PAGE: usize = 250;

#[derive(Deserialize, Default)]
pub(super) struct IncidentParams {
    /// Which part of a long timeline: `1`, `2`, … or `all`.
    #[serde(default)]
    timeline: Option<String>,
}

/// One line of the timeline as the page shows it.
#[derive(Serialize)]
struct Line {
    /// The day (UTC), on the first line of each day.
    day: Option<String>,
    /// `HH:MM`, UTC.
    time: String,
    kind: String,
    who: Option<String>,
    /// Built by [`html`]: escaped, shown as is.
    html: String,
    /// The message in Slack.
    link: Option<String>,
    edited: bool,
}

/// Where a page of the timeline sits in the whole.
#[derive(Serialize, Debug, PartialEq)]
struct Part {
    first: usize,
    last: usize,
    total: usize,
    earlier: Option<usize>,
    later: Option<usize>,
}

/// The `[from, to)` range of entries `choice` asks for out of `total`, and
/// where it sits (`None`: all of it is shown).
fn part(choice: Option<&str>, total: usize) -> (std::ops::Range<usize>, Option<Part>) {
    let pages = total.div_ceil(TIMELINE_PAGE).max(1);
    if pages == 1 || choice.map(str::trim) == Some("all") {
        return (0..total, None);
    }
    let page = choice
        .and_then(|c| c.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let from = (page - 1) * TIMELINE_PAGE;
    let to = (from + TIMELINE_PAGE).min(total);
    let at = Part {
        first: from + 1,
        last: to,
        total,
        earlier: (page > 1).then(|| page - 1),
        later: (page < pages).then(|| page + 1),
    };
    (from..to, Some(at))
}

/// `GET /web/incidents/{n}`: one incident, or 404 alike for one that does
/// not exist and one this person may not see.
pub(super) async fn incident(
    State(web): State<Arc<Web>>,
    Person(user): Person,
    Path(number): Path<i64>,
    Query(p): Query<IncidentParams>,
) -> Result<Response, WebError> {
    if number < 1 {
        return Err(WebError::NotFound);
    }
    let number = IncidentNumber::new(number);
    let store = web.ctx.store.as_ref();
    let Some(record) = IncidentRecord::load(store, number, &Viewer::Person(user.clone())).await?
    else {
        return Err(WebError::NotFound);
    };
    // The lead: the Incident Lead's holder, else who declared it (as in
    // Slack).
    let lead = record
        .roles
        .iter()
        .find(|r| r.role.as_str() == crate::domain::roles::INCIDENT_LEAD)
        .and_then(|r| r.holders.first())
        .unwrap_or(&record.declared_by);
    let lead = lead
        .name
        .clone()
        .unwrap_or_else(|| lead.id.as_str().to_string());
    let mut entries = store.timeline_record(number).await?;
    entries.retain(|(_, h)| !h.untagged && !h.deleted);
    let (range, part) = part(p.timeline.as_deref(), entries.len());
    let entries: Vec<_> = entries.drain(range).collect();
    let updates = store.communications(number).await?;
    let followups = store.incident_followups(number).await?;
    let people: Vec<UserId> = entries
        .iter()
        .filter_map(|(e, _)| e.author.clone())
        .chain(updates.iter().map(|u| u.posted_by.clone()))
        .chain(followups.iter().map(|f| f.owner.clone()))
        .chain(
            entries
                .iter()
                .map(|(e, _)| e.text.as_str())
                .chain(updates.iter().map(|u| u.text.as_str()))
                .chain(followups.iter().map(|f| f.text.as_str()))
                .flat_map(|text| crate::slack::text::mentioned_ids(text).0),
        )
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let names = store.user_names(&people).await?;
    let today = web
        .ctx
        .clock
        .now()
        .with_timezone(&web.ctx.settings.timezone)
        .date_naive();
    // Text in Slack's format as HTML: mentions by name, links followable
    // (http(s) and mailto only), everything else escaped.
    let in_text = names_for_text(&names, record.war_room.as_ref());
    let html = |text: &str| crate::slack::text::to_html(text, &in_text);
    let mut last_day = None;
    let timeline: Vec<Line> = entries
        .into_iter()
        .map(|(e, h)| TimelineEntry::of(e, h, &names))
        .map(|e| {
            let day = e.at.date_naive();
            Line {
                day: (last_day.replace(day) != Some(day)).then(|| day.to_string()),
                time: e.at.format("%H:%M").to_string(),
                who: e
                    .author
                    .map(|a| a.name.unwrap_or_else(|| a.id.as_str().to_string())),
                html: html(&e.text),
                link: e.permalink.filter(|l| crate::slack::text::web_link(l)),
                edited: e.edited_at.is_some(),
                kind: e.kind,
            }
        })
        .collect();
    // One update goes to several channels: shown once.
    let mut seen = BTreeSet::new();
    let updates: Vec<StatusUpdate> = updates
        .into_iter()
        .filter(|u| seen.insert(u.update_id))
        .map(|u| StatusUpdate::of(u, &names))
        .map(|mut u| {
            u.text = html(&u.text);
            u
        })
        .collect();
    let followups: Vec<FollowupItem> = followups
        .into_iter()
        .map(|f| FollowupItem::of(f, today, &names))
        .map(|mut f| {
            f.text = html(&f.text);
            f
        })
        .collect();
    let postmortem = store
        .latest_postmortem(number)
        .await?
        .map(|(at, markdown)| (at, markdown_html(&markdown)));
    let html = web
        .templates
        .get_template("incident.html")?
        .render(minijinja::context! {
            me => user.as_str().to_string(),
            i => minijinja::Value::from(minijinja::value::Serde(&record)),
            lead => lead,
            timeline => minijinja::Value::from(minijinja::value::Serde(&timeline)),
            part => minijinja::Value::from(minijinja::value::Serde(&part)),
            updates => minijinja::Value::from(minijinja::value::Serde(&updates)),
            followups => minijinja::Value::from(minijinja::value::Serde(&followups)),
            postmortem_at => postmortem.as_ref().map(|(at, _)| at.to_rfc3339()),
            // Built by `markdown_html` from escaped pieces only.
            postmortem_html => postmortem.map(|(_, html)| minijinja::Value::from_safe_string(html)),
        })?;
    Ok(page_response(StatusCode::OK, html))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_long_timeline_is_shown_a_part_at_a_time() {
        use super::{Part, part};
        assert_eq!(part(None, 250), (0..250, None), "one page: all of it");
        assert_eq!(
            part(None, 600),
            (
                0..250,
                Some(Part {
                    first: 1,
                    last: 250,
                    total: 600,
                    earlier: None,
                    later: Some(2)
                })
            )
        );
        assert_eq!(
            part(Some("3"), 600),
            (
                500..600,
                Some(Part {
                    first: 501,
                    last: 600,
                    total: 600,
                    earlier: Some(2),
                    later: None
                })
            )
        );
        assert_eq!(
            part(Some("99"), 600).0,
            500..600,
            "past the end: the last part"
        );
        assert_eq!(part(Some("x"), 600).0, 0..250, "nonsense: the first");
        assert_eq!(part(Some("all"), 600), (0..600, None));
        assert_eq!(part(None, 0), (0..0, None));
    }

    #[test]
    fn the_postmortem_renders_inert() {
        let html = super::markdown_html(
            "# Draft\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1)) and [ok](https://example.com)\n",
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;img"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("href=\"https://example.com\""), "{html}");
    }
}

#[derive(Deserialize, Default)]
pub(super) struct InsightsParams {
    /// The period: the last this many days (7 to 730; default 90).
    #[serde(default)]
    days: Option<String>,
}

/// `GET /web/insights`: charts of the period, over what this person may
/// see, with their numbers beside them.
pub(super) async fn insights(
    State(web): State<Arc<Web>>,
    Person(user): Person,
    Query(p): Query<InsightsParams>,
) -> Result<Response, WebError> {
    /// More follow-ups than this are not counted.
    const FOLLOWUPS_COUNTED: i64 = 100_000;
    let days = p
        .days
        .as_deref()
        .and_then(|d| d.trim().parse::<i64>().ok())
        .unwrap_or(90)
        .clamp(7, 730);
    let now = web.ctx.clock.now();
    // Whole weeks: from the Monday (the team's midnight) that starts the
    // week `days` ago.
    let tz = web.ctx.settings.timezone;
    let first = crate::domain::monday_of(
        (now - chrono::Duration::days(days))
            .with_timezone(&tz)
            .date_naive(),
    );
    // The team's midnight, or the first hour after it where a change of
    // clocks skips midnight.
    let since = first
        .and_hms_opt(0, 0, 0)
        .and_then(|midnight| {
            use chrono::TimeZone;
            tz.from_local_datetime(&midnight).earliest().or_else(|| {
                tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                    .earliest()
            })
        })
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|| now - chrono::Duration::days(days));
    let store = web.ctx.store.as_ref();
    let viewer = Viewer::Person(user.clone());
    let mut incidents = Vec::new();
    for i in store.incidents_since(since).await? {
        if viewer.may_see(store, &i).await? {
            incidents.push(i);
        }
    }
    let mut followups = store
        .followups(
            None,
            crate::store::Wanted::All,
            crate::store::SeenBy::Person(&user),
            FOLLOWUPS_COUNTED,
        )
        .await?;
    // Counted only for incidents this person may see (not even their own
    // follow-up of a private incident they are not in), drills left out.
    let mut hidden: BTreeSet<IncidentNumber> = store
        .flagged_incidents(crate::store::Flag::Drill)
        .await?
        .into_iter()
        .collect();
    for number in store.flagged_incidents(crate::store::Flag::Private).await? {
        if !store.is_member(number, &user).await? {
            hidden.insert(number);
        }
    }
    followups.retain(|f| !hidden.contains(&f.incident));
    let levels: Vec<crate::domain::SeverityName> = web
        .ctx
        .settings
        .severities
        .iter()
        .map(|l| l.name.clone())
        .collect();
    let f = super::charts::figures(&incidents, &followups, &levels, since, now, tz);
    // The charts hold numbers, dates and our own words only.
    let safe = minijinja::Value::from_safe_string;
    let html = web
        .templates
        .get_template("insights.html")?
        .render(minijinja::context! {
            me => user.as_str().to_string(),
            days => days,
            from => first.to_string(),
            tz => tz.name(),
            f => minijinja::Value::from(minijinja::value::Serde(&f)),
            weeks_svg => safe(super::charts::weeks_chart(&f)),
            times_svg => safe(super::charts::times_chart(&f)),
            followups_svg => safe(super::charts::followups_chart(&f)),
        })?;
    Ok(page_response(StatusCode::OK, html))
}
