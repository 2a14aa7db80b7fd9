//! Prometheus metrics (`GET /metrics`).

use crate::store::{JobCounts, JobOutcome};
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
}

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
            "slack_requests",
            "Requests from Slack by endpoint and outcome",
            requests.clone(),
        );
        registry.register(
            "jobs_finished",
            "Slack jobs run, by kind and outcome (done, retry, failed)",
            jobs.clone(),
        );
        registry.register("jobs", "Jobs in the queue by state", queue.clone());
        registry.register("incidents_declared", "Incidents declared", declared.clone());
        Self {
            registry,
            reminders,
            requests,
            jobs,
            queue,
            declared,
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
