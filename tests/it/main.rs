//! The integration suite: one binary, the real server over HTTP, a fake
//! Slack on 127.0.0.1, a fresh SQLite file per test.

/// The library's Slack simulator, under the name the tests know it by.
mod fake_slack {
    pub use warroom::playground::slack::Simulator as FakeSlack;
    pub use warroom::playground::slack::*;
}
mod fake_socket;
mod helpers;
mod manifest;
mod matrix;
mod mentions;
mod modules;
mod monitoring;
mod outage;
mod pg;
mod playground;

mod alertmanager;
mod alerts;
mod api;
mod browser;
mod cli;
#[cfg(unix)]
mod crash;
mod declare;
mod deploy;
mod doors;
mod failures;
mod followups;
mod ops;
mod pacing;
mod permissions;
mod postmortem;
mod private;
mod process;
mod reminders;
mod replicas;
mod resilience;
mod roles;
mod security;
mod shapes;
mod sleeps;
mod socket;
mod store;
mod timeline;
mod web;
mod webhooks;
