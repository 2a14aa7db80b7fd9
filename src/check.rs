//! `warroom check`: is this installation ready for its first incident?
//! Each check is one line, passed or failed with what to do; the command
//! succeeds only when every check passes.

use crate::config::Settings;
use crate::domain::ChannelId;
use crate::slack::probe::{BOT_SCOPES, ChannelInfo, Probe, ProbeError};
use std::collections::BTreeSet;

/// One check's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub ok: bool,
    pub text: String,
}

impl Line {
    fn pass(text: impl Into<String>) -> Self {
        Self {
            ok: true,
            text: text.into(),
        }
    }
    fn fail(text: impl Into<String>) -> Self {
        Self {
            ok: false,
            text: text.into(),
        }
    }
}

impl Line {
    /// The line for a configuration that could not be read.
    pub fn failed_config(e: &crate::config::ConfigError) -> Self {
        Self::fail(format!(
            "configuration: {e}: fix it, then run warroom check again"
        ))
    }
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = if self.ok { '✓' } else { '✗' };
        write!(f, "{mark} {}", self.text)
    }
}

/// Runs every check that can run (the configuration was read already).
pub async fn run(settings: &Settings) -> Vec<Line> {
    let mut lines = vec![Line::pass("configuration read")];
    match settings.require_slack() {
        Err(e) => lines.push(Line::fail(format!(
            "Slack credentials: {e}; the Slack checks were skipped"
        ))),
        Ok(secrets) => {
            lines.push(Line::pass(
                "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set",
            ));
            match Probe::new(
                &settings.slack_api_url,
                &secrets.bot_token,
                settings.slack_call_timeout,
            ) {
                Ok(probe) => slack_checks(settings, &probe, &mut lines).await,
                Err(e) => lines.push(Line::fail(format!(
                    "cannot set up TLS to reach Slack ({e}): install the system's CA certificates"
                ))),
            }
        }
    }
    lines.push(template(settings));
    lines.extend(alerts(settings));
    lines.extend(webhooks(settings).await);
    lines
}

/// One line per `[[webhooks]]` endpoint: where it goes and which events,
/// and from the database whether it is enabled (a `410 Gone` disables it
/// until a restart), its last success and failure, and its backlog.
pub async fn webhooks(settings: &Settings) -> Vec<Line> {
    if settings.webhooks.is_empty() {
        return Vec::new();
    }
    let status = match crate::store::connect(&settings.database_url).await {
        Ok(store) => store.webhook_status().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| "never".to_string())
    };
    settings
        .webhooks
        .iter()
        .map(|e| {
            let events: Vec<&str> = e.events.iter().map(|p| p.as_str()).collect();
            let head = format!("webhook `{}` → {} ({})", e.name, e.url, events.join(", "));
            match &status {
                Err(why) => Line::pass(format!(
                    "{head}; delivery status unknown ({why}): run warroom migrate, or check database_url"
                )),
                Ok(all) => match all.iter().find(|s| s.name == e.name) {
                    None => Line::pass(format!("{head}; nothing delivered yet (it is recorded when serve starts)")),
                    Some(s) if !s.enabled => Line::fail(format!(
                        "{head}: disabled by 410 Gone at {}; {} pending; restart warroom with it configured to enable it again",
                        when(s.disabled_at),
                        s.pending
                    )),
                    Some(s) => {
                        let failure = match (&s.last_error, s.last_failure_at) {
                            (Some(error), Some(at)) => format!(", last failure {} ({error})", when(Some(at))),
                            _ => String::new(),
                        };
                        Line::pass(format!(
                            "{head}: enabled, last success {}{failure}, {} pending, {} given up",
                            when(s.last_success_at),
                            s.pending,
                            s.failed
                        ))
                    }
                },
            }
        })
        .collect()
}

/// One line per alert source and per route. A bad matcher, an unknown
/// severity or a broken title stops the configuration from loading, so
/// they show as the configuration's ✗ line naming the key; here each
/// source says where it listens and how it is checked, each route what
/// it does.
pub fn alerts(settings: &Settings) -> Vec<Line> {
    use crate::config::AlertSourceKind;
    let a = &settings.alerts;
    let mut lines = Vec::new();
    for s in &a.sources {
        let how = match (s.kind, &s.token, &s.secret) {
            (AlertSourceKind::Pagerduty, _, Some(_)) => "X-PagerDuty-Signature checked".to_string(),
            (AlertSourceKind::Grafana, token, Some(_)) => format!(
                "{} HMAC checked{}",
                s.signature_header,
                if token.is_some() {
                    ", and a bearer token"
                } else {
                    ""
                }
            ),
            (_, Some(_), _) => "bearer token checked".to_string(),
            _ => String::new(),
        };
        lines.push(if how.is_empty() {
            Line::fail(format!(
                "alert source `{}` ({}): no credentials: set its token or secret",
                s.name,
                s.kind.as_str()
            ))
        } else {
            Line::pass(format!(
                "alert source `{}` ({}): POST /hooks/alerts/{} on `listen`, {how}",
                s.name,
                s.kind.as_str(),
                s.name
            ))
        });
    }
    if a.sources.is_empty() {
        return lines;
    }
    for (i, r) in a.routes.0.iter().enumerate() {
        lines.push(Line::pass(format!("alert route {i}: {}", r.describe())));
    }
    lines.push(Line::pass(format!(
        "alerts no route matches get a card; at most {} war rooms an hour opened by alerts",
        a.max_declares_per_hour
    )));
    lines
}

async fn slack_checks(settings: &Settings, probe: &Probe, lines: &mut Vec<Line>) {
    let identity = match probe.auth_test().await {
        Ok(i) => i,
        Err(e) => {
            lines.push(Line::fail(match &e {
                ProbeError::Refused { code, .. } => format!(
                    "Slack refused the bot token ({code}): copy the Bot User OAuth Token (xoxb-…) again from the app's OAuth & Permissions page, and reinstall the app if it was uninstalled"
                ),
                other => format!(
                    "auth.test: {other}: check that this host can reach {} (proxy, firewall, `slack.api_url`)",
                    settings.slack_api_url
                ),
            }));
            lines.push(Line::fail(
                "scopes, announce channel: not checked without a working token",
            ));
            return;
        }
    };
    lines.push(Line::pass(format!(
        "auth.test: the token is the bot @{} ({}) in {}",
        identity.user, identity.user_id, identity.team
    )));
    let granted = match &identity.scopes {
        Some(granted) => {
            lines.push(scopes(granted));
            granted.clone()
        }
        None => {
            lines.push(Line::fail(
                "scopes: Slack did not list the token's scopes (no x-oauth-scopes header): is `slack.api_url` Slack's Web API?",
            ));
            BTreeSet::new()
        }
    };
    lines.push(match &settings.announce_channel {
        None => Line::pass(
            "announce_channel is unset: each incident is announced where it was declared",
        ),
        Some(id) => match probe.channel(id).await {
            Ok(info) => announce(id, &info, &granted),
            Err(ProbeError::Refused { code, .. }) => Line::fail(format!(
                "announce_channel {id}: Slack answered {code}: set `announce_channel` to the ID of a channel the bot can see (channel details → About → Channel ID; for a private channel, /invite @warroom there first)"
            )),
            Err(e) => Line::fail(format!("announce_channel {id}: {e}")),
        },
    });
}

/// The manifest's scopes the token lacks.
pub fn missing_scopes(granted: &BTreeSet<String>) -> Vec<&'static str> {
    BOT_SCOPES
        .iter()
        .copied()
        .filter(|s| !granted.contains(*s))
        .collect()
}

fn scopes(granted: &BTreeSet<String>) -> Line {
    let missing = missing_scopes(granted);
    if missing.is_empty() {
        Line::pass(format!(
            "scopes: the token has all {} that manifest.yml asks for",
            BOT_SCOPES.len()
        ))
    } else {
        Line::fail(format!(
            "scopes: the token lacks {}: add them under OAuth & Permissions (or paste manifest.yml again), reinstall the app to the workspace, then update SLACK_BOT_TOKEN",
            missing.join(", ")
        ))
    }
}

fn announce(id: &ChannelId, info: &ChannelInfo, granted: &BTreeSet<String>) -> Line {
    let name = &info.name;
    if info.is_archived {
        Line::fail(format!(
            "announce_channel {id} (#{name}) is archived: unarchive it or set another channel"
        ))
    } else if info.is_member {
        Line::pass(format!(
            "announce_channel {id} (#{name}): the bot is a member and can post"
        ))
    } else if !info.is_private && granted.contains("chat:write.public") {
        Line::pass(format!(
            "announce_channel {id} (#{name}): public, the bot can post with chat:write.public"
        ))
    } else {
        Line::fail(format!(
            "announce_channel {id} (#{name}): the bot cannot post there: /invite @warroom in #{name}"
        ))
    }
}

fn template(settings: &Settings) -> Line {
    let which = match &settings.postmortem.template {
        Some(p) => format!("postmortem template {}", p.display()),
        None => "built-in postmortem template".to_string(),
    };
    match crate::postmortem::Postmortems::load(settings.postmortem.template.as_deref()) {
        Ok(_) => Line::pass(format!("{which} loads and renders")),
        Err(e) => Line::fail(format!(
            "{which}: {e}: fix `postmortem.template` or unset it to use the built-in one"
        )),
    }
}

/// `warroom healthcheck`: asks the running server's `/healthz` (on
/// `admin_listen`, else `listen`; an unspecified address means loopback).
/// For container HEALTHCHECKs in images that have no curl.
pub async fn health(settings: &Settings) -> Result<(), String> {
    use axum::body::Body;
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    let mut addr = settings.admin_listen.unwrap_or(settings.listen);
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let url = format!("http://{addr}/healthz");
    let client: Client<HttpConnector, Body> =
        Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let request = axum::http::Request::get(&url)
        .body(Body::empty())
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(std::time::Duration::from_secs(5), client.request(request)).await {
        Err(_) => Err(format!("{url} did not answer within 5 s")),
        Ok(Err(e)) => Err(format!("{url}: {e}")),
        Ok(Ok(r)) if r.status().is_success() => Ok(()),
        Ok(Ok(r)) => Err(format!("{url} answered {}", r.status())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn missing_scopes_are_named() {
        let all = set(BOT_SCOPES);
        assert!(missing_scopes(&all).is_empty());
        let mut some = all.clone();
        some.remove("files:read");
        some.remove("channels:join");
        some.insert("extra:scope".to_string());
        assert_eq!(missing_scopes(&some), vec!["channels:join", "files:read"]);
        let line = scopes(&some);
        assert!(!line.ok);
        assert!(
            line.to_string()
                .starts_with("✗ scopes: the token lacks channels:join, files:read")
        );
    }

    #[test]
    fn who_can_post_in_the_announce_channel() {
        let public = ChannelInfo {
            name: "incidents".into(),
            is_private: false,
            is_archived: false,
            is_member: false,
        };
        let all = set(BOT_SCOPES);
        assert!(
            announce(&ChannelId::new("C1"), &public, &all).ok,
            "chat:write.public"
        );
        assert!(!announce(&ChannelId::new("C1"), &public, &set(&["chat:write"])).ok);
        let private = ChannelInfo {
            is_private: true,
            ..public.clone()
        };
        assert!(!announce(&ChannelId::new("C1"), &private, &all).ok);
        assert!(
            announce(
                &ChannelId::new("C1"),
                &ChannelInfo {
                    is_member: true,
                    ..private
                },
                &all
            )
            .ok
        );
        let archived = ChannelInfo {
            is_archived: true,
            is_member: true,
            ..public
        };
        let line = announce(&ChannelId::new("C1"), &archived, &all);
        assert!(!line.ok && line.text.contains("archived"), "{line}");
    }
}
