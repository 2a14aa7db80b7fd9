//! Socket Mode: Slack delivers slash commands, interactivity and events over
//! WebSockets that warroom opens itself, so it needs no public URL.
//!
//! Long on purpose: a connection's whole life (open, `hello`, envelopes and
//! their acks, refresh, backoff, shutdown) is one state machine, read here
//! in one place.
//!
//! A small client on `tokio-tungstenite`: `apps.connections.open` (through
//! `slack.api_url`, with the app-level token) gives a `wss://` URL; each
//! envelope's raw `payload` goes down the same dispatch path as an HTTP
//! request (`dispatch.rs`), and the reply becomes the ack's `payload`.
//!
//! - `slack.socket_connections` connections stay open; Slack may deliver any
//!   envelope on any of them.
//! - `disconnect` with `refresh_requested` or `warning` opens a replacement
//!   first and closes the old connection only once the new one said
//!   `hello`, after the old one's envelopes in flight were acked.
//! - A connection that dies, or an `apps.connections.open` that fails, is
//!   retried with exponential backoff and jitter (slept on the app's clock).
//! - A connection silent for [`IDLE_LIMIT`] (pinged every [`PING_EVERY`])
//!   is taken for dead and replaced; both are timed on the app's clock.
//! - An envelope is acked only after its durable write. Slash commands and
//!   interactivity are guarded by their `envelope_id` (events already are by
//!   `event_id`, declare forms by `view.id`): a redelivery is answered with
//!   the reply stored the first time and not acted on again.
//!
//! Long on purpose: the supervisor, one connection's loop and one
//! envelope's handling share their types and bounds; the tests are the
//! last 110 lines.

use crate::app::Ctx;
use crate::dispatch::{self, Reply};
use crate::store::EnvelopeClaim;
use futures_util::{SinkExt, StreamExt};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::{debug, error, info, warn};

type Connector = SlackClientHyperConnector<HttpsConnector<HttpConnector>>;
type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// First reconnect delay; doubles up to [`MAX_BACKOFF`].
pub const BASE_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// We ping this often; a connection silent for [`IDLE_LIMIT`] (no frame,
/// not even a pong) is taken for dead and replaced.
pub const PING_EVERY: Duration = Duration::from_secs(30);
pub const IDLE_LIMIT: Duration = Duration::from_secs(90);
/// Longest wait for the acks of envelopes in flight on a closing connection.
const DRAIN: Duration = Duration::from_secs(3);
/// A claim on an envelope older than this, never finished, belonged to a
/// process that died: a redelivery may take it over.
const CLAIM_LEASE: Duration = Duration::from_secs(15);
/// An envelope's work may take `slack.socket_envelope_timeout` (10 s; the
/// configuration refuses more than this lease allows). Past it the work is
/// dropped (its store transaction, if one is open, rolls back), the claim
/// released and no ack sent, so Slack delivers it again. Shorter than the
/// claim's lease, so a slow first delivery has stopped before a redelivery
/// may take its claim over: the two never act at once.
pub const MAX_ENVELOPE_TIMEOUT: Duration = Duration::from_secs(14);
const _: () = assert!(MAX_ENVELOPE_TIMEOUT.as_secs() < CLAIM_LEASE.as_secs());
/// Envelopes worked on at once on one connection; one more is left
/// unacked (Slack delivers it again) rather than queued without bound.
pub const MAX_ENVELOPES_IN_FLIGHT: usize = 64;
/// Largest WebSocket message or frame read (Slack's envelopes are far
/// smaller): a bigger one closes the connection instead of filling memory.
pub const MAX_MESSAGE: usize = 1024 * 1024;
/// How long a redelivery waits for another delivery of the same envelope
/// to finish, to ack with its reply (on the app's clock).
const BUSY_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Worth trying again (Slack or the network had trouble).
    #[error("apps.connections.open failed ({reason}); retrying")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Slack refused the token or the app.
    #[error(
        "Slack refused apps.connections.open: {0}. Check SLACK_APP_TOKEN (an app-level token, xapp-…, with the connections:write scope) and that Socket Mode is on in the app's settings; retrying"
    )]
    Refused(String),
    #[error("cannot connect to Slack's WebSocket: {0}; retrying")]
    Connect(String),
}

impl OpenError {
    fn retry_after(&self) -> Option<Duration> {
        match self {
            OpenError::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Slack errors that will not go away by themselves.
const REFUSALS: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "not_allowed_token_type",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
    "missing_scope",
    "app_missing_action_url",
];

/// Opens Socket Mode connections: `apps.connections.open`, then the
/// WebSocket it names.
pub struct Opener {
    client: SlackClient<Connector>,
    token: SlackApiToken,
    timeout: Duration,
}

impl Opener {
    pub fn new(
        api_url: &str,
        app_token: &SecretString,
        timeout: Duration,
    ) -> std::io::Result<Self> {
        let https = crate::net::https_connector()?;
        let connector =
            SlackClientHyperConnector::with_connector(https).with_slack_api_url(api_url);
        Ok(Self {
            client: SlackClient::new(connector),
            token: SlackApiToken::new(app_token.expose_secret().to_string().into()),
            timeout,
        })
    }

    /// A fresh WebSocket URL from Slack.
    pub async fn url(&self) -> Result<String, OpenError> {
        let session = self.client.open_session(&self.token);
        let request = SlackApiAppsConnectionOpenRequest::new();
        let call = session.apps_connections_open(&request);
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(OpenError::Transient {
                reason: "timed out".to_string(),
                retry_after: None,
            }),
            Ok(Ok(res)) => Ok(res.url.value().to_string()),
            Ok(Err(SlackClientError::ApiError(api))) if REFUSALS.contains(&api.code.as_str()) => {
                Err(OpenError::Refused(api.code))
            }
            Ok(Err(SlackClientError::RateLimitError(r))) => Err(OpenError::Transient {
                reason: "HTTP 429".to_string(),
                retry_after: r.retry_after,
            }),
            Ok(Err(e)) => Err(OpenError::Transient {
                reason: e.to_string(),
                retry_after: None,
            }),
        }
    }

    /// `apps.connections.open`, then the WebSocket handshake.
    async fn connect(&self) -> Result<Ws, OpenError> {
        let url = self.url().await?;
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let connect =
            tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), false);
        match tokio::time::timeout(self.timeout, connect).await {
            Ok(Ok((ws, _))) => Ok(ws),
            Ok(Err(e)) => Err(OpenError::Connect(e.to_string())),
            Err(_) => Err(OpenError::Connect("timed out".to_string())),
        }
    }
}

/// Delay before reconnect attempt number `failures` (1-based): doubling
/// from [`BASE_BACKOFF`] to [`MAX_BACKOFF`], the upper half of it random
/// ("equal jitter") so replicas and connections spread out; never shorter
/// than Slack's `Retry-After`.
pub fn backoff(failures: u32, retry_after: Option<Duration>, random: u64) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    let base = BASE_BACKOFF
        .saturating_mul(2u32.saturating_pow(exp))
        .min(MAX_BACKOFF);
    let half = base / 2;
    let jitter = half.mul_f64((random % 1001) as f64 / 1000.0);
    (half + jitter).max(retry_after.unwrap_or_default())
}

/// What Slack sends on the socket.
#[derive(Debug, PartialEq)]
pub enum Frame {
    Hello {
        num_connections: Option<u64>,
        /// Seconds until Slack refreshes this connection.
        approximate_connection_time: Option<u64>,
    },
    Disconnect {
        reason: String,
    },
    Envelope(Envelope),
    /// Something without an envelope id (nothing to ack).
    Other(String),
}

/// One delivery to ack.
#[derive(Debug)]
pub struct Envelope {
    pub id: String,
    /// `slash_commands`, `interactive`, `events_api`, …
    pub kind: String,
    /// The payload exactly as Slack sent it.
    pub payload: Option<Box<RawValue>>,
    pub accepts_response_payload: bool,
    pub retry_attempt: u64,
}

impl PartialEq for Envelope {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.kind == other.kind
            && self.payload.as_ref().map(|p| p.get()) == other.payload.as_ref().map(|p| p.get())
            && self.accepts_response_payload == other.accepts_response_payload
            && self.retry_attempt == other.retry_attempt
    }
}

#[derive(Deserialize)]
struct RawFrame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    envelope_id: Option<String>,
    #[serde(default)]
    payload: Option<Box<RawValue>>,
    #[serde(default)]
    accepts_response_payload: bool,
    #[serde(default)]
    retry_attempt: Option<u64>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    num_connections: Option<u64>,
    #[serde(default)]
    debug_info: Option<DebugInfo>,
}

#[derive(Deserialize)]
struct DebugInfo {
    #[serde(default)]
    approximate_connection_time: Option<u64>,
}

impl Frame {
    pub fn parse(text: &str) -> Result<Frame, serde_json::Error> {
        let raw: RawFrame = serde_json::from_str(text)?;
        Ok(match (raw.kind.as_str(), raw.envelope_id) {
            ("hello", _) => Frame::Hello {
                num_connections: raw.num_connections,
                approximate_connection_time: raw
                    .debug_info
                    .and_then(|d| d.approximate_connection_time),
            },
            ("disconnect", _) => Frame::Disconnect {
                reason: raw.reason.unwrap_or_default(),
            },
            (_, Some(id)) => Frame::Envelope(Envelope {
                id,
                kind: raw.kind,
                payload: raw.payload,
                accepts_response_payload: raw.accepts_response_payload,
                retry_attempt: raw.retry_attempt.unwrap_or(0),
            }),
            (other, None) => Frame::Other(other.to_string()),
        })
    }
}

/// A slash command arrives as a JSON object of the fields Slack would have
/// form-encoded over HTTP; this is that form, for the one parser.
pub fn command_form(payload: &RawValue) -> Result<Vec<u8>, String> {
    let fields: serde_json::Map<String, Value> =
        serde_json::from_str(payload.get()).map_err(|e| e.to_string())?;
    let pairs: Vec<(String, String)> = fields
        .into_iter()
        .filter_map(|(k, v)| match v {
            Value::Null => None,
            Value::String(s) => Some((k, s)),
            other => Some((k, other.to_string())),
        })
        .collect();
    serde_urlencoded::to_string(pairs)
        .map(String::into_bytes)
        .map_err(|e| e.to_string())
}

/// Interactivity arrives as the JSON Slack would have sent in the `payload`
/// form field over HTTP; this is that form.
pub fn interaction_form(payload: &RawValue) -> Vec<u8> {
    serde_urlencoded::to_string([("payload", payload.get())])
        .unwrap_or_default()
        .into_bytes()
}

/// The ack of `envelope`, carrying `payload` when Slack accepts one.
fn ack(envelope: &Envelope, payload: Option<Value>) -> Value {
    match payload {
        Some(p) if envelope.accepts_response_payload => {
            json!({"envelope_id": envelope.id, "payload": p})
        }
        _ => json!({"envelope_id": envelope.id}),
    }
}

/// Acts on one envelope and returns its ack, or `None` when it must not be
/// acked (the work could not be recorded; Slack may deliver it again).
pub async fn handle(ctx: &Ctx, envelope: &Envelope) -> Option<Value> {
    let guarded = matches!(envelope.kind.as_str(), "slash_commands" | "interactive");
    if guarded {
        match claim(ctx, &envelope.id).await {
            Claim::Act => {}
            Claim::Answered(reply) => {
                debug!(envelope = %envelope.id, "envelope delivered again; answered as before");
                ctx.metrics.request("socket", "duplicate");
                return Some(ack(envelope, reply));
            }
            Claim::NotNow => return None,
        }
    }
    let empty = RawValue::NULL.to_owned();
    let payload = envelope.payload.as_deref().unwrap_or(&empty);
    let work = async {
        match envelope.kind.as_str() {
            "slash_commands" => match command_form(payload) {
                Ok(form) => dispatch::command(ctx, &form).await,
                Err(e) => {
                    warn!(error = %e, "malformed slash command envelope");
                    Ok(Reply::Malformed("malformed slash command"))
                }
            },
            "interactive" => dispatch::interaction(ctx, &interaction_form(payload)).await,
            "events_api" => {
                let retry = envelope.retry_attempt.to_string();
                dispatch::event(ctx, payload.get().as_bytes(), &retry).await
            }
            other => {
                debug!(kind = %other, "ignored envelope");
                Ok(Reply::Empty)
            }
        }
    };
    // The work is bounded (the claim and its reply are not): past the
    // limit it is dropped unacked and its claim released, for Slack to
    // deliver it again.
    let limit = ctx
        .settings
        .socket_envelope_timeout
        .min(MAX_ENVELOPE_TIMEOUT);
    let Ok(result) = tokio::time::timeout(limit, work).await else {
        warn!(envelope = %envelope.id, "the envelope's work took over {limit:?}; released unacked for Slack to deliver again");
        if guarded && let Err(e) = ctx.store.release_envelope(&envelope.id).await {
            warn!(error = %e, envelope = %envelope.id, "could not release an envelope");
        }
        // Counted once the claim is released, so whoever reads the count
        // sees the release too.
        ctx.metrics.request("socket", "timeout");
        return None;
    };
    match result {
        Ok(reply) => {
            let payload = match reply {
                Reply::Json(v) => Some(v),
                Reply::Empty | Reply::Challenge(_) | Reply::Malformed(_) => None,
            };
            if guarded {
                let stored = payload.as_ref().map(Value::to_string);
                if let Err(e) = ctx
                    .store
                    .finish_envelope(&envelope.id, stored.as_deref(), ctx.clock.now())
                    .await
                {
                    // The work itself is recorded; only a redelivery's
                    // answer is at stake.
                    warn!(error = %e, envelope = %envelope.id, "could not record an envelope's reply");
                }
            }
            Some(ack(envelope, payload))
        }
        Err(_) => {
            if guarded && let Err(e) = ctx.store.release_envelope(&envelope.id).await {
                warn!(error = %e, envelope = %envelope.id, "could not release an envelope");
            }
            // A person typing a command is better told than left waiting.
            (envelope.kind == "slash_commands").then(|| {
                ack(
                    envelope,
                    Some(json!({
                        "response_type": "ephemeral",
                        "text": "warroom could not record this (its database did not answer), so nothing was done: try again in a moment.",
                    })),
                )
            })
        }
    }
}

/// What claiming an envelope decided.
enum Claim {
    /// Nobody acted on it: act on it.
    Act,
    /// An earlier delivery acted on it: answer as it did.
    Answered(Option<Value>),
    /// Another delivery is still acting on it, or the database did not
    /// answer: do not ack now (Slack delivers it again).
    NotNow,
}

/// Claims an envelope for this delivery.
async fn claim(ctx: &Ctx, id: &str) -> Claim {
    let lease = chrono::Duration::from_std(CLAIM_LEASE).unwrap_or_default();
    let deadline = ctx.clock.now() + chrono::Duration::from_std(BUSY_WAIT).unwrap_or_default();
    let mut waiting = false;
    loop {
        let now = ctx.clock.now();
        match ctx.store.claim_envelope(id, now, now - lease).await {
            Ok(EnvelopeClaim::Claimed) => return Claim::Act,
            Ok(EnvelopeClaim::Done(reply)) => {
                return Claim::Answered(reply.and_then(|r| serde_json::from_str(&r).ok()));
            }
            Ok(EnvelopeClaim::Busy) if ctx.clock.now() < deadline => {
                if !waiting {
                    // Slack redelivered it while another delivery acts on it.
                    waiting = true;
                    debug!(envelope = %id, "another delivery is acting on this envelope; waiting for its reply");
                    ctx.metrics.request("socket", "busy");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(EnvelopeClaim::Busy) => {
                debug!(envelope = %id, "another delivery is still acting on this envelope");
                return Claim::NotNow;
            }
            Err(e) => {
                error!(error = %e, envelope = %id, "cannot record a Socket Mode envelope");
                return Claim::NotNow;
            }
        }
    }
}

/// What a connection tells the supervisor.
#[derive(Debug)]
enum ConnEvent {
    Hello,
    Disconnect(String),
    Closed,
}

enum Event {
    Opened(Result<Box<Ws>, OpenError>),
    Conn(u64, ConnEvent),
}

struct Live {
    close: watch::Sender<bool>,
    /// Slack asked for it to be replaced; a replacement is on its way.
    retiring: bool,
    closing: bool,
}

/// Keeps `slack.socket_connections` connections open until `shutdown`.
pub async fn run(ctx: Arc<Ctx>, opener: Opener, shutdown: watch::Receiver<bool>) {
    let opener = Arc::new(opener);
    let want = ctx.settings.socket_connections;
    ctx.metrics.sockets_wanted(want);
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let mut live: BTreeMap<u64, Live> = BTreeMap::new();
    let mut next_id = 0u64;
    let mut failures = 0u32;
    let stop = shutdown.clone();
    let open = |delay: Duration| {
        let (ctx, opener, tx, mut shutdown) =
            (ctx.clone(), opener.clone(), tx.clone(), stop.clone());
        tokio::spawn(async move {
            let at = ctx.clock.now() + chrono::Duration::from_std(delay).unwrap_or_default();
            let waiting = ctx.quiet.reconnect_at(at);
            tokio::select! {
                _ = ctx.clock.sleep_until(at) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            drop(waiting);
            let result = tokio::select! {
                r = opener.connect() => r,
                _ = shutdown.wait_for(|s| *s) => return,
            };
            let _ = tx.send(Event::Opened(result.map(Box::new)));
        });
    };
    info!(connections = want, "connecting to Slack over Socket Mode");
    for _ in 0..want {
        open(Duration::ZERO);
    }
    let mut stopping = shutdown.clone();
    loop {
        let event = tokio::select! {
            e = rx.recv() => e,
            _ = stopping.wait_for(|s| *s) => None,
        };
        let Some(event) = event else { break };
        match event {
            Event::Opened(Ok(ws)) => {
                let id = next_id;
                next_id += 1;
                if id >= want as u64 {
                    ctx.metrics.socket_reconnected();
                }
                let (close_tx, close_rx) = watch::channel(false);
                live.insert(
                    id,
                    Live {
                        close: close_tx,
                        retiring: false,
                        closing: false,
                    },
                );
                tokio::spawn(connection(
                    ctx.clone(),
                    id,
                    *ws,
                    tx.clone(),
                    close_rx,
                    shutdown.clone(),
                ));
            }
            Event::Opened(Err(e)) => {
                failures = failures.saturating_add(1);
                let delay = backoff(failures, e.retry_after(), crate::random::jitter_u64());
                match e {
                    OpenError::Refused(_) => {
                        error!(error = %e, retry_in = ?delay, "cannot open a Socket Mode connection")
                    }
                    _ => {
                        warn!(error = %e, retry_in = ?delay, "cannot open a Socket Mode connection")
                    }
                }
                open(delay);
            }
            Event::Conn(id, ConnEvent::Hello) => {
                failures = 0;
                // This may be the replacement of a connection Slack wants
                // refreshed: only now is it safe to close that one.
                if let Some(old) = live.values_mut().find(|l| l.retiring && !l.closing) {
                    old.closing = true;
                    let _ = old.close.send(true);
                }
                debug!(connection = id, "Socket Mode connection ready");
            }
            Event::Conn(id, ConnEvent::Disconnect(reason)) => {
                let Some(conn) = live.get_mut(&id) else {
                    continue;
                };
                if conn.retiring {
                    continue;
                }
                conn.retiring = true;
                if reason == "link_disabled" {
                    error!(
                        "Slack turned Socket Mode off for this app (disconnect: link_disabled): turn it on again in the app's settings (Socket Mode), or run warroom over HTTP without SLACK_APP_TOKEN; retrying"
                    );
                    failures = failures.max(7);
                    open(backoff(failures, None, crate::random::jitter_u64()));
                } else {
                    info!(connection = id, %reason, "Slack asked to refresh a connection; opening its replacement first");
                    open(Duration::ZERO);
                }
            }
            Event::Conn(id, ConnEvent::Closed) => {
                if let Some(conn) = live.remove(&id)
                    && !conn.retiring
                {
                    failures = failures.saturating_add(1);
                    let delay = backoff(failures, None, crate::random::jitter_u64());
                    warn!(connection = id, retry_in = ?delay, "Socket Mode connection lost; reconnecting");
                    open(delay);
                }
            }
        }
    }
    // Shutdown: each connection acks what it has in flight and closes.
    let deadline = tokio::time::Instant::now() + DRAIN + Duration::from_secs(2);
    while !live.is_empty() {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Event::Conn(id, ConnEvent::Closed))) => {
                live.remove(&id);
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
}

/// One WebSocket: reads frames, hands envelopes to their own tasks (so a
/// slow one never delays another's ack), writes acks, pings.
async fn connection(
    ctx: Arc<Ctx>,
    id: u64,
    ws: Ws,
    events: mpsc::UnboundedSender<Event>,
    mut close: watch::Receiver<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (mut sink, mut stream) = ws.split();
    let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            let last = matches!(m, Message::Close(_));
            if sink.send(m).await.is_err() || last {
                break;
            }
        }
    });
    let mut said_hello = false;
    let mut tasks = JoinSet::new();
    // On the app's clock: the first ping at once, then every PING_EVERY.
    let ping_every = chrono::Duration::from_std(PING_EVERY).unwrap_or_default();
    let idle_limit = chrono::Duration::from_std(IDLE_LIMIT).unwrap_or_default();
    let mut next_ping = ctx.clock.now();
    let mut last_seen = ctx.clock.now();
    // Whether to close politely: acks in flight first, then a Close frame.
    let graceful = loop {
        tokio::select! {
            // Frames first: what Slack already sent is handled before a
            // request to close is.
            biased;
            frame = stream.next() => {
                last_seen = ctx.clock.now();
                match frame {
                    Some(Ok(Message::Text(text))) => match Frame::parse(text.as_str()) {
                        Ok(Frame::Hello { num_connections, approximate_connection_time }) => {
                            if !said_hello {
                                said_hello = true;
                                ctx.readiness.socket_connected();
                                ctx.metrics.socket_up();
                            }
                            info!(connection = id, ?num_connections, refresh_in_secs = ?approximate_connection_time, "Socket Mode connected");
                            let _ = events.send(Event::Conn(id, ConnEvent::Hello));
                        }
                        Ok(Frame::Disconnect { reason }) => {
                            let _ = events.send(Event::Conn(id, ConnEvent::Disconnect(reason)));
                        }
                        Ok(Frame::Envelope(envelope)) if tasks.len() >= MAX_ENVELOPES_IN_FLIGHT => {
                            warn!(connection = id, envelope = %envelope.id, "{MAX_ENVELOPES_IN_FLIGHT} envelopes already in flight; leaving this one unacked for Slack to deliver again");
                            ctx.metrics.request("socket", "busy");
                        }
                        Ok(Frame::Envelope(envelope)) => {
                            debug!(connection = id, envelope = %envelope.id, kind = %envelope.kind, "envelope received");
                            ctx.metrics.envelope(&envelope.kind);
                            let received = std::time::Instant::now();
                            let (ctx, out) = (ctx.clone(), out.clone());
                            tasks.spawn(async move {
                                match handle(&ctx, &envelope).await {
                                    Some(ack) => {
                                        debug!(envelope = %envelope.id, "acking");
                                        let _ = out.send(Message::text(ack.to_string()));
                                        ctx.metrics.answered("socket", received.elapsed().as_secs_f64());
                                    }
                                    None => debug!(envelope = %envelope.id, "not acked"),
                                }
                            });
                        }
                        Ok(Frame::Other(kind)) => debug!(%kind, "ignored Socket Mode frame"),
                        Err(e) => warn!(error = %e, "unreadable Socket Mode frame"),
                    },
                    Some(Ok(Message::Close(_))) | None => break false,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        warn!(connection = id, error = %e, "Socket Mode connection failed");
                        break false;
                    }
                }
            }
            _ = ctx.clock.sleep_until(next_ping) => {
                let now = ctx.clock.now();
                if now - last_seen > idle_limit {
                    warn!(connection = id, "nothing from Slack for {IDLE_LIMIT:?}; replacing the connection");
                    break false;
                }
                let _ = out.send(Message::Ping(Bytes::new()));
                next_ping = now + ping_every;
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = close.wait_for(|c| *c) => break true,
            _ = shutdown.wait_for(|s| *s) => break true,
        }
    };
    if graceful {
        // Envelopes in flight finish and send their acks on this socket.
        let drain = async { while tasks.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(DRAIN, drain).await;
        let _ = out.send(Message::Close(None));
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(m)) = stream.next().await {
                if m.is_close() {
                    break;
                }
            }
        })
        .await;
    }
    // Whatever is still running finishes its durable write; its ack is
    // lost with the socket, so Slack delivers it again and the guards
    // answer without acting twice.
    tasks.detach_all();
    drop(out);
    writer.abort();
    if said_hello {
        ctx.readiness.socket_disconnected();
        ctx.metrics.socket_down();
    }
    debug!(connection = id, "Socket Mode connection closed");
    let _ = events.send(Event::Conn(id, ConnEvent::Closed));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_honours_retry_after() {
        for failures in 1..=12 {
            let base = BASE_BACKOFF
                .saturating_mul(2u32.pow(failures - 1))
                .min(MAX_BACKOFF);
            let low = backoff(failures, None, 0);
            let high = backoff(failures, None, 1000);
            assert_eq!(low, base / 2);
            assert_eq!(high, base);
            assert!(backoff(failures, None, crate::random::jitter_u64()) <= base);
        }
        assert_eq!(backoff(40, None, 1000), MAX_BACKOFF, "capped");
        assert_eq!(
            backoff(1, Some(Duration::from_secs(30)), 0),
            Duration::from_secs(30)
        );
        assert_ne!(
            (0..8)
                .map(|_| crate::random::jitter_u64())
                .collect::<std::collections::HashSet<_>>()
                .len(),
            1,
            "jitter varies"
        );
    }

    #[test]
    fn frames_slack_sends() {
        let hello = r#"{"type":"hello","num_connections":2,"debug_info":{"host":"applink-1","approximate_connection_time":18060},"connection_info":{"app_id":"A1"}}"#;
        assert_eq!(
            Frame::parse(hello).unwrap(),
            Frame::Hello {
                num_connections: Some(2),
                approximate_connection_time: Some(18060)
            }
        );
        let refresh = r#"{"type":"disconnect","reason":"refresh_requested","debug_info":{"host":"wss-111.slack.com"}}"#;
        assert_eq!(
            Frame::parse(refresh).unwrap(),
            Frame::Disconnect {
                reason: "refresh_requested".into()
            }
        );
        let event = r#"{"envelope_id":"e-1","payload":{"type":"event_callback","event_id":"Ev1"},"type":"events_api","accepts_response_payload":false,"retry_attempt":1,"retry_reason":"timeout"}"#;
        let Frame::Envelope(e) = Frame::parse(event).unwrap() else {
            panic!("not an envelope")
        };
        assert_eq!(
            (e.id.as_str(), e.kind.as_str(), e.retry_attempt),
            ("e-1", "events_api", 1)
        );
        assert_eq!(
            e.payload.unwrap().get(),
            r#"{"type":"event_callback","event_id":"Ev1"}"#,
            "the raw payload, as Slack sent it"
        );
        assert!(Frame::parse("not json").is_err());
        assert_eq!(
            Frame::parse(r#"{"type":"something_new"}"#).unwrap(),
            Frame::Other("something_new".into())
        );
    }

    #[test]
    fn a_socket_slash_command_becomes_the_http_form() {
        let payload = RawValue::from_string(
            r#"{"token":"t","team_id":"T1","channel_id":"C1","user_id":"U1","command":"/incident","text":"note DB & cache: 50% down","trigger_id":"1.2.3","response_url":"https://hooks.slack.com/x","is_enterprise_install":false,"enterprise_id":null}"#.to_string(),
        )
        .unwrap();
        let form = command_form(&payload).unwrap();
        let cmd = crate::slack::inbound::SlashCommand::parse(&form).unwrap();
        assert_eq!(cmd.text, "note DB & cache: 50% down");
        assert_eq!((cmd.user.as_str(), cmd.channel_id.as_str()), ("U1", "C1"));
        assert!(command_form(&RawValue::from_string("[1]".into()).unwrap()).is_err());
    }

    #[test]
    fn socket_interactivity_becomes_the_http_form() {
        let payload = RawValue::from_string(
            r#"{"type":"block_actions","user":{"id":"U2"},"channel":{"id":"C9"},"actions":[{"action_id":"role.claim","value":"4|Scribe"}]}"#.to_string(),
        )
        .unwrap();
        let parsed =
            crate::slack::inbound::Interaction::parse(&interaction_form(&payload)).unwrap();
        assert!(matches!(
            parsed,
            crate::slack::inbound::Interaction::Action { .. }
        ));
    }

    #[test]
    fn acks_carry_a_payload_only_where_slack_takes_one() {
        let mut e = Envelope {
            id: "e-9".into(),
            kind: "slash_commands".into(),
            payload: None,
            accepts_response_payload: true,
            retry_attempt: 0,
        };
        let text = json!({"text": "hi"});
        assert_eq!(
            ack(&e, Some(text.clone())),
            json!({"envelope_id": "e-9", "payload": {"text": "hi"}})
        );
        assert_eq!(ack(&e, None), json!({"envelope_id": "e-9"}));
        e.accepts_response_payload = false;
        assert_eq!(ack(&e, Some(text)), json!({"envelope_id": "e-9"}));
    }
}
