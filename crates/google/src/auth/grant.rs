//! One request to Google's token endpoint, and what its answer means. Service accounts
//! sign an RS256 JWT (RFC 7523); user credentials send their refresh token.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;

use super::credentials::CredentialFile;

/// A token Google granted.
pub struct Granted {
    pub access_token: SecretString,
    pub expires_in: i64,
}

/// Why a token request failed, before it is given a credential's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantFailure {
    /// Google refused the credential (`invalid_grant`, `invalid_client`, `unauthorized_client`, bare 401).
    Credential(String),
    /// Google refused the request's timestamps (clock skew).
    Clock(String),
    /// May pass: connection errors, timeouts, 408, 429, 5xx, unreadable answers.
    Transient(String),
    /// Refused for another reason (403, `invalid_scope`, ...): retrying will not help.
    Refused(String),
    /// The key in the file cannot sign (not an RSA private key).
    BadKey(String),
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: String,
    aud: &'a str,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
}

/// Asks `token_uri` for an access token.
pub async fn request(
    http: &reqwest::Client,
    token_uri: &str,
    file: &CredentialFile,
    scopes: &[String],
    subject: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Granted, GrantFailure> {
    let form: Vec<(&str, String)> = match file {
        CredentialFile::ServiceAccount {
            client_email,
            private_key,
            private_key_id,
        } => {
            let assertion = sign_assertion(
                client_email,
                private_key,
                private_key_id.as_deref(),
                token_uri,
                scopes,
                subject,
                now,
            )?;
            vec![
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer".into()),
                ("assertion", assertion),
            ]
        }
        CredentialFile::AuthorizedUser {
            client_id,
            client_secret,
            refresh_token,
        } => vec![
            ("grant_type", "refresh_token".into()),
            ("client_id", client_id.clone()),
            ("client_secret", client_secret.expose_secret().to_string()),
            ("refresh_token", refresh_token.expose_secret().to_string()),
        ],
    };
    post_form(http, token_uri, &form).await
}

#[allow(clippy::too_many_arguments)]
fn sign_assertion(
    email: &str,
    key: &SecretString,
    key_id: Option<&str>,
    token_uri: &str,
    scopes: &[String],
    subject: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, GrantFailure> {
    let iat = now.timestamp();
    let claims = Claims {
        iss: email,
        scope: scopes.join(" "),
        aud: token_uri,
        iat,
        exp: iat + 3600,
        sub: subject,
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = key_id.map(str::to_string);
    let key = EncodingKey::from_rsa_pem(key.expose_secret().as_bytes())
        .map_err(|_| GrantFailure::BadKey("`private_key` is not an RSA private key in PEM form".into()))?;
    jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|e| GrantFailure::BadKey(format!("cannot sign with `private_key`: {e}")))
}

/// Posts a form to the token endpoint and classifies the answer. Shared with the login
/// flow's code exchange.
pub async fn post_form(
    http: &reqwest::Client,
    token_uri: &str,
    form: &[(&str, String)],
) -> Result<Granted, GrantFailure> {
    let (status, body) = post_raw(http, token_uri, form).await?;
    parse_granted(status, &body)
}

/// Posts and returns status and body; a failure to get an answer is transient.
pub async fn post_raw(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, String)],
) -> Result<(StatusCode, Value), GrantFailure> {
    // `without_url`: errors must not carry anything but the endpoint's words.
    let resp = http
        .post(url)
        .form(form)
        .send()
        .await
        .map_err(|e| GrantFailure::Transient(describe(&e, url)))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| GrantFailure::Transient(describe(&e, url)))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(v) => Ok((status, v)),
        Err(_) if status.is_success() => Err(GrantFailure::Transient(format!(
            "{url} answered {status} with a body that is not JSON"
        ))),
        Err(_) => Ok((status, Value::Null)),
    }
}

fn describe(e: &reqwest::Error, url: &str) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        format!("{url}: {kind}")
    } else {
        format!("{url}: {kind} ({detail})")
    }
}

fn parse_granted(status: StatusCode, body: &Value) -> Result<Granted, GrantFailure> {
    if !status.is_success() {
        return Err(classify(status, body));
    }
    let token = body
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty());
    let expires_in = body.get("expires_in").and_then(number);
    match (token, expires_in) {
        (Some(t), Some(e)) if e > 0 => Ok(Granted {
            access_token: SecretString::from(t.to_string()),
            expires_in: e,
        }),
        _ => Err(GrantFailure::Transient(format!(
            "the token endpoint answered {status} without access_token and expires_in"
        ))),
    }
}

/// Google sends some numbers as strings (tokeninfo's `expires_in`): accept both.
pub fn number(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// What a refusal means, from the status and Google's `{error, error_description}`.
pub fn classify(status: StatusCode, body: &Value) -> GrantFailure {
    let error = body.get("error").and_then(Value::as_str).unwrap_or("");
    let description = body.get("error_description").and_then(Value::as_str).unwrap_or("");
    let said = match (error, description) {
        ("", "") => format!("HTTP {status}"),
        (e, "") => format!("{e} (HTTP {})", status.as_u16()),
        (e, d) => format!("{e}: {d} (HTTP {})", status.as_u16()),
    };
    let transient =
        status == StatusCode::REQUEST_TIMEOUT || status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
    if transient {
        return GrantFailure::Transient(said);
    }
    match error {
        "invalid_grant" if description.contains("iat") || description.contains("timeframe") => {
            GrantFailure::Clock(said)
        }
        "invalid_grant" | "invalid_client" | "unauthorized_client" => GrantFailure::Credential(said),
        _ if status == StatusCode::UNAUTHORIZED => GrantFailure::Credential(said),
        _ => GrantFailure::Refused(said),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refusals_are_classified() {
        let body = |e: &str, d: &str| json!({"error": e, "error_description": d});
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, &body("invalid_grant", "Token has been expired or revoked.")),
            GrantFailure::Credential(m) if m == "invalid_grant: Token has been expired or revoked. (HTTP 400)"
        ));
        assert!(matches!(
            classify(StatusCode::UNAUTHORIZED, &body("invalid_client", "Unauthorized")),
            GrantFailure::Credential(_)
        ));
        assert!(matches!(
            classify(StatusCode::UNAUTHORIZED, &Value::Null),
            GrantFailure::Credential(_)
        ));
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, &body("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")),
            GrantFailure::Clock(_)
        ));
        for s in [408, 429, 500, 502, 503] {
            assert!(
                matches!(
                    classify(StatusCode::from_u16(s).unwrap(), &Value::Null),
                    GrantFailure::Transient(_)
                ),
                "{s}"
            );
        }
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, &body("access_denied", "no")),
            GrantFailure::Refused(_)
        ));
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, &body("invalid_scope", "bad")),
            GrantFailure::Refused(_)
        ));
    }

    #[test]
    fn numbers_may_be_strings() {
        assert_eq!(number(&json!(3599)), Some(3599));
        assert_eq!(number(&json!("3599")), Some(3599));
        assert_eq!(number(&json!("soon")), None);
    }
}
