//! Routes. Every `/slack/*` request is verified before anything reads it,
//! answered at once, and leaves its Slack work to the job workers.

use crate::app::Ctx;
use crate::service::{self, Reply, SubmissionReply};
use crate::slack::inbound::{
    Action, Event, EventEnvelope, InboundError, Interaction, SlashCommand,
};
use crate::slack::signature::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::Arc;
use tracing::{Instrument, field, info_span, warn};

/// Largest request body accepted (Slack's payloads are far smaller).
pub const BODY_LIMIT: usize = 1024 * 1024;

pub fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route("/slack/commands", post(commands))
        .route("/slack/events", post(events))
        .route("/slack/interactivity", post(interactivity))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(ctx)
}

/// A request body whose Slack signature checked out.
pub struct Verified(pub Bytes);

impl FromRequest<Arc<Ctx>> for Verified {
    type Rejection = Response;

    async fn from_request(req: Request, ctx: &Arc<Ctx>) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, ctx)
            .await
            .map_err(IntoResponse::into_response)?;
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match signature::verify(
            &ctx.signing_secret,
            get(TIMESTAMP_HEADER),
            get(SIGNATURE_HEADER),
            &body,
            ctx.clock.now(),
        ) {
            Ok(()) => Ok(Verified(body)),
            Err(e) => {
                warn!(reason = %e, "rejected a request with a bad Slack signature");
                ctx.metrics.request("any", "unauthorized");
                Err((StatusCode::UNAUTHORIZED, "invalid Slack signature").into_response())
            }
        }
    }
}

fn internal(ctx: &Ctx, endpoint: &'static str, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "request failed");
    ctx.metrics.request(endpoint, "error");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "warroom could not record this; Slack will retry",
    )
        .into_response()
}

async fn commands(State(ctx): State<Arc<Ctx>>, Verified(body): Verified) -> Response {
    let span = info_span!(
        "slack_command",
        incident = field::Empty,
        user = field::Empty
    );
    async move {
        let cmd = match SlashCommand::parse(&body) {
            Ok(c) => c,
            Err(e @ InboundError::Incomplete(_)) => {
                // Signed and well-formed, so Slack sent it: answer the
                // person rather than have Slack report a failed command.
                warn!(error = %e, "unreadable slash command");
                ctx.metrics.request("commands", "malformed");
                return Json(serde_json::json!({
                    "response_type": "ephemeral",
                    "text": format!("warroom could not read this command ({e}). Try it again; if it keeps failing, ask whoever runs warroom to check its logs."),
                }))
                .into_response();
            }
            Err(e) => {
                warn!(error = %e, "malformed slash command");
                ctx.metrics.request("commands", "malformed");
                return (StatusCode::BAD_REQUEST, "malformed slash command").into_response();
            }
        };
        tracing::Span::current().record("user", cmd.user_id.as_str());
        match service::command(&ctx, &cmd).await {
            Ok(reply) => {
                ctx.metrics.request("commands", "ok");
                match reply {
                    Reply::Empty => StatusCode::OK.into_response(),
                    Reply::Ephemeral(text) => {
                        Json(serde_json::json!({"response_type": "ephemeral", "text": text}))
                            .into_response()
                    }
                    Reply::InChannel(text) => {
                        Json(serde_json::json!({"response_type": "in_channel", "text": text}))
                            .into_response()
                    }
                    Reply::EphemeralBlocks(content) => {
                        let mut body = serde_json::to_value(content).unwrap_or_default();
                        body["response_type"] = "ephemeral".into();
                        Json(body).into_response()
                    }
                }
            }
            Err(e) => internal(&ctx, "commands", e),
        }
    }
    .instrument(span)
    .await
}

async fn interactivity(State(ctx): State<Arc<Ctx>>, Verified(body): Verified) -> Response {
    let span = info_span!(
        "slack_interaction",
        incident = field::Empty,
        user = field::Empty
    );
    async move {
        let interaction = match Interaction::parse(&body) {
            Ok(i) => i,
            Err(e) => {
                warn!(error = %e, "malformed interaction payload");
                ctx.metrics.request("interactivity", "malformed");
                return (StatusCode::BAD_REQUEST, "malformed interaction payload").into_response();
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
                return StatusCode::OK.into_response();
            }
            Interaction::DeclareSubmitted {
                user,
                view_id,
                metadata,
                form,
            } => {
                tracing::Span::current().record("user", user.0.as_str());
                service::declare(&ctx, user, view_id, metadata.as_ref(), form)
                    .await
                    .map(submission_response)
            }
            Interaction::Action {
                user,
                channel,
                trigger_id,
                action,
            } => {
                tracing::Span::current().record("user", user.0.as_str());
                service::action(&ctx, user, channel.as_deref(), trigger_id, action)
                    .await
                    .map(|()| StatusCode::OK.into_response())
            }
            Interaction::UpdateSubmitted {
                user,
                incident,
                answers,
                audiences,
            } => {
                tracing::Span::current().record("user", user.0.as_str());
                service::update_submitted(&ctx, user, *incident, answers, audiences)
                    .await
                    .map(submission_response)
            }
            Interaction::SeveritySubmitted {
                user,
                incident,
                form,
            } => {
                tracing::Span::current().record("user", user.0.as_str());
                service::severity_submitted(&ctx, user, *incident, form)
                    .await
                    .map(submission_response)
            }
            Interaction::SummarySubmitted {
                user,
                incident,
                text,
            } => {
                tracing::Span::current().record("user", user.0.as_str());
                service::summary_submitted(&ctx, user, *incident, text)
                    .await
                    .map(submission_response)
            }
            Interaction::Other(kind) => {
                tracing::debug!(%kind, "ignored interaction");
                ctx.metrics.request("interactivity", "ignored");
                return StatusCode::OK.into_response();
            }
        };
        match result {
            Ok(r) => {
                ctx.metrics.request("interactivity", "ok");
                r
            }
            Err(e) => internal(&ctx, "interactivity", e),
        }
    }
    .instrument(span)
    .await
}

/// An empty 200 closes a modal; errors keep it open, shown by block.
fn submission_response(reply: SubmissionReply) -> Response {
    match reply {
        SubmissionReply::Close => StatusCode::OK.into_response(),
        SubmissionReply::Errors(errors) => Json(serde_json::json!({
            "response_action": "errors",
            "errors": errors,
        }))
        .into_response(),
    }
}

async fn events(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Verified(body): Verified,
) -> Response {
    let retry = headers
        .get("x-slack-retry-num")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("0")
        .to_string();
    let span =
        info_span!("slack_event", incident = field::Empty, event_id = field::Empty, retry = %retry);
    async move {
        let envelope = match EventEnvelope::parse(&body) {
            Ok(e) => e,
            Err(e) => {
                warn!(error = %e, "malformed event");
                ctx.metrics.request("events", "malformed");
                return (StatusCode::BAD_REQUEST, "malformed event").into_response();
            }
        };
        match envelope {
            EventEnvelope::UrlVerification { challenge } => {
                ctx.metrics.request("events", "challenge");
                ([(header::CONTENT_TYPE, "text/plain")], challenge).into_response()
            }
            EventEnvelope::Callback {
                event_id,
                event: Event::Other(kind),
            } => {
                tracing::debug!(%event_id, %kind, "ignored event");
                ctx.metrics.request("events", "ignored");
                StatusCode::OK.into_response()
            }
            EventEnvelope::Callback { event_id, event } => {
                tracing::Span::current().record("event_id", event_id.as_str());
                match service::event(&ctx, &event_id, &event).await {
                    Ok(true) => {
                        tracing::debug!(?event, "event recorded");
                        ctx.metrics.request("events", "ok");
                        StatusCode::OK.into_response()
                    }
                    Ok(false) => {
                        tracing::debug!("event delivered again; already handled");
                        ctx.metrics.request("events", "duplicate");
                        StatusCode::OK.into_response()
                    }
                    Err(e) => internal(&ctx, "events", e),
                }
            }
            EventEnvelope::Other(kind) => {
                tracing::debug!(%kind, "ignored event envelope");
                ctx.metrics.request("events", "ignored");
                StatusCode::OK.into_response()
            }
        }
    }
    .instrument(span)
    .await
}

async fn healthz(State(ctx): State<Arc<Ctx>>) -> Response {
    match ctx.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            warn!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics(State(ctx): State<Arc<Ctx>>) -> Response {
    let counts = ctx.store.job_counts().await.unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        ctx.metrics.render(&counts),
    )
        .into_response()
}
