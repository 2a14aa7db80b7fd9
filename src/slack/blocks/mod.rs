//! Block Kit rendering: pure functions from domain values to
//! slack-morphism's block types. `modals` (the forms), `messages` (role
//! board, announcements, timeline, status updates, reminders), `checklists`
//! (role checklists and the Scribe's internal summary), `followups`, and
//! `format` (text helpers they share, and `md` and `message`, the only way
//! their text, a [`super::text::Mrkdwn`], becomes Block Kit). The ids they
//! write are in [`super::ids`], which `inbound` parses back.

mod alerts;
mod checklists;
mod doors;
mod followups;
mod format;
mod messages;
mod modals;

pub use alerts::{
    AlertCard, AlertPrefill, alert_card, alert_line, alert_note, alerts_resolved,
    declare_modal_for_alert, declared_by_alert, group_links, linked_line, with_alert_links,
};
pub use checklists::{checklist, checklist_reminder, internal_summary, summary_post};
pub use doors::{Home, add_to_timeline_modal, home, remove_from_timeline_modal, unfurl_card};
pub use followups::{followup_digest, followup_line, followups};
pub use messages::{
    announcement, announcement_redacted, paged, postmortem_summary, reminder, role_board,
    status_update, timeline, with_bridge, with_web_link,
};
pub use modals::{
    declare_modal, declare_modal_from, followup_modal, severity_modal, summary_modal, update_modal,
};

pub use super::ids::{
    ACTION_ADD_FOLLOWUP, ACTION_BRIDGE, ACTION_FOLLOWUP_DONE, ACTION_OPEN_SUMMARY,
    ACTION_OPEN_UPDATE, ACTION_SNOOZE, ACTION_TICK, CALLBACK_FOLLOWUP, CALLBACK_SUMMARY,
    SUMMARY_BLOCK, followup as followup_ids, summary_action_value, tick_action_id,
    update as update_ids,
};
pub use super::text::truncate;

/// Slack's limit for a modal title.
const MODAL_TITLE_MAX: usize = 24;
/// Slack's limit for a section's text.
pub const SECTION_TEXT_MAX: usize = 3000;
/// Slack's limit on blocks in a message.
pub const MAX_BLOCKS: usize = 50;
/// The longest follow-up the form takes.
pub const FOLLOWUP_TEXT_MAX: usize = 1000;
/// The longest summary: what a plain-text input holds.
pub const SUMMARY_MAX: usize = 3000;

#[cfg(test)]
mod tests;
