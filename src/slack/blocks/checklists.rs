//! Role checklists in the war room, their recurring reminders, and the
//! Scribe's internal summary.

use super::format::{context, md, message, plain, reference};
use super::{MAX_BLOCKS, SECTION_TEXT_MAX, SUMMARY_MAX, truncate};
use crate::domain::{Entry, Incident};
use crate::slack::ids::{self, ACTION_OPEN_SUMMARY, TICK_DONE, tick_action_id};
use crate::slack::text::Mrkdwn;
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
    let role = Mrkdwn::escaped(list.role.as_str());
    let head = Mrkdwn::fill(
        ":clipboard: *{} checklist* for {} · {}",
        [role.clone(), list.holder.mention(), reference(incident)],
    );
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_block_id(ids::block::CHECKLIST_HEAD.into())
            .with_text(md(head.truncate(SECTION_TEXT_MAX)).into())
            .into(),
    ];
    let mut group = None;
    for task in list.tasks.all() {
        if group != Some(task.group) {
            group = Some(task.group);
            let title = match task.group {
                Group::Start => Mrkdwn::literal("*At the start*"),
                Group::During => Mrkdwn::literal("*While it runs*"),
                Group::Cadence => Mrkdwn::fill(
                    "*Every {}* (you will be reminded)",
                    [list
                        .tasks
                        .cadence
                        .as_ref()
                        .map(|c| Mrkdwn::escaped(&humantime::format_duration(c.every).to_string()))
                        .unwrap_or_default()],
                ),
            };
            blocks.push(context(title).into());
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
            Mrkdwn::fill("~{}~", [Mrkdwn::escaped(task.text)])
        } else {
            Mrkdwn::escaped(task.text)
        };
        blocks.push(
            SlackSectionBlock::new()
                .with_block_id(ids::block::task(task.index).into())
                .with_text(md(text.truncate(SECTION_TEXT_MAX)).into())
                .with_accessory(checkbox.into())
                .into(),
        );
    }
    let (done, total) = (Mrkdwn::number(done), Mrkdwn::number(total));
    blocks.push(
        context(Mrkdwn::fill(
            "{} of {} done · ticks are recorded on the timeline",
            [done.clone(), total.clone()],
        ))
        .into(),
    );
    blocks.truncate(MAX_BLOCKS);
    message(
        Mrkdwn::fill(
            "{} checklist for {} ({} of {} done)",
            [role, list.holder.mention(), done, total],
        ),
        blocks,
    )
}

/// A cadence reminder to a role holder; for the Scribe, with the internal
/// summary prefilled from the timeline since the last one.
pub fn checklist_reminder(
    incident: &Incident,
    list: &crate::domain::checklist::Checklist,
    summary: Option<&str>,
    summary_button: Option<&str>,
) -> SlackMessageContent {
    let tasks = list
        .tasks
        .cadence
        .iter()
        .flat_map(|c| c.tasks.iter())
        .map(|t| Mrkdwn::fill("• {}", [Mrkdwn::escaped(t)]));
    let role = Mrkdwn::escaped(list.role.as_str());
    let head = Mrkdwn::fill(
        ":repeat: {} time for your recurring *{}* tasks in {}:\n{}",
        [
            list.holder.mention(),
            role.clone(),
            reference(incident),
            Mrkdwn::join(tasks, "\n"),
        ],
    );
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(md(head.truncate(SECTION_TEXT_MAX)).into())
            .into(),
    ];
    if let Some(summary) = summary {
        blocks.push(
            context(Mrkdwn::literal(
                "Your summary, prefilled from the timeline since the last one:",
            ))
            .into(),
        );
        // Quoted words must not ping a whole channel from the reminder.
        blocks.push(
            SlackSectionBlock::new()
                .with_text(md(Mrkdwn::slack(summary).truncate(SECTION_TEXT_MAX)).into())
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
    message(
        Mrkdwn::fill(
            "{}: time for the recurring {} tasks",
            [reference(incident), role],
        ),
        blocks,
    )
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
    message(
        Mrkdwn::fill("{} internal summary", [reference(incident)]),
        vec![
            SlackSectionBlock::new()
                .with_text(md(Mrkdwn::slack(text).truncate(SECTION_TEXT_MAX)).into())
                .into(),
            context(Mrkdwn::fill("Posted by {}", [by.mention()])).into(),
        ],
    )
}
