//! Everything that knows Slack's wire formats: request signatures, inbound
//! payloads, Block Kit rendering, the Web API client and the Socket Mode
//! client.

pub mod blocks;
pub mod client;
pub mod inbound;
pub mod signature;
pub mod socket;

#[cfg(test)]
mod fuzz_tests;

pub use client::{CallError, SlackApi};
