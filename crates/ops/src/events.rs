//! What the outbox worker hands events to. Each pipeline that reacts to a change (the
//! port-sheet sync, dispatch) implements [`EventHandler`] for its topics.

use async_trait::async_trait;
use jada_core::Event;

#[async_trait]
pub trait EventHandler: Send + Sync {
    /// Handles one event. An `Err` is retried with backoff, then parked as a dead letter;
    /// its message is what the operator reads in `jada dlq list`.
    async fn handle(&self, event: &Event) -> Result<(), String>;
}
