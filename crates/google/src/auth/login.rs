//! `jada auth login`: the installed-app flow (RFC 8252) with PKCE (RFC 7636) and a
//! loopback redirect on 127.0.0.1. The operator opens the printed URL, consents, and
//! Google redirects to our one-shot listener with a code, which is exchanged for a
//! refresh token. The result is an `authorized_user` file, as gcloud writes one.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use axum::extract::Query;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::distr::Alphanumeric;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::grant::{classify, post_raw};
use super::AuthError;
use crate::secret_files::write_private_atomic;

/// What the flow needs to know.
pub struct LoginRequest {
    pub credential: String,
    pub auth_uri: String,
    pub token_uri: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scopes: Vec<String>,
    /// How long to wait for the operator.
    pub timeout: Duration,
}

fn random(n: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(n).map(char::from).collect()
}

/// Runs the flow: binds the listener, hands the consent URL to `show_url`, waits for the
/// redirect, exchanges the code, and writes the `authorized_user` file to `out`.
pub async fn login(req: &LoginRequest, out: &Path, show_url: impl FnOnce(&str)) -> Result<(), AuthError> {
    let fail = |problem: String| AuthError::Refused {
        credential: req.credential.clone(),
        detail: problem,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| fail(format!("cannot listen on 127.0.0.1: {e}")))?;
    let port = listener.local_addr().map_err(|e| fail(e.to_string()))?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}/");
    let verifier = random(64);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = random(24);

    let mut url =
        url::Url::parse(&req.auth_uri).map_err(|e| fail(format!("auth_uri `{}` is not a URL: {e}", req.auth_uri)))?;
    url.query_pairs_mut()
        .append_pair("client_id", &req.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", &req.scopes.join(" "))
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", &state)
        .append_pair("access_type", "offline")
        .append_pair("prompt", "consent");

    let (tx, mut rx) = mpsc::channel::<HashMap<String, String>>(1);
    let app = Router::new().route(
        "/",
        get(move |Query(q): Query<HashMap<String, String>>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(q).await;
                Html("<!doctype html><title>jada</title><p>jada received Google's answer. You can close this tab and return to the terminal.</p>")
            }
        }),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    show_url(url.as_str());

    let answer = tokio::time::timeout(req.timeout, rx.recv()).await;
    server.abort();
    let q = answer
        .map_err(|_| {
            fail(format!(
                "no answer from the browser within {} s; run the command again",
                req.timeout.as_secs()
            ))
        })?
        .ok_or_else(|| fail("the loopback listener stopped".into()))?;
    if q.get("state") != Some(&state) {
        return Err(fail(
            "the redirect's state does not match this login; run the command again".into(),
        ));
    }
    if let Some(e) = q.get("error") {
        return Err(fail(format!("consent was not given ({e})")));
    }
    let code = q
        .get("code")
        .ok_or_else(|| fail("the redirect carried no code".into()))?;

    let form = [
        ("grant_type", "authorization_code".to_string()),
        ("code", code.clone()),
        ("client_id", req.client_id.clone()),
        ("client_secret", req.client_secret.expose_secret().to_string()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    let (status, body) = post_raw(&reqwest::Client::new(), &req.token_uri, &form)
        .await
        .map_err(|f| fail(format!("{f:?}")))?;
    if !status.is_success() {
        return Err(fail(format!(
            "the code exchange was refused: {:?}",
            classify(status, &body)
        )));
    }
    let refresh_token = body.get("refresh_token").and_then(Value::as_str).ok_or_else(|| {
        fail("Google granted no refresh token; revoke jada's access in the Google account and try again".into())
    })?;
    let file = json!({
        "type": "authorized_user",
        "client_id": req.client_id,
        "client_secret": req.client_secret.expose_secret(),
        "refresh_token": refresh_token,
    });
    let bytes = serde_json::to_vec_pretty(&file).map_err(|e| fail(e.to_string()))?;
    write_private_atomic(out, &bytes).map_err(|e| AuthError::File {
        credential: req.credential.clone(),
        path: out.display().to_string(),
        problem: format!("cannot be written: {e}"),
    })
}
