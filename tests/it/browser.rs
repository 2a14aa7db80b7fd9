//! The playground's page in a real browser: headless Chromium driven over
//! WebDriver (chromedriver started here on a free port). One person plays
//! every role through the person switcher, from `/incident declare` to the
//! postmortem file, and the test writes docs/playground.png on the way.

use crate::helpers::eventually;
use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use std::time::Duration;
use warroom::config::{Settings, Sources};
use warroom::playground::{Options, Playground};

const NEEDS: &str = "needs chromium and chromedriver (apt-get install chromium chromium-driver)";

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: std::process::Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{NEEDS}: cannot run chromedriver: {e}"));
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn connect(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    let mut chrome = json!({"args": [
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
        "--disable-gpu", "--window-size=1280,800", "--force-device-scale-factor=1",
    ]});
    if std::path::Path::new("/usr/bin/chromium").exists() {
        chrome["binary"] = json!("/usr/bin/chromium");
    }
    caps.insert("goog:chromeOptions".into(), chrome);
    eventually(&format!("a Chromium session ({NEEDS})"), || {
        let caps = caps.clone();
        async move {
            ClientBuilder::new(HttpConnector::new())
                .capabilities(caps)
                .connect(&driver.url)
                .await
                .map_err(|e| e.to_string())
        }
    })
    .await
}

/// Waits (bounded) until the element at `css` shows `text`.
async fn wait_text(c: &Client, css: &str, text: &str) {
    eventually(&format!("`{css}` to show {text:?}"), || async {
        let shown = match c.find(Locator::Css(css)).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if shown.contains(text) {
            Ok(())
        } else {
            Err(shown)
        }
    })
    .await
}

async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
}

/// Finds the element at `at` and does `act` with it; found again and done
/// again (bounded) while that fails, as it does when a live update
/// re-renders the element between the find and the act (a stale element).
async fn with<T, F, Fut>(c: &Client, at: Locator<'_>, act: F) -> T
where
    F: Fn(Element) -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, CmdError>>,
{
    eventually(&format!("{at:?}"), || async {
        match c.find(at).await {
            Ok(el) => match act(el).await {
                Ok(Some(out)) => Ok(out),
                Ok(None) => Err("nothing".to_string()),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        }
    })
    .await
}

/// Clicks the element at `css` (see [`with`]).
async fn click(c: &Client, css: &str) {
    with(c, Locator::Css(css), |el| async move {
        el.click().await.map(Some)
    })
    .await
}

async fn say(c: &Client, text: &str) {
    let composer = wait_for(c, "#composer").await;
    composer.send_keys(text).await.unwrap();
    click(c, "#send").await;
}

async fn be(c: &Client, user: &str) {
    click(c, &format!("#person option[value='{user}']")).await;
}

/// A playground and a browser on its page, showing #general.
async fn open_page() -> (Playground, Driver, Client, tempfile::TempDir) {
    if std::process::Command::new("chromedriver")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("{NEEDS}: chromedriver is not on PATH");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("warroom.toml");
    std::fs::write(&file, "").unwrap();
    let settings = Settings::load(Sources {
        file: Some(&file),
        env: Default::default(),
    })
    .unwrap();
    let playground = Playground::start(
        settings,
        Options {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let driver = start_driver();
    let c = connect(&driver).await;
    c.set_window_size(1280, 800).await.unwrap();
    c.goto(&playground.url).await.unwrap();
    wait_for(&c, "#channels li[data-name='general']").await;
    (playground, driver, c, dir)
}

/// Declares from #general through the modal, then opens the war room
/// once its role board is there.
async fn declare(c: &Client, title: &str) {
    say(c, &format!("/incident declare {title}")).await;
    wait_for(c, "#modal-form").await;
    click(c, "#in-severity option[value='SEV2']").await;
    let summary = wait_for(c, "#in-summary").await;
    summary
        .send_keys("Card payments fail at the last step for EU customers.")
        .await
        .unwrap();
    click(c, "#modal-submit").await;
    click(c, "#channels li[data-name^='inc-1-']").await;
    wait_for(c, "#messages button[data-action='role.claim']").await;
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver (apt-get install chromium chromium-driver); CI runs it with --include-ignored"]
async fn a_war_room_in_a_real_browser() {
    let (playground, driver, c, _dir) = open_page().await;
    // Declare from #general; the war room appears with its role board.
    declare(&c, "Checkout is down").await;

    // Sam claims Scribe.
    be(&c, "USAM").await;
    click(
        &c,
        "button[data-action='role.claim'][data-value='1|Scribe']",
    )
    .await;
    wait_text(&c, "#messages", "Scribe: @sam").await;

    // Sam posts and tags the message with 📌; the bot confirms with 📝.
    say(&c, "Rolled back the 14:02 deploy, error rate falling").await;
    let tagged = "//div[contains(@class,'msg ') or @class='msg'][.//div[@class='text'][contains(., 'Rolled back the 14:02 deploy')]]";
    let react = format!("{tagged}//*[contains(@class,'react-add')]");
    with(&c, Locator::XPath(&react), |el| async move {
        el.click().await.map(Some)
    })
    .await;
    click(&c, "#picker button[data-emoji='pushpin']").await;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(&format!(
            "{tagged}//button[@data-emoji='memo']"
        )))
        .await
        .expect("the bot confirms the tag");

    // Half an hour later: the comms nudge.
    be(&c, "UALEX").await;
    click(&c, "#plus30").await;
    wait_text(&c, "#messages", "no status update since").await;
    // The war room mid-incident (role board, the tagged message and its
    // confirmation, the nudge): the README's picture.
    let png = c.screenshot().await.unwrap();
    let out = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/playground.png");
    std::fs::write(out, &png).unwrap();
    say(&c, "/incident update Rolled back; checkout is recovering").await;
    wait_text(&c, "#messages", "checkout is recovering").await;

    // Close: the postmortem file, with the tagged message in it.
    say(&c, "/incident close").await;
    let href = with(&c, Locator::Css("a.file-link"), |el| async move {
        el.attr("href").await
    })
    .await;
    let draft = reqwest::get(format!(
        "{}{}",
        playground.url,
        href.trim_start_matches('/')
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        draft.contains("Rolled back the 14:02 deploy"),
        "the tagged message is in the postmortem draft:\n{draft}"
    );

    // The web record, signed in as the person chosen at the top: the
    // incident's page with its draft, and the insights charts; both
    // pictures for README.
    c.goto(&format!("{}web/as?user=UALEX", playground.url))
        .await
        .unwrap();
    wait_text(&c, "main", "Checkout is down").await;
    c.goto(&format!("{}web/incidents/1", playground.url))
        .await
        .unwrap();
    wait_text(&c, ".postmortem", "Postmortem draft").await;
    wait_text(&c, ".timeline", "Rolled back the 14:02 deploy").await;
    let png = c.screenshot().await.unwrap();
    std::fs::write(
        concat!(env!("CARGO_MANIFEST_DIR"), "/docs/web-incident.png"),
        &png,
    )
    .unwrap();
    c.goto(&format!("{}web/insights?days=30", playground.url))
        .await
        .unwrap();
    wait_for(&c, ".chart svg").await;
    let png = c.screenshot().await.unwrap();
    std::fs::write(
        concat!(env!("CARGO_MANIFEST_DIR"), "/docs/web-insights.png"),
        &png,
    )
    .unwrap();
    c.close().await.unwrap();
    drop(driver);
    playground.stop().await.unwrap();
}

/// Issue 28 and the doors of issue 26 as a newcomer meets them: mentions
/// typed in the composer, a follow-up for someone else, an emoji
/// shortcode, a message's ⋯ menu, a select in a message (an alert card's
/// "Attach to…"), the Home tab and its button, the Shortcuts menu's "Run
/// workflow", a day ahead.
#[tokio::test]
#[ignore = "needs chromium and chromedriver (apt-get install chromium chromium-driver); CI runs it with --include-ignored"]
async fn the_doors_and_the_composer_in_a_real_browser() {
    let (playground, driver, c, _dir) = open_page().await;
    declare(&c, "Search is slow").await;

    // `@sam` typed as in Slack assigns Sam.
    say(&c, "/incident assign scribe @sam").await;
    wait_text(&c, "#messages", "Scribe: @sam").await;
    // A follow-up for Taylor, not for the one typing.
    say(&c, "/incident followup Add a canary @taylor 2030-12-20").await;
    say(&c, "/incident followups all").await;
    wait_text(&c, "#messages", "Add a canary").await;
    wait_text(&c, "#messages", "@taylor").await;

    // A shortcode from the emoji data set renders as the emoji.
    say(&c, "Index rebuilt :sunny: latency back to normal").await;
    wait_text(&c, "#messages", "Index rebuilt ☀️").await;
    // Its ⋯ menu: "Add to incident timeline"; the bot confirms with 📝.
    let said = "//div[contains(@class,'msg ') or @class='msg'][.//div[@class='text'][contains(., 'Index rebuilt')]]";
    with(
        &c,
        Locator::XPath(&format!("{said}//button[contains(@class,'more')]")),
        |el| async move { el.click().await.map(Some) },
    )
    .await;
    with(
        &c,
        Locator::XPath("//div[@id='picker']/button[contains(., 'Add to incident timeline')]"),
        |el| async move { el.click().await.map(Some) },
    )
    .await;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(&format!(
            "{said}//button[@data-emoji='memo']"
        )))
        .await
        .expect("the bot confirms the message on the timeline");

    // A warning's card in #incidents: its "Attach to…" select (a select in
    // a message) links it to the open incident.
    click(&c, "#fire-warning").await;
    click(&c, "#channels li[data-name='incidents']").await;
    click(&c, "select[data-action^='alerts.attach'] option[value='1']").await;
    wait_text(&c, "#messages", "Linked to INC-1").await;

    // The Home tab: the incident, and a Declare button that opens the form.
    click(&c, "#open-home").await;
    wait_text(&c, "#messages", "Search is slow").await;
    click(&c, "#messages button[data-action='home.declare']").await;
    wait_for(&c, "#modal-form").await;
    click(&c, "#modal-cancel").await;

    // The Shortcuts menu: Run workflow → declared, Workflow Builder says so.
    click(&c, "#shortcuts").await;
    with(
        &c,
        Locator::XPath("//div[@id='picker']/button[contains(., 'Run workflow')]"),
        |el| async move { el.click().await.map(Some) },
    )
    .await;
    wait_for(&c, "#wf-title")
        .await
        .send_keys("Queue backlog")
        .await
        .unwrap();
    click(&c, "#workflow-run").await;
    click(&c, "#dms li").await;
    wait_text(&c, "#messages", "incident 2").await;

    // A day ahead in one click.
    click(&c, "#plus1d").await;
    wait_text(&c, "#clock", "+1440 min").await;
    c.close().await.unwrap();
    drop(driver);
    playground.stop().await.unwrap();
}

/// The web record in a real browser, signed in through the fake OpenID
/// provider of `web.rs` (discovery, authorize, token, keys, RS256 id
/// tokens): the list, a filter, an incident's timeline, the insights.
#[tokio::test]
#[ignore = "needs chromium and chromedriver (apt-get install chromium chromium-driver); CI runs it with --include-ignored"]
async fn sign_in_with_openid_connect_and_read_the_record_in_a_real_browser() {
    let provider = crate::web::start_provider().await;
    // The provider's own address stands for warroom's public one: its
    // `/web/callback` relays to the app, as a proxy in front of it would.
    let app = crate::web::web_app_at(&provider, &provider.url).await;
    let room = app.declare("Checkout is down", "SEV1").await;
    app.command(
        crate::helpers::DECLARER,
        &room,
        "note Rolled back the 14:02 deploy",
    )
    .await;
    app.wait_idle().await;
    let driver = start_driver();
    let c = connect(&driver).await;
    c.goto(&app.url("/web")).await.unwrap();
    wait_text(&c, "main", "Checkout is down").await;
    c.goto(&app.url("/web?status=open&q=Checkout"))
        .await
        .unwrap();
    click(&c, "a[href='/web/incidents/1']").await;
    wait_text(&c, ".timeline", "Rolled back the 14:02 deploy").await;
    c.goto(&app.url("/web/insights")).await.unwrap();
    wait_for(&c, ".chart svg").await;
    c.close().await.unwrap();
    drop(driver);
}
