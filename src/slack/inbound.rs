//! Slack's inbound payloads → typed values. The only place that reads them.
//!
//! Long on purpose: every payload shape (slash commands, interactions,
//! events) is read here and nowhere else, with its tests beside it.

use super::ids::{
    ACTION_ADD_FOLLOWUP, ACTION_BRIDGE, ACTION_CLAIM, ACTION_FOLLOWUP_DONE, ACTION_OPEN_SUMMARY,
    ACTION_OPEN_UPDATE, ACTION_RELEASE, ACTION_SNOOZE, ACTION_TICK, CALLBACK_DECLARE,
    CALLBACK_FOLLOWUP, CALLBACK_SEVERITY, CALLBACK_SUMMARY, CALLBACK_UPDATE, SUMMARY_BLOCK,
    parse_incident_value, parse_summary_value, parse_tick,
};
use super::lenient;
use crate::domain::{ChannelId, IncidentNumber, MessageTs, RoleName, UserId};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("malformed form body: {0}")]
    Form(#[from] serde_urlencoded::de::Error),
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Well-formed form data that lacks what a slash command must carry.
    #[error("a slash command without {0}")]
    Incomplete(String),
}

/// A slash command invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlashCommand {
    pub command: String,
    pub text: String,
    pub user_id: String,
    pub channel_id: ChannelId,
    pub trigger_id: String,
    pub response_url: String,
}

impl SlashCommand {
    pub fn parse(body: &[u8]) -> Result<Self, InboundError> {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body)?;
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let need = |name: &str| get(name).ok_or_else(|| InboundError::Incomplete(name.to_string()));
        Ok(SlashCommand {
            command: need("command")?,
            text: get("text").unwrap_or_default(),
            user_id: need("user_id")?,
            channel_id: ChannelId(need("channel_id")?),
            trigger_id: need("trigger_id")?,
            response_url: get("response_url").unwrap_or_default(),
        })
    }

    pub fn user(&self) -> UserId {
        UserId(self.user_id.clone())
    }
}

/// What the declare modal carries between opening and submission.
#[derive(Clone, Debug, serde::Serialize, Deserialize, PartialEq, Eq)]
pub struct DeclareMetadata {
    /// Channel where `/incident declare` was typed.
    pub channel: ChannelId,
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
        checklist: i64,
        task: usize,
        done: bool,
    },
    /// "Edit and post" on the Scribe's recurring reminder: the summary of
    /// the timeline between `since` and `until` (Unix ms).
    OpenSummary {
        checklist: i64,
        since: i64,
        until: i64,
    },
    /// "Done" on a listed follow-up.
    FollowupDone {
        id: i64,
    },
    /// "Add follow-up" on the postmortem summary.
    AddFollowup {
        incident: IncidentNumber,
    },
    Unknown(String),
}

/// Snoozes longer than this are refused as tampering.
const MAX_SNOOZE_MINUTES: u32 = 240;

/// The declare modal's fields as Slack sent them, before checking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeclareForm {
    pub title: String,
    pub severity: Option<String>,
    pub summary: String,
    pub impact_started_at: Option<DateTime<Utc>>,
    pub security: bool,
    pub drill: bool,
    /// "Private war room" was ticked.
    pub private: bool,
    /// The impact question's answer (`severity_matrix`), if given.
    pub impact_answer: Option<String>,
    /// The urgency question's answer (`severity_matrix`), if given.
    pub urgency: Option<String>,
}

/// The severity form's fields as Slack sent them, before checking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeverityForm {
    /// The chosen level; `None` for "Suggest from impact and urgency".
    pub severity: Option<String>,
    pub impact: Option<String>,
    pub urgency: Option<String>,
}

/// The follow-up form's fields as Slack sent them, before checking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FollowupForm {
    /// As typed (raw, not in Slack's escaped format), trimmed.
    pub text: String,
    pub owner: Option<UserId>,
    /// The picked date: `None` when none was picked, `Err` (what Slack
    /// sent) when it is not a date.
    pub due: Option<Result<chrono::NaiveDate, String>>,
}

/// Block ids of the declare modal, where `service` names them too.
pub use super::ids::declare as declare_ids;

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
    /// A payload type or callback this bot does not handle.
    Other(String),
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

#[derive(Deserialize, Default)]
struct RawState {
    #[serde(default, deserialize_with = "lenient_values")]
    values: HashMap<String, HashMap<String, RawValue>>,
}

/// A modal's state values; an input the bot does not know the shape of is
/// left out (it reads as empty, and the form's own checks say so).
fn lenient_values<'de, D>(d: D) -> Result<HashMap<String, HashMap<String, RawValue>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let blocks: HashMap<String, serde_json::Value> = lenient(d)?.unwrap_or_default();
    Ok(blocks
        .into_iter()
        .filter_map(|(block, inputs)| {
            let inputs: HashMap<String, serde_json::Value> = serde_json::from_value(inputs).ok()?;
            let inputs = inputs
                .into_iter()
                .filter_map(|(id, v)| Some((id, serde_json::from_value(v).ok()?)))
                .collect();
            Some((block, inputs))
        })
        .collect())
}

#[derive(Deserialize, Default)]
struct RawValue {
    #[serde(default, deserialize_with = "lenient")]
    value: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    selected_option: Option<RawOption>,
    #[serde(default, deserialize_with = "lenient")]
    selected_options: Option<Vec<RawOption>>,
    #[serde(default, deserialize_with = "lenient")]
    selected_date_time: Option<i64>,
    /// A users select's pick.
    #[serde(default, deserialize_with = "lenient")]
    selected_user: Option<String>,
    /// A date picker's pick, `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "lenient")]
    selected_date: Option<String>,
}

#[derive(Deserialize)]
struct RawOption {
    value: String,
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
                if first.action_id == ACTION_BRIDGE {
                    return Interaction::Other("bridge link opened".into());
                }
                let value = first.value.as_deref().unwrap_or_default();
                let role_value = parse_incident_value(value);
                let id = first.action_id.as_str();
                let action = match (id, role_value) {
                    (ACTION_CLAIM, Some((incident, role))) => Action::Claim {
                        incident,
                        role: role.into(),
                    },
                    (ACTION_RELEASE, Some((incident, role))) => Action::Release {
                        incident,
                        role: role.into(),
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
                    (id, _) if id.starts_with(ACTION_FOLLOWUP_DONE) => match value.parse::<i64>() {
                        Ok(id) => Action::FollowupDone { id },
                        Err(_) => Action::Unknown(id.to_string()),
                    },
                    (id, _) if id.starts_with(ACTION_TICK) => match parse_tick(id) {
                        Some((checklist, task)) => Action::Tick {
                            checklist,
                            task,
                            done: !first.selected_options.is_empty(),
                        },
                        None => Action::Unknown(id.to_string()),
                    },
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
                    other => Interaction::Other(format!("view {other}")),
                }
            }
            other => Interaction::Other(other.to_string()),
        }
    }
}

impl RawState {
    /// The input of a block whose element has the action id
    /// [`super::ids::VALUE`] (every input of this bot's modals does).
    fn input(&self, block: &str) -> Option<&RawValue> {
        self.values
            .get(block)
            .and_then(|b| b.get(super::ids::VALUE))
    }

    /// A text input's trimmed value ("" when empty or absent).
    fn text(&self, block: &str) -> String {
        self.input(block)
            .and_then(|v| v.value.as_deref())
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

fn update_form(state: &RawState) -> (crate::domain::comms::UpdateAnswers, Vec<String>) {
    use super::ids::update::*;
    let get = |block: &str| state.input(block);
    let text = |block: &str| state.text(block);
    let answers = crate::domain::comms::UpdateAnswers {
        status: text(STATUS),
        impact: text(IMPACT),
        workaround: text(WORKAROUND),
        next_update_minutes: get(NEXT)
            .and_then(|v| v.selected_option.as_ref())
            .and_then(|o| o.value.parse().ok())
            .filter(|m| (1..=24 * 60).contains(m)),
    };
    let audiences = get(AUDIENCES)
        .map(|v| {
            v.selected_options
                .iter()
                .flatten()
                .map(|o| o.value.clone())
                .collect()
        })
        .unwrap_or_default();
    (answers, audiences)
}

impl RawState {
    /// A static select's chosen value, if any.
    fn selected(&self, block: &str) -> Option<String> {
        self.input(block)
            .and_then(|v| v.selected_option.as_ref())
            .map(|o| o.value.clone())
    }

    /// The severity select: `None` when left to the matrix.
    fn severity(&self) -> Option<String> {
        self.selected(declare_ids::SEVERITY)
            .filter(|v| v != declare_ids::SUGGEST)
    }
}

fn followup_form(state: &RawState) -> FollowupForm {
    use super::ids::followup::*;
    FollowupForm {
        text: state.text(TEXT),
        owner: state
            .input(OWNER)
            .and_then(|v| v.selected_user.clone())
            .filter(|u| !u.is_empty())
            .map(UserId),
        due: state
            .input(DUE)
            .and_then(|v| v.selected_date.as_deref())
            .filter(|d| !d.is_empty())
            .map(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| d.to_string())),
    }
}

fn severity_form(state: &RawState) -> SeverityForm {
    use declare_ids::*;
    SeverityForm {
        severity: state.severity(),
        impact: state.selected(IMPACT_ANSWER),
        urgency: state.selected(URGENCY),
    }
}

fn declare_form(state: &RawState) -> DeclareForm {
    use declare_ids::*;
    let get = |block: &str| state.input(block);
    let text = |block: &str| state.text(block);
    let flags: Vec<&str> = get(FLAGS)
        .map(|v| {
            v.selected_options
                .iter()
                .flatten()
                .map(|o| o.value.as_str())
                .collect()
        })
        .unwrap_or_default();
    DeclareForm {
        title: text(TITLE),
        severity: state.severity(),
        summary: text(SUMMARY),
        impact_started_at: get(IMPACT)
            .and_then(|v| v.selected_date_time)
            .and_then(|s| DateTime::from_timestamp(s, 0)),
        security: flags.contains(&FLAG_SECURITY),
        drill: flags.contains(&FLAG_DRILL),
        private: flags.contains(&FLAG_PRIVATE),
        impact_answer: state.selected(IMPACT_ANSWER),
        urgency: state.selected(URGENCY),
    }
}

/// An Events API delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventEnvelope {
    UrlVerification { challenge: String },
    Callback { event_id: String, event: Event },
    Other(String),
}

/// The events this bot reacts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Someone added a reaction to a message.
    ReactionAdded(Reaction),
    /// Someone removed their reaction from a message.
    ReactionRemoved(Reaction),
    /// A message was edited; `text` is its new text.
    MessageChanged {
        channel: ChannelId,
        ts: MessageTs,
        text: String,
    },
    /// A message was deleted.
    MessageDeleted { channel: ChannelId, ts: MessageTs },
    /// Someone joined a channel the bot is in (`member_joined_channel`).
    MemberJoined { channel: ChannelId, user: UserId },
    /// Someone left, or was removed from, such a channel
    /// (`member_left_channel`).
    MemberLeft { channel: ChannelId, user: UserId },
    /// Any other event; recorded, then ignored.
    Other(String),
}

/// A reaction on a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaction {
    pub user: UserId,
    /// Emoji name without colons, as Slack sends it (`pushpin`).
    pub reaction: String,
    pub channel: ChannelId,
    /// The message's own timestamp.
    pub ts: MessageTs,
}

/// The parts of an Events API delivery the bot reads. Every field is read
/// leniently: Slack sends `channel` and `user` as objects in some events
/// (`channel_created`, `team_join`, …), and a shape the bot does not know
/// makes the event [`Event::Other`], not an error.
#[derive(Deserialize)]
struct RawEnvelope {
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    challenge: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    event_id: Option<String>,
    #[serde(default)]
    event: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    subtype: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    user: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    reaction: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    item: Option<RawItem>,
    #[serde(default, deserialize_with = "lenient")]
    channel: Option<ChannelId>,
    #[serde(default, deserialize_with = "lenient")]
    message: Option<RawMessage>,
    #[serde(default, deserialize_with = "lenient")]
    deleted_ts: Option<MessageTs>,
}

#[derive(Deserialize)]
struct RawItem {
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    channel: Option<ChannelId>,
    #[serde(default, deserialize_with = "lenient")]
    ts: Option<MessageTs>,
}

#[derive(Deserialize)]
struct RawMessage {
    ts: MessageTs,
    #[serde(default, deserialize_with = "lenient")]
    text: Option<String>,
}

impl RawEvent {
    fn into_event(self) -> Event {
        let kind = self.kind.unwrap_or_default();
        match (kind.as_str(), self.subtype.as_deref()) {
            ("reaction_added" | "reaction_removed", _) => {
                let reaction = match (self.user, self.reaction, self.item) {
                    (
                        Some(user),
                        Some(reaction),
                        Some(RawItem {
                            kind: Some(item_kind),
                            channel: Some(channel),
                            ts: Some(ts),
                        }),
                    ) if item_kind == "message" => Reaction {
                        user: UserId(user),
                        reaction,
                        channel,
                        ts,
                    },
                    _ => return Event::Other(format!("{kind} on something other than a message")),
                };
                if kind == "reaction_added" {
                    Event::ReactionAdded(reaction)
                } else {
                    Event::ReactionRemoved(reaction)
                }
            }
            ("message", Some("message_changed")) => match (self.channel, self.message) {
                (Some(channel), Some(m)) => Event::MessageChanged {
                    channel,
                    ts: m.ts,
                    text: m.text.unwrap_or_default(),
                },
                _ => Event::Other("message_changed without a message".to_string()),
            },
            ("message", Some("message_deleted")) => match (self.channel, self.deleted_ts) {
                (Some(channel), Some(ts)) => Event::MessageDeleted { channel, ts },
                _ => Event::Other("message_deleted without a timestamp".to_string()),
            },
            ("member_joined_channel" | "member_left_channel", _) => {
                match (self.channel, self.user) {
                    (Some(channel), Some(user)) if kind == "member_joined_channel" => {
                        Event::MemberJoined {
                            channel,
                            user: UserId(user),
                        }
                    }
                    (Some(channel), Some(user)) => Event::MemberLeft {
                        channel,
                        user: UserId(user),
                    },
                    _ => Event::Other(format!("{kind} without a channel or user")),
                }
            }
            (_, Some(subtype)) => Event::Other(format!("{kind}/{subtype}")),
            _ => Event::Other(kind),
        }
    }
}

impl EventEnvelope {
    /// Reads an Events API delivery. Only a body that is not JSON is an
    /// error; JSON that is not an envelope the bot knows is
    /// [`EventEnvelope::Other`], and an event it does not know is
    /// [`Event::Other`].
    pub fn parse(body: &[u8]) -> Result<Self, InboundError> {
        let raw: serde_json::Value = serde_json::from_slice(body)?;
        Ok(Self::from_json(raw))
    }

    /// The typed value of a delivery already read as JSON (as a Socket Mode
    /// envelope carries it).
    pub fn from_json(raw: serde_json::Value) -> Self {
        let Ok(raw) = serde_json::from_value::<RawEnvelope>(raw) else {
            return EventEnvelope::Other("a body that is not an object".to_string());
        };
        match (
            raw.kind.unwrap_or_default().as_str(),
            raw.challenge,
            raw.event_id,
            raw.event,
        ) {
            ("url_verification", Some(challenge), _, _) => {
                EventEnvelope::UrlVerification { challenge }
            }
            ("event_callback", _, Some(event_id), Some(event)) => EventEnvelope::Callback {
                event_id,
                event: match serde_json::from_value::<RawEvent>(event) {
                    Ok(event) => event.into_event(),
                    Err(_) => Event::Other("an event that is not an object".to_string()),
                },
            },
            (other, ..) => EventEnvelope::Other(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(payload: serde_json::Value) -> Vec<u8> {
        serde_urlencoded::to_string([("payload", payload.to_string())])
            .unwrap()
            .into_bytes()
    }

    #[test]
    fn slash_command_form() {
        let body = b"token=x&team_id=T1&channel_id=C1&user_id=U1&user_name=a&command=%2Fincident&text=declare+DB+down&response_url=https%3A%2F%2Fexample&trigger_id=1.2.3";
        let c = SlashCommand::parse(body).unwrap();
        assert_eq!(c.text, "declare DB down");
        assert_eq!(c.user(), UserId("U1".into()));
        assert!(SlashCommand::parse(b"text=hi").is_err());
    }

    #[test]
    fn claim_button() {
        let body = form(serde_json::json!({
            "type": "block_actions",
            "user": {"id": "U2", "username": "b"},
            "channel": {"id": "C9"},
            "actions": [{"action_id": "role.claim", "value": "4|Scribe", "type": "button"}]
        }));
        assert_eq!(
            Interaction::parse(&body).unwrap(),
            Interaction::Action {
                user: UserId("U2".into()),
                channel: Some("C9".into()),
                trigger_id: String::new(),
                action: Action::Claim {
                    incident: 4,
                    role: "Scribe".into()
                }
            }
        );
    }

    #[test]
    fn checklist_ticks_and_bridge_links() {
        let click = |action: serde_json::Value| {
            Interaction::parse(&form(serde_json::json!({
                "type": "block_actions",
                "user": {"id": "U1"},
                "channel": {"id": "C1"},
                "actions": [action]
            })))
            .unwrap()
        };
        let tick = |i: Interaction| match i {
            Interaction::Action { action, .. } => action,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            tick(click(
                serde_json::json!({"action_id": "checklist.tick|7|2", "type": "checkboxes",
                "selected_options": [{"value": "done", "text": {"type": "plain_text", "text": "Done"}}]})
            )),
            Action::Tick {
                checklist: 7,
                task: 2,
                done: true
            }
        );
        assert_eq!(
            tick(click(
                serde_json::json!({"action_id": "checklist.tick|7|2", "type": "checkboxes", "selected_options": []})
            )),
            Action::Tick {
                checklist: 7,
                task: 2,
                done: false
            }
        );
        assert!(matches!(
            tick(click(
                serde_json::json!({"action_id": "checklist.tick|x|2", "type": "checkboxes"})
            )),
            Action::Unknown(_)
        ));
        assert!(matches!(
            click(serde_json::json!({"action_id": "bridge.join", "type": "button"})),
            Interaction::Other(_)
        ));
    }

    #[test]
    fn declare_submission() {
        let body = form(serde_json::json!({
            "type": "view_submission",
            "user": {"id": "U1"},
            "view": {
                "id": "V1", "callback_id": "declare",
                "private_metadata": "{\"channel\":\"C1\"}",
                "state": {"values": {
                    "title": {"value": {"type": "plain_text_input", "value": "  DB down "}},
                    "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV1"}}},
                    "impact": {"value": {"type": "datetimepicker", "selected_date_time": 1700000000}},
                    "flags": {"value": {"type": "checkboxes", "selected_options": [{"value": "drill"}]}}
                }}
            }
        }));
        let Interaction::DeclareSubmitted { form, metadata, .. } =
            Interaction::parse(&body).unwrap()
        else {
            panic!("not a declaration");
        };
        assert_eq!(form.title, "DB down");
        assert_eq!(form.severity.as_deref(), Some("SEV1"));
        assert!(form.drill && !form.security);
        assert_eq!(form.impact_started_at.unwrap().timestamp(), 1700000000);
        assert_eq!(metadata.unwrap().channel, "C1");
    }

    fn event(inner: serde_json::Value) -> Event {
        let body = serde_json::json!({"type": "event_callback", "event_id": "Ev1", "team_id": "T1", "event": inner});
        match EventEnvelope::parse(body.to_string().as_bytes()).unwrap() {
            EventEnvelope::Callback { event, .. } => event,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn events_we_act_on() {
        let r = Reaction {
            user: UserId("U1".into()),
            reaction: "pushpin".into(),
            channel: "C1".into(),
            ts: "1.2".into(),
        };
        assert_eq!(
            event(
                serde_json::json!({"type": "reaction_added", "user": "U1", "reaction": "pushpin", "item_user": "U2",
                "item": {"type": "message", "channel": "C1", "ts": "1.2"}, "event_ts": "3.4"})
            ),
            Event::ReactionAdded(r.clone())
        );
        assert_eq!(
            event(
                serde_json::json!({"type": "reaction_removed", "user": "U1", "reaction": "pushpin",
                "item": {"type": "message", "channel": "C1", "ts": "1.2"}, "event_ts": "3.4"})
            ),
            Event::ReactionRemoved(r)
        );
        assert!(matches!(
            event(
                serde_json::json!({"type": "reaction_added", "user": "U1", "reaction": "pushpin", "item": {"type": "file", "file": "F1"}})
            ),
            Event::Other(_)
        ));
        assert_eq!(
            event(
                serde_json::json!({"type": "message", "subtype": "message_changed", "channel": "C1", "hidden": true,
                "message": {"type": "message", "user": "U2", "text": "new text", "ts": "1.2", "edited": {"user": "U2", "ts": "5.6"}},
                "previous_message": {"type": "message", "text": "old", "ts": "1.2"}, "event_ts": "5.6", "ts": "5.6"})
            ),
            Event::MessageChanged {
                channel: "C1".into(),
                ts: "1.2".into(),
                text: "new text".into()
            }
        );
        assert_eq!(
            event(
                serde_json::json!({"type": "message", "subtype": "message_deleted", "channel": "C1", "hidden": true, "deleted_ts": "1.2", "event_ts": "5.6", "ts": "5.6"})
            ),
            Event::MessageDeleted {
                channel: "C1".into(),
                ts: "1.2".into()
            }
        );
        assert_eq!(
            event(
                serde_json::json!({"type": "message", "channel": "C1", "user": "U1", "text": "hello", "ts": "1.2"})
            ),
            Event::Other("message".into())
        );
        assert_eq!(
            event(
                serde_json::json!({"type": "member_joined_channel", "user": "U3", "channel": "C1", "channel_type": "G", "team": "T1", "inviter": "U1"})
            ),
            Event::MemberJoined {
                channel: "C1".into(),
                user: UserId("U3".into())
            }
        );
        assert_eq!(
            event(
                serde_json::json!({"type": "member_left_channel", "user": "U3", "channel": "C1", "channel_type": "G", "team": "T1"})
            ),
            Event::MemberLeft {
                channel: "C1".into(),
                user: UserId("U3".into())
            }
        );
    }

    #[test]
    fn the_private_flag_is_read_from_the_declare_form() {
        let body = form(serde_json::json!({
            "type": "view_submission",
            "user": {"id": "U1"},
            "view": {
                "id": "V1", "callback_id": "declare",
                "private_metadata": "{\"channel\":\"C1\"}",
                "state": {"values": {
                    "title": {"value": {"type": "plain_text_input", "value": "Leak"}},
                    "flags": {"value": {"type": "checkboxes", "selected_options": [{"value": "private"}, {"value": "security"}]}}
                }}
            }
        }));
        let Interaction::DeclareSubmitted { form, .. } = Interaction::parse(&body).unwrap() else {
            panic!("not a declaration");
        };
        assert!(form.private && form.security && !form.drill);
    }

    #[test]
    fn shapes_the_bot_does_not_know_are_other_not_errors() {
        // `channel` and `user` as objects (channel_created, team_join…).
        assert!(matches!(
            event(serde_json::json!({"type": "channel_created", "channel": {"id": "C1", "name": "x", "created": 1}})),
            Event::Other(kind) if kind == "channel_created"
        ));
        assert!(matches!(
            event(serde_json::json!({"type": "team_join", "user": {"id": "U1", "profile": {}}})),
            Event::Other(_)
        ));
        // A known event with a field in an unknown shape is not acted on.
        assert!(matches!(
            event(
                serde_json::json!({"type": "reaction_added", "user": {"id": "U1"}, "reaction": "pushpin",
                "item": {"type": "message", "channel": "C1", "ts": "1.2"}})
            ),
            Event::Other(_)
        ));
        assert!(matches!(
            event(serde_json::json!("not an object")),
            Event::Other(_)
        ));
        // Legacy attachment actions, dialogs, actions without an id.
        for payload in [
            serde_json::json!({"type": "interactive_message", "user": {"id": "U1"},
                "actions": [{"name": "ack", "type": "button", "value": "1"}], "callback_id": "c"}),
            serde_json::json!({"type": "dialog_submission", "user": {"id": "U1"}, "submission": {"a": "b"}}),
            serde_json::json!({"type": "block_actions", "user": {"id": "U1"}, "actions": [{"value": "1|Scribe"}]}),
            serde_json::json!({"type": "block_actions", "user": "U1", "actions": []}),
            serde_json::json!(["not", "an", "object"]),
        ] {
            assert!(
                matches!(
                    Interaction::parse(&form(payload.clone())).unwrap(),
                    Interaction::Other(_)
                ),
                "{payload}"
            );
        }
        // A modal whose inputs come in shapes the bot does not know reads
        // as empty inputs, which the form's own checks then name.
        let body = form(serde_json::json!({
            "type": "view_submission", "user": {"id": "U1"},
            "view": {"id": "V1", "callback_id": "declare", "private_metadata": 7,
                "state": {"values": {"title": {"value": {"value": ["DB down"]}}, "severity": "SEV1", "flags": {"value": {"selected_options": {}}}}}}
        }));
        let Interaction::DeclareSubmitted { form, metadata, .. } =
            Interaction::parse(&body).unwrap()
        else {
            panic!("not a declaration");
        };
        assert_eq!(form, DeclareForm::default());
        assert_eq!(metadata, None);
    }

    #[test]
    fn a_slash_command_without_its_fields_says_which() {
        assert!(matches!(
            SlashCommand::parse(b"command=%2Fincident&text=hi&channel_id=C1&trigger_id=1"),
            Err(InboundError::Incomplete(field)) if field == "user_id"
        ));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(Interaction::parse(b"payload=%7B").is_err());
        assert!(EventEnvelope::parse(b"{").is_err());
        // Well-formed but not for us: ignored, not refused.
        assert!(matches!(
            Interaction::parse(b"nothing=1").unwrap(),
            Interaction::Other(_)
        ));
        assert!(matches!(
            EventEnvelope::parse(b"[]").unwrap(),
            EventEnvelope::Other(_)
        ));
        assert_eq!(
            EventEnvelope::parse(br#"{"type":"url_verification","challenge":"abc"}"#).unwrap(),
            EventEnvelope::UrlVerification {
                challenge: "abc".into()
            }
        );
    }

    #[test]
    fn the_followup_form_and_its_button() {
        let click = serde_json::json!({
            "type": "block_actions",
            "user": {"id": "U1"},
            "channel": {"id": "C1"},
            "trigger_id": "1.2.3",
            "actions": [{"action_id": "followup.add", "value": "12", "type": "button"}]
        });
        assert!(matches!(
            Interaction::parse(&form(click)).unwrap(),
            Interaction::Action {
                action: Action::AddFollowup { incident: 12 },
                ..
            }
        ));
        let submission = |due: serde_json::Value| {
            form(serde_json::json!({
                "type": "view_submission",
                "user": {"id": "U1"},
                "view": {
                    "id": "V1",
                    "callback_id": "followup",
                    "private_metadata": "12",
                    "state": {"values": {
                        "text": {"value": {"type": "plain_text_input", "value": "  Alert on 5xx <now> "}},
                        "owner": {"value": {"type": "users_select", "selected_user": "UBOB"}},
                        "due": {"value": {"type": "datepicker", "selected_date": due}}
                    }}
                }
            }))
        };
        let Interaction::FollowupSubmitted {
            incident, form: f, ..
        } = Interaction::parse(&submission(serde_json::json!("2026-12-24"))).unwrap()
        else {
            panic!("not a follow-up submission");
        };
        assert_eq!(incident, 12);
        assert_eq!(f.text, "Alert on 5xx <now>");
        assert_eq!(f.owner, Some(UserId("UBOB".into())));
        assert_eq!(
            f.due,
            Some(Ok(chrono::NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()))
        );
        let Interaction::FollowupSubmitted { form: f, .. } =
            Interaction::parse(&submission(serde_json::Value::Null)).unwrap()
        else {
            panic!("not a follow-up submission");
        };
        assert_eq!(f.due, None);
        let Interaction::FollowupSubmitted { form: f, .. } =
            Interaction::parse(&submission(serde_json::json!("24/12/2026"))).unwrap()
        else {
            panic!("not a follow-up submission");
        };
        assert_eq!(f.due, Some(Err("24/12/2026".to_string())));
    }
}
