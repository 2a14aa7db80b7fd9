//! The Web API client: slack-morphism over hyper, pointed at `slack.api_url`
//! (plain http allowed, so tests can use a fake on 127.0.0.1). slack-morphism's
//! own rate control is off: every call passes our [`Pacer`] first, keyed by
//! method and channel. Errors are sorted into "try again later", "not yet"
//! and "will not work", which is all the job runner needs to know.
//! Long because it has one method per Web API use, each with the scope it
//! needs and how its refusals are read, in one place.
//!
//! Long on purpose: one method per Web API call the bot makes, each a few
//! lines behind the one `call` funnel (pacer, timeout, metrics).

use super::SlackErrorCode;
use super::pacer::{self, Key, Pacer};
use crate::clock::Clock;
use crate::domain::{ChannelId, MessageTs, UserId};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use secrecy::{ExposeSecret, SecretString};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::sync::Arc;
use std::time::Duration;

use super::web::{self, TIER2, TIER3, TIER4};

type Connector = SlackClientHyperConnector<HttpsConnector<HttpConnector>>;

/// The error underneath a failed call (a connection error, a JSON
/// error), kept as the `source()` of the [`CallError`] it caused.
#[derive(Clone, Debug)]
pub struct Cause(Arc<dyn std::error::Error + Send + Sync>);

impl Cause {
    pub fn of(e: impl std::error::Error + Send + Sync + 'static) -> Option<Self> {
        Some(Cause(Arc::new(e)))
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

#[derive(Debug, thiserror::Error, Clone)]
pub enum CallError {
    /// Connection error, timeout, 5xx or 429: worth trying again.
    #[error("Slack is unavailable ({reason}); will retry")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
        #[source]
        cause: Option<Cause>,
    },
    /// Not sent: the pacer holds calls like this one (Slack's rate limit,
    /// or a `429` Slack gave) until then. Slack did nothing.
    #[error("paced: Slack's rate limit allows this call at {until}")]
    Paced {
        until: chrono::DateTime<chrono::Utc>,
    },
    /// Slack answered `ok: false` with this error code.
    #[error("Slack refused the call: {0}")]
    Api(SlackErrorCode),
    /// Slack answered, but the part of the answer the bot needs could not
    /// be read. The call may have worked: treat it like a lost answer
    /// (look for what it did before doing it again).
    #[error("Slack's answer to {method} could not be read ({reason}); it may have worked")]
    Unreadable {
        method: &'static str,
        reason: String,
        #[source]
        cause: Option<Cause>,
    },
    /// Anything else (a bad request, an HTTP error that is not Slack's).
    #[error("Slack call failed: {reason}")]
    Other {
        reason: String,
        #[source]
        cause: Option<Cause>,
    },
}

impl CallError {
    /// Worth trying again, for `reason`.
    pub fn transient(reason: impl Into<String>) -> Self {
        CallError::Transient {
            reason: reason.into(),
            retry_after: None,
            cause: None,
        }
    }
}

/// Whether an answer slack-morphism took for a refusal says `ok: true`
/// (it goes by the presence of `error`, which a placeholder `""` has).
fn says_ok(body: Option<&str>) -> bool {
    #[derive(serde::Deserialize)]
    struct Ok {
        ok: bool,
    }
    body.and_then(|b| serde_json::from_str::<Ok>(b).ok())
        .is_some_and(|o| o.ok)
}

fn classify(e: SlackClientError) -> CallError {
    match e {
        SlackClientError::ApiError(api) if says_ok(api.http_response_body.as_deref()) => {
            CallError::Unreadable {
                method: "a Web API method",
                reason: format!("`ok: true` with `error: {:?}`", api.code),
                cause: None,
            }
        }
        // The one place a Slack error code is read.
        SlackClientError::ApiError(api) => match SlackErrorCode::parse(&api.code) {
            code if code.is_transient() => CallError::transient(api.code),
            code => CallError::Api(code),
        },
        SlackClientError::RateLimitError(r) => CallError::Transient {
            reason: "HTTP 429".to_string(),
            retry_after: Some(pacer::retry_after(r.retry_after)),
            cause: None,
        },
        SlackClientError::HttpError(h) if h.status_code.is_server_error() => {
            CallError::transient(format!("HTTP {}", h.status_code))
        }
        SlackClientError::HttpError(h) => CallError::Other {
            reason: format!("HTTP {}", h.status_code),
            cause: None,
        },
        SlackClientError::HttpProtocolError(e) => CallError::Transient {
            reason: format!("connection: {e}"),
            retry_after: None,
            cause: Cause::of(e),
        },
        SlackClientError::EndOfStream(e) => CallError::Transient {
            reason: format!("connection closed: {e}"),
            retry_after: None,
            cause: Cause::of(e),
        },
        // A 200 whose body is not the JSON envelope Slack documents: whether
        // it was `ok` is unknown, so the call may have worked.
        SlackClientError::ProtocolError(e) => CallError::Unreadable {
            method: "a Web API method",
            reason: e.to_string(),
            cause: Cause::of(e),
        },
        SlackClientError::SystemError(e) => CallError::Transient {
            reason: format!("system: {e}"),
            retry_after: None,
            cause: Cause::of(e),
        },
        other => CallError::Other {
            reason: other.to_string(),
            cause: Cause::of(other),
        },
    }
}

/// Where a message is posted: a channel, or a person (the app's direct
/// messages with them, which `chat.postMessage` opens from a user id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum To<'a> {
    Channel(&'a ChannelId),
    Person(&'a UserId),
}

impl<'a> From<&'a ChannelId> for To<'a> {
    fn from(c: &'a ChannelId) -> Self {
        To::Channel(c)
    }
}

impl<'a> From<&'a UserId> for To<'a> {
    fn from(u: &'a UserId) -> Self {
        To::Person(u)
    }
}

impl To<'_> {
    /// The id Slack's `channel` parameter takes.
    pub fn id(&self) -> &str {
        match self {
            To::Channel(c) => c.as_str(),
            To::Person(u) => u.as_str(),
        }
    }
}

/// A message as Slack has it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundMessage {
    pub text: String,
    pub user: Option<UserId>,
    /// Who posted it, when it was not a person (a bot or an integration).
    pub username: Option<String>,
}

/// A channel Slack created (or that we found).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedChannel {
    pub id: ChannelId,
    pub name: String,
    pub creator: Option<UserId>,
}

#[derive(Clone)]
pub struct SlackApi {
    client: Arc<SlackClient<Connector>>,
    token: SlackApiToken,
    /// The bot's own user id and workspace, from `auth.test`, asked once.
    bot: Arc<tokio::sync::OnceCell<web::Identity>>,
    /// Longest a single Web API call may take before it counts as a timeout.
    call_timeout: Duration,
    /// Client-side pacing; `None` with `slack.rate_control = false`.
    pacer: Option<Arc<Pacer>>,
    clock: Clock,
    /// What `/metrics` shows of the calls.
    telemetry: super::telemetry::SlackTelemetry,
}

impl SlackApi {
    pub fn new(
        api_url: &str,
        bot_token: &SecretString,
        rate_control: bool,
        call_timeout: Duration,
        clock: Clock,
        shared_pace: Option<Arc<dyn crate::db::SharedPace>>,
    ) -> std::io::Result<Self> {
        let https = crate::net::https_connector()?;
        // No `with_rate_control`: slack-morphism's limiter keys posts for
        // the whole bot and waits inside the caller; ours is the pacer.
        let connector =
            SlackClientHyperConnector::with_connector(https).with_slack_api_url(api_url);
        Ok(Self {
            client: Arc::new(SlackClient::new(connector)),
            token: SlackApiToken::new(bot_token.expose_secret().to_string().into()),
            bot: Arc::new(tokio::sync::OnceCell::new()),
            call_timeout,
            pacer: rate_control.then(|| {
                Arc::new(match shared_pace {
                    Some(shared) => Pacer::shared(clock.clone(), shared),
                    None => Pacer::new(clock.clone()),
                })
            }),
            clock,
            telemetry: Default::default(),
        })
    }

    /// The calls' counters, for the metrics registry.
    pub fn telemetry(&self) -> &super::telemetry::SlackTelemetry {
        &self.telemetry
    }

    /// How many `Retry-After` pauses are in force now.
    pub fn pauses_in_force(&self) -> usize {
        self.pacer.as_ref().map_or(0, |p| p.pauses_in_force())
    }

    /// Makes one Web API call about `key`: not at all while the pacer holds
    /// such calls (`Paced`, with when to try again), and a `429` pauses the
    /// key for its `Retry-After`.
    async fn call<T, F>(&self, key: Key, f: F) -> Result<T, CallError>
    where
        F: AsyncFnOnce(SlackClientSession<'_, Connector>) -> ClientResult<T>,
    {
        if let Some(pacer) = &self.pacer
            && let Err(until) = pacer.admit(&key).await
        {
            self.telemetry.held_back(pacer.hold_class(&key), 1);
            return Err(CallError::Paced { until });
        }
        pacer::sent(1);
        let session = self.client.open_session(&self.token);
        let started = std::time::Instant::now();
        let answer = tokio::time::timeout(self.call_timeout, f(session)).await;
        let outcome = match &answer {
            Ok(Ok(_)) => "ok",
            Ok(Err(SlackClientError::RateLimitError(_))) => "rate_limited",
            Ok(Err(SlackClientError::ApiError(_))) => "error",
            Ok(Err(_)) => "transport",
            Err(_) => "timeout",
        };
        self.telemetry
            .call(key.method, outcome, started.elapsed().as_secs_f64());
        match answer {
            Ok(Err(SlackClientError::RateLimitError(r))) if self.pacer.is_some() => {
                // Slack did nothing: not a call it may have acted on.
                pacer::sent(-1);
                let until = match &self.pacer {
                    Some(p) => p.pause_everywhere(&key, r.retry_after).await,
                    None => self.clock.now(),
                };
                tracing::info!(method = key.method, channel = ?key.channel, %until, "Slack answered 429; pausing these calls");
                Err(CallError::Paced { until })
            }
            Ok(result) => result.map_err(classify),
            Err(_) => Err(CallError::transient("timed out")),
        }
    }

    pub async fn views_open(&self, trigger_id: &str, view: SlackView) -> Result<(), CallError> {
        let req = SlackApiViewsOpenRequest::new(trigger_id.to_string().into(), view);
        // Slack is waiting for this request, so nothing can be rescheduled:
        // wait for the pacer instead (the caller bounds the whole wait).
        // Nothing of the answer is used: `ok` is all that matters.
        loop {
            match self
                .call(Key::method("views.open"), async |s| {
                    web::post(&s, "views.open", &req, &TIER4).await
                })
                .await
            {
                Err(CallError::Paced { until }) => self.clock.sleep_until(until).await,
                Err(e @ CallError::Unreadable { .. }) => {
                    tracing::warn!(error = %e, "views.open answered with a body that could not be read; taking the modal as open");
                    return Ok(());
                }
                other => return other.map(|_| ()),
            }
        }
    }

    /// Creates a channel, private when `is_private` (`groups:write`).
    pub async fn create_channel(
        &self,
        name: &str,
        is_private: bool,
    ) -> Result<CreatedChannel, CallError> {
        let req =
            SlackApiConversationsCreateRequest::new(name.to_string()).with_is_private(is_private);
        let answer = self
            .call(Key::method("conversations.create"), async |s| {
                web::post(&s, "conversations.create", &req, &TIER2).await
            })
            .await?;
        let res: web::ChannelAnswer = web::read("conversations.create", answer)?;
        Ok(CreatedChannel {
            id: ChannelId(res.channel.id),
            name: res.channel.name.unwrap_or_else(|| name.to_string()),
            creator: res.channel.creator.map(UserId),
        })
    }

    pub async fn invite(&self, channel: &ChannelId, user: &UserId) -> Result<(), CallError> {
        // Slack documents `users` as a comma-separated string; slack-morphism's
        // typed request sends a JSON array, so this one call is made by hand.
        #[derive(serde::Serialize)]
        struct Invite<'a> {
            channel: &'a str,
            users: &'a str,
        }
        let req = Invite {
            channel: channel.as_str(),
            users: user.as_str(),
        };
        let result = self
            .call(
                Key::in_channel("conversations.invite", channel.as_str()),
                async |s| web::post(&s, "conversations.invite", &req, &TIER3).await,
            )
            .await;
        match result {
            // Already there is as good as invited.
            Err(CallError::Api(SlackErrorCode::AlreadyInChannel)) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Joins a public channel (`channels:join`), so the bot can post and
    /// edit there again after it was removed.
    pub async fn join(&self, channel: &ChannelId) -> Result<(), CallError> {
        let req = SlackApiConversationsJoinRequest::new(channel.to_string().into());
        self.call(
            Key::in_channel("conversations.join", channel.as_str()),
            async |s| web::post(&s, "conversations.join", &req, &TIER3).await,
        )
        .await?;
        Ok(())
    }

    pub async fn set_topic(&self, channel: &ChannelId, topic: &str) -> Result<(), CallError> {
        let req = SlackApiConversationsSetTopicRequest::new(
            channel.to_string().into(),
            topic.to_string(),
        );
        self.call(
            Key::in_channel("conversations.setTopic", channel.as_str()),
            async |s| web::post(&s, "conversations.setTopic", &req, &TIER2).await,
        )
        .await?;
        Ok(())
    }

    /// Posts a message; returns its `ts`.
    pub async fn post(
        &self,
        to: To<'_>,
        content: SlackMessageContent,
    ) -> Result<MessageTs, CallError> {
        let req = SlackApiChatPostMessageRequest::new(to.id().to_string().into(), content);
        let answer = self
            .call(Key::in_channel("chat.postMessage", to.id()), async |s| {
                web::post(&s, "chat.postMessage", &req, &TIER3).await
            })
            .await?;
        let res: web::Posted = web::read("chat.postMessage", answer)?;
        Ok(MessageTs(res.ts))
    }

    pub async fn update(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        content: SlackMessageContent,
    ) -> Result<(), CallError> {
        let req = SlackApiChatUpdateRequest::new(
            channel.to_string().into(),
            content,
            ts.to_string().into(),
        );
        self.call(
            Key::in_channel("chat.update", channel.as_str()),
            async |s| web::post(&s, "chat.update", &req, &TIER3).await,
        )
        .await?;
        Ok(())
    }

    pub async fn post_ephemeral(
        &self,
        channel: &ChannelId,
        user: &UserId,
        text: &super::text::Mrkdwn,
    ) -> Result<(), CallError> {
        let req = SlackApiChatPostEphemeralRequest::new(
            channel.to_string().into(),
            user.to_string().into(),
            SlackMessageContent::new().with_text(text.to_string()),
        );
        match self
            .call(
                Key::in_channel("chat.postEphemeral", channel.as_str()),
                async |s| web::post(&s, "chat.postEphemeral", &req, &TIER4).await,
            )
            .await
        {
            // Nothing of the answer is used; sending it again would say it
            // twice.
            Err(e @ CallError::Unreadable { .. }) => {
                tracing::warn!(error = %e, "chat.postEphemeral answered in a form that could not be read; taking it as sent");
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    /// The message at `ts`, whether in the channel or in a thread: history
    /// first, then the thread that holds it. `None` when Slack has no such
    /// message (deleted meanwhile).
    pub async fn find_message(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
    ) -> Result<Option<FoundMessage>, CallError> {
        let found = |messages: Vec<web::Message>| {
            messages
                .into_iter()
                .find(|m| m.ts == ts.as_str())
                .map(|m| FoundMessage {
                    text: m.text.unwrap_or_default(),
                    user: m.user.map(UserId),
                    username: m.username,
                })
        };
        let history: web::Params = vec![
            ("channel", Some(channel.to_string())),
            ("latest", Some(ts.to_string())),
            ("oldest", Some(ts.to_string())),
            ("inclusive", Some("true".to_string())),
            ("limit", Some("1".to_string())),
        ];
        let answer = self
            .call(
                Key::in_channel("conversations.history", channel.as_str()),
                async |s| web::get(&s, "conversations.history", &history, &TIER3).await,
            )
            .await?;
        let res: web::Messages = web::read("conversations.history", answer)?;
        if let Some(m) = found(res.messages) {
            return Ok(Some(m));
        }
        // Slack answers with the thread's parent first, then the replies in
        // range, so ask for two: the parent and the reply itself.
        let replies: web::Params = vec![
            ("channel", Some(channel.to_string())),
            ("ts", Some(ts.to_string())),
            ("latest", Some(ts.to_string())),
            ("oldest", Some(ts.to_string())),
            ("inclusive", Some("true".to_string())),
            ("limit", Some("2".to_string())),
        ];
        match self
            .call(
                Key::in_channel("conversations.replies", channel.as_str()),
                async |s| web::get(&s, "conversations.replies", &replies, &TIER3).await,
            )
            .await
        {
            Ok(answer) => {
                let res: web::Messages = web::read("conversations.replies", answer)?;
                Ok(found(res.messages))
            }
            Err(CallError::Api(
                SlackErrorCode::ThreadNotFound | SlackErrorCode::MessageNotFound,
            )) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn permalink(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
    ) -> Result<String, CallError> {
        let params: web::Params = vec![
            ("channel", Some(channel.to_string())),
            ("message_ts", Some(ts.to_string())),
        ];
        let answer = self
            .call(
                Key::in_channel("chat.getPermalink", channel.as_str()),
                async |s| web::get(&s, "chat.getPermalink", &params, &TIER4).await,
            )
            .await?;
        let res: web::Permalink = web::read("chat.getPermalink", answer)?;
        Ok(res.permalink)
    }

    /// Publishes `user`'s Home tab (`views.publish`, no scope needed).
    pub async fn publish_home(&self, user: &UserId, view: SlackView) -> Result<(), CallError> {
        let req = SlackApiViewsPublishRequest::new(user.to_string().into(), view);
        self.call(Key::method("views.publish"), async |s| {
            web::post(&s, "views.publish", &req, &TIER4).await
        })
        .await?;
        Ok(())
    }

    /// Unfurls links in a message into cards (`chat.unfurl`, `links:write`):
    /// `unfurls` maps each link to its blocks.
    /// Links still in the composer are named by their `unfurl_id` (with
    /// `source: composer`) instead of a channel and ts.
    pub async fn unfurl(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        composer: Option<&crate::domain::ComposerLinks>,
        unfurls: serde_json::Value,
    ) -> Result<(), CallError> {
        let req = match composer {
            Some(c) => {
                serde_json::json!({"unfurl_id": c.unfurl_id, "source": "composer", "unfurls": unfurls})
            }
            None => serde_json::json!({"channel": channel, "ts": ts, "unfurls": unfurls}),
        };
        self.call(
            Key::in_channel("chat.unfurl", channel.as_str()),
            async |s| web::post(&s, "chat.unfurl", &req, &TIER3).await,
        )
        .await?;
        Ok(())
    }

    /// Tells Slack a workflow step ran, with its outputs
    /// (`functions.completeSuccess`).
    pub async fn complete_step(
        &self,
        execution: &str,
        outputs: serde_json::Value,
    ) -> Result<(), CallError> {
        let req = serde_json::json!({"function_execution_id": execution, "outputs": outputs});
        self.call(Key::method("functions.completeSuccess"), async |s| {
            web::post(&s, "functions.completeSuccess", &req, &TIER3).await
        })
        .await?;
        Ok(())
    }

    /// Tells Slack a workflow step failed, and why, in words the workflow's
    /// owner reads (`functions.completeError`).
    pub async fn fail_step(&self, execution: &str, reason: &str) -> Result<(), CallError> {
        let req = serde_json::json!({"function_execution_id": execution, "error": reason});
        self.call(Key::method("functions.completeError"), async |s| {
            web::post(&s, "functions.completeError", &req, &TIER3).await
        })
        .await?;
        Ok(())
    }

    /// Adds the bot's reaction; already there counts as done.
    pub async fn add_reaction(
        &self,
        channel: &ChannelId,
        ts: &MessageTs,
        emoji: &str,
    ) -> Result<(), CallError> {
        let req = SlackApiReactionsAddRequest::new(
            channel.to_string().into(),
            emoji.to_string().into(),
            ts.to_string().into(),
        );
        match self
            .call(
                Key::in_channel("reactions.add", channel.as_str()),
                async |s| web::post(&s, "reactions.add", &req, &TIER3).await,
            )
            .await
        {
            Err(CallError::Api(SlackErrorCode::AlreadyReacted)) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// A person's display name (falling back to real name, then handle).
    pub async fn user_name(&self, user: &UserId) -> Result<String, CallError> {
        let params: web::Params = vec![("user", Some(user.to_string()))];
        let answer = self
            .call(Key::method("users.info"), async |s| {
                web::get(&s, "users.info", &params, &TIER4).await
            })
            .await?;
        let res: web::UserAnswer = web::read("users.info", answer)?;
        let u = res.user;
        let profile = u.profile.as_ref();
        let pick = |v: Option<&String>| v.filter(|s| !s.trim().is_empty()).cloned();
        Ok(pick(profile.and_then(|p| p.display_name.as_ref()))
            .or_else(|| pick(profile.and_then(|p| p.real_name.as_ref())))
            .or_else(|| pick(u.real_name.as_ref()))
            .or_else(|| pick(u.name.as_ref()))
            .unwrap_or_else(|| user.to_string()))
    }

    /// The workspace's person with this e-mail address
    /// (`users.lookupByEmail`, `users:read.email`); `None` when nobody has it.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserId>, CallError> {
        #[derive(serde::Deserialize)]
        struct Found {
            user: Id,
        }
        #[derive(serde::Deserialize)]
        struct Id {
            id: String,
        }
        let params: web::Params = vec![("email", Some(email.to_string()))];
        let answer = self
            .call(Key::method("users.lookupByEmail"), async |s| {
                web::get(&s, "users.lookupByEmail", &params, &TIER3).await
            })
            .await;
        match answer {
            Err(CallError::Api(code)) if code.to_string() == "users_not_found" => Ok(None),
            other => {
                let found: Found = web::read("users.lookupByEmail", other?)?;
                Ok(Some(UserId(found.user.id)))
            }
        }
    }

    /// Uploads `content` as a file shared in `channel` (Slack's
    /// external-upload flow: get a URL, send the bytes, complete).
    pub async fn upload_file(
        &self,
        channel: &ChannelId,
        filename: &str,
        title: &str,
        content: &str,
    ) -> Result<(), CallError> {
        let params: web::Params = vec![
            ("filename", Some(filename.to_string())),
            ("length", Some(content.len().to_string())),
        ];
        let answer = self
            .call(Key::method("files.getUploadURLExternal"), async |s| {
                web::get(&s, "files.getUploadURLExternal", &params, &TIER4).await
            })
            .await?;
        let target: web::UploadTarget = web::read("files.getUploadURLExternal", answer)?;
        let url = target
            .upload_url
            .parse()
            .map_err(|e| CallError::Unreadable {
                method: "files.getUploadURLExternal",
                reason: format!("upload_url: {e}"),
                cause: Cause::of(e),
            })?;
        let upload = SlackApiFilesUploadViaUrlRequest::new(
            SlackFileUploadUrl::new(url),
            content.as_bytes().to_vec(),
            "text/markdown".to_string(),
        );
        self.call(Key::method("files.uploadViaUrl"), async |s| {
            s.files_upload_via_url(&upload).await
        })
        .await?;
        let complete = SlackApiFilesCompleteUploadExternalRequest::new(vec![
            SlackApiFilesComplete::new(target.file_id.into()).with_title(title.to_string()),
        ])
        .with_channel_id(channel.to_string().into());
        self.call(
            Key::in_channel("files.completeUploadExternal", channel.as_str()),
            async |s| web::post(&s, "files.completeUploadExternal", &complete, &TIER4).await,
        )
        .await?;
        Ok(())
    }

    /// Whether a file titled `title` was shared in `channel` at or after
    /// `since`: a retried upload whose earlier completion Slack applied but
    /// whose answer was lost. Needs `files:read`; without it (or when the
    /// channel cannot be read) the answer is "no".
    pub async fn file_shared_since(
        &self,
        channel: &ChannelId,
        title: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, CallError> {
        let params: web::Params = vec![
            ("channel", Some(channel.to_string())),
            ("ts_from", Some(since.timestamp().to_string())),
            ("count", Some("100".to_string())),
        ];
        match self
            .call(Key::in_channel("files.list", channel.as_str()), async |s| {
                web::get(&s, "files.list", &params, &TIER3).await
            })
            .await
        {
            Ok(answer) => {
                let res: web::Files = web::read("files.list", answer)?;
                Ok(res.files.iter().any(|f| f.title.as_deref() == Some(title)))
            }
            Err(CallError::Api(code)) => {
                tracing::warn!(%code, "cannot list the channel's files to look for an earlier upload (is files:read granted?); uploading again");
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// The bot's own user id.
    pub async fn bot_user_id(&self) -> Result<UserId, CallError> {
        Ok(UserId(self.bot_identity().await?.user_id.clone()))
    }

    /// The workspace the bot is installed in (`T…`), when Slack says.
    pub async fn bot_team_id(&self) -> Result<Option<String>, CallError> {
        Ok(self.bot_identity().await?.team_id.clone())
    }

    async fn bot_identity(&self) -> Result<&web::Identity, CallError> {
        self.bot
            .get_or_try_init(|| async {
                let params: web::Params = vec![];
                let answer = self
                    .call(Key::method("auth.test"), async |s| {
                        web::get(&s, "auth.test", &params, &TIER4).await
                    })
                    .await?;
                web::read::<web::Identity>("auth.test", answer)
            })
            .await
    }

    /// The unarchived public channel named exactly `name`, or with
    /// `private` the private one (the bot sees those it is in, with
    /// `groups:read`; public-only lookups need no such scope), with its
    /// creator.
    pub async fn find_channel(
        &self,
        name: &str,
        private: bool,
    ) -> Result<Option<CreatedChannel>, CallError> {
        let mut cursor: Option<String> = None;
        let types = if private {
            "private_channel"
        } else {
            "public_channel"
        };
        loop {
            let params: web::Params = vec![
                ("types", Some(types.to_string())),
                ("exclude_archived", Some("true".to_string())),
                ("limit", Some("1000".to_string())),
                ("cursor", cursor.take()),
            ];
            let answer = self
                .call(Key::method("conversations.list"), async |s| {
                    web::get(&s, "conversations.list", &params, &TIER2).await
                })
                .await?;
            let res: web::ChannelList = web::read("conversations.list", answer)?;
            if let Some(c) = res
                .channels
                .into_iter()
                .find(|c| c.name.as_deref() == Some(name))
            {
                return Ok(Some(CreatedChannel {
                    id: ChannelId(c.id),
                    name: name.to_string(),
                    creator: c.creator.map(UserId),
                }));
            }
            match res
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.is_empty())
            {
                Some(next) => cursor = Some(next),
                None => return Ok(None),
            }
        }
    }

    /// Posts a message carrying `job_id` in its metadata, so a retry after a
    /// lost answer can find it ([`Self::find_job_post`]).
    pub async fn post_for_job(
        &self,
        to: To<'_>,
        content: SlackMessageContent,
        job_id: i64,
    ) -> Result<MessageTs, CallError> {
        let metadata = SlackMessageMetadata::new(JOB_EVENT.to_string()).with_event_payload(
            [(JOB_KEY.to_string(), job_id.to_string())]
                .into_iter()
                .collect(),
        );
        self.post(to, content.with_metadata(metadata)).await
    }

    /// The ts of a message this bot posted for `job_id` among the channel's
    /// latest 100, if any. A channel the bot cannot read counts as none.
    /// A direct message to a person (posted by their user id) is looked up
    /// in the app's direct-message channel with them, which
    /// `conversations.history` needs by its own id (`im:write` to find it,
    /// `im:history` to read it).
    pub async fn find_job_post(
        &self,
        to: To<'_>,
        job_id: i64,
    ) -> Result<Option<MessageTs>, CallError> {
        let channel = match to {
            To::Channel(c) => c.clone(),
            To::Person(user) => match self.direct_channel(user).await {
                Ok(id) => id,
                Err(CallError::Api(code)) => {
                    tracing::debug!(%code, "cannot open the direct messages to look for an earlier post");
                    return Ok(None);
                }
                Err(e) => return Err(e),
            },
        };
        let channel = channel.as_str();
        let params: web::Params = vec![
            ("channel", Some(channel.to_string())),
            ("limit", Some("100".to_string())),
            ("include_all_metadata", Some("true".to_string())),
        ];
        let messages = match self
            .call(
                Key::in_channel("conversations.history", channel),
                async |s| web::get(&s, "conversations.history", &params, &TIER3).await,
            )
            .await
        {
            Ok(answer) => web::read::<web::Messages>("conversations.history", answer)?.messages,
            Err(CallError::Api(code)) => {
                tracing::debug!(%code, "cannot read the channel to look for an earlier post");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let id = job_id.to_string();
        Ok(messages
            .into_iter()
            .find(|m| m.metadata_value(JOB_EVENT, JOB_KEY).as_deref() == Some(id.as_str()))
            .map(|m| MessageTs(m.ts)))
    }
}

impl SlackApi {
    /// The id of the app's direct-message channel with `user`
    /// (`conversations.open`, `im:write`; it exists once the app has
    /// written to them, and opening it again returns the same one).
    pub async fn direct_channel(&self, user: &UserId) -> Result<ChannelId, CallError> {
        // `users` is a comma-separated string in Slack's reference.
        let req = serde_json::json!({ "users": user.as_str() });
        let answer = self
            .call(Key::method("conversations.open"), async |s| {
                web::post(&s, "conversations.open", &req, &TIER3).await
            })
            .await?;
        Ok(ChannelId(
            web::read::<web::ChannelAnswer>("conversations.open", answer)?
                .channel
                .id,
        ))
    }

    /// A channel's name (`conversations.info`; `channels:read`, and
    /// `groups:read` for private ones). `None` when Slack will not say (a
    /// private channel the bot is not in, a deleted one, an answer without
    /// a name).
    pub async fn channel_name(&self, channel: &ChannelId) -> Result<Option<String>, CallError> {
        let params: web::Params = vec![("channel", Some(channel.to_string()))];
        match self
            .call(
                Key::in_channel("conversations.info", channel.as_str()),
                async |s| web::get(&s, "conversations.info", &params, &TIER3).await,
            )
            .await
        {
            Ok(answer) => Ok(
                web::read::<web::ChannelAnswer>("conversations.info", answer)
                    .ok()
                    .and_then(|a| a.channel.name)
                    .filter(|n| !n.is_empty()),
            ),
            Err(CallError::Api(code)) => {
                tracing::debug!(%code, %channel, "no name for the channel");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// Metadata event type on every message a job posts.
pub const JOB_EVENT: &str = "warroom_job";
const JOB_KEY: &str = "job";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_call_keeps_its_cause() {
        use std::error::Error;
        let json = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let e = CallError::Unreadable {
            method: "chat.postMessage",
            reason: json.to_string(),
            cause: Cause::of(json),
        };
        let source = e.source().expect("the JSON error is its source");
        assert!(source.to_string().contains("EOF"), "{source}");
    }

    #[test]
    fn an_ok_answer_with_a_placeholder_error_is_unreadable_not_refused() {
        let api = |body: &str| {
            SlackClientError::ApiError(
                slack_morphism::errors::SlackClientApiError::new(String::new())
                    .with_http_response_body(body.to_string()),
            )
        };
        assert!(matches!(
            classify(api(r#"{"ok": true, "error": "", "ts": "1.2"}"#)),
            CallError::Unreadable { .. }
        ));
        assert!(matches!(
            classify(api(r#"{"ok": false, "error": ""}"#)),
            CallError::Api(SlackErrorCode::Other(code)) if code.is_empty()
        ));
    }
}
