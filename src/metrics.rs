//! Prometheus metrics (`GET /metrics`).

use crate::queue::{JobCounts, JobOutcome, Queue};
use crate::store::AlertStore;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
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
    webhooks: Family<WebhookLabels, Counter>,
    webhook_pending: Family<EndpointLabels, Gauge>,
    webhook_oldest: Family<EndpointLabels, Gauge>,
    /// The job counts of the last scrape and when they were read: scrapes
    /// closer together than `QUEUE_READ_EVERY` reuse them, so the database
    /// sees at most one cheap aggregate a second whoever scrapes.
    queue_read: tokio::sync::Mutex<Option<(std::time::Instant, JobCounts, i64)>>,
}

/// How long the queue gauges of one scrape are reused.
const QUEUE_READ_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("warroom");
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

    pub fn reminder_fired(&self, kind: &'static str) {
        self.reminders.get_or_create(&KindLabels { kind }).inc();
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
    /// one indexed `GROUP BY` on the jobs table and the alert gauge from
    /// one count on a partial index, read at most once a second (a failed
    /// read keeps the last figures).
    pub async fn scrape(&self, queue: &dyn Queue, alerts: &dyn AlertStore) -> String {
        let (counts, groups) = {
            let mut last = self.queue_read.lock().await;
            match &*last {
                Some((at, counts, groups)) if at.elapsed() < QUEUE_READ_EVERY => {
                    (counts.clone(), *groups)
                }
                previous => {
                    let counts = match queue.job_counts().await {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot read the job queue for /metrics");
                            previous
                                .as_ref()
                                .map(|(_, c, _)| c.clone())
                                .unwrap_or_default()
                        }
                    };
                    let groups = match alerts.open_alert_groups().await {
                        Ok(n) => n,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot count alert groups for /metrics");
                            previous.as_ref().map(|(_, _, g)| *g).unwrap_or_default()
                        }
                    };
                    *last = Some((std::time::Instant::now(), counts.clone(), groups));
                    (counts, groups)
                }
            }
        };
        self.alert_groups.set(groups);
        self.render(&counts)
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
