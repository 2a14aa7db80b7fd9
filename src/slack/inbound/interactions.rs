//! Interactions: a button on a bot message, a modal submitted.

use super::forms::{
    RawOption, RawState, declare_form, followup_form, picked_incident, severity_form, update_form,
};
use super::{DeclareForm, FollowupForm, InboundError, SeverityForm, lenient};
use crate::domain::{
    AlertGroupId, ChannelId, ChecklistId, FollowupId, IncidentNumber, MessageTs, QuotedMessage,
    RoleName, UserId,
};
use crate::slack::ids::{
    ACTION_ADD_FOLLOWUP, ACTION_BRIDGE, ACTION_CLAIM, ACTION_FOLLOWUP_DONE, ACTION_OPEN_SUMMARY,
    ACTION_OPEN_UPDATE, ACTION_RELEASE, ACTION_SNOOZE, ACTION_TICK, CALLBACK_DECLARE,
    CALLBACK_FOLLOWUP, CALLBACK_SEVERITY, CALLBACK_SUMMARY, CALLBACK_UPDATE, SUMMARY_BLOCK,
    parse_incident_value, parse_summary_value, parse_tick,
};
use crate::slack::ids::{
    ACTION_ALERT_ATTACH, ACTION_ALERT_DECLARE, ACTION_ALERT_DISMISS, ACTION_ALERT_LINK,
    ACTION_MARK_MITIGATED, ACTION_PAGE, parse_attach,
};
use crate::slack::ids::{
    ACTION_HOME_DECLARE, CALLBACK_ADD_TO_TIMELINE, CALLBACK_REMOVE_FROM_TIMELINE,
    SHORTCUT_ADD_TO_TIMELINE, SHORTCUT_DECLARE, SHORTCUT_DECLARE_FROM_MESSAGE,
};
use serde::Deserialize;
use std::collections::HashMap;

/// What the declare modal carries between opening and submission.
#[derive(Clone, Debug, serde::Serialize, Deserialize, PartialEq, Eq)]
pub struct DeclareMetadata {
    /// Channel where `/incident declare` was typed (or the message was
    /// that a shortcut declared from); none when opened from the App Home
    /// or the shortcuts menu.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelId>,
    /// The message "Declare incident from message" started from: the
    /// incident's first timeline entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<QuotedMessage>,
    /// The alert group whose card opened the form: the declaration links it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_group: Option<AlertGroupId>,
}

/// A button on a bot message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Claim {
        incident: IncidentNumber,
        role: RoleName,
    },
    Release {
        incident: IncidentNumber,
        role: RoleName,
    },
    /// "Post an update" on a reminder.
    OpenUpdate {
        incident: IncidentNumber,
    },
    /// "Snooze" on a reminder.
    Snooze {
        incident: IncidentNumber,
        minutes: u32,
    },
    /// A checkbox on a role checklist, ticked (`done`) or unticked.
    Tick {
        checklist: ChecklistId,
        task: usize,
        done: bool,
    },
    /// "Edit and post" on the Scribe's recurring reminder: the summary of
    /// the timeline between `since` and `until` (Unix ms).
    OpenSummary {
        checklist: ChecklistId,
        since: i64,
        until: i64,
    },
    /// "Done" on a listed follow-up.
    FollowupDone {
        id: FollowupId,
    },
    /// "Add follow-up" on the postmortem summary.
    AddFollowup {
        incident: IncidentNumber,
    },
    /// "Declare incident" on an alert card.
    DeclareFromAlert {
        group: AlertGroupId,
    },
    /// An open incident picked in "Attach to…" on an alert card.
    AttachAlert {
        group: AlertGroupId,
        incident: IncidentNumber,
    },
    /// "Dismiss" on an alert card.
    DismissAlert {
        group: AlertGroupId,
    },
    /// "Mark mitigated" on the war room's "every alert resolved" message.
    MarkMitigated {
        incident: IncidentNumber,
    },
    /// "Page on-call" on the role board.
    Page {
        incident: IncidentNumber,
    },
    /// "Declare an incident" on the App Home tab.
    HomeDeclare,
    Unknown(String),
}

/// Snoozes longer than this are refused as tampering.
const MAX_SNOOZE_MINUTES: u32 = 240;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Interaction {
    Action {
        user: UserId,
        channel: Option<ChannelId>,
        trigger_id: String,
        action: Action,
    },
    /// The update modal was submitted.
    UpdateSubmitted {
        user: UserId,
        incident: IncidentNumber,
        answers: crate::domain::comms::UpdateAnswers,
        audiences: Vec<String>,
    },
    DeclareSubmitted {
        user: UserId,
        view_id: String,
        metadata: Option<DeclareMetadata>,
        form: DeclareForm,
    },
    /// The severity form (`/incident severity` without a level) was submitted.
    SeveritySubmitted {
        user: UserId,
        incident: IncidentNumber,
        form: SeverityForm,
    },
    /// The Scribe's internal summary form was submitted.
    SummarySubmitted {
        user: UserId,
        incident: IncidentNumber,
        text: String,
    },
    /// The follow-up form ("Add follow-up" on the postmortem summary) was
    /// submitted.
    FollowupSubmitted {
        user: UserId,
        incident: IncidentNumber,
        form: FollowupForm,
    },
    /// The global shortcut "Declare an incident".
    DeclareShortcut { user: UserId, trigger_id: String },
    /// A message shortcut on `message`.
    MessageShortcut {
        user: UserId,
        trigger_id: String,
        shortcut: MessageShortcut,
        message: QuotedMessage,
    },
    /// The "Add to incident timeline" form: `incident` picked for `message`.
    AddToTimelineSubmitted {
        user: UserId,
        message: QuotedMessage,
        incident: Option<IncidentNumber>,
    },
    /// "Remove" confirmed: take `message` off `incident`'s timeline.
    RemoveFromTimelineSubmitted {
        user: UserId,
        incident: IncidentNumber,
        message: QuotedMessage,
    },
    /// A payload type or callback this bot does not handle.
    Other(String),
}

/// The message shortcuts (`message_action` callback ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageShortcut {
    DeclareFromMessage,
    AddToTimeline,
}

/// What the remove form carries: the incident and the message.
#[derive(Clone, Debug, serde::Serialize, Deserialize, PartialEq, Eq)]
pub struct RemoveMetadata {
    pub incident: IncidentNumber,
    pub message: QuotedMessage,
}

/// The parts of an interaction payload the bot reads, each read leniently:
/// legacy payloads (`interactive_message`, dialogs) and shapes the bot does
/// not know become [`Interaction::Other`], never an error.
#[derive(Deserialize)]
struct RawInteraction {
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    user: Option<RawUser>,
    #[serde(default, deserialize_with = "lenient")]
    trigger_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    channel: Option<RawId>,
    #[serde(default, deserialize_with = "lenient")]
    actions: Option<Vec<serde_json::Value>>,
    #[serde(default, deserialize_with = "lenient")]
    view: Option<RawView>,
    /// A shortcut's callback id.
    #[serde(default, deserialize_with = "lenient")]
    callback_id: Option<String>,
    /// The message a message shortcut was used on.
    #[serde(default, deserialize_with = "lenient")]
    message: Option<RawShortcutMessage>,
}

#[derive(Deserialize)]
struct RawShortcutMessage {
    ts: MessageTs,
    #[serde(default, deserialize_with = "lenient")]
    text: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    user: Option<String>,
}

#[derive(Deserialize)]
struct RawUser {
    id: String,
}

#[derive(Deserialize)]
struct RawId {
    id: String,
}

#[derive(Deserialize)]
struct RawAction {
    action_id: String,
    #[serde(default, deserialize_with = "lenient")]
    value: Option<String>,
    /// What a checkboxes element holds ticked after the click.
    #[serde(default)]
    selected_options: Vec<RawOption>,
    /// What a static select holds after the pick.
    #[serde(default, deserialize_with = "lenient")]
    selected_option: Option<RawOption>,
}

#[derive(Deserialize)]
struct RawView {
    id: String,
    #[serde(default, deserialize_with = "lenient")]
    callback_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    private_metadata: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    state: Option<RawState>,
}

impl Interaction {
    /// Parses the `payload=` form Slack posts to the interactivity URL.
    /// Only a body that is not form data, or a `payload` that is not JSON,
    /// is an error; a payload the bot does not handle (a legacy
    /// `interactive_message`, a dialog, an unknown shape) is
    /// [`Interaction::Other`].
    pub fn parse(body: &[u8]) -> Result<Self, InboundError> {
        let form: HashMap<String, String> = serde_urlencoded::from_bytes(body)?;
        let Some(payload) = form.get("payload") else {
            return Ok(Interaction::Other("a form without a payload".into()));
        };
        let raw: serde_json::Value = serde_json::from_str(payload)?;
        Ok(Self::from_payload(raw))
    }

    /// The typed value of an interaction payload already read as JSON (as
    /// a Socket Mode envelope carries it).
    pub fn from_payload(raw: serde_json::Value) -> Self {
        let raw: RawInteraction = match serde_json::from_value(raw) {
            Ok(raw) => raw,
            Err(_) => return Interaction::Other("a payload that is not an object".into()),
        };
        let kind = raw.kind.unwrap_or_default();
        let Some(user) = raw.user.map(|u| UserId(u.id)) else {
            return Interaction::Other(format!("{kind} without a user"));
        };
        match kind.as_str() {
            "shortcut" => match raw.callback_id.as_deref() {
                Some(SHORTCUT_DECLARE) => Interaction::DeclareShortcut {
                    user,
                    trigger_id: raw.trigger_id.unwrap_or_default(),
                },
                other => Interaction::Other(format!("shortcut {}", other.unwrap_or_default())),
            },
            "message_action" => {
                let shortcut = match raw.callback_id.as_deref() {
                    Some(SHORTCUT_DECLARE_FROM_MESSAGE) => MessageShortcut::DeclareFromMessage,
                    Some(SHORTCUT_ADD_TO_TIMELINE) => MessageShortcut::AddToTimeline,
                    other => {
                        return Interaction::Other(format!(
                            "message shortcut {}",
                            other.unwrap_or_default()
                        ));
                    }
                };
                let (Some(channel), Some(message)) = (raw.channel, raw.message) else {
                    return Interaction::Other("message shortcut without its message".into());
                };
                Interaction::MessageShortcut {
                    user,
                    trigger_id: raw.trigger_id.unwrap_or_default(),
                    shortcut,
                    message: QuotedMessage {
                        channel: ChannelId(channel.id),
                        ts: message.ts,
                        text: message.text.unwrap_or_default(),
                        author: message.user.filter(|u| !u.is_empty()).map(UserId),
                    },
                }
            }
            "block_actions" => {
                let first = raw
                    .actions
                    .unwrap_or_default()
                    .into_iter()
                    .next()
                    .map(serde_json::from_value::<RawAction>);
                let first = match first {
                    Some(Ok(first)) => first,
                    Some(Err(_)) => {
                        return Interaction::Other("block_actions with an unknown action".into());
                    }
                    None => return Interaction::Other("block_actions without actions".into()),
                };
                // A link button: Slack opened the link and tells us too.
                if first.action_id == ACTION_BRIDGE
                    || first.action_id == crate::slack::ids::ACTION_WEB_LINK
                    || first.action_id.starts_with(ACTION_ALERT_LINK)
                {
                    return Interaction::Other("bridge link opened".into());
                }
                let value = first.value.as_deref().unwrap_or_default();
                let role_value = parse_incident_value(value);
                let id = first.action_id.as_str();
                let action = match (id, role_value) {
                    (ACTION_CLAIM, Some((incident, role))) => Action::Claim {
                        incident,
                        role: RoleName::new(role),
                    },
                    (ACTION_RELEASE, Some((incident, role))) => Action::Release {
                        incident,
                        role: RoleName::new(role),
                    },
                    (ACTION_OPEN_UPDATE, _) => match value.parse() {
                        Ok(incident) => Action::OpenUpdate { incident },
                        Err(_) => Action::Unknown(id.to_string()),
                    },
                    (id, Some((incident, minutes))) if id.starts_with(ACTION_SNOOZE) => {
                        match minutes.parse::<u32>() {
                            Ok(minutes) if (1..=MAX_SNOOZE_MINUTES).contains(&minutes) => {
                                Action::Snooze { incident, minutes }
                            }
                            _ => Action::Unknown(id.to_string()),
                        }
                    }
                    (ACTION_ADD_FOLLOWUP, _) => match value.parse() {
                        Ok(incident) => Action::AddFollowup { incident },
                        Err(_) => Action::Unknown(id.to_string()),
                    },
                    (id, _) if id.starts_with(ACTION_FOLLOWUP_DONE) => {
                        match value.parse::<FollowupId>() {
                            Ok(id) => Action::FollowupDone { id },
                            Err(_) => Action::Unknown(id.to_string()),
                        }
                    }
                    (id, _) if id.starts_with(ACTION_TICK) => match parse_tick(id) {
                        Some((checklist, task)) => Action::Tick {
                            checklist,
                            task,
                            done: !first.selected_options.is_empty(),
                        },
                        None => Action::Unknown(id.to_string()),
                    },
                    (ACTION_ALERT_DECLARE, _) => match value.parse() {
                        Ok(group) => Action::DeclareFromAlert { group },
                        Err(_) => Action::Unknown(id.to_string()),
                    },
                    (ACTION_ALERT_DISMISS, _) => match value.parse() {
                        Ok(group) => Action::DismissAlert { group },
                        Err(_) => Action::Unknown(id.to_string()),
                    },
                    (ACTION_MARK_MITIGATED, _) => match value.parse() {
                        Ok(incident) => Action::MarkMitigated { incident },
                        Err(_) => Action::Unknown(id.to_string()),
                    },
                    (ACTION_PAGE, _) => match value.parse() {
                        Ok(incident) => Action::Page { incident },
                        Err(_) => Action::Unknown(id.to_string()),
                    },
                    (ACTION_HOME_DECLARE, _) => Action::HomeDeclare,
                    (id, _) if id.starts_with(ACTION_ALERT_ATTACH) => {
                        let picked = first
                            .selected_option
                            .as_ref()
                            .and_then(|o| o.value.parse().ok());
                        match (parse_attach(id), picked) {
                            (Some(group), Some(incident)) => {
                                Action::AttachAlert { group, incident }
                            }
                            _ => Action::Unknown(id.to_string()),
                        }
                    }
                    (ACTION_OPEN_SUMMARY, _) => match parse_summary_value(value) {
                        Some((checklist, since, until)) => Action::OpenSummary {
                            checklist,
                            since,
                            until,
                        },
                        None => Action::Unknown(id.to_string()),
                    },
                    (other, _) => Action::Unknown(other.to_string()),
                };
                Interaction::Action {
                    user,
                    channel: raw.channel.map(|c| ChannelId(c.id)),
                    trigger_id: raw.trigger_id.unwrap_or_default(),
                    action,
                }
            }
            "view_submission" => {
                let Some(view) = raw.view else {
                    return Interaction::Other("view_submission without a view".into());
                };
                let callback = view.callback_id.unwrap_or_default();
                let metadata = view.private_metadata.unwrap_or_default();
                let state = view.state.unwrap_or_default();
                match callback.as_str() {
                    CALLBACK_DECLARE => Interaction::DeclareSubmitted {
                        user,
                        view_id: view.id,
                        metadata: serde_json::from_str(&metadata).ok(),
                        form: declare_form(&state),
                    },
                    CALLBACK_UPDATE => match metadata.parse() {
                        Ok(incident) => {
                            let (answers, audiences) = update_form(&state);
                            Interaction::UpdateSubmitted {
                                user,
                                incident,
                                answers,
                                audiences,
                            }
                        }
                        Err(_) => Interaction::Other("update view without its incident".into()),
                    },
                    CALLBACK_SEVERITY => match metadata.parse() {
                        Ok(incident) => Interaction::SeveritySubmitted {
                            user,
                            incident,
                            form: severity_form(&state),
                        },
                        Err(_) => Interaction::Other("severity view without its incident".into()),
                    },
                    CALLBACK_SUMMARY => match metadata.parse() {
                        Ok(incident) => Interaction::SummarySubmitted {
                            user,
                            incident,
                            text: state.text(SUMMARY_BLOCK),
                        },
                        Err(_) => Interaction::Other("summary view without its incident".into()),
                    },
                    CALLBACK_FOLLOWUP => match metadata.parse() {
                        Ok(incident) => Interaction::FollowupSubmitted {
                            user,
                            incident,
                            form: followup_form(&state),
                        },
                        Err(_) => Interaction::Other("follow-up view without its incident".into()),
                    },
                    CALLBACK_ADD_TO_TIMELINE => match serde_json::from_str(&metadata) {
                        Ok(message) => Interaction::AddToTimelineSubmitted {
                            user,
                            message,
                            incident: picked_incident(&state),
                        },
                        Err(_) => Interaction::Other("timeline form without its message".into()),
                    },
                    CALLBACK_REMOVE_FROM_TIMELINE => {
                        match serde_json::from_str::<RemoveMetadata>(&metadata) {
                            Ok(m) => Interaction::RemoveFromTimelineSubmitted {
                                user,
                                incident: m.incident,
                                message: m.message,
                            },
                            Err(_) => Interaction::Other("remove form without its message".into()),
                        }
                    }
                    other => Interaction::Other(format!("view {other}")),
                }
            }
            other => Interaction::Other(other.to_string()),
        }
    }
}
