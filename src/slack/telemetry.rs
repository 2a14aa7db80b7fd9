//! What the Web API client counts for `/metrics`: calls by method and
//! outcome, their latency, and the calls the pacer held back, by class.
//! Labels are bounded: our own method names and fixed outcome and class
//! names, never a channel or a user.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

/// Latency buckets (seconds) for a world where Slack gives 3 s.
pub const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0,
];

pub fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub method: &'static str,
    /// `ok`, `error` (Slack answered `ok: false`), `rate_limited` (429),
    /// `timeout`, `unreadable`, `transport` (no answer).
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClassLabels {
    /// `paused` (a `Retry-After` in force), `per_channel`, `tier1`…`tier4`.
    pub class: &'static str,
}

/// The client's counters, shared with the registry (`crate::metrics`).
#[derive(Clone)]
pub struct SlackTelemetry {
    pub calls: Family<CallLabels, Counter>,
    pub latency: Family<MethodLabels, Histogram, fn() -> Histogram>,
    pub held_back: Family<ClassLabels, Counter>,
}

impl Default for SlackTelemetry {
    fn default() -> Self {
        Self {
            calls: Family::default(),
            latency: Family::new_with_constructor(histogram),
            held_back: Family::default(),
        }
    }
}

impl SlackTelemetry {
    pub fn call(&self, method: &'static str, outcome: &'static str, seconds: f64) {
        self.calls
            .get_or_create(&CallLabels { method, outcome })
            .inc();
        self.latency
            .get_or_create(&MethodLabels { method })
            .observe(seconds);
    }

    /// `n` calls of `class` held back (0: make the series exist).
    pub fn held_back(&self, class: &'static str, n: u64) {
        self.held_back
            .get_or_create(&ClassLabels { class })
            .inc_by(n);
    }
}
