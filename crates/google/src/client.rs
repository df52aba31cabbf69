//! One Google client for every API jada calls (Sheets, Drive, Gmail): one credential, one
//! request path. Every call gets its token from the token service; 429, 408, 5xx and
//! Gmail's 403 rate-limit answers are retried with [`jada_core::Backoff`] (honouring
//! `Retry-After`); a 401 refreshes the token once and retries; any other refusal is a
//! [`GoogleError`] naming the API, the resource and the credential. The per-API modules
//! (`sheets`, `drive`, `gmail`) only build requests and read answers.

use std::sync::Arc;
use std::time::Duration;

use jada_core::{Backoff, Fault, Recovery};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::auth::{classify_api_refusal, AuthError, TokenService};

/// Which Google API a call went to: errors name it, and it decides their advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Sheets,
    Drive,
    Gmail,
}

impl Api {
    pub fn name(&self) -> &'static str {
        match self {
            Api::Sheets => "Sheets",
            Api::Drive => "Drive",
            Api::Gmail => "Gmail",
        }
    }

    /// What to do about a 403 on this API.
    fn permission_fix(&self) -> &'static str {
        match self {
            Api::Sheets => "share the spreadsheet with the credential's account as an editor",
            Api::Drive => {
                "share the file or folder with the credential's account (as an editor to upload or share)"
            }
            Api::Gmail => {
                "let the credential act for the mailbox (a service account needs domain-wide delegation and `subject` set to the mailbox)"
            }
        }
    }

    /// What to check after a 404 on this API.
    fn not_found_fix(&self) -> &'static str {
        match self {
            Api::Sheets => "check `spreadsheet_id` in jada.toml",
            Api::Drive => "check the folder or file id (`folder_id`, `file_id`) in jada.toml",
            Api::Gmail => "check the mailbox (the credential's `subject`) and the message id",
        }
    }
}

impl std::fmt::Display for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a Google API call failed, in the operator's words: the API, the resource (a
/// spreadsheet, a Drive file or folder, a Gmail message) and the credential.
#[derive(Debug, thiserror::Error)]
pub enum GoogleError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{api}: credential `{credential}` may not use {resource} ({detail}): {}", .api.permission_fix())]
    Permission {
        api: Api,
        resource: String,
        credential: String,
        detail: String,
    },
    #[error("{api}: {resource} does not exist (or is not visible to credential `{credential}`): {}", .api.not_found_fix())]
    NotFound {
        api: Api,
        resource: String,
        credential: String,
    },
    #[error("{api} refused the request on {resource} (credential `{credential}`): {detail}")]
    Rejected {
        api: Api,
        resource: String,
        credential: String,
        detail: String,
    },
    #[error("{api} did not answer for {resource} after {attempts} attempt(s): {last}")]
    Transient {
        api: Api,
        resource: String,
        attempts: u32,
        last: String,
    },
}

impl Fault for GoogleError {
    fn recovery(&self) -> Recovery {
        match self {
            GoogleError::Auth(e) => e.recovery(),
            GoogleError::Transient { .. } => Recovery::Retry,
            _ => Recovery::Operator,
        }
    }

    fn needs_reauth(&self) -> Option<&str> {
        match self {
            GoogleError::Auth(e) => e.needs_reauth(),
            _ => None,
        }
    }
}

/// The APIs' base URLs (`[google] sheets_url`, `drive_url`, `gmail_url`): Google's in
/// production, the emulator's in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub sheets: String,
    pub drive: String,
    pub gmail: String,
}

impl Endpoints {
    /// Every API at one base URL (the Google emulator serves them all).
    pub fn all_at(base: &str) -> Endpoints {
        Endpoints {
            sheets: base.to_string(),
            drive: base.to_string(),
            gmail: base.to_string(),
        }
    }
}

/// The transport every API module uses: one credential's tokens, retries and errors.
#[derive(Clone)]
pub struct GoogleClient {
    http: reqwest::Client,
    urls: Endpoints,
    tokens: Arc<TokenService>,
    credential: String,
    /// Attempts for 429/5xx/connection failures (default 6).
    pub attempts: u32,
    /// First backoff delay, doubled per attempt with jitter (default 1 s, at most 64 s).
    pub backoff: Duration,
}

impl GoogleClient {
    pub fn new(urls: &Endpoints, tokens: Arc<TokenService>, credential: &str) -> Self {
        let trim = |u: &str| u.trim_end_matches('/').to_string();
        GoogleClient {
            http: tokens.http().clone(),
            urls: Endpoints {
                sheets: trim(&urls.sheets),
                drive: trim(&urls.drive),
                gmail: trim(&urls.gmail),
            },
            tokens,
            credential: credential.to_string(),
            attempts: 6,
            backoff: Duration::from_secs(1),
        }
    }

    pub fn credential(&self) -> &str {
        &self.credential
    }

    /// The base URLs (without a trailing `/`).
    pub(crate) fn urls(&self) -> &Endpoints {
        &self.urls
    }

    /// One JSON call with retries, using a token for the first of `scopes` the
    /// credential is configured for.
    pub(crate) async fn call(
        &self,
        api: Api,
        resource: &str,
        scopes: &[&str],
        method: Method,
        url: String,
        body: Option<Value>,
    ) -> Result<Value, GoogleError> {
        let (_, _, body) = self
            .send(api, resource, scopes, |http, token| {
                let req = http.request(method.clone(), &url).bearer_auth(token);
                match &body {
                    Some(b) => req.json(b),
                    None => req,
                }
            })
            .await?;
        Ok(json_of(&body))
    }

    /// Sends the request `build` makes (given a token), retrying 429/5xx and connection
    /// failures with backoff, refreshing the token once on 401, and naming the API,
    /// `resource` and the credential on any other refusal. A 308 (a resumable upload's
    /// "continue") is a success.
    pub(crate) async fn send(
        &self,
        api: Api,
        resource: &str,
        scopes: &[&str],
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, Vec<u8>), GoogleError> {
        let scope = scopes
            .iter()
            .find(|s| self.tokens.has_scope(&self.credential, s))
            .copied()
            .unwrap_or(scopes[0]);
        let mut refreshed = false;
        let mut last = String::new();
        for attempt in 1..=self.attempts.max(1) {
            let token = self.tokens.get(&self.credential, &[scope]).await?;
            let (status, headers, body) = match build(&self.http, token.secret()).send().await {
                Err(e) => {
                    last = e.without_url().to_string();
                    self.pause(attempt, None).await;
                    continue;
                }
                Ok(resp) => {
                    let (status, headers) = (resp.status(), resp.headers().clone());
                    (
                        status,
                        headers,
                        resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
                    )
                }
            };
            let v = json_of(&body);
            let retry_after = headers
                .get("retry-after")
                .and_then(|h| h.to_str().ok())
                .and_then(|s| s.parse::<u64>().ok())
                .map(Duration::from_secs);
            let message = v["error"]["message"].as_str().unwrap_or("").to_string();
            match status {
                s if s.is_success() || s == StatusCode::PERMANENT_REDIRECT => return Ok((status, headers, body)),
                // Gmail also answers a burst with 403 and a `usageLimits` reason: wait and retry.
                StatusCode::FORBIDDEN if rate_limited(&v) => last = format!("HTTP 403: {message}"),
                StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => {
                    last = format!("HTTP {}: {message}", status.as_u16())
                }
                s if s.is_server_error() => last = format!("HTTP {}: {message}", s.as_u16()),
                StatusCode::UNAUTHORIZED if !refreshed => {
                    // The token was revoked or expired early: one fresh token, one retry.
                    refreshed = true;
                    self.tokens.refresh(&self.credential).await?;
                    continue;
                }
                StatusCode::FORBIDDEN => {
                    return Err(match classify_api_refusal(&self.credential, 403, &v) {
                        Some(e @ AuthError::InsufficientScope { .. }) => GoogleError::Auth(e),
                        _ => GoogleError::Permission {
                            api,
                            resource: resource.into(),
                            credential: self.credential.clone(),
                            detail: message,
                        },
                    })
                }
                StatusCode::NOT_FOUND => {
                    return Err(GoogleError::NotFound {
                        api,
                        resource: resource.into(),
                        credential: self.credential.clone(),
                    })
                }
                _ => {
                    return Err(GoogleError::Rejected {
                        api,
                        resource: resource.into(),
                        credential: self.credential.clone(),
                        detail: format!("HTTP {}: {message}", status.as_u16()),
                    })
                }
            }
            if attempt < self.attempts {
                tracing::warn!(api = api.name(), %resource, attempt, error = %last, "Google API call failed; backing off");
                self.pause(attempt, retry_after).await;
            }
        }
        Err(GoogleError::Transient {
            api,
            resource: resource.into(),
            attempts: self.attempts,
            last,
        })
    }

    async fn pause(&self, attempt: u32, retry_after: Option<Duration>) {
        let backoff = Backoff::new(self.backoff, Duration::from_secs(64));
        tokio::time::sleep(backoff.delay(attempt, rand::random(), retry_after)).await;
    }
}

/// A 403 that means "slow down" (`rateLimitExceeded`, `userRateLimitExceeded`), not "no".
fn rate_limited(v: &Value) -> bool {
    v["error"]["errors"].as_array().into_iter().flatten().any(|e| {
        matches!(
            e["reason"].as_str(),
            Some("rateLimitExceeded" | "userRateLimitExceeded")
        )
    })
}

/// A body as JSON (`Null` when it is not: errors without a body, media downloads).
pub(crate) fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

/// Percent-encodes a path or query part (tab names have spaces, quotes, `!`).
pub(crate) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
