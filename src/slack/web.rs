//! Web API calls made through slack-morphism's generic `http_get` /
//! `http_post` (so its rate control, 429 handling and `ok: false` sorting
//! still apply), with the answer read by our own small types: only `ok`,
//! `error` and the few fields the bot uses. slack-morphism's typed responses
//! model every field Slack documents, and one field shaped unexpectedly
//! (a placeholder, a type Slack changed) made a successful call look failed.
//!
//! Every field read here is either required because the bot cannot go on
//! without it (a channel id, a message `ts`) or read leniently (`None` when
//! absent or oddly shaped). An `ok: true` answer whose required part cannot
//! be read becomes [`CallError::Unreadable`]: the call may well have worked,
//! so the job runner reconciles before doing it again.

use super::client::CallError;
use super::lenient;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use slack_morphism::prelude::*;

pub use slack_morphism::prelude::{
    SLACK_TIER2_METHOD_CONFIG as TIER2, SLACK_TIER3_METHOD_CONFIG as TIER3,
    SLACK_TIER4_METHOD_CONFIG as TIER4,
};

/// Query parameters of a GET method; `None` values are left out.
pub type Params<'a> = Vec<(&'a str, Option<String>)>;

/// `POST method` with a JSON body; the answer as JSON, once Slack said `ok`.
pub async fn post<C, RQ>(
    session: &SlackClientSession<'_, C>,
    method: &str,
    request: &RQ,
    tier: &SlackApiMethodRateControlConfig,
) -> ClientResult<Value>
where
    C: SlackClientHttpConnector + Send + Sync,
    RQ: serde::Serialize + Send + Sync,
{
    session
        .http_session_api
        .http_post(method, request, Some(tier))
        .await
}

/// `GET method?params`; the answer as JSON, once Slack said `ok`.
pub async fn get<C>(
    session: &SlackClientSession<'_, C>,
    method: &str,
    params: &Params<'_>,
    tier: &SlackApiMethodRateControlConfig,
) -> ClientResult<Value>
where
    C: SlackClientHttpConnector + Send + Sync,
{
    session
        .http_session_api
        .http_get(method, params, Some(tier))
        .await
}

/// Reads the part of an `ok: true` answer the bot uses.
pub fn read<T: DeserializeOwned>(method: &'static str, answer: Value) -> Result<T, CallError> {
    serde_json::from_value(answer).map_err(|e| CallError::Unreadable {
        method,
        reason: e.to_string(),
        cause: super::client::Cause::of(e),
    })
}

/// The elements of a list that have the expected shape; others are
/// skipped (a message without a `ts` is none the bot can act on).
fn lenient_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    let values: Vec<Value> = lenient(d)?.unwrap_or_default();
    Ok(values
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

/// `conversations.create`, `conversations.list`'s elements.
#[derive(Debug, Deserialize)]
pub struct Channel {
    pub id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub creator: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ChannelAnswer {
    pub channel: Channel,
}

#[derive(Debug, Deserialize)]
pub struct ChannelList {
    #[serde(default, deserialize_with = "lenient_list")]
    pub channels: Vec<Channel>,
    #[serde(default, deserialize_with = "lenient")]
    pub response_metadata: Option<ResponseMetadata>,
}

#[derive(Debug, Deserialize)]
pub struct ResponseMetadata {
    #[serde(default, deserialize_with = "lenient")]
    pub next_cursor: Option<String>,
}

/// `chat.postMessage`.
#[derive(Debug, Deserialize)]
pub struct Posted {
    pub ts: String,
}

/// `conversations.history`, `conversations.replies`.
#[derive(Debug, Deserialize)]
pub struct Messages {
    #[serde(default, deserialize_with = "lenient_list")]
    pub messages: Vec<Message>,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    pub ts: String,
    #[serde(default, deserialize_with = "lenient")]
    pub text: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub user: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Deserialize)]
pub struct Metadata {
    #[serde(default, deserialize_with = "lenient")]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub event_payload: Option<serde_json::Map<String, Value>>,
}

impl Message {
    /// The value of `key` in the metadata payload, if this message carries
    /// metadata of `event_type` (a number counts in its decimal form).
    pub fn metadata_value(&self, event_type: &str, key: &str) -> Option<String> {
        let md = self.metadata.as_ref()?;
        if md.event_type.as_deref() != Some(event_type) {
            return None;
        }
        match md.event_payload.as_ref()?.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// `chat.getPermalink`.
#[derive(Debug, Deserialize)]
pub struct Permalink {
    pub permalink: String,
}

/// `users.info`.
#[derive(Debug, Deserialize)]
pub struct UserAnswer {
    pub user: User,
}

#[derive(Debug, Default, Deserialize)]
pub struct User {
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub real_name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub profile: Option<Profile>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Profile {
    #[serde(default, deserialize_with = "lenient")]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub real_name: Option<String>,
}

/// `files.getUploadURLExternal`.
#[derive(Debug, Deserialize)]
pub struct UploadTarget {
    pub upload_url: String,
    pub file_id: String,
}

/// `files.list`.
#[derive(Debug, Deserialize)]
pub struct Files {
    #[serde(default, deserialize_with = "lenient_list")]
    pub files: Vec<File>,
}

#[derive(Debug, Deserialize)]
pub struct File {
    #[serde(default, deserialize_with = "lenient")]
    pub title: Option<String>,
}

/// `auth.test`.
#[derive(Clone, Debug, Deserialize)]
pub struct Identity {
    pub user_id: String,
    /// The workspace the bot is installed in.
    #[serde(default)]
    pub team_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn odd_shapes_of_unused_fields_do_not_matter() {
        let answer = json!({"ok": true, "channel": {"id": "C1", "name": 12, "creator": {"id": "U1"},
            "topic": "not an object", "created": "yesterday"}});
        let c: ChannelAnswer = read("conversations.create", answer).unwrap();
        assert_eq!(c.channel.id, "C1");
        assert_eq!(c.channel.name, None);
        assert_eq!(c.channel.creator, None);
    }

    #[test]
    fn a_missing_needed_field_is_unreadable_not_refused() {
        let e = read::<Posted>("chat.postMessage", json!({"ok": true, "ts": 17})).unwrap_err();
        assert!(matches!(
            e,
            CallError::Unreadable {
                method: "chat.postMessage",
                ..
            }
        ));
    }

    #[test]
    fn messages_without_a_ts_are_skipped_and_metadata_is_read() {
        let answer = json!({"ok": true, "messages": [
            {"type": "message", "text": "no ts"},
            {"ts": "1.2", "text": ["odd"], "user": "U1",
             "metadata": {"event_type": "warroom_job", "event_payload": {"job": 7}}},
            {"ts": "1.3", "metadata": {"event_type": "other", "event_payload": {"job": "7"}}}
        ]});
        let m: Messages = read("conversations.history", answer).unwrap();
        assert_eq!(m.messages.len(), 2);
        assert_eq!(m.messages[0].text, None);
        assert_eq!(m.messages[0].user.as_deref(), Some("U1"));
        assert_eq!(
            m.messages[0]
                .metadata_value("warroom_job", "job")
                .as_deref(),
            Some("7")
        );
        assert_eq!(m.messages[1].metadata_value("warroom_job", "job"), None);
    }

    /// Slack's published answer shapes (our fixtures: the same fields, the
    /// same placeholders, e.g. `""` where a URL is documented) read with
    /// only the ids the bot needs filled in. slack-morphism's typed
    /// responses refuse five of these (views.open, chat.update,
    /// conversations.history, conversations.replies, files.list).
    #[test]
    fn the_published_answer_shapes_read() {
        let shape = |m: &str| -> Value {
            let path = format!(
                "{}/tests/fixtures/slack-shapes/api/{m}.json",
                env!("CARGO_MANIFEST_DIR")
            );
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
        };
        let mut created = shape("conversations.create");
        created["channel"]["id"] = json!("C1");
        read::<ChannelAnswer>("conversations.create", created).unwrap();
        let mut list = shape("conversations.list");
        list["channels"][0]["id"] = json!("C1");
        let list: ChannelList = read("conversations.list", list).unwrap();
        assert_eq!(list.channels.len(), 1);
        let mut posted = shape("chat.postMessage");
        posted["ts"] = json!("1.2");
        read::<Posted>("chat.postMessage", posted).unwrap();
        for m in ["conversations.history", "conversations.replies"] {
            let mut history = shape(m);
            history["messages"][0]["ts"] = json!("1.2");
            let read: Messages = read("conversations.history", history).unwrap();
            assert_eq!(read.messages.len(), 1);
        }
        let mut link = shape("chat.getPermalink");
        link["permalink"] = json!("https://x.slack.com/archives/C1/p12");
        read::<Permalink>("chat.getPermalink", link).unwrap();
        read::<UserAnswer>("users.info", shape("users.info")).unwrap();
        let mut target = shape("files.getUploadURLExternal");
        target["upload_url"] = json!("https://files.slack.com/upload/v1/x");
        target["file_id"] = json!("F1");
        read::<UploadTarget>("files.getUploadURLExternal", target).unwrap();
        let files: Files = read("files.list", shape("files.list")).unwrap();
        assert_eq!(files.files.len(), 1);
        let mut me = shape("auth.test");
        me["user_id"] = json!("U1");
        read::<Identity>("auth.test", me).unwrap();
        // What the bot ignores entirely only has to be JSON.
        for m in [
            "views.open",
            "chat.update",
            "chat.postEphemeral",
            "conversations.invite",
            "conversations.join",
            "conversations.setTopic",
            "reactions.add",
            "files.completeUploadExternal",
        ] {
            assert_eq!(shape(m)["ok"], json!(true), "{m}");
        }
    }
}
