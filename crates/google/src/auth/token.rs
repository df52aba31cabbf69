//! An access token as handed to callers: cheap to clone, never printed.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

#[derive(Clone)]
pub struct AccessToken {
    secret: Arc<str>,
    expires_at: DateTime<Utc>,
}

impl AccessToken {
    pub fn new(secret: &str, expires_at: DateTime<Utc>) -> Self {
        AccessToken {
            secret: Arc::from(secret),
            expires_at,
        }
    }

    /// The token itself, for an `Authorization` header. Never log it.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// The header value: `Bearer <token>`.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.secret)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AccessToken(<redacted>, expires_at: {})",
            self.expires_at.to_rfc3339()
        )
    }
}
