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
}

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
        }
    }
}

/// Reminder cadences (seed 000: not more often than every 30 minutes, never
/// silent past 60).
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
#[derive(Clone)]
pub struct SlackSecrets {
    pub bot_token: SecretString,
    pub signing_secret: SecretString,
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
    /// Present when a bot token and signing secret were given; `serve`
    /// refuses to start without them, `migrate` does not need them.
    pub slack: Option<SlackSecrets>,
    /// Set when `SLACK_APP_TOKEN` asks for Socket Mode.
    pub socket_mode: bool,
    pub reminders: Reminders,
    pub severities: SeverityCatalog,
    pub roles: RoleCatalog,
    pub timeline: TimelineSettings,
    pub postmortem: PostmortemSettings,
    /// Who may close, assign, change the severity and tag.
    pub permissions: Permissions,
    pub audiences: BTreeMap<String, String>,
}

/// Where settings come from: a file (if any) and a set of environment
/// variables (the process environment in `main`, a map in tests).
pub struct Sources<'a> {
    /// An explicit `--config`: must exist. `None`: `warroom.toml` if present.
    pub file: Option<&'a Path>,
    pub env: HashMap<String, String>,
}

/// Variables under the `WARROOM_` prefix that are not configuration keys.
const NOT_KEYS: &[&str] = &["WARROOM_TEST_", "WARROOM_LOG"];

/// Keys whose variable holds a comma-separated list (`Scribe,Incident Lead`).
const LIST_KEYS: &[&str] = &[
    "timeline.taggers",
    "permissions.close",
    "permissions.assign",
    "permissions.severity",
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
        let roles = RoleCatalog::new(raw.roles).map_err(|e| key_error("roles", e.to_string()))?;
        let allowed = |action: Permission, list: &[String]| {
            Allowed::from_config(list, &roles).map_err(|e| key_error(action.key(), e.to_string()))
        };
        let permissions = Permissions {
            close: allowed(Permission::Close, &raw.permissions.close)?,
            assign: allowed(Permission::Assign, &raw.permissions.assign)?,
            severity: allowed(Permission::Severity, &raw.permissions.severity)?,
            tag: allowed(Permission::Tag, &raw.timeline.taggers)?,
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
        let slack = match (raw.slack.bot_token, raw.slack.signing_secret) {
            (Some(bot_token), Some(signing_secret)) => {
                if !bot_token.expose_secret().starts_with("xoxb-") {
                    return Err(key_error(
                        "SLACK_BOT_TOKEN",
                        "not a bot token: it starts with xoxb- (OAuth & Permissions page of your Slack app)",
                    ));
                }
                Some(SlackSecrets {
                    bot_token,
                    signing_secret,
                })
            }
            _ => None,
        };
        let socket_mode = match raw.slack.app_token {
            Some(t) if !t.expose_secret().starts_with("xapp-") => {
                return Err(key_error(
                    "SLACK_APP_TOKEN",
                    "not an app-level token: it starts with xapp-",
                ));
            }
            Some(_) => true,
            None => false,
        };
        Ok(Settings {
            database_url: raw.database_url,
            listen,
            announce_channel: raw.announce_channel,
            timezone,
            slack_api_url,
            slack_rate_control: raw.slack.rate_control,
            slack_call_timeout: raw.slack.call_timeout,
            slack_max_in_flight: raw.slack.max_in_flight,
            slack,
            socket_mode,
            reminders: raw.reminders,
            severities,
            roles,
            timeline,
            postmortem: raw.postmortem,
            permissions,
            audiences: raw.audiences,
        })
    }

    /// The Slack credentials `serve` needs, or the one line that says which
    /// is missing.
    pub fn require_slack(&self) -> Result<&SlackSecrets, ConfigError> {
        self.slack.as_ref().ok_or_else(|| {
            key_error(
                "SLACK_BOT_TOKEN or SLACK_SIGNING_SECRET",
                "missing: set both (Slack app settings: OAuth & Permissions, Basic Information)",
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
    }
}
