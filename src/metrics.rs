//! Prometheus metrics (`GET /metrics`): counters and histograms updated as
//! things happen, gauges read from the database at a scrape (at most once
//! a second whoever scrapes), and the Web API client's own counters
//! (`slack::telemetry`) registered here. Labels are bounded: endpoints,
//! outcomes, kinds, methods and configured severities, never a channel, a
//! user or an incident.

use crate::queue::{JobCounts, JobOutcome};
use crate::store::{OperatorGauges, Store};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlertLabels {
    source: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    endpoint: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointOnly {
    endpoint: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabels {
    r#type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SeverityLabels {
    severity: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

pub struct Metrics {
    registry: Registry,
    reminders: Family<KindLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
    jobs: Family<JobLabels, Counter>,
    queue: Family<StateLabels, Gauge>,
    declared: Counter,
    alerts: Family<AlertLabels, Counter>,
    alert_groups: Gauge,
    latency: Family<EndpointOnly, Histogram, fn() -> Histogram>,
    sockets: Gauge,
    reconnects: Counter,
    envelopes: Family<TypeLabels, Counter>,
    incidents_open: Family<SeverityLabels, Gauge>,
    job_lag: Family<KindLabels, Gauge>,
    slack_pauses: Gauge,
    ready: Gauge,
    database_up: Gauge,
    sockets_wanted: Gauge,
    reminders_late: Family<KindLabels, Counter>,
    webhooks: Family<WebhookLabels, Counter>,
    webhook_pending: Family<EndpointLabels, Gauge>,
    webhook_oldest: Family<EndpointLabels, Gauge>,
    /// The job counts of the last scrape and when they were read: scrapes
    /// closer together than `QUEUE_READ_EVERY` reuse them, so the database
    /// sees at most one cheap aggregate a second whoever scrapes.
    queue_read: tokio::sync::Mutex<Option<(std::time::Instant, Read)>>,
}

/// What one scrape read from the database.
#[derive(Clone, Debug, Default)]
struct Read {
    counts: JobCounts,
    alert_groups: i64,
    operator: OperatorGauges,
}

/// A reminder fired later than this after it was due counts as late.
pub const LATE_REMINDER: chrono::Duration = chrono::Duration::seconds(60);

/// How long the queue gauges of one scrape are reused.
const QUEUE_READ_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl Default for Metrics {
    fn default() -> Self {
        Self::new(&crate::slack::telemetry::SlackTelemetry::default())
    }
}

impl Metrics {
    /// The registry, with the Web API client's counters `slack` in it.
    pub fn new(slack: &crate::slack::telemetry::SlackTelemetry) -> Self {
        let mut registry = Registry::with_prefix("warroom");
        let latency = Family::<EndpointOnly, Histogram, fn() -> Histogram>::new_with_constructor(
            crate::slack::telemetry::histogram,
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer a request from Slack, an alert source or the read API (Socket Mode: to ack an envelope), by endpoint",
            latency.clone(),
        );
        registry.register(
            "slack_calls",
            "Slack Web API calls by method and outcome (ok, error, rate_limited, timeout, transport)",
            slack.calls.clone(),
        );
        registry.register(
            "slack_call_duration_seconds",
            "Slack Web API call latency by method",
            slack.latency.clone(),
        );
        registry.register(
            "slack_held_back",
            "Web API calls the pacer held back before sending, by class (paused, per_channel, tier1 to tier4)",
            slack.held_back.clone(),
        );
        let slack_pauses = Gauge::default();
        registry.register(
            "slack_pauses",
            "Retry-After pauses Slack asked for that are in force",
            slack_pauses.clone(),
        );
        let ready = Gauge::default();
        registry.register(
            "ready",
            "1 when /readyz would answer 200 (migrated, the database answering, in Socket Mode a socket connected)",
            ready.clone(),
        );
        let database_up = Gauge::default();
        registry.register(
            "database_up",
            "1 when the database answered its last check (at most 2 s old)",
            database_up.clone(),
        );
        let sockets_wanted = Gauge::default();
        registry.register(
            "socket_connections_wanted",
            "Socket Mode connections warroom keeps open (0 over HTTP)",
            sockets_wanted.clone(),
        );
        let sockets = Gauge::default();
        registry.register(
            "socket_connections",
            "Socket Mode connections open",
            sockets.clone(),
        );
        let reconnects = Counter::default();
        registry.register(
            "socket_reconnects",
            "Socket Mode connections opened again after one closed or failed",
            reconnects.clone(),
        );
        let envelopes = Family::<TypeLabels, Counter>::default();
        registry.register(
            "socket_envelopes",
            "Socket Mode envelopes received by type (slash_commands, interactive, events_api, other)",
            envelopes.clone(),
        );
        let incidents_open = Family::<SeverityLabels, Gauge>::default();
        registry.register(
            "incidents_open",
            "Open incidents by severity (private ones counted)",
            incidents_open.clone(),
        );
        let job_lag = Family::<KindLabels, Gauge>::default();
        registry.register(
            "job_lag_seconds",
            "How long the oldest due job of each kind has waited",
            job_lag.clone(),
        );
        let reminders_late = Family::<KindLabels, Counter>::default();
        registry.register(
            "reminders_late",
            "Reminders fired more than 60 s after they were due, by kind",
            reminders_late.clone(),
        );
        let build_info = Family::<VersionLabels, Gauge>::default();
        build_info
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("build_info", "The running version", build_info);
        // Series of the fixed label sets exist from the start, at 0, so
        // rates and alert rules see them before the first event.
        for endpoint in [
            "commands",
            "events",
            "interactivity",
            "alerts",
            "api",
            "socket",
        ] {
            drop(latency.get_or_create(&EndpointOnly { endpoint }));
        }
        for kind in ["slash_commands", "interactive", "events_api", "other"] {
            drop(envelopes.get_or_create(&TypeLabels { r#type: kind }));
        }
        for kind in [
            "nudge",
            "due",
            "scribe_quiet",
            "checklist",
            "followup_digest",
        ] {
            drop(reminders_late.get_or_create(&KindLabels { kind }));
        }
        for class in ["paused", "per_channel", "tier1", "tier2", "tier3", "tier4"] {
            slack.held_back(class, 0);
        }
        let requests = Family::<RequestLabels, Counter>::default();
        let jobs = Family::<JobLabels, Counter>::default();
        let queue = Family::<StateLabels, Gauge>::default();
        let declared = Counter::default();
        let reminders = Family::<KindLabels, Counter>::default();
        registry.register(
            "reminders_fired",
            "Reminders sent, by kind",
            reminders.clone(),
        );
        registry.register(
            "requests",
            "Requests from Slack by endpoint and outcome (ok, ignored, duplicate, busy, challenge, malformed, unauthorized, error)",
            requests.clone(),
        );
        registry.register(
            "jobs_finished",
            "Slack jobs run, by kind and outcome (done, retry, failed)",
            jobs.clone(),
        );
        registry.register("jobs", "Jobs in the queue by state", queue.clone());
        registry.register("incidents_declared", "Incidents declared", declared.clone());
        let alerts = Family::<AlertLabels, Counter>::default();
        registry.register(
            "alerts_received",
            "Alert notifications by source and status (firing, resolved, event, duplicate, ignored, unauthorized, malformed, error)",
            alerts.clone(),
        );
        let alert_groups = Gauge::default();
        registry.register(
            "alert_groups_open",
            "Alert groups with an alert firing",
            alert_groups.clone(),
        );
        let webhooks = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by endpoint and outcome (delivered, retry, failed, gone)",
            webhooks.clone(),
        );
        let webhook_pending = Family::<EndpointLabels, Gauge>::default();
        registry.register(
            "webhook_pending",
            "Webhook deliveries not yet made, by endpoint",
            webhook_pending.clone(),
        );
        let webhook_oldest = Family::<EndpointLabels, Gauge>::default();
        registry.register(
            "webhook_oldest_pending_seconds",
            "Age of the oldest undelivered event, by endpoint (0: none)",
            webhook_oldest.clone(),
        );
        Self {
            registry,
            latency,
            sockets,
            reconnects,
            envelopes,
            incidents_open,
            job_lag,
            slack_pauses,
            ready,
            database_up,
            sockets_wanted,
            reminders_late,
            webhooks,
            webhook_pending,
            webhook_oldest,
            reminders,
            requests,
            jobs,
            queue,
            declared,
            alerts,
            alert_groups,
            queue_read: tokio::sync::Mutex::new(None),
        }
    }

    pub fn request(&self, endpoint: &'static str, outcome: &'static str) {
        self.requests
            .get_or_create(&RequestLabels { endpoint, outcome })
            .inc();
    }

    pub fn job_finished(&self, kind: &'static str, outcome: &JobOutcome) {
        let outcome = match outcome {
            JobOutcome::Done => "done",
            JobOutcome::Retry { .. } => "retry",
            JobOutcome::Deferred { .. } => "deferred",
            JobOutcome::Failed { .. } => "failed",
        };
        self.jobs.get_or_create(&JobLabels { kind, outcome }).inc();
    }

    /// A reminder of `kind` fired `late` after it was due.
    pub fn reminder_fired(&self, kind: &'static str, late: chrono::Duration) {
        self.reminders.get_or_create(&KindLabels { kind }).inc();
        if late > LATE_REMINDER {
            self.reminders_late
                .get_or_create(&KindLabels { kind })
                .inc();
        }
    }

    /// A request to `endpoint` answered after `seconds`.
    pub fn answered(&self, endpoint: &'static str, seconds: f64) {
        self.latency
            .get_or_create(&EndpointOnly { endpoint })
            .observe(seconds);
    }

    /// What `/readyz` would answer, and whether the database answers.
    pub fn readiness(&self, ready: bool, database: bool) {
        self.ready.set(i64::from(ready));
        self.database_up.set(i64::from(database));
    }

    /// Socket Mode keeps `n` connections open.
    pub fn sockets_wanted(&self, n: usize) {
        self.sockets_wanted
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// A Socket Mode connection said hello.
    pub fn socket_up(&self) {
        self.sockets.inc();
    }

    /// A Socket Mode connection that had said hello closed.
    pub fn socket_down(&self) {
        self.sockets.dec();
    }

    /// A Socket Mode connection was opened to replace one (lost, refreshed).
    pub fn socket_reconnected(&self) {
        self.reconnects.inc();
    }

    /// A Socket Mode envelope of `kind` arrived.
    pub fn envelope(&self, kind: &str) {
        let kind = match kind {
            "slash_commands" => "slash_commands",
            "interactive" => "interactive",
            "events_api" => "events_api",
            "hello" => "hello",
            "disconnect" => "disconnect",
            _ => "other",
        };
        self.envelopes
            .get_or_create(&TypeLabels { r#type: kind })
            .inc();
    }

    pub fn declared(&self) {
        self.declared.inc();
    }

    /// A notification from alert source `source`, by what became of it.
    pub fn alert_received(&self, source: &str, status: &'static str) {
        self.alerts
            .get_or_create(&AlertLabels {
                source: source.to_string(),
                status,
            })
            .inc();
    }

    /// One webhook delivery attempt to `endpoint`, by how it ended.
    pub fn webhook_delivery(&self, endpoint: &str, outcome: &'static str) {
        self.webhooks
            .get_or_create(&WebhookLabels {
                endpoint: endpoint.to_string(),
                outcome,
            })
            .inc();
    }

    /// Sets the webhook gauges from the endpoints' status, ages at `now`.
    pub fn webhook_backlog(
        &self,
        endpoints: &[crate::store::EndpointStatus],
        now: chrono::DateTime<chrono::Utc>,
    ) {
        for e in endpoints {
            let labels = EndpointLabels {
                endpoint: e.name.clone(),
            };
            self.webhook_pending.get_or_create(&labels).set(e.pending);
            let age = e
                .oldest_pending
                .map(|t| (now - t).num_seconds().max(0))
                .unwrap_or(0);
            self.webhook_oldest.get_or_create(&labels).set(age);
        }
    }

    /// The text exposition for `GET /metrics`: the queue gauges come from
    /// one indexed `GROUP BY` on the jobs table, the alert gauge from one
    /// count on a partial index, open incidents and job lag from two more
    /// small reads, at most once a second (a failed read keeps the last
    /// figures); the pauses in force from the client, in memory.
    pub async fn scrape(
        &self,
        store: &dyn Store,
        slack: &crate::slack::client::SlackApi,
        now: chrono::DateTime<chrono::Utc>,
    ) -> String {
        let read = {
            let mut last = self.queue_read.lock().await;
            match &*last {
                Some((at, read)) if at.elapsed() < QUEUE_READ_EVERY => read.clone(),
                previous => {
                    let old = previous
                        .as_ref()
                        .map(|(_, r)| r.clone())
                        .unwrap_or_default();
                    let counts = store.job_counts().await.unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "cannot read the job queue for /metrics");
                        old.counts.clone()
                    });
                    let alert_groups = store.open_alert_groups().await.unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "cannot count alert groups for /metrics");
                        old.alert_groups
                    });
                    let operator = store.operator_gauges(now).await.unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "cannot read open incidents and job lag for /metrics");
                        old.operator.clone()
                    });
                    let read = Read {
                        counts,
                        alert_groups,
                        operator,
                    };
                    *last = Some((std::time::Instant::now(), read.clone()));
                    read
                }
            }
        };
        self.alert_groups.set(read.alert_groups);
        self.incidents_open.clear();
        for (severity, n) in &read.operator.open_by_severity {
            self.incidents_open
                .get_or_create(&SeverityLabels {
                    severity: severity.clone(),
                })
                .set(*n);
        }
        self.job_lag.clear();
        for (kind, waited) in &read.operator.job_lag {
            self.job_lag
                .get_or_create(&KindLabels { kind })
                .set(waited.num_seconds().max(0));
        }
        self.slack_pauses
            .set(i64::try_from(slack.pauses_in_force()).unwrap_or(i64::MAX));
        self.render(&read.counts)
    }

    /// The text exposition, with the queue gauges set from `counts`.
    pub fn render(&self, counts: &JobCounts) -> String {
        for (state, n) in [
            ("pending", counts.pending),
            ("running", counts.running),
            ("done", counts.done),
            ("failed", counts.failed),
        ] {
            self.queue.get_or_create(&StateLabels { state }).set(n);
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
