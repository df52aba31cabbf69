//! The outbox worker: claims due events, hands each to the handler for its topic, acks
//! it, or records the failure and when to try again; after the last attempt the event is
//! parked as a dead letter (which raises an alert). Nothing is removed without a record.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jada_core::Clock;
use jada_core::Event;
use jada_ops::events::{EventHandler, HandlerError};
use jada_store::{OutboxEvent, Store, StoreError};

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    pub handled: usize,
    pub retried: usize,
    pub dead: usize,
    /// Events whose topic has no handler yet (acked: nothing in this build consumes them).
    pub unhandled: usize,
    /// Events whose handler needs an operator first (released, attempts kept).
    pub blocked: usize,
}

impl Drained {
    pub fn total(&self) -> usize {
        self.handled + self.retried + self.dead + self.unhandled + self.blocked
    }

    fn add(&mut self, o: Drained) {
        self.handled += o.handled;
        self.retried += o.retried;
        self.dead += o.dead;
        self.unhandled += o.unhandled;
        self.blocked += o.blocked;
    }
}

pub struct OutboxWorker {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub handlers: HashMap<&'static str, Arc<dyn EventHandler>>,
    /// Attempts before an event is parked as dead (default 5).
    pub max_attempts: u32,
    /// First retry delay, doubled per attempt with jitter (default 10 s).
    pub backoff: Duration,
    /// How long a claim lasts before another worker may take the event (default 60 s).
    pub lease: Duration,
    /// How long blocked events wait before being offered again (default 60 s).
    pub blocked_wait: Duration,
    pub batch: usize,
    /// Woken when an event is parked as a dead letter, so it is alerted on at once.
    pub alerts_due: Option<Arc<tokio::sync::Notify>>,
}

impl OutboxWorker {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        OutboxWorker {
            store,
            clock,
            handlers: HashMap::new(),
            max_attempts: 5,
            backoff: Duration::from_secs(10),
            lease: Duration::from_secs(60),
            blocked_wait: Duration::from_secs(60),
            // Large, so a burst of changes reaches a consumer as one batch (one Sheets write).
            batch: 5000,
            alerts_due: None,
        }
    }

    pub fn handle(mut self, topic: &'static str, handler: Arc<dyn EventHandler>) -> Self {
        self.handlers.insert(topic, handler);
        self
    }

    /// Claims one batch of due events and hands each topic's events to its handler at once.
    pub async fn try_execute_one(&self) -> Result<Drained, StoreError> {
        let mut d = Drained::default();
        let claimed = self
            .store
            .claim_due_events(self.clock.now(), self.lease, self.batch)
            .await?;
        let mut by_topic: Vec<(&'static str, Vec<OutboxEvent>)> = Vec::new();
        for e in claimed {
            match by_topic.iter_mut().find(|(t, _)| *t == e.event.topic()) {
                Some((_, v)) => v.push(e),
                None => by_topic.push((e.event.topic(), vec![e])),
            }
        }
        for (topic, events) in by_topic {
            let Some(handler) = self.handlers.get(topic) else {
                tracing::debug!(topic, n = events.len(), "no handler for this topic; acking");
                for e in &events {
                    self.store.ack_event(e.event_id, self.clock.now()).await?;
                }
                d.unhandled += events.len();
                continue;
            };
            let payload: Vec<Event> = events.iter().map(|e| e.event.clone()).collect();
            match handler.handle_batch(&payload).await {
                Ok(()) => {
                    for e in &events {
                        self.store.ack_event(e.event_id, self.clock.now()).await?;
                    }
                    d.handled += events.len();
                }
                Err(HandlerError::Blocked(why)) => {
                    tracing::warn!(topic, n = events.len(), error = %why, "events wait for an operator");
                    let next = self.clock.now() + chrono::Duration::from_std(self.blocked_wait).unwrap_or_default();
                    for e in &events {
                        self.store.release_event(e.event_id, &why, next).await?;
                    }
                    self.store.events_written().due_at(next);
                    d.blocked += events.len();
                }
                Err(HandlerError::Retry(error)) => {
                    for e in &events {
                        self.fail(e, &error, &mut d).await?;
                    }
                }
            }
        }
        Ok(d)
    }

    async fn fail(&self, e: &OutboxEvent, error: &str, d: &mut Drained) -> Result<(), StoreError> {
        if e.attempts >= self.max_attempts {
            let why = format!("{error} (gave up after {} attempts)", e.attempts);
            tracing::error!(event = %e.event_id, topic = e.event.topic(), error = %why, "event parked as a dead letter");
            self.store.mark_event_dead(e.event_id, &why, self.clock.now()).await?;
            d.dead += 1;
            if let Some(n) = &self.alerts_due {
                n.notify_one();
            }
        } else {
            let wait = jada_core::Backoff::new(self.backoff, Duration::from_secs(6 * 3600)).delay(
                e.attempts,
                rand::random(),
                None,
            );
            let next = self.clock.now() + chrono::Duration::from_std(wait).unwrap_or_default();
            tracing::warn!(event = %e.event_id, topic = e.event.topic(), attempt = e.attempts, %error, "event failed; will retry");
            self.store.fail_event(e.event_id, error, next).await?;
            // The idle poll must not sleep past the retry.
            self.store.events_written().due_at(next);
            d.retried += 1;
        }
        Ok(())
    }

    /// Processes batches until nothing is due.
    pub async fn drain(&self) -> Result<Drained, StoreError> {
        let mut total = Drained::default();
        loop {
            let step = self.try_execute_one().await?;
            total.add(step);
            // Blocked events are released for later: do not spin on them.
            if step.total() < self.batch || step.blocked > 0 {
                return Ok(total);
            }
        }
    }
}
