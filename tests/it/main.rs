//! The integration suite: one binary, the real server over HTTP, a fake
//! Slack on 127.0.0.1, a fresh SQLite file per test.

mod fake_slack;
mod helpers;
mod manifest;
mod pg;

mod cli;
#[cfg(unix)]
mod crash;
mod declare;
mod failures;
mod pacing;
mod permissions;
mod postmortem;
mod reminders;
mod replicas;
mod resilience;
mod roles;
mod security;
mod store;
mod timeline;
