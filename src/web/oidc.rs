//! Sign-in with OpenID Connect: the authorization code flow with PKCE,
//! `state` and `nonce` (kept in the database, taken once), the id token's
//! signature, issuer, audience, expiry and nonce checked by
//! `openidconnect`, then a session. Slack's own issuer names the Slack
//! user and workspace in its claims (`https://slack.com/user_id`,
//! `https://slack.com/team_id`).

use super::{Web, WebError, session_cookie};
use crate::config::WebIdentity;
use crate::domain::UserId;
use crate::store::PendingLogin;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use http_body_util::{BodyExt, Full, Limited};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope,
};
use secrecy::ExposeSecret;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// How long a call to the identity provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read from the identity provider.
const MAX_ANSWER: usize = 1024 * 1024;

/// A call to the identity provider that did not work.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProviderCallError(String);

type HyperClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// The provider's HTTP calls, through the same TLS stack as Slack's.
#[derive(Clone)]
pub(super) struct ProviderHttp(HyperClient);

impl<'c> openidconnect::AsyncHttpClient<'c> for ProviderHttp {
    type Error = ProviderCallError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, ProviderCallError>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        let client = self.0.clone();
        Box::pin(async move { call(&client, request).await })
    }
}

pub(super) fn http_client() -> std::io::Result<ProviderHttp> {
    Ok(ProviderHttp(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(crate::net::https_connector()?),
    ))
}

/// One call, its answer's body included, within [`PROVIDER_TIMEOUT`].
async fn call(
    client: &HyperClient,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, ProviderCallError> {
    let (parts, body) = request.into_parts();
    let request = axum::http::Request::from_parts(parts, Full::new(Bytes::from(body)));
    let answer = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| ProviderCallError(format!("cannot reach the identity provider: {e}")))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| ProviderCallError(format!("the identity provider's answer: {e}")))?
            .to_bytes();
        Ok(axum::http::Response::from_parts(parts, body.to_vec()))
    };
    tokio::time::timeout(PROVIDER_TIMEOUT, answer)
        .await
        .map_err(|_| ProviderCallError("the identity provider did not answer in time".into()))?
}

/// How long a discovery document (with the provider's signing keys) is
/// used before it is fetched again.
const DISCOVERY_KEPT: chrono::Duration = chrono::Duration::minutes(10);
/// A document younger than this is not fetched again, even for a token
/// its keys do not check.
const DISCOVERY_FRESH: chrono::Duration = chrono::Duration::minutes(1);

/// The provider's discovery document and keys: kept for
/// [`DISCOVERY_KEPT`], or, with `fresh` (a token signed with a key the kept
/// document may not have yet), fetched anew unless it is younger than
/// [`DISCOVERY_FRESH`]. The lock is not held while fetching.
async fn discovered(web: &Web, fresh: bool) -> Result<CoreProviderMetadata, WebError> {
    let now = web.ctx.clock.now();
    if let Some((at, metadata)) = web.discovered.lock().await.as_ref() {
        let age = now - *at;
        if age < DISCOVERY_FRESH || (!fresh && age < DISCOVERY_KEPT) {
            return Ok(metadata.clone());
        }
    }
    let issuer = IssuerUrl::new(web.settings.issuer.clone())
        .map_err(|e| WebError::Provider(format!("the issuer's URL: {e}")))?;
    let metadata = CoreProviderMetadata::discover_async(issuer, &web.http)
        .await
        .map_err(|e| WebError::Provider(format!("discovery failed: {e}")))?;
    *web.discovered.lock().await = Some((now, metadata.clone()));
    Ok(metadata)
}

/// The client for the configured issuer, from its discovery document.
async fn client(
    web: &Web,
    fresh: bool,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    WebError,
> {
    let settings = &web.settings;
    let metadata = discovered(web, fresh).await?;
    let redirect = RedirectUrl::new(settings.redirect_url())
        .map_err(|e| WebError::Provider(format!("the callback URL: {e}")))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(settings.client_id.clone()),
        Some(ClientSecret::new(
            settings.client_secret.expose_secret().to_string(),
        )),
    )
    .set_redirect_uri(redirect))
}

#[derive(Deserialize, Default)]
pub(super) struct LoginParams {
    /// The page to show once signed in.
    #[serde(default)]
    next: Option<String>,
}

/// The cookie that ties a sign-in to the browser that started it, named
/// after its `state` (several tabs may sign in at once): the `state`, then
/// `~` and the page to return to.
fn login_cookie(state: &str) -> String {
    format!(
        "warroom_login_{}",
        state
            .get(..16)
            .unwrap_or(state)
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    )
}

/// `GET /web/login`: off to the identity provider, with a fresh `state`,
/// `nonce` and PKCE challenge remembered for the callback, and the `state`
/// in a cookie of this browser (a callback carrying someone else's sign-in
/// is refused).
pub(super) async fn login(
    State(web): State<Arc<Web>>,
    Query(p): Query<LoginParams>,
) -> Result<Response, WebError> {
    let client = client(&web, false).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".to_string()))
        .add_scope(Scope::new("email".to_string()))
        .set_pkce_challenge(challenge)
        .url();
    web.ctx
        .store
        .begin_login(
            state.secret(),
            &PendingLogin {
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
                created_at: web.ctx.clock.now(),
            },
        )
        .await?;
    let next = super::return_path(p.next.as_deref());
    let mut response = Redirect::to(url.as_str()).into_response();
    let cookie = super::cookie(
        &login_cookie(state.secret()),
        &format!("{}~{next}", state.secret()),
        LOGIN_PATIENCE.num_seconds().unsigned_abs(),
        web.settings.secure(),
    );
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub(super) struct Callback {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Logins older than this are refused at the callback.
const LOGIN_PATIENCE: chrono::Duration = chrono::Duration::minutes(10);

/// `GET /web/callback`: the code exchanged (with the PKCE verifier), the
/// id token checked, the person found, a session opened.
pub(super) async fn callback(
    State(web): State<Arc<Web>>,
    Query(cb): Query<Callback>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if let Some(error) = cb.error {
        return Err(WebError::SignIn(format!(
            "the identity provider said: {error}"
        )));
    }
    let (Some(code), Some(state)) = (cb.code, cb.state) else {
        return Err(WebError::SignIn("the answer had no code or state".into()));
    };
    // Started in this browser: its cookie holds the same state.
    let started = super::cookie_in(&headers, &login_cookie(&state)).unwrap_or_default();
    let (started, next) = started
        .split_once('~')
        .unwrap_or((started.as_str(), "/web"));
    if started.is_empty() || started != state {
        return Err(WebError::SignIn(
            "this sign-in was not started in this browser; sign in again".into(),
        ));
    }
    let next = super::return_path(Some(next));
    // Taken once: an unknown state, or one already used, is refused.
    let Some(login) = web.ctx.store.take_login(&state).await? else {
        return Err(WebError::SignIn(
            "this sign-in is unknown or was already used".into(),
        ));
    };
    if web.ctx.clock.now() - login.created_at > LOGIN_PATIENCE {
        return Err(WebError::SignIn("this sign-in took too long".into()));
    }
    let client = client(&web, false).await?;
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| WebError::Provider(format!("no token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(login.verifier))
        .request_async(&web.http)
        .await
        .map_err(|e| WebError::SignIn(format!("the code was refused: {e}")))?;
    let id_token = openidconnect::TokenResponse::id_token(&token)
        .ok_or_else(|| WebError::SignIn("the provider sent no id token".into()))?;
    let nonce = Nonce::new(login.nonce);
    if let Err(first) = id_token.claims(&client.id_token_verifier(), &nonce) {
        let refused = |e: &dyn std::fmt::Display| {
            WebError::SignIn(format!("the id token was not valid: {e}"))
        };
        // Perhaps signed with a key newer than the kept document: checked
        // again against the provider's keys of now.
        let renewed = self::client(&web, true)
            .await
            .map_err(|_| refused(&first))?;
        id_token
            .claims(&renewed.id_token_verifier(), &nonce)
            .map_err(|e| refused(&e))?;
    }
    // Verified: its payload names the Slack user and workspace.
    // Slack's issuer names the Slack user and workspace in its claims;
    // another issuer's person is found in this workspace by e-mail.
    let jwt = id_token.to_string();
    let slack = match web.settings.identity {
        WebIdentity::Slack => slack_identity(&jwt),
        // Only Slack vouches for Slack's claims.
        WebIdentity::Email => None,
    };
    let who = match slack {
        Some(who) => {
            // Only this workspace's people (or the one configured).
            let allowed = match &web.settings.allowed_team {
                Some(team) => Some(team.clone()),
                None => web
                    .ctx
                    .slack
                    .bot_team_id()
                    .await
                    .map_err(|e| {
                        WebError::Provider(format!(
                            "asking Slack which workspace the bot is in: {e}; or set web.allowed_team"
                        ))
                    })?
                    .filter(|team| !team.is_empty()),
            };
            let Some(allowed) = allowed else {
                return Err(WebError::Provider(
                    "Slack's auth.test named no workspace for the bot (an org-wide install?); set web.allowed_team".into(),
                ));
            };
            if who.team.as_deref() != Some(allowed.as_str()) {
                return Err(WebError::SignIn(
                    "this workspace may not sign in here".into(),
                ));
            }
            who
        }
        None => {
            let email = verified_email(&jwt)
                .ok_or_else(|| WebError::SignIn("the id token names no verified e-mail".into()))?;
            // Found by e-mail in this workspace: it is this workspace's person.
            let user = web
                .ctx
                .slack
                .user_by_email(&email)
                .await
                .map_err(|e| WebError::Provider(format!("looking the e-mail up in Slack: {e}")))?
                .ok_or_else(|| {
                    WebError::SignIn("nobody in this Slack workspace has that e-mail".into())
                })?;
            SlackIdentity { user, team: None }
        }
    };
    let token = crate::random::hex::<32>()
        .map_err(|e| WebError::Provider(format!("no randomness for a session: {e}")))?;
    let now = web.ctx.clock.now();
    let lifetime = chrono::Duration::from_std(web.settings.session_lifetime)
        .unwrap_or(chrono::Duration::hours(12));
    web.ctx
        .store
        .create_session(
            &super::digest(&token),
            &who.user,
            who.team.as_deref(),
            now,
            now + lifetime,
        )
        .await?;
    tracing::info!(user = %who.user, "signed in to the web record");
    let mut response = Redirect::to(&next).into_response();
    let answer = response.headers_mut();
    for cookie in [
        session_cookie(
            &token,
            web.settings.session_lifetime.as_secs(),
            web.settings.secure(),
        ),
        super::cookie(&login_cookie(&state), "", 0, web.settings.secure()),
    ] {
        if let Ok(cookie) = HeaderValue::from_str(&cookie) {
            answer.append(header::SET_COOKIE, cookie);
        }
    }
    Ok(response)
}

/// Who a verified Slack id token names.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct SlackIdentity {
    pub user: UserId,
    pub team: Option<String>,
}

/// The Slack user (`https://slack.com/user_id`, else `sub`) and workspace
/// (`https://slack.com/team_id`) of an id token whose signature was
/// checked already.
pub(super) fn slack_identity(jwt: &str) -> Option<SlackIdentity> {
    let claims = claims_of(jwt)?;
    let text = |key: &str| claims.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let user = text("https://slack.com/user_id")
        .or_else(|| text("sub"))
        .filter(|u| u.starts_with(['U', 'W']) && u.chars().all(|c| c.is_ascii_alphanumeric()))?;
    Some(SlackIdentity {
        user: UserId(user),
        team: text("https://slack.com/team_id"),
    })
}

/// The claims of an id token whose signature was checked already.
fn claims_of(jwt: &str) -> Option<serde_json::Value> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The e-mail of a verified id token, when the provider says the address
/// is verified (`email_verified`; an address without it could be anyone's).
fn verified_email(jwt: &str) -> Option<String> {
    let claims = claims_of(jwt)?;
    if claims.get("email_verified").and_then(|v| v.as_bool()) != Some(true) {
        return None;
    }
    claims
        .get("email")
        .and_then(|v| v.as_str())
        .filter(|e| e.contains('@'))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn jwt(claims: serde_json::Value) -> String {
        let enc = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.sig",
            enc(&serde_json::json!({"alg": "RS256"})),
            enc(&claims)
        )
    }

    #[test]
    fn slacks_claims_name_the_user_and_workspace() {
        let who = slack_identity(&jwt(serde_json::json!({
            "sub": "U0R7JM", "https://slack.com/user_id": "U0R7JM", "https://slack.com/team_id": "T0R7GR"
        })));
        assert_eq!(
            who,
            Some(SlackIdentity {
                user: UserId("U0R7JM".into()),
                team: Some("T0R7GR".into())
            })
        );
        assert_eq!(
            slack_identity(&jwt(serde_json::json!({"sub": "alice@example.com"}))),
            None
        );
        assert_eq!(slack_identity("not a jwt"), None);
    }

    #[test]
    fn only_an_e_mail_said_to_be_verified_names_someone() {
        let email = |claims| verified_email(&jwt(claims));
        assert_eq!(
            email(serde_json::json!({"email": "a@b.c", "email_verified": true})),
            Some("a@b.c".to_string())
        );
        assert_eq!(email(serde_json::json!({"email": "a@b.c"})), None);
        assert_eq!(
            email(serde_json::json!({"email": "a@b.c", "email_verified": false})),
            None
        );
        assert_eq!(email(serde_json::json!({"email_verified": true})), None);
    }
}
