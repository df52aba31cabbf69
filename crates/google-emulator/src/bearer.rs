//! Bearer-token checking for the emulated APIs, with Google's answers: 401
//! `UNAUTHENTICATED` for a missing, unknown or expired token; 403 `PERMISSION_DENIED`
//! with reason `insufficientPermissions` when the token lacks every accepted scope.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::state::{IssuedToken, State};

/// The token's grant, or Google's refusal. `any_of`: scopes any one of which is enough.
pub fn check(state: &State, headers: &HeaderMap, any_of: &[&str]) -> Result<IssuedToken, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(grant) = token.and_then(|t| state.lookup_access_token(t)) else {
        return Err(unauthenticated());
    };
    if !grant.scopes.iter().any(|s| any_of.contains(&s.as_str())) {
        return Err(insufficient_scopes());
    }
    Ok(grant)
}

fn unauthenticated() -> Response {
    let body = json!({"error": {
        "code": 401,
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError", "location": "Authorization", "locationType": "header"}],
        "status": "UNAUTHENTICATED",
    }});
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            "Bearer realm=\"https://accounts.google.com/\"",
        )],
        Json(body),
    )
        .into_response()
}

fn insufficient_scopes() -> Response {
    let body = json!({"error": {
        "code": 403,
        "message": "Request had insufficient authentication scopes.",
        "errors": [{"message": "Insufficient Permission", "domain": "global", "reason": "insufficientPermissions"}],
        "status": "PERMISSION_DENIED",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com"}],
    }});
    (StatusCode::FORBIDDEN, Json(body)).into_response()
}

/// Scopes that let a token read Drive metadata.
pub const DRIVE_READ: &[&str] = &[
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.readonly",
    "https://www.googleapis.com/auth/drive.file",
    "https://www.googleapis.com/auth/drive.metadata.readonly",
];

/// `GET /drive/v3/about`: who the token acts for. The first API surface behind the
/// bearer check; later issues add Sheets, Drive files and Gmail the same way.
pub async fn drive_about(AxState(state): AxState<Arc<State>>, headers: HeaderMap) -> Response {
    state.count("drive.about");
    match check(&state, &headers, DRIVE_READ) {
        Ok(grant) => Json(json!({
            "kind": "drive#about",
            "user": {"kind": "drive#user", "displayName": grant.account, "emailAddress": grant.account, "me": true},
        }))
        .into_response(),
        Err(r) => r,
    }
}
