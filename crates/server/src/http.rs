//! The daemon's HTTP surface: `/healthz` (alive), `/readyz` (store reachable),
//! `/metrics` (Prometheus), `/api/status` (the status report, behind the admin token).
//! The crew pages ([`crate::crew`]) join the same router when dispatch is set up.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::daemon::Shared;
use crate::metrics::Exposition;

pub fn router(shared: Arc<Shared>) -> Router {
    let mut app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/status", get(status))
        .with_state(Arc::clone(&shared));
    if let Some(crew) = &shared.crew {
        app = app.merge(crate::crew::router(Arc::clone(crew)));
    }
    if shared.office.is_some() {
        app = app.merge(crate::office::router(Arc::clone(&shared)));
    }
    if let Some(api) = &shared.api {
        app = app.merge(crate::api::router(Arc::clone(api)));
    }
    app.layer(middleware::from_fn_with_state(Arc::clone(&shared), count_requests))
        .layer(middleware::from_fn(access_log))
}

/// One debug line per request, with crew tokens redacted from the path.
async fn access_log(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), crate::crew::redact(req.uri().path()));
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(%method, %path, status = resp.status().as_u16(), ms = started.elapsed().as_millis() as u64, "http");
    resp
}

/// `{code, detail}` for 4xx; 5xx hide details from the client and log them.
fn error(status: StatusCode, code: &str, detail: &str) -> Response {
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

async fn count_requests(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
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

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    match shared.store.count_events(jada_store::EventStatus::Pending).await {
        Ok(_) => "ready\n".into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("store unreachable: {e}\n")).into_response(),
    }
}

async fn status(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let ok = given.is_some_and(|g| same_secret(g, &shared.admin_token));
    if !ok {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send `Authorization: Bearer <token>` with the token in the data directory's secrets/admin-token",
        );
    }
    match shared.report().await {
        Ok(r) => Json(r).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "store", &e.to_string()),
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let report = match shared.report().await {
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

/// A request cookie's value (the crew and office pages' CSRF and session cookies).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The headers every page behind a token or a session carries: no referrer (tokens are
/// in URLs), the given strict CSP, no framing, no sniffing, no caching.
pub fn page_headers(resp: &mut Response, csp: &'static str) {
    let h = resp.headers_mut();
    for (k, v) in [
        ("referrer-policy", "no-referrer"),
        ("content-security-policy", csp),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
}

/// Equal and not empty, compared in constant time (CSRF tokens, bearer keys).
pub fn same_secret(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A double-submit CSRF token for forms without a session (crew pages, sign-in): a
/// random value in an HttpOnly, SameSite=Strict cookie that the form repeats.
pub struct CsrfCookie {
    pub name: &'static str,
    pub path: &'static str,
    pub max_age_secs: u32,
}

impl CsrfCookie {
    /// The value for the form (the browser's, or a new one) and the Set-Cookie header.
    pub fn issue(&self, headers: &HeaderMap, secure: bool) -> (String, String) {
        let v = cookie(headers, self.name)
            .filter(|v| v.len() == 32)
            .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
        let flag = if secure { "; Secure" } else { "" };
        let set = format!(
            "{}={v}; Path={}; HttpOnly; SameSite=Strict; Max-Age={}{flag}",
            self.name, self.path, self.max_age_secs
        );
        (v, set)
    }

    /// Whether a posted form's `csrf` field matches the cookie.
    pub fn check(&self, headers: &HeaderMap, form: &std::collections::HashMap<String, String>) -> bool {
        same_secret(
            &cookie(headers, self.name).unwrap_or_default(),
            form.get("csrf").map(String::as_str).unwrap_or(""),
        )
    }
}
