//! Why a token could not be had, classified so callers know whether waiting helps.
//! No variant carries a secret: messages hold names, paths, HTTP statuses and Google's
//! error descriptions, never tokens, keys or client secrets.

use crate::secret_files::LoosePermissions;

#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// No `[[credentials]]` entry has this name.
    #[error(
        "no credential named `{name}` is configured (configured: {known}); add a [[credentials]] entry to jada.toml"
    )]
    UnknownCredential { name: String, known: String },

    /// A caller asked for a scope the credential is not configured for.
    #[error("credential `{credential}` is not configured for scope `{scope}`: add it to the credential's `scopes` in jada.toml{reauth}")]
    ScopeNotConfigured {
        credential: String,
        scope: String,
        reauth: &'static str,
    },

    /// Google granted the token but refused a call for lack of scope (HTTP 403 `insufficientPermissions`).
    #[error("credential `{credential}` lacks a scope this call needs ({detail}): add the scope to the credential in jada.toml{reauth}")]
    InsufficientScope {
        credential: String,
        detail: String,
        reauth: &'static str,
    },

    /// Google refused the credential itself. Nothing works until an operator acts.
    #[error("credential `{credential}` needs re-auth: {fix} (Google said: {reason})")]
    NeedsReauth {
        credential: String,
        reason: String,
        fix: String,
    },

    /// Google refused the request's timestamps: this host's clock is wrong.
    #[error("credential `{credential}`: Google refused the token request's timestamps, so this machine's clock is probably wrong; check time sync (`timedatectl status`) (Google said: {reason})")]
    ClockSkew { credential: String, reason: String },

    /// A failure that may pass (timeouts, 429, 5xx, unreadable answers); retried already.
    #[error("credential `{credential}`: could not refresh the token after {attempts} attempt(s): {last}")]
    Transient {
        credential: String,
        attempts: u32,
        last: String,
    },

    /// Google refused the request for another reason; retrying will not help.
    #[error("credential `{credential}`: Google refused the token request: {detail}")]
    Refused { credential: String, detail: String },

    /// The credential file is missing, unreadable or not a Google credential file.
    #[error("credential `{credential}`: {path}: {problem}")]
    File {
        credential: String,
        path: String,
        problem: String,
    },

    /// The credential file or secrets directory is open to other users.
    #[error("credential `{credential}`: {source}")]
    Permissions {
        credential: String,
        #[source]
        source: LoosePermissions,
    },
}

impl jada_core::Fault for AuthError {
    /// Only a transient failure (already retried here) may pass by waiting; every other
    /// refusal needs a new credential file, a configuration change or a clock fix.
    fn recovery(&self) -> jada_core::Recovery {
        if self.is_transient() {
            jada_core::Recovery::Retry
        } else {
            jada_core::Recovery::Operator
        }
    }

    fn needs_reauth(&self) -> Option<&str> {
        match self {
            AuthError::NeedsReauth { credential, .. } => Some(credential),
            _ => None,
        }
    }
}

impl AuthError {
    /// Whether waiting and trying again may help.
    pub fn is_transient(&self) -> bool {
        matches!(self, AuthError::Transient { .. })
    }
}
