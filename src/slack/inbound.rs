//! Slack's inbound payloads → typed values. The only place that reads them.

use crate::domain::{IncidentNumber, UserId};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("malformed form body: {0}")]
    Form(#[from] serde_urlencoded::de::Error),
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("form has no `payload` field")]
    NoPayload,
}

/// A slash command invocation.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct SlashCommand {
    pub command: String,
    #[serde(default)]
    pub text: String,
    pub user_id: String,
    pub channel_id: String,
    pub trigger_id: String,
    #[serde(default)]
    pub response_url: String,
}

impl SlashCommand {
    pub fn parse(body: &[u8]) -> Result<Self, InboundError> {
        Ok(serde_urlencoded::from_bytes(body)?)
    }

    pub fn user(&self) -> UserId {
        UserId(self.user_id.clone())
    }
}

/// What the declare modal carries between opening and submission.
#[derive(Clone, Debug, serde::Serialize, Deserialize, PartialEq, Eq)]
pub struct DeclareMetadata {
    /// Channel where `/incident declare` was typed.
    pub channel: String,
}

/// A button on a bot message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Claim {
        incident: IncidentNumber,
        role: String,
    },
    Release {
        incident: IncidentNumber,
        role: String,
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
    Unknown(String),
}

pub const ACTION_CLAIM: &str = "role.claim";
pub const ACTION_RELEASE: &str = "role.release";
pub const CALLBACK_DECLARE: &str = "declare";
pub const CALLBACK_UPDATE: &str = "update";
/// Snoozes longer than this are refused as tampering.
const MAX_SNOOZE_MINUTES: u32 = 240;

/// The button value that names an incident and a role.
pub fn role_action_value(incident: IncidentNumber, role: &str) -> String {
    format!("{incident}|{role}")
}

fn parse_role_value(value: &str) -> Option<(IncidentNumber, String)> {
    let (n, role) = value.split_once('|')?;
    Some((n.parse().ok()?, role.to_string()))
}

/// The declare modal's fields as Slack sent them, before checking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeclareForm {
    pub title: String,
    pub severity: Option<String>,
    pub summary: String,
    pub impact_started_at: Option<DateTime<Utc>>,
    pub security: bool,
    pub drill: bool,
}

/// Block and action ids of the declare modal.
pub mod declare_ids {
    pub const TITLE: &str = "title";
    pub const SEVERITY: &str = "severity";
    pub const SUMMARY: &str = "summary";
    pub const IMPACT: &str = "impact";
    pub const FLAGS: &str = "flags";
    pub const VALUE: &str = "value";
    pub const FLAG_SECURITY: &str = "security";
    pub const FLAG_DRILL: &str = "drill";
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Interaction {
    Action {
        user: UserId,
        channel: Option<String>,
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
    /// The Scribe's internal summary form was submitted.
    SummarySubmitted {
        user: UserId,
        incident: IncidentNumber,
        text: String,
    },
    /// A payload type or callback this bot does not handle.
    Other(String),
}

#[derive(Deserialize)]
struct RawInteraction {
    #[serde(rename = "type")]
    kind: String,
    user: RawUser,
    #[serde(default)]
    trigger_id: String,
    #[serde(default)]
    channel: Option<RawId>,
    #[serde(default)]
    actions: Vec<RawAction>,
    #[serde(default)]
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
    #[serde(default)]
    value: Option<String>,
    /// What a checkboxes element holds ticked after the click.
    #[serde(default)]
    selected_options: Vec<RawOption>,
}

/// `checklist.tick|<checklist>|<task>` → the checklist and task.
fn parse_tick(action_id: &str) -> Option<(i64, usize)> {
    let rest = action_id
        .strip_prefix(crate::slack::blocks::ACTION_TICK)?
        .strip_prefix('|')?;
    let (checklist, task) = rest.split_once('|')?;
    Some((checklist.parse().ok()?, task.parse().ok()?))
}

#[derive(Deserialize)]
struct RawView {
    id: String,
    #[serde(default)]
    callback_id: String,
    #[serde(default)]
    private_metadata: String,
    #[serde(default)]
    state: RawState,
}

#[derive(Deserialize, Default)]
struct RawState {
    #[serde(default)]
    values: HashMap<String, HashMap<String, RawValue>>,
}

#[derive(Deserialize, Default)]
struct RawValue {
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    selected_option: Option<RawOption>,
    #[serde(default)]
    selected_options: Vec<RawOption>,
    #[serde(default)]
    selected_date_time: Option<i64>,
}

#[derive(Deserialize)]
struct RawOption {
    value: String,
}

impl Interaction {
    /// Parses the `payload=` form Slack posts to the interactivity URL.
    pub fn parse(body: &[u8]) -> Result<Self, InboundError> {
        let form: HashMap<String, String> = serde_urlencoded::from_bytes(body)?;
        let payload = form.get("payload").ok_or(InboundError::NoPayload)?;
        let raw: RawInteraction = serde_json::from_str(payload)?;
        let user = UserId(raw.user.id);
        match raw.kind.as_str() {
            "block_actions" => {
                let Some(first) = raw.actions.into_iter().next() else {
                    return Ok(Interaction::Other("block_actions without actions".into()));
                };
                // A link button: Slack opened the link and tells us too.
                if first.action_id == crate::slack::blocks::ACTION_BRIDGE {
                    return Ok(Interaction::Other("bridge link opened".into()));
                }
                let value = first.value.as_deref().unwrap_or_default();
                let role_value = parse_role_value(value);
                let id = first.action_id.as_str();
                let action = match (id, role_value) {
                    (ACTION_CLAIM, Some((incident, role))) => Action::Claim { incident, role },
                    (ACTION_RELEASE, Some((incident, role))) => Action::Release { incident, role },
                    (crate::slack::blocks::ACTION_OPEN_UPDATE, _) => match value.parse() {
                        Ok(incident) => Action::OpenUpdate { incident },
                        Err(_) => Action::Unknown(id.to_string()),
                    },
                    (id, Some((incident, minutes)))
                        if id.starts_with(crate::slack::blocks::ACTION_SNOOZE) =>
                    {
                        match minutes.parse::<u32>() {
                            Ok(minutes) if (1..=MAX_SNOOZE_MINUTES).contains(&minutes) => {
                                Action::Snooze { incident, minutes }
                            }
                            _ => Action::Unknown(id.to_string()),
                        }
                    }
                    (id, _) if id.starts_with(crate::slack::blocks::ACTION_TICK) => {
                        match parse_tick(id) {
                            Some((checklist, task)) => Action::Tick {
                                checklist,
                                task,
                                done: !first.selected_options.is_empty(),
                            },
                            None => Action::Unknown(id.to_string()),
                        }
                    }
                    (crate::slack::blocks::ACTION_OPEN_SUMMARY, _) => {
                        let mut parts = value.splitn(3, '|').map(str::parse::<i64>);
                        match (parts.next(), parts.next(), parts.next()) {
                            (Some(Ok(checklist)), Some(Ok(since)), Some(Ok(until))) => {
                                Action::OpenSummary {
                                    checklist,
                                    since,
                                    until,
                                }
                            }
                            _ => Action::Unknown(id.to_string()),
                        }
                    }
                    (other, _) => Action::Unknown(other.to_string()),
                };
                Ok(Interaction::Action {
                    user,
                    channel: raw.channel.map(|c| c.id),
                    trigger_id: raw.trigger_id,
                    action,
                })
            }
            "view_submission" => match raw.view {
                Some(view) if view.callback_id == CALLBACK_DECLARE => {
                    Ok(Interaction::DeclareSubmitted {
                        user,
                        view_id: view.id,
                        metadata: serde_json::from_str(&view.private_metadata).ok(),
                        form: declare_form(&view.state),
                    })
                }
                Some(view) if view.callback_id == CALLBACK_UPDATE => {
                    match view.private_metadata.parse() {
                        Ok(incident) => {
                            let (answers, audiences) = update_form(&view.state);
                            Ok(Interaction::UpdateSubmitted {
                                user,
                                incident,
                                answers,
                                audiences,
                            })
                        }
                        Err(_) => Ok(Interaction::Other(
                            "update view without its incident".into(),
                        )),
                    }
                }
                Some(view) if view.callback_id == crate::slack::blocks::CALLBACK_SUMMARY => {
                    match view.private_metadata.parse() {
                        Ok(incident) => Ok(Interaction::SummarySubmitted {
                            user,
                            incident,
                            text: view.state.text(crate::slack::blocks::SUMMARY_BLOCK),
                        }),
                        Err(_) => Ok(Interaction::Other(
                            "summary view without its incident".into(),
                        )),
                    }
                }
                Some(view) => Ok(Interaction::Other(format!("view {}", view.callback_id))),
                None => Ok(Interaction::Other("view_submission without view".into())),
            },
            other => Ok(Interaction::Other(other.to_string())),
        }
    }
}

impl RawState {
    /// The input of a block whose element has the action id `value` (both
    /// of this bot's modals use that id).
    fn input(&self, block: &str) -> Option<&RawValue> {
        self.values.get(block).and_then(|b| b.get("value"))
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
    use crate::slack::blocks::update_ids::*;
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
        .map(|v| v.selected_options.iter().map(|o| o.value.clone()).collect())
        .unwrap_or_default();
    (answers, audiences)
}

fn declare_form(state: &RawState) -> DeclareForm {
    use declare_ids::*;
    let get = |block: &str| state.input(block);
    let text = |block: &str| state.text(block);
    let flags: Vec<&str> = get(FLAGS)
        .map(|v| {
            v.selected_options
                .iter()
                .map(|o| o.value.as_str())
                .collect()
        })
        .unwrap_or_default();
    DeclareForm {
        title: text(TITLE),
        severity: get(SEVERITY)
            .and_then(|v| v.selected_option.as_ref())
            .map(|o| o.value.clone()),
        summary: text(SUMMARY),
        impact_started_at: get(IMPACT)
            .and_then(|v| v.selected_date_time)
            .and_then(|s| DateTime::from_timestamp(s, 0)),
        security: flags.contains(&FLAG_SECURITY),
        drill: flags.contains(&FLAG_DRILL),
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
        channel: String,
        ts: String,
        text: String,
    },
    /// A message was deleted.
    MessageDeleted { channel: String, ts: String },
    /// Any other event; recorded, then ignored.
    Other(String),
}

/// A reaction on a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaction {
    pub user: UserId,
    /// Emoji name without colons, as Slack sends it (`pushpin`).
    pub reaction: String,
    pub channel: String,
    /// The message's own timestamp.
    pub ts: String,
}

#[derive(Deserialize)]
struct RawEnvelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    event: Option<RawEvent>,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    subtype: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    reaction: Option<String>,
    #[serde(default)]
    item: Option<RawItem>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    message: Option<RawMessage>,
    #[serde(default)]
    deleted_ts: Option<String>,
}

#[derive(Deserialize)]
struct RawItem {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    ts: Option<String>,
}

#[derive(Deserialize)]
struct RawMessage {
    ts: String,
    #[serde(default)]
    text: String,
}

impl RawEvent {
    fn into_event(self) -> Event {
        let kind = self.kind.clone();
        match (kind.as_str(), self.subtype.as_deref()) {
            ("reaction_added" | "reaction_removed", _) => {
                let reaction = match (self.user, self.reaction, self.item) {
                    (
                        Some(user),
                        Some(reaction),
                        Some(RawItem {
                            kind,
                            channel: Some(channel),
                            ts: Some(ts),
                        }),
                    ) if kind == "message" => Reaction {
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
                    text: m.text,
                },
                _ => Event::Other("message_changed without a message".to_string()),
            },
            ("message", Some("message_deleted")) => match (self.channel, self.deleted_ts) {
                (Some(channel), Some(ts)) => Event::MessageDeleted { channel, ts },
                _ => Event::Other("message_deleted without a timestamp".to_string()),
            },
            (_, Some(subtype)) => Event::Other(format!("{kind}/{subtype}")),
            _ => Event::Other(kind),
        }
    }
}

impl EventEnvelope {
    pub fn parse(body: &[u8]) -> Result<Self, InboundError> {
        let raw: RawEnvelope = serde_json::from_slice(body)?;
        Ok(
            match (raw.kind.as_str(), raw.challenge, raw.event_id, raw.event) {
                ("url_verification", Some(challenge), _, _) => {
                    EventEnvelope::UrlVerification { challenge }
                }
                ("event_callback", _, Some(event_id), Some(event)) => EventEnvelope::Callback {
                    event_id,
                    event: event.into_event(),
                },
                (other, ..) => EventEnvelope::Other(other.to_string()),
            },
        )
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
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(Interaction::parse(b"payload=%7B").is_err());
        assert!(Interaction::parse(b"nothing=1").is_err());
        assert!(EventEnvelope::parse(b"[]").is_err());
        assert_eq!(
            EventEnvelope::parse(br#"{"type":"url_verification","challenge":"abc"}"#).unwrap(),
            EventEnvelope::UrlVerification {
                challenge: "abc".into()
            }
        );
    }
}
