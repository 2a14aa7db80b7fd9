//! Routes. Every `/slack/*` request is verified before anything reads it,
//! then goes down the one dispatch path (`dispatch.rs`) shared with Socket
//! Mode, is answered at once, and leaves its Slack work to the job workers.
//! In Socket Mode the `/slack/*` routes do not exist (404).

use crate::app::Ctx;
use crate::dispatch::{self, DispatchError, Reply};
use crate::slack::signature::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::Arc;
use std::time::Duration;
use tracing::warn;

/// Largest request body accepted (Slack's payloads are far smaller).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Longest a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a request may take, body and answer included (Slack itself gives
/// up after 3 s); past it the client gets 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Requests handled at once; more wait (within the request timeout).
pub const CONCURRENCY_LIMIT: usize = 256;

/// Admin requests (`/healthz`, `/readyz`, `/metrics`) handled at once, a
/// budget of their own: Slack's routes at their limit never starve the
/// probes.
pub const ADMIN_CONCURRENCY_LIMIT: usize = 16;

/// Read API requests handled at once, a budget of their own: a script
/// hammering the API never holds a slot Slack's requests need.
pub const API_CONCURRENCY_LIMIT: usize = 32;

/// Every route on one port: Slack's, the alert hooks, the read API and the
/// admin ones (`admin_listen` unset), the API and the admin ones each with
/// a concurrency budget of their own.
pub fn router(ctx: Arc<Ctx>) -> Router {
    assemble(
        timed(
            ctx.clone(),
            slack_routes(ctx.clone()).merge(super::hooks::routes(ctx.clone())),
        ),
        admin_routes(ctx.clone()),
        CONCURRENCY_LIMIT,
        ADMIN_CONCURRENCY_LIMIT,
    )
    .merge(api_routes(ctx))
}

/// The read API and the web record (when configured), hardened with their
/// own concurrency budget.
fn api_routes(ctx: Arc<Ctx>) -> Router {
    harden_with(
        timed(
            ctx.clone(),
            crate::api::routes(ctx.clone()).merge(crate::web::routes(ctx)),
        ),
        REQUEST_TIMEOUT,
        API_CONCURRENCY_LIMIT,
    )
}

/// `router` with each answer's latency observed by endpoint
/// (`warroom_request_duration_seconds`).
fn timed(ctx: Arc<Ctx>, router: Router) -> Router {
    router.layer(axum::middleware::from_fn_with_state(ctx, time_answer))
}

async fn time_answer(
    State(ctx): State<Arc<Ctx>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let endpoint = match req.uri().path() {
        "/slack/commands" => "commands",
        "/slack/events" => "events",
        "/slack/interactivity" => "interactivity",
        p if p.starts_with("/hooks/") => "alerts",
        p if p.starts_with("/api/") => "api",
        p if p.starts_with("/web") => "web",
        _ => "other",
    };
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    ctx.metrics
        .answered(endpoint, started.elapsed().as_secs_f64());
    response
}

/// Slack's routes (and the hooks) and the admin ones on one port, each
/// hardened with its own concurrency limit.
fn assemble(slack: Router, admin: Router, slack_limit: usize, admin_limit: usize) -> Router {
    harden_with(slack, REQUEST_TIMEOUT, slack_limit).merge(harden_with(
        admin,
        REQUEST_TIMEOUT,
        admin_limit,
    ))
}

/// Slack's routes, the alert hooks and the read API, when the admin
/// routes have their own port.
pub fn public_router(ctx: Arc<Ctx>) -> Router {
    harden(timed(
        ctx.clone(),
        slack_routes(ctx.clone()).merge(super::hooks::routes(ctx.clone())),
    ))
    .merge(api_routes(ctx))
}

/// `/metrics`, `/healthz` and `/readyz` alone, for `admin_listen`.
pub fn admin_router(ctx: Arc<Ctx>) -> Router {
    harden_with(admin_routes(ctx), REQUEST_TIMEOUT, ADMIN_CONCURRENCY_LIMIT)
}

/// Slack's routes; none in Socket Mode, where Slack's requests come over
/// the socket (`/slack/*` then answer 404).
fn slack_routes(ctx: Arc<Ctx>) -> Router {
    let mut router = Router::new();
    if !ctx.settings.socket_mode {
        router = router
            .route("/slack/commands", post(commands))
            .route("/slack/events", post(events))
            .route("/slack/interactivity", post(interactivity));
    }
    router
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            ctx.clone(),
            until_ready,
        ))
        .with_state(ctx)
}

fn admin_routes(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ctx)
}

/// A request that takes too long gets 503; at most `CONCURRENCY_LIMIT` run
/// at once. (The header-read timeout is the connection's, in `startup`.)
fn harden(router: Router) -> Router {
    harden_with(router, REQUEST_TIMEOUT, CONCURRENCY_LIMIT)
}

pub(crate) fn harden_with(router: Router, timeout: Duration, limit: usize) -> Router {
    router
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(limit))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
}

/// Slack's requests get 503 (Slack retries) until the database is migrated.
async fn until_ready(
    State(ctx): State<Arc<Ctx>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    if ctx.readiness.is_ready() {
        next.run(req).await
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "warroom is starting (applying migrations); Slack will retry",
        )
            .into_response()
    }
}

/// A request body whose Slack signature checked out.
pub struct Verified(pub Bytes);

impl FromRequest<Arc<Ctx>> for Verified {
    type Rejection = Response;

    async fn from_request(req: Request, ctx: &Arc<Ctx>) -> Result<Self, Self::Rejection> {
        let unauthorized = |e: signature::SignatureError| {
            warn!(reason = %e, "rejected a request with a bad Slack signature");
            ctx.metrics.request("any", "unauthorized");
            (StatusCode::UNAUTHORIZED, "invalid Slack signature").into_response()
        };
        let headers = req.headers().clone();
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        // Socket Mode has no signing secret and no `/slack/*` routes.
        let Some(secret) = &ctx.signing_secret else {
            return Err(StatusCode::NOT_FOUND.into_response());
        };
        // Refused on its headers before its body is read.
        signature::plausible(
            get(TIMESTAMP_HEADER),
            get(SIGNATURE_HEADER),
            ctx.clock.now(),
        )
        .map_err(unauthorized)?;
        let body = Bytes::from_request(req, ctx)
            .await
            .map_err(IntoResponse::into_response)?;
        match signature::verify(
            secret,
            get(TIMESTAMP_HEADER),
            get(SIGNATURE_HEADER),
            &body,
            ctx.clock.now(),
        ) {
            Ok(()) => Ok(Verified(body)),
            Err(e) => Err(unauthorized(e)),
        }
    }
}

/// The HTTP form of a [`Reply`].
fn respond(result: Result<Reply, DispatchError>) -> Response {
    match result {
        Ok(Reply::Empty) => StatusCode::OK.into_response(),
        Ok(Reply::Json(body)) => Json(body).into_response(),
        Ok(Reply::Challenge(challenge)) => {
            ([(header::CONTENT_TYPE, "text/plain")], challenge).into_response()
        }
        Ok(Reply::Malformed(what)) => (StatusCode::BAD_REQUEST, what).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "warroom could not record this; Slack will retry",
        )
            .into_response(),
    }
}

async fn commands(State(ctx): State<Arc<Ctx>>, Verified(body): Verified) -> Response {
    respond(dispatch::command(&ctx, &body).await)
}

async fn interactivity(State(ctx): State<Arc<Ctx>>, Verified(body): Verified) -> Response {
    respond(dispatch::interaction(&ctx, &body).await)
}

async fn events(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Verified(body): Verified,
) -> Response {
    let retry = headers
        .get("x-slack-retry-num")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("0");
    respond(dispatch::event(&ctx, &body, retry).await)
}

/// 200 "ready" once migrated and, in Socket Mode, while a socket to Slack
/// is open; 503 "not ready" otherwise.
/// Ready for traffic: migrated, sockets up in Socket Mode, and the
/// database answering (checked at most every couple of seconds, within a
/// second, whatever the number of probes).
async fn readyz(State(ctx): State<Arc<Ctx>>) -> Response {
    match ready(&ctx).await {
        Ready::Yes => (StatusCode::OK, "ready").into_response(),
        Ready::Starting => (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response(),
        Ready::NoDatabase => {
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// What `/readyz` answers (and `/metrics` shows as `warroom_ready`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ready {
    Yes,
    /// Migrating, or (Socket Mode) no socket connected.
    Starting,
    NoDatabase,
}

async fn ready(ctx: &Ctx) -> Ready {
    if !ctx.readiness.is_ready() {
        return Ready::Starting;
    }
    let now = std::time::Instant::now();
    let database = match ctx.readiness.database(now) {
        Some(ok) => ok,
        None => {
            let ok = match tokio::time::timeout(Duration::from_secs(1), ctx.store.ping()).await {
                Ok(Ok(())) => true,
                Ok(Err(e)) => {
                    warn!(error = %e, "readiness: the database does not answer");
                    false
                }
                Err(_) => {
                    warn!("readiness: the database took over a second to answer");
                    false
                }
            };
            ctx.readiness.set_database(now, ok);
            ok
        }
    };
    if database {
        Ready::Yes
    } else {
        Ready::NoDatabase
    }
}

/// Alive: the process answers. Nothing else is asked of it (a database
/// outage makes it unready, not dead: restarting every replica would not
/// bring the database back).
async fn healthz() -> Response {
    (StatusCode::OK, "ok").into_response()
}

async fn metrics(State(ctx): State<Arc<Ctx>>) -> Response {
    let ready = ready(&ctx).await;
    ctx.metrics
        .readiness(ready == Ready::Yes, ready != Ready::NoDatabase);
    if !ctx.settings.webhooks.is_empty() {
        match ctx.store.webhook_status().await {
            Ok(endpoints) => ctx.metrics.webhook_backlog(&endpoints, ctx.clock.now()),
            Err(e) => tracing::warn!(error = %e, "cannot read the webhook backlog for /metrics"),
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        ctx.metrics
            .scrape(ctx.store.as_ref(), &ctx.slack, ctx.clock.now())
            .await,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    /// Slack's routes all busy (here their one slot, held by a request
    /// that does not finish): the admin routes still answer.
    #[tokio::test]
    async fn the_probes_answer_while_slacks_routes_are_full() {
        let release = Arc::new(tokio::sync::Notify::new());
        let entered = Arc::new(tokio::sync::Notify::new());
        let (held, inside) = (release.clone(), entered.clone());
        let slack = Router::new().route(
            "/slack/commands",
            post(move || {
                let (held, inside) = (held.clone(), inside.clone());
                async move {
                    inside.notify_one();
                    held.notified().await;
                    "done"
                }
            }),
        );
        let admin = Router::new().route("/healthz", get(healthz));
        let app = assemble(slack, admin, 1, 1);
        let request = |method: &str, path: &str| {
            Request::builder()
                .method(method)
                .uri(path)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        let busy = tokio::spawn(app.clone().oneshot(request("POST", "/slack/commands")));
        // The Slack request holds its route's one slot.
        entered.notified().await;
        let probe = tokio::time::timeout(
            Duration::from_secs(5),
            app.clone().oneshot(request("GET", "/healthz")),
        )
        .await
        .expect("the probe is not held behind Slack's requests")
        .unwrap();
        assert_eq!(probe.status(), StatusCode::OK);
        release.notify_one();
        assert_eq!(busy.await.unwrap().unwrap().status(), StatusCode::OK);
    }
}
