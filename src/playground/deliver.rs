//! What Slack sends the bot, signed as Slack signs it with the playground's
//! own secret: slash commands and interactions as forms, events as JSON.

use crate::clock::Clock;
use crate::slack::signature;
use axum::body::Body;
use axum::http::{Request, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Slack gives up on an answer after 3 s; the playground waits a little
/// longer, so a slow bot shows as slow rather than as an error.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read from the bot.
const MAX_ANSWER: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("cannot reach the bot at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the bot did not answer {url} within {ANSWER_TIMEOUT:?}")]
    Timeout { url: String },
}

/// The bot's answer: its HTTP status and body.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON; `None` when empty or not JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Delivers to the bot's `/slack/*` routes.
pub struct Bot {
    base_url: String,
    secret: SecretString,
    clock: Clock,
    http: Client<HttpConnector, Body>,
    events: AtomicU64,
}

impl Bot {
    /// `base_url`: where the bot listens (`http://127.0.0.1:PORT`);
    /// `secret`: its `slack.signing_secret`; `clock`: the bot's, so the
    /// signature's timestamp is inside its five-minute window.
    pub fn new(base_url: String, secret: SecretString, clock: Clock) -> Bot {
        Bot {
            base_url,
            secret,
            clock,
            http: Client::builder(TokioExecutor::new()).build_http(),
            events: AtomicU64::new(0),
        }
    }

    /// `command text`, typed by `user` in `channel`.
    pub async fn command(
        &self,
        user: &str,
        channel: &str,
        command: &str,
        text: &str,
        trigger_id: &str,
        response_url: &str,
    ) -> Result<Answer, DeliveryError> {
        let form = serde_urlencoded::to_string([
            ("token", "playground"),
            ("team_id", "T1"),
            ("team_domain", "playground"),
            ("channel_id", channel),
            ("user_id", user),
            ("command", command),
            ("text", text),
            ("api_app_id", "A1"),
            ("is_enterprise_install", "false"),
            ("response_url", response_url),
            ("trigger_id", trigger_id),
        ])
        .unwrap_or_default();
        self.post("/slack/commands", "application/x-www-form-urlencoded", form)
            .await
    }

    /// An interaction payload (`block_actions`, `view_submission`, …).
    pub async fn interaction(&self, payload: &Value) -> Result<Answer, DeliveryError> {
        let form =
            serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap_or_default();
        self.post(
            "/slack/interactivity",
            "application/x-www-form-urlencoded",
            form,
        )
        .await
    }

    /// An Events API callback carrying `event`, with a fresh event id.
    pub async fn event(&self, event: Value) -> Result<Answer, DeliveryError> {
        let n = self.events.fetch_add(1, Ordering::Relaxed);
        let now = self.clock.now();
        let body = json!({
            "token": "playground", "team_id": "T1", "api_app_id": "A1",
            "type": "event_callback",
            // Unique across restarts on the same database, where the bot
            // remembers event ids to drop redeliveries.
            "event_id": format!("Ev{}{n:04}", now.timestamp_millis()),
            "event_time": now.timestamp(),
            "event": event,
        });
        self.post("/slack/events", "application/json", body.to_string())
            .await
    }

    /// An alert notification to the bot's `/hooks/alerts/{source}`, with
    /// the source's bearer token, as Alertmanager sends it.
    pub async fn alert(
        &self,
        source: &str,
        token: &SecretString,
        body: String,
    ) -> Result<Answer, DeliveryError> {
        use secrecy::ExposeSecret;
        let url = format!("{}/hooks/alerts/{source}", self.base_url);
        let request = Request::post(&url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", token.expose_secret()),
            )
            .body(Body::from(body));
        self.send(url, request).await
    }

    async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: String,
    ) -> Result<Answer, DeliveryError> {
        let url = format!("{}{path}", self.base_url);
        let ts = self.clock.now().timestamp().to_string();
        let signature = signature::sign(&self.secret, &ts, body.as_bytes());
        let request = Request::post(&url)
            .header(header::CONTENT_TYPE, content_type)
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", signature)
            .body(Body::from(body));
        self.send(url, request).await
    }

    async fn send(
        &self,
        url: String,
        request: Result<Request<Body>, axum::http::Error>,
    ) -> Result<Answer, DeliveryError> {
        let request = request.map_err(|e| DeliveryError::Unreachable {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let unreachable = |e: &dyn std::fmt::Display| DeliveryError::Unreachable {
            url: url.clone(),
            reason: e.to_string(),
        };
        let answer = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| unreachable(&e))?;
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(Body::new(response.into_body()), MAX_ANSWER)
                .await
                .map_err(|e| unreachable(&e))?
                .to_vec();
            Ok(Answer { status, body })
        };
        tokio::time::timeout(ANSWER_TIMEOUT, answer)
            .await
            .map_err(|_| DeliveryError::Timeout { url: url.clone() })?
    }
}
