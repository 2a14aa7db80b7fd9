//! `[web]`: the web record's address and its sign-in with OpenID Connect
//! (Slack's by default). Off unless `web.base_url` is set.

use super::{ConfigError, key_error};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;

/// Slack's OpenID Connect issuer ("Sign in with Slack").
pub const SLACK_ISSUER: &str = "https://slack.com";

/// `[web]`, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawWeb {
    pub base_url: Option<String>,
    pub allowed_team: Option<String>,
    #[serde(with = "humantime_serde")]
    pub session_lifetime: Duration,
    pub oidc: RawOidc,
}

impl Default for RawWeb {
    fn default() -> Self {
        Self {
            base_url: None,
            allowed_team: None,
            session_lifetime: Duration::from_secs(12 * 3600),
            oidc: RawOidc::default(),
        }
    }
}

/// `[web.oidc]`, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawOidc {
    pub issuer: String,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// `slack` or `email`; unset: `slack` for Slack's issuer, else `email`.
    pub identity: Option<String>,
}

impl Default for RawOidc {
    fn default() -> Self {
        Self {
            issuer: SLACK_ISSUER.to_string(),
            client_id: None,
            client_secret: None,
            identity: None,
        }
    }
}

/// The web record, checked.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// Where people reach it (`https://warroom.example.com`); its pages
    /// are under `/web`, sign-in comes back to `/web/callback`.
    pub base_url: url::Url,
    /// Exactly as configured: the id tokens' `iss` must equal it.
    pub issuer: String,
    /// How the id token names the person.
    pub identity: Identity,
    pub client_id: String,
    /// Never printed.
    pub client_secret: SecretString,
    /// Only this workspace's people may sign in with Slack (its team id,
    /// `T…`); unset: the bot's own workspace.
    pub allowed_team: Option<String>,
    pub session_lifetime: Duration,
}

/// How an id token names the Slack user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// By Slack's claims (`https://slack.com/user_id`, `team_id`): only
    /// Sign in with Slack itself can vouch for those.
    Slack,
    /// By its verified e-mail, looked up in the workspace.
    Email,
}

impl WebSettings {
    /// Whether cookies must be `Secure` (the pages are served over https).
    pub fn secure(&self) -> bool {
        self.base_url.scheme() == "https"
    }

    /// The page of incident `number`.
    pub fn incident_url(&self, number: crate::domain::IncidentNumber) -> String {
        format!(
            "{}/web/incidents/{number}",
            self.base_url.as_str().trim_end_matches('/')
        )
    }

    /// The sign-in callback the identity provider redirects to.
    pub fn redirect_url(&self) -> String {
        format!(
            "{}/web/callback",
            self.base_url.as_str().trim_end_matches('/')
        )
    }
}

fn http_url(key: &str, raw: &str) -> Result<url::Url, ConfigError> {
    url::Url::parse(raw.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
        .ok_or_else(|| key_error(key, format!("`{raw}`: not an http(s) URL with a host")))
}

/// `[web]` checked: `None` without `web.base_url` (the web record is off).
pub(super) fn check(raw: RawWeb) -> Result<Option<WebSettings>, ConfigError> {
    let Some(base) = raw.base_url.filter(|b| !b.trim().is_empty()) else {
        return Ok(None);
    };
    let base_url = http_url("web.base_url", &base)?;
    let issuer = raw.oidc.issuer.trim().to_string();
    http_url("web.oidc.issuer", &issuer)?;
    // Slack's tokens say `https://slack.com`, however it was written here.
    let issuer = if issuer.trim_end_matches('/') == SLACK_ISSUER {
        SLACK_ISSUER.to_string()
    } else {
        issuer
    };
    let identity = match raw.oidc.identity.as_deref().map(str::trim) {
        None | Some("") if issuer == SLACK_ISSUER => Identity::Slack,
        None | Some("") | Some("email") => Identity::Email,
        Some("slack") => Identity::Slack,
        Some(other) => {
            return Err(key_error(
                "web.oidc.identity",
                format!("`{other}`: `slack` (Sign in with Slack) or `email`"),
            ));
        }
    };
    let client_id = raw
        .oidc
        .client_id
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            key_error(
                "web.oidc.client_id",
                "unset while web.base_url is set: the Slack app's Client ID (Basic Information → App Credentials)",
            )
        })?;
    let client_secret = raw
        .oidc
        .client_secret
        .filter(|s| !s.expose_secret().trim().is_empty())
        .ok_or_else(|| {
            key_error(
                "web.oidc.client_secret",
                "unset while web.base_url is set: the Slack app's Client Secret, best from WARROOM_WEB__OIDC__CLIENT_SECRET",
            )
        })?;
    let allowed_team = raw
        .allowed_team
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    if let Some(team) = &allowed_team
        && !(team.starts_with(['T', 'E']) && team.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        return Err(key_error(
            "web.allowed_team",
            format!("`{team}`: a Slack team id like T0123ABCD"),
        ));
    }
    if raw.session_lifetime < Duration::from_secs(60)
        || raw.session_lifetime > Duration::from_secs(30 * 24 * 3600)
    {
        return Err(key_error(
            "web.session_lifetime",
            "give 1 minute to 30 days, like `12h`",
        ));
    }
    Ok(Some(WebSettings {
        base_url,
        issuer,
        identity,
        client_id,
        client_secret,
        allowed_team,
        session_lifetime: raw.session_lifetime,
    }))
}
