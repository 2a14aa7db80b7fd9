//! The playground's page and the small HTTP API it calls: the state as
//! JSON, changes as server-sent events, and one route per thing a person
//! does. The page is plain HTML, CSS and JavaScript built into the binary.

use super::{Click, PlayError, Submitted, Workspace};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

pub const INDEX_HTML: &str = include_str!("assets/index.html");
pub const APP_CSS: &str = include_str!("assets/app.css");
pub const APP_JS: &str = include_str!("assets/app.js");

/// Only what the page itself ships; nothing from elsewhere.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

#[derive(Clone)]
struct PageState {
    workspace: Arc<Workspace>,
    stop: watch::Receiver<bool>,
    /// `--allow-remote`: any `Host` is answered (the page is reachable
    /// from other machines on purpose).
    allow_remote: bool,
}

/// The page's HTTP server.
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Serves the page on `listen`, with the main server's header-read
    /// and request timeouts. A non-loopback `listen` needs `allow_remote`.
    pub async fn bind(
        listen: SocketAddr,
        workspace: Arc<Workspace>,
        allow_remote: bool,
    ) -> anyhow::Result<Server> {
        if !listen.ip().is_loopback() && !allow_remote {
            anyhow::bail!(
                "the playground serves {listen}, which other machines can reach: it has no \
                 login and drives a bot. Listen on 127.0.0.1, or add --allow-remote if you \
                 mean it"
            );
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen} (`--listen`): {e}"))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        // The web record, on the page's own address, signed in as whoever
        // is chosen at the top.
        let web = url::Url::parse(&format!("http://{addr}"))
            .map(|base| crate::web::playground_routes(workspace.ctx.clone(), base))
            .unwrap_or_default();
        let app = router(
            PageState {
                workspace,
                stop: stopped.clone(),
                allow_remote,
            },
            web,
        );
        let task = tokio::spawn(async move {
            // The grace only covers the page's own quick requests; the
            // event streams end when `stop` turns.
            crate::transport::server::serve(
                listener,
                app,
                crate::transport::http::HEADER_READ_TIMEOUT,
                stopped,
                std::time::Duration::from_secs(5),
            )
            .await;
        });
        Ok(Server { addr, stop, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, ends the event streams, waits for requests in
    /// flight.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn router(state: PageState, web: Router) -> Router {
    let quick = Router::new()
        .route("/", get(index))
        .route(
            "/app.css",
            get(|| asset(APP_CSS, "text/css; charset=utf-8")),
        )
        .route(
            "/app.js",
            get(|| asset(APP_JS, "text/javascript; charset=utf-8")),
        )
        .route("/state", get(state_json))
        .route("/send", post(send))
        .route("/react", post(react))
        .route("/click", post(click))
        .route("/submit", post(submit))
        .route("/cancel", post(cancel))
        .route("/clock", post(clock))
        .route("/alert", post(alert))
        .route("/shortcut", post(shortcut))
        .route("/home", post(home))
        .route("/workflow", post(workflow))
        .route("/view-action", post(view_action))
        .route("/emoji.json", get(emoji_json))
        .route("/files/{id}", get(file))
        .with_state(state.clone());
    // The event stream lives as long as the page: no request timeout.
    let quick = crate::transport::http::harden_with(
        quick,
        crate::transport::http::REQUEST_TIMEOUT,
        crate::transport::http::CONCURRENCY_LIMIT,
    );
    let stream = Router::new()
        .route("/events", get(events))
        .with_state(state.clone());
    quick
        .merge(stream)
        .merge(crate::transport::http::harden_with(
            web,
            crate::transport::http::REQUEST_TIMEOUT,
            crate::transport::http::CONCURRENCY_LIMIT,
        ))
        .layer(axum::middleware::from_fn_with_state(state, same_machine))
}

/// Against DNS rebinding and cross-site requests: without
/// `--allow-remote` only a loopback `Host` is answered (421 otherwise),
/// and every POST must come from the page itself (its `Origin` is the
/// page's own; 403 otherwise).
async fn same_machine(
    State(s): State<PageState>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !s.allow_remote && !is_loopback_host(&host) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "the playground answers only at 127.0.0.1 or localhost",
        )
            .into_response();
    }
    if req.method() == Method::POST && !from_the_page(req.headers(), &host) {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"ok": false, "error": "only the playground's own page can act here"})),
        )
            .into_response();
    }
    next.run(req).await
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The request's `Origin` is the page's own: `http://` and the `Host` it
/// was sent to.
fn from_the_page(headers: &HeaderMap, host: &str) -> bool {
    !host.is_empty()
        && headers
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .is_some_and(|origin| origin.strip_prefix("http://") == Some(host))
}

async fn index() -> Response {
    asset(INDEX_HTML, "text/html; charset=utf-8").await
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

impl IntoResponse for PlayError {
    fn into_response(self) -> Response {
        let status = match &self {
            PlayError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            PlayError::NotFound { .. } => StatusCode::NOT_FOUND,
            PlayError::Delivery(_) => StatusCode::BAD_GATEWAY,
        };
        (
            status,
            Json(json!({"ok": false, "error": self.to_string()})),
        )
            .into_response()
    }
}

fn done() -> Json<Value> {
    Json(json!({"ok": true}))
}

async fn state_json(State(s): State<PageState>) -> Json<Value> {
    Json(s.workspace.state())
}

/// One `changed` event (carrying the change count) at once and after each
/// change; the page then fetches `/state`. Ends when the server stops.
async fn events(
    State(s): State<PageState>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let changes = s.workspace.simulator.subscribe();
    let stream = futures_util::stream::unfold(
        (changes, s.stop.clone(), true),
        |(mut changes, mut stop, first)| async move {
            if !first {
                tokio::select! {
                    changed = changes.changed() => changed.ok()?,
                    _ = stop.wait_for(|s| *s) => return None,
                }
            }
            let count = *changes.borrow_and_update();
            let event = Event::default().event("changed").data(count.to_string());
            Some((Ok(event), (changes, stop, false)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[derive(Deserialize)]
struct SendForm {
    user: String,
    channel: String,
    text: String,
    #[serde(default)]
    thread_ts: Option<String>,
}

async fn send(
    State(s): State<PageState>,
    Json(f): Json<SendForm>,
) -> Result<Json<Value>, PlayError> {
    s.workspace
        .send(&f.user, &f.channel, &f.text, f.thread_ts.as_deref())
        .await?;
    Ok(done())
}

#[derive(Deserialize)]
struct ReactForm {
    user: String,
    channel: String,
    ts: String,
    emoji: String,
    add: bool,
}

async fn react(
    State(s): State<PageState>,
    Json(f): Json<ReactForm>,
) -> Result<Json<Value>, PlayError> {
    s.workspace
        .react(&f.user, &f.channel, &f.ts, &f.emoji, f.add)
        .await?;
    Ok(done())
}

#[derive(Deserialize)]
struct ClickForm {
    user: String,
    #[serde(flatten)]
    click: Click,
}

async fn click(
    State(s): State<PageState>,
    Json(f): Json<ClickForm>,
) -> Result<Json<Value>, PlayError> {
    s.workspace.click(&f.user, &f.click).await?;
    Ok(done())
}

#[derive(Deserialize)]
struct SubmitForm {
    user: String,
    view_id: String,
    values: Value,
}

async fn submit(
    State(s): State<PageState>,
    Json(f): Json<SubmitForm>,
) -> Result<Json<Value>, PlayError> {
    Ok(
        match s.workspace.submit(&f.user, &f.view_id, f.values).await? {
            Submitted::Done => done(),
            Submitted::Errors(errors) => Json(json!({"ok": false, "errors": errors})),
        },
    )
}

#[derive(Deserialize)]
struct CancelForm {
    user: String,
    view_id: String,
}

async fn cancel(
    State(s): State<PageState>,
    Json(f): Json<CancelForm>,
) -> Result<Json<Value>, PlayError> {
    s.workspace.cancel(&f.user, &f.view_id)?;
    Ok(done())
}

#[derive(Deserialize)]
struct ClockForm {
    minutes: u32,
}

async fn clock(
    State(s): State<PageState>,
    Json(f): Json<ClockForm>,
) -> Result<Json<Value>, PlayError> {
    s.workspace.advance(f.minutes).await?;
    Ok(done())
}

#[derive(Deserialize)]
struct AlertForm {
    #[serde(default)]
    resolve: bool,
    /// `critical` (the default) or `warning`.
    #[serde(default)]
    kind: Option<super::AlertKind>,
}

/// "Fire an alert" / "Resolve it": monitoring sends the bot a notification.
async fn alert(
    State(s): State<PageState>,
    Json(f): Json<AlertForm>,
) -> Result<Json<Value>, PlayError> {
    let kind = f.kind.unwrap_or(super::AlertKind::Critical);
    let answer = s.workspace.fire_alert(kind, f.resolve).await?;
    Ok(Json(json!({"ok": true, "answer": answer})))
}

#[derive(Deserialize)]
struct ShortcutForm {
    user: String,
    callback_id: String,
    /// A message shortcut's message; absent for the global shortcut.
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    message_ts: Option<String>,
}

async fn shortcut(
    State(s): State<PageState>,
    Json(f): Json<ShortcutForm>,
) -> Result<Json<Value>, PlayError> {
    let on = f.channel.as_deref().zip(f.message_ts.as_deref());
    s.workspace.shortcut(&f.user, &f.callback_id, on).await?;
    Ok(done())
}

#[derive(Deserialize)]
struct PersonForm {
    user: String,
}

/// The person opened the Home tab.
async fn home(
    State(s): State<PageState>,
    Json(f): Json<PersonForm>,
) -> Result<Json<Value>, PlayError> {
    s.workspace.open_home(&f.user).await?;
    Ok(done())
}

#[derive(Deserialize)]
struct WorkflowForm {
    user: String,
    title: String,
    #[serde(default)]
    severity: Option<String>,
}

/// "Run workflow": a workflow with the step "Declare an incident".
async fn workflow(
    State(s): State<PageState>,
    Json(f): Json<WorkflowForm>,
) -> Result<Json<Value>, PlayError> {
    s.workspace
        .run_workflow(&f.user, &f.title, f.severity.as_deref())
        .await?;
    Ok(done())
}

#[derive(Deserialize)]
struct ViewActionForm {
    user: String,
    view_id: String,
    #[serde(flatten)]
    action: super::ViewAction,
}

async fn view_action(
    State(s): State<PageState>,
    Json(f): Json<ViewActionForm>,
) -> Result<Json<Value>, PlayError> {
    s.workspace
        .view_action(&f.user, &f.view_id, &f.action)
        .await?;
    Ok(done())
}

/// Slack's emoji shortcodes (`sunny` → ☀️), from a maintained data set
/// (GitHub's gemoji names, which Slack's mostly are) and the few names
/// Slack spells its own way.
async fn emoji_json() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "max-age=86400"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        super::emoji_table().to_string(),
    )
        .into_response()
}

/// A shared file's content, as a download named after its title.
async fn file(State(s): State<PageState>, Path(id): Path<String>) -> Response {
    let Some((title, bytes)) = s.workspace.simulator.file(&id) else {
        return PlayError::NotFound { what: "file", id }.into_response();
    };
    let name: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (
                header::CONTENT_TYPE,
                "text/markdown; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response()
}
