//! A local server that speaks Google's wire formats, so jada's production code runs
//! against it unchanged with only base URLs changed. Tests call [`spawn`] and get an
//! [`EmulatorHandle`] (its address, and control methods); developers run the
//! `google-emulator` binary.
//!
//! - [`oauth`]: `POST /token` (JWT bearer for service accounts with RS256 signature and
//!   claim checks, refresh tokens, authorization code with PKCE), `GET /tokeninfo`, and
//!   the consent page `GET /o/oauth2/v2/auth`, which approves at once.
//! - [`bearer`]: Google's 401/403 answers for the API surfaces behind a token.
//! - [`control`]: faults, revocation, token lifetime and call counts, over HTTP under
//!   `/emulator/`; the same operations are methods on [`Emulator`].
//!
//! The service-account keys it hands out are the test-only pairs in `keys/`.

// Handlers return `Result<_, Response>`: the refusal *is* the HTTP answer, built once
// per request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod a1;
pub mod bearer;
pub mod control;
pub mod drive;
pub mod gmail;
pub mod oauth;
pub mod sheets;
mod state;
pub mod upload;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

pub use state::Fault;
use state::{DriveFile, OAuthClient, RefreshGrant, ServiceAccount, Spreadsheet, State, Tab};

/// Test-only key pairs (private PKCS#8, public SPKI), generated for this repository.
const KEYS: [(&str, &str); 2] = [
    (
        include_str!("../keys/test-key-1.pem"),
        include_str!("../keys/test-key-1.pub.pem"),
    ),
    (
        include_str!("../keys/test-key-2.pem"),
        include_str!("../keys/test-key-2.pub.pem"),
    ),
];

/// A file in a Drive folder, as tests see it: name, content, and (email, role) shares.
pub type FolderEntry = (String, Vec<u8>, Vec<(String, String)>);

/// The emulator's control surface, shared by the handle and the control routes.
#[derive(Clone)]
pub struct Emulator {
    state: Arc<State>,
}

impl Emulator {
    fn from_state(state: Arc<State>) -> Self {
        Emulator { state }
    }

    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    pub fn token_uri(&self) -> String {
        self.state.token_uri()
    }

    pub fn tokeninfo_url(&self) -> String {
        format!("{}/tokeninfo", self.state.base_url)
    }

    pub fn auth_uri(&self) -> String {
        format!("{}/o/oauth2/v2/auth", self.state.base_url)
    }

    /// Registers a service account and returns its key file, exactly as the Cloud
    /// console writes one, with `token_uri` pointing here.
    pub fn create_service_account(&self, email: &str) -> Value {
        let n = self.state.lock().service_accounts.len();
        let (private_pem, public_pem) = KEYS[n % KEYS.len()];
        let client_id = format!("1{:020}", n + 1);
        self.state.lock().service_accounts.insert(
            email.to_string(),
            ServiceAccount {
                email: email.to_string(),
                client_id: client_id.clone(),
                public_key_pem: public_pem.to_string(),
                delegates: Default::default(),
                key_deleted: false,
            },
        );
        json!({
            "type": "service_account",
            "project_id": "jada-emulator",
            "private_key_id": format!("emu-key-{}", n + 1),
            "private_key": private_pem,
            "client_email": email,
            "client_id": client_id,
            "auth_uri": self.auth_uri(),
            "token_uri": self.token_uri(),
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": format!("https://www.googleapis.com/robot/v1/metadata/x509/{email}"),
            "universe_domain": "googleapis.com",
        })
    }

    /// Lets a service account act as `user` (domain-wide delegation).
    pub fn allow_delegation(&self, service_account: &str, user: &str) {
        if let Some(sa) = self.state.lock().service_accounts.get_mut(service_account) {
            sa.delegates.insert(user.to_string());
        }
    }

    /// Deletes the service account's key: its signatures stop verifying.
    pub fn delete_service_account_key(&self, service_account: &str) {
        if let Some(sa) = self.state.lock().service_accounts.get_mut(service_account) {
            sa.key_deleted = true;
        }
    }

    /// Registers an OAuth client (an "installed app") and returns `(client_id, client_secret)`.
    pub fn create_oauth_client(&self) -> (String, String) {
        let id = format!("{}-emu.apps.googleusercontent.com", state::random(12).to_lowercase());
        let secret = format!("GOCSPX-{}", state::random(28));
        self.state.lock().clients.insert(
            id.clone(),
            OAuthClient {
                client_id: id.clone(),
                client_secret: secret.clone(),
            },
        );
        (id, secret)
    }

    /// A user's consent already given: returns the `authorized_user` file gcloud writes.
    pub fn create_authorized_user(&self, client: &(String, String), scopes: &[&str]) -> Value {
        let refresh_token = format!("1//emu-{}", state::random(40));
        self.state.lock().refresh_tokens.insert(
            refresh_token.clone(),
            RefreshGrant {
                client_id: client.0.clone(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                account: format!("user-of-{}", client.0),
                revoked: false,
            },
        );
        json!({
            "type": "authorized_user",
            "client_id": client.0,
            "client_secret": client.1,
            "refresh_token": refresh_token,
        })
    }

    /// Revokes a refresh token (as a password change or "remove access" does).
    pub fn revoke_refresh_token(&self, token: &str) -> bool {
        match self.state.lock().refresh_tokens.get_mut(token) {
            Some(g) => {
                g.revoked = true;
                true
            }
            None => false,
        }
    }

    /// How long new access tokens live (Google: 3600 s).
    pub fn set_access_token_lifetime(&self, seconds: i64) {
        self.state.lock().token_lifetime_secs = seconds;
    }

    /// Makes every access token issued so far expire now.
    pub fn expire_access_tokens(&self) {
        let now = self.state.now();
        for t in self.state.lock().access_tokens.values_mut() {
            t.expires_at = now;
        }
    }

    /// Moves the emulator's clock relative to the real one (to reproduce clock skew).
    pub fn set_clock_offset(&self, seconds: i64) {
        self.state.lock().clock_offset_secs = seconds;
    }

    /// Lets the next `skip` Sheets/Drive requests through, then answers `count` of them
    /// with `status` (e.g. 503) in Google's error shape.
    pub fn fail_api_after(&self, skip: usize, count: usize, status: u16) {
        self.state.lock().api_faults = Some((skip, count, status));
    }

    /// Answers the next `count` token requests with `fault`.
    pub fn fail_next(&self, count: usize, fault: Fault) {
        let mut inner = self.state.lock();
        for _ in 0..count {
            inner.faults.push_back(fault.clone());
        }
    }

    /// Creates a Drive folder under `parent` (`"root"` for My Drive) and returns its id.
    /// Makes a file or folder read-only for the caller (as if shared with it as a
    /// viewer): uploads into or over it, and sharing it, answer Drive's 403
    /// `insufficientFilePermissions`.
    pub fn make_read_only(&self, id: &str) {
        self.state.lock().read_only.insert(id.to_string());
    }

    pub fn create_folder(&self, name: &str, parent: &str) -> String {
        let id = format!("0Bemu{}", state::random(20));
        let f = DriveFile {
            id: id.clone(),
            name: name.into(),
            mime_type: drive::FOLDER.into(),
            parents: vec![parent.into()],
            trashed: false,
            content: vec![],
            permissions: vec![],
            app_properties: Default::default(),
            created_time: self.state.now(),
        };
        self.state.lock().drive.push(f);
        id
    }

    /// Files a spreadsheet in a folder (it is in My Drive's root until then).
    pub fn move_to_folder(&self, file_id: &str, folder: &str) {
        if let Some(f) = self.state.lock().drive.iter_mut().find(|f| f.id == file_id) {
            f.parents = vec![folder.into()];
        }
    }

    /// Starts a resumable upload into `folder` and sends only part of it, as an upload
    /// cut off mid-way leaves it (the file exists only once the last byte arrives).
    pub fn start_partial_upload(&self, folder: &str, name: &str, part: &[u8]) {
        let meta = json!({"name": name, "parents": [folder]});
        self.state
            .lock()
            .uploads
            .insert(state::random(24), (None, meta, part.to_vec()));
    }

    /// Accepts `chunks` more resumable-upload chunks, then holds each next one once it
    /// has arrived (as a network that stalls mid-upload) until [`Self::release_uploads`];
    /// `calls("drive.upload.held")` counts the chunks held.
    pub fn hold_uploads_after(&self, chunks: usize) {
        self.state.lock().hold_uploads_after = Some(chunks);
    }

    /// Lets held upload chunks go on, and stops holding new ones.
    pub fn release_uploads(&self) {
        self.state.lock().hold_uploads_after = None;
        self.state.uploads_released.notify_waiters();
    }

    /// The id of the file named `name` in `folder`.
    pub fn drive_file_id(&self, folder: &str, name: &str) -> Option<String> {
        let inner = self.state.lock();
        let f = inner
            .drive
            .iter()
            .find(|f| f.name == name && f.parents.iter().any(|p| p == folder))?;
        Some(f.id.clone())
    }

    /// Changes one byte of a file's content where it is stored (a disk that rots).
    pub fn flip_byte(&self, file_id: &str) {
        if let Some(f) = self.state.lock().drive.iter_mut().find(|f| f.id == file_id) {
            let middle = f.content.len() / 2;
            f.content[middle] ^= 1;
        }
    }

    /// Files in a folder: (name, content, who it is shared with).
    pub fn drive_files(&self, folder: &str) -> Vec<FolderEntry> {
        let inner = self.state.lock();
        inner
            .drive
            .iter()
            .filter(|f| f.parents.iter().any(|p| p == folder))
            .map(|f| (f.name.clone(), f.content.clone(), f.permissions.clone()))
            .collect()
    }

    /// Sets a tab's cells from JSON values: numbers stay numbers (a date cell holds its
    /// serial number, as Sheets stores dates).
    pub fn set_values(&self, id: &str, tab: &str, rows: Vec<Vec<Value>>) {
        if let Some(t) = self
            .state
            .lock()
            .spreadsheets
            .get_mut(id)
            .and_then(|s| s.tabs.iter_mut().find(|t| t.title == tab))
        {
            t.rows = rows;
        }
    }

    /// Creates a spreadsheet with these tabs and returns its id.
    pub fn create_spreadsheet(&self, title: &str, tabs: &[&str]) -> String {
        let id = format!("1emu{}", state::random(40));
        let file = DriveFile {
            id: id.clone(),
            name: title.into(),
            mime_type: drive::SPREADSHEET.into(),
            parents: vec!["root".into()],
            trashed: false,
            content: vec![],
            permissions: vec![],
            app_properties: Default::default(),
            created_time: self.state.now(),
        };
        self.state.lock().drive.push(file);
        let tabs = tabs
            .iter()
            .enumerate()
            .map(|(i, t)| Tab {
                sheet_id: i as i64 * 1000,
                title: t.to_string(),
                rows: vec![],
            })
            .collect();
        self.state.lock().spreadsheets.insert(
            id.clone(),
            Spreadsheet {
                title: title.into(),
                tabs,
                shared_with: vec![],
            },
        );
        id
    }

    /// Limits who may open the spreadsheet (as sharing it with them does).
    pub fn share_spreadsheet(&self, id: &str, account: &str) {
        if let Some(ss) = self.state.lock().spreadsheets.get_mut(id) {
            ss.shared_with.push(account.to_string());
        }
    }

    /// Replaces a tab's cells, as a person editing the sheet would.
    pub fn set_cells(&self, id: &str, tab: &str, rows: &[Vec<&str>]) {
        if let Some(t) = self
            .state
            .lock()
            .spreadsheets
            .get_mut(id)
            .and_then(|s| s.tabs.iter_mut().find(|t| t.title == tab))
        {
            t.rows = rows
                .iter()
                .map(|r| r.iter().map(|c| Value::String(c.to_string())).collect())
                .collect();
        }
    }

    /// A tab's cells as text (empty cells as "").
    pub fn cells(&self, id: &str, tab: &str) -> Vec<Vec<String>> {
        let inner = self.state.lock();
        let Some(t) = inner
            .spreadsheets
            .get(id)
            .and_then(|s| s.tabs.iter().find(|t| t.title == tab))
        else {
            return vec![];
        };
        t.rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect()
    }

    /// Sheets write requests allowed per minute per user (Google: 60).
    pub fn set_sheets_write_quota(&self, per_minute: usize) {
        self.state.lock().sheets_write_quota = per_minute;
    }

    /// Every Sheets API request so far: reads, writes, and writes refused for quota.
    pub fn sheets_calls(&self) -> u64 {
        self.state
            .lock()
            .calls
            .iter()
            .filter(|(k, _)| k.starts_with("sheets."))
            .map(|(_, v)| v)
            .sum()
    }

    /// Gmail sends allowed per second per user before 429 `rateLimitExceeded` (0: no limit).
    pub fn set_gmail_sends_per_second(&self, n: usize) {
        self.state.lock().gmail.sends_per_second = n;
    }

    /// Files a message in `user`'s mailbox as if it were `age_days` old, with these
    /// labels (e.g. `["SENT"]`); returns its id.
    pub fn seed_gmail(&self, user: &str, raw: &[u8], labels: &[&str], age_days: i64) -> String {
        gmail::seed(&self.state, user, raw, labels, age_days)
    }

    /// The messages in `user`'s mailbox (sent ones carry the `SENT` label), oldest first.
    pub fn gmail_messages(&self, user: &str) -> Vec<gmail::GmailMessage> {
        self.state
            .lock()
            .gmail
            .mailboxes
            .get(&user.to_lowercase())
            .cloned()
            .unwrap_or_default()
    }

    /// How many requests an endpoint (`token`, `tokeninfo`, `auth`, `drive.about`) received.
    pub fn calls(&self, endpoint: &str) -> u64 {
        self.state.lock().calls.get(endpoint).copied().unwrap_or(0)
    }
}

/// A running emulator; stops when dropped.
pub struct EmulatorHandle {
    pub emulator: Emulator,
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl std::ops::Deref for EmulatorHandle {
    type Target = Emulator;
    fn deref(&self) -> &Emulator {
        &self.emulator
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts an emulator on 127.0.0.1 with a free port.
pub async fn spawn() -> std::io::Result<EmulatorHandle> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    serve(listener).await
}

/// Serves on an already-bound listener.
pub async fn serve(listener: tokio::net::TcpListener) -> std::io::Result<EmulatorHandle> {
    let addr = listener.local_addr()?;
    let state = Arc::new(State::new(format!("http://{addr}")));
    let app = router(Arc::clone(&state));
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "google-emulator stopped");
        }
    });
    Ok(EmulatorHandle {
        emulator: Emulator::from_state(state),
        addr,
        task,
    })
}

fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/token", post(oauth::token))
        .route("/tokeninfo", get(oauth::tokeninfo))
        .route("/o/oauth2/v2/auth", get(oauth::consent))
        .route("/drive/v3/about", get(bearer::drive_about))
        .route("/v4/spreadsheets/{*rest}", get(sheets::get).post(sheets::post))
        .route("/drive/v3/files", get(drive::list))
        .route("/drive/v3/files/{id}", get(upload::get).delete(upload::delete))
        .route("/drive/v3/files/{id}/permissions", post(upload::share))
        .route("/upload/drive/v3/files", post(upload::create).put(upload::resume))
        .route(
            "/upload/drive/v3/files/{id}",
            axum::routing::patch(upload::update).put(upload::resume_for),
        )
        .route("/gmail/v1/users/{user}/messages/send", post(gmail::send))
        .route("/gmail/v1/users/{user}/messages", get(gmail::list))
        .route("/gmail/v1/users/{user}/messages/{id}", get(gmail::get))
        .route("/emulator/faults", post(control::faults))
        .route("/emulator/revoke", post(control::revoke))
        .route("/emulator/access-token-lifetime", post(control::lifetime))
        .route("/emulator/calls", get(control::calls))
        // Uploads carry megabytes; axum's default limit (2 MB) is not Google's.
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(state)
}
