//! The playground, started in-process the way `warroom playground` starts
//! it, driven over HTTP the way its page drives it, on its offset clock
//! (no manual clock: "+30 min" is the page's button). Also the simulator's
//! own methods, now product code.

use super::fake_slack::{BOT_USER, FakeSlack};
use super::helpers::SlackEventually;
use serde_json::{Value, json};
use warroom::config::{Settings, Sources};
use warroom::playground::{GENERAL, INCIDENTS, Options, Playground};

fn settings(dir: &std::path::Path) -> Settings {
    let file = dir.join("warroom.toml");
    std::fs::write(&file, "").unwrap();
    Settings::load(Sources {
        file: Some(&file),
        env: Default::default(),
    })
    .unwrap()
}

async fn start() -> (Playground, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let playground = Playground::start(
        settings(dir.path()),
        Options {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    (playground, dir)
}

struct Page {
    url: String,
    http: reqwest::Client,
}

impl Page {
    /// The playground's page, as its own page calls it.
    fn of(playground: &Playground) -> Page {
        Page {
            url: playground.url.clone(),
            http: page_client(&playground.url),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}{path}", self.url.trim_end_matches('/')))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let answer: Value = res.json().await.unwrap();
        assert!(status.is_success(), "{path} answered {status}: {answer}");
        answer
    }

    async fn state(&self) -> Value {
        self.http
            .get(format!("{}state", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// A client that acts the way the playground's own page does: its
/// requests carry the page's `Origin`.
fn page_client(url: &str) -> reqwest::Client {
    let origin = url.trim_end_matches('/').to_string();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ORIGIN, origin.parse().unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

fn text_of(message: &warroom::playground::slack::Message) -> String {
    message.body.to_string()
}

/// Waits (bounded) for the first message in `channel` whose body contains
/// `needle`.
async fn message_with(
    sim: &FakeSlack,
    channel: &str,
    what: &str,
    needle: &str,
) -> warroom::playground::slack::Message {
    sim.eventually(what, |s| {
        s.messages_in(channel)
            .into_iter()
            .find(|m| text_of(m).contains(needle))
    })
    .await
}

#[tokio::test]
async fn a_whole_incident_from_declare_to_postmortem_in_the_playground() {
    let (playground, _dir) = start().await;
    let sim: FakeSlack = playground.workspace.simulator.clone();
    let page = Page::of(&playground);
    // The page and its assets are served.
    let html = page.http.get(&page.url).send().await.unwrap();
    assert_eq!(html.status(), 200);
    assert!(html.text().await.unwrap().contains("/app.js"));

    // Declare from #general: the bot's modal opens on Alex's screen.
    page.post(
        "/send",
        json!({"user": "UALEX", "channel": GENERAL, "text": "/incident declare Checkout is down"}),
    )
    .await;
    let view = sim
        .eventually("the declare modal", |s| s.views_of("UALEX").pop())
        .await;
    assert_eq!(view.view["callback_id"], "declare");

    // A form without a title comes back with the error under the title.
    let errors = page
        .post(
            "/submit",
            json!({"user": "UALEX", "view_id": view.id, "values": {
                "title": {"value": {"type": "plain_text_input", "value": null}},
            }}),
        )
        .await;
    assert!(errors["errors"]["title"].is_string(), "{errors}");
    assert!(sim.view(&view.id).is_some(), "the modal stays open");

    let done = page
        .post(
            "/submit",
            json!({"user": "UALEX", "view_id": view.id, "values": {
                "title": {"value": {"type": "plain_text_input", "value": "Checkout is down"}},
                "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV2", "text": {"type": "plain_text", "text": "SEV2"}}}},
                "flags": {"value": {"type": "checkboxes", "selected_options": []}},
            }}),
        )
        .await;
    assert_eq!(done["ok"], true, "{done}");
    assert!(sim.view(&view.id).is_none(), "the modal closed");
    let room = sim
        .eventually("the war room", |s| {
            s.channel_named_like("inc-1-").pop().map(|c| c.id)
        })
        .await;
    let board = message_with(&sim, &room, "the role board", "role.claim").await;
    sim.eventually("the announcement", |s| {
        s.messages_in(INCIDENTS).into_iter().next()
    })
    .await;

    // Sam claims Scribe from the role board.
    page.post(
        "/click",
        json!({"user": "USAM", "channel": room, "message_ts": board.ts,
            "action_id": "role.claim", "block_id": "role-actions", "kind": "button", "value": "1|Scribe"}),
    )
    .await;
    sim.eventually("Sam on the board", |s| {
        s.messages_in(&room)
            .into_iter()
            .find(|m| m.ts == board.ts && text_of(m).contains("Scribe: <@USAM>"))
    })
    .await;

    // Sam posts and tags the message with 📌: the bot confirms with 📝.
    page.post(
        "/send",
        json!({"user": "USAM", "channel": room, "text": "Rolled back the 14:02 deploy"}),
    )
    .await;
    let said = sim
        .eventually("Sam's message", |s| {
            s.messages_in(&room)
                .into_iter()
                .find(|m| m.body["text"] == "Rolled back the 14:02 deploy")
        })
        .await;
    page.post(
        "/react",
        json!({"user": "USAM", "channel": room, "ts": said.ts, "emoji": "pushpin", "add": true}),
    )
    .await;
    sim.eventually("the bot's confirmation", |s| {
        s.bot_reactions(&room, &said.ts)
            .contains(&"memo".to_string())
            .then_some(())
    })
    .await;

    // +30 min on the page's clock: the comms nudge arrives.
    page.post("/clock", json!({"minutes": 30})).await;
    message_with(&sim, &room, "the comms nudge", "no status update since").await;
    assert_eq!(page.state().await["offset_minutes"], 30);

    // An update, then close: the postmortem draft is shared in the room.
    page.post(
        "/send",
        json!({"user": "UALEX", "channel": room, "text": "/incident update Rolled back; checkout recovering"}),
    )
    .await;
    message_with(&sim, &room, "the status update", "checkout recovering").await;
    page.post(
        "/send",
        json!({"user": "UALEX", "channel": room, "text": "/incident close"}),
    )
    .await;
    let file = sim
        .eventually("the postmortem file", |s| {
            s.snapshot()["files"].as_array()?.first().cloned()
        })
        .await;
    assert_eq!(file["channel"], json!(room));
    let draft = page
        .http
        .get(format!(
            "{}files/{}",
            page.url,
            file["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(draft.status(), 200);
    let draft = draft.text().await.unwrap();
    assert!(
        draft.contains("Rolled back the 14:02 deploy"),
        "the tagged message is in the draft:\n{draft}"
    );

    // The page's state shows the room, its messages and the reactions.
    let state = page.state().await;
    assert!(
        state["channels"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == json!(room))
    );
    assert!(
        state["reactions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["user"] == "USAM" && r["name"] == "pushpin" && r["ts"] == json!(said.ts))
    );
    playground.stop().await.unwrap();
}

#[tokio::test]
async fn the_page_refuses_strangers_and_unknown_channels() {
    let (playground, _dir) = start().await;
    let http = page_client(&playground.url);
    let res = http
        .post(format!("{}send", playground.url))
        .json(&json!({"user": "UMALLORY", "channel": GENERAL, "text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = http
        .post(format!("{}send", playground.url))
        .json(&json!({"user": "UALEX", "channel": "CNOPE", "text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = http
        .post(format!("{}clock", playground.url))
        .json(&json!({"minutes": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    // An unknown command is answered to its author only.
    let res = http
        .post(format!("{}send", playground.url))
        .json(&json!({"user": "UALEX", "channel": GENERAL, "text": "/deploy now"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let shown = playground.workspace.simulator.ephemerals_for("UALEX");
    assert!(shown[0].body["text"].as_str().unwrap().contains("/deploy"));
    playground.stop().await.unwrap();
}

#[tokio::test]
async fn a_plain_message_reaches_the_bot_as_a_signed_event_it_verifies() {
    let (playground, _dir) = start().await;
    let ctx = playground.ctx();
    let before = ctx.store.job_counts().await.unwrap();
    let http = page_client(&playground.url);
    let res = http
        .post(format!("{}send", playground.url))
        .json(&json!({"user": "UALEX", "channel": GENERAL, "text": "anyone seeing 500s?"}))
        .send()
        .await
        .unwrap();
    // The bot answered 200 (a 401 for a bad signature fails the send).
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let stored = playground.workspace.simulator.messages_in(GENERAL);
    assert_eq!(stored[0].body["text"], "anyone seeing 500s?");
    assert_eq!(stored[0].body["user"], "UALEX");
    // Counted by the bot as a verified event it does not act on.
    let metrics = http
        .get(format!("http://{}/metrics", playground.bot_addr()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("events") && l.contains("ignored") && !l.starts_with('#')),
        "{metrics}"
    );
    assert_eq!(
        ctx.store.job_counts().await.unwrap().pending,
        before.pending
    );
    playground.stop().await.unwrap();
}

// ---- the simulator's methods ----

#[tokio::test]
async fn the_simulator_keeps_channels_members_and_topics() {
    let sim = FakeSlack::start().await;
    let (client, api) = (reqwest::Client::new(), sim.base_url.clone());
    let call = |method: &str, body: Value| {
        let req = client
            .post(format!("{api}/{method}"))
            .bearer_auth("xoxb-test-token")
            .json(&body);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let created = call("conversations.create", json!({"name": "inc-9-db"})).await;
    let id = created["channel"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        call("conversations.create", json!({"name": "inc-9-db"})).await["error"],
        "name_taken"
    );
    call(
        "conversations.invite",
        json!({"channel": id, "users": "UALEX"}),
    )
    .await;
    call(
        "conversations.setTopic",
        json!({"channel": id, "topic": "INC-9"}),
    )
    .await;
    let c = sim.channel(&id).unwrap();
    assert_eq!(c.members, vec![BOT_USER.to_string(), "UALEX".to_string()]);
    assert_eq!(c.topic, "INC-9");
    let info = call("conversations.info", json!({"channel": id})).await;
    assert_eq!(info["channel"]["is_member"], true);
    // A direct message to a person lands in their DM channel.
    let opened = call("conversations.open", json!({"users": "UALEX"})).await;
    let dm = opened["channel"]["id"].as_str().unwrap().to_string();
    let posted = call(
        "chat.postMessage",
        json!({"channel": "UALEX", "text": "hi"}),
    )
    .await;
    assert_eq!(posted["channel"], json!(dm));
    assert_eq!(sim.messages_in("UALEX")[0].body["text"], "hi");
    assert_eq!(sim.messages_in(&dm).len(), 1);
    // users.info answers with the names it was given.
    sim.set_name("UALEX", "alex");
    let user = client
        .get(format!("{api}/users.info?user=UALEX"))
        .bearer_auth("xoxb-test-token")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(user["user"]["profile"]["display_name"], "alex");
    // Another token is refused.
    sim.set_token("xoxb-other");
    assert_eq!(
        call("conversations.info", json!({"channel": id})).await["error"],
        "not_authed"
    );
}

#[tokio::test]
async fn the_simulator_keeps_messages_edits_threads_reactions_and_ephemerals() {
    let sim = FakeSlack::start().await;
    let client = reqwest::Client::new();
    let call = |method: &str, body: Value| {
        let req = client
            .post(format!("{}/{method}", sim.base_url))
            .bearer_auth("xoxb-test-token")
            .json(&body);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    sim.add_channel("CROOM", "room", true);
    let mut changes = sim.subscribe();
    let parent = call(
        "chat.postMessage",
        json!({"channel": "CROOM", "text": "board"}),
    )
    .await;
    let ts = parent["ts"].as_str().unwrap().to_string();
    assert!(changes.has_changed().unwrap(), "a post is a change");
    changes.borrow_and_update();
    call(
        "chat.update",
        json!({"channel": "CROOM", "ts": ts, "text": "board v2"}),
    )
    .await;
    let reply = sim.user_posts("CROOM", "UALEX", "on it", Some(&ts), chrono::Utc::now());
    let history = client
        .get(format!(
            "{}/conversations.replies?channel=CROOM&ts={ts}",
            sim.base_url
        ))
        .bearer_auth("xoxb-test-token")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let thread: Vec<&str> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(thread, ["board v2", "on it"]);
    assert_eq!(sim.message("CROOM", &ts).unwrap().edits, 1);
    assert!(
        sim.channel("CROOM")
            .unwrap()
            .members
            .contains(&"UALEX".to_string())
    );
    // Reactions: people's and the bot's, each once.
    sim.react("UALEX", "CROOM", &reply, "pushpin").unwrap();
    assert_eq!(
        sim.react("UALEX", "CROOM", &reply, "pushpin"),
        Err("already_reacted")
    );
    call(
        "reactions.add",
        json!({"channel": "CROOM", "timestamp": reply, "name": "memo"}),
    )
    .await;
    assert_eq!(sim.bot_reactions("CROOM", &reply), ["memo"]);
    assert_eq!(sim.reactions_on("CROOM", &reply).len(), 2);
    sim.unreact("UALEX", "CROOM", &reply, "pushpin").unwrap();
    assert_eq!(sim.reactions_on("CROOM", &reply).len(), 1);
    // Ephemerals are kept for the one person who sees them.
    call(
        "chat.postEphemeral",
        json!({"channel": "CROOM", "user": "USAM", "text": "only Sam"}),
    )
    .await;
    assert_eq!(sim.ephemerals_for("USAM")[0].body["text"], "only Sam");
    assert!(sim.ephemerals_for("UALEX").is_empty());
    let snapshot = sim.snapshot();
    assert_eq!(snapshot["messages"].as_array().unwrap().len(), 2);
    assert_eq!(snapshot["messages"][0]["edited"], true);
    assert_eq!(snapshot["messages"][1]["thread_ts"], json!(ts));
}

#[tokio::test]
async fn the_simulator_opens_updates_and_pushes_views_on_the_right_screen() {
    let sim = FakeSlack::start().await;
    let client = reqwest::Client::new();
    let call = |method: &str, body: Value| {
        let req = client
            .post(format!("{}/{method}", sim.base_url))
            .bearer_auth("xoxb-test-token")
            .json(&body);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let trigger = sim.issue_trigger("UALEX");
    let opened = call(
        "views.open",
        json!({"trigger_id": trigger, "view": {"type": "modal", "title": {"type": "plain_text", "text": "One"}}}),
    )
    .await;
    let id = opened["view"]["id"].as_str().unwrap().to_string();
    assert_eq!(sim.views_of("UALEX").len(), 1);
    assert!(sim.views_of("USAM").is_empty());
    let hash = opened["view"]["hash"].as_str().unwrap();
    let updated = call(
        "views.update",
        json!({"view_id": id, "hash": hash, "view": {"type": "modal", "title": {"type": "plain_text", "text": "Two"}}}),
    )
    .await;
    assert_eq!(updated["ok"], true, "{updated}");
    assert_eq!(sim.view(&id).unwrap().view["title"]["text"], "Two");
    // A stale hash is refused, as Slack does.
    let stale = call(
        "views.update",
        json!({"view_id": id, "hash": hash, "view": {"type": "modal"}}),
    )
    .await;
    assert_eq!(stale["error"], "hash_conflict");
    let pushed = call(
        "views.push",
        json!({"trigger_id": sim.issue_trigger("UALEX"), "view": {"type": "modal"}}),
    )
    .await;
    assert_eq!(pushed["ok"], true);
    assert_eq!(sim.views_of("UALEX").len(), 2);
    // Closing the first closes what was pushed on top of it.
    sim.close_view(&id);
    assert!(sim.views_of("UALEX").is_empty());
    assert_eq!(
        call("views.open", json!({"view": {}})).await["error"],
        "invalid_trigger_id"
    );
}

#[tokio::test]
async fn the_simulator_uploads_shares_and_lists_files() {
    let sim = FakeSlack::start().await;
    let client = reqwest::Client::new();
    let get = |method: &str, query: &str| {
        let req = client
            .get(format!("{}/{method}?{query}", sim.base_url))
            .bearer_auth("xoxb-test-token");
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    sim.add_channel("CROOM", "room", true);
    let target = get("files.getUploadURLExternal", "filename=pm.md&length=5").await;
    let id = target["file_id"].as_str().unwrap().to_string();
    let uploaded = client
        .post(target["upload_url"].as_str().unwrap())
        .body("draft")
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 200);
    let done = client
        .post(format!("{}/files.completeUploadExternal", sim.base_url))
        .bearer_auth("xoxb-test-token")
        .json(&json!({"files": [{"id": id, "title": "INC-1 postmortem"}], "channel_id": "CROOM"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(done["ok"], true);
    assert_eq!(
        sim.files_in("CROOM"),
        [("INC-1 postmortem".to_string(), "draft".to_string())]
    );
    let listed = get("files.list", "channel=CROOM").await;
    assert_eq!(listed["files"][0]["title"], "INC-1 postmortem");
    assert_eq!(sim.file(&id).unwrap().1, b"draft");
    assert_eq!(sim.snapshot()["files"][0]["size"], 5);
}

#[tokio::test]
async fn fire_an_alert_opens_a_war_room_and_resolving_it_offers_mark_mitigated() {
    let (playground, _dir) = start().await;
    let page = Page::of(&playground);
    let fired = page
        .post("/alert", json!({"user": "UYOU", "resolve": false}))
        .await;
    assert_eq!(fired["answer"]["outcome"], "declared", "{fired}");
    let slack = &playground.workspace.simulator;
    let room = slack
        .eventually("the alert's war room", |s| {
            s.channel_named_like("inc-1-").first().map(|c| c.id.clone())
        })
        .await;
    assert!(
        slack
            .channel(&room)
            .unwrap()
            .name
            .starts_with("inc-1-checkout-error-rate-above-5")
    );
    slack
        .eventually("the alert's card in the war room", |s| {
            s.messages_in(&room)
                .iter()
                .any(|m| text_of(m).contains("Checkout error rate above 5%"))
                .then_some(())
        })
        .await;
    let resolved = page
        .post("/alert", json!({"user": "UYOU", "resolve": true}))
        .await;
    assert_eq!(resolved["answer"]["changes"], 2, "{resolved}");
    slack
        .eventually("Mark mitigated in the war room", |s| {
            s.messages_in(&room)
                .iter()
                .any(|m| text_of(m).contains("alerts.mitigated"))
                .then_some(())
        })
        .await;
    playground.stop().await.unwrap();
}

/// Declares through the page the way a person does: the command, then the
/// modal filled in. Returns the war room's channel id.
/// Alex declares `title` through the page, ticking `flags` (`private`, …).
async fn declare_on_the_page(page: &Page, sim: &FakeSlack, title: &str, flags: &[&str]) {
    page.post(
        "/send",
        json!({"user": "UALEX", "channel": GENERAL, "text": format!("/incident declare {title}")}),
    )
    .await;
    let view = sim
        .eventually("the declare modal", |s| s.views_of("UALEX").pop())
        .await;
    page.post(
        "/submit",
        json!({"user": "UALEX", "view_id": view.id, "values": {
            "title": {"value": {"type": "plain_text_input", "value": title}},
            "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV2", "text": {"type": "plain_text", "text": "SEV2"}}}},
            "flags": {"value": {"type": "checkboxes", "selected_options": flags
                .iter()
                .map(|f| json!({"value": f, "text": {"type": "plain_text", "text": f}}))
                .collect::<Vec<_>>()}},
        }}),
    )
    .await;
}

#[tokio::test]
async fn the_page_answers_only_its_own_machine_and_its_own_page() {
    let (playground, _dir) = start().await;
    let port = playground
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let plain = reqwest::Client::new();
    // A rebinding attack's request: the attacker's name in `Host`.
    let res = plain
        .get(format!("{}state", playground.url))
        .header("host", format!("attacker.example:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 421);
    // `localhost` is the same machine.
    let res = plain
        .get(format!("{}state", playground.url))
        .header("host", format!("localhost:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A POST from another site, or with no Origin, does nothing.
    for origin in [Some("http://attacker.example"), None] {
        let mut req = plain
            .post(format!("{}send", playground.url))
            .json(&json!({"user": "UALEX", "channel": GENERAL, "text": "hi"}));
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403, "origin {origin:?}");
    }
    assert!(
        playground
            .workspace
            .simulator
            .messages_in(GENERAL)
            .is_empty()
    );
    playground.stop().await.unwrap();

    // An address other machines reach needs --allow-remote.
    let dir = tempfile::tempdir().unwrap();
    let refused = Playground::start(
        settings(dir.path()),
        Options {
            listen: "0.0.0.0:0".parse().unwrap(),
            ..Options::default()
        },
    )
    .await;
    let Err(e) = refused else {
        panic!("a playground on 0.0.0.0 without --allow-remote started")
    };
    assert!(e.to_string().contains("--allow-remote"), "{e:#}");
    let open = Playground::start(
        settings(dir.path()),
        Options {
            listen: "0.0.0.0:0".parse().unwrap(),
            allow_remote: true,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let port = open
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let res = plain
        .get(format!("http://127.0.0.1:{port}/state"))
        .header("host", format!("warroom-demo.example:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "with --allow-remote any name is answered"
    );
    open.stop().await.unwrap();
}

#[tokio::test]
async fn a_database_with_incidents_is_refused_unless_reused_on_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("real.db").display());
    let first = Playground::start(
        settings(dir.path()),
        Options {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: Some(url.clone()),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let page = Page::of(&first);
    declare_on_the_page(&page, &first.workspace.simulator, "Checkout is down", &[]).await;
    let room = first
        .workspace
        .simulator
        .clone()
        .eventually("the war room", |s| s.channel_named_like("inc-1-").pop())
        .await;
    first.stop().await.unwrap();

    let again = |reuse_database| {
        Playground::start(
            settings(dir.path()),
            Options {
                listen: "127.0.0.1:0".parse().unwrap(),
                database: Some(url.clone()),
                reuse_database,
                ..Options::default()
            },
        )
    };
    let Err(e) = again(false).await else {
        panic!("the playground started on a database that holds an incident")
    };
    assert!(e.to_string().contains("--reuse-database"), "{e:#}");
    // Reused: the earlier war room is there again, with its people, so the
    // page lists it and commands typed there reach its incident.
    let reused = again(true).await.unwrap();
    let restored = reused
        .workspace
        .simulator
        .channel(&room.id)
        .expect("the earlier war room, recreated");
    assert_eq!(restored.name, room.name);
    assert!(
        restored.members.iter().any(|m| m == "UALEX"),
        "{restored:?}"
    );
    let page = Page::of(&reused);
    page.post(
        "/send",
        json!({"user": "UALEX", "channel": room.id, "text": "/incident note Back after a restart"}),
    )
    .await;
    let timeline = reused
        .ctx()
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    assert!(
        timeline
            .iter()
            .any(|e| e.text.contains("Back after a restart")),
        "the note reached INC-1: {timeline:?}"
    );
    // A new incident gets a war room of its own, not the restored one's id.
    declare_on_the_page(&page, &reused.workspace.simulator, "Second one", &[]).await;
    let second = reused
        .workspace
        .simulator
        .clone()
        .eventually("the second war room", |s| {
            s.channel_named_like("inc-2-").pop()
        })
        .await;
    assert_ne!(second.id, room.id);
    let ctx = reused.ctx();
    let recorded = super::helpers::eventually("INC-2's war room recorded", || async {
        ctx.store
            .incident(warroom::domain::IncidentNumber::new(2))
            .await
            .unwrap()
            .and_then(|i| i.channel_id)
            .ok_or("not yet")
    })
    .await;
    assert_eq!(recorded.as_str(), second.id.as_str());
    reused.stop().await.unwrap();
}

#[tokio::test]
async fn the_clock_moves_only_once_the_bot_is_done_with_what_is_due() {
    use warroom::playground::slack::Failure;
    let dir = tempfile::tempdir().unwrap();
    let playground = Playground::start(
        settings(dir.path()),
        Options {
            listen: "127.0.0.1:0".parse().unwrap(),
            // Shorter than the Slack call's own timeout (10 s): the
            // clock gives up while the call is still held.
            settle_patience: Some(std::time::Duration::from_secs(2)),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let sim: FakeSlack = playground.workspace.simulator.clone();
    let page = Page::of(&playground);
    // The war room's creation hangs in Slack while the clock button is
    // pressed: moving the clock now would expire the job's lease, and a
    // second worker would create the channel again.
    let hold = std::sync::Arc::new(tokio::sync::Notify::new());
    sim.fail_next("conversations.create", Failure::Until(hold.clone()), 1);
    declare_on_the_page(&page, &sim, "Checkout is down", &[]).await;
    sim.eventually("the channel being created", |s| {
        (!s.calls("conversations.create").is_empty()).then_some(())
    })
    .await;
    let offset = playground.workspace.clock.offset();
    let res = page
        .http
        .post(format!("{}clock", playground.url))
        .json(&json!({"minutes": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("still working"));
    assert_eq!(
        playground.workspace.clock.offset(),
        offset,
        "the clock stood still"
    );

    hold.notify_one();
    message_with(&sim, INCIDENTS, "the announcement", "Checkout is down").await;
    page.post("/clock", json!({"minutes": 30})).await;
    assert_eq!(
        playground.workspace.clock.offset() - offset,
        chrono::Duration::minutes(30)
    );
    assert_eq!(sim.calls("conversations.create").len(), 1, "one war room");
    playground.stop().await.unwrap();
}

/// Issue 27.12: as in Slack, a private war room is for its members only:
/// someone outside it can neither post, react nor click there (the page
/// answers as if the channel did not exist), and the page lists it only to
/// its members.
#[tokio::test]
async fn a_private_war_room_is_for_its_members_only() {
    let (playground, _dir) = start().await;
    let page = Page::of(&playground);
    let sim = &playground.workspace.simulator;
    declare_on_the_page(&page, sim, "Leaked keys", &["private"]).await;
    let board = sim
        .eventually("the private war room's board", |s| {
            let room = s.channel_named_like("inc-1-").pop()?;
            s.messages_in(&room.id)
                .into_iter()
                .next()
                .map(|m| (room, m))
        })
        .await;
    let (room, board) = board;
    assert!(sim.is_private(&room.id));
    // Alex, in it, posts there.
    page.post(
        "/send",
        json!({"user": "UALEX", "channel": room.id, "text": "rotating now"}),
    )
    .await;
    // Taylor, outside it, cannot post, react or click there.
    let refused = |path: &'static str, body: Value| {
        let http = page.http.clone();
        let url = format!("{}{path}", playground.url.trim_end_matches('/'));
        async move { http.post(url).json(&body).send().await.unwrap().status() }
    };
    assert_eq!(
        refused(
            "/send",
            json!({"user": "UTAYLOR", "channel": room.id, "text": "what is this?"})
        )
        .await,
        404
    );
    assert_eq!(
        refused("/react", json!({"user": "UTAYLOR", "channel": room.id, "ts": board.ts, "emoji": "eyes", "add": true})).await,
        404
    );
    assert_eq!(
        refused(
            "/click",
            json!({"user": "UTAYLOR", "channel": room.id, "message_ts": board.ts,
            "action_id": "role.claim", "block_id": "x", "kind": "button", "value": "1|Scribe"})
        )
        .await,
        404
    );
    assert!(
        !sim.messages_in(&room.id)
            .iter()
            .any(|m| text_of(m).contains("what is this?")),
        "nothing of Taylor's reached the room"
    );
    // The page's state says who is in it, which the page lists it to.
    let state = page.state().await;
    let listed = state["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == room.id.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["private"], true);
    let members: Vec<&str> = listed["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        members.contains(&"UALEX") && !members.contains(&"UTAYLOR"),
        "{members:?}"
    );
    playground.stop().await.unwrap();
}

/// Every door of issue 26 in the playground: the Home tab with its
/// Declare button, a message's "Add to incident timeline", the global
/// shortcut, and "Run workflow" answered as Workflow Builder answers.
#[tokio::test]
async fn slacks_other_doors_open_in_the_playground() {
    let (playground, _dir) = start().await;
    let page = Page::of(&playground);
    let sim = &playground.workspace.simulator;
    declare_on_the_page(&page, sim, "Checkout down", &[]).await;
    let room = sim
        .eventually("the war room", |s| s.channel_named_like("inc-1-").pop())
        .await;

    // The Home tab, for the person chosen at the top.
    page.post("/home", json!({"user": "USAM"})).await;
    let home = sim
        .eventually("Sam's Home tab", |s| {
            s.home_of("USAM")
                .filter(|h| h.to_string().contains("Checkout down"))
        })
        .await;
    assert!(home.to_string().contains("home.declare"), "{home}");
    assert!(page.state().await["homes"]["USAM"].is_object());
    // Its Declare button opens the declare form on Sam's screen.
    page.post(
        "/view-action",
        json!({"user": "USAM", "view_id": home["id"], "action_id": "home.declare", "kind": "button"}),
    )
    .await;
    let form = sim
        .eventually("the declare form from Home", |s| s.views_of("USAM").pop())
        .await;
    assert_eq!(form.view["callback_id"], "declare");
    page.post("/cancel", json!({"user": "USAM", "view_id": form.id}))
        .await;

    // Casey adds a message in #general to the incident's timeline.
    page.post(
        "/send",
        json!({"user": "UTAYLOR", "channel": GENERAL, "text": "Customers report 500s at checkout"}),
    )
    .await;
    let said = message_with(sim, GENERAL, "Taylor's message", "Customers report").await;
    page.post(
        "/shortcut",
        json!({"user": "UCASEY", "callback_id": "add_to_timeline", "channel": GENERAL, "message_ts": said.ts}),
    )
    .await;
    let picker = sim
        .eventually("the incident picker", |s| s.views_of("UCASEY").pop())
        .await;
    assert_eq!(picker.view["callback_id"], "timeline.add");
    page.post(
        "/submit",
        json!({"user": "UCASEY", "view_id": picker.id, "values": {
            "incident": {"value": {"type": "static_select", "selected_option": {"value": "1", "text": {"type": "plain_text", "text": "INC-1"}}}}
        }}),
    )
    .await;
    page.post(
        "/send",
        json!({"user": "UALEX", "channel": room.id, "text": "/incident timeline"}),
    )
    .await;
    sim.eventually("the quoted message on the timeline", |s| {
        s.ephemerals_for("UALEX").into_iter().find(|e| {
            e.channel == room.id
                && e.body
                    .to_string()
                    .contains("Customers report 500s at checkout")
        })
    })
    .await;

    // The Shortcuts menu's "Declare an incident".
    page.post(
        "/shortcut",
        json!({"user": "UTAYLOR", "callback_id": "declare"}),
    )
    .await;
    let form = sim
        .eventually("the declare form from the shortcut", |s| {
            s.views_of("UTAYLOR").pop()
        })
        .await;
    assert_eq!(form.view["callback_id"], "declare");
    page.post("/cancel", json!({"user": "UTAYLOR", "view_id": form.id}))
        .await;

    // "Run workflow": declared, and Workflow Builder tells Taylor.
    page.post(
        "/workflow",
        json!({"user": "UTAYLOR", "title": "Queue backlog", "severity": "SEV3"}),
    )
    .await;
    let dm = message_with(
        sim,
        "DTAYLOR",
        "Workflow Builder's answer",
        "Declare an incident",
    )
    .await;
    assert!(text_of(&dm).contains("incident 2"), "{}", text_of(&dm));
    page.post(
        "/workflow",
        json!({"user": "UTAYLOR", "title": "Bad level", "severity": "SEV9"}),
    )
    .await;
    message_with(sim, "DTAYLOR", "the step's error", "SEV9").await;

    // A follow-up due tomorrow for Taylor; two days ahead, in two clicks of
    // "+1 day", its reminder reaches Taylor (whatever the hour now).
    let tomorrow = (playground.ctx().clock.now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    page.post(
        "/send",
        json!({"user": "UALEX", "channel": room.id, "text": format!("/incident followup Add a checkout canary @taylor {tomorrow}")}),
    )
    .await;
    for _ in 0..2 {
        page.post("/clock", json!({"minutes": 1440})).await;
    }
    message_with(
        sim,
        "DTAYLOR",
        "the follow-up's due reminder",
        "Add a checkout canary",
    )
    .await;
    playground.stop().await.unwrap();
}

/// What a person types in the composer reaches the bot as Slack sends it:
/// `@name` a mention with the id, so `/incident assign` and a follow-up
/// for someone else work as typed in Slack.
#[tokio::test]
async fn mentions_typed_in_the_composer_reach_the_bot_as_ids() {
    let (playground, _dir) = start().await;
    let page = Page::of(&playground);
    let sim = &playground.workspace.simulator;
    declare_on_the_page(&page, sim, "Search slow", &[]).await;
    let room = sim
        .eventually("the war room", |s| s.channel_named_like("inc-1-").pop())
        .await;
    message_with(sim, &room.id, "the role board", "role.claim").await;
    page.post(
        "/send",
        json!({"user": "UALEX", "channel": room.id, "text": "/incident assign scribe @sam"}),
    )
    .await;
    sim.eventually("Sam on the board as Scribe", |s| {
        s.messages_in(&room.id)
            .into_iter()
            .find(|m| text_of(m).contains("Scribe") && text_of(m).contains("<@USAM>"))
    })
    .await;
    page.post(
        "/send",
        json!({"user": "UALEX", "channel": room.id, "text": "/incident followup Add a canary @Taylor 2030-12-20"}),
    )
    .await;
    page.post(
        "/send",
        json!({"user": "UALEX", "channel": room.id, "text": "/incident followups all"}),
    )
    .await;
    let listed = sim
        .eventually("the follow-up for Taylor", |s| {
            s.ephemerals_for("UALEX")
                .into_iter()
                .find(|e| e.body.to_string().contains("Add a canary"))
        })
        .await;
    let listed = listed.body.to_string();
    assert!(listed.contains("<@UTAYLOR>"), "owned by Taylor: {listed}");
    assert!(
        !listed.contains("@Taylor 2030"),
        "the mention is not left in the text: {listed}"
    );
    // A message: the mention arrives as Slack writes it.
    page.post(
        "/send",
        json!({"user": "UALEX", "channel": GENERAL, "text": "thanks @casey, see #general & <b>"}),
    )
    .await;
    let sent = message_with(sim, GENERAL, "the message", "thanks").await;
    assert_eq!(
        sent.body["text"],
        "thanks <@UCASEY>, see <#CGENERAL|general> &amp; &lt;b&gt;"
    );
    playground.stop().await.unwrap();
}
