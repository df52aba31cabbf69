//! The control API: what tests (and a developer at the command line) use to shape the
//! emulator's answers. The same operations are methods on [`crate::Emulator`].

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::state::{Fault, State};
use crate::Emulator;

#[derive(Debug, Deserialize)]
pub struct FaultRequest {
    /// `status` (with `status`), `hang` (with `seconds`) or `malformed_json`.
    pub kind: String,
    pub status: Option<u16>,
    pub seconds: Option<u64>,
    #[serde(default = "one")]
    pub count: usize,
}

fn one() -> usize {
    1
}

pub async fn faults(AxState(state): AxState<Arc<State>>, Json(req): Json<FaultRequest>) -> Response {
    let fault = match (req.kind.as_str(), req.status, req.seconds) {
        ("status", Some(code), _) => Fault::Status(code),
        ("hang", _, Some(s)) => Fault::Hang(Duration::from_secs(s)),
        ("malformed_json", _, _) => Fault::MalformedJson,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                "kind must be status (with status), hang (with seconds) or malformed_json",
            )
                .into_response()
        }
    };
    Emulator::from_state(state).fail_next(req.count, fault);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Debug, Deserialize)]
pub struct RevokeRequest {
    pub refresh_token: String,
}

pub async fn revoke(AxState(state): AxState<Arc<State>>, Json(req): Json<RevokeRequest>) -> Response {
    if Emulator::from_state(state).revoke_refresh_token(&req.refresh_token) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::NOT_FOUND, "no such refresh token").into_response()
    }
}

#[derive(Debug, Deserialize)]
pub struct LifetimeRequest {
    pub seconds: i64,
}

pub async fn lifetime(AxState(state): AxState<Arc<State>>, Json(req): Json<LifetimeRequest>) -> Response {
    Emulator::from_state(state).set_access_token_lifetime(req.seconds);
    StatusCode::NO_CONTENT.into_response()
}

pub async fn calls(AxState(state): AxState<Arc<State>>) -> Response {
    Json(json!(state.lock().calls.clone())).into_response()
}
