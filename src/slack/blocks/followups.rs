//! Follow-up lists: `/incident followups` and the weekly digest.

use super::format::{context, md, message, plain};
use super::{MAX_BLOCKS, SECTION_TEXT_MAX};
use crate::slack::ids::followup_done_action_id;
use crate::slack::text::Mrkdwn;
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
        0 => Mrkdwn::default(),
        n => Mrkdwn::fill(", {} overdue", [Mrkdwn::number(n)]),
    };
    let heading = Mrkdwn::fill(
        ":spiral_calendar_pad: *Your open follow-ups this week* ({}{}). Tick each one done when it is; `/incident followups` lists them any time.",
        [Mrkdwn::number(open), overdue],
    );
    followups(heading, items, today)
}

/// `/incident followups`: one section per follow-up, a Done button on the
/// open ones. At most `MAX_BLOCKS - 2` are shown; the rest are counted.
pub fn followups(
    heading: Mrkdwn,
    items: &[crate::domain::followups::Followup],
    today: chrono::NaiveDate,
) -> SlackMessageContent {
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(md(heading.clone().truncate(SECTION_TEXT_MAX)).into())
            .into(),
    ];
    let room = MAX_BLOCKS - 2;
    for f in items.iter().take(room) {
        let mut section = SlackSectionBlock::new()
            .with_text(md(followup_line(f, today).truncate(SECTION_TEXT_MAX)).into());
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
                .with_text(md(Mrkdwn::literal("_No follow-ups here._")).into())
                .into(),
        );
    } else if items.len() > room {
        blocks.push(
            context(Mrkdwn::fill(
                "{} more not shown; tick some done first.",
                [Mrkdwn::number(items.len() - room)],
            ))
            .into(),
        );
    }
    message(heading, blocks)
}

/// One follow-up as a line: incident, text, owner, due date, status.
pub fn followup_line(f: &crate::domain::followups::Followup, today: chrono::NaiveDate) -> Mrkdwn {
    let date = |d: chrono::NaiveDate| Mrkdwn::escaped(&d.to_string());
    let due = match f.due {
        Some(d) if f.is_overdue(today) => Mrkdwn::fill(" · *overdue* since {}", [date(d)]),
        Some(d) => Mrkdwn::fill(" · due {}", [date(d)]),
        None => Mrkdwn::default(),
    };
    let state = Mrkdwn::literal(if f.is_open() {
        ""
    } else {
        " · :white_check_mark: done"
    });
    Mrkdwn::fill(
        "*INC-{}* {} · {}{}{}",
        [
            Mrkdwn::number(f.incident.get()),
            Mrkdwn::slack(&f.text),
            f.owner.mention(),
            due,
            state,
        ],
    )
}
