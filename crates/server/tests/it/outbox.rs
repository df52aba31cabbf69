//! Events are retried, parked, and redelivered after a crash exactly once more.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jada_core::{CrewId, Event};
use jada_ops::events::{EventHandler, HandlerError};
use jada_server::alerts::conditions;
use jada_server::outbox::OutboxWorker;
use jada_store::{EventStatus, OutboxStore};

use crate::support::*;

#[derive(Default)]
struct Handler {
    fail: bool,
    calls: AtomicU32,
}

#[async_trait]
impl EventHandler for Handler {
    async fn handle_batch(&self, events: &[Event]) -> Result<(), HandlerError> {
        self.calls.fetch_add(events.len() as u32, Ordering::SeqCst);
        if self.fail {
            Err(HandlerError::Retry("sheets answered 503".into()))
        } else {
            Ok(())
        }
    }
}

fn event() -> Event {
    Event::CrewChanged {
        crew_id: CrewId::parse("ana").unwrap(),
    }
}

fn worker(env: &Env, h: Arc<Handler>) -> OutboxWorker {
    let mut w = OutboxWorker::new(env.store.clone(), env.clock.clone()).handle("crew.changed", h);
    w.max_attempts = 3;
    w.backoff = Duration::from_secs(10);
    w
}

#[tokio::test]
async fn a_failing_event_is_retried_with_backoff_then_parked_with_an_alert() {
    let env = Env::new("2024-05-03T08:00:00Z");
    let h = Arc::new(Handler {
        fail: true,
        ..Default::default()
    });
    let w = worker(&env, h.clone());
    let e = env.store.enqueue_event(&event(), env.clock_now()).await.unwrap();
    assert_eq!(w.try_execute_one().await.unwrap().retried, 1);
    assert_eq!(w.try_execute_one().await.unwrap().total(), 0, "backing off");
    for _ in 0..2 {
        env.advance(2);
        w.try_execute_one().await.unwrap();
    }
    assert_eq!(h.calls.load(Ordering::SeqCst), 3);
    let dead = env.store.get_event(e.event_id).await.unwrap().unwrap();
    assert_eq!(dead.status, EventStatus::Dead);
    assert_eq!(
        dead.last_error.as_deref(),
        Some("sheets answered 503 (gave up after 3 attempts)")
    );
    let firing = conditions(env.store.as_ref(), &[], &[], env.clock_now(), env.clock_now())
        .await
        .unwrap();
    assert_eq!(firing[0].key, "dead-letters");
    assert!(firing[0].summary.contains("jada dlq list"));
}

#[tokio::test]
async fn an_event_claimed_by_a_worker_that_died_is_processed_again_once() {
    let env = Env::new("2024-05-03T08:00:00Z");
    env.store.enqueue_event(&event(), env.clock_now()).await.unwrap();
    // A worker claims the event and dies before acking it.
    let claimed = env
        .store
        .claim_due_events(env.clock_now(), Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);

    let h = Arc::new(Handler::default());
    let w = worker(&env, h.clone());
    assert_eq!(w.drain().await.unwrap().total(), 0, "still leased to the dead worker");
    env.advance(2);
    assert_eq!(
        w.drain().await.unwrap().handled,
        1,
        "after the lease, the next worker takes it"
    );
    env.advance(10);
    assert_eq!(w.drain().await.unwrap().total(), 0);
    assert_eq!(h.calls.load(Ordering::SeqCst), 1, "processed again exactly once");
}

#[tokio::test]
async fn events_no_one_consumes_yet_are_acked_not_left_to_pile_up() {
    let env = Env::new("2024-05-03T08:00:00Z");
    let w = OutboxWorker::new(env.store.clone(), env.clock.clone());
    env.store.enqueue_event(&event(), env.clock_now()).await.unwrap();
    assert_eq!(w.drain().await.unwrap().unhandled, 1);
    assert_eq!(env.store.count_events(EventStatus::Done).await.unwrap(), 1);
}
