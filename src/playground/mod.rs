//! `warroom playground`: the real bot (the same `App::build`, handlers,
//! jobs, reminders and postmortem) beside a Slack simulator in one process,
//! and a web page that plays Slack's client for a few people.
//! A little over 500 lines: the page's actions (send, react, click,
//! submit, the clock) each turn into the signed request Slack would send.
//!
//! Three listeners: the page on `--listen`; the bot's own routes and the
//! simulator's Web API each on a free port of 127.0.0.1, reached only from
//! inside the process (the page's actions become signed requests to the
//! bot; the bot's Web API calls go to the simulator through
//! `slack.api_url`).
//!
//! Long on purpose: the page's routes, its JSON state and the people it
//! plays are one small web app.

pub mod deliver;
pub mod page;
pub mod slack;

use crate::clock::{Clock, OffsetClock};
use crate::config::{Settings, SlackSecrets};
use crate::startup::{App, Options as AppOptions};
use anyhow::Context;
use deliver::{Bot, DeliveryError};
use secrecy::SecretString;
use serde_json::{Value, json};
use slack::Simulator;
use std::net::SocketAddr;
use std::sync::Arc;

/// The channel people declare from.
pub const GENERAL: &str = "CGENERAL";
/// Where incidents are announced.
pub const INCIDENTS: &str = "CINCIDENTS";

/// The people of the simulated workspace: (user id, name, who they play).
pub const PEOPLE: &[(&str, &str, &str)] = &[
    ("UALEX", "alex", "you"),
    ("USAM", "sam", "a scribe"),
    ("UCASEY", "casey", "a comms lead"),
    ("UTAYLOR", "taylor", "a tech lead"),
];

/// How the playground runs (`warroom playground` flags).
#[derive(Clone, Debug)]
pub struct Options {
    /// Where the page is served.
    pub listen: SocketAddr,
    /// The bot's database; `None`: SQLite in a fresh temporary folder,
    /// removed when the playground stops.
    pub database: Option<String>,
    /// Serve the page on an address other machines can reach, and answer
    /// whatever `Host` they use (`--allow-remote`).
    pub allow_remote: bool,
    /// Run on a `database` that already holds incidents or pending jobs
    /// (`--reuse-database`): its jobs then run against the simulator.
    pub reuse_database: bool,
    /// How long the clock buttons wait for the bot to finish what is due
    /// before refusing; `None`: `slack.call_timeout` plus 5 s, so a hung
    /// Slack call has timed out and been recorded by then.
    pub settle_patience: Option<std::time::Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            database: None,
            allow_remote: false,
            reuse_database: false,
            settle_patience: None,
        }
    }
}

/// Something the page asked that cannot be done.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    #[error("{0}")]
    Refused(String),
    #[error("no such {what}: {id}")]
    NotFound { what: &'static str, id: String },
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

/// A form's outcome: closed (or moved on), or errors to show under blocks.
#[derive(Clone, Debug, PartialEq)]
pub enum Submitted {
    Done,
    Errors(serde_json::Map<String, Value>),
}

/// What people can do in the playground, each the way Slack would pass it
/// to the bot.
pub struct Workspace {
    pub simulator: Simulator,
    pub clock: OffsetClock,
    bot: Bot,
    settings: Settings,
    /// The bearer token of the playground's own alert source.
    alert_token: SecretString,
    /// The bot's context: the clock moves only once its loops are idle.
    ctx: Arc<crate::app::Ctx>,
    /// How long the clock buttons wait for the bot to finish what is due.
    settle_patience: std::time::Duration,
}

/// The playground's alert source (an Alertmanager) and its alert.
pub const ALERT_SOURCE: &str = "playground";
const ALERT_NAME: &str = "CheckoutErrorRateHigh";

/// What "Fire an alert" and "Fire a warning" send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Critical: the playground's route declares a war room at once.
    Critical,
    /// A warning: the route suggests, so a card offers to declare, attach
    /// it to an open incident (a select in the message) or dismiss it.
    Warning,
}

impl AlertKind {
    /// Alertname, severity label, the route's `playground` label, summary.
    fn shape(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            AlertKind::Critical => (
                ALERT_NAME,
                "critical",
                "true",
                "Checkout error rate above 5%",
            ),
            AlertKind::Warning => (
                "CheckoutLatencyHigh",
                "warning",
                "card",
                "Checkout p99 latency above 2 s",
            ),
        }
    }
}

fn known_person(user: &str) -> Result<(), PlayError> {
    if PEOPLE.iter().any(|(id, _, _)| *id == user) {
        Ok(())
    } else {
        Err(PlayError::NotFound {
            what: "person",
            id: user.to_string(),
        })
    }
}

impl Workspace {
    /// A channel `user` can see, as Slack decides it: a public one, a
    /// private one they are a member of, or their direct messages with the
    /// app. Slack answers a non-member as if the private channel did not
    /// exist.
    fn visible_channel(&self, user: &str, channel: &str) -> Result<(), PlayError> {
        let dm = format!("D{}", user.get(1..).unwrap_or_default());
        let visible = channel == dm
            || self.simulator.channel(channel).is_some_and(|c| {
                !self.simulator.is_private(channel) || c.members.iter().any(|m| m == user)
            });
        if visible {
            Ok(())
        } else {
            Err(PlayError::NotFound {
                what: "channel",
                id: channel.to_string(),
            })
        }
    }

    /// `user` types `text` in `channel` (in a thread under `thread_ts`): a
    /// slash command goes to the bot's `/slack/commands` (its answer shown
    /// to them only, or to the channel); anything else is posted and
    /// delivered to the bot as a `message` event.
    pub async fn send(
        &self,
        user: &str,
        channel: &str,
        text: &str,
        thread_ts: Option<&str>,
    ) -> Result<(), PlayError> {
        known_person(user)?;
        self.visible_channel(user, channel)?;
        let typed = text.trim();
        if typed.is_empty() {
            return Err(PlayError::Refused("nothing to send".into()));
        }
        // Slack resolves `#name` only for channels the person can see.
        let channels: Vec<(String, String)> = self
            .simulator
            .channels()
            .into_iter()
            .filter(|c| !self.simulator.is_private(&c.id) || c.members.iter().any(|m| m == user))
            .map(|c| (c.id, c.name))
            .collect();
        let as_slack = |target| composed(typed, &channels, target);
        if let Some(command) = typed.strip_prefix('/') {
            let (name, _) = command.split_once(' ').unwrap_or((command, ""));
            if name != "incident" {
                self.simulator.show_ephemeral(
                    channel,
                    user,
                    json!({"text": format!("/{name} is not a valid command here. Try /incident help.")}),
                );
                return Ok(());
            }
            let trigger = self.simulator.issue_trigger(user);
            let response_url = self.simulator.issue_response_url(channel, user);
            let answer = self
                .bot
                .command(
                    user,
                    channel,
                    "/incident",
                    as_slack(Composed::Command)
                        .split_once(' ')
                        .map_or("", |(_, a)| a)
                        .trim(),
                    &trigger,
                    &response_url,
                )
                .await?;
            match (answer.status, answer.json()) {
                (200, None) => {}
                (200, Some(reply)) if reply["response_type"] == "in_channel" => {
                    self.simulator.bot_says(channel, reply);
                }
                (200, Some(reply)) => self.simulator.show_ephemeral(channel, user, reply),
                (status, _) => self.simulator.show_ephemeral(
                    channel,
                    user,
                    json!({"text": format!("/incident failed: the bot answered HTTP {status}")}),
                ),
            }
            return Ok(());
        }
        let text = as_slack(Composed::Message);
        let text = text.as_str();
        let ts = self
            .simulator
            .user_posts(channel, user, text, thread_ts, self.clock.now());
        let mut event = json!({
            "type": "message", "channel": channel, "user": user, "text": text,
            "ts": ts, "event_ts": ts,
            "channel_type": if channel.starts_with('D') { "im" } else { "channel" },
        });
        if let Some(parent) = thread_ts {
            event["thread_ts"] = json!(parent);
        }
        self.bot.event(event).await?;
        Ok(())
    }

    /// `user` reacts (or takes the reaction back) to a message: stored,
    /// then delivered as `reaction_added` / `reaction_removed`.
    pub async fn react(
        &self,
        user: &str,
        channel: &str,
        ts: &str,
        emoji: &str,
        add: bool,
    ) -> Result<(), PlayError> {
        known_person(user)?;
        self.visible_channel(user, channel)?;
        let message = self
            .simulator
            .message(channel, ts)
            .ok_or_else(|| PlayError::NotFound {
                what: "message",
                id: format!("{channel}/{ts}"),
            })?;
        let done = if add {
            self.simulator.react(user, channel, ts, emoji)
        } else {
            self.simulator.unreact(user, channel, ts, emoji)
        };
        done.map_err(|code| PlayError::Refused(code.to_string()))?;
        let author = message
            .body
            .get("user")
            .and_then(Value::as_str)
            .unwrap_or(slack::BOT_USER)
            .to_string();
        let now = self.clock.now();
        self.bot
            .event(json!({
                "type": if add { "reaction_added" } else { "reaction_removed" },
                "user": user, "reaction": emoji, "item_user": author,
                "item": {"type": "message", "channel": channel, "ts": ts},
                "event_ts": format!("{}.{:06}", now.timestamp(), now.timestamp_subsec_micros()),
            }))
            .await?;
        Ok(())
    }

    /// Monitoring fires (or, with `resolve`, resolves) an alert: the
    /// notification a real Alertmanager sends its webhook receiver, into
    /// the bot's `/hooks/alerts/playground`. Critical, so the playground's
    /// route declares a war room; resolved, the war room is offered Mark
    /// mitigated.
    pub async fn fire_alert(&self, kind: AlertKind, resolve: bool) -> Result<Value, PlayError> {
        let (name, severity, route, summary) = kind.shape();
        let now = self.clock.now();
        let started = now - chrono::Duration::minutes(3);
        let status = if resolve { "resolved" } else { "firing" };
        let ends = if resolve {
            now.to_rfc3339()
        } else {
            "0001-01-01T00:00:00Z".to_string()
        };
        let labels = |instance: &str| json!({"alertname": name, "severity": severity, "service": "checkout", "team": "payments", "playground": route, "instance": instance});
        let alert = |instance: &str, fingerprint: &str| {
            json!({
                "status": status, "labels": labels(instance),
                "annotations": {"summary": summary, "description": "5xx responses of checkout are at 7.2% over 5 minutes.", "runbook_url": "https://runbooks.example.com/checkout-errors"},
                "startsAt": started.to_rfc3339(), "endsAt": ends,
                "generatorURL": "http://prometheus.example.com/graph?g0.expr=sum(rate(http_requests_total%7Bcode%3D~%225..%22%7D%5B5m%5D))",
                "fingerprint": fingerprint,
            })
        };
        let body = json!({
            "version": "4", "receiver": "warroom", "status": status,
            "groupKey": format!("{{}}/{{playground=\"{route}\"}}:{{alertname=\"{name}\"}}"),
            "truncatedAlerts": 0,
            "groupLabels": {"alertname": name},
            "commonLabels": {"alertname": name, "severity": severity, "service": "checkout", "team": "payments", "playground": route},
            "commonAnnotations": {"summary": summary},
            "externalURL": "http://alertmanager.example.com:9093",
            "alerts": [alert("checkout-1:9100", "a1f0c3b2d4e5f601"), alert("checkout-2:9100", "b2e1d4c3f5a6b702")],
        });
        let answer = self
            .bot
            .alert(ALERT_SOURCE, &self.alert_token, body.to_string())
            .await?;
        if answer.status != 200 {
            return Err(PlayError::Refused(format!(
                "the bot answered the alert with HTTP {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            )));
        }
        Ok(answer.json().unwrap_or(Value::Null))
    }

    /// A `block_actions` payload as Slack sends it: `user` used one element
    /// (`action`), with a fresh trigger id (so the bot can open a modal);
    /// `context` adds where it was (a message or a view).
    fn block_actions(&self, user: &str, action: &ViewAction, context: Value) -> Value {
        let mut element = json!({
            "action_id": action.action_id, "block_id": action.block_id,
            "type": action.kind, "action_ts": self.clock.now().timestamp().to_string(),
        });
        if let Some(value) = &action.value {
            element["value"] = json!(value);
        }
        if let Some(selected) = &action.selected_options {
            element["selected_options"] = json!(selected);
        }
        if let Some(picked) = &action.selected_option {
            element["selected_option"] = picked.clone();
        }
        let mut payload = json!({
            "type": "block_actions",
            "team": {"id": "T1", "domain": "playground"},
            "user": person(user),
            "api_app_id": "A1",
            "trigger_id": self.simulator.issue_trigger(user),
            "actions": [element],
        });
        if let (Some(payload), Value::Object(context)) = (payload.as_object_mut(), context) {
            payload.extend(context);
        }
        payload
    }

    /// `user` clicks a button (or ticks a checkbox) on a message: a
    /// `block_actions` with a fresh trigger id, so the bot can open a modal.
    pub async fn click(&self, user: &str, click: &Click) -> Result<(), PlayError> {
        known_person(user)?;
        self.visible_channel(user, &click.channel)?;
        let message = self
            .simulator
            .message(&click.channel, &click.message_ts)
            .ok_or_else(|| PlayError::NotFound {
                what: "message",
                id: format!("{}/{}", click.channel, click.message_ts),
            })?;
        let payload = self.block_actions(
            user,
            &click.action,
            json!({
                "container": {"type": "message", "message_ts": click.message_ts, "channel_id": click.channel, "is_ephemeral": false},
                "channel": {"id": click.channel},
                "message": {"type": "message", "ts": click.message_ts, "text": message.body.get("text"), "blocks": message.body.get("blocks")},
                "response_url": self.simulator.issue_response_url(&click.channel, user),
            }),
        );
        let answer = self.bot.interaction(&payload).await?;
        if answer.status != 200 {
            self.simulator.show_ephemeral(
                &click.channel,
                user,
                json!({"text": format!("That did not work: the bot answered HTTP {}", answer.status)}),
            );
        }
        Ok(())
    }

    /// `user` uses a shortcut: with a message (`on`: its channel and ts),
    /// a message shortcut (`message_action`, as Slack sends it); without,
    /// the global one from the shortcuts menu (`shortcut`).
    pub async fn shortcut(
        &self,
        user: &str,
        callback_id: &str,
        on: Option<(&str, &str)>,
    ) -> Result<(), PlayError> {
        known_person(user)?;
        let trigger = self.simulator.issue_trigger(user);
        let person = person(user);
        let payload = match on {
            Some((channel, ts)) => {
                self.visible_channel(user, channel)?;
                let message =
                    self.simulator
                        .message(channel, ts)
                        .ok_or_else(|| PlayError::NotFound {
                            what: "message",
                            id: format!("{channel}/{ts}"),
                        })?;
                json!({
                    "type": "message_action", "callback_id": callback_id,
                    "trigger_id": trigger, "action_ts": self.clock.now().timestamp().to_string(),
                    "team": {"id": "T1", "domain": "playground"}, "user": person,
                    "channel": {"id": channel}, "message_ts": ts,
                    "message": {"type": "message", "ts": ts,
                        "user": message.body.get("user").and_then(Value::as_str).unwrap_or(slack::BOT_USER),
                        "text": message.body.get("text").cloned().unwrap_or(json!(""))},
                    "response_url": self.simulator.issue_response_url(channel, user),
                })
            }
            None => json!({
                "type": "shortcut", "callback_id": callback_id, "trigger_id": trigger,
                "action_ts": self.clock.now().timestamp().to_string(),
                "team": {"id": "T1", "domain": "playground"}, "user": person,
            }),
        };
        let answer = self.bot.interaction(&payload).await?;
        if answer.status != 200 {
            return Err(PlayError::Refused(format!(
                "the bot answered the shortcut with HTTP {}",
                answer.status
            )));
        }
        Ok(())
    }

    /// `user` opens the bot's Home tab: `app_home_opened`, which the bot
    /// answers by publishing the tab (`views.publish`).
    pub async fn open_home(&self, user: &str) -> Result<(), PlayError> {
        known_person(user)?;
        self.bot
            .event(json!({
                "type": "app_home_opened", "user": user, "tab": "home",
                "channel": format!("D{}", &user[1..]),
                "event_ts": format!("{}.000100", self.clock.now().timestamp()),
            }))
            .await?;
        Ok(())
    }

    /// A Workflow Builder workflow with the step "Declare an incident",
    /// run by `user`: `function_executed` with the step's inputs, the
    /// declarer being whoever ran it. Slack's answer to the bot
    /// (`functions.completeSuccess` or `completeError`) shows as a direct
    /// message from Workflow Builder.
    pub async fn run_workflow(
        &self,
        user: &str,
        title: &str,
        severity: Option<&str>,
    ) -> Result<(), PlayError> {
        known_person(user)?;
        let execution = format!("Fx{}", self.simulator.issue_trigger(user).replace('.', ""));
        let mut inputs = json!({"title": title, "declarer": user});
        if let Some(level) = severity.filter(|s| !s.is_empty()) {
            inputs["severity"] = json!(level);
        }
        self.simulator.remember_workflow_run(&execution, user);
        self.bot
            .event(json!({
                "type": "function_executed",
                "function": {"id": "Fn1", "callback_id": crate::slack::ids::FUNCTION_DECLARE, "title": "Declare an incident"},
                "inputs": inputs,
                "function_execution_id": execution,
                "workflow_execution_id": format!("Wx{execution}"),
                "event_ts": format!("{}.000100", self.clock.now().timestamp()),
            }))
            .await?;
        Ok(())
    }

    /// `user` clicks a button or picks an option inside a view: their Home
    /// tab (`view_id` is the published tab's) or an open modal. A
    /// `block_actions` whose container is the view, as Slack sends it.
    pub async fn view_action(
        &self,
        user: &str,
        view_id: &str,
        action: &ViewAction,
    ) -> Result<(), PlayError> {
        known_person(user)?;
        let view = match self.simulator.view(view_id) {
            Some(v) if v.user.as_deref() == Some(user) => v.view,
            _ => self
                .simulator
                .home_of(user)
                .filter(|h| h["id"] == json!(view_id))
                .ok_or_else(|| PlayError::NotFound {
                    what: "view",
                    id: view_id.to_string(),
                })?,
        };
        let payload = self.block_actions(
            user,
            action,
            json!({"container": {"type": "view", "view_id": view_id}, "view": view}),
        );
        let answer = self.bot.interaction(&payload).await?;
        if answer.status != 200 {
            return Err(PlayError::Refused(format!(
                "the bot answered HTTP {}",
                answer.status
            )));
        }
        Ok(())
    }

    /// `user` submits the modal `view_id` with `values` (Slack's
    /// `view.state.values`): a `view_submission`, whose answer closes the
    /// modal, replaces it, pushes another, or returns errors to show.
    pub async fn submit(
        &self,
        user: &str,
        view_id: &str,
        values: Value,
    ) -> Result<Submitted, PlayError> {
        known_person(user)?;
        let open = self
            .simulator
            .view(view_id)
            .filter(|v| v.user.as_deref() == Some(user))
            .ok_or_else(|| PlayError::NotFound {
                what: "open modal",
                id: view_id.to_string(),
            })?;
        let mut view = open.view.clone();
        view["state"] = json!({"values": values});
        let payload = json!({
            "type": "view_submission",
            "team": {"id": "T1", "domain": "playground"},
            "user": person(user),
            "api_app_id": "A1",
            "trigger_id": self.simulator.issue_trigger(user),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": false,
        });
        let answer = self.bot.interaction(&payload).await?;
        if answer.status != 200 {
            return Err(PlayError::Refused(format!(
                "the bot answered HTTP {}",
                answer.status
            )));
        }
        let reply = answer.json().unwrap_or(Value::Null);
        match reply["response_action"].as_str() {
            Some("errors") => {
                let errors = reply["errors"].as_object().cloned().unwrap_or_default();
                return Ok(Submitted::Errors(errors));
            }
            Some("clear") => self.simulator.clear_views(user),
            Some("update") => self.simulator.replace_view(view_id, reply["view"].clone()),
            Some("push") => {
                self.simulator.push_view(user, reply["view"].clone());
            }
            _ => self.simulator.close_view(view_id),
        }
        Ok(Submitted::Done)
    }

    /// `user` dismisses a modal (the bot asks for no `view_closed`).
    pub fn cancel(&self, user: &str, view_id: &str) -> Result<(), PlayError> {
        known_person(user)?;
        match self.simulator.view(view_id) {
            Some(v) if v.user.as_deref() == Some(user) => {
                self.simulator.close_view(view_id);
                Ok(())
            }
            _ => Err(PlayError::NotFound {
                what: "open modal",
                id: view_id.to_string(),
            }),
        }
    }

    /// Moves the bot's clock forward: reminders due by then arrive. Waits
    /// first until the bot has done what is due and no job runs (as the
    /// tests' `step` does): moving the clock under a running job could
    /// expire its lease and send its Slack call twice.
    pub async fn advance(&self, minutes: u32) -> Result<(), PlayError> {
        if !(1..=24 * 60).contains(&minutes) {
            return Err(PlayError::Refused(
                "move the clock by 1 minute to 24 hours".into(),
            ));
        }
        let now = self.clock.now();
        if tokio::time::timeout(self.settle_patience, self.ctx.quiet.settled(now))
            .await
            .is_err()
        {
            return Err(PlayError::Refused(
                "the bot is still working on what is due; try the clock again in a moment".into(),
            ));
        }
        self.clock
            .advance(std::time::Duration::from_secs(u64::from(minutes) * 60));
        self.simulator.changed();
        Ok(())
    }

    /// What the page shows: the simulator's state, the people, the clock
    /// and the reactions the bot reads as tags.
    pub fn state(&self) -> Value {
        let mut state = self.simulator.snapshot();
        state["now"] = json!(self.clock.now().timestamp_millis());
        state["offset_minutes"] = json!(self.clock.offset().num_minutes());
        state["people"] = PEOPLE
            .iter()
            .map(|(id, name, plays)| json!({"id": id, "name": name, "plays": plays}))
            .collect();
        state["tags"] = self
            .settings
            .timeline
            .tags()
            .iter()
            .map(|(emoji, kind)| json!({"emoji": emoji, "kind": kind.as_str()}))
            .collect();
        state["general"] = json!(GENERAL);
        state
    }
}

/// A click on a message's button or checkbox.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Click {
    pub channel: String,
    pub message_ts: String,
    #[serde(flatten)]
    pub action: ViewAction,
}

/// Where typed text goes: Slack formats a slash command's text (with
/// `should_escape`, as the manifest sets) and a message's a little
/// differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Composed {
    /// `@taylor` → `<@UTAYLOR|taylor>`, `#general` → `<#CGENERAL|general>`.
    Command,
    /// `@taylor` → `<@UTAYLOR>`, `#general` → `<#CGENERAL|general>`.
    Message,
}

/// What typed text becomes in Slack's format, as Slack's client sends it:
/// `&`, `<` and `>` escaped, and a mention of a known person (`@name`,
/// any case) or channel (`#name`) turned into its id. Anything else stays
/// as typed (an unknown `@someone` is plain text, as in Slack).
pub fn composed(typed: &str, channels: &[(String, String)], target: Composed) -> String {
    let escaped = crate::slack::text::escape(typed);
    let mut out = String::with_capacity(escaped.len() + 16);
    let mut rest = escaped.as_str();
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-' || c == '.';
    let mut prev: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        let at_boundary = prev.is_none_or(|p| !word(p));
        if at_boundary && (c == '@' || c == '#') {
            let name: String = rest[1..].chars().take_while(|&ch| word(ch)).collect();
            let name = name.trim_end_matches('.');
            let broadcast = ["here", "channel", "everyone"]
                .into_iter()
                .find(|b| c == '@' && b.eq_ignore_ascii_case(name));
            let found = if let Some(b) = broadcast {
                Some(format!("<!{b}>"))
            } else if c == '@' {
                PEOPLE
                    .iter()
                    .find(|(_, n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(id, n, _)| match target {
                        Composed::Command => format!("<@{id}|{n}>"),
                        Composed::Message => format!("<@{id}>"),
                    })
            } else {
                channels
                    .iter()
                    .find(|(_, n)| n.eq_ignore_ascii_case(name))
                    .map(|(id, n)| format!("<#{id}|{n}>"))
            };
            if let (Some(token), false) = (found, name.is_empty()) {
                out.push_str(&token);
                rest = &rest[1 + name.len()..];
                prev = name.chars().last();
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
        prev = Some(c);
    }
    out
}

/// A person as Slack's payloads name them.
fn person(user: &str) -> Value {
    json!({"id": user, "username": user.to_lowercase(), "name": user.to_lowercase(), "team_id": "T1"})
}

/// Names Slack gives emoji that the gemoji data set spells otherwise.
const SLACK_EMOJI_NAMES: &[(&str, &str)] = &[
    ("large_green_circle", "green_circle"),
    ("large_yellow_circle", "yellow_circle"),
    ("large_orange_circle", "orange_circle"),
    ("large_purple_circle", "purple_circle"),
    ("large_brown_circle", "brown_circle"),
    ("red_circle", "red_circle"),
    ("thumbsup", "+1"),
    ("thumbsdown", "-1"),
    ("simple_smile", "slightly_smiling_face"),
    ("scales", "balance_scale"),
    ("thinking_face", "thinking"),
    ("spiral_calendar_pad", "spiral_calendar"),
];

/// Every emoji shortcode the page renders, with its emoji.
pub fn emoji_table() -> Value {
    let mut table = serde_json::Map::new();
    for e in emojis::iter() {
        for code in e.shortcodes() {
            table.insert(code.to_string(), json!(e.as_str()));
        }
    }
    for (slack, gemoji) in SLACK_EMOJI_NAMES {
        if let Some(e) = emojis::get_by_shortcode(gemoji) {
            table.insert((*slack).to_string(), json!(e.as_str()));
        }
    }
    Value::Object(table)
}

/// What a person did to one interactive element: in a message (see
/// [`Click`]) or in a view (a Home tab or a modal).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct ViewAction {
    pub action_id: String,
    #[serde(default)]
    pub block_id: String,
    /// `button`, `checkboxes`, `static_select` or `overflow`.
    pub kind: String,
    #[serde(default)]
    pub value: Option<String>,
    /// A checkboxes element's ticked options after the click.
    #[serde(default)]
    pub selected_options: Option<Vec<Value>>,
    /// A select's or overflow menu's picked option.
    #[serde(default)]
    pub selected_option: Option<Value>,
}

/// The war rooms of a database used before (`--reuse-database`), created
/// again in the simulator with what the database knows: name, private or
/// not, and the playground's people known to be in each. Their messages
/// are not known (they were the earlier simulator's); the bot's later
/// edits of its board and announcement post afresh. Returns how many.
async fn restore_war_rooms(simulator: &Simulator, ctx: &crate::app::Ctx) -> anyhow::Result<usize> {
    let mut restored = 0;
    for incident in ctx
        .store
        .incidents_since(chrono::DateTime::UNIX_EPOCH)
        .await?
    {
        let (Some(id), Some(name)) = (&incident.channel_id, &incident.channel_name) else {
            continue;
        };
        if simulator.channel(id.as_str()).is_some() {
            continue;
        }
        simulator.add_channel(id.as_str(), name, true);
        if incident.private {
            simulator.make_private(id.as_str());
        }
        for (person, _, _) in PEOPLE {
            let user = crate::domain::UserId::new(*person);
            if ctx.store.is_member(incident.number, &user).await? {
                simulator.add_member(id.as_str(), person);
            }
        }
        restored += 1;
    }
    Ok(restored)
}

/// Whether the bot's database already holds incidents or jobs not done.
async fn has_records(ctx: &crate::app::Ctx) -> anyhow::Result<bool> {
    let jobs = ctx.store.job_counts().await?;
    let incidents = ctx
        .store
        .incidents_since(chrono::DateTime::UNIX_EPOCH)
        .await?;
    Ok(jobs.pending + jobs.running > 0 || !incidents.is_empty())
}

/// A running playground.
pub struct Playground {
    /// The page's URL.
    pub url: String,
    pub workspace: Arc<Workspace>,
    bot_addr: SocketAddr,
    ctx: Arc<crate::app::Ctx>,
    stop_bot: tokio::sync::oneshot::Sender<()>,
    bot: tokio::task::JoinHandle<anyhow::Result<()>>,
    page: page::Server,
    /// The temporary database folder, removed on drop.
    _dir: Option<tempfile::TempDir>,
}

impl Playground {
    /// Starts the simulator, the bot on it (on `settings` with the
    /// playground's database, Slack URL, token and secret) and the page.
    pub async fn start(mut settings: Settings, options: Options) -> anyhow::Result<Playground> {
        let simulator = Simulator::bind()
            .await
            .context("cannot start the Slack simulator on 127.0.0.1")?;
        let clock = OffsetClock::new();
        let random = || {
            crate::random::hex::<16>()
                .context("the operating system gave no randomness for the playground's token")
        };
        let token = format!("xoxb-playground-{}", random()?);
        let secret = random()?;
        simulator.set_token(&token);
        simulator.set_clock(Clock::Offset(clock.clone()));
        for (id, name, _) in PEOPLE {
            simulator.set_name(id, name);
        }
        simulator.add_channel(GENERAL, "general", true);
        simulator.add_channel(INCIDENTS, "incidents", true);
        let (dir, database_url) = match options.database {
            Some(url) => (None, url),
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("warroom-playground-")
                    .tempdir()
                    .context("cannot create a temporary folder for the database")?;
                let url = format!("sqlite://{}", dir.path().join("warroom.db").display());
                (Some(dir), url)
            }
        };
        settings.database_url = database_url;
        settings.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        settings.admin_listen = None;
        settings.slack_api_url = simulator.base_url.clone();
        settings.announce_channel = Some(crate::domain::ChannelId::new(INCIDENTS));
        settings.socket_mode = false;
        // Its own Alertmanager source, whose critical alerts open a war room.
        let alert_token = SecretString::from(random()?);
        settings.alerts.sources.retain(|s| s.name != ALERT_SOURCE);
        settings.alerts.sources.push(crate::config::AlertSource {
            name: ALERT_SOURCE.to_string(),
            kind: crate::config::AlertSourceKind::Alertmanager,
            token: Some(alert_token.clone()),
            secret: None,
            signature_header: String::new(),
            timestamp_header: None,
        });
        settings.alerts.routes.0.insert(
            0,
            crate::domain::alerts::Route {
                matchers: crate::domain::alerts::Matcher::parse_list(r#"playground="true""#)
                    .context("the playground's alert route")?,
                action: crate::domain::alerts::RouteAction::Declare,
                severity: settings.severities.iter().next().map(|l| l.name.clone()),
                ..Default::default()
            },
        );
        // Its warnings suggest: a card in the announcement channel.
        settings.alerts.routes.0.insert(
            1,
            crate::domain::alerts::Route {
                matchers: crate::domain::alerts::Matcher::parse_list(r#"playground="card""#)
                    .context("the playground's card route")?,
                action: crate::domain::alerts::RouteAction::Suggest,
                severity: Some(settings.severities.least_severe().name.clone()),
                ..Default::default()
            },
        );
        settings.slack = Some(SlackSecrets {
            bot_token: SecretString::from(token),
            signing_secret: Some(SecretString::from(secret.clone())),
            app_token: None,
        });
        let settings_call_timeout = settings.slack_call_timeout;
        let app = App::build(
            settings.clone(),
            Clock::Offset(clock.clone()),
            AppOptions::default(),
        )
        .await?;
        if !options.reuse_database && has_records(&app.ctx()).await? {
            anyhow::bail!(
                "the database given with --database already holds incidents or pending jobs; \
                 the playground's workers would run them against its simulator. Use a new \
                 database, or add --reuse-database if this one is a playground's own"
            );
        }
        if options.reuse_database {
            let restored = restore_war_rooms(&simulator, &app.ctx()).await?;
            if restored > 0 {
                tracing::info!(
                    restored,
                    "the database's war rooms are shown as empty channels with their members: their earlier messages lived in the simulator of an earlier run"
                );
            }
        }
        let bot = Bot::new(
            format!("http://{}", app.local_addr()),
            SecretString::from(secret),
            Clock::Offset(clock.clone()),
        );
        let workspace = Arc::new(Workspace {
            simulator,
            clock,
            bot,
            settings,
            alert_token,
            ctx: app.ctx(),
            settle_patience: options
                .settle_patience
                .unwrap_or(settings_call_timeout + std::time::Duration::from_secs(5)),
        });
        if options.allow_remote {
            tracing::warn!(
                listen = %options.listen,
                "--allow-remote: the playground's page has no login; anyone who reaches it drives the bot"
            );
        }
        let page =
            page::Server::bind(options.listen, workspace.clone(), options.allow_remote).await?;
        let url = format!("http://{}/", page.addr());
        let (bot_addr, ctx) = (app.local_addr(), app.ctx());
        let (stop_bot, stopped) = tokio::sync::oneshot::channel::<()>();
        let bot = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Ok(Playground {
            url,
            workspace,
            bot_addr,
            ctx,
            stop_bot,
            bot,
            page,
            _dir: dir,
        })
    }

    /// Where the bot's own routes listen (inside the process).
    pub fn bot_addr(&self) -> SocketAddr {
        self.bot_addr
    }

    /// The bot's shared context (its store, clock, settings).
    pub fn ctx(&self) -> Arc<crate::app::Ctx> {
        self.ctx.clone()
    }

    /// Serves until `shutdown` completes, then stops.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        shutdown.await;
        self.stop().await
    }

    /// Stops the page, then the bot (its pending jobs resume at the next
    /// start on the same database), then removes the temporary database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.page.stop().await;
        let _ = self.stop_bot.send(());
        self.bot.await.context("the bot's task failed")??;
        drop(self._dir);
        Ok(())
    }
}

/// Opens `url` in the default browser (`xdg-open`, `open` on macOS);
/// failing is a warning, not an error.
pub fn open_in_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let spawned = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            let url = url.to_string();
            std::thread::spawn(move || match child.wait() {
                Ok(status) if status.success() => {}
                Ok(status) => tracing::warn!(
                    "{opener} could not open a browser ({status}); open {url} yourself"
                ),
                Err(e) => tracing::warn!(error = %e, "{opener} failed; open {url} yourself"),
            });
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot run {opener} to open a browser; open {url} yourself")
        }
    }
}

#[cfg(test)]
mod composer_tests {
    use super::{Composed, composed};

    fn channels() -> Vec<(String, String)> {
        vec![
            ("CGENERAL".to_string(), "general".to_string()),
            ("C0INC1".to_string(), "inc-1-checkout".to_string()),
        ]
    }

    #[test]
    fn a_command_gets_mentions_as_slack_escapes_them() {
        assert_eq!(
            composed(
                "/incident assign tech-lead @Taylor in #inc-1-checkout",
                &channels(),
                Composed::Command
            ),
            "/incident assign tech-lead <@UTAYLOR|taylor> in <#C0INC1|inc-1-checkout>"
        );
    }

    #[test]
    fn a_message_gets_bare_user_mentions() {
        assert_eq!(
            composed("thanks @sam, see #general.", &channels(), Composed::Message),
            "thanks <@USAM>, see <#CGENERAL|general>."
        );
        assert_eq!(
            composed("@here deploy frozen", &channels(), Composed::Message),
            "<!here> deploy frozen",
            "as Slack's client sends a broadcast (which the bot defuses when it repeats it)"
        );
    }

    #[test]
    fn control_characters_are_escaped_and_unknown_names_stay_text() {
        assert_eq!(
            composed(
                "a <b> & @nobody #nowhere <!here> mail@sam.example",
                &channels(),
                Composed::Command
            ),
            "a &lt;b&gt; &amp; @nobody #nowhere &lt;!here&gt; mail@sam.example"
        );
    }
}

#[cfg(test)]
mod emoji_tests {
    /// Every emoji the bot writes, and Slack's everyday ones, render.
    #[test]
    fn the_emoji_the_bot_uses_are_in_the_table() {
        let table = super::emoji_table();
        let bot_uses = [
            "pushpin",
            "memo",
            "boom",
            "eyes",
            "adhesive_bandage",
            "white_check_mark",
            "scales",
            "thinking_face",
            "rotating_light",
            "lock",
            "test_tube",
            "clipboard",
            "large_green_circle",
            "alarm_clock",
            "bulb",
            "hourglass_flowing_sand",
            "loudspeaker",
            "mag",
            "page_facing_up",
            "repeat",
            "warning",
            "x",
            "tada",
            "fire",
            "red_circle",
            "large_yellow_circle",
            "large_orange_circle",
            "+1",
            "-1",
            "heavy_check_mark",
            "telephone_receiver",
            "busts_in_silhouette",
            "calendar",
            "sunny",
            "spiral_calendar_pad",
            "pager",
            "sleeping",
            "rocket",
        ];
        let missing: Vec<&str> = bot_uses
            .iter()
            .copied()
            .filter(|name| table.get(*name).is_none())
            .collect();
        assert!(missing.is_empty(), "no emoji for {missing:?}");
        assert!(table.as_object().is_some_and(|t| t.len() > 1500));
    }
}
