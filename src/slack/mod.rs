//! Everything that knows Slack's wire formats: request signatures, inbound
//! payloads, Block Kit rendering and the Web API client.

pub mod blocks;
pub mod client;
pub mod inbound;
pub mod pacer;
pub mod signature;

#[cfg(test)]
mod fuzz_tests;

pub use client::{CallError, SlackApi};
