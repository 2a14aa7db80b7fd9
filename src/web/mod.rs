//! The web record: the incident list and each incident's page, for people
//! signed in with Slack (OpenID Connect, `oidc.rs`), under `/web` on
//! `listen` when `web.base_url` is set. Pages are rendered on the server
//! from the same read model as the API (`record`), with minijinja's HTML
//! auto-escaping, and served with a Content-Security-Policy that allows
//! only the page's own origin.
//!
//! **Invariant:** every page goes through [`Person`] (a signed-in person)
//! and shows an incident only if `record::Viewer::Person` may see it; one
//! they may not see is a 404, as one that does not exist.

mod charts;
mod oidc;
mod pages;

use crate::app::Ctx;
use crate::config::WebSettings;
use crate::domain::UserId;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The session cookie's name.
const COOKIE: &str = "warroom_session";
/// Only the page's own origin; no inline script (the pages have none).
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// What the pages share.
pub struct Web {
    ctx: Arc<Ctx>,
    settings: WebSettings,
    http: oidc::ProviderHttp,
    /// The identity provider's discovery document, and when it was fetched.
    discovered: tokio::sync::Mutex<
        Option<(
            chrono::DateTime<chrono::Utc>,
            openidconnect::core::CoreProviderMetadata,
        )>,
    >,
    templates: minijinja::Environment<'static>,
}

/// Why a page could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Signing in failed: said on an error page, no session opened.
    #[error("Sign-in failed: {0}.")]
    SignIn(String),
    /// The identity provider could not be used.
    #[error("The identity provider could not be reached: {0}.")]
    Provider(String),
    /// A request these pages did not send.
    #[error("Refused: {0}.")]
    Forbidden(String),
    /// No such incident, or one this person may not see.
    #[error("Not found.")]
    NotFound,
    #[error("Something went wrong reading the record; try again.")]
    Store(#[from] crate::store::StoreError),
    #[error("The page could not be drawn: {0}.")]
    Template(#[from] minijinja::Error),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebError::SignIn(_) | WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::Provider(_) => StatusCode::BAD_GATEWAY,
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Store(_) | WebError::Template(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::warn!(error = %self, "web page failed");
        } else {
            tracing::info!(error = %self, "web page refused");
        }
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>warroom</title><link rel=\"stylesheet\" href=\"/web/web.css\"></head><body><main class=\"page\"><h1>warroom</h1><p class=\"problem\">{}</p><p><a href=\"/web\">Incidents</a> · <a href=\"/web/login\">Sign in</a></p></main></body></html>",
            crate::slack::text::escape(&self.to_string())
        );
        page_response(status, body)
    }
}

/// An HTML answer with the pages' headers.
fn page_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// The SHA-256 of a session's cookie value, as the store keeps it.
fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A cookie of the pages: `HttpOnly`, `SameSite=Lax`, `Secure` over https.
fn cookie(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/web; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// The session cookie.
fn session_cookie(value: &str, max_age: u64, secure: bool) -> String {
    cookie(COOKIE, value, max_age, secure)
}

/// The value of the cookie `name` in a request, if any.
fn cookie_in(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    // Lossy: another site's odd bytes on this host must not hide ours.
    headers
        .get_all(header::COOKIE)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .find_map(|v| {
            v.split(';')
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(n, _)| *n == name)
                .map(|(_, value)| value.to_string())
        })
}

/// A page of the record to go back to after signing in: a path under
/// `/web` on this site only (never `//elsewhere`), else `/web`.
fn return_path(asked: Option<&str>) -> String {
    match asked {
        Some(path)
            if path.len() <= 512
                && (path == "/web" || path.starts_with("/web/") || path.starts_with("/web?"))
                && !path.contains("//")
                && !path.contains("..")
                // Nor `..` or `/` spelled with percent signs.
                && !["%2e", "%2f", "%5c"]
                    .iter()
                    .any(|spelled| path.to_ascii_lowercase().contains(spelled))
                && !path.starts_with("/web/login")
                && !path.starts_with("/web/callback")
                && path
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/?=&%-_.+".contains(c)) =>
        {
            path.to_string()
        }
        _ => "/web".to_string(),
    }
}

/// A signed-in person: a page's only way to the record.
pub struct Person(pub UserId);

impl FromRequestParts<Arc<Web>> for Person {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Arc<Web>) -> Result<Self, Response> {
        // Not signed in: to sign in, and back to this page afterwards.
        let sign_in = || {
            let here = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/web");
            let query = serde_urlencoded::to_string([("next", return_path(Some(here)))])
                .unwrap_or_default();
            Redirect::to(&format!("/web/login?{query}")).into_response()
        };
        let Some(token) = cookie_in(&parts.headers, COOKIE) else {
            return Err(sign_in());
        };
        match web
            .ctx
            .store
            .session_user(&digest(&token), web.ctx.clock.now())
            .await
        {
            Ok(Some(user)) => Ok(Person(user)),
            Ok(None) => Err(sign_in()),
            Err(e) => Err(WebError::Store(e).into_response()),
        }
    }
}

/// `POST /web/logout`: the session ends, the cookie is cleared.
async fn logout(State(web): State<Arc<Web>>, parts: Parts) -> Result<Response, WebError> {
    // A form of these pages, not another site's: browsers say where a
    // request comes from (`Sec-Fetch-Site`, else `Origin`).
    let site = parts
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let ours = web.settings.base_url.origin().ascii_serialization();
    let from_here = match (site, origin) {
        (Some(site), _) => matches!(site, "same-origin" | "none"),
        (None, Some(origin)) => origin == ours,
        (None, None) => true,
    };
    if !from_here {
        return Err(WebError::Forbidden(
            "sign out from the record's own pages".into(),
        ));
    }
    if let Some(token) = cookie_in(&parts.headers, COOKIE) {
        web.ctx.store.end_session(&digest(&token)).await?;
    }
    let mut response = Redirect::to("/web/signed-out").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session_cookie("", 0, web.settings.secure())) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

async fn signed_out() -> Response {
    page_response(
        StatusCode::OK,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>warroom</title><link rel=\"stylesheet\" href=\"/web/web.css\"></head><body><main class=\"page\"><h1>warroom</h1><p>Signed out.</p><p><a href=\"/web/login\">Sign in again</a></p></main></body></html>".to_string(),
    )
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        include_str!("web.css"),
    )
        .into_response()
}

/// The templates, auto-escaped (their names end in `.html`).
fn templates() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    // `{{ t|at }}`: an RFC 3339 time as `2026-12-07 15:10 UTC`.
    env.add_filter("at", |t: String| {
        chrono::DateTime::parse_from_rfc3339(&t)
            .map(|d| {
                d.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string()
            })
            .unwrap_or(t)
    });
    for (name, source) in [
        ("base.html", include_str!("templates/base.html")),
        ("list.html", include_str!("templates/list.html")),
        ("incident.html", include_str!("templates/incident.html")),
        ("insights.html", include_str!("templates/insights.html")),
    ] {
        // Built in and covered by the tests: a broken one fails them.
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "a web template does not parse");
        }
    }
    env
}

/// The web record's routes, when `web.base_url` is set; none otherwise.
pub fn routes(ctx: Arc<Ctx>) -> Router {
    let Some(settings) = ctx.settings.web.clone() else {
        return Router::new();
    };
    let http = match oidc::http_client() {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(error = %e, "the web record's HTTP client has no TLS roots; sign-in is off");
            return Router::new();
        }
    };
    let web = Arc::new(Web {
        ctx,
        settings,
        http,
        discovered: tokio::sync::Mutex::new(None),
        templates: templates(),
    });
    pages()
        .route("/web/login", get(oidc::login))
        .route("/web/callback", get(oidc::callback))
        .with_state(web)
}

/// The pages, for whichever way people sign in.
fn pages() -> Router<Arc<Web>> {
    Router::new()
        .route("/web", get(pages::list))
        .route("/web/incidents/{number}", get(pages::incident))
        .route("/web/insights", get(pages::insights))
        .route("/web/logout", post(logout))
        .route("/web/signed-out", get(signed_out))
        .route("/web/web.css", get(stylesheet))
}

/// The pages in the playground, at `base_url` (the page's own address):
/// people sign in by being whoever is chosen at the top of the page
/// (`/web/as?user=U…`), no identity provider needed.
#[cfg(feature = "playground")]
pub fn playground_routes(ctx: Arc<Ctx>, base_url: url::Url) -> Router {
    let Ok(http) = oidc::http_client() else {
        return Router::new();
    };
    let settings = WebSettings {
        base_url,
        issuer: crate::config::SLACK_ISSUER.to_string(),
        identity: crate::config::WebIdentity::Slack,
        client_id: "playground".to_string(),
        client_secret: secrecy::SecretString::from("playground"),
        allowed_team: None,
        session_lifetime: std::time::Duration::from_secs(12 * 3600),
    };
    let web = Arc::new(Web {
        ctx,
        settings,
        http,
        discovered: tokio::sync::Mutex::new(None),
        templates: templates(),
    });
    pages().route("/web/as", get(sign_in_as)).with_state(web)
}

#[cfg(feature = "playground")]
#[derive(serde::Deserialize)]
struct As {
    user: String,
}

/// The playground's sign-in: as the person chosen on the page.
#[cfg(feature = "playground")]
async fn sign_in_as(
    State(web): State<Arc<Web>>,
    axum::extract::Query(who): axum::extract::Query<As>,
) -> Result<Response, WebError> {
    if !(who.user.starts_with('U') && who.user.chars().all(|c| c.is_ascii_alphanumeric())) {
        return Err(WebError::SignIn("no such person".into()));
    }
    let token = crate::random::hex::<32>()
        .map_err(|e| WebError::Provider(format!("no randomness for a session: {e}")))?;
    let now = web.ctx.clock.now();
    web.ctx
        .store
        .create_session(
            &digest(&token),
            &UserId(who.user),
            None,
            now,
            now + chrono::Duration::hours(12),
        )
        .await?;
    let mut response = Redirect::to("/web").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session_cookie(&token, 12 * 3600, false)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::return_path;

    #[test]
    fn sign_in_returns_only_to_a_page_of_the_record() {
        for page in [
            "/web",
            "/web/incidents/3?timeline=2",
            "/web?status=open&q=db%20down",
        ] {
            assert_eq!(return_path(Some(page)), page);
        }
        for elsewhere in [
            "//evil.example/web",
            "https://evil.example/web",
            "/web/../api/v1/incidents",
            "/webhooks",
            "/web/login?next=/web",
            "/web\\evil",
            "/web/%2e%2e/api",
            "/web/%2F%2Fevil.example",
            "",
        ] {
            assert_eq!(return_path(Some(elsewhere)), "/web", "{elsewhere}");
        }
        assert_eq!(return_path(None), "/web");
    }
}
