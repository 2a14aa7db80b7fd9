//! Slack's inbound payloads → typed values. The only place that reads them:
//! slash commands (`commands`), interactions (`interactions`: buttons and
//! the modals' submissions, whose fields `forms` reads), and the Events API
//! (`events`). Every shape is read leniently; tests beside each in `tests`.

mod commands;
mod events;
mod forms;
mod interactions;
#[cfg(test)]
mod tests;

pub use commands::SlashCommand;
pub use events::{DeclareStep, Event, EventEnvelope, Reaction};
pub use forms::{DeclareForm, FollowupForm, SeverityForm, declare_ids};
pub use interactions::{Action, DeclareMetadata, Interaction, MessageShortcut, RemoveMetadata};

use super::lenient;

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("malformed form body: {0}")]
    Form(#[from] serde_urlencoded::de::Error),
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Well-formed form data that lacks what a slash command must carry.
    #[error("a slash command without {0}")]
    Incomplete(String),
}
