//! Credential files in the formats Google's own tools write: a service-account key
//! (`"type": "service_account"`, `client_email`, `private_key`, `token_uri`) or an
//! `authorized_user` file (`client_id`, `client_secret`, `refresh_token`), as gcloud and
//! `jada auth login` write them.

use std::fmt;
use std::path::{Path, PathBuf};

use jada_core::CredentialKind;
use secrecy::SecretString;
use serde_json::Value;

use super::AuthError;
use crate::secret_files::check_private_file;

/// One `[[credentials]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialConfig {
    pub name: String,
    pub file: PathBuf,
    pub scopes: Vec<String>,
    /// Domain-wide delegation: act as this user (needed to send Gmail as a person).
    pub subject: Option<String>,
    /// Overrides the token URI from `[google]` for this credential.
    pub token_uri: Option<String>,
}

/// A parsed credential file. Secrets are `SecretString`s: their `Debug` is redacted.
#[derive(Clone)]
pub enum CredentialFile {
    ServiceAccount {
        client_email: String,
        private_key: SecretString,
        private_key_id: Option<String>,
    },
    AuthorizedUser {
        client_id: String,
        client_secret: SecretString,
        refresh_token: SecretString,
    },
}

impl fmt::Debug for CredentialFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CredentialFile({} {}, secrets redacted)",
            self.kind().as_str(),
            self.account()
        )
    }
}

impl CredentialFile {
    pub fn kind(&self) -> CredentialKind {
        match self {
            CredentialFile::ServiceAccount { .. } => CredentialKind::ServiceAccount,
            CredentialFile::AuthorizedUser { .. } => CredentialKind::AuthorizedUser,
        }
    }

    /// The service account's email, or the OAuth client id a user authorised.
    pub fn account(&self) -> &str {
        match self {
            CredentialFile::ServiceAccount { client_email, .. } => client_email,
            CredentialFile::AuthorizedUser { client_id, .. } => client_id,
        }
    }

    /// Reads and checks a credential file: it must be private (0600, ours) and one of
    /// Google's two formats. Errors name the file and the field, never a value.
    pub fn load(credential: &str, path: &Path) -> Result<CredentialFile, AuthError> {
        let file_err = |problem: String| AuthError::File {
            credential: credential.to_string(),
            path: path.display().to_string(),
            problem,
        };
        let bytes = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => file_err(format!(
                "does not exist: save the key file there, or run `jada auth login {credential}` for a user credential"
            )),
            _ => file_err(format!("cannot be read: {e}")),
        })?;
        check_private_file(path).map_err(|source| AuthError::Permissions {
            credential: credential.to_string(),
            source,
        })?;
        // Parse to a Value first: serde's typed errors can quote field values, and these are secrets.
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
            file_err(format!(
                "is not valid JSON (line {}, column {}); it should be a key file as Google writes it",
                e.line(),
                e.column()
            ))
        })?;
        let field = |name: &str| -> Result<String, AuthError> {
            v.get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| file_err(format!("has no `{name}` field")))
        };
        match v.get("type").and_then(Value::as_str) {
            Some("service_account") => Ok(CredentialFile::ServiceAccount {
                client_email: field("client_email")?,
                private_key: SecretString::from(field("private_key")?),
                private_key_id: field("private_key_id").ok(),
            }),
            Some("authorized_user") => Ok(CredentialFile::AuthorizedUser {
                client_id: field("client_id")?,
                client_secret: SecretString::from(field("client_secret")?),
                refresh_token: SecretString::from(field("refresh_token")?),
            }),
            Some(other) => Err(file_err(format!(
                "is a `{other}` credential; jada reads `service_account` and `authorized_user` files"
            ))),
            None => Err(file_err(
                "has no `type` field; it should be a key file as Google writes it".into(),
            )),
        }
    }
}
