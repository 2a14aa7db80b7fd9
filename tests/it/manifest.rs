//! `manifest.yml` (HTTP) and `manifest.socket-mode.yml` (Socket Mode), the
//! Slack app manifests users paste into Slack's "Create app from manifest",
//! checked against Slack's own JSON Schema (draft 7, from
//! slackapi/manifest-schema, kept in tests/fixtures/slack) and against the
//! paths and scopes the server really uses.

use serde_json::Value;
use std::path::{Path, PathBuf};

const SCHEMA: &str = "tests/fixtures/slack/manifest.schema.1.0.0.json";

fn in_crate(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(relative: &str) -> String {
    let path = in_crate(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The manifest, YAML turned into JSON as Slack does.
fn manifest() -> Value {
    manifest_at("manifest.yml")
}

fn manifest_at(file: &str) -> Value {
    serde_yaml::from_str::<Value>(&read(file))
        .unwrap_or_else(|e| panic!("{file} is not valid YAML: {e}"))
}

const SOCKET_MANIFEST: &str = "manifest.socket-mode.yml";

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read(SCHEMA)).expect("the schema is not valid JSON");
    jsonschema::draft7::new(&schema)
        .unwrap_or_else(|e| panic!("Slack's manifest schema does not compile: {e}"))
}

/// Every schema violation, one line each, with where it is in the manifest.
fn schema_errors(instance: &Value) -> Vec<String> {
    let validator = validator();
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| {
            let at = e.instance_path().to_string();
            let at = if at.is_empty() { "/".to_string() } else { at };
            format!("at {at}: {e}")
        })
        .collect();
    errors
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("manifest.yml has no string at {pointer}"))
}

/// The manifest as Slack's published schema can check it: without
/// `functions`, which the schema (1.0.0) describes in an older form than
/// Slack's documentation of custom steps (`properties` + `required`);
/// [`manifest_declares_the_doors`] checks that part by the documented form.
fn schema_checkable(mut m: Value) -> Value {
    m.as_object_mut()
        .expect("the manifest is a mapping")
        .remove("functions");
    m
}

#[test]
fn manifest_validates_against_slacks_schema() {
    let errors = schema_errors(&schema_checkable(manifest()));
    assert!(
        errors.is_empty(),
        "manifest.yml does not validate against Slack's manifest schema:\n  {}",
        errors.join("\n  ")
    );
}

#[test]
fn manifest_points_at_the_spec_paths() {
    let m = manifest();

    let commands = m
        .pointer("/features/slash_commands")
        .and_then(Value::as_array)
        .expect("manifest.yml declares no slash_commands");
    assert_eq!(commands.len(), 1, "exactly one slash command: {commands:?}");
    assert_eq!(
        str_at(&m, "/features/slash_commands/0/command"),
        "/incident"
    );
    let command_url = str_at(&m, "/features/slash_commands/0/url");
    assert!(
        command_url.starts_with("https://") && command_url.ends_with("/slack/commands"),
        "slash command URL: {command_url}"
    );

    assert_eq!(
        m.pointer("/settings/interactivity/is_enabled"),
        Some(&Value::Bool(true))
    );
    let interactivity_url = str_at(&m, "/settings/interactivity/request_url");
    assert!(
        interactivity_url.starts_with("https://")
            && interactivity_url.ends_with("/slack/interactivity"),
        "interactivity URL: {interactivity_url}"
    );

    if let Some(events) = m.pointer("/settings/event_subscriptions/request_url") {
        let events = events.as_str().expect("event request_url is a string");
        assert!(events.ends_with("/slack/events"), "events URL: {events}");
    }

    assert_eq!(
        m.pointer("/settings/socket_mode_enabled"),
        Some(&Value::Bool(false)),
        "manifest.yml is the HTTP variant; manifest.socket-mode.yml the other"
    );

    let mut scopes: Vec<&str> = m
        .pointer("/oauth_config/scopes/bot")
        .and_then(Value::as_array)
        .expect("manifest.yml has no bot scopes")
        .iter()
        .map(|s| s.as_str().expect("a scope is a string"))
        .collect();
    scopes.sort_unstable();
    let mut expected = [
        "commands",
        "chat:write",
        "chat:write.public",
        "channels:manage",
        "channels:history",
        "channels:read",
        "channels:join",
        "reactions:read",
        "reactions:write",
        "users:read",
        "users:read.email",
        "files:write",
        "files:read",
        "groups:read",
        "groups:write",
        "groups:history",
        "im:write",
        "im:history",
        "links:read",
        "links:write",
    ];
    expected.sort_unstable();
    assert_eq!(scopes, expected, "bot scopes");
    let mut events: Vec<&str> = m
        .pointer("/settings/event_subscriptions/bot_events")
        .and_then(Value::as_array)
        .expect("manifest.yml subscribes to no events")
        .iter()
        .map(|s| s.as_str().expect("an event is a string"))
        .collect();
    events.sort_unstable();
    assert_eq!(
        events,
        [
            "app_home_opened",
            "function_executed",
            "link_shared",
            "member_joined_channel",
            "member_left_channel",
            "message.channels",
            "message.groups",
            "reaction_added",
            "reaction_removed"
        ],
        "bot events"
    );
    assert!(
        m.pointer("/oauth_config/scopes/user").is_none(),
        "warroom asks for no user scopes"
    );
}

#[test]
fn schema_rejects_a_broken_manifest() {
    let mut broken = manifest();
    let removed = broken
        .as_object_mut()
        .expect("the manifest is a mapping")
        .remove("display_information");
    assert!(removed.is_some(), "manifest.yml has no display_information");
    let errors = schema_errors(&broken);
    assert!(
        !errors.is_empty(),
        "the schema accepted a manifest without display_information, so it checks nothing"
    );
    assert!(
        errors.iter().any(|e| e.contains("display_information")),
        "unexpected errors: {errors:?}"
    );
}

#[test]
fn socket_mode_manifest_validates_against_slacks_schema() {
    let errors = schema_errors(&schema_checkable(manifest_at(SOCKET_MANIFEST)));
    assert!(
        errors.is_empty(),
        "{SOCKET_MANIFEST} does not validate against Slack's manifest schema:\n  {}",
        errors.join("\n  ")
    );
}

/// Every string in `v` that names a URL, with where it is.
fn urls(v: &Value, at: &str, found: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                // A URL's key (`url`, `request_url`), not `unfurl_domains`.
                if k == "url" || k.ends_with("_url") {
                    found.push(format!("{at}/{k}"));
                }
                urls(v, &format!("{at}/{k}"), found);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                urls(v, &format!("{at}/{i}"), found);
            }
        }
        Value::String(s) if s.contains("://") => found.push(format!("{at}: {s}")),
        _ => {}
    }
}

#[test]
fn socket_mode_manifest_is_the_http_one_without_urls() {
    let socket = manifest_at(SOCKET_MANIFEST);
    assert_eq!(
        socket.pointer("/settings/socket_mode_enabled"),
        Some(&Value::Bool(true))
    );
    let mut found = vec![];
    urls(&socket, "", &mut found);
    assert!(
        found.is_empty(),
        "Socket Mode needs no request URLs: {found:?}"
    );
    assert_eq!(
        socket.pointer("/settings/interactivity/is_enabled"),
        Some(&Value::Bool(true)),
        "buttons and forms arrive over the socket"
    );

    // Everything else is manifest.yml's: the same command, scopes, events.
    let mut http = manifest();
    for pointer in [
        "/features/slash_commands/0",
        "/settings/event_subscriptions",
        "/settings/interactivity",
    ] {
        http.pointer_mut(pointer)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("manifest.yml has no {pointer}"))
            .retain(|k, _| !k.contains("url"));
    }
    http["settings"]["socket_mode_enabled"] = Value::Bool(true);
    assert_eq!(
        socket, http,
        "{SOCKET_MANIFEST} differs from manifest.yml beyond URLs"
    );
}

/// Slack's other doors, as the code reads them: the Home tab, the
/// shortcuts by their callback ids, and the Workflow Builder step with its
/// inputs and outputs in the documented form (each input and output typed,
/// `required` naming only declared ones).
#[test]
fn manifest_declares_the_doors() {
    use warroom::slack::ids;
    for file in ["manifest.yml", SOCKET_MANIFEST] {
        let m = manifest_at(file);
        assert_eq!(
            m.pointer("/features/app_home/home_tab_enabled"),
            Some(&Value::Bool(true)),
            "{file}: the Home tab"
        );
        let shortcuts: Vec<(String, String)> = m
            .pointer("/features/shortcuts")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{file} has no shortcuts"))
            .iter()
            .map(|s| {
                (
                    str_at(s, "/type").to_string(),
                    str_at(s, "/callback_id").to_string(),
                )
            })
            .collect();
        assert_eq!(
            shortcuts,
            [
                ("global".to_string(), ids::SHORTCUT_DECLARE.to_string()),
                (
                    "message".to_string(),
                    ids::SHORTCUT_DECLARE_FROM_MESSAGE.to_string()
                ),
                (
                    "message".to_string(),
                    ids::SHORTCUT_ADD_TO_TIMELINE.to_string()
                ),
            ],
            "{file}: shortcuts"
        );
        let step = m
            .pointer(&format!("/functions/{}", ids::FUNCTION_DECLARE))
            .unwrap_or_else(|| panic!("{file} has no {} function", ids::FUNCTION_DECLARE));
        for (side, names, required) in [
            (
                "input_parameters",
                &["title", "severity", "summary", "private", "declarer"][..],
                &["title"][..],
            ),
            (
                "output_parameters",
                &["incident_number", "war_room"][..],
                &["incident_number", "war_room"][..],
            ),
        ] {
            let props = step
                .pointer(&format!("/{side}/properties"))
                .and_then(Value::as_object)
                .unwrap_or_else(|| panic!("{file}: {side} has no properties"));
            let mut keys: Vec<&str> = props.keys().map(String::as_str).collect();
            keys.sort_unstable();
            let mut want = names.to_vec();
            want.sort_unstable();
            assert_eq!(keys, want, "{file}: {side}");
            for (name, p) in props {
                let ty = str_at(p, "/type");
                assert!(
                    [
                        "string",
                        "boolean",
                        "slack#/types/user_id",
                        "slack#/types/channel_id"
                    ]
                    .contains(&ty),
                    "{file}: {side}.{name} has type {ty}"
                );
            }
            let req: Vec<&str> = step
                .pointer(&format!("/{side}/required"))
                .and_then(Value::as_array)
                .unwrap_or_else(|| panic!("{file}: {side} has no required list"))
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(req, required, "{file}: {side} required");
        }
        assert_eq!(
            m.pointer("/settings/function_runtime")
                .and_then(Value::as_str),
            Some("remote"),
            "{file}: the step runs in warroom"
        );
    }
}
