//! The integration suite: one binary, the real server over HTTP, a fake
//! Slack on 127.0.0.1, a fresh SQLite file per test.

mod fake_slack;
mod fake_socket;
mod helpers;
mod manifest;
mod matrix;
mod mentions;
mod pg;

mod cli;
#[cfg(unix)]
mod crash;
mod declare;
mod deploy;
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
mod socket;
mod store;
mod timeline;
