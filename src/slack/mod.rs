//! Everything that knows Slack's wire formats: request signatures, inbound
//! payloads, Block Kit rendering, the Web API client and the Socket Mode
//! client.

pub mod blocks;
pub mod client;
pub mod error_code;
pub mod ids;
pub mod inbound;
pub mod notices;
pub mod pacer;
pub mod probe;
pub mod render;
pub mod replies;
pub mod signature;
pub mod telemetry;
pub mod text;
pub mod web;

#[cfg(test)]
mod fuzz_tests;

pub use client::{CallError, SlackApi};
pub use error_code::SlackErrorCode;

/// Reads a field the bot uses, or `None` when it is absent or Slack sent it
/// in a shape the bot does not know (an object where a string was
/// expected, say): one unexpected field must not make a whole payload or
/// answer unreadable. For `#[serde(default, deserialize_with = "lenient")]`.
pub(crate) fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::Deserialize;
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}
