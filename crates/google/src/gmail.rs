//! Gmail: `users.messages.send` (the whole RFC 2822 message, base64url, as `raw`) and
//! the search used to find earlier statements' recipients (`messages.list` with `q`,
//! then `messages.get` in `metadata` format for the headers asked for). Calls go through
//! the Google client's retrying transport: 429 and Gmail's 403 rate-limit answers are
//! retried with backoff.

use base64::Engine;
use reqwest::Method;
use serde_json::json;

use crate::client::{enc, Api, GoogleClient, GoogleError};

/// Scopes that may send, the narrowest first.
pub const SEND_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/gmail.send",
    "https://www.googleapis.com/auth/gmail.compose",
    "https://www.googleapis.com/auth/gmail.modify",
    "https://mail.google.com/",
];
/// Scopes that may search (`gmail.metadata` may not: Gmail refuses `q` with it).
pub const SEARCH_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/gmail.modify",
    "https://mail.google.com/",
];
/// At most this many message ids are read from one search.
const SEARCH_LIMIT: usize = 500;

impl GoogleClient {
    fn gmail_base(&self) -> String {
        format!("{}/gmail/v1/users/me", self.urls().gmail)
    }

    /// Sends one message as the credential's user; returns Gmail's message id.
    pub async fn gmail_send(&self, message: &[u8]) -> Result<String, GoogleError> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(message);
        let url = format!("{}/messages/send", self.gmail_base());
        let v = self
            .call(
                Api::Gmail,
                "messages.send",
                SEND_SCOPES,
                Method::POST,
                url,
                Some(json!({ "raw": raw })),
            )
            .await?;
        Ok(v["id"].as_str().unwrap_or_default().to_string())
    }

    /// The ids of the messages matching a Gmail search, newest first (at most 500).
    pub async fn gmail_search(&self, q: &str) -> Result<Vec<String>, GoogleError> {
        let mut ids = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut url = format!("{}/messages?q={}&maxResults=100", self.gmail_base(), enc(q));
            if let Some(p) = &page {
                url.push_str(&format!("&pageToken={}", enc(p)));
            }
            let resource = format!("messages.list (q = `{q}`)");
            let v = self
                .call(Api::Gmail, &resource, SEARCH_SCOPES, Method::GET, url, None)
                .await?;
            // `messages` is absent when nothing matched.
            for m in v["messages"].as_array().into_iter().flatten() {
                ids.extend(m["id"].as_str().map(str::to_string));
            }
            page = v["nextPageToken"].as_str().map(str::to_string);
            if page.is_none() || ids.len() >= SEARCH_LIMIT {
                ids.truncate(SEARCH_LIMIT);
                return Ok(ids);
            }
        }
    }

    /// The named headers of one message (every occurrence), as (name, value).
    pub async fn gmail_headers(&self, id: &str, names: &[&str]) -> Result<Vec<(String, String)>, GoogleError> {
        let wanted: String = names.iter().map(|n| format!("&metadataHeaders={}", enc(n))).collect();
        let url = format!("{}/messages/{}?format=metadata{wanted}", self.gmail_base(), enc(id));
        let resource = format!("message {id}");
        let v = self
            .call(Api::Gmail, &resource, SEARCH_SCOPES, Method::GET, url, None)
            .await?;
        Ok(v["payload"]["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| Some((h["name"].as_str()?.to_string(), h["value"].as_str()?.to_string())))
            .collect())
    }
}
