//! A store's word that it wrote outbox events, so this process's outbox worker can run
//! at once instead of waiting for its next poll. Only this process's writes ring it; the
//! worker still polls (backing off while idle) for events other processes wrote.

use std::sync::Arc;

use tokio::sync::Notify;

/// Rung after a write that queued outbox events has committed.
#[derive(Debug, Clone, Default)]
pub struct EventsWritten(Arc<Notify>);

impl EventsWritten {
    /// Says events were written. Kept until someone waits, so a write between two
    /// waits is never missed.
    pub fn ring(&self) {
        self.0.notify_one();
    }

    /// Until the next write (or at once if one came since the last wait).
    pub async fn wait(&self) {
        self.0.notified().await
    }
}
