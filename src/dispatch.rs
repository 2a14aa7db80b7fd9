//! The one dispatch path for what Slack sends, whatever carried it: a raw,
//! already authenticated body (an HTTP request whose signature checked out,
//! or a Socket Mode envelope's payload) is parsed by `slack::inbound`, handed
//! to `service`, and answered with a [`Reply`] that the transport turns into
//! an HTTP response (`http.rs`) or an envelope ack (`transport::socket`).
//!
//! The durable write happens inside the service call, so it is done before
//! the transport sends the answer.

use crate::app::Ctx;
use crate::service::{self, SubmissionReply};
use crate::slack::inbound::{
    Action, Event, EventEnvelope, InboundError, Interaction, SlashCommand,
};
use crate::store::StoreError;
use serde_json::{Value, json};
use tracing::{Instrument, field, info_span, warn};

/// What to answer Slack.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// Acknowledged; nothing to say (HTTP: empty 200; socket: an ack
    /// without payload).
    Empty,
    /// Acknowledged with this JSON (HTTP: the body; socket: the ack's
    /// `payload`): a command's answer, a form's errors.
    Json(Value),
    /// The Events API URL check (HTTP only): answer with the challenge.
    Challenge(String),
    /// The body could not be parsed (HTTP: 400; socket: acked without
    /// payload so Slack does not deliver the same garbage again).
    Malformed(&'static str),
}

/// The work could not be recorded (the database failed). Nothing was
/// acknowledged: Slack may deliver it again, or shows the person an error.
#[derive(Debug, thiserror::Error)]
#[error("could not record what Slack sent: {0}")]
pub struct DispatchError(#[from] StoreError);

fn failed(ctx: &Ctx, endpoint: &'static str, e: StoreError) -> DispatchError {
    tracing::error!(error = %e, "request failed");
    ctx.metrics.request(endpoint, "error");
    DispatchError(e)
}

/// A slash command, as its form body (`application/x-www-form-urlencoded`).
pub async fn command(ctx: &Ctx, body: &[u8]) -> Result<Reply, DispatchError> {
    let span = info_span!(
        "slack_command",
        incident = field::Empty,
        user = field::Empty
    );
    async move {
        let cmd = match SlashCommand::parse(body) {
            Ok(c) => c,
            Err(e @ InboundError::Incomplete(_)) => {
                // Authenticated and well-formed, so Slack sent it: answer
                // the person rather than have Slack report a failed command.
                warn!(error = %e, "unreadable slash command");
                ctx.metrics.request("commands", "malformed");
                return Ok(Reply::Json(json!({
                    "response_type": "ephemeral",
                    "text": format!("warroom could not read this command ({e}). Try it again; if it keeps failing, ask whoever runs warroom to check its logs."),
                })));
            }
            Err(e) => {
                warn!(error = %e, "malformed slash command");
                ctx.metrics.request("commands", "malformed");
                return Ok(Reply::Malformed("malformed slash command"));
            }
        };
        tracing::Span::current().record("user", cmd.user.as_str());
        let reply = match service::command(ctx, &cmd).await {
            Ok(reply) => reply,
            Err(e) => {
                // Slack does not retry a command: an error status would only
                // show "failed with the error dispatch_failed". Say what
                // happened, to the person alone.
                let _ = failed(ctx, "commands", e);
                return Ok(Reply::Json(json!({
                    "response_type": "ephemeral",
                    "text": crate::slack::notices::COMMAND_NOT_RECORDED,
                })));
            }
        };
        ctx.metrics.request("commands", "ok");
        Ok(match reply {
            service::Reply::Empty => Reply::Empty,
            service::Reply::Ephemeral(text) => {
                Reply::Json(json!({"response_type": "ephemeral", "text": text.as_str()}))
            }
            service::Reply::InChannel(text) => {
                Reply::Json(json!({"response_type": "in_channel", "text": text.as_str()}))
            }
            service::Reply::EphemeralBlocks(content) => {
                let mut body = serde_json::to_value(content).unwrap_or_default();
                body["response_type"] = "ephemeral".into();
                Reply::Json(body)
            }
        })
    }
    .instrument(span)
    .await
}

/// A button click or form submission, as the form body Slack posts to the
/// interactivity URL (`payload=<json>`).
pub async fn interaction(ctx: &Ctx, body: &[u8]) -> Result<Reply, DispatchError> {
    let span = info_span!(
        "slack_interaction",
        incident = field::Empty,
        user = field::Empty
    );
    async move {
        let interaction = match Interaction::parse(body) {
            Ok(i) => i,
            Err(e) => {
                warn!(error = %e, "malformed interaction payload");
                ctx.metrics.request("interactivity", "malformed");
                return Ok(Reply::Malformed("malformed interaction payload"));
            }
        };
        let result = match &interaction {
            Interaction::Action {
                action: Action::Unknown(id),
                ..
            } => {
                // A button or menu that is not the bot's (or a shape of one
                // it does not know): nothing to do.
                tracing::debug!(action_id = %id, "ignored action");
                ctx.metrics.request("interactivity", "ignored");
                return Ok(Reply::Empty);
            }
            Interaction::DeclareSubmitted {
                user,
                view_id,
                metadata,
                form,
            } => {
                tracing::Span::current().record("user", user.0.as_str());
                service::declare(ctx, user, view_id, metadata.as_ref(), form)
                    .await
                    .map(submission)
            }
            Interaction::Action {
                user,
                channel,
                trigger_id,
                action,
            } => {
                tracing::Span::current().record("user", user.0.as_str());
                service::action(ctx, user, channel.as_ref(), trigger_id, action)
                    .await
                    .map(|()| Reply::Empty)
            }
            Interaction::UpdateSubmitted {
                user,
                incident,
                answers,
                audiences,
            } => {
                tracing::Span::current().record("user", user.0.as_str());
                service::update_submitted(ctx, user, *incident, answers, audiences)
                    .await
                    .map(submission)
            }
            Interaction::SeveritySubmitted {
                user,
                incident,
                form,
            } => {
                tracing::Span::current().record("user", user.0.as_str());
                service::severity_submitted(ctx, user, *incident, form)
                    .await
                    .map(submission)
            }
            Interaction::SummarySubmitted {
                user,
                incident,
                text,
            } => {
                tracing::Span::current().record("user", user.0.as_str());
                service::summary_submitted(ctx, user, *incident, text)
                    .await
                    .map(submission)
            }
            Interaction::FollowupSubmitted {
                user,
                incident,
                form,
            } => {
                tracing::Span::current().record("user", user.0.as_str());
                service::followup_submitted(ctx, user, *incident, form)
                    .await
                    .map(submission)
            }
            Interaction::DeclareShortcut { user, trigger_id } => {
                tracing::Span::current().record("user", user.0.as_str());
                service::open_declare_door(ctx, user, trigger_id, None)
                    .await
                    .map(|()| Reply::Empty)
            }
            Interaction::MessageShortcut {
                user,
                trigger_id,
                shortcut,
                message,
            } => {
                tracing::Span::current().record("user", user.0.as_str());
                service::message_shortcut(ctx, user, trigger_id, *shortcut, message)
                    .await
                    .map(|()| Reply::Empty)
            }
            Interaction::AddToTimelineSubmitted {
                user,
                message,
                incident,
            } => {
                tracing::Span::current().record("user", user.0.as_str());
                service::add_to_timeline_submitted(ctx, user, message, *incident)
                    .await
                    .map(submission)
            }
            Interaction::RemoveFromTimelineSubmitted {
                user,
                incident,
                message,
            } => {
                tracing::Span::current().record("user", user.0.as_str());
                service::remove_from_timeline(ctx, user, *incident, message)
                    .await
                    .map(submission)
            }
            Interaction::Other(kind) => {
                tracing::debug!(%kind, "ignored interaction");
                ctx.metrics.request("interactivity", "ignored");
                return Ok(Reply::Empty);
            }
        };
        let reply = result.map_err(|e| failed(ctx, "interactivity", e))?;
        ctx.metrics.request("interactivity", "ok");
        Ok(reply)
    }
    .instrument(span)
    .await
}

/// Nothing closes a modal; errors keep it open, shown by block.
fn submission(reply: SubmissionReply) -> Reply {
    match reply {
        SubmissionReply::Close => Reply::Empty,
        SubmissionReply::Errors(errors) => Reply::Json(json!({
            "response_action": "errors",
            "errors": errors,
        })),
    }
}

/// An Events API delivery (JSON). `retry` is Slack's retry number ("0" for
/// a first delivery), for the logs: the `event_id` is what dedupes.
pub async fn event(ctx: &Ctx, body: &[u8], retry: &str) -> Result<Reply, DispatchError> {
    let span =
        info_span!("slack_event", incident = field::Empty, event_id = field::Empty, retry = %retry);
    async move {
        let envelope = match EventEnvelope::parse(body) {
            Ok(e) => e,
            Err(e) => {
                warn!(error = %e, "malformed event");
                ctx.metrics.request("events", "malformed");
                return Ok(Reply::Malformed("malformed event"));
            }
        };
        match envelope {
            EventEnvelope::UrlVerification { challenge } => {
                ctx.metrics.request("events", "challenge");
                Ok(Reply::Challenge(challenge))
            }
            EventEnvelope::Callback {
                event_id,
                event: Event::Other(kind),
            } => {
                tracing::debug!(%event_id, %kind, "ignored event");
                ctx.metrics.request("events", "ignored");
                Ok(Reply::Empty)
            }
            EventEnvelope::Callback { event_id, event } => {
                tracing::Span::current().record("event_id", event_id.as_str());
                match service::event(ctx, &event_id, &event).await {
                    Ok(true) => {
                        tracing::debug!(?event, "event recorded");
                        ctx.metrics.request("events", "ok");
                        Ok(Reply::Empty)
                    }
                    Ok(false) => {
                        tracing::debug!("event delivered again; already handled");
                        ctx.metrics.request("events", "duplicate");
                        Ok(Reply::Empty)
                    }
                    Err(e) => Err(failed(ctx, "events", e)),
                }
            }
            EventEnvelope::Other(kind) => {
                tracing::debug!(%kind, "ignored event envelope");
                ctx.metrics.request("events", "ignored");
                Ok(Reply::Empty)
            }
        }
    }
    .instrument(span)
    .await
}
