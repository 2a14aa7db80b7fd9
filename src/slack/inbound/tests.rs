//! Payload shapes read by `inbound`, one test per shape or rule.

use super::*;
use crate::domain::UserId;

fn form(payload: serde_json::Value) -> Vec<u8> {
    serde_urlencoded::to_string([("payload", payload.to_string())])
        .unwrap()
        .into_bytes()
}

#[test]
fn slash_command_form() {
    let body = b"token=x&team_id=T1&channel_id=C1&user_id=U1&user_name=a&command=%2Fincident&text=declare+DB+down&response_url=https%3A%2F%2Fexample&trigger_id=1.2.3";
    let c = SlashCommand::parse(body).unwrap();
    assert_eq!(c.text, "declare DB down");
    assert_eq!(c.user(), UserId("U1".into()));
    assert!(SlashCommand::parse(b"text=hi").is_err());
}

#[test]
fn claim_button() {
    let body = form(serde_json::json!({
        "type": "block_actions",
        "user": {"id": "U2", "username": "b"},
        "channel": {"id": "C9"},
        "actions": [{"action_id": "role.claim", "value": "4|Scribe", "type": "button"}]
    }));
    assert_eq!(
        Interaction::parse(&body).unwrap(),
        Interaction::Action {
            user: UserId("U2".into()),
            channel: Some(crate::domain::ChannelId::new("C9")),
            trigger_id: String::new(),
            action: Action::Claim {
                incident: crate::domain::IncidentNumber::new(4),
                role: crate::domain::RoleName::new("Scribe")
            }
        }
    );
}

#[test]
fn checklist_ticks_and_bridge_links() {
    let click = |action: serde_json::Value| {
        Interaction::parse(&form(serde_json::json!({
            "type": "block_actions",
            "user": {"id": "U1"},
            "channel": {"id": "C1"},
            "actions": [action]
        })))
        .unwrap()
    };
    let tick = |i: Interaction| match i {
        Interaction::Action { action, .. } => action,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        tick(click(
            serde_json::json!({"action_id": "checklist.tick|7|2", "type": "checkboxes",
            "selected_options": [{"value": "done", "text": {"type": "plain_text", "text": "Done"}}]})
        )),
        Action::Tick {
            checklist: crate::domain::ChecklistId::new(7),
            task: 2,
            done: true
        }
    );
    assert_eq!(
        tick(click(
            serde_json::json!({"action_id": "checklist.tick|7|2", "type": "checkboxes", "selected_options": []})
        )),
        Action::Tick {
            checklist: crate::domain::ChecklistId::new(7),
            task: 2,
            done: false
        }
    );
    assert!(matches!(
        tick(click(
            serde_json::json!({"action_id": "checklist.tick|x|2", "type": "checkboxes"})
        )),
        Action::Unknown(_)
    ));
    assert!(matches!(
        click(serde_json::json!({"action_id": "bridge.join", "type": "button"})),
        Interaction::Other(_)
    ));
}

#[test]
fn declare_submission() {
    let body = form(serde_json::json!({
        "type": "view_submission",
        "user": {"id": "U1"},
        "view": {
            "id": "V1", "callback_id": "declare",
            "private_metadata": "{\"channel\":\"C1\"}",
            "state": {"values": {
                "title": {"value": {"type": "plain_text_input", "value": "  DB down "}},
                "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV1"}}},
                "impact": {"value": {"type": "datetimepicker", "selected_date_time": 1700000000}},
                "flags": {"value": {"type": "checkboxes", "selected_options": [{"value": "drill"}]}}
            }}
        }
    }));
    let Interaction::DeclareSubmitted { form, metadata, .. } = Interaction::parse(&body).unwrap()
    else {
        panic!("not a declaration");
    };
    assert_eq!(form.title, "DB down");
    assert_eq!(form.severity.as_deref(), Some("SEV1"));
    assert!(form.drill && !form.security);
    assert_eq!(form.impact_started_at.unwrap().timestamp(), 1700000000);
    assert_eq!(metadata.unwrap().channel.unwrap().as_str(), "C1");
}

fn event(inner: serde_json::Value) -> Event {
    let body = serde_json::json!({"type": "event_callback", "event_id": "Ev1", "team_id": "T1", "event": inner});
    match EventEnvelope::parse(body.to_string().as_bytes()).unwrap() {
        EventEnvelope::Callback { event, .. } => event,
        other => panic!("{other:?}"),
    }
}

#[test]
fn events_we_act_on() {
    let r = Reaction {
        user: UserId("U1".into()),
        reaction: "pushpin".into(),
        channel: crate::domain::ChannelId::new("C1"),
        ts: crate::domain::MessageTs::new("1.2"),
    };
    assert_eq!(
        event(
            serde_json::json!({"type": "reaction_added", "user": "U1", "reaction": "pushpin", "item_user": "U2",
            "item": {"type": "message", "channel": "C1", "ts": "1.2"}, "event_ts": "3.4"})
        ),
        Event::ReactionAdded(r.clone())
    );
    assert_eq!(
        event(
            serde_json::json!({"type": "reaction_removed", "user": "U1", "reaction": "pushpin",
            "item": {"type": "message", "channel": "C1", "ts": "1.2"}, "event_ts": "3.4"})
        ),
        Event::ReactionRemoved(r)
    );
    assert!(matches!(
        event(
            serde_json::json!({"type": "reaction_added", "user": "U1", "reaction": "pushpin", "item": {"type": "file", "file": "F1"}})
        ),
        Event::Other(_)
    ));
    assert_eq!(
        event(
            serde_json::json!({"type": "message", "subtype": "message_changed", "channel": "C1", "hidden": true,
            "message": {"type": "message", "user": "U2", "text": "new text", "ts": "1.2", "edited": {"user": "U2", "ts": "5.6"}},
            "previous_message": {"type": "message", "text": "old", "ts": "1.2"}, "event_ts": "5.6", "ts": "5.6"})
        ),
        Event::MessageChanged {
            channel: crate::domain::ChannelId::new("C1"),
            ts: crate::domain::MessageTs::new("1.2"),
            text: "new text".into()
        }
    );
    assert_eq!(
        event(
            serde_json::json!({"type": "message", "subtype": "message_deleted", "channel": "C1", "hidden": true, "deleted_ts": "1.2", "event_ts": "5.6", "ts": "5.6"})
        ),
        Event::MessageDeleted {
            channel: crate::domain::ChannelId::new("C1"),
            ts: crate::domain::MessageTs::new("1.2")
        }
    );
    assert_eq!(
        event(
            serde_json::json!({"type": "message", "channel": "C1", "user": "U1", "text": "hello", "ts": "1.2"})
        ),
        Event::Other("message".into())
    );
    assert_eq!(
        event(
            serde_json::json!({"type": "member_joined_channel", "user": "U3", "channel": "C1", "channel_type": "G", "team": "T1", "inviter": "U1"})
        ),
        Event::MemberJoined {
            channel: crate::domain::ChannelId::new("C1"),
            user: UserId("U3".into()),
            at: None
        }
    );
    assert_eq!(
        event(
            serde_json::json!({"type": "member_left_channel", "user": "U3", "channel": "C1", "channel_type": "G", "team": "T1"})
        ),
        Event::MemberLeft {
            channel: crate::domain::ChannelId::new("C1"),
            user: UserId("U3".into()),
            at: None
        }
    );
}

#[test]
fn member_events_say_when_they_happened() {
    use serde_json::json;
    // The event's own `event_ts`, else the delivery's `event_time`.
    let when = |kind: &str, event_ts: Option<&str>, event_time: Option<i64>| {
        let mut inner = json!({"type": kind, "user": "U3", "channel": "C1"});
        if let Some(ts) = event_ts {
            inner["event_ts"] = json!(ts);
        }
        let mut body = json!({"type": "event_callback", "event_id": "Ev1", "event": inner});
        if let Some(t) = event_time {
            body["event_time"] = json!(t);
        }
        match EventEnvelope::parse(body.to_string().as_bytes()).unwrap() {
            EventEnvelope::Callback {
                event: Event::MemberJoined { at, .. } | Event::MemberLeft { at, .. },
                ..
            } => at,
            other => panic!("{other:?}"),
        }
    };
    let at = |secs: i64, micros: u32| chrono::DateTime::from_timestamp(secs, micros * 1000);
    for kind in ["member_joined_channel", "member_left_channel"] {
        assert_eq!(
            when(kind, Some("1795402860.000200"), Some(1_795_402_900)),
            at(1_795_402_860, 200)
        );
        assert_eq!(when(kind, None, Some(1_795_402_900)), at(1_795_402_900, 0));
        assert_eq!(
            when(kind, Some("soon"), Some(1_795_402_900)),
            at(1_795_402_900, 0),
            "an unreadable event_ts is not used"
        );
        assert_eq!(when(kind, None, None), None);
    }
}

#[test]
fn the_private_flag_is_read_from_the_declare_form() {
    let body = form(serde_json::json!({
        "type": "view_submission",
        "user": {"id": "U1"},
        "view": {
            "id": "V1", "callback_id": "declare",
            "private_metadata": "{\"channel\":\"C1\"}",
            "state": {"values": {
                "title": {"value": {"type": "plain_text_input", "value": "Leak"}},
                "flags": {"value": {"type": "checkboxes", "selected_options": [{"value": "private"}, {"value": "security"}]}}
            }}
        }
    }));
    let Interaction::DeclareSubmitted { form, .. } = Interaction::parse(&body).unwrap() else {
        panic!("not a declaration");
    };
    assert!(form.private && form.security && !form.drill);
}

#[test]
fn shapes_the_bot_does_not_know_are_other_not_errors() {
    // `channel` and `user` as objects (channel_created, team_join…).
    assert!(matches!(
        event(serde_json::json!({"type": "channel_created", "channel": {"id": "C1", "name": "x", "created": 1}})),
        Event::Other(kind) if kind == "channel_created"
    ));
    assert!(matches!(
        event(serde_json::json!({"type": "team_join", "user": {"id": "U1", "profile": {}}})),
        Event::Other(_)
    ));
    // A known event with a field in an unknown shape is not acted on.
    assert!(matches!(
        event(
            serde_json::json!({"type": "reaction_added", "user": {"id": "U1"}, "reaction": "pushpin",
            "item": {"type": "message", "channel": "C1", "ts": "1.2"}})
        ),
        Event::Other(_)
    ));
    assert!(matches!(
        event(serde_json::json!("not an object")),
        Event::Other(_)
    ));
    // Legacy attachment actions, dialogs, actions without an id.
    for payload in [
        serde_json::json!({"type": "interactive_message", "user": {"id": "U1"},
            "actions": [{"name": "ack", "type": "button", "value": "1"}], "callback_id": "c"}),
        serde_json::json!({"type": "dialog_submission", "user": {"id": "U1"}, "submission": {"a": "b"}}),
        serde_json::json!({"type": "block_actions", "user": {"id": "U1"}, "actions": [{"value": "1|Scribe"}]}),
        serde_json::json!({"type": "block_actions", "user": "U1", "actions": []}),
        serde_json::json!(["not", "an", "object"]),
    ] {
        assert!(
            matches!(
                Interaction::parse(&form(payload.clone())).unwrap(),
                Interaction::Other(_)
            ),
            "{payload}"
        );
    }
    // A modal whose inputs come in shapes the bot does not know reads
    // as empty inputs, which the form's own checks then name.
    let body = form(serde_json::json!({
        "type": "view_submission", "user": {"id": "U1"},
        "view": {"id": "V1", "callback_id": "declare", "private_metadata": 7,
            "state": {"values": {"title": {"value": {"value": ["DB down"]}}, "severity": "SEV1", "flags": {"value": {"selected_options": {}}}}}}
    }));
    let Interaction::DeclareSubmitted { form, metadata, .. } = Interaction::parse(&body).unwrap()
    else {
        panic!("not a declaration");
    };
    assert_eq!(form, DeclareForm::default());
    assert_eq!(metadata, None);
}

#[test]
fn a_slash_command_without_its_fields_says_which() {
    assert!(matches!(
        SlashCommand::parse(b"command=%2Fincident&text=hi&channel_id=C1&trigger_id=1"),
        Err(InboundError::Incomplete(field)) if field == "user_id"
    ));
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    assert!(Interaction::parse(b"payload=%7B").is_err());
    assert!(EventEnvelope::parse(b"{").is_err());
    // Well-formed but not for us: ignored, not refused.
    assert!(matches!(
        Interaction::parse(b"nothing=1").unwrap(),
        Interaction::Other(_)
    ));
    assert!(matches!(
        EventEnvelope::parse(b"[]").unwrap(),
        EventEnvelope::Other(_)
    ));
    assert_eq!(
        EventEnvelope::parse(br#"{"type":"url_verification","challenge":"abc"}"#).unwrap(),
        EventEnvelope::UrlVerification {
            challenge: "abc".into()
        }
    );
}

#[test]
fn the_followup_form_and_its_button() {
    let click = serde_json::json!({
        "type": "block_actions",
        "user": {"id": "U1"},
        "channel": {"id": "C1"},
        "trigger_id": "1.2.3",
        "actions": [{"action_id": "followup.add", "value": "12", "type": "button"}]
    });
    assert!(matches!(
        Interaction::parse(&form(click)).unwrap(),
        Interaction::Action {
            action: Action::AddFollowup { incident },
            ..
        } if incident == crate::domain::IncidentNumber::new(12)
    ));
    let submission = |due: serde_json::Value| {
        form(serde_json::json!({
            "type": "view_submission",
            "user": {"id": "U1"},
            "view": {
                "id": "V1",
                "callback_id": "followup",
                "private_metadata": "12",
                "state": {"values": {
                    "text": {"value": {"type": "plain_text_input", "value": "  Alert on 5xx <now> "}},
                    "owner": {"value": {"type": "users_select", "selected_user": "UBOB"}},
                    "due": {"value": {"type": "datepicker", "selected_date": due}}
                }}
            }
        }))
    };
    let Interaction::FollowupSubmitted {
        incident, form: f, ..
    } = Interaction::parse(&submission(serde_json::json!("2026-12-24"))).unwrap()
    else {
        panic!("not a follow-up submission");
    };
    assert_eq!(incident, crate::domain::IncidentNumber::new(12));
    assert_eq!(f.text, "Alert on 5xx <now>");
    assert_eq!(f.owner, Some(UserId("UBOB".into())));
    assert_eq!(
        f.due,
        Some(Ok(chrono::NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()))
    );
    let Interaction::FollowupSubmitted { form: f, .. } =
        Interaction::parse(&submission(serde_json::Value::Null)).unwrap()
    else {
        panic!("not a follow-up submission");
    };
    assert_eq!(f.due, None);
    let Interaction::FollowupSubmitted { form: f, .. } =
        Interaction::parse(&submission(serde_json::json!("24/12/2026"))).unwrap()
    else {
        panic!("not a follow-up submission");
    };
    assert_eq!(f.due, Some(Err("24/12/2026".to_string())));
}

#[test]
fn alert_card_buttons_and_the_attach_select() {
    use crate::domain::{AlertGroupId, IncidentNumber};
    let action = |a: serde_json::Value| match Interaction::parse(&form(serde_json::json!({
        "type": "block_actions", "user": {"id": "U1"}, "channel": {"id": "C1"}, "actions": [a]
    })))
    .unwrap()
    {
        Interaction::Action { action, .. } => action,
        other => panic!("{other:?}"),
    };
    let group = AlertGroupId::new(12);
    assert_eq!(
        action(serde_json::json!({"action_id": "alerts.declare", "value": "12", "type": "button"})),
        Action::DeclareFromAlert { group }
    );
    assert_eq!(
        action(serde_json::json!({"action_id": "alerts.dismiss", "value": "12", "type": "button"})),
        Action::DismissAlert { group }
    );
    assert_eq!(
        action(
            serde_json::json!({"action_id": "alerts.mitigated", "value": "4", "type": "button"})
        ),
        Action::MarkMitigated {
            incident: IncidentNumber::new(4)
        }
    );
    assert_eq!(
        action(
            serde_json::json!({"action_id": "alerts.attach|12", "type": "static_select", "block_id": "alert-actions",
            "selected_option": {"text": {"type": "plain_text", "text": "INC-4 DB down"}, "value": "4"},
            "placeholder": {"type": "plain_text", "text": "Attach to…"}, "action_ts": "1.2"})
        ),
        Action::AttachAlert {
            group,
            incident: IncidentNumber::new(4)
        }
    );
    // Nothing picked, or a value that is not ours: not an action of ours.
    assert!(matches!(
        action(serde_json::json!({"action_id": "alerts.attach|12", "type": "static_select"})),
        Action::Unknown(_)
    ));
    assert!(matches!(
        action(serde_json::json!({"action_id": "alerts.declare", "value": "x", "type": "button"})),
        Action::Unknown(_)
    ));
    // A link button on a card: Slack opened the link.
    assert!(matches!(
        Interaction::parse(&form(serde_json::json!({
            "type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "alerts.link.0", "type": "button"}]
        })))
        .unwrap(),
        Interaction::Other(_)
    ));
}
