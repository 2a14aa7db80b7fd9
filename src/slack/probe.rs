//! The two Web API calls `warroom check` makes, over plain hyper because
//! it needs what slack-morphism does not hand back: the `x-oauth-scopes`
//! response header of `auth.test`. Answers become typed values here.

use crate::domain::ChannelId;
use axum::body::Body;
use axum::http::{Method, Request, header};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::time::Duration;

/// The bot scopes warroom needs: exactly `oauth_config.scopes.bot` of
/// `manifest.yml` (a test holds the two equal).
pub const BOT_SCOPES: &[&str] = &[
    "commands",
    "chat:write",
    "chat:write.public",
    "channels:manage",
    "channels:read",
    "channels:join",
    "channels:history",
    "reactions:read",
    "reactions:write",
    "users:read",
    "users:read.email",
    "files:write",
    "files:read",
    "groups:write",
    "groups:read",
    "groups:history",
    "im:write",
    "im:history",
    "links:read",
    "links:write",
];

/// Largest answer read from Slack.
const MAX_ANSWER: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot reach Slack at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("Slack answered HTTP {status} for {method}")]
    Status { method: &'static str, status: u16 },
    #[error("Slack's answer to {method} is unreadable: {reason}")]
    Unreadable {
        method: &'static str,
        reason: String,
    },
    /// `{"ok": false, "error": code}`.
    #[error("Slack refused {method}: {code}")]
    Refused { method: &'static str, code: String },
}

/// Who the token belongs to and what it may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub user: String,
    pub team: String,
    /// From `x-oauth-scopes`; `None` when Slack did not send the header.
    pub scopes: Option<BTreeSet<String>>,
}

/// What the bot can tell about a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelInfo {
    pub name: String,
    pub is_private: bool,
    pub is_archived: bool,
    pub is_member: bool,
}

pub struct Probe {
    client: Client<HttpsConnector<HttpConnector>, Body>,
    api_url: String,
    token: SecretString,
    timeout: Duration,
}

#[derive(Deserialize)]
struct Answer {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    channel: Option<RawChannel>,
}

#[derive(Deserialize)]
struct RawChannel {
    #[serde(default)]
    name: String,
    #[serde(default)]
    is_private: bool,
    #[serde(default)]
    is_archived: bool,
    #[serde(default)]
    is_member: bool,
}

impl Probe {
    pub fn new(api_url: &str, token: &SecretString, timeout: Duration) -> std::io::Result<Self> {
        let https = crate::net::https_connector()?;
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(https),
            api_url: api_url.trim_end_matches('/').to_string(),
            token: token.clone(),
            timeout,
        })
    }

    /// `auth.test`, with the token's scopes from the response header.
    pub async fn auth_test(&self) -> Result<Identity, ProbeError> {
        let (headers, answer) = self.call("auth.test", Method::POST, "").await?;
        let scopes = headers
            .get("x-oauth-scopes")
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            });
        Ok(Identity {
            user_id: answer.user_id.unwrap_or_default(),
            user: answer.user.unwrap_or_default(),
            team: answer.team.unwrap_or_default(),
            scopes,
        })
    }

    /// `conversations.info` for one channel id.
    pub async fn channel(&self, id: &ChannelId) -> Result<ChannelInfo, ProbeError> {
        let query = serde_urlencoded::to_string([("channel", id.as_str())]).unwrap_or_default();
        let (_, answer) = self.call("conversations.info", Method::GET, &query).await?;
        let c = answer.channel.ok_or_else(|| ProbeError::Unreadable {
            method: "conversations.info",
            reason: "no channel in the answer".to_string(),
        })?;
        Ok(ChannelInfo {
            name: c.name,
            is_private: c.is_private,
            is_archived: c.is_archived,
            is_member: c.is_member,
        })
    }

    async fn call(
        &self,
        method: &'static str,
        verb: Method,
        query: &str,
    ) -> Result<(axum::http::HeaderMap, Answer), ProbeError> {
        let mut url = format!("{}/{method}", self.api_url);
        if !query.is_empty() {
            url = format!("{url}?{query}");
        }
        let unreachable = |reason: String| ProbeError::Unreachable {
            url: self.api_url.clone(),
            reason,
        };
        let request = Request::builder()
            .method(verb)
            .uri(&url)
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", self.token.expose_secret()),
            )
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::empty())
            .map_err(|e| unreachable(e.to_string()))?;
        let response = tokio::time::timeout(self.timeout, self.client.request(request))
            .await
            .map_err(|_| unreachable(format!("no answer within {:?}", self.timeout)))?
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status();
        let (parts, body) = response.into_parts();
        if !status.is_success() {
            return Err(ProbeError::Status {
                method,
                status: status.as_u16(),
            });
        }
        let bytes = tokio::time::timeout(
            self.timeout,
            axum::body::to_bytes(Body::new(body), MAX_ANSWER),
        )
        .await
        .map_err(|_| unreachable(format!("no answer within {:?}", self.timeout)))?
        .map_err(|e| ProbeError::Unreadable {
            method,
            reason: e.to_string(),
        })?;
        let answer: Answer =
            serde_json::from_slice(&bytes).map_err(|e| ProbeError::Unreadable {
                method,
                reason: e.to_string(),
            })?;
        if !answer.ok {
            return Err(ProbeError::Refused {
                method,
                code: answer.error.unwrap_or_else(|| "unknown_error".to_string()),
            });
        }
        Ok((parts.headers, answer))
    }
}
