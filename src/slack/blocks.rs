//! Block Kit rendering: the declare modal, the role board, the announcement.
//! Pure functions from domain values to slack-morphism's block types.

use super::inbound::{
    ACTION_CLAIM, ACTION_RELEASE, CALLBACK_DECLARE, DeclareMetadata, declare_ids, role_action_value,
};
use crate::domain::{Assignment, Entry, Incident, RoleCatalog, SeverityCatalog, holders, lead};
use slack_morphism::prelude::*;

/// Slack's limit for a modal title.
const MODAL_TITLE_MAX: usize = 24;
/// Slack's limit for a section's text.
pub const SECTION_TEXT_MAX: usize = 3000;

fn plain(text: impl Into<String>) -> SlackBlockPlainTextOnly {
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

/// Escapes the three characters Slack's mrkdwn treats as control characters.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The modal `/incident declare` opens.
pub fn declare_modal(
    title: Option<&str>,
    severities: &SeverityCatalog,
    origin_channel: &str,
) -> SlackView {
    use declare_ids::*;
    let severity_options: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> = severities
        .iter()
        .map(|l| {
            SlackBlockChoiceItem::new(plain(&l.name), l.name.clone())
                .with_description(plain(truncate(&l.description, 75)))
        })
        .collect();
    let mut title_input = SlackBlockPlainTextInputElement::new()
        .with_action_id(VALUE.into())
        .with_max_length(150)
        .with_placeholder(plain("What is broken, in a few words"));
    if let Some(t) = title.filter(|t| !t.trim().is_empty()) {
        title_input = title_input.with_initial_value(truncate(t.trim(), 150));
    }
    let flag = |value: &str, label: &str| {
        SlackBlockChoiceItem::new(
            SlackBlockText::from(SlackBlockPlainText::new(label.into())),
            value.to_string(),
        )
    };
    let blocks: Vec<SlackBlock> = vec![
        SlackInputBlock::new(plain("Title"), title_input.into())
            .with_block_id(TITLE.into())
            .into(),
        SlackInputBlock::new(
            plain("Severity"),
            SlackBlockStaticSelectElement::new()
                .with_action_id(VALUE.into())
                .with_placeholder(plain("How bad is it?"))
                .with_options(severity_options)
                .into(),
        )
        .with_block_id(SEVERITY.into())
        .into(),
        SlackInputBlock::new(
            plain("Summary"),
            SlackBlockPlainTextInputElement::new()
                .with_action_id(VALUE.into())
                .with_multiline(true)
                .with_max_length(2000)
                .with_placeholder(plain("What do we know so far? Who is affected?"))
                .into(),
        )
        .with_block_id(SUMMARY.into())
        .with_optional(true)
        .into(),
        SlackInputBlock::new(
            plain("Impact started at"),
            SlackBlockDateTimePickerElement::new()
                .with_action_id(VALUE.into())
                .into(),
        )
        .with_block_id(IMPACT.into())
        .with_optional(true)
        .with_hint(plain(
            "If known: when users were first affected. Used for time to detect.",
        ))
        .into(),
        SlackInputBlock::new(
            plain("Flags"),
            SlackBlockCheckboxesElement::new(vec![
                flag(FLAG_SECURITY, "Security incident"),
                flag(FLAG_DRILL, "This is a drill"),
            ])
            .with_action_id(VALUE.into())
            .into(),
        )
        .with_block_id(FLAGS.into())
        .with_optional(true)
        .into(),
    ];
    let metadata = serde_json::to_string(&DeclareMetadata {
        channel: origin_channel.to_string(),
    })
    .unwrap_or_default();
    SlackView::Modal(
        SlackModalView::new(
            plain(truncate("Declare an incident", MODAL_TITLE_MAX)),
            blocks,
        )
        .with_submit(plain("Declare"))
        .with_close(plain("Cancel"))
        .with_callback_id(CALLBACK_DECLARE.into())
        .with_private_metadata(metadata),
    )
}

fn headline(incident: &Incident) -> String {
    let flags = match (incident.drill, incident.security) {
        (true, true) => " · :test_tube: drill · :lock: security",
        (true, false) => " · :test_tube: drill",
        (false, true) => " · :lock: security",
        (false, false) => "",
    };
    format!(
        "*{}: {}*\n{} {} · *{}*{flags}",
        incident.reference(),
        escape(&incident.title),
        incident.status.emoji(),
        incident.status,
        escape(&incident.severity),
    )
}

/// The role board in the war room: one line per role, Claim and Release.
pub fn role_board(
    incident: &Incident,
    assignments: &[Assignment],
    roles: &RoleCatalog,
) -> SlackMessageContent {
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_block_id("board-head".into())
            .with_text(md!(headline(incident)))
            .into(),
        SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
            SlackBlockMarkDownText::new(
                "Roles: claim one with its button; one person may hold several.".into(),
            ),
        )])
        .into(),
    ];
    let mut fallback = vec![format!("{} role board", incident.reference())];
    for (i, role) in roles.iter().enumerate() {
        let who = holders(assignments, &role.name);
        let held = if who.is_empty() {
            "_unclaimed_".to_string()
        } else {
            who.iter()
                .map(|u| u.mention())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let duty = if role.duty.is_empty() {
            String::new()
        } else {
            format!("\n_{}_", escape(&role.duty))
        };
        fallback.push(format!("{}: {held}", role.name));
        blocks.push(
            SlackSectionBlock::new()
                .with_block_id(format!("role-{i}").into())
                .with_text(md!(format!("*{}*: {held}{duty}", escape(&role.name))))
                .into(),
        );
        let value = role_action_value(incident.number, &role.name);
        let mut buttons: Vec<SlackActionBlockElement> = vec![
            SlackBlockButtonElement::new(plain("Claim"))
                .with_action_id(ACTION_CLAIM.into())
                .with_value(value.clone())
                .with_style(SlackBlockButtonStyle::Primary)
                .into(),
        ];
        if !who.is_empty() {
            buttons.push(
                SlackBlockButtonElement::new(plain("Release"))
                    .with_action_id(ACTION_RELEASE.into())
                    .with_value(value)
                    .into(),
            );
        }
        blocks.push(
            SlackActionsBlock::new(buttons)
                .with_block_id(format!("role-actions-{i}").into())
                .into(),
        );
    }
    SlackMessageContent::new()
        .with_text(fallback.join("\n"))
        .with_blocks(blocks)
}

/// The announcement in the announcement channel, edited in place.
pub fn announcement(incident: &Incident, assignments: &[Assignment]) -> SlackMessageContent {
    let room = match &incident.channel_id {
        Some(id) => format!("<#{id}>"),
        None => "being opened…".to_string(),
    };
    let siren = if incident.status.is_open() {
        ":rotating_light:"
    } else {
        ":large_green_circle:"
    };
    let text = format!(
        "{siren} {}\nLead: {} · War room: {room}",
        headline(incident),
        lead(incident, assignments).mention(),
    );
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_block_id("announce".into())
            .with_text(md!(truncate(&text, SECTION_TEXT_MAX)))
            .into(),
    ];
    if !incident.summary.is_empty() {
        blocks.push(
            SlackSectionBlock::new()
                .with_block_id("summary".into())
                .with_text(md!(truncate(&escape(&incident.summary), SECTION_TEXT_MAX)))
                .into(),
        );
    }
    SlackMessageContent::new()
        .with_text(format!(
            "{}: {} ({}, {})",
            incident.reference(),
            incident.title,
            incident.severity,
            incident.status
        ))
        .with_blocks(blocks)
}

/// Slack's limit on blocks in a message.
pub const MAX_BLOCKS: usize = 50;

/// A time each reader sees in their own zone (`<!date^…>`), with a fallback
/// in the configured zone; with the date when the incident spans days.
fn when(at: chrono::DateTime<chrono::Utc>, with_date: bool, tz: chrono_tz::Tz) -> String {
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
fn timeline_line(e: &Entry, with_date: bool, tz: chrono_tz::Tz) -> String {
    let label = e
        .kind
        .label()
        .map(|l| format!("*[{l}]* "))
        .unwrap_or_default();
    let who = match (&e.author_name, &e.author) {
        (Some(name), _) => format!("*{}*: ", escape(name)),
        // A note's text is the author's own words: say whose.
        (None, Some(user)) if e.kind == crate::domain::EntryKind::Note => {
            format!("{}: ", user.mention())
        }
        _ => String::new(),
    };
    let text = if e.fetched {
        e.text.clone()
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

/// The `/incident timeline` view: chronological, packed into sections of at
/// most 3,000 characters and 50 blocks; what does not fit is counted.
pub fn timeline(incident: &Incident, entries: &[Entry], tz: chrono_tz::Tz) -> SlackMessageContent {
    let with_date = match (entries.first(), entries.last()) {
        (Some(a), Some(b)) => {
            a.occurred_at.with_timezone(&tz).date_naive()
                != b.occurred_at.with_timezone(&tz).date_naive()
        }
        _ => false,
    };
    let head = format!(
        "*Timeline of {}: {}* ({} entries)",
        incident.reference(),
        escape(&incident.title),
        entries.len()
    );
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(md!(truncate(&head, SECTION_TEXT_MAX)))
            .into(),
    ];
    // Room for the head and, if needed, the "not shown" note.
    let mut sections: Vec<String> = Vec::new();
    let mut shown = 0;
    for e in entries {
        let line = timeline_line(e, with_date, tz);
        let room = sections.len() < MAX_BLOCKS - 2;
        match sections.last_mut() {
            Some(current) if current.len() + 1 + line.len() <= SECTION_TEXT_MAX => {
                current.push('\n');
                current.push_str(&line);
            }
            _ if room => sections.push(line),
            _ => break,
        }
        shown += 1;
    }
    if entries.is_empty() {
        sections.push("_Nothing on the timeline yet._".to_string());
    }
    blocks.extend(
        sections
            .into_iter()
            .map(|t| SlackSectionBlock::new().with_text(md!(t)).into()),
    );
    if shown < entries.len() {
        blocks.push(
            SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(SlackBlockMarkDownText::new(format!(
                "{} later entries are not shown here; the whole timeline is kept and goes into the postmortem.",
                entries.len() - shown
            )))])
            .into(),
        );
    }
    SlackMessageContent::new()
        .with_text(head)
        .with_blocks(blocks)
}

/// Block and action ids of the update modal.
pub mod update_ids {
    pub const STATUS: &str = "status";
    pub const IMPACT: &str = "impact";
    pub const WORKAROUND: &str = "workaround";
    pub const NEXT: &str = "next";
    pub const AUDIENCES: &str = "audiences";
    pub const VALUE: &str = "value";
    /// The audience meaning "the announcement channel".
    pub const ANNOUNCEMENT: &str = "announcement";
}

/// The `/incident update` modal: the question bank's questions for the current phase.
pub fn update_modal(incident: &Incident, audiences: &[&str]) -> SlackView {
    use crate::domain::comms::{NEXT_UPDATE_QUESTION, Phase, WORKAROUND_QUESTION};
    use update_ids::*;
    let phase = Phase::of(incident.status);
    let text_input = |multiline: bool| {
        SlackBlockPlainTextInputElement::new()
            .with_action_id(VALUE.into())
            .with_multiline(multiline)
            .with_max_length(1000)
    };
    let choice =
        |value: &str, label: &str| SlackBlockChoiceItem::new(plain(label), value.to_string());
    let next_options = vec![
        choice("15", "In 15 minutes"),
        choice("30", "In 30 minutes"),
        choice("60", "In 60 minutes"),
    ];
    let announcement = SlackBlockChoiceItem::new(
        SlackBlockText::from(SlackBlockPlainText::new("Announcement channel".into())),
        ANNOUNCEMENT.to_string(),
    );
    let mut audience_options = vec![announcement.clone()];
    audience_options.extend(audiences.iter().map(|a| {
        SlackBlockChoiceItem::new(
            SlackBlockText::from(SlackBlockPlainText::new(truncate(a, 75))),
            a.to_string(),
        )
    }));
    let blocks: Vec<SlackBlock> = vec![
        SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
            SlackBlockMarkDownText::new(format!(
                "*{}* · {} · {} · phase: *{}*",
                incident.reference(),
                escape(&incident.title),
                escape(&incident.severity),
                phase.title()
            )),
        )])
        .into(),
        SlackInputBlock::new(plain("Status"), text_input(true).into())
            .with_block_id(STATUS.into())
            .with_hint(plain(phase.status_questions()))
            .into(),
        SlackInputBlock::new(plain("Impact"), text_input(true).into())
            .with_block_id(IMPACT.into())
            .with_hint(plain(phase.impact_questions()))
            .with_optional(true)
            .into(),
        SlackInputBlock::new(plain("Workaround"), text_input(false).into())
            .with_block_id(WORKAROUND.into())
            .with_hint(plain(WORKAROUND_QUESTION))
            .with_optional(true)
            .into(),
        SlackInputBlock::new(
            plain("Next update"),
            SlackBlockStaticSelectElement::new()
                .with_action_id(VALUE.into())
                .with_options(next_options.clone())
                .with_initial_option(next_options[1].clone())
                .into(),
        )
        .with_block_id(NEXT.into())
        .with_hint(plain(NEXT_UPDATE_QUESTION))
        .with_optional(true)
        .into(),
        SlackInputBlock::new(
            plain("Post to"),
            SlackBlockCheckboxesElement::new(audience_options)
                .with_action_id(VALUE.into())
                .with_initial_options(vec![announcement])
                .into(),
        )
        .with_block_id(AUDIENCES.into())
        .with_hint(plain("A copy always goes to the war room."))
        .into(),
    ];
    SlackView::Modal(
        SlackModalView::new(
            plain(truncate(
                &format!("Update {}", incident.reference()),
                MODAL_TITLE_MAX,
            )),
            blocks,
        )
        .with_submit(plain("Post update"))
        .with_close(plain("Cancel"))
        .with_callback_id(super::inbound::CALLBACK_UPDATE.into())
        .with_private_metadata(incident.number.to_string()),
    )
}

/// A status update as posted in one place.
pub fn status_update(
    incident: &Incident,
    text: &str,
    posted_by: &crate::domain::UserId,
) -> SlackMessageContent {
    let drill = if incident.drill {
        " :test_tube: drill"
    } else {
        ""
    };
    let head = format!(
        ":loudspeaker: *{} status update*{drill} · {} · {}\n*{}*",
        incident.reference(),
        escape(&incident.severity),
        incident.status,
        escape(&incident.title)
    );
    SlackMessageContent::new()
        .with_text(format!(
            "{} status update: {}",
            incident.reference(),
            truncate(text, 200)
        ))
        .with_blocks(vec![
            SlackSectionBlock::new()
                .with_text(md!(truncate(&head, SECTION_TEXT_MAX)))
                .into(),
            SlackSectionBlock::new()
                .with_text(md!(truncate(text, SECTION_TEXT_MAX)))
                .into(),
            SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
                SlackBlockMarkDownText::new(format!("Posted by {}", posted_by.mention())),
            )])
            .into(),
        ])
}

/// Who a reminder speaks to.
pub struct ReminderPeople {
    pub comms: crate::domain::UserId,
    pub lead: crate::domain::UserId,
    pub scribe: crate::domain::UserId,
    pub assist: Option<crate::domain::UserId>,
}

pub const ACTION_OPEN_UPDATE: &str = "update.open";
pub const ACTION_SNOOZE: &str = "reminder.snooze";

/// A reminder in the war room, with the timeline entries since the last
/// update (the scribe's digest for the communication lead).
pub fn reminder(
    incident: &Incident,
    kind: crate::domain::comms::ReminderKind,
    people: &ReminderPeople,
    since: chrono::DateTime<chrono::Utc>,
    digest: &[Entry],
    tz: chrono_tz::Tz,
) -> SlackMessageContent {
    use crate::domain::comms::ReminderKind;
    let head = match kind {
        ReminderKind::Nudge => format!(
            ":hourglass_flowing_sand: {} no status update since {}. Time for one? Keep them at least 30 minutes apart, and never let an hour pass without one.",
            people.comms.mention(),
            when(since, false, tz)
        ),
        ReminderKind::Due => format!(
            ":rotating_light: {} {} a status update is *due*: none since {}. People waiting for news should hear from us now, even if there is nothing new.",
            people.comms.mention(),
            if people.lead == people.comms {
                String::new()
            } else {
                format!("{} ", people.lead.mention())
            },
            when(since, false, tz)
        ),
        ReminderKind::ScribeQuiet => format!(
            ":memo: {} nothing has been added to the timeline for a while. Ask {} for status{}.",
            people.scribe.mention(),
            people
                .assist
                .as_ref()
                .map(|u| u.mention())
                .unwrap_or_else(|| "the Technical Assist".to_string()),
            if people.assist.is_none() {
                " (nobody holds the role: claim it on the role board)"
            } else {
                ""
            }
        ),
    };
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(md!(truncate(&head, SECTION_TEXT_MAX)))
            .into(),
    ];
    if kind != ReminderKind::ScribeQuiet {
        let lines: Vec<String> = digest.iter().map(|e| timeline_line(e, false, tz)).collect();
        let digest_text = if lines.is_empty() {
            "_Nothing was added to the timeline since the last update._".to_string()
        } else {
            format!(
                "*Since the last update ({}):*\n{}",
                lines.len(),
                lines.join("\n")
            )
        };
        blocks.push(
            SlackSectionBlock::new()
                .with_text(md!(truncate(&digest_text, SECTION_TEXT_MAX)))
                .into(),
        );
        let n = incident.number;
        blocks.push(
            SlackActionsBlock::new(vec![
                SlackBlockButtonElement::new(plain("Post an update"))
                    .with_action_id(ACTION_OPEN_UPDATE.into())
                    .with_value(n.to_string())
                    .with_style(SlackBlockButtonStyle::Primary)
                    .into(),
                SlackBlockButtonElement::new(plain("Snooze 15 min"))
                    .with_action_id(format!("{ACTION_SNOOZE}.15").into())
                    .with_value(format!("{n}|15"))
                    .into(),
                SlackBlockButtonElement::new(plain("Snooze 30 min"))
                    .with_action_id(format!("{ACTION_SNOOZE}.30").into())
                    .with_value(format!("{n}|30"))
                    .into(),
            ])
            .into(),
        );
    }
    SlackMessageContent::new()
        .with_text(format!(
            "{} reminder: {}",
            incident.reference(),
            kind.as_str()
        ))
        .with_blocks(blocks)
}

/// The postmortem draft's summary in the war room; the whole draft is the
/// attached Markdown file.
pub fn postmortem_summary(
    incident: &Incident,
    timeline: &[Entry],
    communications: &[crate::store::Communication],
    filename: &str,
) -> SlackMessageContent {
    use crate::domain::metrics::{human, metrics};
    let drill = if incident.drill { " (drill)" } else { "" };
    let head = format!(
        ":page_facing_up: *Postmortem draft for {}{drill}: {}*\n{} · {}",
        incident.reference(),
        escape(&incident.title),
        escape(&incident.severity),
        incident.status
    );
    let figures: Vec<String> = metrics(incident)
        .iter()
        .map(|m| match &m.value {
            Ok(d) => format!("*{}:* {}", m.name, human(*d)),
            Err(missing) => format!("*{}:* unknown ({missing})", m.name),
        })
        .collect();
    let updates = communications
        .iter()
        .map(|c| c.update_id)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let counts = format!(
        "{} timeline entries · {updates} status updates · full draft attached as `{filename}`: fill in impact, root cause, what went well and poorly, and action items with owners.",
        timeline.len()
    );
    SlackMessageContent::new()
        .with_text(format!("Postmortem draft for {}", incident.reference()))
        .with_blocks(vec![
            SlackSectionBlock::new()
                .with_text(md!(truncate(&head, SECTION_TEXT_MAX)))
                .into(),
            SlackSectionBlock::new()
                .with_text(md!(figures.join("\n")))
                .into(),
            SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
                SlackBlockMarkDownText::new(counts),
            )])
            .into(),
        ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EntryKind, Status, UserId};
    use chrono::TimeZone;

    fn incident() -> Incident {
        Incident {
            number: 3,
            title: "DB <primary> down".into(),
            severity: "SEV1".into(),
            status: Status::Investigating,
            summary: String::new(),
            security: false,
            drill: false,
            declared_by: UserId("U1".into()),
            declared_at: chrono::Utc
                .with_ymd_and_hms(2026, 11, 23, 23, 50, 0)
                .unwrap(),
            impact_started_at: None,
            detected_at: None,
            mitigated_at: None,
            resolved_at: None,
            closed_at: None,
            origin_channel: "C0".into(),
            announce_channel: "C0".into(),
            channel_id: Some("C1".into()),
            channel_name: None,
            board_ts: None,
            announce_ts: None,
            last_update_at: None,
            schedule: Default::default(),
        }
    }

    fn entry(id: i64, at: chrono::DateTime<chrono::Utc>, kind: EntryKind, text: &str) -> Entry {
        Entry {
            id,
            occurred_at: at,
            kind,
            author: None,
            author_name: (kind == EntryKind::Message).then(|| "Ann".to_string()),
            text: text.into(),
            slack_ts: None,
            permalink: (kind == EntryKind::Message)
                .then(|| "https://acme.slack.com/archives/C1/p1".to_string()),
            fetched: true,
        }
    }

    #[test]
    fn one_day_shows_times_only() {
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 23, 50, 0)
            .unwrap();
        let view = timeline(
            &incident(),
            &[
                entry(1, t, EntryKind::Declared, "declared"),
                entry(
                    2,
                    t + chrono::Duration::minutes(5),
                    EntryKind::Message,
                    "errors spike",
                ),
            ],
            chrono_tz::UTC,
        );
        insta::assert_json_snapshot!(view);
    }

    #[test]
    fn spanning_midnight_shows_dates_in_the_configured_zone() {
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 23, 50, 0)
            .unwrap();
        let entries = [
            entry(1, t, EntryKind::Declared, "declared"),
            entry(
                2,
                t + chrono::Duration::minutes(20),
                EntryKind::Mitigated,
                "rolled back",
            ),
        ];
        let view = timeline(&incident(), &entries, chrono_tz::UTC);
        let json = serde_json::to_string(&view).unwrap();
        assert!(
            json.contains("{date_short} {time}|2026-11-23 23:50 UTC"),
            "{json}"
        );
        assert!(json.contains("2026-11-24 00:10 UTC"));
        assert!(json.contains("*[mitigated]*"));
        // In Tokyo both entries fall on the 24th: no dates.
        let json = serde_json::to_string(&timeline(&incident(), &entries, chrono_tz::Asia::Tokyo))
            .unwrap();
        assert!(!json.contains("date_short"), "{json}");
        assert!(json.contains("08:50 JST"));
    }

    #[test]
    fn long_timelines_stay_within_block_kit_limits() {
        let t = chrono::Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
        let entries: Vec<Entry> = (0..2000)
            .map(|i| {
                entry(
                    i,
                    t + chrono::Duration::seconds(i),
                    EntryKind::Note,
                    &"x".repeat(if i == 0 { 10_000 } else { 200 }),
                )
            })
            .collect();
        let view = timeline(&incident(), &entries, chrono_tz::UTC);
        let blocks = view.blocks.as_ref().unwrap();
        assert!(blocks.len() <= MAX_BLOCKS);
        for b in blocks {
            let json = serde_json::to_value(b).unwrap();
            if let Some(text) = json["text"]["text"].as_str() {
                assert!(text.chars().count() <= SECTION_TEXT_MAX);
            }
        }
        let last = serde_json::to_string(blocks.last().unwrap()).unwrap();
        assert!(last.contains("later entries are not shown"), "{last}");
    }
}
