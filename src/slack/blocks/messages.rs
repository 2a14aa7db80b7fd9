//! The bot's messages: the role board, the announcements, the timeline,
//! status updates, reminders, the postmortem summary and the bridge button.

use super::format::{headline, plain, span, timeline_line, when};
use super::{MAX_BLOCKS, SECTION_TEXT_MAX, defuse, escape, safe, truncate};
use crate::domain::comms::Cadence;
use crate::domain::{Assignment, Entry, Incident, RoleCatalog, holders, lead};
use crate::slack::ids::{
    self, ACTION_ADD_FOLLOWUP, ACTION_BRIDGE, ACTION_CLAIM, ACTION_OPEN_UPDATE, ACTION_PAGE,
    ACTION_RELEASE, role_value, snooze_action_id, snooze_value,
};
use slack_morphism::prelude::*;

/// The role board in the war room: one line per role, Claim and Release;
/// with `page`, a Page on-call button under it (PagerDuty paging is set).
pub fn role_board(
    incident: &Incident,
    assignments: &[Assignment],
    roles: &RoleCatalog,
    page: bool,
) -> SlackMessageContent {
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_block_id(ids::block::BOARD_HEAD.into())
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
        let who = holders(assignments, role.name.as_str());
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
                .with_block_id(ids::block::role(i).into())
                .with_text(md!(format!(
                    "*{}*: {held}{duty}",
                    escape(role.name.as_str())
                )))
                .into(),
        );
        let value = role_value(incident.number, &role.name);
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
                .with_block_id(ids::block::role_actions(i).into())
                .into(),
        );
    }
    if page && incident.status.is_open() {
        blocks.push(
            SlackActionsBlock::new(vec![
                SlackBlockButtonElement::new(plain("Page on-call"))
                    .with_action_id(ACTION_PAGE.into())
                    .with_value(incident.number.to_string())
                    .with_style(SlackBlockButtonStyle::Danger)
                    .into(),
            ])
            .with_block_id(ids::block::PAGE.into())
            .into(),
        );
    }
    SlackMessageContent::new()
        .with_text(fallback.join("\n"))
        .with_blocks(blocks)
}

/// The war room's note that the on-call was paged through PagerDuty: by
/// `by` (Page on-call), or by the incident's severity.
pub fn paged(incident: &Incident, by: Option<&crate::domain::UserId>) -> SlackMessageContent {
    let text = match by {
        Some(user) => format!(
            ":pager: {} paged the on-call through PagerDuty.",
            user.mention()
        ),
        None => format!(
            ":pager: Paged the on-call through PagerDuty: {} is {}.",
            incident.reference(),
            escape(incident.severity.as_str())
        ),
    };
    SlackMessageContent::new()
        .with_text(text.clone())
        .with_blocks(vec![
            SlackSectionBlock::new()
                .with_block_id(ids::block::PAGED.into())
                .with_text(md!(text))
                .into(),
        ])
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
            .with_block_id(ids::block::ANNOUNCE.into())
            .with_text(md!(truncate(&text, SECTION_TEXT_MAX)))
            .into(),
    ];
    if !incident.summary.is_empty() {
        blocks.push(
            SlackSectionBlock::new()
                .with_block_id(ids::block::SUMMARY.into())
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
        escape(incident.severity.as_str()),
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
                .with_block_id(ids::block::ANNOUNCE.into())
                .with_text(md!(truncate(&text, SECTION_TEXT_MAX)))
                .into(),
        ])
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
        escape(incident.severity.as_str()),
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

/// A reminder in the war room, with the timeline entries since the last
/// update (the scribe's digest for the communication lead). The nudge
/// states the incident's `cadence`: updates at least `nudge_after` apart,
/// never more than `due_after`.
pub fn reminder(
    incident: &Incident,
    kind: crate::domain::comms::ReminderKind,
    cadence: &Cadence,
    people: &crate::domain::comms::ReminderPeople,
    since: chrono::DateTime<chrono::Utc>,
    digest: &[Entry],
    tz: chrono_tz::Tz,
) -> SlackMessageContent {
    use crate::domain::comms::ReminderKind;
    let head = match kind {
        ReminderKind::Nudge => format!(
            ":hourglass_flowing_sand: {} no status update since {}. Time for one? Keep them at least {} apart, and never let {} pass without one.",
            people.comms.mention(),
            when(since, false, tz),
            span(cadence.nudge_after),
            span(cadence.due_after),
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
                    .with_action_id(snooze_action_id(15).into())
                    .with_value(snooze_value(n, 15))
                    .into(),
                SlackBlockButtonElement::new(plain("Snooze 30 min"))
                    .with_action_id(snooze_action_id(30).into())
                    .with_value(snooze_value(n, 30))
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
    communications: &[crate::domain::comms::Communication],
    filename: &str,
) -> SlackMessageContent {
    use crate::domain::metrics::{human, metrics};
    let drill = if incident.drill { " (drill)" } else { "" };
    let head = format!(
        ":page_facing_up: *Postmortem draft for {}{drill}: {}*\n{} · {}",
        incident.reference(),
        safe(&incident.title),
        escape(incident.severity.as_str()),
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
