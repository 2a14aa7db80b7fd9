//! The web record (issue 25): sign-in through a fake OpenID Connect
//! provider run here (discovery, authorize, token with PKCE, keys, RS256
//! id tokens), then the incident list and an incident's page; the ways a
//! sign-in must fail; who sees what; text that must render inert.

use crate::helpers::*;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use base64::Engine;
use openidconnect::PrivateSigningKey;
use openidconnect::core::{CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const CLIENT_ID: &str = "warroom-test-client";
const CLIENT_SECRET: &str = "warroom-test-secret";
const TEAM: &str = "T0TEST";
/// Where the test says warroom is (the provider sends people back there);
/// the test then calls the app's real address with the same query.
const BASE_URL: &str = "http://warroom.test";

fn key(file: &str) -> CoreRsaPrivateSigningKey {
    let pem = std::fs::read_to_string(format!(
        "{}/tests/fixtures/oidc/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    CoreRsaPrivateSigningKey::from_pem(&pem, Some(openidconnect::JsonWebKeyId::new("k1".into())))
        .unwrap()
}

/// A change to what the next id token says.
type Tweak = Box<dyn Fn(&mut Next)>;

/// What the next id token says (or how it is wrong).
#[derive(Clone)]
struct Next {
    /// Send Slack's claims (Sign in with Slack); else only `email`.
    slack_claims: bool,
    email: Option<String>,
    /// Leave `email_verified` out of the token.
    unverified: bool,
    user: String,
    team: String,
    issuer: Option<String>,
    audience: Option<String>,
    expired: bool,
    other_key: bool,
}

/// A right token for Alice of the allowed workspace, with Slack's claims.
impl Default for Next {
    fn default() -> Self {
        Next {
            slack_claims: true,
            email: None,
            unverified: false,
            user: DECLARER.to_string(),
            team: TEAM.to_string(),
            issuer: None,
            audience: None,
            expired: false,
            other_key: false,
        }
    }
}

pub struct Provider {
    pub url: String,
    /// Where `/web/callback` on the provider's own address sends people on
    /// (a browser test gives the provider's address as `web.base_url`).
    relay_to: Mutex<Option<String>>,
    next: Mutex<Next>,
    /// code → (nonce, PKCE challenge, redirect_uri, used)
    codes: Mutex<HashMap<String, (String, String, String, bool)>>,
    key: CoreRsaPrivateSigningKey,
    other: CoreRsaPrivateSigningKey,
    /// The provider signs with `other` now, and publishes only it.
    rotated: Mutex<bool>,
}

async fn discovery(State(p): State<Arc<Provider>>) -> axum::Json<Value> {
    axum::Json(json!({
        "issuer": p.url,
        "authorization_endpoint": format!("{}/authorize", p.url),
        "token_endpoint": format!("{}/token", p.url),
        "jwks_uri": format!("{}/jwks", p.url),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }))
}

async fn jwks(State(p): State<Arc<Provider>>) -> axum::Json<Value> {
    let key = if *p.rotated.lock().unwrap() {
        &p.other
    } else {
        &p.key
    };
    axum::Json(json!({"keys": [key.as_verification_key()]}))
}

/// Approves at once: back to the client with a code for this login.
async fn authorize(
    State(p): State<Arc<Provider>>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    assert_eq!(q.get("client_id").map(String::as_str), Some(CLIENT_ID));
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    let code = warroom::random::hex::<8>().unwrap();
    p.codes.lock().unwrap().insert(
        code.clone(),
        (
            q["nonce"].clone(),
            q["code_challenge"].clone(),
            q["redirect_uri"].clone(),
            false,
        ),
    );
    Redirect::to(&format!(
        "{}?code={code}&state={}",
        q["redirect_uri"],
        urlencode(&q["state"])
    ))
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_string()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The code for tokens: once, with the verifier matching the challenge.
async fn token(
    State(p): State<Arc<Provider>>,
    Form(f): Form<HashMap<String, String>>,
) -> axum::response::Response {
    let refuse = |why: &str| {
        (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant", "error_description": why})),
        )
            .into_response()
    };
    let (nonce, challenge, redirect) = {
        let mut codes = p.codes.lock().unwrap();
        let Some(entry) = codes.get_mut(f.get("code").map(String::as_str).unwrap_or("")) else {
            return refuse("unknown code");
        };
        if entry.3 {
            return refuse("code already used");
        }
        entry.3 = true;
        (entry.0.clone(), entry.1.clone(), entry.2.clone())
    };
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    if b64(&Sha256::digest(verifier.as_bytes())) != challenge {
        return refuse("PKCE verifier does not match");
    }
    if f.get("redirect_uri") != Some(&redirect) {
        return refuse("redirect_uri differs");
    }
    let next = p.next.lock().unwrap().clone();
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": next.issuer.unwrap_or_else(|| p.url.clone()),
        "aud": next.audience.unwrap_or_else(|| CLIENT_ID.to_string()),
        "sub": next.user,
        "iat": now - 5,
        "exp": if next.expired { now - 60 } else { now + 300 },
        "nonce": nonce,
        "name": "Test Person",
    });
    let mut claims = claims;
    if next.slack_claims {
        claims["https://slack.com/user_id"] = json!(next.user);
        claims["https://slack.com/team_id"] = json!(next.team);
    }
    if let Some(email) = &next.email {
        claims["email"] = json!(email);
        if !next.unverified {
            claims["email_verified"] = json!(true);
        }
    }
    let head = b64(json!({"alg": "RS256", "typ": "JWT", "kid": "k1"})
        .to_string()
        .as_bytes());
    let body = b64(claims.to_string().as_bytes());
    let signing = format!("{head}.{body}");
    let rotated = *p.rotated.lock().unwrap();
    let key = if next.other_key != rotated {
        &p.other
    } else {
        &p.key
    };
    let sig = key
        .sign(
            &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            signing.as_bytes(),
        )
        .unwrap();
    axum::Json(json!({
        "access_token": "at-test", "token_type": "Bearer", "expires_in": 300,
        "id_token": format!("{signing}.{}", b64(&sig)),
    }))
    .into_response()
}

/// `/web/callback` relayed to the app, with its query.
async fn relay(
    State(p): State<Arc<Provider>>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> impl IntoResponse {
    let to = p.relay_to.lock().unwrap().clone().unwrap_or_default();
    Redirect::to(&format!("{to}/web/callback?{}", query.unwrap_or_default()))
}

pub async fn start_provider() -> Arc<Provider> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let provider = Arc::new(Provider {
        url,
        relay_to: Mutex::new(None),
        next: Mutex::new(Next::default()),
        codes: Mutex::new(HashMap::new()),
        key: key("test-signing-key.pem"),
        other: key("other-key.pem"),
        rotated: Mutex::new(false),
    });
    let app = axum::Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .route("/web/callback", get(relay))
        .with_state(provider.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    provider
}

async fn web_app(provider: &Provider) -> TestApp {
    web_app_at(provider, BASE_URL).await
}

/// The app with the web record at `base_url`, signing in with `provider`
/// as Sign in with Slack (its tokens' Slack claims name the person).
pub async fn web_app_at(provider: &Provider, base_url: &str) -> TestApp {
    web_app_naming(provider, base_url, "slack").await
}

/// The app with the web record at `base_url`, signing in with `provider`,
/// whose tokens name people as `identity` says (`slack` or `email`).
async fn web_app_naming(provider: &Provider, base_url: &str, identity: &str) -> TestApp {
    let app = TestApp::spawn(Setup {
        env: vec![
            ("WARROOM_WEB__BASE_URL", base_url.to_string()),
            ("WARROOM_WEB__OIDC__ISSUER", provider.url.clone()),
            ("WARROOM_WEB__OIDC__IDENTITY", identity.to_string()),
            ("WARROOM_WEB__OIDC__CLIENT_ID", CLIENT_ID.to_string()),
            (
                "WARROOM_WEB__OIDC__CLIENT_SECRET",
                CLIENT_SECRET.to_string(),
            ),
            ("WARROOM_WEB__ALLOWED_TEAM", TEAM.to_string()),
        ],
        ..Setup::default()
    })
    .await;
    *provider.relay_to.lock().unwrap() = Some(app.url("").trim_end_matches('/').to_string());
    app
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Starts signing in at `path` (`/web/login…`) as the provider's next
/// person: the login cookie this browser got, and the query the provider
/// sent it back to the callback with.
async fn start_sign_in(app: &TestApp, path: &str) -> (String, String) {
    let http = browser();
    let login = http.get(app.url(path)).send().await.unwrap();
    assert_eq!(
        login.status(),
        303,
        "the login sends people to the provider"
    );
    let login_cookie = set_cookie(&login, "warroom_login_").expect("a login cookie");
    let approved = http.get(location(&login)).send().await.unwrap();
    let back = location(&approved);
    let query = back
        .strip_prefix(&format!("{BASE_URL}/web/callback"))
        .unwrap_or_else(|| panic!("back to the callback: {back}"))
        .to_string();
    (login_cookie, query)
}

/// The callback with `query`, from a browser holding `login_cookie`.
async fn callback(app: &TestApp, login_cookie: &str, query: &str) -> reqwest::Response {
    browser()
        .get(app.url(&format!("/web/callback{query}")))
        .header("cookie", login_cookie)
        .send()
        .await
        .unwrap()
}

/// Signs in as the provider's next person: the callback's answer.
async fn sign_in(app: &TestApp) -> reqwest::Response {
    let (login_cookie, query) = start_sign_in(app, "/web/login").await;
    callback(app, &login_cookie, &query).await
}

/// The cookie an answer set (`name=value`) whose name is `name` (or starts
/// with it, when it ends in `_`), unless it cleared it.
fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|set| {
            let named = set.split('=').next().unwrap_or_default();
            (named == name || (name.ends_with('_') && named.starts_with(name)))
                && !set.contains("Max-Age=0")
        })
        .inspect(|set| {
            assert!(
                set.contains("HttpOnly") && set.contains("SameSite=Lax"),
                "{set}"
            )
        })
        .find_map(|set| set.split(';').next().map(str::to_string))
}

/// The session cookie a callback set.
fn cookie(res: &reqwest::Response) -> Option<String> {
    set_cookie(res, "warroom_session")
}

async fn page(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let res = browser()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    if status == 200 {
        let csp = res
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(csp.contains("default-src 'self'"), "{csp}");
    }
    (status, res.text().await.unwrap())
}

#[tokio::test]
async fn signed_in_with_slack_a_person_reads_the_list_and_an_incident() {
    let provider = start_provider().await;
    let app = web_app(&provider).await;
    let room = app.declare("Checkout is down", "SEV1").await;
    app.command(DECLARER, &room, "note Rolled back the deploy")
        .await;
    app.wait_idle().await;

    // Not signed in: off to sign in, and back to the page afterwards.
    let res = browser().get(app.url("/web")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/web/login?next=%2Fweb");
    let res = browser()
        .get(app.url("/web/incidents/1?timeline=all"))
        .send()
        .await
        .unwrap();
    let login = location(&res);
    assert_eq!(
        login,
        "/web/login?next=%2Fweb%2Fincidents%2F1%3Ftimeline%3Dall"
    );

    let res = sign_in(&app).await;
    assert_eq!(res.status(), 303, "{:?}", res.headers());
    let cookie = cookie(&res).expect("a session cookie");
    assert_eq!(app.count("SELECT COUNT(*) FROM web_sessions").await, 1);

    let (status, list) = page(&app, &cookie, "/web").await;
    assert_eq!(status, 200);
    assert!(
        list.contains("Checkout is down") && list.contains("INC-1"),
        "{list}"
    );
    let (status, incident) = page(&app, &cookie, "/web/incidents/1").await;
    assert_eq!(status, 200);
    assert!(
        incident.contains("Rolled back the deploy"),
        "the timeline: {incident}"
    );
    assert!(incident.contains("Incident Lead"), "the roles");
    let (status, _) = page(&app, &cookie, "/web/incidents/99").await;
    assert_eq!(status, 404);
    // A long timeline is read a part at a time, or whole to print it.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", app.db_path().display()))
        .await
        .unwrap();
    sqlx::query(
        "WITH RECURSIVE k(e) AS (SELECT 1 UNION ALL SELECT e + 1 FROM k WHERE e < 300)
         INSERT INTO timeline_entries (incident_number, occurred_at, recorded_at, kind, author, text)
         SELECT 1, i.declared_at + 3600000 + k.e * 1000, i.declared_at + 3600000 + k.e * 1000,
                'note', 'UALICE', 'Long note #' || k.e || '.'
         FROM incidents i, k WHERE i.number = 1",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let total = app
        .count("SELECT COUNT(*) FROM timeline_entries WHERE incident_number = 1")
        .await;
    let (_, first) = page(&app, &cookie, "/web/incidents/1").await;
    assert!(
        first.contains(&format!("Entries 1–250 of {total}")),
        "{first}"
    );
    assert!(first.contains("Rolled back the deploy") && first.contains("Long note #200."));
    assert!(!first.contains("Long note #300."));
    assert!(first.contains("href=\"?timeline=2\""), "{first}");
    let (_, second) = page(&app, &cookie, "/web/incidents/1?timeline=2").await;
    assert!(second.contains(&format!("Entries 251–{total} of {total}")));
    assert!(second.contains("Long note #300.") && !second.contains("Rolled back the deploy"));
    let (_, whole) = page(&app, &cookie, "/web/incidents/1?timeline=all").await;
    assert!(whole.contains("Rolled back the deploy") && whole.contains("Long note #300."));
    assert!(!whole.contains("Entries 1–"), "the whole of it");
    // More than a page of incidents: the list pages back by number.
    for n in 0..60 {
        let d = declaration(&format!("Older one {n}"));
        app.ctx
            .store
            .create_incident(
                &d,
                Some(&format!("older-{n}")),
                app.ctx.clock.now(),
                &warroom::domain::RoleName::new("Incident Lead"),
                warroom::store::Effects::default(),
            )
            .await
            .unwrap();
    }
    // The form as a browser sends it, empty fields and all.
    let (status, _) = page(&app, &cookie, "/web?status=all&severity=&days=&q=").await;
    assert_eq!(status, 200);
    assert_eq!(page(&app, &cookie, "/web/insights?days=").await.0, 200);
    // 61 open: the first page shows 50 of them and links to the rest.
    let (_, list) = page(&app, &cookie, "/web").await;
    assert!(list.contains("href=\"/web?status=open\""), "{list}");
    let (status, list) = page(&app, &cookie, "/web?q=Older").await;
    assert_eq!(status, 200, "{list}");
    let next = list
        .split("href=\"")
        .filter_map(|h| h.split('"').next())
        .find(|h| h.contains("before="))
        .expect("a link to older incidents")
        .replace("&amp;", "&")
        .replace("&#x2f;", "/");
    let (status, older) = page(&app, &cookie, &next).await;
    assert_eq!(status, 200);
    assert!(older.contains("Older one 0"), "{older}");

    // Signing out ends the session.
    let res = browser()
        .post(app.url("/web/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(app.count("SELECT COUNT(*) FROM web_sessions").await, 0);
    let res = browser()
        .get(app.url("/web"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/web/login?next=%2Fweb");
    // Signing out from another site's page is refused.
    let res = browser()
        .post(app.url("/web/logout"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Signed in from a page: back on that page.
    let (login_cookie, query) = start_sign_in(&app, &login).await;
    let res = callback(&app, &login_cookie, &query).await;
    assert_eq!(location(&res), "/web/incidents/1?timeline=all");
    // Only to a page of the record on this site.
    for elsewhere in [
        "//evil.example/web",
        "https://evil.example/web",
        "/web/../api",
    ] {
        let path = format!(
            "/web/login?{}",
            serde_urlencoded::to_string([("next", elsewhere)]).unwrap()
        );
        let (login_cookie, query) = start_sign_in(&app, &path).await;
        let res = callback(&app, &login_cookie, &query).await;
        assert_eq!(location(&res), "/web", "{elsewhere}");
    }
}

#[tokio::test]
async fn a_sign_in_that_is_not_right_opens_no_session() {
    let provider = start_provider().await;
    let app = web_app(&provider).await;
    let set = |f: &dyn Fn(&mut Next)| {
        let mut next = provider.next.lock().unwrap();
        *next = Next::default();
        f(&mut next);
    };
    let cases: Vec<(&str, Tweak)> = vec![
        (
            "wrong issuer",
            Box::new(|n| n.issuer = Some("https://evil.example".into())),
        ),
        (
            "wrong audience",
            Box::new(|n| n.audience = Some("someone-else".into())),
        ),
        ("expired", Box::new(|n| n.expired = true)),
        ("badly signed", Box::new(|n| n.other_key = true)),
        ("another workspace", Box::new(|n| n.team = "T0OTHER".into())),
    ];
    for (what, case) in cases {
        set(case.as_ref());
        let res = sign_in(&app).await;
        assert_eq!(res.status(), 403, "{what}: refused");
        assert!(cookie(&res).is_none(), "{what}: no cookie");
        let body = res.text().await.unwrap();
        assert!(body.contains("Sign-in failed"), "{what}: {body}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM web_sessions").await, 0);

    // A wrong state, and a callback replayed: refused.
    set(&|_| {});
    let http = browser();
    let res = http
        .get(app.url("/web/callback?code=abc&state=made-up"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Someone else's sign-in (an attacker's callback link) in this browser:
    // refused, and it stays theirs.
    let (theirs_cookie, theirs) = start_sign_in(&app, "/web/login").await;
    let (mine_cookie, _) = start_sign_in(&app, "/web/login").await;
    let res = callback(&app, &mine_cookie, &theirs).await;
    assert_eq!(res.status(), 403, "a callback this browser did not start");
    assert!(cookie(&res).is_none());
    let res = callback(&app, "", &theirs).await;
    assert_eq!(res.status(), 403, "a callback without the login cookie");
    // Two sign-ins started at once in one browser (two tabs): both finish.
    let (one_cookie, one) = start_sign_in(&app, "/web/login").await;
    let (two_cookie, two) = start_sign_in(&app, "/web/login").await;
    let both = format!("{one_cookie}; {two_cookie}");
    assert_eq!(callback(&app, &both, &two).await.status(), 303);
    assert_eq!(callback(&app, &both, &one).await.status(), 303);
    let query = theirs;
    let first = callback(&app, &theirs_cookie, &query).await;
    assert_eq!(first.status(), 303, "the real one signs in");
    let again = callback(&app, &theirs_cookie, &query).await;
    assert_eq!(again.status(), 403, "the same callback again is refused");
    // A used code with a fresh state: the provider refuses it.
    let (fresh_cookie, fresh) = start_sign_in(&app, "/web/login").await;
    let fresh_state = fresh.split("state=").nth(1).unwrap().to_string();
    let old_code = query
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let replay = callback(
        &app,
        &fresh_cookie,
        &format!("?code={old_code}&state={fresh_state}"),
    )
    .await;
    assert_eq!(replay.status(), 403, "a replayed code is refused");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM web_sessions").await,
        3,
        "the two tabs' and the real one's"
    );
}

#[tokio::test]
async fn a_private_incident_is_a_404_to_a_non_member_and_text_renders_inert() {
    let provider = start_provider().await;
    let app = web_app(&provider).await;
    // A private incident Alice declared (she is in its war room).
    crate::private::declare_with(&app, "V-private", vec!["private"]).await;
    // A public one whose text is hostile.
    let evil = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    app.command(DECLARER, ORIGIN, "declare x").await;
    let res = app
        .submit_declare(
            DECLARER,
            "V-evil",
            DeclareInput {
                title: evil.to_string(),
                summary: format!("{evil} [click](javascript:alert(3))"),
                ..DeclareInput::default()
            },
        )
        .await;
    assert_eq!(res.status(), 200);
    let room = app.wait_room(2).await;
    // A note with hostile text and links, as Slack sends a command's text.
    app.command(
        DECLARER,
        &room,
        "note &lt;script&gt;alert(4)&lt;/script&gt; see <https://example.com/runbook|the runbook>, <javascript:alert(5)|this> and <@UBOB>",
    )
    .await;
    app.slack.set_name("UBOB", "bob");
    app.wait_idle().await;

    // Bob is in neither war room.
    provider.next.lock().unwrap().user = "UBOB".into();
    let bob = cookie(&sign_in(&app).await).unwrap();
    let (_, list) = page(&app, &bob, "/web?status=all").await;
    assert!(!list.contains(crate::private::TITLE), "{list}");
    assert!(!list.contains("INC-1"), "not even its number: {list}");
    assert_eq!(page(&app, &bob, "/web/incidents/1").await.0, 404);

    // Alice, a member, sees it.
    provider.next.lock().unwrap().user = DECLARER.into();
    let alice = cookie(&sign_in(&app).await).unwrap();
    let (_, list) = page(&app, &alice, "/web?status=all").await;
    assert!(list.contains(crate::private::TITLE), "{list}");
    assert_eq!(page(&app, &alice, "/web/incidents/1").await.0, 200);

    // Insights: three charts, and counts that leave out what Bob may not see.
    let sev1 = |html: &str| -> u32 {
        let table = html
            .split("<table class=\"numbers\">")
            .nth(1)
            .unwrap_or_default();
        let table = table.split("</table>").next().unwrap_or_default();
        regex::Regex::new(r"<tr><td>[0-9-]+</td><td>(\d+)</td>")
            .unwrap()
            .captures_iter(table)
            .map(|c| c[1].parse::<u32>().unwrap())
            .sum()
    };
    let (status, alice_insights) = page(&app, &alice, "/web/insights?days=30").await;
    assert_eq!(status, 200);
    assert_eq!(alice_insights.matches("<svg").count(), 3, "three charts");
    assert_eq!(
        sev1(&alice_insights),
        1,
        "Alice's private SEV1 counts for her"
    );
    let (_, bob_insights) = page(&app, &bob, "/web/insights?days=30").await;
    assert_eq!(sev1(&bob_insights), 0, "not for Bob: {bob_insights}");

    // The hostile text is shown, not run.
    let (status, html) = page(&app, &bob, "/web/incidents/2").await;
    assert_eq!(status, 200);
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(
        !html.contains("href=\"javascript:"),
        "no link runs script: {html}"
    );
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(!html.contains("<script>alert(4)"), "{html}");
    assert!(
        html.contains("<a href=\"https://example.com/runbook\">the runbook</a>"),
        "a link in Slack is a link here: {html}"
    );
    assert!(
        html.contains(" this and "),
        "another scheme is its text: {html}"
    );
}

fn link_shared(event_id: &str, channel: &str, ts: &str, url: &str) -> Value {
    json!({
        "token": "t", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": event_id, "event_time": 1_700_000_000,
        "event": {
            "type": "link_shared", "channel": channel, "user": "UBOB", "message_ts": ts,
            "unfurl_id": "U1", "source": "conversations_history", "is_bot_user_member": true,
            "links": [{"domain": "warroom.test", "url": url}], "event_ts": ts
        }
    })
}

/// Slack links to the record, and the record's links unfurl in Slack: a
/// private incident's only in its own war room.
#[tokio::test]
async fn slack_links_to_the_record_and_its_links_unfurl() {
    let provider = start_provider().await;
    let app = web_app(&provider).await;
    let room = app.declare("Search is slow", "SEV2").await;
    let page_url = format!("{BASE_URL}/web/incidents/1");
    let board = app.slack.messages_in(&room);
    assert!(
        board.iter().any(|m| m.body.to_string().contains(&page_url)),
        "the role board has View in browser"
    );
    assert!(
        app.slack
            .messages_in(ORIGIN)
            .iter()
            .any(|m| m.body.to_string().contains(&page_url)),
        "so has the announcement"
    );

    // A link to the public incident, pasted in #general: a card.
    let ts = app
        .slack
        .user_posts(ORIGIN, "UBOB", &page_url, None, start_time());
    let res = app
        .event(link_shared("Ev-link-1", ORIGIN, &ts, &page_url), None)
        .await;
    assert_eq!(res.status(), 200);
    app.wait_idle().await;
    let unfurls = app.slack.calls("chat.unfurl");
    assert_eq!(unfurls.len(), 1);
    assert!(
        unfurls[0].body["unfurls"][&page_url]
            .to_string()
            .contains("Search is slow")
    );

    // A private incident's link: not in #general, but in its war room.
    let private_room = crate::private::declare_with(&app, "V-private", vec!["private"]).await;
    let private_url = format!("{BASE_URL}/web/incidents/2");
    let ts = app
        .slack
        .user_posts(ORIGIN, "UBOB", &private_url, None, start_time());
    app.event(link_shared("Ev-link-2", ORIGIN, &ts, &private_url), None)
        .await;
    app.wait_idle().await;
    assert_eq!(
        app.slack.calls("chat.unfurl").len(),
        1,
        "no card outside its war room"
    );
    let ts = app
        .slack
        .user_posts(&private_room, DECLARER, &private_url, None, start_time());
    app.event(
        link_shared("Ev-link-3", &private_room, &ts, &private_url),
        None,
    )
    .await;
    app.wait_idle().await;
    let unfurls = app.slack.calls("chat.unfurl");
    assert_eq!(unfurls.len(), 2, "a card in its war room");
    assert!(
        unfurls[1].body["unfurls"][&private_url]
            .to_string()
            .contains(crate::private::TITLE)
    );

    // Links still in the composer (Slack's published shape): answered by
    // their unfurl id; a private incident's never (Slack says no channel).
    let composing = |event_id: &str, url: &str| {
        let mut event = link_shared(
            event_id,
            "COMPOSER",
            "UBOB-909b5454-75f8-4ac4-b325-1b40e230bbd8",
            url,
        );
        event["event"]["source"] = json!("composer");
        event["event"]["unfurl_id"] = json!("UBOB-909b5454-75f8-4ac4-b325-1b40e230bbd8");
        event
    };
    app.event(composing("Ev-link-4", &page_url), None).await;
    app.event(composing("Ev-link-5", &private_url), None).await;
    app.wait_idle().await;
    let unfurls = app.slack.calls("chat.unfurl");
    assert_eq!(unfurls.len(), 3, "{unfurls:?}");
    let composed = &unfurls[2].body;
    assert_eq!(
        (
            &composed["unfurl_id"],
            &composed["source"],
            &composed["channel"]
        ),
        (
            &json!("UBOB-909b5454-75f8-4ac4-b325-1b40e230bbd8"),
            &json!("composer"),
            &Value::Null
        )
    );
    assert!(composed["unfurls"][&page_url].is_object());
}

/// The provider's discovery document and keys are kept a while; a token
/// signed with a key published since is checked against the keys of now
/// (asked at most once a minute).
#[tokio::test]
async fn a_new_signing_key_of_the_provider_is_fetched_when_a_token_needs_it() {
    let provider = start_provider().await;
    let app = web_app(&provider).await;
    assert_eq!(sign_in(&app).await.status(), 303);
    *provider.rotated.lock().unwrap() = true;
    // Within a minute of the last fetch, the provider is not asked again.
    assert_eq!(sign_in(&app).await.status(), 403, "too soon to ask again");
    app.advance(std::time::Duration::from_secs(61)).await;
    assert_eq!(sign_in(&app).await.status(), 303, "signed with the new key");
    assert_eq!(app.count("SELECT COUNT(*) FROM web_sessions").await, 2);
}

/// Without `web.allowed_team`, Sign in with Slack lets in the people of
/// the bot's own workspace (`auth.test`'s `team_id`) only.
#[tokio::test]
async fn without_an_allowed_team_only_the_bots_workspace_signs_in() {
    let provider = start_provider().await;
    let app = TestApp::spawn(Setup {
        env: vec![
            ("WARROOM_WEB__BASE_URL", BASE_URL.to_string()),
            ("WARROOM_WEB__OIDC__ISSUER", provider.url.clone()),
            ("WARROOM_WEB__OIDC__IDENTITY", "slack".to_string()),
            ("WARROOM_WEB__OIDC__CLIENT_ID", CLIENT_ID.to_string()),
            (
                "WARROOM_WEB__OIDC__CLIENT_SECRET",
                CLIENT_SECRET.to_string(),
            ),
        ],
        ..Setup::default()
    })
    .await;
    // The fake Slack's bot is in T1.
    provider.next.lock().unwrap().team = "T0ELSEWHERE".into();
    let res = sign_in(&app).await;
    assert_eq!(res.status(), 403, "another workspace");
    provider.next.lock().unwrap().team = "T1".into();
    let res = sign_in(&app).await;
    assert_eq!(res.status(), 303, "the bot's own");
    assert_eq!(app.count("SELECT COUNT(*) FROM web_sessions").await, 1);
}

/// Another issuer (say the company's) signs people in when its id token
/// carries a verified e-mail that a person of this Slack workspace has.
#[tokio::test]
async fn another_issuers_person_is_found_by_e_mail() {
    let provider = start_provider().await;
    let app = web_app_naming(&provider, BASE_URL, "email").await;
    app.slack.set_name("UBOB", "bob");
    {
        let mut next = provider.next.lock().unwrap();
        next.slack_claims = false;
        next.user = "bob-at-corp".into();
        next.email = Some("bob@example.com".into());
    }
    let res = sign_in(&app).await;
    assert_eq!(res.status(), 303);
    assert!(cookie(&res).is_some());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM web_sessions WHERE user_id = 'UBOB'")
            .await,
        1
    );
    // Slack's claims from another issuer name nobody: the e-mail does.
    {
        let mut next = provider.next.lock().unwrap();
        next.slack_claims = true;
        next.user = DECLARER.into();
    }
    let res = sign_in(&app).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM web_sessions WHERE user_id = 'UBOB'")
            .await,
        2
    );
    // An e-mail nobody here has, or one not said to be verified: refused.
    provider.next.lock().unwrap().email = Some("mallory@example.com".into());
    let res = sign_in(&app).await;
    assert_eq!(res.status(), 403);
    {
        let mut next = provider.next.lock().unwrap();
        next.email = Some("bob@example.com".into());
        next.unverified = true;
    }
    let res = sign_in(&app).await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM web_sessions").await, 2);
}
