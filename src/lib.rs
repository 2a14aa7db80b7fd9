//! warroom: a self-hosted Slack bot that runs incidents in chat.
//! See ARCHITECTURE.md for the map.

pub mod alerts;
pub mod api;
pub mod app;
pub mod backup;
pub mod check;
pub mod clock;
pub mod command;
pub mod config;
pub mod db;
pub mod dispatch;
pub mod domain;
pub mod jobs;
pub mod metrics;
pub mod net;
#[cfg(feature = "playground")]
pub mod playground;
pub mod postmortem;
pub mod queue;
pub mod random;
pub mod readiness;
pub mod record;
pub mod reminders;
pub mod service;
pub mod slack;
pub mod startup;
pub mod store;
pub mod transport;
pub mod web;
pub mod webhooks;
