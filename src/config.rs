//! Typed settings: an optional TOML file, then `WARROOM_…` variables, then
//! Slack's own `SLACK_…` variables. Everything is checked here, once, so the
//! rest of the program can trust what it gets.

use crate::domain::permissions::{Allowed, Permission, Permissions};
use crate::domain::{Role, RoleCatalog, SeverityCatalog, SeverityLevel};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_CONFIG_FILE: &str = "warroom.toml";

/// What went wrong while reading the configuration: one line, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("`{key}` is {problem}")]
    Key { key: String, problem: String },
}

fn key_error(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Key {
        key: key.to_string(),
        problem: problem.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_database_url")]
    database_url: String,
    #[serde(default = "default_listen")]
    listen: String,
    #[serde(default)]
    admin_listen: Option<String>,
    #[serde(default = "d20s", with = "humantime_serde")]
    shutdown_grace: Duration,
    #[serde(default)]
    log: LogSettings,
    #[serde(default)]
    announce_channel: Option<String>,
    #[serde(default = "default_timezone")]
    timezone: String,
    #[serde(default)]
    slack: RawSlack,
    #[serde(default)]
    reminders: Reminders,
    #[serde(default = "SeverityCatalog::defaults")]
    severities: Vec<SeverityLevel>,
    #[serde(default = "RoleCatalog::defaults")]
    roles: Vec<Role>,
    #[serde(default)]
    timeline: TimelineSettings,
    #[serde(default)]
    postmortem: PostmortemSettings,
    #[serde(default)]
    permissions: RawPermissions,
    #[serde(default)]
    audiences: BTreeMap<String, String>,
    #[serde(default)]
    incidents: IncidentSettings,
    #[serde(default)]
    private_incidents: PrivateIncidents,
    #[serde(default)]
    bridge: RawBridge,
    #[serde(default)]
    severity_matrix: Option<crate::domain::severity_matrix::RawMatrix>,
    #[serde(default)]
    followups: RawFollowups,
}

/// `followups.*`, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFollowups {
    #[serde(default = "default_digest")]
    digest: String,
}

impl Default for RawFollowups {
    fn default() -> Self {
        Self {
            digest: default_digest(),
        }
    }
}

fn default_digest() -> String {
    "Monday 09:00".to_string()
}

/// `followups.*`: the weekly digest of open follow-ups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowupSettings {
    /// When each owner of open follow-ups gets their list, in `timezone`;
    /// `None` (`off`): never.
    pub digest: Option<crate::domain::followups::DigestTime>,
}

/// `incidents.*`: how a declaration is read.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IncidentSettings {
    /// A security incident gets a private war room even when "Private war
    /// room" was not ticked.
    #[serde(default = "yes")]
    pub security_private: bool,
}

impl Default for IncidentSettings {
    fn default() -> Self {
        Self {
            security_private: true,
        }
    }
}

/// `private_incidents.*`: what people outside a private war room see.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PrivateIncidents {
    #[serde(default)]
    pub announce: PrivateAnnounce,
}

/// How a private incident is announced.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PrivateAnnounce {
    /// Number, severity and who to ask; neither title nor summary.
    #[default]
    Redacted,
    /// No announcement at all.
    None,
    /// As for a public incident.
    Full,
}

/// `bridge.url_template`: the incident's video call.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBridge {
    #[serde(default)]
    url_template: Option<String>,
}

/// Who may close, assign and change the severity: role names, or
/// `anyone`. Checked into [`Permissions`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPermissions {
    #[serde(default = "lead_only")]
    close: Vec<String>,
    #[serde(default = "lead_only")]
    assign: Vec<String>,
    #[serde(default = "lead_only")]
    severity: Vec<String>,
    #[serde(default = "anyone")]
    take_over: Vec<String>,
}

fn anyone() -> Vec<String> {
    vec![crate::domain::permissions::ANYONE.to_string()]
}

fn lead_only() -> Vec<String> {
    vec![crate::domain::roles::INCIDENT_LEAD.to_string()]
}

impl Default for RawPermissions {
    fn default() -> Self {
        Self {
            close: lead_only(),
            assign: lead_only(),
            severity: lead_only(),
            take_over: anyone(),
        }
    }
}

fn default_database_url() -> String {
    "sqlite://warroom.db".to_string()
}
fn default_listen() -> String {
    "0.0.0.0:3000".to_string()
}
fn default_timezone() -> String {
    "UTC".to_string()
}
fn d10s() -> Duration {
    Duration::from_secs(10)
}
fn d20s() -> Duration {
    Duration::from_secs(20)
}

/// How log lines are written to stderr.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, with the fields of the enclosing spans
    /// (incident, job id, kind, attempt), for log collectors.
    Json,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    #[serde(default)]
    pub format: LogFormat,
}
fn yes() -> bool {
    true
}
fn default_api_url() -> String {
    "https://slack.com/api".to_string()
}

fn default_max_in_flight() -> usize {
    16
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlack {
    #[serde(default = "default_api_url")]
    api_url: String,
    #[serde(default = "yes")]
    rate_control: bool,
    #[serde(default = "d10s", with = "humantime_serde")]
    call_timeout: Duration,
    #[serde(default = "default_max_in_flight")]
    max_in_flight: usize,
    #[serde(default)]
    bot_token: Option<SecretString>,
    #[serde(default)]
    signing_secret: Option<SecretString>,
    #[serde(default)]
    app_token: Option<SecretString>,
    #[serde(default = "default_socket_connections")]
    socket_connections: usize,
}

fn default_socket_connections() -> usize {
    2
}

/// Slack allows an app ten Socket Mode connections at once.
pub const MAX_SOCKET_CONNECTIONS: usize = 10;

impl Default for RawSlack {
    fn default() -> Self {
        Self {
            api_url: default_api_url(),
            rate_control: true,
            call_timeout: d10s(),
            max_in_flight: default_max_in_flight(),
            bot_token: None,
            signing_secret: None,
            app_token: None,
            socket_connections: default_socket_connections(),
        }
    }
}

/// Reminder cadences (the 30/60-minute update rule: not more often than
/// every 30 minutes, never silent past 60).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Reminders {
    #[serde(default = "d30m", with = "humantime_serde")]
    pub comms_nudge_after: Duration,
    #[serde(default = "d60m", with = "humantime_serde")]
    pub comms_due_after: Duration,
    #[serde(default = "d45m", with = "humantime_serde")]
    pub scribe_quiet_after: Duration,
}

fn d30m() -> Duration {
    Duration::from_secs(30 * 60)
}
fn d60m() -> Duration {
    Duration::from_secs(60 * 60)
}
fn d45m() -> Duration {
    Duration::from_secs(45 * 60)
}

impl Default for Reminders {
    fn default() -> Self {
        Self {
            comms_nudge_after: d30m(),
            comms_due_after: d60m(),
            scribe_quiet_after: d45m(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TimelineSettings {
    /// The reaction that puts a message on the timeline.
    #[serde(default = "default_tag_emoji")]
    pub tag_emoji: String,
    /// Roles whose reactions count, or `anyone` (checked into
    /// [`Settings::permissions`], which is what the bot obeys).
    #[serde(default = "default_taggers")]
    pub taggers: Vec<String>,
    /// The bot's own reaction confirming a tag.
    #[serde(default = "default_confirm_emoji")]
    pub confirm_emoji: String,
    /// Reactions that tag a message with a kind.
    #[serde(default)]
    pub typed_tags: TypedTags,
}

fn default_confirm_emoji() -> String {
    "memo".to_string()
}

/// Emoji for typed tags (without colons).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct TypedTags {
    pub impact_started: String,
    pub detected: String,
    pub mitigated: String,
    pub resolved: String,
    pub decision: String,
    pub hypothesis: String,
}

impl Default for TypedTags {
    fn default() -> Self {
        Self {
            impact_started: "boom".to_string(),
            detected: "eyes".to_string(),
            mitigated: "adhesive_bandage".to_string(),
            resolved: "white_check_mark".to_string(),
            decision: "scales".to_string(),
            hypothesis: "thinking_face".to_string(),
        }
    }
}

impl TimelineSettings {
    /// Every tagging emoji with the entry kind it makes.
    pub fn tags(&self) -> [(&str, crate::domain::EntryKind); 7] {
        use crate::domain::EntryKind as K;
        let t = &self.typed_tags;
        [
            (self.tag_emoji.as_str(), K::Message),
            (t.impact_started.as_str(), K::ImpactStarted),
            (t.detected.as_str(), K::Detected),
            (t.mitigated.as_str(), K::Mitigated),
            (t.resolved.as_str(), K::Resolved),
            (t.decision.as_str(), K::Decision),
            (t.hypothesis.as_str(), K::Hypothesis),
        ]
    }

    /// The kind of entry a reaction makes, if it is a tag. Skin tones
    /// (`+1::skin-tone-2`) do not matter.
    pub fn tag_kind(&self, reaction: &str) -> Option<crate::domain::EntryKind> {
        let base = reaction.split("::").next().unwrap_or(reaction);
        self.tags()
            .into_iter()
            .find(|(emoji, _)| *emoji == base)
            .map(|(_, kind)| kind)
    }
}

fn default_tag_emoji() -> String {
    "pushpin".to_string()
}
fn default_taggers() -> Vec<String> {
    vec!["Scribe".to_string(), "Incident Lead".to_string()]
}

impl Default for TimelineSettings {
    fn default() -> Self {
        Self {
            tag_emoji: default_tag_emoji(),
            taggers: default_taggers(),
            confirm_emoji: default_confirm_emoji(),
            typed_tags: TypedTags::default(),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PostmortemSettings {
    /// A team's own template (minijinja); the built-in one otherwise.
    #[serde(default)]
    pub template: Option<PathBuf>,
}

/// Slack credentials. Never printed: `Debug` shows nothing of the values.
/// There is always a bot token, and either an app-level token (Socket
/// Mode) or a signing secret (HTTP).
#[derive(Clone)]
pub struct SlackSecrets {
    pub bot_token: SecretString,
    /// Verifies HTTP requests; not needed (and unused) in Socket Mode.
    pub signing_secret: Option<SecretString>,
    /// `xapp-…`: selects Socket Mode.
    pub app_token: Option<SecretString>,
}

impl std::fmt::Debug for SlackSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SlackSecrets { .. }")
    }
}

/// Checked settings.
#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: String,
    pub listen: SocketAddr,
    /// Where `/metrics`, `/healthz` and `/readyz` are served; `None`: on
    /// `listen`, beside Slack's routes.
    pub admin_listen: Option<SocketAddr>,
    /// On SIGTERM, how long requests in flight may take to finish before
    /// the workers are stopped anyway.
    pub shutdown_grace: Duration,
    pub log: LogSettings,
    pub announce_channel: Option<String>,
    pub timezone: chrono_tz::Tz,
    pub slack_api_url: String,
    /// Pace Web API calls to Slack's published tiers before sending them
    /// (on by default); off leaves pacing to Slack's 429 answers, whose
    /// `Retry-After` the job queue honours.
    pub slack_rate_control: bool,
    /// Longest one Web API call may take before it counts as a timeout
    /// (and is retried, looking first for what it may have done).
    pub slack_call_timeout: Duration,
    /// Most jobs (so Web API calls) in flight at once in this process.
    pub slack_max_in_flight: usize,
    /// Present when a bot token and a signing secret (HTTP) or an app token
    /// (Socket Mode) were given; `serve` refuses to start without them,
    /// `migrate` does not need them.
    pub slack: Option<SlackSecrets>,
    /// Set when `SLACK_APP_TOKEN` asks for Socket Mode.
    pub socket_mode: bool,
    /// Socket Mode connections kept open at once (1 to 10).
    pub socket_connections: usize,
    pub reminders: Reminders,
    pub severities: SeverityCatalog,
    pub roles: RoleCatalog,
    pub timeline: TimelineSettings,
    pub postmortem: PostmortemSettings,
    /// Who may close, assign, change the severity and tag.
    pub permissions: Permissions,
    pub audiences: BTreeMap<String, String>,
    pub incidents: IncidentSettings,
    pub private_incidents: PrivateIncidents,
    /// The bridge link of each incident (`bridge.url_template`), if any.
    pub bridge: Option<crate::domain::bridge::BridgeTemplate>,
    /// Severity from impact and urgency (`severity_matrix`), checked
    /// against `severities`. Without the key, the default matrix when
    /// `severities` has the levels it names (SEV1–SEV3), else none: the
    /// forms then ask only for the severity.
    pub severity_matrix: Option<crate::domain::SeverityMatrix>,
    pub followups: FollowupSettings,
}

/// Where settings come from: a file (if any) and a set of environment
/// variables (the process environment in `main`, a map in tests).
pub struct Sources<'a> {
    /// An explicit `--config`: must exist. `None`: `warroom.toml` if present.
    pub file: Option<&'a Path>,
    pub env: HashMap<String, String>,
}

/// Variables under the `WARROOM_` prefix that are not configuration keys.
const NOT_KEYS: &[&str] = &["WARROOM_TEST_"];
/// `WARROOM_LOG` is the log filter, not a key (`WARROOM_LOG__FORMAT` is).
const NOT_KEY: &str = "WARROOM_LOG";

/// Keys whose variable holds a comma-separated list (`Scribe,Incident Lead`).
const LIST_KEYS: &[&str] = &[
    "timeline.taggers",
    "permissions.close",
    "permissions.assign",
    "permissions.severity",
    "permissions.take_over",
];

/// The variable that sets `key`: `timeline.taggers` → `WARROOM_TIMELINE__TAGGERS`.
fn variable_of(key: &str) -> String {
    format!("WARROOM_{}", key.to_ascii_uppercase().replace('.', "__"))
}

impl Settings {
    pub fn load(sources: Sources<'_>) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        match sources.file {
            Some(path) => {
                if let Err(e) = std::fs::metadata(path) {
                    return Err(ConfigError::File {
                        path: path.to_path_buf(),
                        reason: e.to_string(),
                    });
                }
                builder =
                    builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
            }
            None => {
                let default = Path::new(DEFAULT_CONFIG_FILE);
                if default.exists() {
                    builder = builder
                        .add_source(config::File::from(default).format(config::FileFormat::Toml));
                }
            }
        }
        let list_key = |var: &str| {
            LIST_KEYS
                .iter()
                .copied()
                .find(|key| variable_of(key).eq_ignore_ascii_case(var))
        };
        let warroom_vars: config::Map<String, String> = sources
            .env
            .iter()
            .filter(|(k, _)| {
                k.starts_with("WARROOM_")
                    && !NOT_KEYS.iter().any(|p| k.starts_with(p))
                    && k.as_str() != NOT_KEY
                    && list_key(k).is_none()
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("WARROOM")
                .prefix_separator("_")
                .separator("__")
                .source(Some(warroom_vars)),
        );
        // The config crate splits lists only when it also guesses numbers
        // and booleans in every other variable (`infinity`, an emoji name,
        // would become a float), so lists are split here.
        for (var, value) in &sources.env {
            if let Some(key) = list_key(var).filter(|_| var.starts_with("WARROOM_")) {
                let items: Vec<String> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                builder = builder
                    .set_override(key, items)
                    .map_err(|e| ConfigError::Invalid(e.to_string()))?;
            }
        }
        for (var, key) in [
            ("SLACK_BOT_TOKEN", "slack.bot_token"),
            ("SLACK_SIGNING_SECRET", "slack.signing_secret"),
            ("SLACK_APP_TOKEN", "slack.app_token"),
        ] {
            let value = sources.env.get(var).filter(|v| !v.is_empty()).cloned();
            builder = builder
                .set_override_option(key, value)
                .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        }
        let cfg = builder.build().map_err(map_config_error)?;
        let raw: Raw = cfg.try_deserialize().map_err(map_config_error)?;
        Self::check(raw)
    }

    fn check(raw: Raw) -> Result<Self, ConfigError> {
        let listen = raw.listen.parse::<SocketAddr>().map_err(|_| {
            key_error(
                "listen",
                format!("not an address like 0.0.0.0:3000: `{}`", raw.listen),
            )
        })?;
        let admin_listen = match &raw.admin_listen {
            None => None,
            Some(a) => Some(a.parse::<SocketAddr>().map_err(|_| {
                key_error(
                    "admin_listen",
                    format!("not an address like 127.0.0.1:9000: `{a}`"),
                )
            })?),
        };
        if admin_listen.is_some() && admin_listen == Some(listen) && listen.port() != 0 {
            return Err(key_error(
                "admin_listen",
                "the same address as `listen`: unset it to serve /metrics there, or pick another port",
            ));
        }
        if raw.shutdown_grace > Duration::from_secs(600) {
            return Err(key_error("shutdown_grace", "longer than 10 minutes"));
        }
        if !(raw.database_url.starts_with("sqlite:")
            || raw.database_url.starts_with("postgres://")
            || raw.database_url.starts_with("postgresql://"))
        {
            return Err(key_error(
                "database_url",
                "neither a sqlite:// nor a postgres:// URL",
            ));
        }
        let timezone = raw.timezone.parse::<chrono_tz::Tz>().map_err(|_| {
            key_error(
                "timezone",
                format!(
                    "not an IANA time zone name like Europe/Paris: `{}`",
                    raw.timezone
                ),
            )
        })?;
        if !(raw.slack.api_url.starts_with("https://") || raw.slack.api_url.starts_with("http://"))
        {
            return Err(key_error("slack.api_url", "not an http(s) URL"));
        }
        let slack_api_url = raw.slack.api_url.trim_end_matches('/').to_string();
        if let Some(c) = &raw.announce_channel
            && !is_channel_id(c)
        {
            return Err(key_error(
                "announce_channel",
                format!(
                    "not a channel ID like C0123ABCD (a name such as #incidents won't do): `{c}`"
                ),
            ));
        }
        for (name, channel) in &raw.audiences {
            if !is_channel_id(channel) {
                return Err(key_error(
                    &format!("audiences.{name}"),
                    format!("not a channel ID like C0123ABCD: `{channel}`"),
                ));
            }
        }
        let r = &raw.reminders;
        if r.comms_nudge_after.is_zero()
            || r.comms_due_after.is_zero()
            || r.scribe_quiet_after.is_zero()
        {
            return Err(key_error(
                "reminders",
                "zero: reminders need a positive duration",
            ));
        }
        if r.comms_nudge_after > r.comms_due_after {
            return Err(key_error(
                "reminders.comms_nudge_after",
                "longer than reminders.comms_due_after: the nudge comes before the firm reminder",
            ));
        }
        if raw.slack.call_timeout < Duration::from_millis(100)
            || raw.slack.call_timeout > Duration::from_secs(120)
        {
            return Err(key_error("slack.call_timeout", "outside 100ms to 120s"));
        }
        if !(1..=1024).contains(&raw.slack.max_in_flight) {
            return Err(key_error("slack.max_in_flight", "outside 1 to 1024"));
        }
        const MAX_INTERVAL: Duration = Duration::from_secs(7 * 24 * 3600);
        for (key, d) in [
            ("reminders.comms_nudge_after", r.comms_nudge_after),
            ("reminders.comms_due_after", r.comms_due_after),
            ("reminders.scribe_quiet_after", r.scribe_quiet_after),
        ] {
            if d > MAX_INTERVAL {
                return Err(key_error(key, "longer than 7 days"));
            }
        }
        for level in &raw.severities {
            let key = |field: &str| format!("severities.{}.{field}", level.name);
            for (field, d) in [
                ("comms_nudge_after", level.comms_nudge_after),
                ("comms_due_after", level.comms_due_after),
                ("scribe_quiet_after", level.scribe_quiet_after),
            ] {
                if let Some(d) = d
                    && (d.is_zero() || d > MAX_INTERVAL)
                {
                    return Err(key_error(&key(field), "zero or longer than 7 days"));
                }
            }
            let nudge = level.comms_nudge_after.unwrap_or(r.comms_nudge_after);
            let due = level.comms_due_after.unwrap_or(r.comms_due_after);
            if nudge > due {
                return Err(key_error(
                    &key("comms_nudge_after"),
                    "later than its comms_due_after",
                ));
            }
            if level.name.trim().is_empty()
                || level.name.chars().count() > 75
                || level.name.contains(char::is_whitespace)
            {
                return Err(key_error(
                    "severities",
                    format!(
                        "naming a level `{}`: names are one word of at most 75 characters",
                        level.name
                    ),
                ));
            }
        }
        if raw.severities.len() > 100 {
            return Err(key_error("severities", "longer than 100 levels"));
        }
        // Two blocks per role plus a heading must fit Slack's 50 blocks.
        if raw.roles.len() > 24 {
            return Err(key_error(
                "roles",
                "longer than 24 roles (the role board holds 24)",
            ));
        }
        if raw.roles.iter().any(|role| role.name.chars().count() > 100) {
            return Err(key_error(
                "roles",
                "naming a role longer than 100 characters",
            ));
        }
        // The update form's checkboxes hold 10 options: the announcement and 9.
        if raw.audiences.len() > 9 {
            return Err(key_error("audiences", "more than 9 audiences"));
        }
        for role in &raw.roles {
            if let Some(tasks) = &role.tasks {
                tasks
                    .check()
                    .map_err(|e| key_error(&format!("roles.{}.tasks", role.name), e.to_string()))?;
            }
        }
        let bridge = match raw.bridge.url_template.as_deref() {
            None | Some("") => None,
            Some(t) => Some(
                crate::domain::bridge::BridgeTemplate::parse(t)
                    .map_err(|e| key_error("bridge.url_template", e.to_string()))?,
            ),
        };
        let followups = FollowupSettings {
            digest: crate::domain::followups::DigestTime::parse(&raw.followups.digest)
                .map_err(|e| key_error("followups.digest", e.to_string()))?,
        };
        let roles = RoleCatalog::new(raw.roles).map_err(|e| key_error("roles", e.to_string()))?;
        let allowed = |action: Permission, list: &[String]| {
            Allowed::from_config(list, &roles).map_err(|e| key_error(action.key(), e.to_string()))
        };
        let permissions = Permissions {
            close: allowed(Permission::Close, &raw.permissions.close)?,
            assign: allowed(Permission::Assign, &raw.permissions.assign)?,
            severity: allowed(Permission::Severity, &raw.permissions.severity)?,
            tag: allowed(Permission::Tag, &raw.timeline.taggers)?,
            take_over: allowed(Permission::TakeOver, &raw.permissions.take_over)?,
        };
        let mut timeline = raw.timeline;
        for emoji in [&mut timeline.tag_emoji, &mut timeline.confirm_emoji] {
            *emoji = emoji.trim_matches(':').to_string();
        }
        for emoji in [
            &mut timeline.typed_tags.impact_started,
            &mut timeline.typed_tags.detected,
            &mut timeline.typed_tags.mitigated,
            &mut timeline.typed_tags.resolved,
            &mut timeline.typed_tags.decision,
            &mut timeline.typed_tags.hypothesis,
        ] {
            *emoji = emoji.trim_matches(':').to_string();
        }
        let mut seen = std::collections::HashSet::new();
        for (emoji, kind) in timeline.tags() {
            if emoji.is_empty() || emoji.contains(char::is_whitespace) {
                return Err(key_error(
                    "timeline",
                    format!("given an empty or spaced emoji name for {}", kind.as_str()),
                ));
            }
            if !seen.insert(emoji.to_string()) {
                return Err(key_error(
                    "timeline",
                    format!("using `{emoji}` for two tags: each tag needs its own emoji"),
                ));
            }
        }
        if seen.contains(&timeline.confirm_emoji) {
            return Err(key_error(
                "timeline.confirm_emoji",
                "also a tag emoji: the bot would tag its own confirmations",
            ));
        }
        let severities = SeverityCatalog::new(raw.severities)
            .ok_or_else(|| key_error("severities", "empty: at least one level is needed"))?;
        let severity_matrix = match raw.severity_matrix {
            Some(m) => Some(
                crate::domain::SeverityMatrix::new(m, &severities)
                    .map_err(|e| key_error("severity_matrix", e.to_string()))?,
            ),
            None => crate::domain::SeverityMatrix::new(Default::default(), &severities).ok(),
        };
        // An empty value in the file counts as missing, like an empty
        // variable: `serve` then refuses to start naming it.
        let given = |s: Option<SecretString>| s.filter(|s| !s.expose_secret().trim().is_empty());
        let (bot_token, signing_secret, app_token) = (
            given(raw.slack.bot_token),
            given(raw.slack.signing_secret),
            given(raw.slack.app_token),
        );
        if let Some(bot_token) = &bot_token
            && !bot_token.expose_secret().starts_with("xoxb-")
        {
            return Err(key_error(
                "SLACK_BOT_TOKEN",
                "not a bot token: it starts with xoxb- (OAuth & Permissions page of your Slack app)",
            ));
        }
        if let Some(app_token) = &app_token
            && !app_token.expose_secret().starts_with("xapp-")
        {
            return Err(key_error(
                "SLACK_APP_TOKEN",
                "not an app-level token: it starts with xapp- (Basic Information → App-Level Tokens, scope connections:write)",
            ));
        }
        if !(1..=MAX_SOCKET_CONNECTIONS).contains(&raw.slack.socket_connections) {
            return Err(key_error(
                "slack.socket_connections",
                format!(
                    "{}: give 1 to {MAX_SOCKET_CONNECTIONS} (Slack's limit)",
                    raw.slack.socket_connections
                ),
            ));
        }
        let socket_mode = app_token.is_some();
        let slack = match (bot_token, signing_secret, app_token) {
            (Some(bot_token), signing_secret, Some(app_token)) => Some(SlackSecrets {
                bot_token,
                signing_secret,
                app_token: Some(app_token),
            }),
            (Some(bot_token), Some(signing_secret), None) => Some(SlackSecrets {
                bot_token,
                signing_secret: Some(signing_secret),
                app_token: None,
            }),
            _ => None,
        };
        Ok(Settings {
            database_url: raw.database_url,
            listen,
            admin_listen,
            shutdown_grace: raw.shutdown_grace,
            log: raw.log,
            announce_channel: raw.announce_channel,
            timezone,
            slack_api_url,
            slack_rate_control: raw.slack.rate_control,
            slack_call_timeout: raw.slack.call_timeout,
            slack_max_in_flight: raw.slack.max_in_flight,
            slack,
            socket_mode,
            socket_connections: raw.slack.socket_connections,
            reminders: raw.reminders,
            severities,
            roles,
            timeline,
            postmortem: raw.postmortem,
            permissions,
            audiences: raw.audiences,
            incidents: raw.incidents,
            private_incidents: raw.private_incidents,
            bridge,
            severity_matrix,
            followups,
        })
    }

    /// The Slack credentials `serve` needs, or the one line that says which
    /// is missing.
    pub fn require_slack(&self) -> Result<&SlackSecrets, ConfigError> {
        self.slack.as_ref().ok_or_else(|| {
            key_error(
                "SLACK_BOT_TOKEN with SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)",
                "missing: set the bot token (OAuth & Permissions) and either the app-level token (Basic Information → App-Level Tokens) or the signing secret (Basic Information)",
            )
        })
    }
}

fn is_channel_id(s: &str) -> bool {
    s.len() >= 2
        && s.starts_with(['C', 'G'])
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn map_config_error(e: config::ConfigError) -> ConfigError {
    ConfigError::Invalid(e.to_string().replace('\n', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.toml");
        std::fs::write(&empty, "").unwrap();
        Settings::load(Sources {
            file: Some(&empty),
            env: env(pairs),
        })
    }

    #[test]
    fn operations_keys_default_and_parse() {
        let s = load(&[]).unwrap();
        assert_eq!(s.admin_listen, None);
        assert_eq!(s.shutdown_grace, Duration::from_secs(20));
        assert_eq!(s.log.format, LogFormat::Text);
        let s = load(&[
            ("WARROOM_LOG", "debug"),
            ("WARROOM_LOG__FORMAT", "json"),
            ("WARROOM_ADMIN_LISTEN", "127.0.0.1:9000"),
            ("WARROOM_SHUTDOWN_GRACE", "5s"),
        ])
        .unwrap();
        assert_eq!(
            s.log.format,
            LogFormat::Json,
            "WARROOM_LOG stays the filter"
        );
        assert_eq!(s.admin_listen.unwrap().to_string(), "127.0.0.1:9000");
        assert_eq!(s.shutdown_grace, Duration::from_secs(5));
        let e = load(&[("WARROOM_LOG__FORMAT", "xml")]).unwrap_err();
        assert!(e.to_string().contains("xml"), "{e}");
        let e = load(&[("WARROOM_ADMIN_LISTEN", "localhost")]).unwrap_err();
        assert!(e.to_string().contains("admin_listen"), "{e}");
        let e = load(&[
            ("WARROOM_ADMIN_LISTEN", "0.0.0.0:3000"),
            ("WARROOM_LISTEN", "0.0.0.0:3000"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("admin_listen"), "{e}");
        let e = load(&[("WARROOM_SHUTDOWN_GRACE", "1h")]).unwrap_err();
        assert!(e.to_string().contains("shutdown_grace"), "{e}");
    }

    #[test]
    fn defaults_apply() {
        let s = load(&[]).unwrap();
        assert_eq!(s.database_url, "sqlite://warroom.db");
        assert_eq!(s.listen.to_string(), "0.0.0.0:3000");
        assert_eq!(s.slack_api_url, "https://slack.com/api");
        assert_eq!(s.reminders, Reminders::default());
        assert_eq!(s.timezone, chrono_tz::UTC);
        assert!(s.slack.is_none());
        assert!(s.require_slack().is_err());
        assert_eq!(s.roles.names().len(), 6);
        assert_eq!(
            s.timeline.tag_kind("pushpin"),
            Some(crate::domain::EntryKind::Message)
        );
        assert_eq!(
            s.timeline.tag_kind("boom"),
            Some(crate::domain::EntryKind::ImpactStarted)
        );
        assert_eq!(
            s.timeline.tag_kind("white_check_mark::skin-tone-2"),
            Some(crate::domain::EntryKind::Resolved)
        );
        assert_eq!(s.timeline.tag_kind("tada"), None);
        assert_eq!(s.permissions, Permissions::default());
    }

    #[test]
    fn permissions_from_file_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.toml");
        std::fs::write(
            &path,
            "[permissions]\nclose = [\"anyone\"]\nseverity = [\"Incident Lead\", \"Technical Lead\"]\n\n[timeline]\ntaggers = [\"anyone\"]\n",
        )
        .unwrap();
        let from = |pairs: &[(&str, &str)]| {
            Settings::load(Sources {
                file: Some(&path),
                env: env(pairs),
            })
            .unwrap()
            .permissions
        };
        let p = from(&[]);
        assert_eq!(p.close, Allowed::Anyone);
        assert_eq!(
            p.severity,
            Allowed::roles(&["Incident Lead", "Technical Lead"])
        );
        assert_eq!(p.assign, Allowed::roles(&["Incident Lead"]), "default kept");
        assert_eq!(p.tag, Allowed::Anyone);
        let p = from(&[
            ("WARROOM_PERMISSIONS__CLOSE", "Incident Lead"),
            (
                "WARROOM_PERMISSIONS__ASSIGN",
                "Incident Lead, Communication Lead",
            ),
            ("WARROOM_PERMISSIONS__SEVERITY", "anyone"),
        ]);
        assert_eq!(p.close, Allowed::roles(&["Incident Lead"]), "env wins");
        assert_eq!(
            p.assign,
            Allowed::roles(&["Incident Lead", "Communication Lead"])
        );
        assert_eq!(p.severity, Allowed::Anyone);
    }

    #[test]
    fn environment_overrides_with_double_underscores() {
        let s = load(&[
            ("WARROOM_REMINDERS__COMMS_NUDGE_AFTER", "90s"),
            ("WARROOM_REMINDERS__COMMS_DUE_AFTER", "1h"),
            ("WARROOM_SLACK__API_URL", "http://127.0.0.1:9/api/"),
            ("WARROOM_TIMEZONE", "Europe/Paris"),
            ("WARROOM_ANNOUNCE_CHANNEL", "C0INCIDENTS"),
            ("WARROOM_TEST_POSTGRES_URL", "postgres://ignored"),
            ("SLACK_BOT_TOKEN", "xoxb-1"),
            ("SLACK_SIGNING_SECRET", "s3cret"),
        ])
        .unwrap();
        assert_eq!(s.reminders.comms_nudge_after, Duration::from_secs(90));
        assert_eq!(s.slack_api_url, "http://127.0.0.1:9/api");
        assert_eq!(s.timezone, chrono_tz::Europe::Paris);
        assert_eq!(s.announce_channel.as_deref(), Some("C0INCIDENTS"));
        assert!(s.require_slack().is_ok());
        assert!(!format!("{s:?}").contains("s3cret"));
    }

    #[test]
    fn an_app_token_selects_socket_mode_without_a_signing_secret() {
        let s = load(&[
            ("SLACK_BOT_TOKEN", "xoxb-1"),
            ("SLACK_APP_TOKEN", "xapp-1-A1-s3cret"),
        ])
        .unwrap();
        assert!(s.socket_mode);
        assert_eq!(
            s.socket_connections, 2,
            "Slack's advice: two, for no gap during refreshes"
        );
        let secrets = s.require_slack().unwrap();
        assert!(secrets.app_token.is_some() && secrets.signing_secret.is_none());
        assert!(!format!("{s:?}").contains("s3cret"));
        let s = load(&[
            ("SLACK_BOT_TOKEN", "xoxb-1"),
            ("SLACK_APP_TOKEN", "xapp-1"),
            ("WARROOM_SLACK__SOCKET_CONNECTIONS", "10"),
        ])
        .unwrap();
        assert_eq!(s.socket_connections, 10);
        let s = load(&[("SLACK_BOT_TOKEN", "xoxb-1"), ("SLACK_SIGNING_SECRET", "x")]).unwrap();
        assert!(!s.socket_mode);
        assert!(s.require_slack().unwrap().signing_secret.is_some());
        // Neither a signing secret nor an app token: serve cannot start.
        let m = load(&[("SLACK_BOT_TOKEN", "xoxb-1")])
            .unwrap()
            .require_slack()
            .err()
            .unwrap()
            .to_string();
        assert!(
            m.contains("SLACK_APP_TOKEN") && m.contains("SLACK_SIGNING_SECRET"),
            "{m}"
        );
        let msg = |pairs: &[(&str, &str)]| load(pairs).err().unwrap().to_string();
        assert!(msg(&[("SLACK_APP_TOKEN", "xoxb-1")]).contains("SLACK_APP_TOKEN"));
        for n in ["0", "11"] {
            let m = msg(&[("WARROOM_SLACK__SOCKET_CONNECTIONS", n)]);
            assert!(m.contains("slack.socket_connections"), "{m}");
        }
    }

    #[test]
    fn lists_from_the_environment() {
        let s = load(&[("WARROOM_TIMELINE__TAGGERS", "Scribe, Technical Lead")]).unwrap();
        assert_eq!(s.timeline.taggers, ["Scribe", "Technical Lead"]);
        let s = load(&[("WARROOM_TIMELINE__TAGGERS", "Scribe")]).unwrap();
        assert_eq!(s.timeline.taggers, ["Scribe"]);
        // Other variables stay text, whatever they look like.
        let s = load(&[("WARROOM_TIMELINE__TAG_EMOJI", "infinity")]).unwrap();
        assert_eq!(s.timeline.tag_emoji, "infinity");
    }

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:4000\"\n[reminders]\ncomms_nudge_after = \"20m\"\n\n[[severities]]\nname = \"P1\"\ndescription = \"all down\"\ncomms_nudge_after = \"15m\"\n",
        )
        .unwrap();
        let s = Settings::load(Sources {
            file: Some(&path),
            env: env(&[("WARROOM_LISTEN", "127.0.0.1:5000")]),
        })
        .unwrap();
        assert_eq!(s.listen.port(), 5000);
        assert_eq!(s.reminders.comms_nudge_after, Duration::from_secs(1200));
        let p1 = s.severities.resolve("p1").unwrap();
        assert_eq!(p1.comms_nudge_after, Some(Duration::from_secs(900)));
    }

    #[test]
    fn bad_input_names_the_key() {
        let msg = |pairs: &[(&str, &str)]| load(pairs).err().unwrap().to_string();

        assert!(
            msg(&[("WARROOM_REMINDERS__COMMS_NUDGE_AFTER", "soon")]).contains("comms_nudge_after")
        );
        assert!(msg(&[("WARROOM_LISTEN", "nowhere")]).contains("listen"));
        assert!(msg(&[("WARROOM_TIMEZONE", "Mars/Olympus")]).contains("timezone"));
        assert!(msg(&[("WARROOM_BOGUS", "1")]).contains("bogus"));
        assert!(msg(&[("WARROOM_SLACK__NOPE", "1")]).contains("nope"));
        assert!(msg(&[("WARROOM_ANNOUNCE_CHANNEL", "#incidents")]).contains("announce_channel"));
        assert!(
            msg(&[("SLACK_BOT_TOKEN", "xoxp-1"), ("SLACK_SIGNING_SECRET", "x")])
                .contains("SLACK_BOT_TOKEN")
        );
        assert!(msg(&[("WARROOM_TIMELINE__TAGGERS", "Janitor")]).contains("taggers"));
        let m = msg(&[("WARROOM_PERMISSIONS__CLOSE", "Incident Lead,Janitor")]);
        assert!(
            m.contains("`permissions.close`") && m.contains("`Janitor`"),
            "{m}"
        );
        let m = msg(&[("WARROOM_PERMISSIONS__ASSIGN", "anyone,Scribe")]);
        assert!(
            m.contains("`permissions.assign`") && m.contains("anyone"),
            "{m}"
        );
        let m = msg(&[("WARROOM_PERMISSIONS__SEVERITY", "")]);
        assert!(m.contains("`permissions.severity`"), "{m}");
        assert!(msg(&[("WARROOM_PERMISSIONS__TAG", "anyone")]).contains("tag"));
        assert!(
            msg(&[("WARROOM_POSTMORTEM__ANYONE_MAY_CLOSE", "true")]).contains("anyone_may_close"),
            "the old key is gone: permissions.close replaces it"
        );
        assert!(
            msg(&[("WARROOM_REMINDERS__SCRIBE_QUIET_AFTER", "1000000y")])
                .contains("scribe_quiet_after")
        );
        assert!(msg(&[("WARROOM_TIMELINE__TYPED_TAGS__DECISION", "pushpin")]).contains("two tags"));
        assert!(msg(&[("WARROOM_TIMELINE__CONFIRM_EMOJI", ":eyes:")]).contains("confirm_emoji"));
        let missing = Settings::load(Sources {
            file: Some(Path::new("/nonexistent/warroom.toml")),
            env: HashMap::new(),
        })
        .err()
        .unwrap()
        .to_string();
        assert!(missing.contains("/nonexistent/warroom.toml"));
        for m in [
            msg(&[("WARROOM_BOGUS", "1")]),
            msg(&[("WARROOM_LISTEN", "x")]),
        ] {
            assert!(!m.contains('\n'), "one line: {m}");
        }
        assert!(
            msg(&[("WARROOM_PRIVATE_INCIDENTS__ANNOUNCE", "sometimes")]).contains("announce"),
            "an unknown announce mode"
        );
        assert!(msg(&[("WARROOM_PERMISSIONS__TAKE_OVER", "Janitor")]).contains("take_over"));
    }

    fn from_file(toml: &str, pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.toml");
        std::fs::write(&path, toml).unwrap();
        Settings::load(Sources {
            file: Some(&path),
            env: env(pairs),
        })
    }

    #[test]
    fn an_empty_secret_in_the_file_is_refused_like_an_empty_variable() {
        let by_variable =
            load(&[("SLACK_BOT_TOKEN", "xoxb-1"), ("SLACK_SIGNING_SECRET", "")]).unwrap();
        assert!(by_variable.require_slack().is_err());
        for toml in [
            "[slack]\nbot_token = \"xoxb-1\"\nsigning_secret = \"\"\n",
            "[slack]\nbot_token = \"xoxb-1\"\nsigning_secret = \"  \"\n",
            "[slack]\nbot_token = \"\"\nsigning_secret = \"s\"\n",
        ] {
            let s = from_file(toml, &[]).unwrap();
            let refused = s.require_slack().err().unwrap().to_string();
            assert!(refused.contains("SLACK_SIGNING_SECRET"), "{refused}");
        }
        let s = from_file(
            "[slack]\nbot_token = \"xoxb-1\"\nsigning_secret = \"s\"\n",
            &[],
        )
        .unwrap();
        assert!(s.require_slack().is_ok());
    }

    #[test]
    fn private_incident_keys() {
        let s = load(&[]).unwrap();
        assert!(s.incidents.security_private);
        assert_eq!(s.private_incidents.announce, PrivateAnnounce::Redacted);
        assert_eq!(s.permissions.take_over, Allowed::Anyone);
        let s = load(&[
            ("WARROOM_INCIDENTS__SECURITY_PRIVATE", "false"),
            ("WARROOM_PRIVATE_INCIDENTS__ANNOUNCE", "none"),
            ("WARROOM_PERMISSIONS__TAKE_OVER", "Incident Lead,Scribe"),
        ])
        .unwrap();
        assert!(!s.incidents.security_private);
        assert_eq!(s.private_incidents.announce, PrivateAnnounce::None);
        assert_eq!(
            s.permissions.take_over,
            Allowed::roles(&["Incident Lead", "Scribe"])
        );
        let s = from_file(
            "[private_incidents]\nannounce = \"full\"\n[incidents]\nsecurity_private = false\n[permissions]\ntake_over = [\"Incident Lead\"]\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.private_incidents.announce, PrivateAnnounce::Full);
        assert!(!s.incidents.security_private);
        assert_eq!(s.permissions.take_over, Allowed::roles(&["Incident Lead"]));
    }

    #[test]
    fn severity_matrix_from_file_is_checked_at_start_up() {
        let s = load(&[]).unwrap();
        assert_eq!(s.severity_matrix.map(|m| m.impacts().len()), Some(3));
        let s = from_file(
            "[severity_matrix]\nimpacts = [\"Everyone\", \"Few\"]\nurgencies = [\"Now\"]\n[[severity_matrix.rules]]\nimpact = \"Everyone\"\nurgency = \"Now\"\nseverity = \"sev1\"\n[[severity_matrix.rules]]\nimpact = \"Few\"\nurgency = \"Now\"\nseverity = \"SEV3\"\n",
            &[],
        )
        .unwrap();
        let m = s.severity_matrix.unwrap();
        let a = m.assess("Few", "Now").unwrap();
        assert_eq!(m.suggest(&a), Some("SEV3"));
        for (file, says) in [
            (
                "[severity_matrix]\nimpacts = [\"Everyone\"]\nurgencies = [\"Now\"]\nrules = [{ impact = \"Everyone\", urgency = \"Now\", severity = \"SEV9\" }]\n",
                "SEV9",
            ),
            (
                "[severity_matrix]\nimpacts = [\"Everyone\"]\nurgencies = [\"Now\"]\nrules = [{ impact = \"Nobody\", urgency = \"Now\", severity = \"SEV1\" }]\n",
                "Nobody",
            ),
            (
                "[severity_matrix]\nimpacts = [\"Everyone\"]\nurgencies = [\"Now\"]\nrules = [{ impact = \"Everyone\", urgency = \"Later\", severity = \"SEV1\" }]\n",
                "Later",
            ),
            (
                "[severity_matrix]\nimpacts = [\"Everyone\"]\nurgencies = [\"Now\", \"Later\"]\nrules = [{ impact = \"Everyone\", urgency = \"Now\", severity = \"SEV1\" }]\n",
                "no rule for impact `Everyone` and urgency `Later`",
            ),
        ] {
            let e = from_file(file, &[]).unwrap_err().to_string();
            assert!(e.contains("`severity_matrix`"), "{e}");
            assert!(e.contains(says), "{e}");
        }
        // Own levels and no matrix: no questions rather than a broken default.
        let s = from_file(
            "[[severities]]\nname = \"P1\"\ndescription = \"all down\"\n",
            &[],
        )
        .unwrap();
        assert!(s.severity_matrix.is_none());
    }

    #[test]
    fn the_followup_digest_is_monday_morning_unless_set() {
        use crate::domain::followups::DigestTime;
        assert_eq!(
            load(&[]).unwrap().followups.digest,
            DigestTime::parse("Monday 09:00").unwrap()
        );
        let s = load(&[("WARROOM_FOLLOWUPS__DIGEST", "Friday 16:30")]).unwrap();
        assert_eq!(
            s.followups.digest.map(|d| d.to_string()).as_deref(),
            Some("Fri 16:30")
        );
        assert_eq!(
            load(&[("WARROOM_FOLLOWUPS__DIGEST", "off")])
                .unwrap()
                .followups
                .digest,
            None
        );
        let s = from_file("[followups]\ndigest = \"\"\n", &[]).unwrap();
        assert_eq!(s.followups.digest, None);
        let e = load(&[("WARROOM_FOLLOWUPS__DIGEST", "Mondays at nine")])
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("`followups.digest`") && e.contains("Monday 09:00"),
            "{e}"
        );
    }

    #[test]
    fn bridge_template_from_file_or_environment() {
        assert!(load(&[]).unwrap().bridge.is_none());
        let s = load(&[(
            "WARROOM_BRIDGE__URL_TEMPLATE",
            "https://meet.example.com/inc-{number}",
        )])
        .unwrap();
        assert_eq!(
            s.bridge.map(|b| b.url(4)).as_deref(),
            Some("https://meet.example.com/inc-4")
        );
        let s = from_file(
            "[bridge]\nurl_template = \"https://zoom.example.com/j/1\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            s.bridge.map(|b| b.url(4)).as_deref(),
            Some("https://zoom.example.com/j/1")
        );
        let e = load(&[("WARROOM_BRIDGE__URL_TEMPLATE", "meet.example.com")])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("`bridge.url_template`"), "{e}");
    }

    #[test]
    fn role_tasks_from_the_file_with_defaults_for_the_rest() {
        let s = from_file(
            r#"
[[roles]]
name = "Incident Lead"
tasks = { start = ["Open the bridge"], during = ["Keep order"] }

[[roles]]
name = "Scribe"
[roles.tasks]
start = ["Note the roles"]
cadence = { every = "10m", tasks = ["Summarise"] }

[[roles]]
name = "Tester"
multiple = true
"#,
            &[],
        )
        .unwrap();
        let lead = s.roles.get("Incident Lead").unwrap().tasks();
        assert_eq!(lead.start, ["Open the bridge"]);
        let scribe = s.roles.get("Scribe").unwrap().tasks();
        assert_eq!(
            scribe.cadence.map(|c| c.every),
            Some(Duration::from_secs(600))
        );
        // No `tasks`: the defaults for its name.
        let tester = s.roles.get("Tester").unwrap().tasks();
        assert_eq!(
            tester,
            crate::domain::checklist::Tasks::defaults_for("Tester")
        );
        let e = from_file(
            "[[roles]]\nname = \"Incident Lead\"\ntasks = { cadence = { every = \"5s\", tasks = [\"x\"] } }\n",
            &[],
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("`roles.Incident Lead.tasks`"), "{e}");
    }
}
