//! The read API (`/api/v1/…`, JSON, on `listen`, in Socket Mode too): the
//! incident record for programs with a token. Every answer is a type of
//! `crate::record` (the incident is the same JSON the webhooks carry), and
//! the OpenAPI document (`/api/v1/openapi.json`) is generated from those
//! types and the handlers' annotations, so it cannot drift from them.
//!
//! **Invariants:** a request is authenticated (`Authorization: Bearer
//! wr_…`, looked up by the token's SHA-256) before anything is read; a
//! token without `--private` never learns of a private incident (404, as
//! for one that does not exist, and left out of lists and insights); each
//! token has its own rate limit; the API has its own concurrency budget
//! (`transport::http`), so hammering it does not slow Slack's routes.
//!
//! Long on purpose: one handler per endpoint, each with the OpenAPI
//! annotation that documents it.

mod query;

pub use query::{BadParameter, FollowupParams, InsightsParams, ListParams};

use crate::app::Ctx;
use crate::domain::{Incident, IncidentNumber, UserId};
use crate::record::{
    FollowupItem, IncidentPage, IncidentRecord, IncidentSummary, Insights, StatusUpdate,
    TimelineEntry, Viewer,
};
use crate::store::{ApiToken, StoreError};
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use utoipa::OpenApi;

/// A token's prefix: `wr_` and 32 random bytes in hex.
pub const TOKEN_PREFIX: &str = "wr_";
/// How often a token's `last_used_at` is written at most.
const USED_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// A new token and the digest the store keeps of it.
pub fn new_token() -> Result<(String, String), getrandom::Error> {
    let token = format!("{TOKEN_PREFIX}{}", crate::random::hex::<32>()?);
    let digest = digest(&token);
    Ok((token, digest))
}

/// The SHA-256 of a token, in hex: what the store looks tokens up by.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

type Limiter = governor::RateLimiter<
    String,
    governor::state::keyed::DashMapStateStore<String>,
    crate::clock::EpochClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

/// What the API's handlers share.
pub struct Api {
    ctx: Arc<Ctx>,
    limiter: Limiter,
    /// When each token's use was last written.
    used: Mutex<HashMap<String, DateTime<Utc>>>,
}

/// The API's routes, with their state.
pub fn routes(ctx: Arc<Ctx>) -> Router {
    use governor::Quota;
    use std::num::NonZeroU32;
    let per_second =
        NonZeroU32::new(ctx.settings.api.rate_limit_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst =
        NonZeroU32::new(ctx.settings.api.rate_limit_burst.max(1)).unwrap_or(NonZeroU32::MIN);
    let limiter = governor::RateLimiter::new(
        Quota::per_second(per_second).allow_burst(burst),
        governor::state::keyed::DashMapStateStore::default(),
        crate::clock::EpochClock(ctx.clock.clone()),
    );
    let api = Arc::new(Api {
        ctx,
        limiter,
        used: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/incidents", get(list_incidents))
        .route("/api/v1/incidents/{number}", get(get_incident))
        .route("/api/v1/incidents/{number}/timeline", get(get_timeline))
        .route("/api/v1/incidents/{number}/updates", get(get_updates))
        .route(
            "/api/v1/incidents/{number}/followups",
            get(get_incident_followups),
        )
        .route("/api/v1/incidents/{number}/postmortem", get(get_postmortem))
        .route("/api/v1/followups", get(list_followups))
        .route("/api/v1/insights", get(get_insights))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(in_a_span))
        .with_state(api)
}

/// Each request in its own span, which names the token once it is known.
async fn in_a_span(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use tracing::Instrument;
    let span = tracing::info_span!(
        "api",
        path = %request.uri().path(),
        token = tracing::field::Empty
    );
    next.run(request).instrument(span).await
}

/// An incident's number in the path: `42`, or its reference (`INC-42`,
/// `DRILL-42`); anything else is no incident, a 404 as for one that does
/// not exist.
struct Numbered(i64);

impl<S: Send + Sync> FromRequestParts<S> for Numbered {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("such incident"))?;
        let digits = ["INC-", "DRILL-"]
            .iter()
            .find_map(|prefix| {
                raw.get(..prefix.len())
                    .filter(|p| p.eq_ignore_ascii_case(prefix))
                    .and_then(|_| raw.get(prefix.len()..))
            })
            .unwrap_or(&raw);
        digits
            .parse::<i64>()
            .map(Numbered)
            .map_err(|_| ApiError::not_found(&format!("incident {raw}")))
    }
}

/// A request's query parameters; one that cannot be read (a parameter
/// given twice, a word where a number goes) is a 400 naming it, in the
/// API's own error shape.
struct Params<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(t)| Params(t))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_parameter", e.body_text()))
    }
}

/// `{"error": {"code", "message"}}`, with its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

/// The error body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// `bad_parameter`, `unauthorized`, `not_found`, `rate_limited`,
    /// `unavailable`.
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("no {what}"))
    }
}

impl From<BadParameter> for ApiError {
    fn from(e: BadParameter) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_parameter", e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::warn!(error = %e, "the read API could not read the database");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database did not answer; try again shortly",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = header::HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// The token a request carries, checked and within its rate limit.
pub struct Reader {
    token: ApiToken,
}

impl Reader {
    fn viewer(&self) -> Viewer {
        if self.token.private {
            Viewer::Everything
        } else {
            Viewer::PublicOnly
        }
    }
}

impl FromRequestParts<Arc<Api>> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Arc<Api>) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send `Authorization: Bearer wr_…` with a token from `warroom token create`",
            )
        })?;
        let Some(token) = api.ctx.store.token_by_digest(&digest(token)).await? else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "unknown or revoked token: create one with `warroom token create NAME`",
            ));
        };
        tracing::Span::current().record("token", token.name.as_str());
        if let Err(not_until) = api.limiter.check_key(&token.name) {
            let now = governor::clock::Clock::now(&crate::clock::EpochClock(api.ctx.clock.clone()));
            let wait = not_until.wait_time_from(now).as_secs().max(1);
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("over this token's rate limit; try again in {wait} s"),
            );
            e.retry_after = Some(wait);
            return Err(e);
        }
        let now = api.ctx.clock.now();
        let due = {
            let mut used = api.used.lock().unwrap_or_else(|p| p.into_inner());
            let due = used
                .get(&token.name)
                .is_none_or(|at| now - *at >= USED_EVERY);
            if due {
                used.insert(token.name.clone(), now);
            }
            due
        };
        if due && let Err(e) = api.ctx.store.token_used(&token.name, now).await {
            tracing::warn!(error = %e, "could not note a token's use");
        }
        Ok(Reader { token })
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

async fn not_found() -> ApiError {
    ApiError::not_found("such endpoint: see /api/v1/openapi.json")
}

/// The incident `number` if `reader` may see it; 404 alike for one that
/// does not exist and one it may not see.
async fn visible(api: &Api, reader: &Reader, number: i64) -> Result<Incident, ApiError> {
    let missing = || ApiError::not_found(&format!("incident {number}"));
    if number < 1 {
        return Err(missing());
    }
    let number = IncidentNumber::new(number);
    let incident = api.ctx.store.incident(number).await?.ok_or_else(missing)?;
    if reader
        .viewer()
        .may_see(api.ctx.store.as_ref(), &incident)
        .await?
    {
        Ok(incident)
    } else {
        Err(missing())
    }
}

type Answer<T> = Result<axum::Json<T>, ApiError>;

#[utoipa::path(get, path = "/api/v1/incidents", params(ListParams),
    responses((status = 200, description = "One page of incidents", body = IncidentPage), (status = 400, description = "A parameter is malformed; the message names it", body = ErrorBody),
              (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody), (status = 429, description = "Over the token's rate limit; see Retry-After", body = ErrorBody)),
    security(("bearer" = [])))]
/// Incidents, newest first, filtered, a page at a time.
async fn list_incidents(
    State(api): State<Arc<Api>>,
    reader: Reader,
    Params(params): Params<ListParams>,
) -> Answer<IncidentPage> {
    let mut query = params.query(&api.ctx.settings.severities, reader.token.private)?;
    let limit = query.limit;
    query.limit += 1;
    let mut incidents = api.ctx.store.list_incidents(&query).await?;
    let more = incidents.len() as i64 > limit;
    incidents.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = more
        .then(|| incidents.last().map(|i| i.number.to_string()))
        .flatten();
    let people: Vec<UserId> = incidents
        .iter()
        .map(|i| i.declared_by.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let names = api.ctx.store.user_names(&people).await?;
    Ok(axum::Json(IncidentPage {
        incidents: incidents
            .into_iter()
            .map(|i| IncidentSummary::of(i, &names))
            .collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/incidents/{number}",
    params(("number" = i64, Path, description = "The incident's number (its reference, `INC-42`, is read too)")),
    responses((status = 200, description = "The incident", body = IncidentRecord), (status = 404, description = "No such incident (or one this token may not see)", body = ErrorBody),
              (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody), (status = 429, description = "Over the token's rate limit; see Retry-After", body = ErrorBody)),
    security(("bearer" = [])))]
/// One incident: roles and who held them, severity and status history,
/// times and durations.
async fn get_incident(
    State(api): State<Arc<Api>>,
    reader: Reader,
    Numbered(number): Numbered,
) -> Answer<IncidentRecord> {
    let incident = visible(&api, &reader, number).await?;
    IncidentRecord::load(api.ctx.store.as_ref(), incident.number, &reader.viewer())
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found(&format!("incident {number}")))
}

/// An incident's timeline.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TimelineAnswer {
    pub incident: IncidentNumber,
    pub entries: Vec<TimelineEntry>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{number}/timeline",
    params(("number" = i64, Path, description = "The incident's number (its reference, `INC-42`, is read too)")),
    responses((status = 200, description = "The timeline", body = TimelineAnswer), (status = 404, description = "No such incident (or one this token may not see)", body = ErrorBody), (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody), (status = 429, description = "Over the token's rate limit; see Retry-After", body = ErrorBody)),
    security(("bearer" = [])))]
/// The incident's timeline, oldest first: every entry the record keeps,
/// those untagged or deleted too (marked `removed`), and edits.
async fn get_timeline(
    State(api): State<Arc<Api>>,
    reader: Reader,
    Numbered(number): Numbered,
) -> Answer<TimelineAnswer> {
    let incident = visible(&api, &reader, number).await?;
    let entries = api.ctx.store.timeline_record(incident.number).await?;
    let names = names_of(&api, entries.iter().filter_map(|(e, _)| e.author.clone())).await?;
    Ok(axum::Json(TimelineAnswer {
        incident: incident.number,
        entries: entries
            .into_iter()
            .map(|(e, h)| TimelineEntry::of(e, h, &names))
            .collect(),
    }))
}

/// An incident's status updates.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UpdatesAnswer {
    pub incident: IncidentNumber,
    pub updates: Vec<StatusUpdate>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{number}/updates",
    params(("number" = i64, Path, description = "The incident's number (its reference, `INC-42`, is read too)")),
    responses((status = 200, description = "The status updates", body = UpdatesAnswer), (status = 404, description = "No such incident (or one this token may not see)", body = ErrorBody), (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody), (status = 429, description = "Over the token's rate limit; see Retry-After", body = ErrorBody)),
    security(("bearer" = [])))]
/// The incident's status updates, one per channel posted to, oldest first.
async fn get_updates(
    State(api): State<Arc<Api>>,
    reader: Reader,
    Numbered(number): Numbered,
) -> Answer<UpdatesAnswer> {
    let incident = visible(&api, &reader, number).await?;
    let updates = api.ctx.store.communications(incident.number).await?;
    let names = names_of(&api, updates.iter().map(|u| u.posted_by.clone())).await?;
    Ok(axum::Json(UpdatesAnswer {
        incident: incident.number,
        updates: updates
            .into_iter()
            .map(|u| StatusUpdate::of(u, &names))
            .collect(),
    }))
}

/// Follow-ups.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FollowupsAnswer {
    pub followups: Vec<FollowupItem>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{number}/followups",
    params(("number" = i64, Path, description = "The incident's number (its reference, `INC-42`, is read too)")),
    responses((status = 200, description = "The follow-ups", body = FollowupsAnswer), (status = 404, description = "No such incident (or one this token may not see)", body = ErrorBody), (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody), (status = 429, description = "Over the token's rate limit; see Retry-After", body = ErrorBody)),
    security(("bearer" = [])))]
/// The incident's follow-ups, oldest first.
async fn get_incident_followups(
    State(api): State<Arc<Api>>,
    reader: Reader,
    Numbered(number): Numbered,
) -> Answer<FollowupsAnswer> {
    let incident = visible(&api, &reader, number).await?;
    let list = api.ctx.store.incident_followups(incident.number).await?;
    followups_answer(&api, list).await
}

async fn followups_answer(
    api: &Api,
    list: Vec<crate::domain::followups::Followup>,
) -> Answer<FollowupsAnswer> {
    let names = names_of(api, list.iter().map(|f| f.owner.clone())).await?;
    let today = today(api);
    Ok(axum::Json(FollowupsAnswer {
        followups: list
            .into_iter()
            .map(|f| FollowupItem::of(f, today, &names))
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/incidents/{number}/postmortem",
    params(("number" = i64, Path, description = "The incident's number (its reference, `INC-42`, is read too)")),
    responses((status = 200, content_type = "text/markdown", body = String,
               description = "The latest postmortem draft"),
              (status = 404, description = "No such incident (or one this token may not see)", body = ErrorBody), (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody), (status = 429, description = "Over the token's rate limit; see Retry-After", body = ErrorBody)),
    security(("bearer" = [])))]
/// The incident's latest postmortem draft, as Markdown.
async fn get_postmortem(
    State(api): State<Arc<Api>>,
    reader: Reader,
    Numbered(number): Numbered,
) -> Result<Response, ApiError> {
    let incident = visible(&api, &reader, number).await?;
    let Some((at, markdown)) = api.ctx.store.latest_postmortem(incident.number).await? else {
        return Err(ApiError::not_found(&format!(
            "postmortem draft for incident {number} yet: it is made on close, or with /incident postmortem"
        )));
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/markdown; charset=utf-8".to_string(),
            ),
            (
                header::LAST_MODIFIED,
                at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            ),
        ],
        markdown,
    )
        .into_response())
}

/// Most follow-ups one answer lists.
const FOLLOWUPS_MAX: i64 = 1000;

#[utoipa::path(get, path = "/api/v1/followups", params(FollowupParams),
    responses((status = 200, description = "The follow-ups", body = FollowupsAnswer), (status = 400, description = "A parameter is malformed; the message names it", body = ErrorBody), (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody), (status = 429, description = "Over the token's rate limit; see Retry-After", body = ErrorBody)),
    security(("bearer" = [])))]
/// Follow-ups of every incident the token may see, newest first (at most
/// 1,000).
async fn list_followups(
    State(api): State<Arc<Api>>,
    reader: Reader,
    Params(params): Params<FollowupParams>,
) -> Answer<FollowupsAnswer> {
    let (state, owner) = params.parse()?;
    let wanted = match state {
        query::FollowupState::Open => crate::store::Wanted::Open,
        query::FollowupState::Overdue => crate::store::Wanted::Overdue { today: today(&api) },
        query::FollowupState::Done => crate::store::Wanted::Done,
        query::FollowupState::All => crate::store::Wanted::All,
    };
    let seen_by = if reader.token.private {
        crate::store::SeenBy::Anyone
    } else {
        crate::store::SeenBy::PublicOnly
    };
    // Filtered by the store, before its limit.
    let list = api
        .ctx
        .store
        .followups(owner.as_ref(), wanted, seen_by, FOLLOWUPS_MAX)
        .await?;
    followups_answer(&api, list).await
}

#[utoipa::path(get, path = "/api/v1/insights", params(InsightsParams),
    responses((status = 200, description = "The period's figures", body = Insights), (status = 400, description = "A parameter is malformed; the message names it", body = ErrorBody), (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody), (status = 429, description = "Over the token's rate limit; see Retry-After", body = ErrorBody)),
    security(("bearer" = [])))]
/// Incidents declared in a period (drills left out): counts per severity
/// and per week, mean and median time to detect, mitigate and resolve,
/// and the follow-ups open now.
async fn get_insights(
    State(api): State<Arc<Api>>,
    reader: Reader,
    Params(params): Params<InsightsParams>,
) -> Answer<Insights> {
    let (since, until) = params.parse(api.ctx.clock.now())?;
    let hidden = hidden(&api, &reader).await?;
    let incidents: Vec<Incident> = api
        .ctx
        .store
        .incidents_since(since)
        .await?
        .into_iter()
        .filter(|i| i.declared_at <= until && !i.drill && !hidden.contains(&i.number))
        .collect();
    let today = today(&api);
    let open: Vec<_> = api
        .ctx
        .store
        .followups(
            None,
            crate::store::Wanted::Open,
            crate::store::SeenBy::Anyone,
            i64::MAX,
        )
        .await?
        .into_iter()
        .filter(|f| !hidden.contains(&f.incident))
        .collect();
    let overdue = open.iter().filter(|f| f.is_overdue(today)).count();
    Ok(axum::Json(Insights::of(
        since,
        until,
        &incidents,
        &api.ctx.settings.severities,
        (open.len(), overdue),
        api.ctx.settings.timezone,
    )))
}

/// The private incidents this reader may not see.
async fn hidden(api: &Api, reader: &Reader) -> Result<BTreeSet<IncidentNumber>, ApiError> {
    Ok(if reader.token.private {
        BTreeSet::new()
    } else {
        api.ctx
            .store
            .flagged_incidents(crate::store::Flag::Private)
            .await?
            .into_iter()
            .collect()
    })
}

async fn names_of(
    api: &Api,
    people: impl Iterator<Item = UserId>,
) -> Result<BTreeMap<UserId, String>, ApiError> {
    let people: Vec<UserId> = people.collect::<BTreeSet<_>>().into_iter().collect();
    Ok(api.ctx.store.user_names(&people).await?)
}

fn today(api: &Api) -> chrono::NaiveDate {
    api.ctx
        .clock
        .now()
        .with_timezone(&api.ctx.settings.timezone)
        .date_naive()
}

/// The OpenAPI 3.1 document of this API.
#[derive(OpenApi)]
#[openapi(
    info(title = "warroom read API", description = "The incident record, for programs with a token (`warroom token create`)."),
    paths(list_incidents, get_incident, get_timeline, get_updates, get_incident_followups,
          get_postmortem, list_followups, get_insights),
    components(schemas(ErrorBody)),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A token from `warroom token create NAME`"))
                    .build(),
            ),
        );
    }
}

/// The document, as served.
pub fn openapi_json() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}

async fn openapi() -> axum::Json<serde_json::Value> {
    axum::Json(openapi_json())
}
