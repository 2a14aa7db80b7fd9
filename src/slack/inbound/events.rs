//! Events API deliveries.

use super::{InboundError, lenient};
use crate::domain::timeline::slack_ts_time;
use crate::domain::{ChannelId, MessageTs, UserId};
use chrono::{DateTime, Utc};
use serde::Deserialize;

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
    /// `at`: when, by Slack's clock (see [`Event::MemberLeft`]).
    MemberJoined {
        channel: ChannelId,
        user: UserId,
        at: Option<DateTime<Utc>>,
    },
    /// Someone left, or was removed from, such a channel
    /// (`member_left_channel`). `at`: when it happened, by Slack's clock
    /// (the event's `event_ts`, else the delivery's `event_time`; `None`
    /// when Slack sent neither): Slack may deliver a join and a leave in
    /// the opposite order, and the later one by this time wins.
    MemberLeft {
        channel: ChannelId,
        user: UserId,
        at: Option<DateTime<Utc>>,
    },
    /// A message in `channel` holds links to the bot's domain
    /// (`link_shared`): they may be unfurled into cards.
    LinksShared {
        channel: ChannelId,
        ts: MessageTs,
        urls: Vec<String>,
        /// Still in the composer (not posted): no channel Slack would
        /// take, answered by this id.
        composer: Option<crate::domain::ComposerLinks>,
    },
    /// Someone opened the bot's Home tab (`app_home_opened`, tab `home`).
    HomeOpened { user: UserId },
    /// A workflow ran the step "Declare an incident" (`function_executed`
    /// of `declare_incident`).
    DeclareStep(DeclareStep),
    /// Any other event; recorded, then ignored.
    Other(String),
}

/// A run of the Workflow Builder step "Declare an incident": its inputs as
/// the workflow filled them, not yet checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclareStep {
    /// What `functions.completeSuccess`/`completeError` name.
    pub execution_id: String,
    pub title: String,
    pub severity: Option<String>,
    pub summary: String,
    pub private: bool,
    /// The person declaring (the workflow's input); none: the workflow.
    pub declarer: Option<UserId>,
}

#[derive(Deserialize)]
struct RawFunction {
    #[serde(default, deserialize_with = "lenient")]
    callback_id: Option<String>,
}

/// The step's inputs. Workflow Builder sends a user as its id, a boolean
/// as a boolean; anything else reads as absent.
#[derive(Deserialize, Default)]
struct RawInputs {
    #[serde(default, deserialize_with = "lenient")]
    title: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    severity: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    summary: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    private: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    declarer: Option<String>,
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
    /// When the event happened, in whole seconds.
    #[serde(default, deserialize_with = "lenient")]
    event_time: Option<i64>,
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
    /// When the event happened (`1700000000.000100`).
    #[serde(default, deserialize_with = "lenient")]
    event_ts: Option<String>,
    /// `app_home_opened`: which tab.
    #[serde(default, deserialize_with = "lenient")]
    tab: Option<String>,
    /// `function_executed`: which function, this run, its inputs.
    #[serde(default, deserialize_with = "lenient")]
    function: Option<RawFunction>,
    #[serde(default, deserialize_with = "lenient")]
    function_execution_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    inputs: Option<RawInputs>,
    /// `link_shared`: the message and its links.
    #[serde(default, deserialize_with = "lenient")]
    message_ts: Option<MessageTs>,
    #[serde(default, deserialize_with = "lenient")]
    links: Option<Vec<RawLink>>,
    /// `link_shared`: `composer` while the message is being written.
    #[serde(default)]
    source: Option<String>,
    /// `link_shared`: Slack's id of the links.
    #[serde(default)]
    unfurl_id: Option<String>,
}

#[derive(Deserialize)]
struct RawLink {
    #[serde(default, deserialize_with = "lenient")]
    url: Option<String>,
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
    /// The typed event; `event_time` is the delivery's, for an event
    /// without its own `event_ts`.
    fn into_event(self, event_time: Option<DateTime<Utc>>) -> Event {
        let at = self
            .event_ts
            .map(MessageTs)
            .as_ref()
            .and_then(slack_ts_time)
            .or(event_time);
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
                            at,
                        }
                    }
                    (Some(channel), Some(user)) => Event::MemberLeft {
                        channel,
                        user: UserId(user),
                        at,
                    },
                    _ => Event::Other(format!("{kind} without a channel or user")),
                }
            }
            ("link_shared", _) => {
                let urls: Vec<String> = self
                    .links
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|l| l.url)
                    .filter(|u| !u.is_empty())
                    .take(10)
                    .collect();
                let composer = match (self.source.as_deref(), self.unfurl_id) {
                    (Some("composer"), Some(unfurl_id)) if !unfurl_id.is_empty() => {
                        Some(crate::domain::ComposerLinks { unfurl_id })
                    }
                    _ => None,
                };
                match (self.channel, self.message_ts) {
                    (Some(channel), Some(ts)) if !urls.is_empty() && !ts.as_str().is_empty() => {
                        Event::LinksShared {
                            channel,
                            ts,
                            urls,
                            composer,
                        }
                    }
                    _ => Event::Other("link_shared without links".to_string()),
                }
            }
            ("app_home_opened", _) => match (self.user, self.tab.as_deref()) {
                (Some(user), Some("home")) if !user.is_empty() => {
                    Event::HomeOpened { user: UserId(user) }
                }
                _ => Event::Other("app_home_opened, not the Home tab".to_string()),
            },
            ("function_executed", _) => {
                let callback = self.function.and_then(|f| f.callback_id);
                match (callback.as_deref(), self.function_execution_id) {
                    (Some(crate::slack::ids::FUNCTION_DECLARE), Some(execution_id)) => {
                        let inputs = self.inputs.unwrap_or_default();
                        Event::DeclareStep(DeclareStep {
                            execution_id,
                            title: inputs.title.unwrap_or_default().trim().to_string(),
                            severity: inputs
                                .severity
                                .map(|s| s.trim().to_string())
                                .filter(|s| !s.is_empty()),
                            summary: inputs.summary.unwrap_or_default().trim().to_string(),
                            private: inputs.private.unwrap_or(false),
                            declarer: inputs.declarer.filter(|u| !u.is_empty()).map(UserId),
                        })
                    }
                    (other, _) => Event::Other(format!("function {}", other.unwrap_or_default())),
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
        let event_time = raw.event_time.and_then(|t| DateTime::from_timestamp(t, 0));
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
                    Ok(event) => event.into_event(event_time),
                    Err(_) => Event::Other("an event that is not an object".to_string()),
                },
            },
            (other, ..) => EventEnvelope::Other(other.to_string()),
        }
    }
}
