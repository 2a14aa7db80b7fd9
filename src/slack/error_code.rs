//! Slack's `error` codes that the bot reacts to, parsed once from the
//! answer ([`SlackErrorCode::parse`], called where the client sorts errors):
//! past this point code matches on variants, never on strings. A code the
//! bot has no special handling for is `Other`, kept verbatim so logs and
//! notices can quote it.

use std::fmt;

/// Declares the known codes once: each variant beside the exact code Slack
/// sends, for parsing and for display.
macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal,)+) => {
        /// A Slack Web API error code.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum SlackErrorCode {
            $($(#[$doc])* $variant,)+
            /// `invalid_name…` (`invalid_name_specials`, `_maxlength`, …),
            /// verbatim.
            InvalidName(String),
            /// Any other code, verbatim.
            Other(String),
        }

        impl SlackErrorCode {
            /// The code as Slack sent it.
            pub fn parse(code: &str) -> Self {
                match code {
                    $($code => SlackErrorCode::$variant,)+
                    c if c.starts_with("invalid_name") => SlackErrorCode::InvalidName(c.to_string()),
                    c => SlackErrorCode::Other(c.to_string()),
                }
            }

            /// The code as Slack spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(SlackErrorCode::$variant => $code,)+
                    SlackErrorCode::InvalidName(c) | SlackErrorCode::Other(c) => c,
                }
            }

            #[cfg(test)]
            const KNOWN: &[&str] = &[$($code,)+];
        }
    };
}

codes! {
    // Try again later.
    Ratelimited = "ratelimited",
    InternalError = "internal_error",
    FatalError = "fatal_error",
    ServiceUnavailable = "service_unavailable",
    RequestTimeout = "request_timeout",
    // Channels.
    NameTaken = "name_taken",
    NotInChannel = "not_in_channel",
    AlreadyInChannel = "already_in_channel",
    ChannelNotFound = "channel_not_found",
    IsArchived = "is_archived",
    MethodNotSupportedForChannelType = "method_not_supported_for_channel_type",
    RestrictedAction = "restricted_action",
    // Messages and reactions.
    MessageNotFound = "message_not_found",
    ThreadNotFound = "thread_not_found",
    CantUpdateMessage = "cant_update_message",
    AlreadyReacted = "already_reacted",
    MsgTooLong = "msg_too_long",
    TooManyAttachments = "too_many_attachments",
    InvalidBlocks = "invalid_blocks",
    // Permissions and the token.
    MissingScope = "missing_scope",
    NotAllowedTokenType = "not_allowed_token_type",
    NoPermission = "no_permission",
    AccountInactive = "account_inactive",
    InvalidAuth = "invalid_auth",
    TokenRevoked = "token_revoked",
    TokenExpired = "token_expired",
    NotAuthed = "not_authed",
    // People.
    UserNotFound = "user_not_found",
    UserDisabled = "user_disabled",
    CantInvite = "cant_invite",
    UserIsRestricted = "user_is_restricted",
    UraMaxChannels = "ura_max_channels",
    // Modals: the `trigger_id` outlived its three seconds or was used.
    ExpiredTriggerId = "expired_trigger_id",
    TriggerExpired = "trigger_expired",
    ExchangedTriggerId = "exchanged_trigger_id",
}

impl SlackErrorCode {
    /// Codes that mean "try again later".
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SlackErrorCode::Ratelimited
                | SlackErrorCode::InternalError
                | SlackErrorCode::FatalError
                | SlackErrorCode::ServiceUnavailable
                | SlackErrorCode::RequestTimeout
        )
    }

    /// The `trigger_id` can no longer open a modal: `expired_trigger_id` is
    /// what `views.open` documents, `trigger_expired` the older dialog
    /// name, `exchanged_trigger_id` one used already.
    pub fn is_expired_trigger(&self) -> bool {
        matches!(
            self,
            SlackErrorCode::ExpiredTriggerId
                | SlackErrorCode::TriggerExpired
                | SlackErrorCode::ExchangedTriggerId
        )
    }
}

impl From<&str> for SlackErrorCode {
    fn from(code: &str) -> Self {
        SlackErrorCode::parse(code)
    }
}

impl fmt::Display for SlackErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_round_trips() {
        for code in SlackErrorCode::KNOWN {
            let parsed = SlackErrorCode::parse(code);
            assert!(
                !matches!(parsed, SlackErrorCode::Other(_)),
                "{code} is known"
            );
            assert_eq!(parsed.to_string(), *code);
        }
    }

    #[test]
    fn unknown_and_invalid_name_codes_are_kept_verbatim() {
        assert_eq!(
            SlackErrorCode::parse("invalid_name_specials"),
            SlackErrorCode::InvalidName("invalid_name_specials".to_string())
        );
        assert_eq!(
            SlackErrorCode::parse("something_new"),
            SlackErrorCode::Other("something_new".to_string())
        );
        assert_eq!(SlackErrorCode::parse("").to_string(), "");
    }
}
