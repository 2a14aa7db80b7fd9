//! The postmortem draft: the incident's facts gathered into a documented set
//! of fields, rendered with minijinja from the built-in template or a team's
//! own (`postmortem.template`), which is checked at start-up.
//!
//! Fields a template can use: `incident` (reference, number, title,
//! severity, status, summary, drill, security, private, declared_by,
//! channel, impact and urgency: the `severity_matrix` answers, empty when
//! not answered),
//! `times` (impact_started, detected, declared, mitigated, resolved, closed;
//! empty when unknown), `metrics` (name, value, missing), `roles` (role,
//! holders), `hand_offs`, `severity_changes`, `summary_timeline` (when,
//! text), `timeline` (when, label, who, text, link), `communications` (when,
//! where, audience, by, text), `prompts` (the question bank's root-cause questions),
//! `followups` (the action items recorded with `/incident followup`: text,
//! owner, due (a date, empty when none), status (`open` or `done`), done_at),
//! `timezone`, `generated_at`.
//!
//! The file is read outside Slack, so every text is Markdown: people are
//! `@display name` (from the cached `users.info`), channels `#name`, links
//! `[text](url)`, `<!here>` the word `@here` (see [`crate::slack::text`]).
//! The `cell` filter makes a value safe in a Markdown table cell (`|`
//! escaped, line breaks as `<br>`); the built-in template uses it in every
//! table.

use crate::domain::comms::Communication;
use crate::domain::metrics::{human, metrics};
use crate::domain::{
    Assignment, ChannelId, Entry, EntryKind, Incident, RoleCatalog, UserId, holders,
};
use crate::slack::text::{Names, mentioned_ids, to_markdown};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::path::Path;

const BUILT_IN: &str = include_str!("../templates/postmortem.md.j2");
const NAME: &str = "postmortem";

/// The question bank's "preliminary root cause / next steps" questions.
pub const PROMPTS: [&str; 7] = [
    "Is there any indication of the preliminary suspected cause, even at a high level?",
    "If update-related, what was the purpose of the update?",
    "Were there safeguards against this that did not work, or is this a previously unknown failure?",
    "What problem did we identify that prompted the recovery actions we took?",
    "What immediate next steps will prevent this from happening again?",
    "Was this caught by monitoring?",
    "Was this a testing miss?",
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read postmortem.template {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("postmortem.template is broken: {0}")]
    Broken(String),
}

#[derive(Serialize)]
pub struct Draft {
    incident: IncidentView,
    times: Times,
    metrics: Vec<MetricView>,
    roles: Vec<RoleView>,
    hand_offs: Vec<Line>,
    severity_changes: Vec<Line>,
    summary_timeline: Vec<Line>,
    timeline: Vec<TimelineLine>,
    communications: Vec<CommLine>,
    prompts: Vec<&'static str>,
    followups: Vec<FollowupView>,
    timezone: String,
    generated_at: String,
}

#[derive(Serialize)]
struct FollowupView {
    text: String,
    owner: String,
    due: String,
    status: &'static str,
    done_at: String,
}

impl Draft {
    /// The draft with the incident's follow-ups in its action-item table.
    /// Owners are named from `names` (they are mentioned on the timeline,
    /// where each follow-up is written when recorded).
    pub fn with_followups(
        mut self,
        items: &[crate::domain::followups::Followup],
        names: &Names,
        timezone: chrono_tz::Tz,
    ) -> Draft {
        self.followups = items
            .iter()
            .map(|f| FollowupView {
                text: to_markdown(&f.text, names).replace(['\r', '\n'], " "),
                owner: names.user(&f.owner.0),
                due: f.due.map(|d| d.to_string()).unwrap_or_default(),
                status: if f.is_open() { "open" } else { "done" },
                done_at: f
                    .done_at
                    .map(|t| t.with_timezone(&timezone).format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
            })
            .collect();
        self
    }
}

#[derive(Serialize)]
struct IncidentView {
    reference: String,
    number: i64,
    title: String,
    severity: String,
    status: String,
    summary: String,
    drill: bool,
    security: bool,
    private: bool,
    declared_by: String,
    channel: String,
    /// The `severity_matrix` answers ("" when not answered).
    impact: String,
    urgency: String,
}

#[derive(Serialize)]
struct Times {
    impact_started: Option<String>,
    detected: Option<String>,
    declared: String,
    mitigated: Option<String>,
    resolved: Option<String>,
    closed: Option<String>,
}

#[derive(Serialize)]
struct MetricView {
    name: &'static str,
    value: Option<String>,
    missing: &'static str,
}

#[derive(Serialize)]
struct RoleView {
    role: String,
    holders: Vec<String>,
}

#[derive(Serialize)]
struct Line {
    when: String,
    text: String,
}

#[derive(Serialize)]
struct TimelineLine {
    when: String,
    label: Option<&'static str>,
    who: Option<String>,
    text: String,
    link: Option<String>,
}

#[derive(Serialize)]
struct CommLine {
    when: String,
    r#where: String,
    audience: String,
    by: String,
    text: String,
}

/// Everything the draft is made from.
pub struct Facts<'a> {
    pub incident: &'a Incident,
    pub assignments: &'a [Assignment],
    pub roles: &'a RoleCatalog,
    pub timeline: &'a [Entry],
    pub communications: &'a [Communication],
    pub timezone: chrono_tz::Tz,
    pub now: DateTime<Utc>,
    /// Display names of the people and channels the facts mention.
    pub names: &'a Names,
}

/// The user and channel ids the facts mention, whose names the draft needs
/// (see [`Facts::names`]).
pub fn ids_to_name(
    incident: &Incident,
    assignments: &[Assignment],
    timeline: &[Entry],
    communications: &[Communication],
) -> (Vec<UserId>, Vec<ChannelId>) {
    let mut users = std::collections::BTreeSet::new();
    let mut channels = std::collections::BTreeSet::new();
    users.insert(incident.declared_by.clone());
    users.extend(assignments.iter().map(|a| a.user.clone()));
    channels.extend(incident.channel_id.iter().cloned());
    let mut texts: Vec<&str> = Vec::new();
    for e in timeline {
        users.extend(e.author.iter().cloned());
        texts.push(&e.text);
    }
    for c in communications {
        users.insert(c.posted_by.clone());
        channels.insert(c.channel.clone());
        texts.push(&c.text);
    }
    for t in texts {
        let (u, c) = mentioned_ids(t);
        users.extend(u);
        channels.extend(c);
    }
    (users.into_iter().collect(), channels.into_iter().collect())
}

/// The draft's fields from the facts.
pub fn draft(f: &Facts<'_>) -> Draft {
    let tz = f.timezone;
    let fmt = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    let i = f.incident;
    let names = f.names;
    // Texts are in Slack's format; the file is Markdown, on one line each.
    let md = |text: &str| to_markdown(text, names).replace(['\r', '\n'], " ");
    let line = |e: &Entry| Line {
        when: fmt(e.occurred_at),
        text: md(&e.text),
    };
    let updates: Vec<&Entry> = f
        .timeline
        .iter()
        .filter(|e| e.kind == EntryKind::Update)
        .collect();
    let first_update = updates.first().map(|e| e.id);
    let last_update = updates.last().map(|e| e.id);
    Draft {
        incident: IncidentView {
            reference: i.reference(),
            number: i.number.get(),
            title: i.title.clone(),
            severity: i.severity.to_string(),
            status: i.status.to_string(),
            summary: i.summary.clone(),
            drill: i.drill,
            security: i.security,
            private: i.private,
            declared_by: names.user(&i.declared_by.0),
            channel: i
                .channel_name
                .as_ref()
                .map(|n| format!("#{n}"))
                .unwrap_or_default(),
            impact: i
                .assessment
                .as_ref()
                .map(|a| a.impact.clone())
                .unwrap_or_default(),
            urgency: i
                .assessment
                .as_ref()
                .map(|a| a.urgency.clone())
                .unwrap_or_default(),
        },
        times: Times {
            impact_started: i.impact_started_at.map(fmt),
            detected: i.detected_at.map(fmt),
            declared: fmt(i.declared_at),
            mitigated: i.mitigated_at.map(fmt),
            resolved: i.resolved_at.map(fmt),
            closed: i.closed_at.map(fmt),
        },
        metrics: metrics(i)
            .into_iter()
            .map(|m| MetricView {
                name: m.name,
                value: m.value.ok().map(human),
                missing: m.value.err().unwrap_or(""),
            })
            .collect(),
        roles: f
            .roles
            .iter()
            .map(|r| RoleView {
                role: r.name.to_string(),
                holders: holders(f.assignments, r.name.as_str())
                    .iter()
                    .map(|u| names.user(&u.0))
                    .collect(),
            })
            .collect(),
        hand_offs: f
            .timeline
            .iter()
            .filter(|e| e.kind == EntryKind::Role)
            .map(line)
            .collect(),
        severity_changes: f
            .timeline
            .iter()
            .filter(|e| e.kind == EntryKind::Severity)
            .map(line)
            .collect(),
        summary_timeline: f
            .timeline
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EntryKind::Declared | EntryKind::Severity | EntryKind::Status
                ) || e.kind.is_typed_tag()
                    || Some(e.id) == first_update
                    || Some(e.id) == last_update
            })
            .map(|e| Line {
                when: fmt(e.occurred_at),
                text: match e.kind.label() {
                    Some(label) => format!("[{label}] {}", md(&e.text)),
                    None => md(&e.text),
                },
            })
            .collect(),
        timeline: f
            .timeline
            .iter()
            .map(|e| TimelineLine {
                when: fmt(e.occurred_at),
                label: e.kind.label(),
                who: e.author_name.clone(),
                text: md(&e.text),
                link: e.permalink.clone(),
            })
            .collect(),
        communications: f
            .communications
            .iter()
            .map(|c| CommLine {
                when: fmt(c.posted_at.unwrap_or(c.recorded_at)),
                r#where: names.channel(c.channel.as_str()),
                audience: c.audience.clone(),
                by: names.user(&c.posted_by.0),
                text: md(&c.text),
            })
            .collect(),
        prompts: PROMPTS.to_vec(),
        followups: Vec::new(),
        timezone: tz.name().to_string(),
        generated_at: fmt(f.now),
    }
}

/// The compiled template.
pub struct Postmortems {
    env: minijinja::Environment<'static>,
}

impl Postmortems {
    /// The built-in template, or the team's own; a broken one is refused
    /// here, at start-up, by rendering a sample incident.
    pub fn load(path: Option<&Path>) -> Result<Self, TemplateError> {
        let source = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|e| TemplateError::Read {
                path: p.display().to_string(),
                reason: e.to_string(),
            })?,
            None => BUILT_IN.to_string(),
        };
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        // Every piece of text the template prints is escaped for Markdown:
        // `<img onerror=…>` typed in Slack must not reach a wiki that
        // renders inline HTML as HTML. What a filter marks safe (`cell`'s
        // line breaks) is printed as it is.
        env.set_formatter(|out, state, value| match value.as_str() {
            Some(text) if !value.is_safe() => {
                out.write_str(&crate::slack::text::escape(text))?;
                Ok(())
            }
            _ => minijinja::escape_formatter(out, state, value),
        });
        env.add_filter("cell", |v: String| {
            minijinja::Value::from_safe_string(crate::slack::text::table_cell(
                &crate::slack::text::escape(&v),
            ))
        });
        env.add_template_owned(NAME, source)
            .map_err(|e| TemplateError::Broken(e.to_string()))?;
        let loaded = Self { env };
        loaded
            .render(&sample())
            .map_err(|e| TemplateError::Broken(e.to_string()))?;
        Ok(loaded)
    }

    pub fn render(&self, draft: &Draft) -> Result<String, minijinja::Error> {
        self.env
            .get_template(NAME)?
            .render(minijinja::value::Serde(draft))
    }
}

/// A made-up incident with every field set, to try a template on.
fn sample() -> Draft {
    use crate::domain::{IncidentNumber, RoleName, SeverityName, Status};
    let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let incident = Incident {
        number: IncidentNumber::new(1),
        title: "Sample".into(),
        severity: SeverityName::new("SEV1"),
        status: Status::Closed,
        summary: "Sample summary".into(),
        security: false,
        drill: false,
        private: false,
        declared_by: UserId("U1".into()),
        declared_at: t,
        impact_started_at: Some(t),
        detected_at: Some(t),
        mitigated_at: Some(t),
        resolved_at: Some(t),
        closed_at: Some(t),
        origin_channel: ChannelId::new("C1"),
        announce_channel: ChannelId::new("C1"),
        channel_id: Some(ChannelId::new("C2")),
        channel_name: Some("inc-1-sample".into()),
        board_ts: None,
        announce_ts: None,
        last_update_at: None,
        schedule: Default::default(),
        assessment: Some(crate::domain::Assessment {
            impact: "All customers".into(),
            urgency: "Getting worse".into(),
        }),
    };
    let entry = |id, kind| Entry {
        id,
        occurred_at: t,
        kind,
        author: Some(UserId("U1".into())),
        author_name: Some("Ann".into()),
        text: "text".into(),
        slack_ts: None,
        permalink: Some("https://example.slack.com/archives/C2/p1".into()),
        fetched: true,
        added_by: None,
    };
    let timeline = [
        entry(1, EntryKind::Declared),
        entry(2, EntryKind::Role),
        entry(3, EntryKind::Update),
    ];
    let comms = [Communication {
        update_id: crate::domain::UpdateId::new(1),
        posted_by: UserId("U1".into()),
        recorded_at: t,
        text: "update".into(),
        channel: ChannelId::new("C1"),
        audience: "announcement".into(),
        posted_at: Some(t),
        ts: None,
    }];
    let roles = RoleCatalog::new(RoleCatalog::defaults())
        .unwrap_or_else(|_| unreachable!("defaults are valid"));
    draft(&Facts {
        incident: &incident,
        assignments: &[Assignment {
            role: RoleName::new("Incident Lead"),
            user: UserId("U1".into()),
        }],
        roles: &roles,
        timeline: &timeline,
        communications: &comms,
        timezone: chrono_tz::UTC,
        now: t,
        names: &Names::default(),
    })
}

#[cfg(test)]
mod tests;
