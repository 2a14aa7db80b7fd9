//! Follow-up lists: `/incident followups` and the weekly digest.

use super::format::plain;
use super::{MAX_BLOCKS, SECTION_TEXT_MAX, truncate};
use crate::slack::ids::followup_done_action_id;
use slack_morphism::prelude::*;

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
                    .with_action_id(followup_done_action_id(f.id).into())
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
