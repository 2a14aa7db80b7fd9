//! Block Kit rendering: the declare modal, the role board, the announcement.
//! Pure functions from domain values to slack-morphism's block types.

use super::inbound::{
    ACTION_CLAIM, ACTION_RELEASE, CALLBACK_DECLARE, DeclareMetadata, declare_ids, role_action_value,
};
use crate::domain::{Assignment, Incident, RoleCatalog, SeverityCatalog, holders};
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

/// The lead shown on the board, topic and announcement.
pub fn lead(incident: &Incident, assignments: &[Assignment]) -> crate::domain::UserId {
    holders(assignments, crate::domain::roles::INCIDENT_LEAD)
        .first()
        .map(|u| (*u).clone())
        .unwrap_or_else(|| incident.declared_by.clone())
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
