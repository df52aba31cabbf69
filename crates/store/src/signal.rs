//! A store's word that it wrote outbox events, so this process's outbox worker can run
//! at once instead of waiting for its next poll. Only this process's writes ring it; the
//! worker still polls (backing off while idle) for events other processes wrote.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

/// Rung after a write that queued outbox events has committed; also keeps the earliest
/// time this process set an event to be tried again, so an idle worker's backing-off poll
/// never sleeps past it.
#[derive(Debug, Clone, Default)]
pub struct EventsWritten {
    bell: Arc<Notify>,
    next_due: Arc<Mutex<Option<DateTime<Utc>>>>,
}

impl EventsWritten {
    /// Says events were written. Kept until someone waits, so a write between two
    /// waits is never missed.
    pub fn ring(&self) {
        self.bell.notify_one();
    }

    /// Until the next write (or at once if one came since the last wait).
    pub async fn wait(&self) {
        self.bell.notified().await
    }

    /// An event of this process falls due again at `at` (a retry, a release).
    pub fn due_at(&self, at: DateTime<Utc>) {
        let mut next = self.next_due.lock().unwrap_or_else(|p| p.into_inner());
        *next = Some(next.map_or(at, |n| n.min(at)));
    }

    /// The earliest time an event falls due that is still ahead of `now` (one already
    /// passed is forgotten: the run that follows takes it).
    pub fn next_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut next = self.next_due.lock().unwrap_or_else(|p| p.into_inner());
        if next.is_some_and(|n| n <= now) {
            *next = None;
        }
        *next
    }
}
