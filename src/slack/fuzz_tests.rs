//! Property tests: no input from outside makes a parser panic.

use super::inbound::{EventEnvelope, Interaction, SlashCommand};
use proptest::prelude::*;

/// JSON-ish text built from Slack's own shapes, so the parsers get past
/// their first brace and exercise the typed paths.
fn slackish() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("\"type\"".to_string()),
        Just("\"event\"".to_string()),
        Just("\"event_callback\"".to_string()),
        Just("\"reaction_added\"".to_string()),
        Just("\"message\"".to_string()),
        Just("\"block_actions\"".to_string()),
        Just("\"view_submission\"".to_string()),
        Just("\"actions\"".to_string()),
        Just("\"value\"".to_string()),
        Just("\"1|Scribe\"".to_string()),
        Just("\"state\"".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(":".to_string()),
        Just(",".to_string()),
        Just("null".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "\"[a-zA-Z0-9_.|<>@-]{0,12}\"",
    ];
    proptest::collection::vec(atom, 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn command_text_never_panics(text in "\\PC{0,200}") {
        let _ = crate::command::parse(&text);
    }

    #[test]
    fn slash_command_forms_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = SlashCommand::parse(&body);
    }

    #[test]
    fn event_bodies_never_panic(body in slackish()) {
        let _ = EventEnvelope::parse(body.as_bytes());
    }

    #[test]
    fn interaction_payloads_never_panic(payload in slackish()) {
        let body = serde_urlencoded::to_string([("payload", payload)]).unwrap_or_default();
        let _ = Interaction::parse(body.as_bytes());
    }

    #[test]
    fn raw_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = EventEnvelope::parse(&body);
        let _ = Interaction::parse(&body);
    }
}
