//! Credential health: the token service reports it through a sink that writes the
//! store, and `jada auth status` (later `jada doctor` and the status page) read it back
//! merged with what is configured.

use std::sync::Arc;

use async_trait::async_trait;
use jada_core::CredentialState;
use jada_google::auth::{CredentialStateSink, TokenService};
use jada_store::{Store, StoreError};

/// Writes every credential state the token service reports into the store.
pub struct StoreStateSink {
    store: Arc<dyn Store>,
    /// Told when a credential is found to need re-auth, so the daemon alerts within
    /// seconds instead of at its next evaluation.
    alerts_due: Option<Arc<tokio::sync::Notify>>,
}

impl StoreStateSink {
    pub fn new(store: Arc<dyn Store>) -> Self {
        StoreStateSink {
            store,
            alerts_due: None,
        }
    }

    /// The same sink, waking `alerts_due` whenever a credential needs re-auth.
    pub fn alerting(store: Arc<dyn Store>, alerts_due: Arc<tokio::sync::Notify>) -> Self {
        StoreStateSink {
            store,
            alerts_due: Some(alerts_due),
        }
    }
}

#[async_trait]
impl CredentialStateSink for StoreStateSink {
    async fn save(&self, state: &CredentialState) {
        if let Err(e) = self.store.put_credential_state(state).await {
            // The token itself was still handed out; the record is what failed.
            tracing::error!(credential = %state.name, error = %e, "cannot record credential state");
        }
        if state.needs_reauth {
            if let Some(n) = &self.alerts_due {
                n.notify_one();
            }
        }
    }
}

/// Every configured credential's state: what the store recorded (by any process, the
/// daemon included), brought up to date with what this process knows.
pub async fn status(tokens: &TokenService, store: &dyn Store) -> Result<Vec<CredentialState>, StoreError> {
    let recorded = store.list_credential_states().await?;
    Ok(tokens
        .states()
        .into_iter()
        .map(|live| match recorded.iter().find(|r| r.name == live.name) {
            None => live,
            Some(r) => merge(r.clone(), live),
        })
        .collect())
}

fn merge(mut recorded: CredentialState, live: CredentialState) -> CredentialState {
    // Configuration and the file are the truth for what the credential is.
    recorded.kind = live.kind;
    recorded.scopes = live.scopes;
    if !live.account.is_empty() {
        recorded.account = live.account;
    }
    // A later expiry means a token was fetched since the record was written.
    if live.expires_at > recorded.expires_at {
        recorded.expires_at = live.expires_at;
    }
    if recorded.last_error.is_none() && live.last_error.is_some() {
        recorded.last_error = live.last_error;
    }
    recorded
}
