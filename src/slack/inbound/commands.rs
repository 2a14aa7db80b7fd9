//! A slash command's form body.

use super::InboundError;
use crate::domain::{ChannelId, UserId};

/// A slash command invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlashCommand {
    pub command: String,
    pub text: String,
    pub user: UserId,
    pub channel_id: ChannelId,
    pub trigger_id: String,
    pub response_url: String,
}

impl SlashCommand {
    pub fn parse(body: &[u8]) -> Result<Self, InboundError> {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body)?;
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let need = |name: &str| get(name).ok_or_else(|| InboundError::Incomplete(name.to_string()));
        Ok(SlashCommand {
            command: need("command")?,
            text: get("text").unwrap_or_default(),
            user: UserId(need("user_id")?),
            channel_id: ChannelId(need("channel_id")?),
            trigger_id: need("trigger_id")?,
            response_url: get("response_url").unwrap_or_default(),
        })
    }

    pub fn user(&self) -> UserId {
        self.user.clone()
    }
}
