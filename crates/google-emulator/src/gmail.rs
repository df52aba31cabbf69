//! Gmail: `users.messages.send` (a `raw` RFC 2822 message, base64url), `messages.list`
//! with the query operators jada uses (`subject:`, `in:`/`label:`, `newer_than:`,
//! `older_than:`, `from:`, `to:`, bare words), and `messages.get` in the `metadata`,
//! `minimal`, `full` and `raw` formats. Sending is rate limited per user (429
//! `rateLimitExceeded`, as Gmail answers a burst) when a limit is set.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use mailparse::MailHeaderMap;
use serde_json::{json, Value};

use crate::bearer;
use crate::state::{random, State};

const SEND: &[&str] = &[
    "https://www.googleapis.com/auth/gmail.send",
    "https://www.googleapis.com/auth/gmail.compose",
    "https://www.googleapis.com/auth/gmail.modify",
    "https://mail.google.com/",
];
const READ: &[&str] = &[
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/gmail.modify",
    "https://www.googleapis.com/auth/gmail.metadata",
    "https://mail.google.com/",
];
const METADATA_ONLY: &str = "https://www.googleapis.com/auth/gmail.metadata";

/// A message in a mailbox.
#[derive(Debug, Clone)]
pub struct GmailMessage {
    pub id: String,
    pub thread_id: String,
    pub raw: Vec<u8>,
    pub labels: Vec<String>,
    pub internal_date: DateTime<Utc>,
}

impl GmailMessage {
    pub fn headers(&self) -> Vec<(String, String)> {
        mailparse::parse_headers(&self.raw)
            .map(|(hs, _)| hs.iter().map(|h| (h.get_key(), h.get_value())).collect())
            .unwrap_or_default()
    }

    fn header(&self, name: &str) -> String {
        mailparse::parse_headers(&self.raw)
            .ok()
            .and_then(|(hs, _)| hs.get_all_values(name).into_iter().reduce(|a, b| format!("{a}, {b}")))
            .unwrap_or_default()
    }
}

/// Mailboxes by user, and the send limit.
#[derive(Debug, Default)]
pub struct Gmail {
    pub mailboxes: HashMap<String, Vec<GmailMessage>>,
    /// Sends a second per user before 429 (0: no limit).
    pub sends_per_second: usize,
    pub recent_sends: HashMap<String, VecDeque<DateTime<Utc>>>,
}

fn error(code: u16, message: &str, reason: &str, domain: &str) -> Response {
    let http = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({"error": {
        "code": code,
        "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason}],
    }});
    (http, Json(body)).into_response()
}

/// `users/{userId}`: "me" or the token's own account; anyone else is refused as Gmail does.
fn mailbox_owner(user: &str, account: &str) -> Result<String, Response> {
    if user == "me" || user.eq_ignore_ascii_case(account) {
        Ok(account.to_lowercase())
    } else {
        Err(error(
            403,
            &format!("Delegation denied for {account}"),
            "forbidden",
            "global",
        ))
    }
}

/// The token's grant and whose mailbox `users/{userId}` names, or Google's refusal.
fn authorize(
    state: &State,
    headers: &HeaderMap,
    user: &str,
    scopes: &[&str],
) -> Result<(crate::state::IssuedToken, String), Response> {
    let grant = bearer::check(state, headers, scopes)?;
    let owner = mailbox_owner(user, &grant.account)?;
    Ok((grant, owner))
}

/// `POST /gmail/v1/users/{userId}/messages/send` with `{"raw": "..."}`.
pub async fn send(
    AxState(state): AxState<Arc<State>>,
    Path(user): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    state.count("gmail.send");
    let (_, owner) = match authorize(&state, &headers, &user, SEND) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Some(status) = state.next_api_fault() {
        return error(status, "Backend Error", "backendError", "global");
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(raw) = v["raw"].as_str() else {
        return error(
            400,
            "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
            "invalidArgument",
            "global",
        );
    };
    // Gmail accepts base64url with or without padding.
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw.trim_end_matches('='));
    let Ok(raw) = decoded else {
        return error(400, "Invalid value for ByteString", "invalidArgument", "global");
    };
    let Ok((hs, _)) = mailparse::parse_headers(&raw) else {
        return error(400, "Invalid RFC 2822 message", "invalidArgument", "global");
    };
    let recipients = ["To", "Cc", "Bcc"]
        .iter()
        .flat_map(|h| hs.get_all_values(h))
        .filter(|v| !v.trim().is_empty())
        .count();
    if recipients == 0 {
        return error(400, "Recipient address required", "invalidArgument", "global");
    }
    let now = state.now();
    let mut inner = state.lock();
    let limit = inner.gmail.sends_per_second;
    if limit > 0 {
        let log = inner.gmail.recent_sends.entry(owner.clone()).or_default();
        while log.front().is_some_and(|t| now - *t >= Duration::seconds(1)) {
            log.pop_front();
        }
        if log.len() >= limit {
            drop(inner);
            state.count("gmail.rate_limited");
            return error(
                429,
                "User-rate limit exceeded.  Retry after a moment",
                "rateLimitExceeded",
                "usageLimits",
            );
        }
        log.push_back(now);
    }
    let id = format!("{:016x}", rand::random::<u64>());
    let msg = GmailMessage {
        id: id.clone(),
        thread_id: id.clone(),
        raw,
        labels: vec!["SENT".into()],
        internal_date: now,
    };
    inner.gmail.mailboxes.entry(owner).or_default().push(msg);
    Json(json!({"id": id, "threadId": id, "labelIds": ["SENT"]})).into_response()
}

/// The query parameters, keeping repeats (`metadataHeaders=To&metadataHeaders=Cc`).
fn params(q: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(ps: &'a [(String, String)], key: &str) -> Option<&'a str> {
    ps.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `GET /gmail/v1/users/{userId}/messages?q=...&maxResults=&pageToken=`: newest first.
pub async fn list(
    AxState(state): AxState<Arc<State>>,
    Path(user): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    state.count("gmail.list");
    let (grant, owner) = match authorize(&state, &headers, &user, READ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let ps = params(raw);
    let q = param(&ps, "q").unwrap_or("");
    if !q.is_empty() && grant.scopes.iter().all(|s| s == METADATA_ONLY) {
        return error(
            403,
            "Metadata scope does not support 'q' parameter",
            "forbidden",
            "global",
        );
    }
    let terms = match parse_query(q) {
        Ok(t) => t,
        Err(m) => return error(400, &m, "invalidArgument", "global"),
    };
    let max = param(&ps, "maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 500);
    let start = param(&ps, "pageToken")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let now = state.now();
    let inner = state.lock();
    let mut found: Vec<&GmailMessage> = inner
        .gmail
        .mailboxes
        .get(&owner)
        .map(|b| b.iter().filter(|m| terms.iter().all(|t| t.matches(m, now))).collect())
        .unwrap_or_default();
    found.sort_by_key(|m| std::cmp::Reverse(m.internal_date));
    let total = found.len();
    let page: Vec<Value> = found
        .iter()
        .skip(start)
        .take(max)
        .map(|m| json!({"id": m.id, "threadId": m.thread_id}))
        .collect();
    // Gmail leaves `messages` out entirely when nothing matched.
    let mut out = json!({"resultSizeEstimate": total});
    if !page.is_empty() {
        out["messages"] = Value::Array(page);
    }
    if start + max < total {
        out["nextPageToken"] = json!((start + max).to_string());
    }
    Json(out).into_response()
}

/// `GET /gmail/v1/users/{userId}/messages/{id}?format=metadata&metadataHeaders=To`.
pub async fn get(
    AxState(state): AxState<Arc<State>>,
    Path((user, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    state.count("gmail.get");
    let (grant, owner) = match authorize(&state, &headers, &user, READ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let ps = params(raw);
    let format = param(&ps, "format").unwrap_or("full");
    let metadata_only = grant.scopes.iter().all(|s| s == METADATA_ONLY);
    if metadata_only && !matches!(format, "metadata" | "minimal") {
        return error(403, "Metadata scope doesn't allow format FULL", "forbidden", "global");
    }
    let inner = state.lock();
    let Some(m) = inner
        .gmail
        .mailboxes
        .get(&owner)
        .and_then(|b| b.iter().find(|m| m.id == id))
    else {
        return error(404, "Requested entity was not found.", "notFound", "global");
    };
    let mut out = json!({
        "id": m.id, "threadId": m.thread_id, "labelIds": m.labels,
        "snippet": "", "sizeEstimate": m.raw.len(), "historyId": "1",
        "internalDate": m.internal_date.timestamp_millis().to_string(),
    });
    let wanted: Vec<&str> = ps
        .iter()
        .filter(|(k, _)| k == "metadataHeaders")
        .map(|(_, v)| v.as_str())
        .collect();
    match format {
        "minimal" => {}
        "raw" => out["raw"] = json!(base64::engine::general_purpose::URL_SAFE.encode(&m.raw)),
        "metadata" | "full" => {
            let hs: Vec<Value> = m
                .headers()
                .into_iter()
                .filter(|(k, _)| {
                    format == "full" || wanted.is_empty() || wanted.iter().any(|w| w.eq_ignore_ascii_case(k))
                })
                .map(|(k, v)| json!({"name": k, "value": v}))
                .collect();
            let parsed = mailparse::parse_mail(&m.raw);
            let mime = parsed
                .as_ref()
                .map(|p| p.ctype.mimetype.clone())
                .unwrap_or_else(|_| "text/plain".into());
            out["payload"] = match (&parsed, format) {
                (Ok(p), "full") => {
                    let mut payload = part(p, String::new());
                    payload["headers"] = json!(hs);
                    payload
                }
                _ => json!({"partId": "", "mimeType": mime, "filename": "", "headers": hs}),
            };
        }
        other => {
            return error(
                400,
                &format!("Invalid value at 'format' ({other})"),
                "invalidArgument",
                "global",
            )
        }
    }
    Json(out).into_response()
}

/// One MIME part as Gmail's `format=full` gives it: `partId`, `mimeType`, `filename`,
/// `headers`, `body` — `size` and base64url `data` (the part's bytes in its own charset,
/// transfer encoding undone), or an `attachmentId` in place of `data` for an attachment —
/// and its `parts`.
fn part(p: &mailparse::ParsedMail, id: String) -> Value {
    let headers: Vec<Value> = p
        .headers
        .iter()
        .map(|h| json!({"name": h.get_key(), "value": h.get_value()}))
        .collect();
    let disposition = p.get_content_disposition();
    let filename = disposition
        .params
        .get("filename")
        .or_else(|| p.ctype.params.get("name"))
        .cloned()
        .unwrap_or_default();
    let raw = p.get_body_raw().unwrap_or_default();
    let body = if !p.subparts.is_empty() {
        json!({"size": 0})
    } else if !filename.is_empty() {
        json!({"size": raw.len(), "attachmentId": format!("att-{id}")})
    } else {
        json!({"size": raw.len(), "data": base64::engine::general_purpose::URL_SAFE.encode(&raw)})
    };
    let parts: Vec<Value> = p
        .subparts
        .iter()
        .enumerate()
        .map(|(i, sub)| {
            part(
                sub,
                if id.is_empty() {
                    i.to_string()
                } else {
                    format!("{id}.{i}")
                },
            )
        })
        .collect();
    let mut out = json!({"partId": id, "mimeType": p.ctype.mimetype, "filename": filename,
                         "headers": headers, "body": body});
    if !parts.is_empty() {
        out["parts"] = json!(parts);
    }
    out
}

/// One term of a Gmail search.
#[derive(Debug)]
enum Term {
    Subject(String),
    Label(String),
    From(String),
    To(String),
    NewerThan(Duration),
    OlderThan(Duration),
    Text(String),
}

impl Term {
    fn matches(&self, m: &GmailMessage, now: DateTime<Utc>) -> bool {
        let has = |hay: String, needle: &str| hay.to_lowercase().contains(needle);
        match self {
            Term::Subject(s) => has(m.header("Subject"), s),
            Term::Label(l) => m.labels.iter().any(|x| x.eq_ignore_ascii_case(l)),
            Term::From(s) => has(m.header("From"), s),
            Term::To(s) => has(format!("{} {} {}", m.header("To"), m.header("Cc"), m.header("Bcc")), s),
            Term::NewerThan(d) => m.internal_date > now - *d,
            Term::OlderThan(d) => m.internal_date < now - *d,
            Term::Text(s) => {
                let body = mailparse::parse_mail(&m.raw)
                    .ok()
                    .and_then(|p| p.get_body().ok())
                    .unwrap_or_default();
                has(format!("{} {body}", m.header("Subject")), s)
            }
        }
    }
}

/// Splits a query into terms: `op:value`, `op:"quoted value"`, bare words.
fn parse_query(q: &str) -> Result<Vec<Term>, String> {
    let mut terms = Vec::new();
    let mut rest = q.trim();
    while !rest.is_empty() {
        let (word, tail) = next_word(rest);
        rest = tail.trim_start();
        let (op, value) = match word.split_once(':') {
            Some((op, v)) => (op.to_lowercase(), v.trim_matches('"').to_lowercase()),
            None => (String::new(), word.trim_matches('"').to_lowercase()),
        };
        terms.push(match op.as_str() {
            "subject" => Term::Subject(value),
            "in" | "label" => Term::Label(value),
            "from" => Term::From(value),
            "to" => Term::To(value),
            "newer_than" => Term::NewerThan(age(&value)?),
            "older_than" => Term::OlderThan(age(&value)?),
            // Gmail searches an unknown operator as text, as it does bare words.
            _ => Term::Text(word.trim_matches('"').to_lowercase()),
        });
    }
    Ok(terms)
}

/// The next word, keeping a quoted value (`subject:"Crew Statement"`) whole.
fn next_word(s: &str) -> (&str, &str) {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return (&s[..i], &s[i..]),
            _ => {}
        }
    }
    (s, "")
}

/// `3d`, `2m` (months), `1y`.
fn age(v: &str) -> Result<Duration, String> {
    let (n, unit) = v.split_at(v.len().saturating_sub(1));
    let n: i64 = n
        .parse()
        .map_err(|_| format!("Invalid query: newer_than/older_than value `{v}`"))?;
    match unit {
        "d" => Ok(Duration::days(n)),
        "m" => Ok(Duration::days(n * 30)),
        "y" => Ok(Duration::days(n * 365)),
        _ => Err(format!("Invalid query: newer_than/older_than value `{v}`")),
    }
}

/// Files a message in a mailbox as if it had been sent `age_days` ago (for tests).
pub fn seed(state: &State, user: &str, raw: &[u8], labels: &[&str], age_days: i64) -> String {
    let id = random(16).to_lowercase();
    let msg = GmailMessage {
        id: id.clone(),
        thread_id: id.clone(),
        raw: raw.to_vec(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        internal_date: state.now() - Duration::days(age_days),
    };
    state
        .lock()
        .gmail
        .mailboxes
        .entry(user.to_lowercase())
        .or_default()
        .push(msg);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_keep_quoted_values_whole() {
        let t = parse_query(r#"subject:"Crew Statement" in:sent newer_than:120d"#).unwrap();
        assert_eq!(t.len(), 3, "{t:?}");
        assert!(matches!(&t[0], Term::Subject(s) if s == "crew statement"));
        assert!(matches!(&t[1], Term::Label(s) if s == "sent"));
        assert!(matches!(t[2], Term::NewerThan(d) if d == Duration::days(120)));
        assert!(parse_query("newer_than:soon").is_err());
    }
}
