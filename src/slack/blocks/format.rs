//! Text helpers the renderers share: plain text, Block Kit's mrkdwn text
//! and messages (the one way a renderer puts mrkdwn into a block, which
//! takes a [`Mrkdwn`]), the incident's headline, times and timeline lines.

use super::SECTION_TEXT_MAX;
use crate::domain::{Entry, Incident};
pub(super) use crate::slack::render::{reference, severity, status};
use crate::slack::text::Mrkdwn;
use slack_morphism::prelude::*;

pub(super) fn plain(text: impl Into<String>) -> SlackBlockPlainTextOnly {
    SlackBlockPlainTextOnly::from(text.into())
}

/// Block Kit's mrkdwn text, for a section, a field or a context: built
/// here only, from text made safe to send.
pub(super) fn md(text: Mrkdwn) -> SlackBlockMarkDownText {
    SlackBlockMarkDownText::new(text.into())
}

/// A context block of one mrkdwn element.
pub(super) fn context(text: Mrkdwn) -> SlackContextBlock {
    SlackContextBlock::new(vec![md(text).into()])
}

/// A message: its blocks, and `fallback`, the text notifications and
/// clients without Block Kit show (mrkdwn too).
pub(super) fn message(fallback: Mrkdwn, blocks: Vec<SlackBlock>) -> SlackMessageContent {
    SlackMessageContent::new()
        .with_text(fallback.into())
        .with_blocks(blocks)
}

pub(super) fn headline(incident: &Incident) -> Mrkdwn {
    let flags = match (incident.drill, incident.security) {
        (true, true) => " · :test_tube: drill · :lock: security",
        (true, false) => " · :test_tube: drill",
        (false, true) => " · :lock: security",
        (false, false) => "",
    };
    Mrkdwn::fill(
        "*{}: {}*\n{} {} · *{}*{}",
        [
            reference(incident),
            Mrkdwn::typed(&incident.title),
            Mrkdwn::literal(incident.status.emoji()),
            status(incident.status),
            severity(&incident.severity),
            Mrkdwn::literal(flags),
        ],
    )
}

/// A time each reader sees in their own zone (`<!date^…>`), with a fallback
/// in the configured zone; with the date when the incident spans days.
pub(super) fn when(
    at: chrono::DateTime<chrono::Utc>,
    with_date: bool,
    tz: chrono_tz::Tz,
) -> Mrkdwn {
    let local = at.with_timezone(&tz);
    if with_date {
        Mrkdwn::date(
            at,
            "{date_short} {time}",
            &local.format("%Y-%m-%d %H:%M %Z").to_string(),
        )
    } else {
        Mrkdwn::date(at, "{time}", &local.format("%H:%M %Z").to_string())
    }
}

/// One timeline line, at most a section long.
pub(super) fn timeline_line(e: &Entry, with_date: bool, tz: chrono_tz::Tz) -> Mrkdwn {
    let mut line = Mrkdwn::fill("• {} ", [when(e.occurred_at, with_date, tz)]);
    if let Some(label) = e.kind.label() {
        line.push(Mrkdwn::fill("*[{}]* ", [Mrkdwn::literal(label)]));
    }
    match (&e.author_name, &e.author) {
        (Some(name), _) => line.push(Mrkdwn::fill("*{}*: ", [Mrkdwn::typed(name)])),
        // A note's text is the author's own words: say whose.
        (None, Some(user)) if e.kind == crate::domain::EntryKind::Note => {
            line.push(Mrkdwn::fill("{}: ", [user.mention()]));
        }
        _ => {}
    }
    line.push(if e.fetched {
        Mrkdwn::slack(&e.text)
    } else {
        Mrkdwn::literal("_fetching the message…_")
    });
    if let Some(p) = &e.permalink {
        line.push(Mrkdwn::fill(" {}", [Mrkdwn::link(p, "link")]));
    }
    // Someone else's message put there by a person: say who.
    if let Some(by) = e
        .added_by
        .as_ref()
        .filter(|by| e.author.as_ref() != Some(*by))
    {
        line.push(Mrkdwn::fill(" · added by {}", [by.mention()]));
    }
    line.truncate(SECTION_TEXT_MAX)
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

/// Slack's limit on a static select's options, and on an option's text.
const MAX_OPTIONS: usize = 100;
const OPTION_TEXT_MAX: usize = 75;

/// Open incidents as a select's options, newest first: `INC-7 Title`,
/// valued by number.
pub(super) fn incident_options(
    open: &[Incident],
) -> Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> {
    open.iter()
        .rev()
        .take(MAX_OPTIONS)
        .map(|i| {
            SlackBlockChoiceItem::new(
                plain(super::truncate(
                    &format!("{} {}", i.reference(), i.title),
                    OPTION_TEXT_MAX,
                )),
                i.number.to_string(),
            )
        })
        .collect()
}
