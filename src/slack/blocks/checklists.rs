//! Role checklists in the war room, their recurring reminders, and the
//! Scribe's internal summary.

use super::format::plain;
use super::{MAX_BLOCKS, SECTION_TEXT_MAX, SUMMARY_MAX, escape, truncate};
use crate::domain::{Entry, Incident};
use crate::slack::ids::{self, ACTION_OPEN_SUMMARY, TICK_DONE, tick_action_id};
use slack_morphism::prelude::*;

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
        escape(list.role.as_str()),
        list.holder.mention(),
        incident.reference()
    );
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_block_id(ids::block::CHECKLIST_HEAD.into())
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
            TICK_DONE.to_string(),
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
                .with_block_id(ids::block::task(task.index).into())
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
        escape(list.role.as_str()),
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
        let summary = crate::slack::text::defuse(summary);
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
