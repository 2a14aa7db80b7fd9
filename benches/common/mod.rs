//! What the benchmarks share: the integration harness (real server, fake
//! Slack) and the percentile report.

#![allow(dead_code)]

/// The library's Slack simulator, under the name the harness knows it by.
pub mod fake_slack {
    pub use warroom::playground::slack::Simulator as FakeSlack;
    #[allow(unused_imports)] // each bench uses a part
    pub use warroom::playground::slack::*;
}
#[path = "../../tests/it/fake_socket.rs"]
pub mod fake_socket;
#[path = "../../tests/it/helpers.rs"]
pub mod helpers;
#[path = "../../tests/it/pg.rs"]
pub mod pg;

use std::time::Duration;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Prints n, p50, p90, p99 and max of `samples`.
pub fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name}: n={} p50={:.2?} p90={:.2?} p99={:.2?} max={:.2?}",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.9),
        percentile(&samples, 0.99),
        samples[samples.len() - 1]
    );
}

/// The multi-threaded runtime the benchmarks run on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
