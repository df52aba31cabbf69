//! The booking API: `POST /api/charters`, `PUT /api/charters/{id}`,
//! `GET /api/charters/{id}`, `POST /api/charters/{id}/reinstate` (take a cancel back), `GET /api/charters?month=YYYY-MM`, `GET /api/revenue?month=YYYY-MM`
//! (the month's figures under `jada_core::revenue`), the office's tasks (`/api/tasks`,
//! [`tasks`]), with a bearer API key
//! (`jada api-key create NAME`). Writes go through `jada_ops::booking`, the same rules and
//! writes as an import. Bad bodies answer 422 naming the field; a stale version 409.
//! The OpenAPI document at `/api/openapi.json` is generated from these handlers.

// Handlers' helpers return `Result<_, Response>` so `?`-style early answers read
// plainly; the response is built once per request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod tasks;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jada_core::revenue::{is_reportable, Totals};
use jada_core::{Charter, CharterId, Clock, Fleet, Month};
use jada_ops::booking::{self, BookingChange, BookingError, BookingFields, Conflict, FieldError, NewBooking};
use jada_ops::cancellation::{self, ReinstateError};
use jada_store::Store;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use utoipa::{OpenApi, ToSchema};

pub struct ApiState {
    pub store: Arc<dyn Store>,
    pub fleet: Fleet,
    pub clock: Arc<dyn Clock>,
    /// A captain set through the API starts dispatch, as on the office page.
    pub dispatcher: Option<Arc<jada_ops::dispatch::Dispatcher>>,
    /// `[office] reinstate_hours`.
    pub reinstate_within: chrono::Duration,
}

impl ApiState {
    /// Lets dispatch react to a write; its failure is logged, not the write's (the
    /// dispatch tick retries).
    async fn dispatch(&self, before: Option<&Charter>, after: &Charter) {
        let Some(d) = &self.dispatcher else { return };
        if let Err(e) = d.after_booking_change(before, after, self.clock.now()).await {
            tracing::warn!(charter = %after.charter_id, error = %e, "dispatch did not react to a booking-API write");
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "jada booking API", description = "Push bookings into jada. Authenticate with `Authorization: Bearer <key>` (keys from `jada api-key create NAME`). Money is in dollars, as a string (\"1234.50\") or a number with at most two decimals (1234.5); dates are YYYY-MM-DD, times HH:MM."),
    paths(create, get_one, update, reinstate, list, revenue, tasks::list, tasks::create, tasks::get_one, tasks::note, tasks::status),
    components(schemas(NewCharter, CharterUpdate, ApiCharter, ApiRevenue, ApiError, ApiFieldError, ConflictsWith,
        tasks::ApiTask, tasks::ApiTaskNote, tasks::NewApiTask, tasks::ApiNote, tasks::ApiStatusChange)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// An amount of dollars as the caller wrote it: a JSON string, or a JSON number taken as
/// its literal text (never through a float, so 1234.5000000000001 is refused for its
/// decimals rather than rounded). The import's money rule then reads the text.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Dollars(pub String);

impl<'de> Deserialize<'de> for Dollars {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        if text.starts_with('"') {
            return serde_json::from_str::<String>(text)
                .map(Dollars)
                .map_err(serde::de::Error::custom);
        }
        let numeric = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
        if numeric {
            return Ok(Dollars(text.to_string()));
        }
        Err(serde::de::Error::custom(format!(
            "expected dollars as a string like \"1234.50\" or a number like 1234.5, not {text}"
        )))
    }
}

/// A booking to create.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCharter {
    /// The website's own id for the booking (a UUID); made by jada when left out.
    #[schema(format = "uuid")]
    pub charter_id: Option<String>,
    /// YYYY-MM-DD (or m/d/yyyy).
    #[schema(example = "2025-07-12")]
    pub charter_date: String,
    /// HH:MM, 24-hour (or "2:30 PM").
    #[schema(example = "10:00")]
    pub start_time: String,
    #[schema(example = "13:00")]
    pub end_time: String,
    /// A vessel of the fleet.
    #[schema(example = "Marlin")]
    pub vessel_name: String,
    pub guest_name: String,
    pub guest_count: u32,
    /// Dollars: a string ("1234.50", "$1,234.50") or a number with at most two decimals
    /// (1234.5), read exactly as written.
    #[schema(value_type = String, example = "1234.50")]
    pub reportable_revenue: Dollars,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub tips: Option<Dollars>,
    /// requested, booked (the default), confirmed, completed or cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A captain-certified crew id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crew: Option<Vec<String>>,
}

/// A change to a booking: `version` is the one you read; fields left out keep their values.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CharterUpdate {
    pub version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charter_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vessel_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guest_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guest_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub reportable_revenue: Option<Dollars>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub tips: Option<Dollars>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crew: Option<Vec<String>>,
}

/// A booking as stored.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiCharter {
    #[schema(format = "uuid")]
    pub charter_id: String,
    /// Send it back with a change (PUT).
    pub version: u64,
    pub charter_date: String,
    pub start_time: String,
    pub end_time: String,
    pub vessel_name: String,
    pub guest_name: String,
    pub guest_count: u32,
    pub reportable_revenue: String,
    pub tips: String,
    pub status: String,
    pub captain: Option<String>,
    pub crew: Vec<String>,
    /// Whether it counts towards revenue and tips (booked, confirmed or completed, with
    /// revenue above $0): the rule every screen and `GET /api/revenue` use.
    pub reportable: bool,
}

impl From<&Charter> for ApiCharter {
    fn from(c: &Charter) -> Self {
        ApiCharter {
            charter_id: c.charter_id.to_string(),
            version: c.version,
            charter_date: c.charter_date.to_string(),
            start_time: c.start_time.format("%H:%M").to_string(),
            end_time: c.end_time.format("%H:%M").to_string(),
            vessel_name: c.vessel_name.clone(),
            guest_name: c.guest_name.clone(),
            guest_count: c.guest_count,
            reportable_revenue: c.reportable_revenue.dollars_string(),
            tips: c.tips.dollars_string(),
            status: c.status.to_string(),
            captain: c.captain_assigned.as_ref().map(|x| x.to_string()),
            crew: c.crew_assigned.iter().map(|x| x.to_string()).collect(),
            reportable: is_reportable(c),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiFieldError {
    pub field: String,
    pub reason: String,
}

/// Every error: a code, a sentence, and for 422 each field's problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    pub code: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ApiFieldError>,
    /// On a 409 for a stale update: the version you sent ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub your_version: Option<u64>,
    /// ... and the one the store holds (GET it again, apply your change, PUT with this).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
    /// On a 409 for a vessel already taken at that time: what was refused, in words ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// ... and the charter holding the vessel then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicts_with: Option<ConflictsWith>,
}

/// The charter a booking would overlap (same vessel, overlapping times).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConflictsWith {
    pub charter_id: String,
    /// YYYY-MM-DD
    pub date: String,
    /// HH:MM
    pub start: String,
    /// HH:MM
    pub end: String,
    pub vessel: String,
    pub guest_name: String,
}

fn fail(status: StatusCode, code: &str, detail: impl Into<String>, errors: Vec<FieldError>) -> Response {
    let detail = detail.into();
    if status.is_server_error() {
        tracing::error!(%code, %detail, "API request failed");
    }
    let body = ApiError {
        code: code.into(),
        detail: if status.is_server_error() {
            "internal error; see the daemon's log".into()
        } else {
            detail
        },
        errors: errors
            .into_iter()
            .map(|e| ApiFieldError {
                field: e.field,
                reason: e.reason,
            })
            .collect(),
        your_version: None,
        current_version: None,
        error: None,
        conflicts_with: None,
    };
    (status, Json(body)).into_response()
}

fn booking_error(e: BookingError) -> Response {
    match e {
        BookingError::Invalid(errors) => {
            let detail = BookingError::Invalid(errors.clone()).to_string();
            fail(StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail, errors)
        }
        BookingError::Conflict(c) => conflict(&c),
        BookingError::NotFound(id) => fail(StatusCode::NOT_FOUND, "not_found", format!("no charter {id}"), vec![]),
        // A record over the store's item limit: the caller's text is too long.
        BookingError::Store(e @ jada_store::StoreError::TooLarge { .. }) => {
            fail(StatusCode::UNPROCESSABLE_ENTITY, "too_large", e.to_string(), vec![])
        }
        BookingError::Store(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, "store", e.to_string(), vec![]),
    }
}

/// A 409: a stale version, an id taken, or the vessel taken then (`conflicts_with`).
fn conflict(c: &Conflict) -> Response {
    let (your_version, current_version) = match c {
        Conflict::Stale {
            your_version,
            current_version,
            ..
        } => (Some(*your_version), Some(*current_version)),
        _ => (None, None),
    };
    let conflicts_with = match c {
        Conflict::Overlap { other, .. } => Some(ConflictsWith {
            charter_id: other.charter_id.to_string(),
            date: other.charter_date.to_string(),
            start: other.start_time.format("%H:%M").to_string(),
            end: other.end_time.format("%H:%M").to_string(),
            vessel: other.vessel_name.clone(),
            guest_name: other.guest_name.clone(),
        }),
        _ => None,
    };
    let body = ApiError {
        code: if conflicts_with.is_some() {
            "overlap"
        } else {
            "conflict"
        }
        .into(),
        detail: c.to_string(),
        errors: vec![],
        your_version,
        current_version,
        error: conflicts_with.as_ref().map(|_| c.to_string()),
        conflicts_with,
    };
    (StatusCode::CONFLICT, Json(body)).into_response()
}

/// Take a cancel back: the charter returns to its status before the cancel and its
/// dispatch resumes, within `[office] reinstate_hours` of the cancel.
#[utoipa::path(post, path = "/api/charters/{id}/reinstate",
    params(("id" = String, Path, format = "uuid", description = "charter id")),
    responses((status = 200, body = ApiCharter), (status = 401, body = ApiError), (status = 404, body = ApiError),
              (status = 409, body = ApiError, description = "not cancelled (not_cancelled), cancelled too long ago (too_late), cancelled before jada kept cancels (no_record), or the vessel is taken then (overlap, conflicts_with)")))]
async fn reinstate(State(state): State<Arc<ApiState>>, caller: Caller, Path(id): Path<String>) -> Response {
    let id = match charter_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let Some(d) = &state.dispatcher else {
        return fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "dispatch is not running here",
            vec![],
        );
    };
    let by = jada_core::ChatAuthor::Operator(format!("API key {}", caller.key_name));
    match cancellation::reinstate(d, id, by, state.reinstate_within, state.clock.now()).await {
        Ok(r) => Json(ApiCharter::from(&r.charter)).into_response(),
        Err(ReinstateError::Conflict(c)) => conflict(&c),
        Err(e @ ReinstateError::NotFound(_)) => fail(StatusCode::NOT_FOUND, e.code(), e.to_string(), vec![]),
        Err(e @ ReinstateError::Store(_)) => fail(StatusCode::INTERNAL_SERVER_ERROR, e.code(), e.to_string(), vec![]),
        Err(e) => fail(StatusCode::CONFLICT, e.code(), e.to_string(), vec![]),
    }
}

/// Parses a body, naming the field at fault: 400 when it is not JSON, 422 when a field
/// is missing, unknown or of the wrong type.
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return fail(
                StatusCode::BAD_REQUEST,
                "not_json",
                format!("the body is not JSON: {inner}"),
                vec![],
            );
        }
        let msg = inner.to_string();
        // serde names a missing or unknown field in the message, not the path.
        let field = match (path.as_str(), msg.split('`').nth(1)) {
            ("." | "", Some(name)) => name.to_string(),
            (p, _) => p.to_string(),
        };
        let reason = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("{field}: {reason}"),
            vec![FieldError { field, reason }],
        )
    })
}

fn charter_id(s: &str) -> Result<CharterId, Response> {
    CharterId::parse(s).map_err(|e| {
        fail(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("`{s}` is not a charter id: {}", e.0),
            vec![],
        )
    })
}

pub fn router(state: Arc<ApiState>) -> Router {
    let protected = Router::new()
        .route("/api/charters", get(list).post(create))
        .route("/api/charters/{id}", get(get_one).put(update))
        .route("/api/charters/{id}/reinstate", axum::routing::post(reinstate))
        .route("/api/revenue", get(revenue))
        .route("/api/tasks", get(tasks::list).post(tasks::create))
        .route("/api/tasks/{id}", get(tasks::get_one))
        .route("/api/tasks/{id}/notes", axum::routing::post(tasks::note))
        .route("/api/tasks/{id}/status", axum::routing::post(tasks::status))
        .with_state(state);
    Router::new()
        .route("/api/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .merge(protected)
}

/// A caller with a live API key. As an extractor it is the key check: every API
/// handler takes one, so none can answer without a key.
pub struct Caller {
    /// The key's name (`jada api-key create NAME`).
    pub key_name: String,
}

impl FromRequestParts<Arc<ApiState>> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<ApiState>) -> Result<Self, Response> {
        let key = crate::web::bearer(&parts.headers).unwrap_or("");
        match jada_ops::office::check_api_key(state.store.as_ref(), key).await {
            Ok(Some(k)) if k.mcp_read_only && !parts.method.is_safe() => Err(fail(
                StatusCode::FORBIDDEN,
                "read_only_key",
                format!(
                    "API key `{}` was made with --mcp-read-only: it may read, not change anything; use a key made without it",
                    k.name
                ),
                vec![],
            )),
            Ok(Some(k)) => Ok(Caller { key_name: k.name }),
            Ok(None) => Err(fail(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send `Authorization: Bearer <key>` with a live key from `jada api-key create NAME`",
                vec![],
            )),
            Err(e) => Err(fail(StatusCode::INTERNAL_SERVER_ERROR, "store", e.to_string(), vec![])),
        }
    }
}

/// Create a booking.
#[utoipa::path(post, path = "/api/charters", request_body = NewCharter,
    responses((status = 201, body = ApiCharter), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 409, body = ApiError, description = "the charter_id exists, or the vessel is taken then (conflicts_with)"), (status = 422, body = ApiError)))]
async fn create(State(state): State<Arc<ApiState>>, _caller: Caller, body: Bytes) -> Response {
    let input: NewCharter = match parse(&body) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let new = NewBooking {
        charter_id: input.charter_id.clone(),
        fields: BookingFields {
            charter_date: Some(input.charter_date),
            start_time: Some(input.start_time),
            end_time: Some(input.end_time),
            vessel_name: Some(input.vessel_name),
            guest_name: Some(input.guest_name),
            guest_count: Some(input.guest_count.to_string()),
            reportable_revenue: Some(input.reportable_revenue.0),
            tips: input.tips.map(|d| d.0),
            status: input.status,
            captain: input.captain,
            crew: input.crew,
        },
    };
    match booking::create(state.store.as_ref(), &state.fleet, new, state.clock.now()).await {
        Ok(c) => {
            state.dispatch(None, &c).await;
            (StatusCode::CREATED, Json(ApiCharter::from(&c))).into_response()
        }
        Err(e) => booking_error(e),
    }
}

/// Change a booking.
#[utoipa::path(put, path = "/api/charters/{id}", request_body = CharterUpdate,
    params(("id" = String, Path, format = "uuid", description = "charter id")),
    responses((status = 200, body = ApiCharter), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 404, body = ApiError), (status = 409, body = ApiError, description = "stale version, or the vessel is taken then (conflicts_with)"), (status = 422, body = ApiError)))]
async fn update(State(state): State<Arc<ApiState>>, _caller: Caller, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match charter_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let input: CharterUpdate = match parse(&body) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let change = BookingChange {
        charter_id: id,
        version: input.version,
        fields: BookingFields {
            charter_date: input.charter_date,
            start_time: input.start_time,
            end_time: input.end_time,
            vessel_name: input.vessel_name,
            guest_name: input.guest_name,
            guest_count: input.guest_count.map(|n| n.to_string()),
            reportable_revenue: input.reportable_revenue.map(|d| d.0),
            tips: input.tips.map(|d| d.0),
            status: input.status,
            captain: input.captain,
            crew: input.crew,
        },
    };
    match booking::update(state.store.as_ref(), &state.fleet, change, state.clock.now()).await {
        Ok(u) => {
            state.dispatch(Some(&u.before), &u.after).await;
            Json(ApiCharter::from(&u.after)).into_response()
        }
        Err(e) => booking_error(e),
    }
}

/// One booking.
#[utoipa::path(get, path = "/api/charters/{id}", params(("id" = String, Path, format = "uuid", description = "charter id")),
    responses((status = 200, body = ApiCharter), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
async fn get_one(State(state): State<Arc<ApiState>>, _caller: Caller, Path(id): Path<String>) -> Response {
    let id = match charter_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match state.store.get_charter(id).await {
        Ok(Some(c)) => Json(ApiCharter::from(&c)).into_response(),
        Ok(None) => fail(StatusCode::NOT_FOUND, "not_found", format!("no charter {id}"), vec![]),
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, "store", e.to_string(), vec![]),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MonthQuery {
    /// YYYY-MM (or YYYY-M)
    #[param(pattern = r"^\d{4}-\d{1,2}$", example = "2025-07")]
    pub month: Option<String>,
}

/// The `month` query parameter, or the 422 that names it.
fn month_param(q: MonthQuery) -> Result<Month, Response> {
    let invalid = |reason: String| {
        let fe = FieldError {
            field: "month".into(),
            reason: reason.clone(),
        };
        fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("month: {reason}"),
            vec![fe],
        )
    };
    let m = q.month.ok_or_else(|| invalid("required, as YYYY-MM".into()))?;
    Month::parse(&m).map_err(|e| invalid(e.0))
}

/// A month's bookings, by date and time.
#[utoipa::path(get, path = "/api/charters", params(MonthQuery),
    responses((status = 200, body = Vec<ApiCharter>), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
async fn list(State(state): State<Arc<ApiState>>, _caller: Caller, Query(q): Query<MonthQuery>) -> Response {
    let month = match month_param(q) {
        Ok(m) => m,
        Err(r) => return r,
    };
    match state.store.list_charters_in_month(month).await {
        Ok(cs) => Json(cs.iter().map(ApiCharter::from).collect::<Vec<_>>()).into_response(),
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, "store", e.to_string(), vec![]),
    }
}

/// A month's figures under the revenue rule, as the report, the office Revenue page and
/// the statements give them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiRevenue {
    #[schema(example = "2025-07")]
    pub month: String,
    /// Every charter of the month.
    pub charters: usize,
    /// Those that count (booked, confirmed or completed, revenue above $0).
    pub reportable: usize,
    /// Dollars, e.g. "105490.00".
    pub revenue: String,
    pub tips: String,
}

/// A month's revenue and tips.
#[utoipa::path(get, path = "/api/revenue", params(MonthQuery),
    responses((status = 200, body = ApiRevenue), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
async fn revenue(State(state): State<Arc<ApiState>>, _caller: Caller, Query(q): Query<MonthQuery>) -> Response {
    let month = match month_param(q) {
        Ok(m) => m,
        Err(r) => return r,
    };
    match state.store.list_charters_in_month(month).await {
        Ok(cs) => {
            let t = Totals::of(&cs);
            Json(ApiRevenue {
                month: month.to_string(),
                charters: t.charters,
                reportable: t.reportable,
                revenue: t.revenue.dollars_string(),
                tips: t.tips.dollars_string(),
            })
            .into_response()
        }
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, "store", e.to_string(), vec![]),
    }
}
