//! The daemon's HTTP surface: `/healthz` (alive), `/readyz` (a write to the disk and the
//! store would succeed now),
//! `/metrics` (Prometheus), `/api/status` (the status report, behind the admin token).
//! The other areas (crew pages, office pages, booking API) are merged in by the daemon.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use jada_core::Clock;
use jada_store::Store;

use crate::metrics::Exposition;
use crate::metrics::Metrics;
use crate::status::StatusSource;
use crate::web::same_secret;

/// What the operator endpoints need.
pub struct OpsState {
    pub store: Arc<dyn Store>,
    pub status: Arc<StatusSource>,
    /// The bearer token for `/api/status`.
    pub admin_token: String,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    /// The daemon's agent, for the admin API's decisions and resumes.
    pub agent: Option<crate::jobs::agent::AgentDesk>,
    /// jada's tools for MCP callers: an approval of theirs is decided and carried out
    /// without a model.
    pub direct: Option<Arc<jada_ops::agent::Direct>>,
    /// Cancelled when the daemon gives up waiting at shutdown.
    pub shutdown: tokio_util::sync::CancellationToken,
}

/// The operator endpoints, with the other areas' routers (`areas`) merged in, under the
/// request counter and the redacting access log. `/` sends a person to the office pages
/// (which, when `office` is off, say how to turn them on); any other unknown path is a
/// plain 404.
pub fn router(shared: Arc<OpsState>, areas: Vec<Router>, office: bool) -> Router {
    let mut app = Router::new()
        .route("/", get(|| async { axum::response::Redirect::to("/office") }))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/status", get(status))
        .merge(crate::agent_api::routes())
        .with_state(Arc::clone(&shared));
    if !office {
        app = app.route("/office", get(office_off));
    }
    for area in areas {
        app = app.merge(area);
    }
    app.fallback(not_found)
        .layer(middleware::from_fn(api_errors_as_json))
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), count_requests))
        .layer(middleware::from_fn(access_log))
}

/// Every `/api/` error answers the API's JSON (`{code, detail}`), also those axum's own
/// extractors give before a handler runs (a bad path parameter, a duplicate or malformed
/// query, a body over the limit), which are plain text otherwise.
async fn api_errors_as_json(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    let status = resp.status();
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !api || json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let text = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap_or_default();
    let detail = String::from_utf8_lossy(&text).trim().to_string();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        _ => "error",
    };
    let detail = if detail.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        detail
    };
    error(status, code, &detail)
}

/// One debug line per request, with every secret-carrying path redacted
/// ([`crate::web::SECRET_PATHS`]). The request counts as foreground work while it is
/// handled: a backup steps aside for it ([`jada_core::foreground`]).
async fn access_log(req: Request, next: Next) -> Response {
    let _in_flight = jada_core::foreground::InFlight::start();
    let (method, path) = (req.method().clone(), crate::web::redact(req.uri().path()));
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(%method, %path, status = resp.status().as_u16(), ms = started.elapsed().as_millis() as u64, "http");
    resp
}

/// The office pages are not turned on: say how, instead of a bare 404.
async fn office_off() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "The office pages are off. To turn them on, list who may sign in in jada.toml and restart jada:\n\n[office]\nusers = [\"you@example.com\"]\n\nSign-in links are mailed to those addresses (to the data directory's outbox/ folder unless [mail] mode = \"gmail\").\n",
    )
        .into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "no such page")
}

/// `{code, detail}` for 4xx; 5xx hide details from the client and log them.
pub(crate) fn error(status: StatusCode, code: &str, detail: &str) -> Response {
    if status.is_server_error() {
        tracing::error!(%code, %detail, "request failed");
        return (
            status,
            Json(json!({ "code": code, "detail": "internal error; see the daemon's log" })),
        )
            .into_response();
    }
    (status, Json(json!({ "code": code, "detail": detail }))).into_response()
}

async fn count_requests(State(shared): State<Arc<OpsState>>, req: Request, next: Next) -> Response {
    // The route pattern, not the raw path: one series per route, whatever the URL holds.
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    shared.metrics.http_request(&path, resp.status().as_u16());
    resp
}

/// Ready means a write would succeed now: a file larger than any one write jada makes
/// (a charter batch, a report) written and synced in the data directory — so a nearly
/// full disk fails here before a real write meets it — and a write to the store.
/// The readiness probe's size: above a real write's (a 15 KB insert met a full disk that
/// a 4 KB probe had passed).
const READY_PROBE_BYTES: usize = 256 * 1024;

async fn readyz(State(shared): State<Arc<OpsState>>) -> Response {
    let unavailable = |why: String| (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response();
    let probe = shared.status.data_dir.join(".readyz-probe");
    let written = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&probe)?;
        f.write_all(&vec![0u8; READY_PROBE_BYTES])?;
        f.sync_data()
    })
    .await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return unavailable(format!(
                "writes to the data directory {} fail: {e}; free disk space (or fix the mount) and check again",
                shared.status.data_dir.display()
            ))
        }
        Err(e) => return unavailable(format!("the write probe did not finish: {e}")),
    }
    let now = shared.clock.now();
    match shared
        .store
        .try_acquire_lease("readyz-probe", "readyz", now, std::time::Duration::from_secs(1))
        .await
    {
        Ok(_) => "ready\n".into_response(),
        Err(e) => unavailable(format!("the store refuses writes: {e}")),
    }
}

/// An operator holding the admin token (`secrets/admin-token`). As an extractor it is
/// the check: `/api/status` cannot answer without it.
pub struct Admin;

impl FromRequestParts<Arc<OpsState>> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<OpsState>) -> Result<Self, Response> {
        if crate::web::bearer(&parts.headers).is_some_and(|g| same_secret(g, &shared.admin_token)) {
            return Ok(Admin);
        }
        Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send `Authorization: Bearer <token>` with the token in the data directory's secrets/admin-token",
        ))
    }
}

async fn status(State(shared): State<Arc<OpsState>>, _admin: Admin) -> Response {
    match shared.status.full_report().await {
        Ok(r) => Json(r).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "store", &e.to_string()),
    }
}

async fn metrics(State(shared): State<Arc<OpsState>>) -> Response {
    let report = match shared.status.report().await {
        Ok(r) => r,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "store", &e.to_string()),
    };
    let now = shared.clock.now();
    let mut x = Exposition::default();
    x.family(
        "jada_job_runs_total",
        "counter",
        "Job runs since the daemon started, by job and outcome.",
    );
    for ((job, outcome), n) in shared.metrics.job_runs() {
        x.sample("jada_job_runs_total", &[("job", &job), ("outcome", &outcome)], n as f64);
    }
    x.family(
        "jada_job_last_success_timestamp_seconds",
        "gauge",
        "Unix time of each job's last successful run (0: never).",
    );
    for j in &report.jobs {
        x.sample(
            "jada_job_last_success_timestamp_seconds",
            &[("job", &j.name)],
            j.last_success_at.map_or(0.0, |t| t.timestamp() as f64),
        );
    }
    if let Some(b) = &report.backup {
        let unix = |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or(0.0, |t| t.timestamp() as f64);
        x.family(
            "jada_backup_last_success_timestamp_seconds",
            "gauge",
            "Unix time the last backup run left the target holding the current data (0: never).",
        );
        x.sample(
            "jada_backup_last_success_timestamp_seconds",
            &[("target", &b.target)],
            unix(b.state.last_success_at),
        );
        x.family(
            "jada_backup_last_verified_timestamp_seconds",
            "gauge",
            "Unix time an archive was last restored and compared with its snapshot (0: never).",
        );
        x.sample(
            "jada_backup_last_verified_timestamp_seconds",
            &[("target", &b.target)],
            unix(b.state.last_verified.as_ref().map(|v| v.at)),
        );
    }
    x.family("jada_outbox_pending_events", "gauge", "Events waiting in the outbox.");
    x.sample("jada_outbox_pending_events", &[], report.outbox_pending as f64);
    x.family("jada_dead_letters", "gauge", "Events parked as dead letters.");
    x.sample("jada_dead_letters", &[], report.dead_letters as f64);
    x.family(
        "jada_credential_token_expiry_seconds",
        "gauge",
        "Seconds until each credential's token expires (negative: expired).",
    );
    for c in &report.credentials {
        if let Some(exp) = c.expires_at {
            x.sample(
                "jada_credential_token_expiry_seconds",
                &[("credential", &c.name)],
                (exp - now).num_seconds() as f64,
            );
        }
    }
    x.family(
        "jada_agent_sessions",
        "gauge",
        "Agent sessions started in the last 24 hours, by playbook and outcome.",
    );
    for p in &report.agent {
        for (outcome, n) in &p.sessions {
            x.sample(
                "jada_agent_sessions",
                &[("playbook", &p.playbook), ("outcome", outcome)],
                *n as f64,
            );
        }
    }
    x.family(
        "jada_agent_turns",
        "gauge",
        "Model requests of the last 24 hours' sessions, by playbook.",
    );
    for p in &report.agent {
        x.sample("jada_agent_turns", &[("playbook", &p.playbook)], p.turns as f64);
    }
    x.family(
        "jada_agent_tokens",
        "gauge",
        "Tokens of the last 24 hours' sessions, by playbook and direction.",
    );
    for p in &report.agent {
        x.sample(
            "jada_agent_tokens",
            &[("playbook", &p.playbook), ("direction", "input")],
            p.input_tokens as f64,
        );
        x.sample(
            "jada_agent_tokens",
            &[("playbook", &p.playbook), ("direction", "output")],
            p.output_tokens as f64,
        );
    }
    x.family(
        "jada_agent_cost_usd",
        "gauge",
        "Estimated cost of the last 24 hours' sessions, by playbook.",
    );
    for p in &report.agent {
        x.sample("jada_agent_cost_usd", &[("playbook", &p.playbook)], p.cost_usd);
    }
    x.family(
        "jada_agent_approvals_waiting",
        "gauge",
        "Agent tool calls waiting for a person's approval.",
    );
    x.sample("jada_agent_approvals_waiting", &[], report.approvals_waiting as f64);
    x.family(
        "jada_log_write_failures_total",
        "counter",
        "Log lines that could not be written (a full disk, a closed pipe) and were dropped.",
    );
    x.sample(
        "jada_log_write_failures_total",
        &[],
        crate::metrics::log_failures() as f64,
    );
    x.family("jada_alerts_firing", "gauge", "Alerts currently firing.");
    x.sample("jada_alerts_firing", &[], report.alerts_firing.len() as f64);
    x.family(
        "jada_http_requests_total",
        "counter",
        "HTTP requests, by route and status.",
    );
    for ((path, status), n) in shared.metrics.http_requests() {
        x.sample(
            "jada_http_requests_total",
            &[("path", &path), ("status", &status.to_string())],
            n as f64,
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], x.finish()).into_response()
}
