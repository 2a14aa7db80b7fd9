//! The configuration as written, section by section, with each default
//! written once: in the section's `Default`, which serde also uses for
//! whatever the file and the environment leave out.

use crate::domain::{Role, RoleCatalog, SeverityCatalog, SeverityLevel};
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The whole configuration as written, before checking.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct Raw {
    pub database_url: String,
    pub listen: String,
    pub admin_listen: Option<String>,
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    pub log: LogSettings,
    pub announce_channel: Option<String>,
    pub timezone: String,
    pub slack: RawSlack,
    pub reminders: Reminders,
    pub severities: Vec<SeverityLevel>,
    pub roles: Vec<Role>,
    pub timeline: TimelineSettings,
    pub postmortem: PostmortemSettings,
    pub permissions: RawPermissions,
    pub audiences: BTreeMap<String, String>,
    pub incidents: IncidentSettings,
    pub private_incidents: PrivateIncidents,
    pub bridge: RawBridge,
    pub severity_matrix: Option<crate::domain::severity_matrix::RawMatrix>,
    pub followups: RawFollowups,
    pub alerts: RawAlerts,
    pub webhooks: Vec<super::webhooks::RawWebhook>,
    pub pagerduty: super::webhooks::RawPagerDuty,
    pub api: ApiSettings,
    pub web: super::web::RawWeb,
}

impl Default for Raw {
    fn default() -> Self {
        Self {
            database_url: "sqlite://warroom.db".to_string(),
            listen: "0.0.0.0:3000".to_string(),
            admin_listen: None,
            shutdown_grace: Duration::from_secs(20),
            log: LogSettings::default(),
            announce_channel: None,
            timezone: "UTC".to_string(),
            slack: RawSlack::default(),
            reminders: Reminders::default(),
            severities: SeverityCatalog::defaults(),
            roles: RoleCatalog::defaults(),
            timeline: TimelineSettings::default(),
            postmortem: PostmortemSettings::default(),
            permissions: RawPermissions::default(),
            audiences: BTreeMap::new(),
            incidents: IncidentSettings::default(),
            private_incidents: PrivateIncidents::default(),
            bridge: RawBridge::default(),
            severity_matrix: None,
            followups: RawFollowups::default(),
            alerts: RawAlerts::default(),
            webhooks: Vec::new(),
            pagerduty: Default::default(),
            api: ApiSettings::default(),
            web: Default::default(),
        }
    }
}

/// `api.*`: the read API's per-token rate limit.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSettings {
    /// Requests a second one token may make, sustained.
    pub rate_limit_per_second: u32,
    /// Requests one token may make at once before the rate applies.
    pub rate_limit_burst: u32,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            rate_limit_per_second: 20,
            rate_limit_burst: 40,
        }
    }
}

/// `alerts.*`, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawAlerts {
    pub sources: Vec<RawAlertSource>,
    pub routes: Vec<RawAlertRoute>,
    pub max_declares_per_hour: u32,
    pub notify: Option<String>,
}

impl Default for RawAlerts {
    fn default() -> Self {
        Self {
            sources: Vec::new(),
            routes: Vec::new(),
            max_declares_per_hour: 5,
            notify: None,
        }
    }
}

/// One `[[alerts.sources]]`, as written; `token` and `secret` may also
/// come from `WARROOM_ALERTS__SOURCES__<NAME>__TOKEN` / `__SECRET`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlertSource {
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub token: Option<SecretString>,
    #[serde(default)]
    pub secret: Option<SecretString>,
    /// Grafana: the header carrying the HMAC signature.
    #[serde(default)]
    pub signature_header: Option<String>,
    /// Grafana: the header carrying the timestamp that is signed with the
    /// body (`timestamp:body`).
    #[serde(default)]
    pub timestamp_header: Option<String>,
}

/// One `[[alerts.routes]]`, as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawAlertRoute {
    pub matchers: Vec<String>,
    pub action: Option<String>,
    pub severity: Option<String>,
    pub severity_label: Option<String>,
    pub severity_map: BTreeMap<String, String>,
    pub channel: Option<String>,
    pub private: bool,
    pub title: Option<String>,
}

/// What sends a source's notifications, which decides how they are read
/// and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertSourceKind {
    /// Alertmanager's webhook receiver (version 4); a bearer token.
    Alertmanager,
    /// Grafana alerting's webhook contact point (the same shape, version
    /// 1); a bearer token and/or its HMAC signature.
    Grafana,
    /// PagerDuty's Webhooks V3, signed (`X-PagerDuty-Signature`).
    Pagerduty,
    /// `{"title", "status", "dedup_key", …}` from any script; a bearer token.
    Generic,
}

impl AlertSourceKind {
    pub const ALL: [AlertSourceKind; 4] = [
        AlertSourceKind::Alertmanager,
        AlertSourceKind::Grafana,
        AlertSourceKind::Pagerduty,
        AlertSourceKind::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertSourceKind::Alertmanager => "alertmanager",
            AlertSourceKind::Grafana => "grafana",
            AlertSourceKind::Pagerduty => "pagerduty",
            AlertSourceKind::Generic => "generic",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }
}

/// One alert source, checked: `POST /hooks/alerts/{name}`.
#[derive(Clone)]
pub struct AlertSource {
    pub name: String,
    pub kind: AlertSourceKind,
    /// The bearer token a request must carry (`Authorization: Bearer …`).
    pub token: Option<SecretString>,
    /// The HMAC secret its signatures are made with.
    pub secret: Option<SecretString>,
    /// Grafana: where its signature comes (`X-Grafana-Alerting-Signature`).
    pub signature_header: String,
    /// Grafana: the signed timestamp's header, when one is configured.
    pub timestamp_header: Option<String>,
}

impl std::fmt::Debug for AlertSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertSource")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("secret", &self.secret.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

/// `alerts.*`: where alerts come from and what they do.
#[derive(Clone, Debug, Default)]
pub struct AlertSettings {
    pub sources: Vec<AlertSource>,
    pub routes: crate::domain::alerts::Routes,
    /// Most war rooms alerts may open in an hour; past it, `declare`
    /// routes post a card instead.
    pub max_declares_per_hour: u32,
    /// Who a card or an alert-declared war room mentions (a user group
    /// `<!subteam^S123>`, a person `<@U123>`), sent as a real mention.
    pub notify: Option<String>,
}

impl AlertSettings {
    pub fn source(&self, name: &str) -> Option<&AlertSource> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// Whether an alert may declare an incident (some route says
    /// `declare`), which needs the bot's own user id.
    pub fn may_declare(&self) -> bool {
        !self.sources.is_empty()
            && self
                .routes
                .0
                .iter()
                .any(|r| r.action == crate::domain::alerts::RouteAction::Declare)
    }
}

/// `followups.*`, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawFollowups {
    pub digest: String,
}

impl Default for RawFollowups {
    fn default() -> Self {
        Self {
            digest: "Monday 09:00".to_string(),
        }
    }
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
#[serde(deny_unknown_fields, default)]
pub struct IncidentSettings {
    /// A security incident gets a private war room even when "Private war
    /// room" was not ticked.
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
#[serde(deny_unknown_fields, default)]
pub struct PrivateIncidents {
    pub announce: PrivateAnnounce,
}

impl PrivateIncidents {
    /// How an incident is announced: a private one as configured, any
    /// other in full.
    pub fn announce_of(&self, private: bool) -> PrivateAnnounce {
        if private {
            self.announce
        } else {
            PrivateAnnounce::Full
        }
    }
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
#[serde(deny_unknown_fields, default)]
pub(super) struct RawBridge {
    pub url_template: Option<String>,
}

/// Who may close, assign and change the severity: role names, or
/// `anyone`. Checked into [`crate::domain::permissions::Permissions`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawPermissions {
    pub close: Vec<String>,
    pub assign: Vec<String>,
    pub severity: Vec<String>,
    pub take_over: Vec<String>,
}

impl Default for RawPermissions {
    fn default() -> Self {
        let lead_only = || vec![crate::domain::roles::INCIDENT_LEAD.to_string()];
        Self {
            close: lead_only(),
            assign: lead_only(),
            severity: lead_only(),
            take_over: vec![crate::domain::permissions::ANYONE.to_string()],
        }
    }
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
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    pub format: LogFormat,
}

/// `slack.*`, as written; the credentials also come from `SLACK_…`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSlack {
    pub api_url: String,
    pub rate_control: bool,
    #[serde(with = "humantime_serde")]
    pub call_timeout: Duration,
    pub max_in_flight: usize,
    pub bot_token: Option<SecretString>,
    pub signing_secret: Option<SecretString>,
    pub app_token: Option<SecretString>,
    pub socket_connections: usize,
    #[serde(with = "humantime_serde")]
    pub socket_envelope_timeout: Duration,
}

impl Default for RawSlack {
    fn default() -> Self {
        Self {
            api_url: "https://slack.com/api".to_string(),
            rate_control: true,
            call_timeout: Duration::from_secs(10),
            max_in_flight: 16,
            bot_token: None,
            signing_secret: None,
            app_token: None,
            socket_connections: 2,
            socket_envelope_timeout: Duration::from_secs(10),
        }
    }
}

/// Reminder cadences (the 30/60-minute update rule: not more often than
/// every 30 minutes, never silent past 60).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Reminders {
    #[serde(with = "humantime_serde")]
    pub comms_nudge_after: Duration,
    #[serde(with = "humantime_serde")]
    pub comms_due_after: Duration,
    #[serde(with = "humantime_serde")]
    pub scribe_quiet_after: Duration,
}

impl Default for Reminders {
    fn default() -> Self {
        Self {
            comms_nudge_after: Duration::from_secs(30 * 60),
            comms_due_after: Duration::from_secs(60 * 60),
            scribe_quiet_after: Duration::from_secs(45 * 60),
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct TimelineSettings {
    /// The reaction that puts a message on the timeline.
    pub tag_emoji: String,
    /// Roles whose reactions count, or `anyone` (checked into
    /// [`super::Settings::permissions`], which is what the bot obeys).
    pub taggers: Vec<String>,
    /// The bot's own reaction confirming a tag.
    pub confirm_emoji: String,
    /// Reactions that tag a message with a kind.
    pub typed_tags: TypedTags,
}

impl Default for TimelineSettings {
    fn default() -> Self {
        Self {
            tag_emoji: "pushpin".to_string(),
            taggers: vec!["Scribe".to_string(), "Incident Lead".to_string()],
            confirm_emoji: "memo".to_string(),
            typed_tags: TypedTags::default(),
        }
    }
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

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct PostmortemSettings {
    /// A team's own template (minijinja); the built-in one otherwise.
    pub template: Option<PathBuf>,
}
