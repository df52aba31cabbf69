//! What the outbox worker hands events to. Each pipeline that reacts to a change (the
//! port-sheet sync, dispatch) implements [`EventHandler`] for its topic and receives every
//! due event of that topic at once, so it can do one batched write for many changes.

use async_trait::async_trait;
use jada_core::Event;

/// Why a batch was not handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerError {
    /// May pass (a timeout, a 503): retried with backoff, then parked as dead letters.
    Retry(String),
    /// Cannot pass without an operator (a credential needs re-auth): the events wait,
    /// without using up attempts, until the cause is fixed.
    Blocked(String),
}

impl std::fmt::Display for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandlerError::Retry(m) | HandlerError::Blocked(m) => f.write_str(m),
        }
    }
}

#[async_trait]
pub trait EventHandler: Send + Sync {
    /// Handles every due event of the handler's topic, all or nothing. The error's
    /// message is what the operator reads in `jada dlq list`.
    async fn handle_batch(&self, events: &[Event]) -> Result<(), HandlerError>;
}
