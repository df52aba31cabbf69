//! The emulator's memory: registered accounts and clients, issued tokens, injected
//! faults and call counters. One `State` per emulator, shared by every handler.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::distr::Alphanumeric;
use rand::Rng;

/// A fault to answer the next token request with, instead of the real answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and a Google-shaped error body.
    Status(u16),
    /// Wait this long before answering (as a stuck connection does).
    Hang(Duration),
    /// Answer 200 with a body that is not valid JSON.
    MalformedJson,
}

#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub email: String,
    pub client_id: String,
    pub public_key_pem: String,
    /// Users this account may act as (domain-wide delegation).
    pub delegates: HashSet<String>,
    /// The key was deleted: signatures no longer verify.
    pub key_deleted: bool,
}

#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub account: String,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub code_challenge: Option<String>,
}

#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub azp: String,
    pub account: String,
    pub scopes: Vec<String>,
    pub expires_at: DateTime<Utc>,
    pub offline: bool,
}

/// One tab: cells row by row (JSON strings or numbers; missing means empty).
#[derive(Debug, Clone, Default)]
pub struct Tab {
    pub sheet_id: i64,
    pub title: String,
    pub rows: Vec<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, Default)]
pub struct Spreadsheet {
    pub title: String,
    pub tabs: Vec<Tab>,
    /// Accounts that may open it; empty means anyone with a token.
    pub shared_with: Vec<String>,
}

/// A file or folder in the emulated Drive.
#[derive(Debug, Clone)]
pub struct DriveFile {
    pub id: String,
    pub name: String,
    pub mime_type: String,
    pub parents: Vec<String>,
    pub trashed: bool,
    /// Uploaded content (spreadsheets created in Sheets have none).
    pub content: Vec<u8>,
    /// Who it is shared with: (email, role).
    pub permissions: Vec<(String, String)>,
    /// `appProperties`: private key-value pairs of the app that set them.
    pub app_properties: std::collections::BTreeMap<String, String>,
    pub created_time: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct Inner {
    pub service_accounts: HashMap<String, ServiceAccount>,
    pub clients: HashMap<String, OAuthClient>,
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    pub codes: HashMap<String, AuthCode>,
    pub access_tokens: HashMap<String, IssuedToken>,
    pub faults: VecDeque<Fault>,
    /// API (Sheets, Drive) faults: let `skip` requests through, then fail `count` with `status`.
    pub api_faults: Option<(usize, usize, u16)>,
    pub calls: HashMap<String, u64>,
    pub token_lifetime_secs: i64,
    pub spreadsheets: HashMap<String, Spreadsheet>,
    pub drive: Vec<DriveFile>,
    /// Files and folders the caller may see but not change (shared with it as a viewer):
    /// uploading into or over them, or sharing them, is refused with 403.
    pub read_only: std::collections::HashSet<String>,
    /// Resumable upload sessions: id -> (file id to update, or new file's metadata), bytes so far.
    pub uploads: HashMap<String, (Option<String>, serde_json::Value, Vec<u8>)>,
    /// Resumable chunks to accept before holding the next ones (a network that stalls
    /// mid-upload), until released: see `Emulator::hold_uploads_after`.
    pub hold_uploads_after: Option<usize>,
    /// Sheets write requests per minute per user before 429 (Google: 60).
    pub sheets_write_quota: usize,
    pub sheets_writes: HashMap<String, VecDeque<DateTime<Utc>>>,
    /// Seconds added to the real clock: the emulator's idea of "now".
    pub clock_offset_secs: i64,
    pub gmail: crate::gmail::Gmail,
}

#[derive(Debug)]
pub struct State {
    pub base_url: String,
    pub inner: Mutex<Inner>,
    /// Wakes the chunks held by `hold_uploads_after` when they are released.
    pub uploads_released: tokio::sync::Notify,
}

impl State {
    pub fn new(base_url: String) -> Self {
        let inner = Inner {
            token_lifetime_secs: 3600,
            sheets_write_quota: 60,
            ..Default::default()
        };
        State {
            base_url,
            inner: Mutex::new(inner),
            uploads_released: tokio::sync::Notify::new(),
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.lock().clock_offset_secs)
    }

    pub fn token_uri(&self) -> String {
        format!("{}/token", self.base_url)
    }

    pub fn count(&self, endpoint: &str) {
        *self.lock().calls.entry(endpoint.to_string()).or_default() += 1;
    }

    /// The status to fail this API request with, if a fault is due.
    pub fn next_api_fault(&self) -> Option<u16> {
        let mut inner = self.lock();
        let (skip, count, status) = inner.api_faults.as_mut()?;
        if *skip > 0 {
            *skip -= 1;
            return None;
        }
        if *count == 0 {
            inner.api_faults = None;
            return None;
        }
        *count -= 1;
        Some(*status)
    }

    pub fn next_fault(&self) -> Option<Fault> {
        self.lock().faults.pop_front()
    }

    /// Issues an access token and remembers what it grants.
    pub fn issue_access_token(&self, azp: &str, account: &str, scopes: Vec<String>, offline: bool) -> (String, i64) {
        let token = format!("ya29.emu-{}", random(40));
        let now = self.now();
        let mut inner = self.lock();
        let lifetime = inner.token_lifetime_secs;
        inner.access_tokens.insert(
            token.clone(),
            IssuedToken {
                azp: azp.to_string(),
                account: account.to_string(),
                scopes,
                expires_at: now + chrono::Duration::seconds(lifetime),
                offline,
            },
        );
        (token, lifetime)
    }

    /// The live token, if it exists and has not expired.
    pub fn lookup_access_token(&self, token: &str) -> Option<IssuedToken> {
        let now = self.now();
        self.lock()
            .access_tokens
            .get(token)
            .filter(|t| t.expires_at > now)
            .cloned()
    }
}

pub fn random(n: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(n).map(char::from).collect()
}
