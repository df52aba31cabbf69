//! The outbox in SQLite. Claims are leases (`claimed_until`), so an event claimed by a
//! worker that died becomes due again when the lease runs out.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jada_core::Event;
use rusqlite::{params, Connection, OptionalExtension, Row};
use uuid::Uuid;

use super::charters::insert_event;
use super::{corrupt, parse_ts, ts, SqliteStore};
use crate::{EventStatus, OutboxEvent, OutboxStore, Result, StoreError};

const COLUMNS: &str = "event_id, payload, created_at, status, attempts, next_attempt_at, last_error, finished_at";

#[async_trait]
impl OutboxStore for SqliteStore {
    fn events_written(&self) -> crate::EventsWritten {
        self.events.clone()
    }

    async fn enqueue_event(&self, event: &Event, now: DateTime<Utc>) -> Result<OutboxEvent> {
        let event = event.clone();
        let queued = self
            .call(move |conn| {
                let id = insert_event(conn, &event, now)?;
                get(conn, id)?.ok_or_else(|| corrupt("outbox event", format!("{id} vanished after insert")))
            })
            .await?;
        self.events.ring();
        Ok(queued)
    }

    async fn release_claims(&self, now: DateTime<Utc>) -> Result<u64> {
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE outbox SET claimed_until = NULL WHERE status = 'pending' AND claimed_until > ?1",
                params![ts(now)],
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn claim_due_events(&self, now: DateTime<Utc>, lease: Duration, limit: usize) -> Result<Vec<OutboxEvent>> {
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        self.call(move |conn| {
            let tx = super::write_tx(conn)?;
            let sql = format!(
                "SELECT {COLUMNS} FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?1
                 AND (claimed_until IS NULL OR claimed_until <= ?1) ORDER BY seq LIMIT ?2"
            );
            let mut events = read_all(&tx, &sql, params![ts(now), limit as i64])?;
            let mut claim =
                tx.prepare_cached("UPDATE outbox SET claimed_until = ?2, attempts = attempts + 1 WHERE event_id = ?1")?;
            for e in &mut events {
                claim.execute(params![e.event_id.to_string(), ts(until)])?;
                e.attempts += 1;
            }
            drop(claim);
            tx.commit()?;
            Ok(events)
        })
        .await
    }

    async fn ack_event(&self, id: Uuid, now: DateTime<Utc>) -> Result<()> {
        change(self, id, "is not pending", "UPDATE outbox SET status = 'done', finished_at = ?2, claimed_until = NULL WHERE event_id = ?1 AND status = 'pending'", ts(now), None).await
    }

    async fn fail_event(&self, id: Uuid, error: &str, next_attempt_at: DateTime<Utc>) -> Result<()> {
        change(self, id, "is not pending", "UPDATE outbox SET next_attempt_at = ?2, last_error = ?3, claimed_until = NULL WHERE event_id = ?1 AND status = 'pending'", ts(next_attempt_at), Some(error.to_string())).await
    }

    async fn release_event(&self, id: Uuid, error: &str, next_attempt_at: DateTime<Utc>) -> Result<()> {
        change(self, id, "is not pending", "UPDATE outbox SET next_attempt_at = ?2, last_error = ?3, claimed_until = NULL, attempts = MAX(attempts - 1, 0) WHERE event_id = ?1 AND status = 'pending'", ts(next_attempt_at), Some(error.to_string())).await
    }

    async fn mark_event_dead(&self, id: Uuid, error: &str, now: DateTime<Utc>) -> Result<()> {
        change(self, id, "is not pending", "UPDATE outbox SET status = 'dead', finished_at = ?2, last_error = ?3, claimed_until = NULL WHERE event_id = ?1 AND status = 'pending'", ts(now), Some(error.to_string())).await
    }

    async fn retry_dead_event(&self, id: Uuid, now: DateTime<Utc>) -> Result<()> {
        change(self, id, "is not a dead letter", "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?2, finished_at = NULL WHERE event_id = ?1 AND status = 'dead'", ts(now), None).await
    }

    async fn drop_dead_event(&self, id: Uuid, now: DateTime<Utc>) -> Result<()> {
        change(
            self,
            id,
            "is not a dead letter",
            "UPDATE outbox SET status = 'dropped', finished_at = ?2 WHERE event_id = ?1 AND status = 'dead'",
            ts(now),
            None,
        )
        .await
    }

    async fn get_event(&self, id: Uuid) -> Result<Option<OutboxEvent>> {
        self.call(move |conn| get(conn, id)).await
    }

    async fn list_events(&self, status: EventStatus, limit: usize) -> Result<Vec<OutboxEvent>> {
        self.call(move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM outbox WHERE status = ?1 ORDER BY seq LIMIT ?2");
            read_all(conn, &sql, params![status.as_str(), limit as i64])
        })
        .await
    }

    async fn count_events(&self, status: EventStatus) -> Result<u64> {
        self.call(move |conn| {
            Ok(conn.query_row(
                "SELECT COUNT(*) FROM outbox WHERE status = ?1",
                [status.as_str()],
                |r| r.get(0),
            )?)
        })
        .await
    }
}

/// Runs one guarded state change; zero rows changed means the event was not in the
/// state the change needs (or does not exist), which the caller must hear about.
async fn change(
    store: &SqliteStore,
    id: Uuid,
    why: &'static str,
    sql: &'static str,
    at: String,
    error: Option<String>,
) -> Result<()> {
    store
        .call(move |conn| {
            let n = match &error {
                Some(e) => conn.execute(sql, params![id.to_string(), at, e])?,
                None => conn.execute(sql, params![id.to_string(), at])?,
            };
            if n == 0 {
                return Err(StoreError::NoSuchRecord {
                    what: "outbox event",
                    id: id.to_string(),
                    why,
                });
            }
            Ok(())
        })
        .await
}

fn get(conn: &Connection, id: Uuid) -> Result<Option<OutboxEvent>> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE event_id = ?1");
    conn.query_row(&sql, [id.to_string()], read_row).optional()?.transpose()
}

fn read_all<P: rusqlite::Params>(conn: &Connection, sql: &str, p: P) -> Result<Vec<OutboxEvent>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(p, read_row)?;
    rows.map(|r| r?).collect()
}

fn read_row(r: &Row) -> rusqlite::Result<Result<OutboxEvent>> {
    let id: String = r.get(0)?;
    let payload: String = r.get(1)?;
    let created_at: String = r.get(2)?;
    let status: String = r.get(3)?;
    let attempts: u32 = r.get(4)?;
    let next: String = r.get(5)?;
    let last_error: Option<String> = r.get(6)?;
    let finished: Option<String> = r.get(7)?;
    Ok((|| {
        Ok(OutboxEvent {
            event_id: id.parse().map_err(|_| corrupt("outbox event", format!("id `{id}`")))?,
            event: serde_json::from_str(&payload)
                .map_err(|e| corrupt("outbox event", format!("{id}: payload: {e}")))?,
            created_at: parse_ts("outbox created_at", &created_at)?,
            status: EventStatus::parse(&status)
                .ok_or_else(|| corrupt("outbox event", format!("{id}: status `{status}`")))?,
            attempts,
            next_attempt_at: parse_ts("outbox next_attempt_at", &next)?,
            last_error,
            finished_at: finished
                .as_deref()
                .map(|f| parse_ts("outbox finished_at", f))
                .transpose()?,
        })
    })())
}
