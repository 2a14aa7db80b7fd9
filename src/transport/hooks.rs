//! `POST /hooks/alerts/{name}`: alert notifications from monitoring, one
//! route per `[[alerts.sources]]`, served on `listen` in Socket Mode too
//! (Alertmanager reaches warroom inside the network). The source's
//! credentials are checked before the body is parsed; the answer is 2xx
//! only once what arrived is recorded (Alertmanager and PagerDuty retry a
//! 5xx): unknown source 404, bad credentials 401, unreadable body 400 with
//! its reason, over [`ALERT_BODY_LIMIT`] 413, not recorded 500.

use crate::app::Ctx;
use crate::service::{self, Received};
use crate::store::Ingested;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;
use tracing::{Instrument, field, info_span, warn};

/// Largest notification accepted (Alertmanager sends a whole group).
pub const ALERT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The header PagerDuty names each delivery by, the same on a redelivery.
const DELIVERY_HEADER: &str = "x-webhook-id";

pub fn routes(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route("/hooks/alerts/{name}", post(receive))
        .layer(DefaultBodyLimit::max(ALERT_BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            ctx.clone(),
            until_migrated,
        ))
        .with_state(ctx)
}

/// 503 (which senders retry) until the database is migrated; a Socket
/// Mode connection is not needed to record an alert.
async fn until_migrated(
    State(ctx): State<Arc<Ctx>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if ctx.readiness.is_migrated() {
        next.run(req).await
    } else {
        answer(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "warroom is starting (applying migrations); send it again"}),
        )
    }
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

async fn receive(
    State(ctx): State<Arc<Ctx>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let span = info_span!("alerts_hook", source = %name, incident = field::Empty);
    async move {
        let Some(source) = ctx.settings.alerts.source(&name) else {
            return answer(
                StatusCode::NOT_FOUND,
                json!({"error": format!("no alert source named `{name}`: add [[alerts.sources]] with name = \"{name}\"")}),
            );
        };
        let header = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
        // A signed timestamp is the sender's wall clock: checked against
        // ours, not the app's (which the playground moves).
        if let Err(e) = crate::alerts::verify::verify(source, header, &body, chrono::Utc::now()) {
            warn!(reason = %e, "alert refused: bad credentials");
            ctx.metrics.alert_received(&source.name, "unauthorized");
            return answer(StatusCode::UNAUTHORIZED, json!({"error": e.to_string()}));
        }
        let parsed = match crate::alerts::parse(
            source.kind,
            &body,
            // PagerDuty's delivery id; other senders' headers of that
            // name mean nothing to us.
            header(DELIVERY_HEADER)
                .filter(|_| source.kind == crate::config::AlertSourceKind::Pagerduty),
            ctx.clock.now(),
        ) {
            Ok(parsed) => parsed,
            Err(e) => {
                warn!(reason = %e, "alert refused: unreadable body");
                ctx.metrics.alert_received(&source.name, "malformed");
                return answer(StatusCode::BAD_REQUEST, json!({"error": e.to_string()}));
            }
        };
        let status = match &parsed {
            Some(n) if n.note.is_some() && n.alerts.is_empty() => "event",
            Some(n) => n.status.as_str(),
            None => "event",
        };
        match service::receive(&ctx, source, parsed).await {
            Ok(received) => {
                let (label, outcome) = match &received {
                    Received::Ignored => ("ignored", json!({"outcome": "ignored"})),
                    Received::NotAnAlert => ("ignored", json!({"outcome": "not an alert"})),
                    Received::Taken(Ingested::Duplicate) => {
                        ("duplicate", json!({"outcome": "duplicate"}))
                    }
                    Received::Taken(Ingested::Nothing) => {
                        (status, json!({"outcome": "nothing firing"}))
                    }
                    Received::Taken(Ingested::Declared { group, incident }) => (
                        status,
                        json!({"outcome": "declared", "group": group, "incident": incident}),
                    ),
                    Received::Taken(Ingested::Suggested { group, held_back }) => (
                        status,
                        json!({"outcome": "suggested", "group": group, "held_back": held_back}),
                    ),
                    Received::Taken(Ingested::Updated {
                        group,
                        incident,
                        changes,
                    }) => (
                        status,
                        json!({"outcome": "updated", "group": group, "incident": incident, "changes": changes}),
                    ),
                };
                ctx.metrics.alert_received(&source.name, label);
                answer(StatusCode::OK, outcome)
            }
            Err(e) => {
                tracing::error!(error = %e, "alert not recorded");
                ctx.metrics.alert_received(&source.name, "error");
                answer(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": "warroom could not record this alert; send it again"}),
                )
            }
        }
    }
    .instrument(span)
    .await
}
