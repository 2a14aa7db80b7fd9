//! Alerts coming in: one alert and its group as the bot keeps them, how an
//! alert changed since the bot last heard of it, and the routing rules
//! (`[[alerts.routes]]`: Alertmanager-style matchers, the action, the
//! severity, the channel, the title template), checked when the
//! configuration is loaded. Pure: the payloads are read in `crate::alerts`,
//! the groups stored by `store::AlertStore`.
//!
//! Long on purpose: the matcher parser, the routes and a group's
//! transitions are one model read together; a third of the file is its
//! tests.

use super::{ChannelId, IncidentNumber, SeverityCatalog, SeverityName};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Labels or annotations, sorted by name.
pub type Labels = BTreeMap<String, String>;

/// Whether an alert fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "firing" | "alerting" | "triggered" => Some(AlertStatus::Firing),
            "resolved" | "ok" | "normal" => Some(AlertStatus::Resolved),
            _ => None,
        }
    }
}

impl fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A link the source gives with an alert (the expression's graph, a
/// dashboard, a silence, the incident at PagerDuty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// One alert as a source reported it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Tells the alerts of a group apart (Alertmanager's `fingerprint`,
    /// else a hash of the labels).
    pub fingerprint: String,
    pub status: AlertStatus,
    pub labels: Labels,
    pub annotations: Labels,
    pub starts_at: DateTime<Utc>,
    /// When it stopped firing (only for a resolved alert).
    pub ends_at: Option<DateTime<Utc>>,
    pub links: Vec<Link>,
}

impl Alert {
    /// The name people know the alert by: its `alertname` label, else its
    /// `summary` annotation, else its fingerprint.
    pub fn name(&self) -> &str {
        self.labels
            .get("alertname")
            .or_else(|| self.annotations.get("summary"))
            .map(String::as_str)
            .unwrap_or(&self.fingerprint)
    }
}

/// A stable fingerprint of a label set, for sources that send none: FNV-1a
/// over the sorted `name=value` pairs, in hex.
pub fn fingerprint_of(labels: &Labels) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in labels {
        for b in k.bytes().chain([0xff]).chain(v.bytes()).chain([0xfe]) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// How an alert changed since the bot last stored it: only these go on a
/// timeline, so a repeated notification (Alertmanager's `repeat_interval`,
/// a retry, the other half of an HA pair) changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertChange {
    /// New to the group, or firing again after it resolved.
    Fired,
    /// Was firing, now resolved.
    Resolved,
    /// New to the group and already resolved: it fired and resolved.
    FiredAndResolved,
    /// Nothing new (a repeat, or an older state arriving late).
    Unchanged,
}

/// What the bot had stored of an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Known {
    pub status: AlertStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
}

/// How `incoming` changes what was `known` of it.
pub fn change(known: Option<Known>, incoming: &Alert) -> AlertChange {
    use AlertStatus::{Firing, Resolved};
    let Some(known) = known else {
        return match incoming.status {
            Firing => AlertChange::Fired,
            Resolved => AlertChange::FiredAndResolved,
        };
    };
    match (known.status, incoming.status) {
        // Resolved by an end no earlier than this firing's start (an older
        // episode's resolution ended before it began). PagerDuty's resolve
        // after a reopen starts at the incident's creation but ends now.
        (Firing, Resolved) if incoming.ends_at.unwrap_or(incoming.starts_at) >= known.starts_at => {
            AlertChange::Resolved
        }
        // Firing again: a later start than the last one ended. The same
        // start arriving again is an older notification (an HA peer, a
        // retry) and changes nothing.
        (Resolved, Firing) if incoming.starts_at > known.starts_at => AlertChange::Fired,
        _ => AlertChange::Unchanged,
    }
}

/// The status a stored alert has after `change` (and its times).
pub fn after(known: Option<Known>, incoming: &Alert, change: AlertChange) -> Known {
    match (change, known) {
        (AlertChange::Unchanged, Some(k)) => k,
        (_, known) => Known {
            status: incoming.status,
            // Never earlier than the start already known (a resolution
            // dated from an earlier start keeps the later one).
            starts_at: known.map_or(incoming.starts_at, |k| k.starts_at.max(incoming.starts_at)),
            ends_at: match incoming.status {
                AlertStatus::Resolved => incoming.ends_at.or(Some(incoming.starts_at)),
                AlertStatus::Firing => None,
            },
        },
    }
}

/// When a change happened: a firing at the alert's start, a resolution at
/// its end.
pub fn changed_at(alert: &Alert, resolved: bool) -> DateTime<Utc> {
    if resolved {
        alert.ends_at.unwrap_or(alert.starts_at)
    } else {
        alert.starts_at
    }
}

/// An alert group as stored: one episode of a source's group key, from its
/// first firing until it is over (its incident no longer open, or, with no
/// incident, every alert resolved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertGroup {
    pub id: super::AlertGroupId,
    pub source: String,
    pub group_key: String,
    pub title: String,
    /// The labels its alerts share.
    pub labels: Labels,
    pub links: Vec<Link>,
    pub severity: SeverityName,
    /// Where its card goes (and a declared war room is announced).
    pub channel: ChannelId,
    pub private: bool,
    pub incident: Option<IncidentNumber>,
    /// The incident its key was linked to before this episode began.
    pub earlier_incident: Option<IncidentNumber>,
    /// Why a `declare` route only suggested it (the hourly budget).
    pub held_back: Option<String>,
    pub dismissed_by: Option<super::UserId>,
    pub card_ts: Option<super::MessageTs>,
    pub firing: i64,
    pub total: i64,
    pub first_started_at: DateTime<Utc>,
    pub ended: bool,
}

/// What a group's card offers: buttons while nobody acted on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardState {
    Open,
    Dismissed,
    Linked(IncidentNumber),
}

impl AlertGroup {
    pub fn card_state(&self) -> CardState {
        match (self.incident, &self.dismissed_by) {
            (Some(n), _) => CardState::Linked(n),
            (None, Some(_)) => CardState::Dismissed,
            (None, None) => CardState::Open,
        }
    }
}

// ---------------------------------------------------------------------
// Routing

/// A matcher's operator, as Alertmanager writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One label matcher (`severity="critical"`, `team=~"pay.*"`,
/// `env!="staging"`, `job!~"test.*"`). A label that is absent has the
/// empty value, and a regex matches the whole value (anchored), as in
/// Alertmanager.
#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<regex::Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MatcherError {
    #[error(
        "`{0}` is not a matcher: write name=\"value\", name!=\"value\", name=~\"regex\" or name!~\"regex\""
    )]
    Syntax(String),
    #[error("`{0}` has a label name that is not [a-zA-Z_][a-zA-Z0-9_]*")]
    Name(String),
    #[error("`{matcher}` has an unterminated quoted value")]
    Unterminated { matcher: String },
    #[error("`{matcher}` has a bad regex: {reason}")]
    Regex { matcher: String, reason: String },
}

impl Matcher {
    /// One matcher.
    pub fn parse(text: &str) -> Result<Self, MatcherError> {
        let t = text.trim();
        let name_end = t
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .ok_or_else(|| MatcherError::Syntax(t.to_string()))?;
        let name = &t[..name_end];
        let rest = t[name_end..].trim_start();
        if name.is_empty() {
            return Err(MatcherError::Syntax(t.to_string()));
        }
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(MatcherError::Name(t.to_string()));
        }
        let (op, rest) = [
            ("=~", MatchOp::Regex),
            ("!~", MatchOp::NotRegex),
            ("!=", MatchOp::NotEqual),
            ("=", MatchOp::Equal),
        ]
        .into_iter()
        .find_map(|(s, op)| rest.strip_prefix(s).map(|r| (op, r.trim())))
        .ok_or_else(|| MatcherError::Syntax(t.to_string()))?;
        if !rest.starts_with('"') && rest.contains(['"', '=', '~']) {
            return Err(MatcherError::Syntax(t.to_string()));
        }
        let value = unquote(rest).ok_or_else(|| MatcherError::Unterminated {
            matcher: t.to_string(),
        })?;
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(regex::Regex::new(&format!("^(?:{value})$")).map_err(|e| {
                    MatcherError::Regex {
                        matcher: t.to_string(),
                        reason: e.to_string().lines().last().unwrap_or_default().to_string(),
                    }
                })?)
            }
            _ => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value,
            regex,
        })
    }

    /// Every matcher in `text`: one, or several separated by commas,
    /// optionally in braces (`{severity="critical", team="pay"}`), as
    /// Alertmanager's own configuration writes them.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, MatcherError> {
        let t = text.trim();
        let t = t
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(t);
        split_outside_quotes(t)
            .into_iter()
            .filter(|part| !part.trim().is_empty())
            .map(Matcher::parse)
            .collect()
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.name).map(String::as_str).unwrap_or("");
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            // `parse` compiles a regex for both regex operators.
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }
}

/// A value, quoted (`"a \"b\""`) or bare.
fn unquote(text: &str) -> Option<String> {
    let Some(inner) = text.strip_prefix('"') else {
        return Some(text.to_string());
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                other => out.push(other),
            },
            '"' => return chars.as_str().trim().is_empty().then_some(out),
            c => out.push(c),
        }
    }
    None
}

fn split_outside_quotes(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// What a route does with a new alert group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteAction {
    /// Open the war room at once (within `alerts.max_declares_per_hour`).
    Declare,
    /// Post a card offering to declare, attach or dismiss.
    #[default]
    Suggest,
    /// Record nothing.
    Ignore,
}

impl RouteAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteAction::Declare => "declare",
            RouteAction::Suggest => "suggest",
            RouteAction::Ignore => "ignore",
        }
    }
}

/// One `[[alerts.routes]]`, checked.
#[derive(Clone, Debug, Default)]
pub struct Route {
    pub matchers: Vec<Matcher>,
    pub action: RouteAction,
    /// A fixed level, or the fallback when `severity_label` finds nothing.
    pub severity: Option<SeverityName>,
    /// The label whose value `severity_map` turns into a level.
    pub severity_label: Option<String>,
    /// Label value (any case) → level.
    pub severity_map: BTreeMap<String, SeverityName>,
    /// Where its cards go; unset: the announce channel.
    pub channel: Option<ChannelId>,
    pub private: bool,
    pub title: Option<TitleTemplate>,
}

impl Route {
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matchers.iter().all(|m| m.matches(labels))
    }

    /// The level for a group with these labels: `severity_map` of the
    /// `severity_label`'s value, else `severity`, else the least severe
    /// configured level.
    pub fn severity_for(&self, labels: &Labels, catalog: &SeverityCatalog) -> SeverityName {
        let mapped = self
            .severity_label
            .as_ref()
            .and_then(|l| labels.get(l))
            .and_then(|v| {
                self.severity_map
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(v.trim()))
                    .map(|(_, level)| level.clone())
            });
        mapped
            .or_else(|| self.severity.clone())
            .unwrap_or_else(|| catalog.least_severe().name.clone())
    }

    /// One line saying what the route does, for `warroom check`.
    pub fn describe(&self) -> String {
        let matchers = if self.matchers.is_empty() {
            "every alert".to_string()
        } else {
            self.matchers
                .iter()
                .map(Matcher::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let severity = match (&self.severity_label, &self.severity) {
            (Some(label), fallback) => format!(
                ", severity from `{label}` ({})",
                self.severity_map
                    .iter()
                    .map(|(k, v)| format!("{k} → {v}"))
                    .chain(fallback.iter().map(|f| format!("else {f}")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (None, Some(level)) => format!(", {level}"),
            (None, None) => String::new(),
        };
        format!("{matchers} → {}{severity}", self.action.as_str())
    }
}

/// The configured routes, first match wins.
#[derive(Clone, Debug, Default)]
pub struct Routes(pub Vec<Route>);

/// The route of an alert group no route matches: a card, with the
/// defaults.
static DEFAULT_ROUTE: std::sync::LazyLock<Route> = std::sync::LazyLock::new(Route::default);

impl Routes {
    /// The first route whose matchers all match `labels`, with its index
    /// (`None`: no route matched, and the default route applies).
    pub fn choose(&self, labels: &Labels) -> (Option<usize>, &Route) {
        match self.0.iter().position(|r| r.matches(labels)) {
            Some(i) => (Some(i), &self.0[i]),
            None => (None, &DEFAULT_ROUTE),
        }
    }
}

// ---------------------------------------------------------------------
// The title template

/// What a title template can use: the group's labels and annotations,
/// its status, its alerts and the source's name.
#[derive(Clone, Debug, Serialize)]
pub struct TitleContext<'a> {
    pub labels: &'a Labels,
    pub annotations: &'a Labels,
    pub status: &'a str,
    pub source: &'a str,
    /// How many alerts the group has.
    pub count: usize,
    pub alerts: Vec<TitleAlert<'a>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TitleAlert<'a> {
    pub labels: &'a Labels,
    pub annotations: &'a Labels,
    pub status: &'a str,
}

/// The names a title template may use.
pub const TITLE_VARIABLES: [&str; 6] = [
    "labels",
    "annotations",
    "status",
    "source",
    "count",
    "alerts",
];

/// Longest title the bot keeps.
pub const MAX_TITLE: usize = 150;

/// A route's `title`: a minijinja template over the group, compiled and
/// checked when the configuration is loaded. The environment has no
/// loader and no functions beyond minijinja's built-in filters, so a
/// template can read only what [`TitleContext`] gives it.
#[derive(Clone)]
pub struct TitleTemplate {
    source: String,
    env: Arc<minijinja::Environment<'static>>,
}

impl fmt::Debug for TitleTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TitleTemplate({:?})", self.source)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("not a valid template: {0}")]
    Syntax(String),
    #[error("using `{0}`, which titles do not have: use {vars}", vars = TITLE_VARIABLES.join(", "))]
    UnknownVariable(String),
    #[error("failing on a sample alert: {0}")]
    Render(String),
}

const TITLE: &str = "title";

impl TitleTemplate {
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut env = minijinja::Environment::new();
        // A label an alert lacks renders empty: alerts differ, and the
        // names themselves are checked below.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_recursion_limit(20);
        env.add_template_owned(TITLE, source.to_string())
            .map_err(|e| TemplateError::Syntax(one_line(&e)))?;
        let template = env
            .get_template(TITLE)
            .map_err(|e| TemplateError::Syntax(one_line(&e)))?;
        let mut unknown: Vec<String> = template
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| !TITLE_VARIABLES.contains(&v.as_str()))
            .collect();
        unknown.sort();
        if let Some(v) = unknown.into_iter().next() {
            return Err(TemplateError::UnknownVariable(v));
        }
        let t = TitleTemplate {
            source: source.to_string(),
            env: Arc::new(env),
        };
        // An unknown filter, a bad call: found on a sample now, not on
        // the first real alert.
        let labels: Labels = [("alertname".to_string(), "Sample".to_string())].into();
        t.render_raw(&TitleContext {
            labels: &labels,
            annotations: &labels,
            status: "firing",
            source: "sample",
            count: 1,
            alerts: vec![TitleAlert {
                labels: &labels,
                annotations: &labels,
                status: "firing",
            }],
        })
        .map_err(TemplateError::Render)?;
        Ok(t)
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    fn render_raw(&self, ctx: &TitleContext<'_>) -> Result<String, String> {
        let template = self.env.get_template(TITLE).map_err(|e| one_line(&e))?;
        template
            .render(minijinja::value::Serde(ctx))
            .map_err(|e| one_line(&e))
    }

    /// The title for `ctx`: one line, at most [`MAX_TITLE`] characters;
    /// `None` when it renders empty or fails.
    pub fn render(&self, ctx: &TitleContext<'_>) -> Option<String> {
        self.render_raw(ctx).ok().and_then(|t| clean_title(&t))
    }
}

fn one_line(e: &dyn fmt::Display) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A title as kept: one line, at most [`MAX_TITLE`] characters, or `None`
/// when nothing is left.
pub fn clean_title(text: &str) -> Option<String> {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return None;
    }
    if line.chars().count() <= MAX_TITLE {
        return Some(line);
    }
    let mut cut: String = line.chars().take(MAX_TITLE - 1).collect();
    cut.push('…');
    Some(cut)
}

/// The title of a group without a template: its `summary` annotation, else
/// its `alertname`, else what the source calls it, else the source's name.
pub fn default_title(
    labels: &Labels,
    annotations: &Labels,
    given: Option<&str>,
    source: &str,
) -> String {
    annotations
        .get("summary")
        .and_then(|s| clean_title(s))
        .or_else(|| labels.get("alertname").and_then(|s| clean_title(s)))
        .or_else(|| given.and_then(clean_title))
        .unwrap_or_else(|| format!("Alert from {source}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn matchers_follow_alertmanager() {
        let l = labels(&[
            ("severity", "critical"),
            ("team", "payments"),
            ("env", "prod"),
        ]);
        for (m, hit) in [
            (r#"severity="critical""#, true),
            (r#"severity = "warning""#, false),
            (r#"team=~"pay.*""#, true),
            (r#"team=~"pay""#, false), // anchored
            (r#"env!="staging""#, true),
            (r#"env!~"prod|stage""#, false),
            (r#"missing="""#, true), // absent is empty
            (r#"missing!="""#, false),
            ("severity=critical", true), // unquoted
            (r#"team=~"(?i)PAYMENTS""#, true),
        ] {
            let parsed = Matcher::parse(m).unwrap_or_else(|e| panic!("{m}: {e}"));
            assert_eq!(parsed.matches(&l), hit, "{m}");
        }
        let list = Matcher::parse_list(r#"{severity="critical", team=~"a,b|pay.*"}"#).unwrap();
        assert_eq!(list.len(), 2);
        assert!(list.iter().all(|m| m.matches(&l)));
        assert_eq!(list[1].to_string(), r#"team=~"a,b|pay.*""#);
        assert_eq!(Matcher::parse_list("").unwrap(), vec![]);
    }

    #[test]
    fn bad_matchers_say_what_is_wrong() {
        assert!(matches!(
            Matcher::parse("severity"),
            Err(MatcherError::Syntax(_))
        ));
        assert!(matches!(
            Matcher::parse(r#"=~"x""#),
            Err(MatcherError::Syntax(_))
        ));
        assert!(matches!(
            Matcher::parse(r#"1a="x""#),
            Err(MatcherError::Name(_))
        ));
        assert!(matches!(
            Matcher::parse(r#"a="x"#),
            Err(MatcherError::Unterminated { .. })
        ));
        let e = Matcher::parse(r#"team=~"pay(""#).unwrap_err();
        assert!(matches!(e, MatcherError::Regex { .. }), "{e}");
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn first_route_wins_and_maps_severity() {
        let catalog = SeverityCatalog::new(SeverityCatalog::defaults()).unwrap();
        let routes = Routes(vec![
            Route {
                matchers: Matcher::parse_list(r#"env="staging""#).unwrap(),
                action: RouteAction::Ignore,
                ..Route::default()
            },
            Route {
                matchers: Matcher::parse_list(r#"severity=~"critical|warning""#).unwrap(),
                action: RouteAction::Declare,
                severity: Some(SeverityName::new("SEV2")),
                severity_label: Some("severity".into()),
                severity_map: [("Critical".to_string(), SeverityName::new("SEV1"))].into(),
                ..Route::default()
            },
        ]);
        let crit = labels(&[("severity", "critical")]);
        let (i, r) = routes.choose(&crit);
        assert_eq!((i, r.action), (Some(1), RouteAction::Declare));
        assert_eq!(r.severity_for(&crit, &catalog).as_str(), "SEV1");
        let warn = labels(&[("severity", "warning")]);
        assert_eq!(
            routes
                .choose(&warn)
                .1
                .severity_for(&warn, &catalog)
                .as_str(),
            "SEV2"
        );
        let staging = labels(&[("severity", "critical"), ("env", "staging")]);
        assert_eq!(routes.choose(&staging).1.action, RouteAction::Ignore);
        let other = labels(&[("severity", "info")]);
        let (i, r) = routes.choose(&other);
        assert_eq!((i, r.action), (None, RouteAction::Suggest));
        assert_eq!(r.severity_for(&other, &catalog).as_str(), "SEV3");
        assert!(routes.0[1].describe().contains("→ declare"));
    }

    #[test]
    fn titles_render_from_the_group_and_refuse_unknown_names() {
        let t = TitleTemplate::parse(
            "{{ labels.alertname }} on {{ labels.service | upper }} ({{ count }})",
        )
        .unwrap();
        let l = labels(&[("alertname", "HighLatency"), ("service", "checkout")]);
        let ctx = TitleContext {
            labels: &l,
            annotations: &Labels::new(),
            status: "firing",
            source: "am",
            count: 3,
            alerts: vec![],
        };
        assert_eq!(
            t.render(&ctx).as_deref(),
            Some("HighLatency on CHECKOUT (3)")
        );
        // A missing label renders empty; an empty title falls back.
        let t = TitleTemplate::parse("{{ labels.nope }}").unwrap();
        assert_eq!(t.render(&ctx), None);
        assert!(matches!(
            TitleTemplate::parse("{{ alertname }}"),
            Err(TemplateError::UnknownVariable(v)) if v == "alertname"
        ));
        assert!(matches!(
            TitleTemplate::parse("{{ labels.a "),
            Err(TemplateError::Syntax(_))
        ));
        assert!(matches!(
            TitleTemplate::parse("{{ labels.alertname | nosuchfilter }}"),
            Err(TemplateError::Syntax(_) | TemplateError::Render(_))
        ));
        assert_eq!(
            default_title(&l, &labels(&[("summary", "  p99 over\n1s ")]), None, "am"),
            "p99 over 1s"
        );
        assert_eq!(
            default_title(&l, &Labels::new(), Some("x"), "am"),
            "HighLatency"
        );
        assert_eq!(
            default_title(&Labels::new(), &Labels::new(), Some("Disk full"), "am"),
            "Disk full"
        );
        assert_eq!(
            default_title(&Labels::new(), &Labels::new(), None, "am"),
            "Alert from am"
        );
        assert_eq!(
            clean_title(&"x".repeat(400)).unwrap().chars().count(),
            MAX_TITLE
        );
    }

    #[test]
    fn changes_are_told_apart_from_repeats() {
        let t = |m: u32| Utc.with_ymd_and_hms(2026, 1, 1, 0, m, 0).unwrap();
        let alert = |status, start, end| Alert {
            fingerprint: "f".into(),
            status,
            labels: Labels::new(),
            annotations: Labels::new(),
            starts_at: start,
            ends_at: end,
            links: vec![],
        };
        let firing = alert(AlertStatus::Firing, t(1), None);
        let resolved = alert(AlertStatus::Resolved, t(1), Some(t(5)));
        assert_eq!(change(None, &firing), AlertChange::Fired);
        assert_eq!(change(None, &resolved), AlertChange::FiredAndResolved);
        let known = after(None, &firing, AlertChange::Fired);
        assert_eq!(change(Some(known), &firing), AlertChange::Unchanged);
        assert_eq!(change(Some(known), &resolved), AlertChange::Resolved);
        let gone = after(Some(known), &resolved, AlertChange::Resolved);
        assert_eq!(gone.ends_at, Some(t(5)));
        // The HA peer's older "firing" after the resolution: nothing.
        assert_eq!(change(Some(gone), &firing), AlertChange::Unchanged);
        // Firing again later: a change.
        let again = alert(AlertStatus::Firing, t(9), None);
        assert_eq!(change(Some(gone), &again), AlertChange::Fired);
        let firing_again = after(Some(gone), &again, AlertChange::Fired);
        // The first episode's resolution, late: it ended before this one
        // began, so nothing.
        assert_eq!(
            change(Some(firing_again), &resolved),
            AlertChange::Unchanged
        );
        // A resolution from the first start that ends after the second
        // began (PagerDuty's resolve after a reopen): resolved.
        let reresolved = alert(AlertStatus::Resolved, t(1), Some(t(12)));
        assert_eq!(
            change(Some(firing_again), &reresolved),
            AlertChange::Resolved
        );
        let over = after(Some(firing_again), &reresolved, AlertChange::Resolved);
        assert_eq!((over.starts_at, over.ends_at), (t(9), Some(t(12))));
        assert_eq!(
            change(Some(over), &again),
            AlertChange::Unchanged,
            "a late repeat"
        );
        assert_eq!(changed_at(&resolved, true), t(5));
        assert_eq!(
            fingerprint_of(&labels(&[("a", "1")])),
            fingerprint_of(&labels(&[("a", "1")]))
        );
        assert_ne!(
            fingerprint_of(&labels(&[("a", "1")])),
            fingerprint_of(&labels(&[("a", "2")]))
        );
    }
}
