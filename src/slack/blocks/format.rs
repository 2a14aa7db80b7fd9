//! Text helpers the renderers share: plain text, cutting to Slack's
//! limits, the incident's headline, times and timeline lines.

use super::{SECTION_TEXT_MAX, defuse, escape, safe};
use crate::domain::{Entry, Incident};
use slack_morphism::prelude::*;

pub(super) fn plain(text: impl Into<String>) -> SlackBlockPlainTextOnly {
    SlackBlockPlainTextOnly::from(text.into())
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

pub(super) fn headline(incident: &Incident) -> String {
    let flags = match (incident.drill, incident.security) {
        (true, true) => " · :test_tube: drill · :lock: security",
        (true, false) => " · :test_tube: drill",
        (false, true) => " · :lock: security",
        (false, false) => "",
    };
    format!(
        "*{}: {}*\n{} {} · *{}*{flags}",
        incident.reference(),
        safe(&incident.title),
        incident.status.emoji(),
        incident.status,
        escape(incident.severity.as_str()),
    )
}

/// A time each reader sees in their own zone (`<!date^…>`), with a fallback
/// in the configured zone; with the date when the incident spans days.
pub(super) fn when(
    at: chrono::DateTime<chrono::Utc>,
    with_date: bool,
    tz: chrono_tz::Tz,
) -> String {
    let local = at.with_timezone(&tz);
    if with_date {
        format!(
            "<!date^{}^{{date_short}} {{time}}|{}>",
            at.timestamp(),
            local.format("%Y-%m-%d %H:%M %Z")
        )
    } else {
        format!(
            "<!date^{}^{{time}}|{}>",
            at.timestamp(),
            local.format("%H:%M %Z")
        )
    }
}

/// One timeline line, at most a section long.
pub(super) fn timeline_line(e: &Entry, with_date: bool, tz: chrono_tz::Tz) -> String {
    let label = e
        .kind
        .label()
        .map(|l| format!("*[{l}]* "))
        .unwrap_or_default();
    let who = match (&e.author_name, &e.author) {
        (Some(name), _) => format!("*{}*: ", safe(name)),
        // A note's text is the author's own words: say whose.
        (None, Some(user)) if e.kind == crate::domain::EntryKind::Note => {
            format!("{}: ", user.mention())
        }
        _ => String::new(),
    };
    let text = if e.fetched {
        defuse(&e.text)
    } else {
        "_fetching the message…_".to_string()
    };
    let link = e
        .permalink
        .as_ref()
        .map(|p| format!(" <{p}|link>"))
        .unwrap_or_default();
    truncate(
        &format!(
            "• {} {label}{who}{text}{link}",
            when(e.occurred_at, with_date, tz)
        ),
        SECTION_TEXT_MAX,
    )
}

/// A span of time in words, as the reminders speak of the comms cadence:
/// "30 minutes", "an hour", "2 hours", "1 hour 30 minutes".
pub(super) fn span(d: chrono::Duration) -> String {
    let minutes = d.num_minutes().max(0);
    let (h, m) = (minutes / 60, minutes % 60);
    let hours = match h {
        0 => None,
        1 if m == 0 => Some("an hour".to_string()),
        1 => Some("1 hour".to_string()),
        h => Some(format!("{h} hours")),
    };
    let minutes = match m {
        0 => None,
        1 => Some("1 minute".to_string()),
        m => Some(format!("{m} minutes")),
    };
    match (hours, minutes) {
        (Some(h), Some(m)) => format!("{h} {m}"),
        (Some(h), None) => h,
        (None, Some(m)) => m,
        (None, None) => match d.num_seconds().max(0) {
            1 => "a second".to_string(),
            s => format!("{s} seconds"),
        },
    }
}
