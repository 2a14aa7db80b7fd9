//! The views of Slack's other doors: the App Home tab, and the forms of
//! the "Add to incident timeline" message shortcut.

use super::followups::followup_line;
use super::format::{context, md, plain, reference, severity, status};
use super::{SECTION_TEXT_MAX, truncate};
use crate::domain::followups::Followup;
use crate::domain::{Incident, QuotedMessage, RoleName, UserId};
use crate::slack::ids::{
    ACTION_HOME_DECLARE, CALLBACK_ADD_TO_TIMELINE, CALLBACK_REMOVE_FROM_TIMELINE, VALUE,
    add_to_timeline, followup_done_action_id,
};
use crate::slack::inbound::RemoveMetadata;
use crate::slack::text::Mrkdwn;
use slack_morphism::prelude::*;

/// Slack's limit on blocks in a Home tab.
const HOME_MAX_BLOCKS: usize = 100;
/// Open incidents shown on Home (the rest counted), and roles: with 20
/// follow-ups and 5 closed incidents, well inside Slack's 100 blocks.
const OPEN_SHOWN: usize = 40;
const ROLES_SHOWN: usize = 15;
/// Follow-ups shown on Home, each with its Done button (the rest counted).
const FOLLOWUPS_SHOWN: usize = 20;

/// "…and N more" under a section cut short.
fn more(shown: usize, total: usize, where_: &'static str) -> Option<SlackBlock> {
    (total > shown).then(|| {
        section(Mrkdwn::fill(
            "_…and {} more: {}_",
            [Mrkdwn::number(total - shown), Mrkdwn::literal(where_)],
        ))
    })
}

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

fn section(text: Mrkdwn) -> SlackBlock {
    SlackSectionBlock::new()
        .with_text(md(text.truncate(SECTION_TEXT_MAX)).into())
        .into()
}

fn heading(text: &str) -> SlackBlock {
    SlackHeaderBlock::new(plain(text)).into()
}

/// Where an incident is run: its war room, once it exists.
fn room(incident: &Incident) -> Mrkdwn {
    incident
        .channel_id
        .as_ref()
        .map(Mrkdwn::channel)
        .unwrap_or_else(|| Mrkdwn::literal("_war room opening…_"))
}

/// The Home tab (`views.publish`): a Declare button, the open incidents
/// with their severity, status, lead and war room, the person's roles and
/// open follow-ups (with Done buttons), and the last closed incidents,
/// whose war rooms hold their postmortem drafts.
pub fn home(h: &Home, today: chrono::NaiveDate) -> SlackView {
    let mut blocks: Vec<SlackBlock> = vec![
        section(Mrkdwn::literal(
            "*warroom* runs incidents in Slack: a war room, roles, a timeline, status-update reminders and a postmortem draft.",
        )),
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
        blocks.push(section(Mrkdwn::literal("_No open incidents._ :sunny:")));
    }
    for (i, lead) in h.open.iter().take(OPEN_SHOWN) {
        blocks.push(section(Mrkdwn::fill(
            "{}*{}: {}*\n*{}* · {} {} · lead {} · {}",
            [
                Mrkdwn::literal(if i.private { ":lock: " } else { "" }),
                reference(i),
                Mrkdwn::typed(&i.title),
                severity(&i.severity),
                Mrkdwn::literal(i.status.emoji()),
                status(i.status),
                lead.mention(),
                room(i),
            ],
        )));
    }
    blocks.extend(more(OPEN_SHOWN, h.open.len(), "`/incident list`"));
    blocks.push(heading("Your roles"));
    if h.roles.is_empty() {
        blocks.push(section(Mrkdwn::literal(
            "_None right now._ Claim one on an incident's role board.",
        )));
    }
    for (i, role) in h.roles.iter().take(ROLES_SHOWN) {
        blocks.push(section(Mrkdwn::fill(
            "*{}* in {} · {}",
            [Mrkdwn::typed(role.as_str()), reference(i), room(i)],
        )));
    }
    blocks.extend(more(ROLES_SHOWN, h.roles.len(), "the role boards"));
    blocks.push(heading("Your follow-ups"));
    if h.followups.is_empty() {
        blocks.push(section(Mrkdwn::literal("_Nothing open._")));
    }
    for f in h.followups.iter().take(FOLLOWUPS_SHOWN) {
        blocks.push(
            SlackSectionBlock::new()
                .with_text(md(followup_line(f, today).truncate(SECTION_TEXT_MAX)).into())
                .with_accessory(
                    SlackBlockButtonElement::new(plain("Done"))
                        .with_action_id(followup_done_action_id(f.id).into())
                        .with_value(f.id.to_string())
                        .into(),
                )
                .into(),
        );
    }
    blocks.extend(more(
        FOLLOWUPS_SHOWN,
        h.followups.len(),
        "`/incident followups`",
    ));
    blocks.push(heading("Recently closed"));
    if h.closed.is_empty() {
        blocks.push(section(Mrkdwn::literal("_None yet._")));
    }
    for i in &h.closed {
        blocks.push(section(Mrkdwn::fill(
            "*{}: {}* · {} · postmortem draft in {}",
            [
                reference(i),
                Mrkdwn::typed(&i.title),
                severity(&i.severity),
                room(i),
            ],
        )));
    }
    blocks.truncate(HOME_MAX_BLOCKS);
    SlackView::Home(SlackHomeView::new(blocks))
}

/// Slack's limit on a view's private metadata is 3000 characters: the
/// message it carries keeps this much of its text (the rest is cut, and
/// the timeline entry made from it says so with `…`).
const CARRIED_TEXT_MAX: usize = 1500;

/// `message` as a form's metadata carries it: its text cut until it
/// takes at most [`CARRIED_TEXT_MAX`] characters as JSON (quotes and line
/// breaks take two).
pub(super) fn carried(message: &QuotedMessage) -> QuotedMessage {
    let json_len = |t: &str| serde_json::to_string(t).map_or(usize::MAX, |j| j.chars().count());
    let mut keep = message.text.chars().count().min(CARRIED_TEXT_MAX);
    let mut text = truncate(&message.text, keep);
    while keep > 0 && json_len(&text) > CARRIED_TEXT_MAX {
        keep = keep * 9 / 10;
        text = truncate(&message.text, keep);
    }
    QuotedMessage {
        text,
        ..message.clone()
    }
}

/// A message quoted in a form, as a context line.
fn quoted(message: &QuotedMessage) -> SlackBlock {
    let text = match &message.author {
        Some(u) => Mrkdwn::fill("{}: {}", [u.mention(), Mrkdwn::slack(&message.text)]),
        None => Mrkdwn::slack(&message.text),
    };
    context(text.truncate(SECTION_TEXT_MAX)).into()
}

/// "Add to incident timeline" outside a war room: pick one of `open`.
pub fn add_to_timeline_modal(open: &[Incident], message: &QuotedMessage) -> SlackView {
    let options = super::format::incident_options(open);
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
        section(Mrkdwn::fill(
            "This message is on the timeline of *{}*. Take it off? It stays in the record as removed.",
            [reference(incident)],
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

/// A link to an incident's page, unfurled: a compact card (headline,
/// lead, war room) as `chat.unfurl` takes it.
pub fn unfurl_card(incident: &Incident, lead: &UserId) -> serde_json::Value {
    let blocks: Vec<SlackBlock> = vec![
        section(super::format::headline(incident)),
        context(Mrkdwn::fill(
            "Lead {} · {}",
            [lead.mention(), room(incident)],
        ))
        .into(),
    ];
    serde_json::json!({ "blocks": blocks })
}
