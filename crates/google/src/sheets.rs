//! The Sheets API v4 calls jada uses: `spreadsheets.get` (tabs), `spreadsheets.batchUpdate`
//! (add a tab), `values.batchGet`, `values.batchUpdate`, `values.append`. Every call gets
//! its token from the token service; 429 and 5xx are retried with jittered exponential
//! backoff (honouring `Retry-After`); a 401 refreshes the token once and retries; a 403
//! or 404 is an error naming the spreadsheet and the credential.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::auth::{classify_api_refusal, AuthError, TokenService};

pub const SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";

/// Scopes any one of which lets a token write a spreadsheet.
pub const WRITE_SCOPES: &[&str] = &[SCOPE, "https://www.googleapis.com/auth/drive"];
/// Scopes any one of which lets a token read a spreadsheet.
pub const READ_SCOPES: &[&str] = &[
    SCOPE,
    "https://www.googleapis.com/auth/spreadsheets.readonly",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.readonly",
];
/// Scopes any one of which lets a token list Drive files.
pub const DRIVE_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.readonly",
    "https://www.googleapis.com/auth/drive.metadata.readonly",
];

/// Why a Sheets call failed, in the operator's words.
#[derive(Debug, thiserror::Error)]
pub enum SheetsError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("credential `{credential}` may not open spreadsheet {spreadsheet} ({detail}): share the spreadsheet with the credential's account as an editor")]
    Permission {
        spreadsheet: String,
        credential: String,
        detail: String,
    },
    #[error("spreadsheet {spreadsheet} does not exist (or is not visible to credential `{credential}`): check `spreadsheet_id` in jada.toml")]
    NotFound { spreadsheet: String, credential: String },
    #[error("Sheets refused the request on spreadsheet {spreadsheet}: {detail}")]
    Rejected { spreadsheet: String, detail: String },
    #[error("Sheets did not answer for spreadsheet {spreadsheet} after {attempts} attempt(s): {last}")]
    Transient {
        spreadsheet: String,
        attempts: u32,
        last: String,
    },
}

impl SheetsError {
    /// Whether the failure needs an operator (re-auth, sharing, configuration) rather
    /// than time.
    pub fn needs_operator(&self) -> bool {
        match self {
            SheetsError::Auth(e) => e.needs_operator(),
            SheetsError::Transient { .. } => false,
            _ => true,
        }
    }
}

/// A tab of a spreadsheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TabInfo {
    pub sheet_id: i64,
    pub title: String,
}

pub struct SheetsClient {
    http: reqwest::Client,
    base_url: String,
    tokens: Arc<TokenService>,
    credential: String,
    /// Attempts for 429/5xx/connection failures (default 6).
    pub attempts: u32,
    /// First backoff delay, doubled per attempt with jitter (default 1 s).
    pub backoff: Duration,
}

impl SheetsClient {
    pub fn new(base_url: &str, tokens: Arc<TokenService>, credential: &str) -> Self {
        SheetsClient {
            http: tokens.http().clone(),
            base_url: base_url.trim_end_matches('/').to_string(),
            tokens,
            credential: credential.to_string(),
            attempts: 6,
            backoff: Duration::from_secs(1),
        }
    }

    pub fn credential(&self) -> &str {
        &self.credential
    }

    fn url(&self, id: &str, tail: &str) -> String {
        format!("{}/v4/spreadsheets/{}{tail}", self.base_url, enc(id))
    }

    /// The spreadsheet's tabs, in order.
    pub async fn tabs(&self, id: &str) -> Result<Vec<TabInfo>, SheetsError> {
        let v = self
            .call(Method::GET, self.url(id, "?fields=sheets.properties"), None, id)
            .await?;
        Ok(v["sheets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| TabInfo {
                        sheet_id: s["properties"]["sheetId"].as_i64().unwrap_or(0),
                        title: s["properties"]["title"].as_str().unwrap_or("").to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Adds a tab.
    pub async fn add_tab(&self, id: &str, title: &str) -> Result<(), SheetsError> {
        let body = json!({"requests": [{"addSheet": {"properties": {"title": title}}}]});
        self.call(Method::POST, self.url(id, ":batchUpdate"), Some(body), id)
            .await
            .map(|_| ())
    }

    /// Reads one range (A1) as text (`values.get`).
    pub async fn get(&self, id: &str, range: &str) -> Result<Vec<Vec<String>>, SheetsError> {
        let v = self
            .call(Method::GET, self.url(id, &format!("/values/{}", enc(range))), None, id)
            .await?;
        Ok(grid(&v["values"]))
    }

    /// Reads ranges (A1) as text, one grid per range; rows and trailing cells Google
    /// omits as empty come back shorter, as Google sends them.
    pub async fn batch_get(&self, id: &str, ranges: &[String]) -> Result<Vec<Vec<Vec<String>>>, SheetsError> {
        let query: String = ranges
            .iter()
            .map(|r| format!("ranges={}", enc(r)))
            .collect::<Vec<_>>()
            .join("&");
        let v = self
            .call(
                Method::GET,
                self.url(id, &format!("/values:batchGet?{query}")),
                None,
                id,
            )
            .await?;
        let grids = v["valueRanges"].as_array().cloned().unwrap_or_default();
        Ok(grids.iter().map(|g| grid(&g["values"])).collect())
    }

    /// Reads ranges with their typed values: numbers as numbers and dates as Sheets
    /// serial numbers (days since 1899-12-30), text as text.
    pub async fn batch_get_typed(&self, id: &str, ranges: &[String]) -> Result<Vec<Vec<Vec<Value>>>, SheetsError> {
        let mut query: Vec<String> = ranges.iter().map(|r| format!("ranges={}", enc(r))).collect();
        query.push("valueRenderOption=UNFORMATTED_VALUE&dateTimeRenderOption=SERIAL_NUMBER".into());
        let v = self
            .call(
                Method::GET,
                self.url(id, &format!("/values:batchGet?{}", query.join("&"))),
                None,
                id,
            )
            .await?;
        let grids = v["valueRanges"].as_array().cloned().unwrap_or_default();
        Ok(grids
            .iter()
            .map(|g| {
                g["values"]
                    .as_array()
                    .map(|rows| rows.iter().map(|r| r.as_array().cloned().unwrap_or_default()).collect())
                    .unwrap_or_default()
            })
            .collect())
    }

    /// Writes cells, each `(range, rows)`, in one request. Returns the cells updated.
    pub async fn batch_update(&self, id: &str, data: &[(String, Vec<Vec<String>>)]) -> Result<u64, SheetsError> {
        if data.is_empty() {
            return Ok(0);
        }
        let data: Vec<Value> = data.iter().map(|(r, v)| json!({"range": r, "values": v})).collect();
        let body = json!({"valueInputOption": "RAW", "data": data});
        let v = self
            .call(Method::POST, self.url(id, "/values:batchUpdate"), Some(body), id)
            .await?;
        Ok(v["totalUpdatedCells"].as_u64().unwrap_or(0))
    }

    /// Appends rows after the table found in `range`, inserting rows.
    pub async fn append(&self, id: &str, range: &str, rows: &[Vec<String>]) -> Result<(), SheetsError> {
        if rows.is_empty() {
            return Ok(());
        }
        let tail = format!(
            "/values/{}:append?valueInputOption=RAW&insertDataOption=INSERT_ROWS",
            enc(range)
        );
        self.call(Method::POST, self.url(id, &tail), Some(json!({"values": rows})), id)
            .await
            .map(|_| ())
    }

    async fn call(&self, method: Method, url: String, body: Option<Value>, id: &str) -> Result<Value, SheetsError> {
        let scopes = if method == Method::GET {
            READ_SCOPES
        } else {
            WRITE_SCOPES
        };
        self.call_scoped(method, url, body, id, scopes).await
    }

    /// One API call with retries, using a token for the first of `scopes` the
    /// credential is configured for.
    pub(crate) async fn call_scoped(
        &self,
        method: Method,
        url: String,
        body: Option<Value>,
        id: &str,
        scopes: &[&str],
    ) -> Result<Value, SheetsError> {
        let (_, _, body) = self
            .send(id, scopes, |http, token| {
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
    /// failures with backoff, refreshing the token once on 401, and naming `id` and the
    /// credential on 403/404. A 308 (a resumable upload's "continue") is a success.
    pub(crate) async fn send(
        &self,
        id: &str,
        scopes: &[&str],
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, Vec<u8>), SheetsError> {
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
                .and_then(|s| s.parse::<u64>().ok());
            let message = v["error"]["message"].as_str().unwrap_or("").to_string();
            match status {
                s if s.is_success() || s == StatusCode::PERMANENT_REDIRECT => return Ok((status, headers, body)),
                // Gmail also answers a burst with 403 and a `usageLimits` reason: wait and retry.
                StatusCode::FORBIDDEN if rate_limited(&v) => last = format!("HTTP 403: {message}"),
                StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => {
                    last = format!("HTTP {}: {message}", s_u16(status))
                }
                s if s.is_server_error() => last = format!("HTTP {}: {message}", s_u16(status)),
                StatusCode::UNAUTHORIZED if !refreshed => {
                    // The token was revoked or expired early: one fresh token, one retry.
                    refreshed = true;
                    self.tokens.refresh(&self.credential).await?;
                    continue;
                }
                StatusCode::FORBIDDEN => {
                    return Err(match classify_api_refusal(&self.credential, 403, &v) {
                        Some(e @ AuthError::InsufficientScope { .. }) => SheetsError::Auth(e),
                        _ => SheetsError::Permission {
                            spreadsheet: id.into(),
                            credential: self.credential.clone(),
                            detail: message,
                        },
                    })
                }
                StatusCode::NOT_FOUND => {
                    return Err(SheetsError::NotFound {
                        spreadsheet: id.into(),
                        credential: self.credential.clone(),
                    })
                }
                _ => {
                    return Err(SheetsError::Rejected {
                        spreadsheet: id.into(),
                        detail: format!("HTTP {}: {message}", s_u16(status)),
                    })
                }
            }
            if attempt < self.attempts {
                tracing::warn!(spreadsheet = %id, attempt, error = %last, "Google API call failed; backing off");
                self.pause(attempt, retry_after).await;
            }
        }
        Err(SheetsError::Transient {
            spreadsheet: id.into(),
            attempts: self.attempts,
            last,
        })
    }

    async fn pause(&self, attempt: u32, retry_after: Option<u64>) {
        let exp = self
            .backoff
            .saturating_mul(1 << (attempt - 1).min(6))
            .mul_f64(rand::rng().random_range(0.5..1.5));
        let wait = retry_after
            .map(Duration::from_secs)
            .map_or(exp, |r| r.max(exp))
            .min(Duration::from_secs(64));
        tokio::time::sleep(wait).await;
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

fn s_u16(s: StatusCode) -> u16 {
    s.as_u16()
}

fn grid(v: &Value) -> Vec<Vec<String>> {
    v.as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    r.as_array()
                        .map(|c| {
                            c.iter()
                                .map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string()))
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Percent-encodes a path or query part (tab names have spaces, quotes, `!`).
pub(crate) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A1 helpers for building ranges.
pub mod a1 {
    /// Column index (0-based) to letters: 0 -> A, 26 -> AA.
    pub fn col(mut c: usize) -> String {
        let mut s = Vec::new();
        loop {
            s.push(b'A' + (c % 26) as u8);
            if c < 26 {
                break;
            }
            c = c / 26 - 1;
        }
        s.reverse();
        String::from_utf8(s).expect("ASCII letters")
    }

    /// A tab name quoted for A1 (`'Port Sheet'`).
    pub fn tab(name: &str) -> String {
        format!("'{}'", name.replace('\'', "''"))
    }

    /// `'Tab'!C7` for a 0-based row and column.
    pub fn cell(tab_name: &str, row: usize, col_idx: usize) -> String {
        format!("{}!{}{}", tab(tab_name), col(col_idx), row + 1)
    }
}
