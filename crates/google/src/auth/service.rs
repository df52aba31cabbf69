//! The token service: one cache entry and one refresh lock per configured credential.
//!
//! - A valid token is served from memory (a read lock and a clock read).
//! - A token within `refresh_ahead` of expiry is refreshed; however many callers wait,
//!   one HTTP request is made (the refresh lock, then a second look at the cache).
//! - Transient failures are retried with jittered exponential backoff; meanwhile a
//!   still-valid token keeps being served.
//! - A credential Google refuses is blocked: every caller gets the same explicit error at
//!   once, with no request, until its file changes (as `jada auth login` does).
//! - Every change of health is recorded (the [`CredentialStateSink`]) and every new
//!   token written to the cache file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jada_core::{Clock, CredentialKind, CredentialState};
use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;

use super::cache_file::{self, CacheEntry};
use super::credentials::{CredentialConfig, CredentialFile};
use super::grant::{self, GrantFailure};
use super::{AccessToken, AuthError};
use crate::secret_files::check_private_dir;

/// Where credential health goes (the store, wired by `jada-ops`). Saving must not fail
/// the caller: a sink logs its own errors.
#[async_trait]
pub trait CredentialStateSink: Send + Sync {
    async fn save(&self, state: &CredentialState);
}

/// A sink that keeps nothing (tools and tests that need no record).
pub struct NoStateSink;

#[async_trait]
impl CredentialStateSink for NoStateSink {
    async fn save(&self, _state: &CredentialState) {}
}

/// How the service behaves. `Default` gives Google's production endpoints.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    pub token_uri: String,
    pub tokeninfo_url: String,
    /// Refresh a token when less than this remains (default 5 minutes).
    pub refresh_ahead: chrono::Duration,
    /// One token request may take this long (default 10 s).
    pub request_timeout: Duration,
    /// Attempts per refresh for transient failures (default 3).
    pub attempts: u32,
    /// First backoff delay; doubled each attempt, with jitter (default 250 ms).
    pub backoff_base: Duration,
    /// `unified-token.json`, if tokens should be shared with other programs.
    pub cache_file: Option<PathBuf>,
    /// The secrets directory, checked to be 0700 before a credential in it is used.
    pub secrets_dir: Option<PathBuf>,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            token_uri: "https://oauth2.googleapis.com/token".into(),
            tokeninfo_url: "https://oauth2.googleapis.com/tokeninfo".into(),
            refresh_ahead: chrono::Duration::minutes(5),
            request_timeout: Duration::from_secs(10),
            attempts: 3,
            backoff_base: Duration::from_millis(250),
            cache_file: None,
            secrets_dir: None,
        }
    }
}

/// Why a credential is not asked about again, and until when.
struct Block {
    error: AuthError,
    /// Unblocks when the credential file's modification time differs from this.
    file_mtime: Option<SystemTime>,
    /// Unblocks at this instant (refusals an operator may fix elsewhere, like the clock).
    until: Option<DateTime<Utc>>,
}

struct Slot {
    cfg: CredentialConfig,
    token_uri: String,
    cached: RwLock<Option<AccessToken>>,
    refresh: tokio::sync::Mutex<()>,
    state: Mutex<CredentialState>,
    block: Mutex<Option<Block>>,
}

impl Slot {
    fn fresh(&self, now: DateTime<Utc>, ahead: chrono::Duration) -> Option<AccessToken> {
        let cached = self.cached.read().unwrap_or_else(|p| p.into_inner());
        cached.as_ref().filter(|t| t.expires_at() - now > ahead).cloned()
    }

    /// A token that still works, even if it is due for refresh.
    fn usable(&self, now: DateTime<Utc>) -> Option<AccessToken> {
        self.fresh(now, chrono::Duration::seconds(10))
    }

    fn state(&self) -> CredentialState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn update_state(&self, f: impl FnOnce(&mut CredentialState)) -> CredentialState {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s);
        s.clone()
    }

    /// The blocking error, unless the operator has acted since (new file, time passed).
    fn blocked(&self, now: DateTime<Utc>) -> Option<AuthError> {
        let mut block = self.block.lock().unwrap_or_else(|p| p.into_inner());
        let b = block.as_ref()?;
        let file_changed = b.file_mtime.is_some() && b.file_mtime != mtime(&self.cfg.file);
        let expired = b.until.is_some_and(|u| now >= u);
        if file_changed || expired {
            *block = None;
            return None;
        }
        Some(b.error.clone())
    }
}

fn mtime(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The unified token service.
pub struct TokenService {
    slots: BTreeMap<String, Slot>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    opts: ServiceOptions,
    sink: Arc<dyn CredentialStateSink>,
}

impl TokenService {
    /// Builds the service. Nothing is fetched yet; a credential whose file cannot be read
    /// is still listed (with the problem as its last error) so status pages can show it.
    pub fn new(
        credentials: Vec<CredentialConfig>,
        opts: ServiceOptions,
        clock: Arc<dyn Clock>,
        sink: Arc<dyn CredentialStateSink>,
    ) -> Result<TokenService, AuthError> {
        let http = reqwest::Client::builder()
            .timeout(opts.request_timeout)
            .connect_timeout(opts.request_timeout)
            .build()
            .map_err(|e| AuthError::Refused {
                credential: "-".into(),
                detail: format!("cannot build the HTTP client: {e}"),
            })?;
        let cache = load_cache(&opts);
        let now = clock.now();
        let slots = credentials
            .into_iter()
            .map(|cfg| {
                let slot = new_slot(cfg, &opts, &cache, now);
                (slot.cfg.name.clone(), slot)
            })
            .collect();
        Ok(TokenService {
            slots,
            http,
            clock,
            opts,
            sink,
        })
    }

    /// The configured credential names.
    pub fn names(&self) -> Vec<&str> {
        self.slots.keys().map(String::as_str).collect()
    }

    pub fn options(&self) -> &ServiceOptions {
        &self.opts
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Whether a credential is configured for a scope.
    pub fn has_scope(&self, name: &str, scope: &str) -> bool {
        self.slots
            .get(name)
            .is_some_and(|s| s.cfg.scopes.iter().any(|c| c == scope))
    }

    /// What is known of every credential, in memory.
    pub fn states(&self) -> Vec<CredentialState> {
        self.slots.values().map(Slot::state).collect()
    }

    pub(crate) fn config_of(&self, name: &str) -> Result<&CredentialConfig, AuthError> {
        Ok(&self.slot(name)?.cfg)
    }

    fn slot(&self, name: &str) -> Result<&Slot, AuthError> {
        self.slots.get(name).ok_or_else(|| AuthError::UnknownCredential {
            name: name.to_string(),
            known: if self.slots.is_empty() {
                "none".into()
            } else {
                self.names().join(", ")
            },
        })
    }

    /// A valid access token for `name`, good for every scope in `scopes` (which must all
    /// be configured for the credential).
    pub async fn get(&self, name: &str, scopes: &[&str]) -> Result<AccessToken, AuthError> {
        let slot = self.slot(name)?;
        if let Some(missing) = scopes.iter().find(|s| !slot.cfg.scopes.iter().any(|c| c == *s)) {
            return Err(AuthError::ScopeNotConfigured {
                credential: name.into(),
                scope: missing.to_string(),
                reauth: reauth_hint(slot),
            });
        }
        if let Some(t) = slot.fresh(self.clock.now(), self.opts.refresh_ahead) {
            return Ok(t);
        }
        self.refresh_slot(slot, false).await
    }

    /// Refreshes now, whatever the cache holds (`jada auth refresh`). A blocked
    /// credential is tried again: the operator asked.
    pub async fn refresh(&self, name: &str) -> Result<AccessToken, AuthError> {
        let slot = self.slot(name)?;
        *slot.block.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.refresh_slot(slot, true).await
    }

    async fn refresh_slot(&self, slot: &Slot, force: bool) -> Result<AccessToken, AuthError> {
        let _one_at_a_time = slot.refresh.lock().await;
        let now = self.clock.now();
        if !force {
            // Whoever held the lock before us may have refreshed already.
            if let Some(t) = slot.fresh(now, self.opts.refresh_ahead) {
                return Ok(t);
            }
        }
        if let Some(err) = slot.blocked(now) {
            return Err(err);
        }
        match self.fetch(slot).await {
            Ok(token) => {
                self.on_success(slot, &token).await;
                Ok(token)
            }
            Err(err) => self.on_failure(slot, err).await,
        }
    }

    async fn on_success(&self, slot: &Slot, token: &AccessToken) {
        *slot.cached.write().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
        let now = self.clock.now();
        let before = slot.state();
        let state = slot.update_state(|s| {
            s.last_refresh = Some(now);
            s.expires_at = Some(token.expires_at());
            s.last_error = None;
            s.last_error_at = None;
            s.needs_reauth = false;
        });
        if before.last_error.is_some() || before.needs_reauth {
            tracing::info!(credential = %slot.cfg.name, "credential recovered");
        }
        self.sink.save(&state).await;
        if let Some(path) = self.opts.cache_file.clone() {
            let entry = CacheEntry {
                access_token: SecretString::from(token.secret().to_string()),
                expires_at: token.expires_at(),
                scopes: slot.cfg.scopes.clone(),
                account: state.account.clone(),
            };
            let name = slot.cfg.name.clone();
            let written = tokio::task::spawn_blocking(move || cache_file::write_entry(&path, &name, &entry)).await;
            if let Ok(Err(e)) | Err(e) = written.map_err(std::io::Error::other) {
                tracing::warn!(credential = %slot.cfg.name, error = %e, "cannot write the token cache file");
            }
        }
    }

    async fn on_failure(&self, slot: &Slot, err: AuthError) -> Result<AccessToken, AuthError> {
        let now = self.clock.now();
        let first = slot.state().last_error.is_none();
        let state = slot.update_state(|s| {
            s.last_error = Some(err.to_string());
            s.last_error_at = Some(now);
            s.needs_reauth = matches!(err, AuthError::NeedsReauth { .. });
        });
        let block = match &err {
            AuthError::NeedsReauth { .. } => Some(Block {
                error: err.clone(),
                file_mtime: mtime(&slot.cfg.file),
                until: None,
            }),
            AuthError::ClockSkew { .. } | AuthError::Refused { .. } => Some(Block {
                error: err.clone(),
                file_mtime: mtime(&slot.cfg.file),
                until: Some(now + chrono::Duration::minutes(1)),
            }),
            _ => None,
        };
        *slot.block.lock().unwrap_or_else(|p| p.into_inner()) = block;
        if first {
            tracing::error!(credential = %slot.cfg.name, error = %err, "credential failing");
        } else {
            tracing::warn!(credential = %slot.cfg.name, error = %err, "credential still failing");
        }
        self.sink.save(&state).await;
        if err.is_transient() {
            if let Some(t) = slot.usable(now) {
                tracing::warn!(credential = %slot.cfg.name, expires_at = %t.expires_at(), "serving the cached token while Google is unreachable");
                return Ok(t);
            }
        }
        Err(err)
    }

    /// Loads the file and asks Google, retrying transient failures with backoff.
    async fn fetch(&self, slot: &Slot) -> Result<AccessToken, AuthError> {
        let name = &slot.cfg.name;
        if let Some(dir) = &self.opts.secrets_dir {
            if slot.cfg.file.starts_with(dir) {
                check_private_dir(dir).map_err(|source| AuthError::Permissions {
                    credential: name.clone(),
                    source,
                })?;
            }
        }
        let file = CredentialFile::load(name, &slot.cfg.file)?;
        slot.update_state(|s| {
            s.kind = file.kind();
            s.account = file.account().to_string();
        });
        let mut attempt = 0;
        loop {
            attempt += 1;
            let now = self.clock.now();
            let result = grant::request(
                &self.http,
                &slot.token_uri,
                &file,
                &slot.cfg.scopes,
                slot.cfg.subject.as_deref(),
                now,
            )
            .await;
            match result {
                Ok(g) => {
                    let expires_at = self.clock.now() + chrono::Duration::seconds(g.expires_in);
                    return Ok(AccessToken::new(g.access_token.expose_secret(), expires_at));
                }
                Err(GrantFailure::Transient(m)) if attempt < self.opts.attempts => {
                    tracing::debug!(credential = %name, attempt, error = %m, "token request failed; retrying");
                    tokio::time::sleep(backoff(self.opts.backoff_base, attempt)).await;
                }
                Err(f) => return Err(to_auth_error(slot, &file, f, attempt)),
            }
        }
    }

    /// Refreshes every credential that is due, then says how long until the next is.
    /// One step of [`TokenService::run`]; tests call it directly.
    pub async fn refresh_due(&self) -> Duration {
        let ahead = self.opts.refresh_ahead;
        let mut next = Duration::from_secs(300);
        for slot in self.slots.values() {
            let now = self.clock.now();
            if slot.blocked(now).is_some() {
                continue;
            }
            if slot.fresh(now, ahead).is_none() {
                let _ = self.refresh_slot(slot, false).await;
            }
            if let Some(t) = slot.fresh(self.clock.now(), ahead) {
                let due = (t.expires_at() - ahead - self.clock.now()).to_std().unwrap_or_default();
                next = next.min(due);
            } else {
                next = next.min(Duration::from_secs(30));
            }
        }
        next.max(Duration::from_secs(1))
    }

    /// Keeps every credential fresh until cancelled.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            let wait = self.refresh_due().await;
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    pub(crate) async fn record_probe(&self, name: &str, ok: bool) {
        if let Ok(slot) = self.slot(name) {
            let now = self.clock.now();
            let state = slot.update_state(|s| {
                s.last_probe = Some(now);
                s.last_probe_ok = Some(ok);
            });
            self.sink.save(&state).await;
        }
    }
}

fn new_slot(
    cfg: CredentialConfig,
    opts: &ServiceOptions,
    cache: &BTreeMap<String, CacheEntry>,
    now: DateTime<Utc>,
) -> Slot {
    let token_uri = cfg.token_uri.clone().unwrap_or_else(|| opts.token_uri.clone());
    let mut state = CredentialState::new(&cfg.name, CredentialKind::Unknown, "", &cfg.scopes);
    match CredentialFile::load(&cfg.name, &cfg.file) {
        Ok(f) => {
            state.kind = f.kind();
            state.account = f.account().to_string();
        }
        Err(e) => state.last_error = Some(e.to_string()),
    }
    // A cached token is reused only if it was issued to this account for every scope.
    let cached = cache
        .get(&cfg.name)
        .filter(|e| e.account == state.account && cfg.scopes.iter().all(|s| e.scopes.contains(s)) && e.expires_at > now)
        .map(|e| AccessToken::new(e.access_token.expose_secret(), e.expires_at));
    if let Some(t) = &cached {
        state.expires_at = Some(t.expires_at());
    }
    Slot {
        cfg,
        token_uri,
        cached: RwLock::new(cached),
        refresh: tokio::sync::Mutex::new(()),
        state: Mutex::new(state),
        block: Mutex::new(None),
    }
}

fn load_cache(opts: &ServiceOptions) -> BTreeMap<String, CacheEntry> {
    let Some(path) = &opts.cache_file else {
        return BTreeMap::new();
    };
    crate::secret_files::remove_stale_temps(path, Duration::from_secs(60));
    cache_file::read(path).unwrap_or_else(|problem| {
        tracing::warn!(%problem, "token cache file unusable; starting with an empty cache");
        BTreeMap::new()
    })
}

/// `base * 2^(attempt-1)`, with ±50% jitter so waiting callers do not retry in step.
fn backoff(base: Duration, attempt: u32) -> Duration {
    jada_core::Backoff::new(base, Duration::from_secs(30)).delay(attempt, rand::random(), None)
}

fn reauth_hint(slot: &Slot) -> &'static str {
    match slot.state().kind {
        CredentialKind::AuthorizedUser => ", then run `jada auth login` for it again",
        _ => "",
    }
}

fn to_auth_error(slot: &Slot, file: &CredentialFile, f: GrantFailure, attempts: u32) -> AuthError {
    let credential = slot.cfg.name.clone();
    match f {
        GrantFailure::Credential(reason) => {
            let fix = match file {
                CredentialFile::AuthorizedUser { .. } => format!("run `jada auth login {credential}`"),
                CredentialFile::ServiceAccount { client_email, .. } => format!(
                    "Google refused the key of {client_email}: create a new key for it and save it to {}",
                    slot.cfg.file.display()
                ),
            };
            AuthError::NeedsReauth {
                credential,
                reason,
                fix,
            }
        }
        GrantFailure::Clock(reason) => AuthError::ClockSkew { credential, reason },
        GrantFailure::Transient(last) => AuthError::Transient {
            credential,
            attempts,
            last,
        },
        GrantFailure::Refused(detail) => AuthError::Refused { credential, detail },
        GrantFailure::BadKey(problem) => AuthError::File {
            credential,
            path: slot.cfg.file.display().to_string(),
            problem,
        },
    }
}
