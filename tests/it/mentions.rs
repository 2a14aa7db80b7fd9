//! Text people type, repeated by the bot, never pings a whole channel or a
//! user group: every path that repeats it (titles and summaries, update
//! text, notes, tagged messages in reminder digests, the timeline view,
//! `/incident list`, notices) reaches Slack with `<!channel>`, `<!here>`,
//! `<!everyone>` and `<!subteam^…>` turned into harmless words, while user
//! mentions and links still work.

use crate::fake_slack::Failure;
use crate::helpers::*;
use serde_json::{Value, json};

const BOB: &str = "UBOB";
const CAROL: &str = "UCAROL";

/// What would notify many people if Slack read it in a message.
const BROADCASTS: [&str; 7] = [
    "<!channel",
    "<!here",
    "<!everyone",
    "<!subteam",
    "@channel",
    "@here",
    "@everyone",
];

fn pings_many(text: &str) -> Option<&'static str> {
    BROADCASTS.iter().copied().find(|b| text.contains(b))
}

/// Every message the bot sent or edited, every ephemeral and modal.
fn everything_sent(app: &TestApp) -> Vec<String> {
    app.slack
        .all_calls()
        .iter()
        .filter(|c| {
            matches!(
                c.method.as_str(),
                "chat.postMessage"
                    | "chat.update"
                    | "chat.postEphemeral"
                    | "views.open"
                    | "conversations.setTopic"
            )
        })
        .map(|c| format!("{} {}", c.method, c.body))
        .collect()
}

fn assert_harmless(what: &str, text: &str) {
    if let Some(b) = pings_many(text) {
        panic!("{what} still carries {b}: {text}");
    }
}

#[tokio::test]
async fn broadcast_mentions_reach_slack_only_as_harmless_text() {
    let app = TestApp::spawn(Setup::default()).await;
    // A title and a summary typed in the form (raw text).
    app.submit_declare(
        DECLARER,
        "V1",
        DeclareInput {
            title: "Checkout <!channel> @here down".to_string(),
            summary: "<!everyone> affected, ask <@UBOB>".to_string(),
            ..DeclareInput::default()
        },
    )
    .await;
    app.wait_idle().await;
    let room = app.room(1).await.expect("a war room");

    // Update text typed after the command (Slack's format: mentions are
    // tokens).
    let reply = app
        .command_json(
            DECLARER,
            &room,
            "update <!channel> back up, thanks <@UBOB|bob> see <https://status.acme.io|status>",
        )
        .await;
    assert_harmless("the update's reply", &reply.to_string());
    app.advance(minutes(1)).await;
    // A note, repeated by the timeline view and the reminder digest.
    app.command_json(
        DECLARER,
        &room,
        "note <!here> paging <!subteam^S1|@db-oncall> and <@UCAROL>",
    )
    .await;
    // A tagged message (the declarer leads, so may tag).
    app.slack.set_name(CAROL, "Carol");
    let ts = app.slack.user_posts(
        &room,
        CAROL,
        "<!everyone> restart checkout now, <@UBOB>",
        None,
        start_time() + chrono::Duration::minutes(2),
    );
    app.event(
        reaction("reaction_added", "Ev1", DECLARER, "pushpin", &room, &ts),
        None,
    )
    .await;
    app.wait_idle().await;

    // The timeline view is the command's answer.
    let view = app.command_json(DECLARER, &room, "timeline").await;
    let view = view.to_string();
    assert_harmless("the timeline view", &view);
    assert!(view.contains("<@UCAROL>"), "{view}");
    assert!(view.contains("@\u{2060}db-oncall"), "{view}");

    // `/incident list` repeats the title.
    let list = app.command_json(BOB, ORIGIN, "list").await.to_string();
    assert_harmless("the list", &list);
    assert!(list.contains("Checkout"), "{list}");

    // The reminder digest repeats the note and the tagged message.
    app.advance(minutes(31)).await;
    let nudge = app
        .slack
        .messages_in(&room)
        .into_iter()
        .map(|m| m.body.to_string())
        .find(|b| b.contains("no status update since"))
        .expect("a nudge");
    assert!(nudge.contains("restart checkout now, <@UBOB>"), "{nudge}");
    assert!(nudge.contains("paging"), "{nudge}");

    // The update form: raw text, so even the plain words are defused.
    let res = app
        .interaction(json!({
            "type": "view_submission",
            "team": {"id": "T1", "domain": "acme"},
            "user": {"id": DECLARER, "username": "a", "name": "a", "team_id": "T1"},
            "api_app_id": "A1",
            "trigger_id": "1337.42.abcd",
            "view": {
                "id": "VUPD1", "team_id": "T1", "type": "modal", "callback_id": "update",
                "private_metadata": "1", "hash": "1.2",
                "title": {"type": "plain_text", "text": "Update INC-1"}, "blocks": [],
                "state": {"values": {
                    "status": {"value": {"type": "plain_text_input", "value": "@here <!channel> rolled back by form"}},
                    "audiences": {"value": {"type": "checkboxes", "selected_options": [{"text": {"type": "plain_text", "text": "a"}, "value": "announcement"}]}}
                }}
            }
        }))
        .await;
    assert_eq!(res.status(), 200);
    app.wait_idle().await;
    assert!(
        app.slack
            .messages_in(ORIGIN)
            .iter()
            .any(|m| m.body.to_string().contains("rolled back by form")),
        "the form's update was posted"
    );

    // A notice quoting the title: the second war room cannot be created.
    app.slack
        .fail_next("conversations.create", Failure::Api("restricted_action"), 1);
    app.submit_declare(
        DECLARER,
        "V2",
        DeclareInput {
            title: "Second <!channel> outage".to_string(),
            ..DeclareInput::default()
        },
    )
    .await;
    app.wait_idle().await;
    let notice = app
        .slack
        .calls("chat.postEphemeral")
        .into_iter()
        .map(|c| c.body.to_string())
        .find(|b| b.contains("could not create the war room"))
        .expect("the declarer was told");
    assert!(notice.contains("Second"), "{notice}");

    // Nothing the bot sent could ping a channel or a group...
    for sent in everything_sent(&app) {
        assert_harmless("a call", &sent);
    }
    // ...while the people it names are still mentioned and links work.
    let update = app
        .slack
        .messages_in(ORIGIN)
        .into_iter()
        .map(|m| m.body.to_string())
        .find(|b| b.contains("back up"))
        .expect("the update reached the announcement channel");
    assert!(update.contains("<@UBOB|bob>"), "{update}");
    assert!(
        update.contains("<https://status.acme.io|status>"),
        "{update}"
    );
    let announcement = app.slack.messages_in(ORIGIN)[0].body.clone();
    let summary = announcement["blocks"][1]["text"]["text"]
        .as_str()
        .unwrap_or_default();
    // Typed in a form, `<@UBOB>` is text, shown as typed.
    assert!(summary.contains("&lt;@UBOB&gt;"), "{announcement}");
    assert!(
        announcement["text"]
            .as_str()
            .is_some_and(|t| t.contains("Checkout")),
        "{announcement}"
    );
    // What is stored is what people typed; only the rendering changes.
    let stored: Vec<Value> = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap()
        .iter()
        .map(|e| Value::String(e.text.clone()))
        .collect();
    assert!(
        stored
            .iter()
            .any(|t| t.as_str().unwrap().starts_with("<!here> paging")),
        "{stored:?}"
    );
}
