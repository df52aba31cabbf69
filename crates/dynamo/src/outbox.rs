//! The outbox in `jada-ops`. Index `gsi1` lists events by status in insertion order;
//! the sparse `gsi2` holds pending events by the instant they may next be claimed (their
//! next attempt, or the end of a live claim). A claim is a conditional write on the event
//! read, so two daemons never both claim one event.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jada_core::Event;
use jada_store::{EventStatus, OutboxEvent, OutboxStore, Result, StoreError};
use uuid::Uuid;

use crate::charters::new_event;
use crate::docs::{Change, Index, Query, Sk};
use crate::records::{event_pk, EventDoc};
use crate::wire::ts;
use crate::DynamoStore;

impl DynamoStore {
    /// Changes one event if it is in `from`; otherwise refuses saying `why`.
    async fn move_event(
        &self,
        id: Uuid,
        from: EventStatus,
        why: &'static str,
        f: impl Fn(&mut EventDoc) + Send + Sync,
    ) -> Result<()> {
        self.change::<EventDoc, bool, _>(&event_pk(id), "EVENT", |cur| match cur {
            Some(mut e) if e.event.status == from => {
                f(&mut e);
                Ok(Change::Write(e, true))
            }
            _ => Ok(Change::Keep(false)),
        })
        .await?
        .then_some(())
        .ok_or_else(|| StoreError::NoSuchRecord {
            what: "outbox event",
            id: id.to_string(),
            why,
        })
    }
}

#[async_trait]
impl OutboxStore for DynamoStore {
    fn events_written(&self) -> jada_store::EventsWritten {
        self.events.clone()
    }

    async fn enqueue_event(&self, event: &Event, now: DateTime<Utc>) -> Result<OutboxEvent> {
        let doc = new_event(event.clone(), now);
        self.put_doc(&doc, Some("")).await?;
        self.events.ring();
        Ok(doc.event)
    }

    async fn claim_due_events(&self, now: DateTime<Utc>, lease: Duration, limit: usize) -> Result<Vec<OutboxEvent>> {
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        // Everything due by now (`~` sorts after the order part of the key).
        let q = Query::on(Index::Gsi(2), "OUTBOX#DUE").sk(Sk::AtMost(format!("{}~", ts(now))));
        let mut due = self.query_docs::<EventDoc>(&q).await?;
        due.sort_by(|a, b| a.value.seq.cmp(&b.value.seq));
        let mut claimed = Vec::new();
        for doc in due {
            if claimed.len() >= limit {
                break;
            }
            let mut e = doc.value;
            // The index may lag the table: the condition on the token decides.
            if e.event.status != EventStatus::Pending || e.due() > now {
                continue;
            }
            e.claimed_until = Some(until);
            e.event.attempts += 1;
            if self.put_doc(&e, Some(&doc.tok)).await? {
                claimed.push(e.event);
            }
        }
        Ok(claimed)
    }

    async fn ack_event(&self, id: Uuid, now: DateTime<Utc>) -> Result<()> {
        self.move_event(id, EventStatus::Pending, "is not pending", |e| {
            e.event.status = EventStatus::Done;
            e.event.finished_at = Some(now);
            e.claimed_until = None;
        })
        .await
    }

    async fn fail_event(&self, id: Uuid, error: &str, next_attempt_at: DateTime<Utc>) -> Result<()> {
        self.move_event(id, EventStatus::Pending, "is not pending", |e| {
            e.event.next_attempt_at = next_attempt_at;
            e.event.last_error = Some(error.to_string());
            e.claimed_until = None;
        })
        .await
    }

    async fn release_event(&self, id: Uuid, error: &str, next_attempt_at: DateTime<Utc>) -> Result<()> {
        self.move_event(id, EventStatus::Pending, "is not pending", |e| {
            e.event.next_attempt_at = next_attempt_at;
            e.event.last_error = Some(error.to_string());
            e.event.attempts = e.event.attempts.saturating_sub(1);
            e.claimed_until = None;
        })
        .await
    }

    async fn mark_event_dead(&self, id: Uuid, error: &str, now: DateTime<Utc>) -> Result<()> {
        self.move_event(id, EventStatus::Pending, "is not pending", |e| {
            e.event.status = EventStatus::Dead;
            e.event.finished_at = Some(now);
            e.event.last_error = Some(error.to_string());
            e.claimed_until = None;
        })
        .await
    }

    async fn retry_dead_event(&self, id: Uuid, now: DateTime<Utc>) -> Result<()> {
        self.move_event(id, EventStatus::Dead, "is not a dead letter", |e| {
            e.event.status = EventStatus::Pending;
            e.event.attempts = 0;
            e.event.next_attempt_at = now;
            e.event.finished_at = None;
        })
        .await
    }

    async fn drop_dead_event(&self, id: Uuid, now: DateTime<Utc>) -> Result<()> {
        self.move_event(id, EventStatus::Dead, "is not a dead letter", |e| {
            e.event.status = EventStatus::Dropped;
            e.event.finished_at = Some(now);
        })
        .await
    }

    async fn get_event(&self, id: Uuid) -> Result<Option<OutboxEvent>> {
        Ok(self
            .get_doc::<EventDoc>(&event_pk(id), "EVENT")
            .await?
            .map(|d| d.value.event))
    }

    async fn list_events(&self, status: EventStatus, limit: usize) -> Result<Vec<OutboxEvent>> {
        let q = Query::on(Index::Gsi(1), format!("OUTBOX#{}", status.as_str())).limit(limit);
        Ok(self
            .query_values::<EventDoc>(&q)
            .await?
            .into_iter()
            .map(|d| d.event)
            .collect())
    }

    async fn count_events(&self, status: EventStatus) -> Result<u64> {
        self.count(&Query::on(Index::Gsi(1), format!("OUTBOX#{}", status.as_str())))
            .await
    }

    async fn release_claims(&self, now: DateTime<Utc>) -> Result<u64> {
        // Claims still running past now sort after it in the due index.
        let q = Query::on(Index::Gsi(2), "OUTBOX#DUE");
        let mut released = 0;
        for doc in self.query_docs::<EventDoc>(&q).await? {
            let mut e = doc.value;
            if e.claimed_until.is_some_and(|c| c > now) {
                e.claimed_until = None;
                if self.put_doc(&e, Some(&doc.tok)).await? {
                    released += 1;
                }
            }
        }
        Ok(released)
    }
}
