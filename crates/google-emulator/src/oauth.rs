//! The OAuth 2.0 endpoints as Google answers them: `POST /token` (JWT bearer, refresh
//! token, authorization code with PKCE), `GET /tokeninfo`, and the consent page
//! `GET /o/oauth2/v2/auth`, which approves at once.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State as AxState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::state::{random, AuthCode, Fault, RefreshGrant, State};

type Params = HashMap<String, String>;

/// Google's token-endpoint error: `{"error": ..., "error_description": ...}`.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

fn invalid_grant(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

pub async fn token(AxState(state): AxState<Arc<State>>, Form(p): Form<Params>) -> Response {
    state.count("token");
    if let Some(fault) = state.next_fault() {
        match fault {
            Fault::Status(code) => return fault_response(code),
            Fault::Hang(d) => tokio::time::sleep(d).await,
            Fault::MalformedJson => {
                return (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"access_token\": \"ya29.trunc",
                )
                    .into_response()
            }
        }
    }
    match p.get("grant_type").map(String::as_str) {
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => jwt_bearer(&state, &p),
        Some("refresh_token") => refresh(&state, &p),
        Some("authorization_code") => exchange_code(&state, &p),
        Some(other) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Invalid grant_type: {other}"),
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Invalid grant_type: ",
        ),
    }
}

fn fault_response(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (error, description) = match code {
        429 => ("rate_limit_exceeded", "Rate Limit Exceeded"),
        401 => ("unauthorized", "Request is unauthorized."),
        403 => ("access_denied", "Request had insufficient authentication scopes."),
        503 => ("temporarily_unavailable", "The service is currently unavailable."),
        _ => ("internal_failure", "Backend Error"),
    };
    oauth_error(status, error, description)
}

#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    scope: Option<String>,
    aud: String,
    iat: i64,
    exp: i64,
    sub: Option<String>,
}

const BAD_TIMES: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";

/// Service accounts: an RS256 JWT signed with the account's key.
fn jwt_bearer(state: &State, p: &Params) -> Response {
    let Some(assertion) = p.get("assertion") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: assertion",
        );
    };
    match jsonwebtoken::decode_header(assertion) {
        Ok(h) if h.alg == Algorithm::RS256 => {}
        Ok(_) => return invalid_grant("Invalid JWT: algorithm must be RS256."),
        Err(_) => return invalid_grant("Invalid JWT: Malformed JWT."),
    }
    let Some(iss) = unverified_issuer(assertion) else {
        return invalid_grant("Invalid JWT: Malformed JWT.");
    };
    let Some(account) = state.lock().service_accounts.get(&iss).cloned() else {
        return invalid_grant("Invalid grant: account not found");
    };
    let Ok(key) = DecodingKey::from_rsa_pem(account.public_key_pem.as_bytes()) else {
        return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "internal_failure", "Backend Error");
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = match jsonwebtoken::decode::<Claims>(assertion, &key, &validation) {
        Ok(data) if !account.key_deleted => data.claims,
        Ok(_) | Err(_) => return invalid_grant("Invalid JWT Signature."),
    };
    if claims.aud != state.token_uri() {
        return invalid_grant(&format!(
            "Invalid JWT: Failed audience check. The expected value was {}.",
            state.token_uri()
        ));
    }
    let now = state.now().timestamp();
    let skew = 60;
    if claims.exp - claims.iat > 3600 || claims.exp <= claims.iat || claims.iat > now + skew || claims.exp < now - skew
    {
        return invalid_grant(BAD_TIMES);
    }
    let scopes: Vec<String> = claims
        .scope
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        );
    }
    let acting_as = match &claims.sub {
        Some(sub) if !account.delegates.contains(sub) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
            )
        }
        Some(sub) => sub.clone(),
        None => claims.iss.clone(),
    };
    let (token, lifetime) = state.issue_access_token(&account.client_id, &acting_as, scopes, false);
    Json(json!({ "access_token": token, "expires_in": lifetime, "token_type": "Bearer" })).into_response()
}

/// The `iss` claim, read before the signature is checked (to find the key).
fn unverified_issuer(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_string)
}

/// Checks client id and secret; `Err` is Google's 401 answer.
fn authenticate_client(state: &State, p: &Params) -> Result<String, Response> {
    let id = p.get("client_id").cloned().unwrap_or_default();
    let Some(client) = state.lock().clients.get(&id).cloned() else {
        return Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.",
        ));
    };
    if p.get("client_secret") != Some(&client.client_secret) {
        return Err(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized"));
    }
    Ok(id)
}

fn refresh(state: &State, p: &Params) -> Response {
    let client_id = match authenticate_client(state, p) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let grant = p
        .get("refresh_token")
        .and_then(|t| state.lock().refresh_tokens.get(t).cloned());
    let Some(grant) = grant.filter(|g| !g.revoked && g.client_id == client_id) else {
        return invalid_grant("Token has been expired or revoked.");
    };
    let (token, lifetime) = state.issue_access_token(&client_id, &grant.account, grant.scopes.clone(), true);
    Json(json!({ "access_token": token, "expires_in": lifetime, "scope": grant.scopes.join(" "), "token_type": "Bearer" })).into_response()
}

fn exchange_code(state: &State, p: &Params) -> Response {
    let client_id = match authenticate_client(state, p) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let code = p.get("code").and_then(|c| state.lock().codes.remove(c));
    let Some(code) = code.filter(|c| c.client_id == client_id) else {
        return invalid_grant("Malformed auth code.");
    };
    if p.get("redirect_uri") != Some(&code.redirect_uri) {
        return oauth_error(StatusCode::BAD_REQUEST, "redirect_uri_mismatch", "Bad Request");
    }
    if let Some(challenge) = &code.code_challenge {
        let verifier = p.get("code_verifier").map(String::as_str).unwrap_or("");
        if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != *challenge {
            return invalid_grant("Invalid code verifier.");
        }
    }
    let account = format!("user-of-{client_id}");
    let refresh_token = format!("1//emu-{}", random(40));
    state.lock().refresh_tokens.insert(
        refresh_token.clone(),
        RefreshGrant {
            client_id: client_id.clone(),
            scopes: code.scopes.clone(),
            account: account.clone(),
            revoked: false,
        },
    );
    let (token, lifetime) = state.issue_access_token(&client_id, &account, code.scopes.clone(), true);
    Json(json!({
        "access_token": token,
        "expires_in": lifetime,
        "refresh_token": refresh_token,
        "scope": code.scopes.join(" "),
        "token_type": "Bearer",
    }))
    .into_response()
}

pub async fn tokeninfo(AxState(state): AxState<Arc<State>>, Query(q): Query<Params>) -> Response {
    state.count("tokeninfo");
    let info = q.get("access_token").and_then(|t| state.lookup_access_token(t));
    let Some(info) = info else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_token", "Invalid Value");
    };
    let expires_in = (info.expires_at - state.now()).num_seconds().max(0);
    // Google's v3 tokeninfo answers numbers as strings.
    Json(json!({
        "azp": info.azp,
        "aud": info.azp,
        "sub": info.account,
        "scope": info.scopes.join(" "),
        "exp": info.expires_at.timestamp().to_string(),
        "expires_in": expires_in.to_string(),
        "access_type": if info.offline { "offline" } else { "online" },
    }))
    .into_response()
}

/// The consent page. Approves at once (there is nobody to click) and redirects back
/// with a code, as Google does after the user consents.
pub async fn consent(AxState(state): AxState<Arc<State>>, Query(q): Query<Params>) -> Response {
    state.count("auth");
    let client_id = q.get("client_id").cloned().unwrap_or_default();
    if !state.lock().clients.contains_key(&client_id) {
        return (
            StatusCode::UNAUTHORIZED,
            "Error 401: invalid_client\nThe OAuth client was not found.",
        )
            .into_response();
    }
    let Some(redirect_uri) = q.get("redirect_uri").cloned() else {
        return (
            StatusCode::BAD_REQUEST,
            "Error 400: invalid_request\nMissing required parameter: redirect_uri",
        )
            .into_response();
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return (
            StatusCode::BAD_REQUEST,
            "Error 400: invalid_request\nresponse_type must be code",
        )
            .into_response();
    }
    if q.contains_key("code_challenge") && q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return (
            StatusCode::BAD_REQUEST,
            "Error 400: invalid_request\ncode_challenge_method must be S256",
        )
            .into_response();
    }
    let scopes: Vec<String> = q
        .get("scope")
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let code = format!("4/emu-{}", random(30));
    state.lock().codes.insert(
        code.clone(),
        AuthCode {
            client_id,
            redirect_uri: redirect_uri.clone(),
            scopes: scopes.clone(),
            code_challenge: q.get("code_challenge").cloned(),
        },
    );
    let Ok(mut target) = url::Url::parse(&redirect_uri) else {
        return (StatusCode::BAD_REQUEST, "Error 400: redirect_uri_mismatch").into_response();
    };
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("scope", &scopes.join(" "));
    if let Some(s) = q.get("state") {
        target.query_pairs_mut().append_pair("state", s);
    }
    Redirect::to(target.as_str()).into_response()
}
