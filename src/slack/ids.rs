//! Every id the bot writes into Slack's blocks and views and may read back
//! from an interaction: action ids, block ids, view callback ids, and the
//! formats of the ids and button values that carry data. `blocks` writes
//! them and `inbound` parses them; neither spells one out.

use crate::domain::{AlertGroupId, ChecklistId, FollowupId, IncidentNumber, RoleName};

/// The action id of every form input's element: a form's answers are told
/// apart by their block ids.
pub const VALUE: &str = "value";

/// "Claim" on the role board; its value is [`role_value`].
pub const ACTION_CLAIM: &str = "role.claim";
/// "Release" on the role board; its value is [`role_value`].
pub const ACTION_RELEASE: &str = "role.release";
/// "Post an update" on a reminder; its value is the incident.
pub const ACTION_OPEN_UPDATE: &str = "update.open";
/// Prefix of a reminder's snooze buttons ([`snooze_action_id`]); the value
/// is [`snooze_value`].
pub const ACTION_SNOOZE: &str = "reminder.snooze";
/// Prefix of a checklist task's checkbox: [`tick_action_id`].
pub const ACTION_TICK: &str = "checklist.tick";
/// "Edit and post" on the Scribe's recurring reminder; its value is
/// [`summary_action_value`].
pub const ACTION_OPEN_SUMMARY: &str = "checklist.summary";
/// "Add follow-up" on the postmortem summary; its value is the incident.
pub const ACTION_ADD_FOLLOWUP: &str = "followup.add";
/// Prefix of a follow-up's Done button: [`followup_done_action_id`] (action
/// ids are unique within a message); its value is the follow-up.
pub const ACTION_FOLLOWUP_DONE: &str = "followup.done";
/// The "Join the bridge" link button.
pub const ACTION_BRIDGE: &str = "bridge.join";
/// "Declare incident" on an alert card; its value is the alert group.
pub const ACTION_ALERT_DECLARE: &str = "alerts.declare";
/// Prefix of "Attach to…", a static select of open incidents on an alert
/// card: [`attach_action_id`]; the selected option's value is the incident.
pub const ACTION_ALERT_ATTACH: &str = "alerts.attach";
/// "Dismiss" on an alert card; its value is the alert group.
pub const ACTION_ALERT_DISMISS: &str = "alerts.dismiss";
/// "Mark mitigated" on the war room's "every alert resolved" message; its
/// value is the incident.
pub const ACTION_MARK_MITIGATED: &str = "alerts.mitigated";
/// Page on-call, on the role board when PagerDuty paging is configured;
/// its value is the incident number.
pub const ACTION_PAGE: &str = "incident.page";
/// An alert's or a source's link button (Slack opens the link).
pub const ACTION_ALERT_LINK: &str = "alerts.link";

/// The declare modal.
pub const CALLBACK_DECLARE: &str = "declare";
/// The global shortcut "Declare an incident" (a `shortcut` payload; the
/// same word as the modal's, which is a `view_submission`).
pub const SHORTCUT_DECLARE: &str = "declare";
/// The message shortcut "Declare incident from message".
pub const SHORTCUT_DECLARE_FROM_MESSAGE: &str = "declare_from_message";
/// The message shortcut "Add to incident timeline".
pub const SHORTCUT_ADD_TO_TIMELINE: &str = "add_to_timeline";
/// The Workflow Builder step "Declare an incident" (`function_executed`).
pub const FUNCTION_DECLARE: &str = "declare_incident";
/// The form "Add to incident timeline" opens outside a war room: pick an
/// open incident. Its private metadata is the message.
pub const CALLBACK_ADD_TO_TIMELINE: &str = "timeline.add";
/// The form asking whether to take a message off a timeline. Its private
/// metadata is the incident and the message.
pub const CALLBACK_REMOVE_FROM_TIMELINE: &str = "timeline.remove";
/// "View in browser" (a link to the incident's page in the web record).
pub const ACTION_WEB_LINK: &str = "web.view";
/// "Declare an incident" on the App Home tab.
pub const ACTION_HOME_DECLARE: &str = "home.declare";
/// The update modal.
pub const CALLBACK_UPDATE: &str = "update";
/// The severity form `/incident severity` opens without a level.
pub const CALLBACK_SEVERITY: &str = "severity";
/// The Scribe's internal summary form.
pub const CALLBACK_SUMMARY: &str = "summary";
/// The form "Add follow-up" opens.
pub const CALLBACK_FOLLOWUP: &str = "followup";

/// Block ids of the declare modal (and of the severity form, which asks
/// the same severity questions).
pub mod declare {
    pub use super::VALUE;
    pub const TITLE: &str = "title";
    pub const SEVERITY: &str = "severity";
    pub const SUMMARY: &str = "summary";
    pub const IMPACT: &str = "impact";
    pub const FLAGS: &str = "flags";
    pub const FLAG_SECURITY: &str = "security";
    pub const FLAG_DRILL: &str = "drill";
    pub const FLAG_PRIVATE: &str = "private";
    /// The impact question of `severity_matrix` ("impact" is the start time).
    pub const IMPACT_ANSWER: &str = "impact_answer";
    pub const URGENCY: &str = "urgency";
    /// The severity select's option that leaves it to the matrix.
    pub const SUGGEST: &str = "suggest";
    /// "Announce in", asked only when the form has no channel to go by.
    pub const ANNOUNCE: &str = "announce";
}

/// Block ids of the "Add to incident timeline" form.
pub mod add_to_timeline {
    pub use super::VALUE;
    pub const INCIDENT: &str = "incident";
}

/// Block ids of the update modal.
pub mod update {
    pub use super::VALUE;
    pub const STATUS: &str = "status";
    pub const IMPACT: &str = "impact";
    pub const WORKAROUND: &str = "workaround";
    pub const NEXT: &str = "next";
    pub const AUDIENCES: &str = "audiences";
    /// The audience meaning "the announcement channel".
    pub const ANNOUNCEMENT: &str = "announcement";
}

/// Block ids of the follow-up form (each input's action id is [`VALUE`]).
pub mod followup {
    pub const TEXT: &str = "text";
    pub const OWNER: &str = "owner";
    pub const DUE: &str = "due";
}

/// Block id of the summary form's text (its action id is [`VALUE`]).
pub const SUMMARY_BLOCK: &str = "summary";

/// Block ids of the bot's messages. Nothing reads them back; they keep a
/// message's blocks apart when it is edited in place.
pub mod block {
    /// The role board's heading.
    pub const BOARD_HEAD: &str = "board-head";
    /// The role board's Page on-call button.
    pub const PAGE: &str = "page";
    /// The war room's note that the on-call was paged.
    pub const PAGED: &str = "paged";
    /// The announcement's text.
    pub const ANNOUNCE: &str = "announce";
    /// The announcement's summary.
    pub const SUMMARY: &str = "summary";
    /// A checklist's heading.
    pub const CHECKLIST_HEAD: &str = "checklist-head";
    /// An alert card's heading.
    pub const ALERT_HEAD: &str = "alert-head";
    /// An alert card's alerts.
    pub const ALERT_LIST: &str = "alert-list";
    /// An alert card's buttons.
    pub const ALERT_ACTIONS: &str = "alert-actions";
    /// An alert card's links.
    pub const ALERT_LINKS: &str = "alert-links";
    /// The "every alert resolved" message.
    pub const ALERTS_RESOLVED: &str = "alerts-resolved";

    /// The `i`th role's line on the role board.
    pub fn role(i: usize) -> String {
        format!("role-{i}")
    }

    /// The `i`th role's buttons on the role board.
    pub fn role_actions(i: usize) -> String {
        format!("role-actions-{i}")
    }

    /// A checklist task's section.
    pub fn task(index: usize) -> String {
        format!("task-{index}")
    }
}

/// The value of a checklist task's checkbox option.
pub const TICK_DONE: &str = "done";

/// The button value that names an incident and a role: `<incident>|<role>`.
pub fn role_value(incident: IncidentNumber, role: &RoleName) -> String {
    format!("{incident}|{role}")
}

/// `<incident>|<rest>` (a role button's or a snooze button's value) → the
/// incident and the rest.
pub fn parse_incident_value(value: &str) -> Option<(IncidentNumber, String)> {
    let (n, rest) = value.split_once('|')?;
    Some((n.parse().ok()?, rest.to_string()))
}

/// The action id of a snooze button: `reminder.snooze.<minutes>`.
pub fn snooze_action_id(minutes: u32) -> String {
    format!("{ACTION_SNOOZE}.{minutes}")
}

/// The value of a snooze button: `<incident>|<minutes>`.
pub fn snooze_value(incident: IncidentNumber, minutes: u32) -> String {
    format!("{incident}|{minutes}")
}

/// The action id of one task's checkbox: `checklist.tick|<checklist>|<task>`.
pub fn tick_action_id(checklist: ChecklistId, task: usize) -> String {
    format!("{ACTION_TICK}|{checklist}|{task}")
}

/// `checklist.tick|<checklist>|<task>` → the checklist and task.
pub fn parse_tick(action_id: &str) -> Option<(ChecklistId, usize)> {
    let rest = action_id.strip_prefix(ACTION_TICK)?.strip_prefix('|')?;
    let (checklist, task) = rest.split_once('|')?;
    Some((checklist.parse().ok()?, task.parse().ok()?))
}

/// The button value of "Edit and post": `<checklist>|<since ms>|<until ms>`.
pub fn summary_action_value(checklist: ChecklistId, since: i64, until: i64) -> String {
    format!("{checklist}|{since}|{until}")
}

/// `<checklist>|<since ms>|<until ms>` → the three numbers.
pub fn parse_summary_value(value: &str) -> Option<(ChecklistId, i64, i64)> {
    let mut parts = value.splitn(3, '|').map(str::parse::<i64>);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(checklist)), Some(Ok(since)), Some(Ok(until))) => {
            Some((ChecklistId::new(checklist), since, until))
        }
        _ => None,
    }
}

/// The action id of a follow-up's Done button: `followup.done|<id>`.
pub fn followup_done_action_id(id: FollowupId) -> String {
    format!("{ACTION_FOLLOWUP_DONE}|{id}")
}

/// The action id of "Attach to…" on group `group`'s card:
/// `alerts.attach|<group>` (the selected option carries the incident).
pub fn attach_action_id(group: AlertGroupId) -> String {
    format!("{ACTION_ALERT_ATTACH}|{group}")
}

/// `alerts.attach|<group>` → the group.
pub fn parse_attach(action_id: &str) -> Option<AlertGroupId> {
    action_id
        .strip_prefix(ACTION_ALERT_ATTACH)?
        .strip_prefix('|')?
        .parse()
        .ok()
}

/// The action id of the `i`th link button on an alert card or the role
/// board: `alerts.link.<i>` (unique within a message).
pub fn alert_link_action_id(i: usize) -> String {
    format!("{ACTION_ALERT_LINK}.{i}")
}

/// A Slack user id (`U…`, or `W…` in Enterprise Grid) where a conversation
/// id could stand.
pub fn is_user_id(id: &str) -> bool {
    id.len() > 1 && id.starts_with(['U', 'W'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_parses_back() {
        assert_eq!(
            parse_incident_value(&role_value(
                IncidentNumber::new(4),
                &RoleName::new("Scribe")
            )),
            Some((IncidentNumber::new(4), "Scribe".to_string()))
        );
        assert_eq!(
            parse_incident_value(&snooze_value(IncidentNumber::new(4), 15)),
            Some((IncidentNumber::new(4), "15".to_string()))
        );
        assert_eq!(
            parse_tick(&tick_action_id(ChecklistId::new(7), 2)),
            Some((ChecklistId::new(7), 2))
        );
        assert_eq!(
            parse_summary_value(&summary_action_value(ChecklistId::new(4), 10, 20)),
            Some((ChecklistId::new(4), 10, 20))
        );
        assert!(snooze_action_id(15).starts_with(ACTION_SNOOZE));
        assert!(followup_done_action_id(FollowupId::new(9)).starts_with(ACTION_FOLLOWUP_DONE));
        assert_eq!(
            parse_attach(&attach_action_id(AlertGroupId::new(12))),
            Some(AlertGroupId::new(12))
        );
        assert_eq!(parse_attach("alerts.attach|x"), None);
    }
}
