//! The incident process the bot walks people through: the bridge link,
//! role checklists and their recurring tasks.

use crate::helpers::*;
use serde_json::Value;
use std::collections::HashSet;

const BOB: &str = "UBOB";

/// Slack's Block Kit limits that a message must respect to be accepted:
/// at most 50 blocks, section text at most 3,000 characters, button and
/// option text at most 75, URLs at most 3,000, block ids unique in the
/// message and action ids unique in their block.
pub fn assert_block_kit(body: &Value) {
    let blocks = body["blocks"].as_array().expect("blocks");
    assert!(
        !blocks.is_empty() && blocks.len() <= 50,
        "{} blocks",
        blocks.len()
    );
    let mut block_ids = HashSet::new();
    let element = |e: &Value, action_ids: &mut HashSet<String>| {
        if let Some(id) = e["action_id"].as_str() {
            assert!(id.len() <= 255, "action_id too long: {id}");
            assert!(
                action_ids.insert(id.to_string()),
                "action_id repeated: {id}"
            );
        }
        match e["type"].as_str() {
            Some("button") => {
                let text = e["text"]["text"].as_str().unwrap();
                assert!(e["text"]["type"] == "plain_text" && text.chars().count() <= 75);
                if let Some(url) = e["url"].as_str() {
                    assert!(url.len() <= 3000 && url.starts_with("http"), "{url}");
                }
            }
            Some("checkboxes") => {
                let options = e["options"].as_array().unwrap();
                assert!(!options.is_empty() && options.len() <= 10);
                for o in options {
                    assert!(o["text"]["text"].as_str().unwrap().chars().count() <= 75);
                    assert!(o["value"].as_str().unwrap().len() <= 150);
                }
            }
            other => panic!("unexpected element {other:?}: {e}"),
        }
    };
    for b in blocks {
        let mut action_ids = HashSet::new();
        if let Some(id) = b["block_id"].as_str() {
            assert!(id.len() <= 255);
            assert!(block_ids.insert(id.to_string()), "block_id repeated: {id}");
        }
        match b["type"].as_str() {
            Some("section") => {
                let text = b["text"]["text"].as_str().expect("section text");
                assert!(!text.is_empty() && text.chars().count() <= 3000);
                if !b["accessory"].is_null() {
                    element(&b["accessory"], &mut action_ids);
                }
            }
            Some("context") => {
                let els = b["elements"].as_array().unwrap();
                assert!(!els.is_empty() && els.len() <= 10);
            }
            Some("actions") => {
                let els = b["elements"].as_array().unwrap();
                assert!(!els.is_empty() && els.len() <= 25);
                for e in els {
                    element(e, &mut action_ids);
                }
            }
            other => panic!("unexpected block {other:?}"),
        }
    }
    assert!(
        body["text"].as_str().is_some_and(|t| !t.is_empty()),
        "fallback text"
    );
}

fn with_bridge() -> Setup {
    Setup {
        env: vec![(
            "WARROOM_BRIDGE__URL_TEMPLATE",
            "https://meet.example.com/inc-{number}".to_string(),
        )],
        ..Setup::default()
    }
}

#[tokio::test]
async fn the_bridge_link_is_on_the_role_board_and_in_the_topic() {
    let app = TestApp::spawn(with_bridge()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;

    let board = &app.slack.messages_in(&room)[0];
    assert_block_kit(&board.body);
    let button = &board.body["blocks"][0]["accessory"];
    assert_eq!(button["type"], "button");
    assert_eq!(button["text"]["text"], "Join the bridge");
    assert_eq!(button["url"], "https://meet.example.com/inc-1");
    let topic = app.slack.channel(&room).unwrap().topic;
    assert!(
        topic.ends_with("bridge: https://meet.example.com/inc-1"),
        "{topic}"
    );
    assert!(topic.chars().count() <= 250);

    // An edit of the board keeps the button.
    app.click(BOB, &room, "role.claim", "1|Scribe").await;
    app.wait_idle().await;
    let board_ts = app.incident(1).await.board_ts.unwrap();
    let board = app
        .slack
        .messages_in(&room)
        .into_iter()
        .find(|m| m.ts == board_ts)
        .unwrap();
    assert!(board.edits >= 1);
    assert_eq!(
        board.body["blocks"][0]["accessory"]["url"],
        "https://meet.example.com/inc-1"
    );

    // The next incident gets its own room on the bridge.
    let room2 = app.declare("Search is slow", "SEV3").await;
    let topic = app.slack.channel(&room2).unwrap().topic;
    assert!(topic.contains("https://meet.example.com/inc-2"), "{topic}");
}

#[tokio::test]
async fn without_a_bridge_there_is_no_button() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = app.declare("Checkout returns 500", "SEV2").await;
    let board = &app.slack.messages_in(&room)[0];
    assert!(board.body["blocks"][0]["accessory"].is_null());
    assert!(!app.slack.channel(&room).unwrap().topic.contains("bridge"));
}
