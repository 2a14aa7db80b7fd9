//! Block Kit rendering: the declare modal, the role board, the announcement.
//! Pure functions from domain values to slack-morphism's block types.

use super::inbound::{
    ACTION_CLAIM, ACTION_RELEASE, CALLBACK_DECLARE, DeclareMetadata, declare_ids, role_action_value,
};
use crate::domain::{
    Assessment, Assignment, Entry, Incident, RoleCatalog, SeverityCatalog, SeverityMatrix, holders,
    lead,
};
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

pub use super::text::{defuse, escape, plain as safe};

/// The severity select and, with a matrix, the impact and urgency
/// questions before it. With a matrix the select starts on "Suggest from
/// impact and urgency" (the level is computed when the form is submitted)
/// and any level picked overrides the suggestion.
fn severity_blocks(
    severities: &SeverityCatalog,
    matrix: Option<&SeverityMatrix>,
    current: Option<&Assessment>,
) -> Vec<SlackBlock> {
    use declare_ids::*;
    let mut severity_options: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> = severities
        .iter()
        .map(|l| {
            SlackBlockChoiceItem::new(plain(&l.name), l.name.clone())
                .with_description(plain(truncate(&l.description, 75)))
        })
        .collect();
    let Some(matrix) = matrix else {
        return vec![
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
        ];
    };
    let suggest = SlackBlockChoiceItem::new(
        plain("Suggest from impact and urgency"),
        SUGGEST.to_string(),
    );
    severity_options.insert(0, suggest.clone());
    let question = |label: &str, block: &str, names: &[String], initial: Option<&String>| {
        let options: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> = names
            .iter()
            .map(|n| SlackBlockChoiceItem::new(plain(n), n.clone()))
            .collect();
        let mut select = SlackBlockStaticSelectElement::new()
            .with_action_id(VALUE.into())
            .with_placeholder(plain("Pick one"))
            .with_options(options);
        if let Some(n) = initial.filter(|n| names.contains(n)) {
            select = select.with_initial_option(SlackBlockChoiceItem::new(plain(n), n.clone()));
        }
        SlackBlock::from(
            SlackInputBlock::new(plain(label), select.into())
                .with_block_id(block.into())
                .with_optional(true),
        )
    };
    vec![
        question(
            "Who is affected?",
            IMPACT_ANSWER,
            matrix.impacts(),
            current.map(|a| &a.impact),
        ),
        question(
            "How urgent is it?",
            URGENCY,
            matrix.urgencies(),
            current.map(|a| &a.urgency),
        ),
        SlackInputBlock::new(
            plain("Severity"),
            SlackBlockStaticSelectElement::new()
                .with_action_id(VALUE.into())
                .with_options(severity_options)
                .with_initial_option(suggest)
                .into(),
        )
        .with_block_id(SEVERITY.into())
        .with_hint(plain(
            "Left on \"Suggest\", the severity is set from the two answers above when you submit. Pick a level to override it.",
        ))
        .into(),
    ]
}

/// The modal `/incident severity` opens without a level: the impact and
/// urgency questions (the incident's answers preselected) and the override.
pub fn severity_modal(
    incident: &Incident,
    severities: &SeverityCatalog,
    matrix: &SeverityMatrix,
) -> SlackView {
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(md!(
                "{} is *{}*{}.",
                escape(&incident.reference()),
                escape(&incident.severity),
                incident
                    .assessment
                    .as_ref()
                    .map(|a| format!(
                        " (impact: {}, urgency: {})",
                        escape(&a.impact),
                        escape(&a.urgency)
                    ))
                    .unwrap_or_default()
            ))
            .into(),
    ];
    blocks.extend(severity_blocks(
        severities,
        Some(matrix),
        incident.assessment.as_ref(),
    ));
    SlackView::Modal(
        SlackModalView::new(
            plain(truncate(
                &format!("Severity of {}", incident.reference()),
                MODAL_TITLE_MAX,
            )),
            blocks,
        )
        .with_submit(plain("Set severity"))
        .with_close(plain("Cancel"))
        .with_callback_id(super::inbound::CALLBACK_SEVERITY.into())
        .with_private_metadata(incident.number.to_string()),
    )
}

/// The modal `/incident declare` opens.
pub fn declare_modal(
    title: Option<&str>,
    severities: &SeverityCatalog,
    matrix: Option<&SeverityMatrix>,
    origin_channel: &str,
    security_private: bool,
) -> SlackView {
    use declare_ids::*;
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
    let mut blocks: Vec<SlackBlock> = vec![
        SlackInputBlock::new(plain("Title"), title_input.into())
            .with_block_id(TITLE.into())
            .into(),
    ];
    blocks.extend(severity_blocks(severities, matrix, None));
    blocks.extend([
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
                flag(FLAG_PRIVATE, "Private war room"),
                flag(FLAG_SECURITY, "Security incident"),
                flag(FLAG_DRILL, "This is a drill"),
            ])
            .with_action_id(VALUE.into())
            .into(),
        )
        .with_block_id(FLAGS.into())
        .with_optional(true)
        .with_hint(plain(if security_private {
            "A private war room is a private channel: its title and summary stay inside it. Security incidents are always private."
        } else {
            "A private war room is a private channel: its title and summary stay inside it."
        }))
        .into(),
    ]);
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
        safe(&incident.title),
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
    let mut text = format!(
        "{siren} {}\nLead: {} · War room: {room}",
        headline(incident),
        lead(incident, assignments).mention(),
    );
    if let Some(a) = &incident.assessment {
        text.push_str(&format!(
            "\nImpact: {} · Urgency: {}",
            escape(&a.impact),
            escape(&a.urgency)
        ));
    }
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
                .with_text(md!(truncate(&safe(&incident.summary), SECTION_TEXT_MAX)))
                .into(),
        );
    }
    SlackMessageContent::new()
        .with_text(format!(
            "{}: {} ({}, {})",
            incident.reference(),
            safe(&incident.title),
            incident.severity,
            incident.status
        ))
        .with_blocks(blocks)
}

/// The announcement of a private incident for people outside its war
/// room: number, severity, status and whom to ask; neither title nor
/// summary (`private_incidents.announce = "redacted"`).
pub fn announcement_redacted(
    incident: &Incident,
    assignments: &[Assignment],
) -> SlackMessageContent {
    let siren = if incident.status.is_open() {
        ":rotating_light:"
    } else {
        ":large_green_circle:"
    };
    let lead = lead(incident, assignments).mention();
    let drill = if incident.drill {
        " · :test_tube: drill"
    } else {
        ""
    };
    let text = format!(
        "{siren} *{}* · *{}* · {} {}{drill} · :lock: private incident · ask {lead} to be added",
        incident.reference(),
        escape(&incident.severity),
        incident.status.emoji(),
        incident.status,
    );
    SlackMessageContent::new()
        .with_text(format!(
            "{} · {} · private incident · ask {lead} to be added",
            incident.reference(),
            incident.severity,
        ))
        .with_blocks(vec![
            SlackSectionBlock::new()
                .with_block_id("announce".into())
                .with_text(md!(truncate(&text, SECTION_TEXT_MAX)))
                .into(),
        ])
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
        safe(&incident.title),
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
/// The announcement channel is ticked unless `announced` is false (a
/// private incident announced nowhere).
pub fn update_modal(incident: &Incident, audiences: &[&str], announced: bool) -> SlackView {
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
    let mut post_to =
        SlackBlockCheckboxesElement::new(audience_options).with_action_id(VALUE.into());
    if announced {
        post_to = post_to.with_initial_options(vec![announcement]);
    }
    let blocks: Vec<SlackBlock> = vec![
        SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
            SlackBlockMarkDownText::new(format!(
                "*{}* · {} · {} · phase: *{}*",
                incident.reference(),
                safe(&incident.title),
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
        SlackInputBlock::new(plain("Post to"), post_to.into())
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

/// A status update as posted in one place; without the incident's title
/// when `show_title` is false (a private incident, outside its war room).
pub fn status_update(
    incident: &Incident,
    text: &str,
    posted_by: &crate::domain::UserId,
    show_title: bool,
) -> SlackMessageContent {
    let drill = if incident.drill {
        " :test_tube: drill"
    } else {
        ""
    };
    let title = if show_title {
        safe(&incident.title)
    } else {
        ":lock: private incident".to_string()
    };
    let head = format!(
        ":loudspeaker: *{} status update*{drill} · {} · {}\n*{title}*",
        incident.reference(),
        escape(&incident.severity),
        incident.status,
    );
    let text = defuse(text);
    SlackMessageContent::new()
        .with_text(format!(
            "{} status update: {}",
            incident.reference(),
            truncate(&text, 200)
        ))
        .with_blocks(vec![
            SlackSectionBlock::new()
                .with_text(md!(truncate(&head, SECTION_TEXT_MAX)))
                .into(),
            SlackSectionBlock::new()
                .with_text(md!(truncate(&text, SECTION_TEXT_MAX)))
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
        safe(&incident.title),
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
            SlackActionsBlock::new(vec![
                SlackBlockButtonElement::new(plain("Add follow-up"))
                    .with_action_id(ACTION_ADD_FOLLOWUP.into())
                    .with_value(incident.number.to_string())
                    .into(),
            ])
            .into(),
        ])
}

/// "Add follow-up" on the postmortem summary; its value is the incident.
pub const ACTION_ADD_FOLLOWUP: &str = "followup.add";
/// The form "Add follow-up" opens.
pub const CALLBACK_FOLLOWUP: &str = "followup";
/// The longest follow-up the form takes.
pub const FOLLOWUP_TEXT_MAX: usize = 1000;

/// Block ids of the follow-up form (each input's action id is `value`).
pub mod followup_ids {
    pub const TEXT: &str = "text";
    pub const OWNER: &str = "owner";
    pub const DUE: &str = "due";
}

/// The form that records a follow-up from the postmortem summary, as
/// `/incident followup` does: what, who (the person who opened it, to
/// begin with), and an optional due date.
pub fn followup_modal(incident: &Incident, owner: &crate::domain::UserId) -> SlackView {
    use followup_ids::*;
    let blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(md!(truncate(
                &format!(
                    "*{}* · {}: an action item for the postmortem, with its owner.",
                    incident.reference(),
                    safe(&incident.title)
                ),
                SECTION_TEXT_MAX
            )))
            .into(),
        SlackInputBlock::new(
            plain("Follow-up"),
            SlackBlockPlainTextInputElement::new()
                .with_action_id("value".into())
                .with_max_length(FOLLOWUP_TEXT_MAX as u64)
                .with_placeholder(plain("Alert on checkout 5xx"))
                .into(),
        )
        .with_block_id(TEXT.into())
        .into(),
        SlackInputBlock::new(
            plain("Owner"),
            SlackBlockUsersSelectElement::new()
                .with_action_id("value".into())
                .with_initial_user(owner.0.clone())
                .into(),
        )
        .with_block_id(OWNER.into())
        .into(),
        SlackInputBlock::new(
            plain("Due"),
            SlackBlockDatePickerElement::new()
                .with_action_id("value".into())
                .into(),
        )
        .with_block_id(DUE.into())
        .with_optional(true)
        .with_hint(plain(
            "The owner gets a direct message at 09:00 that day if it is still open.",
        ))
        .into(),
    ];
    SlackView::Modal(
        SlackModalView::new(
            plain(truncate(
                &format!("Follow-up for {}", incident.reference()),
                MODAL_TITLE_MAX,
            )),
            blocks,
        )
        .with_submit(plain("Add"))
        .with_close(plain("Cancel"))
        .with_callback_id(CALLBACK_FOLLOWUP.into())
        .with_private_metadata(incident.number.to_string()),
    )
}

/// The weekly digest of one owner's open follow-ups (of every incident),
/// as a direct message: the `/incident followups` list, overdue ones
/// marked, a Done button on each.
pub fn followup_digest(
    items: &[crate::domain::followups::Followup],
    today: chrono::NaiveDate,
) -> SlackMessageContent {
    let (open, overdue) = crate::domain::followups::counts(items, today);
    let overdue = match overdue {
        0 => String::new(),
        n => format!(", {n} overdue"),
    };
    let heading = format!(
        ":spiral_calendar_pad: *Your open follow-ups this week* ({open}{overdue}). Tick each one done when it is; `/incident followups` lists them any time."
    );
    followups(&heading, items, today)
}

pub const ACTION_BRIDGE: &str = "bridge.join";

/// Puts a "Join the bridge" link button beside the first section of a
/// message (the role board's heading), so it costs no block.
pub fn with_bridge(mut content: SlackMessageContent, url: Option<&str>) -> SlackMessageContent {
    let Some(url) = url.and_then(|u| url::Url::parse(u).ok()) else {
        return content;
    };
    let first = content.blocks.as_mut().and_then(|blocks| {
        blocks.iter_mut().find_map(|b| match b {
            SlackBlock::Section(s) => Some(s),
            _ => None,
        })
    });
    if let Some(section) = first {
        section.accessory = Some(
            SlackBlockButtonElement::new(plain("Join the bridge"))
                .with_action_id(ACTION_BRIDGE.into())
                .with_url(url)
                .into(),
        );
    }
    content
}

pub const ACTION_TICK: &str = "checklist.tick";

/// The action id of one task's checkbox: `checklist.tick|<checklist>|<task>`.
pub fn tick_action_id(checklist: i64, task: usize) -> String {
    format!("{ACTION_TICK}|{checklist}|{task}")
}

/// One holder's checklist in the war room: a section per task with a
/// checkbox, grouped by when the task belongs, and the progress. Edited in
/// place as tasks are ticked.
pub fn checklist(
    incident: &Incident,
    list: &crate::domain::checklist::Checklist,
) -> SlackMessageContent {
    use crate::domain::checklist::Group;
    let (done, total) = list.progress();
    let head = format!(
        ":clipboard: *{} checklist* for {} · {}",
        escape(&list.role),
        list.holder.mention(),
        incident.reference()
    );
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_block_id("checklist-head".into())
            .with_text(md!(truncate(&head, SECTION_TEXT_MAX)))
            .into(),
    ];
    let mut group = None;
    for task in list.tasks.all() {
        if group != Some(task.group) {
            group = Some(task.group);
            let title = match task.group {
                Group::Start => "*At the start*".to_string(),
                Group::During => "*While it runs*".to_string(),
                Group::Cadence => format!(
                    "*Every {}* (you will be reminded)",
                    list.tasks
                        .cadence
                        .as_ref()
                        .map(|c| humantime::format_duration(c.every).to_string())
                        .unwrap_or_default()
                ),
            };
            blocks.push(
                SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
                    SlackBlockMarkDownText::new(title),
                )])
                .into(),
            );
        }
        let option = SlackBlockChoiceItem::new(
            SlackBlockText::from(SlackBlockPlainText::new("Done".into())),
            "done".to_string(),
        );
        let mut checkbox = SlackBlockCheckboxesElement::new(vec![option.clone()])
            .with_action_id(tick_action_id(list.id, task.index).into());
        if list.done.contains(&task.index) {
            checkbox = checkbox.with_initial_options(vec![option]);
        }
        let text = if list.done.contains(&task.index) {
            format!("~{}~", escape(task.text))
        } else {
            escape(task.text)
        };
        blocks.push(
            SlackSectionBlock::new()
                .with_block_id(format!("task-{}", task.index).into())
                .with_text(md!(truncate(&text, SECTION_TEXT_MAX)))
                .with_accessory(checkbox.into())
                .into(),
        );
    }
    blocks.push(
        SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
            SlackBlockMarkDownText::new(format!(
                "{done} of {total} done · ticks are recorded on the timeline"
            )),
        )])
        .into(),
    );
    blocks.truncate(MAX_BLOCKS);
    SlackMessageContent::new()
        .with_text(format!(
            "{} checklist for {} ({done} of {total} done)",
            list.role,
            list.holder.mention()
        ))
        .with_blocks(blocks)
}

/// A cadence reminder to a role holder; for the Scribe, with the internal
/// summary prefilled from the timeline since the last one.
pub fn checklist_reminder(
    incident: &Incident,
    list: &crate::domain::checklist::Checklist,
    summary: Option<&str>,
    summary_button: Option<&str>,
) -> SlackMessageContent {
    let tasks: Vec<String> = list
        .tasks
        .cadence
        .iter()
        .flat_map(|c| c.tasks.iter())
        .map(|t| format!("• {}", escape(t)))
        .collect();
    let head = format!(
        ":repeat: {} time for your recurring *{}* tasks in {}:\n{}",
        list.holder.mention(),
        escape(&list.role),
        incident.reference(),
        tasks.join("\n")
    );
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(md!(truncate(&head, SECTION_TEXT_MAX)))
            .into(),
    ];
    if let Some(summary) = summary {
        blocks.push(
            SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
                SlackBlockMarkDownText::new(
                    "Your summary, prefilled from the timeline since the last one:".into(),
                ),
            )])
            .into(),
        );
        // Quoted words must not ping a whole channel from the reminder.
        let summary = summary.replace("<!", "&lt;!");
        blocks.push(
            SlackSectionBlock::new()
                .with_text(md!(truncate(&summary, SECTION_TEXT_MAX)))
                .into(),
        );
        if let Some(value) = summary_button {
            blocks.push(
                SlackActionsBlock::new(vec![
                    SlackBlockButtonElement::new(plain("Edit and post"))
                        .with_action_id(ACTION_OPEN_SUMMARY.into())
                        .with_value(value.to_string())
                        .with_style(SlackBlockButtonStyle::Primary)
                        .into(),
                ])
                .into(),
            );
        }
    }
    SlackMessageContent::new()
        .with_text(format!(
            "{}: time for the recurring {} tasks",
            incident.reference(),
            list.role
        ))
        .with_blocks(blocks)
}

/// The internal summary the Scribe publishes: impact, changes of state and
/// milestones from `since` on (the caller leaves out what came after the
/// window), from the timeline. Times are written out in `tz`, so the text
/// reads the same in the form that edits it and once posted.
pub fn internal_summary(
    incident: &Incident,
    entries: &[Entry],
    since: chrono::DateTime<chrono::Utc>,
    tz: chrono_tz::Tz,
) -> String {
    use crate::domain::EntryKind as K;
    let at = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%H:%M %Z").to_string();
    let mut text = format!(
        "*Internal summary, {}* ({} · {} · since {})\n*Impact:* {}",
        incident.reference(),
        incident.severity,
        incident.status,
        at(since),
        if incident.summary.is_empty() {
            "not described yet".to_string()
        } else {
            incident.summary.clone()
        }
    );
    let pick = |kinds: &[K]| -> Vec<String> {
        entries
            .iter()
            .filter(|e| e.occurred_at >= since && kinds.contains(&e.kind) && e.fetched)
            .map(|e| {
                let label = e
                    .kind
                    .label()
                    .map(|l| format!("[{l}] "))
                    .unwrap_or_default();
                let who = match (&e.author_name, &e.author) {
                    (Some(name), _) => format!("{name}: "),
                    (None, Some(user)) if e.kind == K::Note => format!("{}: ", user.mention()),
                    _ => String::new(),
                };
                format!("• {} {label}{who}{}", at(e.occurred_at), e.text)
            })
            .collect()
    };
    let changes = pick(&[K::Severity, K::Status, K::Role, K::Update]);
    let milestones = pick(&[
        K::Message,
        K::Note,
        K::ImpactStarted,
        K::Detected,
        K::Mitigated,
        K::Resolved,
        K::Decision,
        K::Hypothesis,
    ]);
    for (title, lines) in [("Changes of state", changes), ("Milestones", milestones)] {
        text.push_str(&format!("\n*{title}:*"));
        if lines.is_empty() {
            text.push_str(" none");
        } else {
            for l in lines {
                text.push('\n');
                text.push_str(&l);
            }
        }
    }
    truncate(&text, SUMMARY_MAX)
}

/// The longest summary: what a plain-text input holds.
pub const SUMMARY_MAX: usize = 3000;
pub const ACTION_OPEN_SUMMARY: &str = "checklist.summary";
pub const CALLBACK_SUMMARY: &str = "summary";
/// Block and action id of the summary form's text.
pub const SUMMARY_BLOCK: &str = "summary";

/// The button value of "Edit and post": `<checklist>|<since ms>|<until ms>`.
pub fn summary_action_value(checklist: i64, since: i64, until: i64) -> String {
    format!("{checklist}|{since}|{until}")
}

/// The form that edits the prefilled internal summary before it is posted
/// in the war room.
pub fn summary_modal(incident: &Incident, prefilled: &str) -> SlackView {
    let blocks: Vec<SlackBlock> = vec![
        SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
            SlackBlockMarkDownText::new(format!(
                "*{}* · {}: edit what the timeline gave, then post it in the war room.",
                incident.reference(),
                escape(&incident.title)
            )),
        )])
        .into(),
        SlackInputBlock::new(
            plain("Internal summary"),
            SlackBlockPlainTextInputElement::new()
                .with_action_id("value".into())
                .with_multiline(true)
                .with_max_length(SUMMARY_MAX as u64)
                .with_initial_value(truncate(prefilled, SUMMARY_MAX))
                .into(),
        )
        .with_block_id(SUMMARY_BLOCK.into())
        .into(),
    ];
    SlackView::Modal(
        SlackModalView::new(plain("Internal summary"), blocks)
            .with_submit(plain("Post"))
            .with_close(plain("Cancel"))
            .with_callback_id(CALLBACK_SUMMARY.into())
            .with_private_metadata(incident.number.to_string()),
    )
}

/// The Scribe's internal summary as posted in the war room.
pub fn summary_post(
    incident: &Incident,
    text: &str,
    by: &crate::domain::UserId,
) -> SlackMessageContent {
    SlackMessageContent::new()
        .with_text(format!("{} internal summary", incident.reference()))
        .with_blocks(vec![
            SlackSectionBlock::new()
                .with_text(md!(truncate(text, SECTION_TEXT_MAX)))
                .into(),
            SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
                SlackBlockMarkDownText::new(format!("Posted by {}", by.mention())),
            )])
            .into(),
        ])
}

/// Prefix of a follow-up's Done button: `followup.done|<id>` (action ids
/// are unique within a message).
pub const ACTION_FOLLOWUP_DONE: &str = "followup.done";

/// `/incident followups`: one section per follow-up, a Done button on the
/// open ones. At most `MAX_BLOCKS - 2` are shown; the rest are counted.
pub fn followups(
    heading: &str,
    items: &[crate::domain::followups::Followup],
    today: chrono::NaiveDate,
) -> SlackMessageContent {
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(md!(truncate(heading, SECTION_TEXT_MAX)))
            .into(),
    ];
    let room = MAX_BLOCKS - 2;
    for f in items.iter().take(room) {
        let mut section = SlackSectionBlock::new()
            .with_text(md!(truncate(&followup_line(f, today), SECTION_TEXT_MAX)));
        if f.is_open() {
            section = section.with_accessory(
                SlackBlockButtonElement::new(plain("Done"))
                    .with_action_id(format!("{ACTION_FOLLOWUP_DONE}|{}", f.id).into())
                    .with_value(f.id.to_string())
                    .into(),
            );
        }
        blocks.push(section.into());
    }
    if items.is_empty() {
        blocks.push(
            SlackSectionBlock::new()
                .with_text(md!("_No follow-ups here._".to_string()))
                .into(),
        );
    } else if items.len() > room {
        blocks.push(
            SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
                SlackBlockMarkDownText::new(format!(
                    "{} more not shown; tick some done first.",
                    items.len() - room
                )),
            )])
            .into(),
        );
    }
    SlackMessageContent::new()
        .with_text(heading.to_string())
        .with_blocks(blocks)
}

/// One follow-up as a line: incident, text, owner, due date, status.
pub fn followup_line(f: &crate::domain::followups::Followup, today: chrono::NaiveDate) -> String {
    let due = match f.due {
        Some(d) if f.is_overdue(today) => format!(" · *overdue* since {d}"),
        Some(d) => format!(" · due {d}"),
        None => String::new(),
    };
    let state = if f.is_open() {
        String::new()
    } else {
        " · :white_check_mark: done".to_string()
    };
    format!(
        "*INC-{}* {} · {}{due}{state}",
        f.incident,
        crate::slack::text::defuse(&f.text),
        f.owner.mention()
    )
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
            private: false,
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
            assessment: None,
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

    fn scribe_checklist() -> crate::domain::checklist::Checklist {
        crate::domain::checklist::Checklist {
            id: 4,
            incident: 3,
            role: "Scribe".into(),
            holder: UserId("U2".into()),
            tasks: crate::domain::checklist::Tasks::defaults_for("Scribe"),
            done: [1].into_iter().collect(),
            ts: None,
            cadence_at: None,
            since: chrono::Utc
                .with_ymd_and_hms(2026, 11, 23, 23, 50, 0)
                .unwrap(),
        }
    }

    #[test]
    fn a_checklist_has_a_checkbox_per_task() {
        insta::assert_json_snapshot!(checklist(&incident(), &scribe_checklist()));
    }

    #[test]
    fn the_biggest_checklist_stays_within_block_kit_limits() {
        use crate::domain::checklist::{CadenceTasks, MAX_TASK_CHARS, MAX_TASKS, Tasks};
        let task = |i: usize| format!("{i} {}", "<&>".repeat(MAX_TASK_CHARS));
        let mut list = scribe_checklist();
        list.tasks = Tasks {
            start: (0..MAX_TASKS - 2).map(task).collect(),
            during: vec![task(98)],
            cadence: Some(CadenceTasks {
                every: std::time::Duration::from_secs(600),
                tasks: vec![task(99)],
            }),
        };
        let content = checklist(&incident(), &list);
        let blocks = content.blocks.as_ref().unwrap();
        assert!(blocks.len() <= MAX_BLOCKS, "{}", blocks.len());
        let json = serde_json::to_value(&content).unwrap();
        let mut ids = std::collections::HashSet::new();
        for b in json["blocks"].as_array().unwrap() {
            if let Some(text) = b["text"]["text"].as_str() {
                assert!(text.chars().count() <= SECTION_TEXT_MAX);
            }
            if let Some(id) = b["block_id"].as_str() {
                assert!(ids.insert(id.to_string()), "{id} twice");
            }
        }
    }

    #[test]
    fn the_internal_summary_takes_the_window_only() {
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 23, 50, 0)
            .unwrap();
        let entries = [
            entry(
                1,
                t - chrono::Duration::minutes(1),
                EntryKind::Note,
                "old news",
            ),
            entry(
                2,
                t,
                EntryKind::Status,
                "Status changed from investigating to identified",
            ),
            entry(
                3,
                t + chrono::Duration::minutes(3),
                EntryKind::Message,
                "errors down",
            ),
        ];
        let text = internal_summary(&incident(), &entries, t, chrono_tz::UTC);
        assert!(!text.contains("old news"), "{text}");
        assert!(text.contains("*Changes of state:*\n• "), "{text}");
        assert!(text.contains("errors down"));
        assert!(text.contains("not described yet"));
        assert!(text.contains("• 23:50 UTC Status changed"), "{text}");
        let quiet = internal_summary(&incident(), &[], t, chrono_tz::UTC);
        assert!(quiet.contains("*Milestones:* none"), "{quiet}");
    }

    #[test]
    fn the_bridge_button_goes_beside_the_board_heading() {
        let roles = RoleCatalog::new(RoleCatalog::defaults()).unwrap();
        let board = role_board(&incident(), &[], &roles);
        let blocks = board.blocks.as_ref().map(Vec::len);
        let with = with_bridge(board.clone(), Some("https://meet.example.com/inc-3"));
        assert_eq!(with.blocks.as_ref().map(Vec::len), blocks, "no extra block");
        let json = serde_json::to_value(&with).unwrap();
        assert_eq!(
            json["blocks"][0]["accessory"]["url"],
            "https://meet.example.com/inc-3"
        );
        assert_eq!(with_bridge(board.clone(), None), board);
        assert_eq!(with_bridge(board.clone(), Some("not a url")), board);
    }

    fn followup(
        id: i64,
        text: &str,
        due: Option<&str>,
        done: bool,
    ) -> crate::domain::followups::Followup {
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
            .unwrap();
        crate::domain::followups::Followup {
            id,
            incident: 3,
            text: text.into(),
            owner: UserId("UBOB".into()),
            due: due.map(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()),
            created_by: UserId("U1".into()),
            created_at: at,
            done_at: done.then_some(at),
            done_by: done.then(|| UserId("UBOB".into())),
        }
    }

    #[test]
    fn the_weekly_digest_marks_overdue_items_and_has_a_done_button_each() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let items = [
            followup(7, "Alert on checkout 5xx", Some("2026-11-20"), false),
            followup(
                9,
                "Raise the pool size &lt;now&gt;",
                Some("2026-12-01"),
                false,
            ),
            followup(12, "Write the runbook", None, false),
        ];
        let digest = followup_digest(&items, today);
        insta::assert_json_snapshot!(digest);
        let json = serde_json::to_string(&digest).unwrap();
        assert!(json.contains("(3, 1 overdue)"), "{json}");
        assert_eq!(json.matches("followup.done|").count(), 3);
    }

    #[test]
    fn the_followup_form() {
        let view = followup_modal(&incident(), &UserId("UBOB".into()));
        insta::assert_json_snapshot!(view);
    }

    #[test]
    fn the_postmortem_summary_offers_to_add_a_followup() {
        let content = postmortem_summary(&incident(), &[], &[], "inc-3-postmortem.md");
        insta::assert_json_snapshot!(content);
        let json = serde_json::to_value(&content).unwrap();
        let button = &json["blocks"].as_array().unwrap().last().unwrap()["elements"][0];
        assert_eq!(button["action_id"], ACTION_ADD_FOLLOWUP);
        assert_eq!(button["value"], "3");
    }
}
