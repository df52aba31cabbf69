//! What jada knows about each configured Google credential: shown by `jada auth status`,
//! the status page and `jada doctor`, and persisted so every process sees the same.
//! Holds no secret: no token, key or refresh token ever enters this record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The kind of credential file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    ServiceAccount,
    AuthorizedUser,
    /// The file could not be read, so its kind is not known.
    Unknown,
}

impl CredentialKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            CredentialKind::ServiceAccount => "service_account",
            CredentialKind::AuthorizedUser => "authorized_user",
            CredentialKind::Unknown => "unknown",
        }
    }
}

/// Health of one credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialState {
    pub name: String,
    pub kind: CredentialKind,
    /// The service account's email, or the user's client id.
    pub account: String,
    pub scopes: Vec<String>,
    pub last_refresh: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The last failure, in words for the operator (never containing a secret).
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Google refused the credential itself: nothing works until an operator acts.
    pub needs_reauth: bool,
    pub last_probe: Option<DateTime<Utc>>,
    pub last_probe_ok: Option<bool>,
}

impl CredentialState {
    pub fn new(name: &str, kind: CredentialKind, account: &str, scopes: &[String]) -> Self {
        CredentialState {
            name: name.to_string(),
            kind,
            account: account.to_string(),
            scopes: scopes.to_vec(),
            last_refresh: None,
            expires_at: None,
            last_error: None,
            last_error_at: None,
            needs_reauth: false,
            last_probe: None,
            last_probe_ok: None,
        }
    }

    /// One word for tables: `needs-reauth`, `failing`, `ok` or `unknown`.
    pub fn health(&self, now: DateTime<Utc>) -> &'static str {
        if self.needs_reauth {
            "needs-reauth"
        } else if self.last_error.is_some() && self.expires_at.is_none_or(|e| e <= now) {
            "failing"
        } else if self.expires_at.is_some_and(|e| e > now) {
            if self.last_error.is_some() {
                "degraded"
            } else {
                "ok"
            }
        } else {
            "unknown"
        }
    }
}
