//! `alerts.*` checked: the sources (names, kinds, credentials, also from
//! `WARROOM_ALERTS__SOURCES__<NAME>__TOKEN` / `__SECRET`) and the routes
//! (matchers, action, severities, channel, title template). The first
//! problem found is the one reported, naming its key.

use super::sections::{AlertSettings, AlertSource, AlertSourceKind, RawAlertRoute, RawAlerts};
use super::types::ChannelId;
use super::{ConfigError, key_error};
use crate::domain::SeverityCatalog;
use crate::domain::alerts::{Matcher, Route, RouteAction, Routes, TitleTemplate};
use secrecy::{ExposeSecret, SecretString};

/// The header Grafana signs with unless told otherwise.
pub const GRAFANA_SIGNATURE_HEADER: &str = "X-Grafana-Alerting-Signature";

/// Most `[[alerts.sources]]` and `[[alerts.routes]]`.
const MAX_SOURCES: usize = 50;
const MAX_ROUTES: usize = 100;

/// The part of a source's variables after the name: `TOKEN` or `SECRET`.
fn variable_name(source: &str) -> String {
    source.to_ascii_uppercase().replace('-', "_")
}

/// Fills each source's `token` and `secret` from its variables (which win
/// over the file), given as the text after `WARROOM_ALERTS__SOURCES__`
/// (`PAGERDUTY__SECRET`) with its value. A variable naming no configured
/// source, or another field, is refused.
pub(super) fn source_credentials<'a>(
    alerts: &mut RawAlerts,
    vars: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), ConfigError> {
    for (rest, value) in vars {
        let var = format!("WARROOM_ALERTS__SOURCES__{rest}");
        let (name, field) = rest.rsplit_once("__").ok_or_else(|| {
            key_error(
                &var,
                "not a source credential: write WARROOM_ALERTS__SOURCES__<NAME>__TOKEN or __SECRET",
            )
        })?;
        let Some(source) = alerts
            .sources
            .iter_mut()
            .find(|s| variable_name(&s.name).eq_ignore_ascii_case(name))
        else {
            return Err(key_error(
                &var,
                format!(
                    "naming no [[alerts.sources]] entry: add one with name = \"{}\" to the file (the variable gives only its credential)",
                    name.to_ascii_lowercase().replace('_', "-")
                ),
            ));
        };
        let value =
            (!value.trim().is_empty()).then(|| SecretString::from(value.trim().to_string()));
        match field.to_ascii_uppercase().as_str() {
            "TOKEN" => source.token = value.or(source.token.take()),
            "SECRET" => source.secret = value.or(source.secret.take()),
            _ => {
                return Err(key_error(
                    &var,
                    "not a source credential: only __TOKEN and __SECRET can be set from the environment",
                ));
            }
        }
    }
    Ok(())
}

/// `alerts.*` checked against the severity levels; `announce_channel` is
/// where cards go unless a route names a channel.
pub(super) fn check(
    raw: RawAlerts,
    severities: &SeverityCatalog,
    announce_channel: Option<&crate::domain::ChannelId>,
) -> Result<AlertSettings, ConfigError> {
    if raw.sources.len() > MAX_SOURCES {
        return Err(key_error(
            "alerts.sources",
            format!("longer than {MAX_SOURCES} sources"),
        ));
    }
    if raw.routes.len() > MAX_ROUTES {
        return Err(key_error(
            "alerts.routes",
            format!("longer than {MAX_ROUTES} routes"),
        ));
    }
    let mut sources: Vec<AlertSource> = Vec::new();
    for (i, s) in raw.sources.into_iter().enumerate() {
        let key = |field: &str| format!("alerts.sources[{i}].{field}");
        let name = s.name.trim().to_string();
        if !super::is_slug(&name) {
            return Err(key_error(
                &key("name"),
                format!(
                    "`{name}`: a source's name is 1 to 64 of a-z, 0-9, - and _ (it is the last part of /hooks/alerts/NAME)"
                ),
            ));
        }
        if sources.iter().any(|o| o.name == name) {
            return Err(key_error(
                &key("name"),
                format!("`{name}` twice: each source needs its own name"),
            ));
        }
        let kind = AlertSourceKind::parse(&s.kind).ok_or_else(|| {
            key_error(
                &key("kind"),
                format!(
                    "`{}`: use alertmanager, grafana, pagerduty or generic",
                    s.kind
                ),
            )
        })?;
        let given = |v: Option<SecretString>| v.filter(|v| !v.expose_secret().trim().is_empty());
        let (token, secret) = (given(s.token), given(s.secret));
        let env = format!("WARROOM_ALERTS__SOURCES__{}", variable_name(&name));
        match kind {
            AlertSourceKind::Alertmanager | AlertSourceKind::Generic if token.is_none() => {
                return Err(key_error(
                    &key("token"),
                    format!(
                        "missing for source `{name}`: set the bearer token its sender sends (in the file, or {env}__TOKEN)"
                    ),
                ));
            }
            AlertSourceKind::Pagerduty if secret.is_none() => {
                return Err(key_error(
                    &key("secret"),
                    format!(
                        "missing for source `{name}`: set the webhook subscription's signing secret from PagerDuty (in the file, or {env}__SECRET)"
                    ),
                ));
            }
            AlertSourceKind::Grafana if token.is_none() && secret.is_none() => {
                return Err(key_error(
                    &key("token"),
                    format!(
                        "missing for source `{name}`: set a bearer token (the contact point's Authorization credentials) or the HMAC `secret` (in the file, or {env}__TOKEN / __SECRET)"
                    ),
                ));
            }
            _ => {}
        }
        if kind != AlertSourceKind::Grafana
            && (s.signature_header.is_some() || s.timestamp_header.is_some())
        {
            return Err(key_error(
                &key("timestamp_header"),
                "only for grafana sources (Grafana's HMAC signature)",
            ));
        }
        let header = |h: Option<String>, field: &str| -> Result<Option<String>, ConfigError> {
            match h.map(|h| h.trim().to_string()) {
                Some(h)
                    if h.is_empty()
                        || !h
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
                {
                    Err(key_error(&key(field), format!("`{h}`: not a header name")))
                }
                other => Ok(other),
            }
        };
        sources.push(AlertSource {
            name,
            kind,
            token,
            secret,
            signature_header: header(s.signature_header, "signature_header")?
                .unwrap_or_else(|| GRAFANA_SIGNATURE_HEADER.to_string()),
            timestamp_header: header(s.timestamp_header, "timestamp_header")?,
        });
    }
    let mut routes = Vec::new();
    for (i, r) in raw.routes.into_iter().enumerate() {
        routes.push(route(i, r, severities)?);
    }
    if !sources.is_empty() && announce_channel.is_none() {
        return Err(key_error(
            "announce_channel",
            "unset while [[alerts.sources]] are configured: alert cards go to the announce channel unless a route names a channel, so set it to a channel ID like C0123ABCD",
        ));
    }
    if raw.max_declares_per_hour > 1000 {
        return Err(key_error("alerts.max_declares_per_hour", "more than 1000"));
    }
    let notify = raw
        .notify
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    if let Some(n) = &notify
        && (n.chars().count() > 500 || n.contains('\n'))
    {
        return Err(key_error(
            "alerts.notify",
            "longer than 500 characters or on several lines: give mentions such as <!subteam^S0123> or <@U0123>",
        ));
    }
    Ok(AlertSettings {
        sources,
        routes: Routes(routes),
        max_declares_per_hour: raw.max_declares_per_hour,
        notify,
    })
}

/// One route, naming `alerts.routes[i].<field>` in its refusals.
fn route(i: usize, r: RawAlertRoute, severities: &SeverityCatalog) -> Result<Route, ConfigError> {
    let key = |field: &str| format!("alerts.routes[{i}].{field}");
    let mut matchers = Vec::new();
    for m in &r.matchers {
        matchers.extend(
            Matcher::parse_list(m).map_err(|e| key_error(&key("matchers"), e.to_string()))?,
        );
    }
    let action = match r.action.as_deref().map(str::trim) {
        None => RouteAction::Suggest,
        Some("declare") => RouteAction::Declare,
        Some("suggest") => RouteAction::Suggest,
        Some("ignore") => RouteAction::Ignore,
        Some(other) => {
            return Err(key_error(
                &key("action"),
                format!("`{other}`: use declare, suggest or ignore"),
            ));
        }
    };
    let level = |name: &str, key: &str| {
        severities
            .resolve(name)
            .map(|l| l.name.clone())
            .map_err(|e| key_error(key, e.to_string()))
    };
    let severity = match &r.severity {
        Some(s) => Some(level(s, &key("severity"))?),
        None => None,
    };
    let severity_label = r
        .severity_label
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty());
    if severity_label.is_none() && !r.severity_map.is_empty() {
        return Err(key_error(
            &key("severity_map"),
            "set without severity_label: name the label whose values it maps (severity_label = \"severity\")",
        ));
    }
    let mut severity_map = std::collections::BTreeMap::new();
    for (value, name) in &r.severity_map {
        severity_map.insert(
            value.clone(),
            level(name, &key(&format!("severity_map.{value}")))?,
        );
    }
    let channel = match &r.channel {
        None => None,
        Some(c) => Some(ChannelId::parse(c).ok_or_else(|| {
            key_error(
                &key("channel"),
                format!("not a channel ID like C0123ABCD: `{c}`"),
            )
        })?),
    };
    let title = match r.title.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => {
            Some(TitleTemplate::parse(t).map_err(|e| key_error(&key("title"), e.to_string()))?)
        }
    };
    Ok(Route {
        matchers,
        action,
        severity,
        severity_label,
        severity_map,
        channel,
        private: r.private,
        title,
    })
}
