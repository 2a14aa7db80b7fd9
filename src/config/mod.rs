//! Typed settings: an optional TOML file, then `WARROOM_…` variables, then
//! Slack's own `SLACK_…` variables. Everything is checked here, once, so the
//! rest of the program can trust what it gets.
//!
//! `sections` is the configuration as written, with its defaults; `check`
//! turns it into [`Settings`], through the checked types of `types`.

mod alerts;
mod check;
mod sections;
mod types;
mod web;
mod webhooks;

pub use sections::{
    AlertSettings, AlertSource, AlertSourceKind, ApiSettings, FollowupSettings, IncidentSettings,
    LogFormat, LogSettings, PostmortemSettings, PrivateAnnounce, PrivateIncidents, Reminders,
    TimelineSettings, TypedTags,
};

pub use web::{Identity as WebIdentity, SLACK_ISSUER, WebSettings};
pub use webhooks::{
    BadSecret, PAGERDUTY_ENDPOINT, PAGERDUTY_EVENTS_URL, PagerDutySettings, WebhookEndpoint,
    WebhookSecret,
};

use crate::domain::permissions::Permissions;
use crate::domain::{RoleCatalog, SeverityCatalog};
use secrecy::SecretString;
use sections::Raw;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_CONFIG_FILE: &str = "warroom.toml";

/// Slack allows an app ten Socket Mode connections at once.
pub const MAX_SOCKET_CONNECTIONS: usize = 10;

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

/// A configured name that becomes part of a path, a variable or a label:
/// 1 to 64 of a-z, 0-9, `-` and `_`.
fn is_slug(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn key_error(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Key {
        key: key.to_string(),
        problem: problem.into(),
    }
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
    pub announce_channel: Option<crate::domain::ChannelId>,
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
    /// Longest one Socket Mode envelope's work may take before it is
    /// released unacked, for Slack to deliver again.
    pub socket_envelope_timeout: Duration,
    pub reminders: Reminders,
    pub severities: SeverityCatalog,
    pub roles: RoleCatalog,
    pub timeline: TimelineSettings,
    pub postmortem: PostmortemSettings,
    /// Who may close, assign, change the severity and tag.
    pub permissions: Permissions,
    pub audiences: BTreeMap<String, crate::domain::ChannelId>,
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
    /// Alerts in (`[[alerts.sources]]`, `[[alerts.routes]]`, …).
    pub alerts: AlertSettings,
    /// Outgoing webhooks (`[[webhooks]]`), each with its signing secret.
    pub webhooks: Vec<WebhookEndpoint>,
    /// Paging the on-call through PagerDuty (`[pagerduty]`), when a
    /// routing key is set.
    pub pagerduty: Option<PagerDutySettings>,
    /// The read API's per-token rate limit (`api.*`).
    pub api: ApiSettings,
    /// The web record and its sign-in (`[web]`), when `web.base_url` is set.
    pub web: Option<WebSettings>,
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

/// Variables naming one alert source's credentials
/// (`WARROOM_ALERTS__SOURCES__<NAME>__TOKEN` / `__SECRET`): the `config`
/// crate cannot address an element of a list, so they are read here.
const SOURCE_VARS: &str = "WARROOM_ALERTS__SOURCES__";

/// Variables naming one webhook endpoint's secret
/// (`WARROOM_WEBHOOKS__<NAME>__SECRET`), read here for the same reason.
const WEBHOOK_VARS: &str = "WARROOM_WEBHOOKS__";

/// Keys whose variable holds a comma-separated list (`Scribe,Incident Lead`).
const LIST_KEYS: &[&str] = &[
    "timeline.taggers",
    "permissions.close",
    "permissions.assign",
    "permissions.severity",
    "permissions.take_over",
    "pagerduty.page_severities",
];

/// The variable that sets `key`: `timeline.taggers` → `WARROOM_TIMELINE__TAGGERS`.
fn variable_of(key: &str) -> String {
    format!("WARROOM_{}", key.to_ascii_uppercase().replace('.', "__"))
}

impl Settings {
    /// The cadence of a severity level: its own overrides, else `reminders.*`.
    pub fn cadence(&self, severity: &crate::domain::SeverityName) -> crate::domain::comms::Cadence {
        let level = self.severities.resolve(severity.as_str()).ok();
        let r = &self.reminders;
        let pick = |own: Option<std::time::Duration>, default: std::time::Duration| {
            chrono::Duration::from_std(own.unwrap_or(default)).unwrap_or(chrono::Duration::MAX)
        };
        crate::domain::comms::Cadence {
            nudge_after: pick(level.and_then(|l| l.comms_nudge_after), r.comms_nudge_after),
            due_after: pick(level.and_then(|l| l.comms_due_after), r.comms_due_after),
            scribe_quiet_after: pick(
                level.and_then(|l| l.scribe_quiet_after),
                r.scribe_quiet_after,
            ),
        }
    }

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
                    && !k.starts_with(SOURCE_VARS)
                    && !k.starts_with(WEBHOOK_VARS)
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
        let mut raw: Raw = cfg.try_deserialize().map_err(map_config_error)?;
        let source_vars = sources
            .env
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(SOURCE_VARS)?, v.as_str())));
        alerts::source_credentials(&mut raw.alerts, source_vars)?;
        let webhook_vars = sources
            .env
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(WEBHOOK_VARS)?, v.as_str())));
        webhooks::endpoint_secrets(&mut raw.webhooks, webhook_vars)?;
        Self::check(raw)
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

fn map_config_error(e: config::ConfigError) -> ConfigError {
    ConfigError::Invalid(e.to_string().replace('\n', " "))
}

#[cfg(test)]
mod tests;
