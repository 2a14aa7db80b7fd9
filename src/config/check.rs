//! From the configuration as written ([`Raw`]) to [`Settings`]: each value
//! becomes its checked type, in a fixed order, so the first problem found
//! is the one reported (one line, naming the key).

use super::sections::{Raw, Reminders, TimelineSettings};
use super::types::{
    Address, ApiUrl, ChannelId, DatabaseUrl, NotAnInterval, Problem, TimeZone, count, interval,
    within,
};
use super::{
    ConfigError, FollowupSettings, MAX_SOCKET_CONNECTIONS, Settings, SlackSecrets, key_error,
};
use crate::domain::permissions::{Allowed, Permission, Permissions};
use crate::domain::{RoleCatalog, SeverityCatalog, SeverityLevel};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::time::Duration;

/// Turns a problem with the value of `key` into the error that names it.
fn at(key: &str) -> impl FnOnce(Problem) -> ConfigError + '_ {
    move |problem| key_error(key, problem)
}

impl Settings {
    pub(super) fn check(raw: Raw) -> Result<Self, ConfigError> {
        let listen = Address::parse(&raw.listen, "0.0.0.0:3000")
            .map_err(at("listen"))?
            .0;
        let admin_listen = match &raw.admin_listen {
            None => None,
            Some(a) => Some(
                Address::parse(a, "127.0.0.1:9000")
                    .map_err(at("admin_listen"))?
                    .0,
            ),
        };
        if admin_listen == Some(listen) && listen.port() != 0 {
            return Err(key_error(
                "admin_listen",
                "the same address as `listen`: unset it to serve /metrics there, or pick another port",
            ));
        }
        let shutdown_grace = within(
            raw.shutdown_grace,
            Duration::ZERO,
            Duration::from_secs(600),
            "longer than 10 minutes",
        )
        .map_err(at("shutdown_grace"))?;
        let database_url = DatabaseUrl::try_from(raw.database_url)
            .map_err(at("database_url"))?
            .0;
        let timezone = TimeZone::try_from(raw.timezone.as_str())
            .map_err(at("timezone"))?
            .0;
        let slack_api_url = ApiUrl::try_from(raw.slack.api_url.as_str())
            .map_err(at("slack.api_url"))?
            .0;
        let announce_channel = match &raw.announce_channel {
            None => None,
            Some(c) => Some(ChannelId::parse(c).ok_or_else(|| {
                key_error(
                    "announce_channel",
                    format!(
                        "not a channel ID like C0123ABCD (a name such as #incidents won't do): `{c}`"
                    ),
                )
            })?),
        };
        let mut audiences = BTreeMap::new();
        for (name, channel) in &raw.audiences {
            let Some(id) = ChannelId::parse(channel) else {
                return Err(key_error(
                    &format!("audiences.{name}"),
                    format!("not a channel ID like C0123ABCD: `{channel}`"),
                ));
            };
            audiences.insert(name.clone(), id);
        }
        check_reminders(&raw.reminders)?;
        let slack_call_timeout = within(
            raw.slack.call_timeout,
            Duration::from_millis(100),
            Duration::from_secs(120),
            "outside 100ms to 120s",
        )
        .map_err(at("slack.call_timeout"))?;
        // Under the 15 s an envelope's claim is leased for: a delivery that
        // ran out of time has stopped before a redelivery may act.
        let socket_envelope_timeout = within(
            raw.slack.socket_envelope_timeout,
            Duration::from_millis(100),
            Duration::from_secs(14),
            "outside 100ms to 14s",
        )
        .map_err(at("slack.socket_envelope_timeout"))?;
        let slack_max_in_flight = count(
            raw.slack.max_in_flight,
            1,
            1024,
            "outside 1 to 1024".to_string(),
        )
        .map_err(at("slack.max_in_flight"))?;
        for (key, d) in reminder_intervals(&raw.reminders) {
            if interval(d) == Err(NotAnInterval::LongerThanAWeek) {
                return Err(key_error(&format!("reminders.{key}"), "longer than 7 days"));
            }
        }
        for level in &raw.severities {
            check_level(level, &raw.reminders)?;
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
        if raw
            .roles
            .iter()
            .any(|role| role.name.as_str().chars().count() > 100)
        {
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
        let timeline = check_timeline(raw.timeline)?;
        let severities = SeverityCatalog::new(raw.severities)
            .ok_or_else(|| key_error("severities", "empty: at least one level is needed"))?;
        let severity_matrix = match raw.severity_matrix {
            Some(m) => Some(
                crate::domain::SeverityMatrix::new(m, &severities)
                    .map_err(|e| key_error("severity_matrix", e.to_string()))?,
            ),
            None => crate::domain::SeverityMatrix::new(Default::default(), &severities).ok(),
        };
        let alerts = super::alerts::check(raw.alerts, &severities, announce_channel.as_ref())?;
        let webhooks = super::webhooks::check(raw.webhooks)?;
        let pagerduty = super::webhooks::check_pagerduty(raw.pagerduty, &severities)?;
        let web = super::web::check(raw.web)?;
        for (key, value) in [
            ("api.rate_limit_per_second", raw.api.rate_limit_per_second),
            ("api.rate_limit_burst", raw.api.rate_limit_burst),
        ] {
            if !(1..=10_000).contains(&value) {
                return Err(key_error(key, format!("{value}: give 1 to 10000")));
            }
        }
        let (slack, socket_mode) = secrets(
            raw.slack.bot_token,
            raw.slack.signing_secret,
            raw.slack.app_token,
        )?;
        let socket_connections = count(
            raw.slack.socket_connections,
            1,
            MAX_SOCKET_CONNECTIONS,
            format!(
                "{}: give 1 to {MAX_SOCKET_CONNECTIONS} (Slack's limit)",
                raw.slack.socket_connections
            ),
        )
        .map_err(at("slack.socket_connections"))?;
        Ok(Settings {
            database_url,
            listen,
            admin_listen,
            shutdown_grace,
            log: raw.log,
            announce_channel,
            timezone,
            slack_api_url,
            slack_rate_control: raw.slack.rate_control,
            slack_call_timeout,
            slack_max_in_flight,
            slack,
            socket_mode,
            socket_connections,
            socket_envelope_timeout,
            reminders: raw.reminders,
            severities,
            roles,
            timeline,
            postmortem: raw.postmortem,
            permissions,
            audiences,
            incidents: raw.incidents,
            private_incidents: raw.private_incidents,
            bridge,
            severity_matrix,
            followups,
            alerts,
            webhooks,
            pagerduty,
            api: raw.api,
            web,
        })
    }
}

/// `reminders.*` with their names.
fn reminder_intervals(r: &Reminders) -> [(&'static str, Duration); 3] {
    [
        ("comms_nudge_after", r.comms_nudge_after),
        ("comms_due_after", r.comms_due_after),
        ("scribe_quiet_after", r.scribe_quiet_after),
    ]
}

/// No reminder interval is zero, and the nudge comes before the firm
/// reminder. (Their upper bound is checked after `slack.*`'s.)
fn check_reminders(r: &Reminders) -> Result<(), ConfigError> {
    if reminder_intervals(r)
        .iter()
        .any(|(_, d)| interval(*d) == Err(NotAnInterval::Zero))
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
    Ok(())
}

/// A severity level's own intervals, and its name.
fn check_level(level: &SeverityLevel, r: &Reminders) -> Result<(), ConfigError> {
    let key = |field: &str| format!("severities.{}.{field}", level.name);
    for (field, d) in [
        ("comms_nudge_after", level.comms_nudge_after),
        ("comms_due_after", level.comms_due_after),
        ("scribe_quiet_after", level.scribe_quiet_after),
    ] {
        if let Some(d) = d
            && interval(d).is_err()
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
    if level.name.as_str().trim().is_empty()
        || level.name.as_str().chars().count() > 75
        || level.name.as_str().contains(char::is_whitespace)
    {
        return Err(key_error(
            "severities",
            format!(
                "naming a level `{}`: names are one word of at most 75 characters",
                level.name
            ),
        ));
    }
    Ok(())
}

/// The tag emoji without colons, each tag with its own, none of them the
/// confirmation.
fn check_timeline(mut timeline: TimelineSettings) -> Result<TimelineSettings, ConfigError> {
    let t = &mut timeline.typed_tags;
    for emoji in [
        &mut timeline.tag_emoji,
        &mut timeline.confirm_emoji,
        &mut t.impact_started,
        &mut t.detected,
        &mut t.mitigated,
        &mut t.resolved,
        &mut t.decision,
        &mut t.hypothesis,
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
    Ok(timeline)
}

/// The Slack credentials, when there are enough to serve: a bot token and
/// an app-level token (Socket Mode) or a signing secret (HTTP); and whether
/// an app-level token asks for Socket Mode. Each given token must be of
/// its kind.
fn secrets(
    bot_token: Option<SecretString>,
    signing_secret: Option<SecretString>,
    app_token: Option<SecretString>,
) -> Result<(Option<SlackSecrets>, bool), ConfigError> {
    // An empty value in the file counts as missing, like an empty
    // variable: `serve` then refuses to start naming it.
    let given = |s: Option<SecretString>| s.filter(|s| !s.expose_secret().trim().is_empty());
    let (bot_token, signing_secret, app_token) =
        (given(bot_token), given(signing_secret), given(app_token));
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
    Ok((slack, socket_mode))
}
