//! The views of Slack's other doors: the App Home tab, and the forms of
//! the "Add to incident timeline" message shortcut.

use super::followups::followup_line;
use super::format::plain;
use super::{SECTION_TEXT_MAX, defuse, safe, truncate};
use crate::domain::followups::Followup;
use crate::domain::{Incident, QuotedMessage, RoleName, UserId};
use crate::slack::ids::{
    ACTION_HOME_DECLARE, CALLBACK_ADD_TO_TIMELINE, CALLBACK_REMOVE_FROM_TIMELINE, VALUE,
    add_to_timeline, followup_done_action_id,
};
use crate::slack::inbound::RemoveMetadata;
use slack_morphism::prelude::*;

/// Slack's limit on an option's text.
const OPTION_TEXT_MAX: usize = 75;
/// Slack's limit on a static select's options.
const MAX_OPTIONS: usize = 100;
/// Slack's limit on blocks in a Home tab.
const HOME_MAX_BLOCKS: usize = 100;

/// What one person's Home tab shows.
#[derive(Clone, Debug, Default)]
pub struct Home {
    /// Open incidents they may see, each with its lead, newest first.
    pub open: Vec<(Incident, UserId)>,
    /// Their roles in open incidents.
    pub roles: Vec<(Incident, RoleName)>,
    /// Their open follow-ups.
    pub followups: Vec<Followup>,
    /// The last few closed incidents they may see.
    pub closed: Vec<Incident>,
}

fn section(text: String) -> SlackBlock {
    SlackSectionBlock::new()
        .with_text(md!(truncate(&text, SECTION_TEXT_MAX)))
        .into()
}

fn heading(text: &str) -> SlackBlock {
    SlackHeaderBlock::new(plain(text)).into()
}

/// Where an incident is run: its war room, once it exists.
fn room(incident: &Incident) -> String {
    incident
        .channel_id
        .as_ref()
        .map(|c| format!("<#{c}>"))
        .unwrap_or_else(|| "_war room opening…_".to_string())
}

/// The Home tab (`views.publish`): a Declare button, the open incidents
/// with their severity, status, lead and war room, the person's roles and
/// open follow-ups (with Done buttons), and the last closed incidents,
/// whose war rooms hold their postmortem drafts.
pub fn home(h: &Home, today: chrono::NaiveDate) -> SlackView {
    let mut blocks: Vec<SlackBlock> = vec![
        section(
            "*warroom* runs incidents in Slack: a war room, roles, a timeline, status-update reminders and a postmortem draft.".to_string(),
        ),
        SlackActionsBlock::new(vec![
            SlackBlockButtonElement::new(plain("Declare an incident"))
                .with_action_id(ACTION_HOME_DECLARE.into())
                .with_style(SlackBlockButtonStyle::Danger)
                .into(),
        ])
        .into(),
        heading("Open incidents"),
    ];
    if h.open.is_empty() {
        blocks.push(section("_No open incidents._ :sunny:".to_string()));
    }
    for (i, lead) in &h.open {
        blocks.push(section(format!(
            "{} *{}: {}*\n*{}* · {} {} · lead {} · {}",
            if i.private { ":lock:" } else { "" },
            i.reference(),
            safe(&i.title),
            safe(i.severity.as_str()),
            i.status.emoji(),
            i.status,
            lead.mention(),
            room(i),
        )));
    }
    blocks.push(heading("Your roles"));
    if h.roles.is_empty() {
        blocks.push(section(
            "_None right now._ Claim one on an incident's role board.".to_string(),
        ));
    }
    for (i, role) in &h.roles {
        blocks.push(section(format!(
            "*{}* in {} · {}",
            safe(role.as_str()),
            i.reference(),
            room(i)
        )));
    }
    blocks.push(heading("Your follow-ups"));
    if h.followups.is_empty() {
        blocks.push(section("_Nothing open._".to_string()));
    }
    for f in &h.followups {
        blocks.push(
            SlackSectionBlock::new()
                .with_text(md!(truncate(&followup_line(f, today), SECTION_TEXT_MAX)))
                .with_accessory(
                    SlackBlockButtonElement::new(plain("Done"))
                        .with_action_id(followup_done_action_id(f.id).into())
                        .with_value(f.id.to_string())
                        .into(),
                )
                .into(),
        );
    }
    blocks.push(heading("Recently closed"));
    if h.closed.is_empty() {
        blocks.push(section("_None yet._".to_string()));
    }
    for i in &h.closed {
        blocks.push(section(format!(
            "*{}: {}* · {} · postmortem draft in {}",
            i.reference(),
            safe(&i.title),
            safe(i.severity.as_str()),
            room(i)
        )));
    }
    blocks.truncate(HOME_MAX_BLOCKS);
    SlackView::Home(SlackHomeView::new(blocks))
}

/// Slack's limit on a view's private metadata is 3000 characters: the
/// message it carries keeps this much of its text (the rest is cut, and
/// the timeline entry made from it says so with `…`).
const CARRIED_TEXT_MAX: usize = 1500;

/// `message` as a form's metadata carries it.
pub(super) fn carried(message: &QuotedMessage) -> QuotedMessage {
    QuotedMessage {
        text: truncate(&message.text, CARRIED_TEXT_MAX),
        ..message.clone()
    }
}

/// A message quoted in a form, as a context line.
fn quoted(message: &QuotedMessage) -> SlackBlock {
    let who = message
        .author
        .as_ref()
        .map(|u| format!("{}: ", u.mention()))
        .unwrap_or_default();
    SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
        SlackBlockMarkDownText::new(truncate(
            &format!("{who}{}", defuse(&message.text)),
            SECTION_TEXT_MAX,
        )),
    )])
    .into()
}

/// "Add to incident timeline" outside a war room: pick one of `open`.
pub fn add_to_timeline_modal(open: &[Incident], message: &QuotedMessage) -> SlackView {
    let options: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> = open
        .iter()
        .rev()
        .take(MAX_OPTIONS)
        .map(|i| {
            SlackBlockChoiceItem::new(
                plain(truncate(
                    &format!("{} {}", i.reference(), i.title),
                    OPTION_TEXT_MAX,
                )),
                i.number.to_string(),
            )
        })
        .collect();
    let blocks: Vec<SlackBlock> = vec![
        quoted(message),
        SlackInputBlock::new(
            plain("Incident"),
            SlackBlockStaticSelectElement::new()
                .with_action_id(VALUE.into())
                .with_placeholder(plain("Pick an open incident"))
                .with_options(options)
                .into(),
        )
        .with_block_id(add_to_timeline::INCIDENT.into())
        .into(),
    ];
    SlackView::Modal(
        SlackModalView::new(plain("Add to timeline"), blocks)
            .with_submit(plain("Add"))
            .with_close(plain("Cancel"))
            .with_callback_id(CALLBACK_ADD_TO_TIMELINE.into())
            .with_private_metadata(serde_json::to_string(&carried(message)).unwrap_or_default()),
    )
}

/// The message is on `incident`'s timeline already: take it off?
pub fn remove_from_timeline_modal(incident: &Incident, message: &QuotedMessage) -> SlackView {
    let metadata = RemoveMetadata {
        incident: incident.number,
        message: carried(message),
    };
    let blocks: Vec<SlackBlock> = vec![
        section(format!(
            "This message is on the timeline of *{}*. Take it off? It stays in the record as removed.",
            incident.reference()
        )),
        quoted(message),
    ];
    SlackView::Modal(
        SlackModalView::new(plain("On the timeline"), blocks)
            .with_submit(plain("Remove"))
            .with_close(plain("Keep it"))
            .with_callback_id(CALLBACK_REMOVE_FROM_TIMELINE.into())
            .with_private_metadata(serde_json::to_string(&metadata).unwrap_or_default()),
    )
}
