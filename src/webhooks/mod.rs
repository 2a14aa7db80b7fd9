//! Events out: every recorded event (`crate::domain::events`) delivered to
//! each `[[webhooks]]` endpoint that wants it, signed by Standard Webhooks
//! version 1 (`sign.rs`). The deliveries are rows written with the change
//! (`crate::store::WebhookStore`); this loop claims due ones, sends them,
//! and records how each attempt ended: 2xx delivered, `410 Gone` disables
//! the endpoint until a restart, 429/502/503/504 wait their `Retry-After`,
//! anything else (3xx included: redirects are not followed, timeouts,
//! refused connections) retries on the schedule, ten attempts in all.
//!
//! **Invariants:** a delivery's `webhook-id` is its event's id, the same on
//! every attempt; events of one incident reach one endpoint in the order
//! they were recorded (the store holds a delivery back while an earlier one
//! of its incident to its endpoint is pending), and a slow or dead endpoint
//! holds back only its own deliveries; the loop has its own slots and
//! client, apart from the Slack job workers.

mod pagerduty;
pub mod sign;

use crate::app::{Ctx, Loop};
use crate::config::WebhookEndpoint;
use crate::domain::events::{Event, EventType};
use crate::record::{HiddenIncident, IncidentRecord, Viewer};
use crate::store::{Delivery, DeliveryOutcome, EndpointFilter, StoreError};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, SecondsFormat, Utc};
use http_body_util::BodyExt;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tracing::{Instrument, debug, info, warn};

/// How long one attempt may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// A claimed delivery is another worker's to take after this (well over
/// [`TIMEOUT`]: an attempt never outlives its lease).
const LEASE: Duration = Duration::from_secs(60);
/// Attempts in flight at once, over every endpoint.
const SLOTS: usize = 16;
/// How long a claimed delivery to an endpoint this process does not know
/// (another replica's configuration) waits before it is looked at again.
const UNKNOWN_ENDPOINT_WAIT: Duration = Duration::from_secs(300);

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Body>;

/// The client every attempt goes through (HTTP/1, no redirects followed).
pub fn client() -> std::io::Result<HttpClient> {
    Ok(Client::builder(TokioExecutor::new()).build(crate::net::https_connector()?))
}

/// The endpoints as the store keeps them: each `[[webhooks]]` entry, and
/// PagerDuty paging when configured.
pub fn filters(settings: &crate::config::Settings) -> Vec<EndpointFilter> {
    let mut filters: Vec<EndpointFilter> = settings
        .webhooks
        .iter()
        .map(|e| EndpointFilter {
            name: e.name.clone(),
            events: e.events.iter().map(|p| p.as_str().to_string()).collect(),
        })
        .collect();
    if settings.pagerduty.is_some() {
        filters.push(EndpointFilter {
            name: crate::config::PAGERDUTY_ENDPOINT.to_string(),
            events: pagerduty::EVENTS
                .iter()
                .map(|e| e.as_str().to_string())
                .collect(),
        });
    }
    filters
}

/// Delivers due webhooks until `shutdown` fires.
pub async fn run(ctx: Arc<Ctx>, shutdown: tokio::sync::watch::Receiver<bool>) {
    let client = match client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no TLS roots: webhooks will not be delivered");
            return;
        }
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(SLOTS));
    ctx.drive(
        Loop::Webhooks,
        shutdown,
        || dispatch_one(&ctx, &client, &slots),
        || ctx.store.next_delivery_due(),
        || slots.available_permits() == SLOTS,
    )
    .await;
    let _ = tokio::time::timeout(
        TIMEOUT,
        slots.acquire_many(u32::try_from(SLOTS).unwrap_or(u32::MAX)),
    )
    .await;
}

async fn dispatch_one(
    ctx: &Arc<Ctx>,
    client: &HttpClient,
    slots: &Arc<tokio::sync::Semaphore>,
) -> Result<bool, StoreError> {
    let Ok(slot) = slots.clone().acquire_owned().await else {
        return Ok(false);
    };
    let now = ctx.clock.now();
    let lease = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
    let Some(delivery) = ctx.store.claim_delivery(now, lease).await? else {
        return Ok(false);
    };
    let (ctx, client) = (ctx.clone(), client.clone());
    tokio::spawn(async move {
        let span = tracing::info_span!(
            "webhook",
            endpoint = %delivery.endpoint,
            event = %delivery.event.id,
            kind = %delivery.event.kind,
            incident = delivery.event.incident.map(crate::domain::IncidentNumber::get),
            attempt = delivery.attempt
        );
        async {
            let outcome = attempt(&ctx, &client, &delivery).await;
            ctx.metrics
                .webhook_delivery(&delivery.endpoint, outcome_label(&outcome));
            match &outcome {
                DeliveryOutcome::Delivered { status } => info!(status, "delivered"),
                DeliveryOutcome::Retry { at, error, .. } => {
                    warn!(%error, retry_at = %at, "will retry")
                }
                DeliveryOutcome::Failed { error, .. } => {
                    warn!(%error, "gave up after {} attempts", delivery.attempt)
                }
                DeliveryOutcome::Gone => warn!(
                    "the endpoint answered 410 Gone: disabled until warroom restarts with it configured"
                ),
                DeliveryOutcome::Skipped => debug!("nothing to send for this event"),
                DeliveryOutcome::NotHere { at } => warn!(
                    retry_at = %at,
                    "this replica has no such endpoint configured; left for one that has"
                ),
            }
            match ctx
                .store
                .finish_delivery(&delivery, &outcome, ctx.clock.now())
                .await
            {
                Ok(true) => {}
                Ok(false) => warn!("the delivery's lease ran out; its outcome was not recorded"),
                Err(e) => {
                    warn!(error = %e, "could not record the outcome; it is tried again when its lease ends")
                }
            }
        }
        .instrument(span)
        .await;
        ctx.quiet.count_change();
        drop(slot);
        ctx.wake.notify_waiters();
    });
    Ok(true)
}

fn outcome_label(outcome: &DeliveryOutcome) -> &'static str {
    match outcome {
        DeliveryOutcome::Delivered { .. } => "delivered",
        DeliveryOutcome::Retry { .. } => "retry",
        DeliveryOutcome::Failed { .. } => "failed",
        DeliveryOutcome::Gone => "gone",
        DeliveryOutcome::Skipped => "skipped",
        DeliveryOutcome::NotHere { .. } => "not_here",
    }
}

/// One attempt of `delivery`, and what it comes to.
async fn attempt(ctx: &Ctx, client: &HttpClient, delivery: &Delivery) -> DeliveryOutcome {
    if delivery.endpoint == crate::config::PAGERDUTY_ENDPOINT
        && let Some(pd) = &ctx.settings.pagerduty
    {
        return pagerduty::attempt(ctx, client, pd, delivery).await;
    }
    let Some(endpoint) = ctx
        .settings
        .webhooks
        .iter()
        .find(|e| e.name == delivery.endpoint)
    else {
        return DeliveryOutcome::NotHere {
            at: ctx.clock.now()
                + chrono::Duration::from_std(UNKNOWN_ENDPOINT_WAIT).unwrap_or_default(),
        };
    };
    let body = match payload(ctx, endpoint, &delivery.event).await {
        Ok(body) => body,
        Err(e) => {
            return retry_or_fail(ctx, delivery, None, format!("reading the incident: {e}"));
        }
    };
    let answer = send(client, endpoint, &delivery.event.id, body.to_string()).await;
    judge(ctx, delivery, answer)
}

/// What an attempt got back: the status and its `Retry-After`, or why
/// there was no answer.
pub struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    /// The answer's first bytes (for `warroom webhooks test`).
    pub body: Vec<u8>,
}

pub(crate) fn judge(
    ctx: &Ctx,
    delivery: &Delivery,
    answer: Result<Answer, String>,
) -> DeliveryOutcome {
    let answer = match answer {
        Ok(a) => a,
        Err(error) => return retry_or_fail(ctx, delivery, None, error),
    };
    let status = answer.status.as_u16();
    if answer.status.is_success() {
        return DeliveryOutcome::Delivered { status };
    }
    if answer.status == StatusCode::GONE {
        return DeliveryOutcome::Gone;
    }
    let error = if answer.status.is_redirection() {
        format!(
            "answered {status}: redirects are not followed; point the endpoint at the final URL"
        )
    } else {
        format!("answered {status}")
    };
    let throttled = matches!(status, 429 | 502 | 503 | 504);
    match answer.retry_after.filter(|_| throttled) {
        Some(wait) if delivery.attempt < sign::MAX_ATTEMPTS => DeliveryOutcome::Retry {
            at: ctx.clock.now() + chrono::Duration::from_std(wait).unwrap_or_default(),
            status: Some(status),
            error,
        },
        _ => retry_or_fail(ctx, delivery, Some(status), error),
    }
}

pub(crate) fn retry_or_fail(
    ctx: &Ctx,
    delivery: &Delivery,
    status: Option<u16>,
    error: String,
) -> DeliveryOutcome {
    match sign::retry_after(delivery.id, delivery.attempt) {
        Some(wait) => DeliveryOutcome::Retry {
            at: ctx.clock.now() + chrono::Duration::from_std(wait).unwrap_or_default(),
            status,
            error,
        },
        None => DeliveryOutcome::Failed { status, error },
    }
}

/// The body of `event` for `endpoint`: `{"type", "timestamp", "data"}`,
/// where `data` is what the event is about with `incident` the incident as
/// the read API returns it now. A private incident's events carry only its
/// number and `private: true` unless the endpoint has `include_private`.
pub async fn payload(
    ctx: &Ctx,
    endpoint: &WebhookEndpoint,
    event: &Event,
) -> Result<Value, StoreError> {
    let mut data = serde_json::Map::new();
    if let Some(number) = event.incident {
        let record = IncidentRecord::load(ctx.store.as_ref(), number, &Viewer::Everything).await?;
        match record {
            Some(r) if r.private && !endpoint.include_private => {
                let hidden = HiddenIncident {
                    number,
                    private: true,
                };
                data.insert("incident".into(), json!(hidden));
                return Ok(envelope(event.kind, event.occurred_at, data));
            }
            Some(r) => {
                data.insert("incident".into(), json!(r));
            }
            None => {
                data.insert("incident".into(), json!({ "number": number }));
            }
        }
    }
    if let Value::Object(about) = &event.data {
        for (k, v) in about {
            data.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    data.insert("event_id".into(), json!(event.id));
    if let Some(actor) = &event.actor {
        data.insert("actor".into(), json!(actor));
    }
    Ok(envelope(event.kind, event.occurred_at, data))
}

fn envelope(kind: EventType, at: DateTime<Utc>, data: serde_json::Map<String, Value>) -> Value {
    json!({
        "type": kind.as_str(),
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": data,
    })
}

/// Sends `body` as message `id` to `endpoint`, signed; at most [`TIMEOUT`].
/// `webhook-timestamp` is the wall clock's (not the app's): receivers hold
/// it against theirs to refuse replays.
pub async fn send(
    client: &HttpClient,
    endpoint: &WebhookEndpoint,
    id: &str,
    body: String,
) -> Result<Answer, String> {
    let timestamp = Utc::now().timestamp();
    let signature = sign::signature(endpoint.secret.key(), id, timestamp, body.as_bytes());
    post(
        client,
        &endpoint.url,
        &[
            ("webhook-id", id.to_string()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ],
        body,
    )
    .await
}

/// POSTs JSON `body` to `url` with `headers`; at most [`TIMEOUT`]; no
/// redirect followed.
async fn post(
    client: &HttpClient,
    url: &url::Url,
    headers: &[(&'static str, String)],
    body: String,
) -> Result<Answer, String> {
    let mut request = Request::post(url.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            header::USER_AGENT,
            concat!("warroom/", env!("CARGO_PKG_VERSION")),
        );
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let request = request
        .body(Body::from(body))
        .map_err(|e| format!("cannot build the request: {e}"))?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("no answer: {}", error_chain(&e)))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(sign::parse_retry_after);
        // The first bytes are enough to show; the rest is not read.
        let mut body = Vec::new();
        let mut stream = response.into_body();
        while body.len() < 512 {
            match stream.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        body.extend_from_slice(data);
                    }
                }
                _ => break,
            }
        }
        body.truncate(512);
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    };
    match tokio::time::timeout(TIMEOUT, exchange).await {
        Ok(answer) => answer,
        Err(_) => Err(format!("no answer within {}s", TIMEOUT.as_secs())),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// `warroom webhooks test NAME`: a signed `ping` to the endpoint, now.
pub async fn ping(endpoint: &WebhookEndpoint) -> anyhow::Result<Answer> {
    let client = client()?;
    let id = crate::random::hex::<12>()
        .map(|h| format!("evt_{h}"))
        .map_err(|e| anyhow::anyhow!("no randomness for an event id: {e}"))?;
    let body = envelope(
        EventType::Ping,
        Utc::now(),
        serde_json::Map::from_iter([("endpoint".to_string(), json!(endpoint.name))]),
    );
    debug!(%id, "ping");
    send(&client, endpoint, &id, body.to_string())
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", endpoint.url))
}
