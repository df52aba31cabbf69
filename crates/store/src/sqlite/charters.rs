//! Charters in SQLite: batched writes with their outbox events, and the month index.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use jada_core::{Cents, Charter, CharterId, CharterStatus, CrewId, Event, Month};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use uuid::Uuid;

use super::{corrupt, parse_ts, ts, SqliteStore};
use crate::{CharterStore, CharterWrite, Result, StoreError, Turnarounds};

pub(super) const COLUMNS: &str = "charter_id, created_at, charter_date, start_time, end_time, vessel_name, guest_name, guest_count, captain_assigned, crew_assigned, reportable_revenue, tips, status, version";

#[async_trait]
impl CharterStore for SqliteStore {
    async fn write_charters(&self, writes: Vec<CharterWrite>, now: DateTime<Utc>) -> Result<Vec<Result<Charter>>> {
        let turnarounds = std::sync::Arc::clone(&self.turnarounds);
        let queues = writes.iter().any(|w| w.has_events());
        let results = self
            .call(move |conn| {
                let tx = super::write_tx(conn)?;
                let results = writes
                    .into_iter()
                    .map(|w| write_one(&tx, w, &turnarounds, now))
                    .collect::<Result<Vec<_>>>()?;
                tx.commit()?;
                Ok(results)
            })
            .await?;
        if queues {
            self.events.ring();
        }
        Ok(results)
    }

    async fn get_charter(&self, id: CharterId) -> Result<Option<Charter>> {
        self.call(move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM charters WHERE charter_id = ?1");
            conn.prepare_cached(&sql)?
                .query_row([id.to_string()], read_row)
                .optional()?
                .transpose()
        })
        .await
    }

    async fn get_charters(&self, ids: &[CharterId]) -> Result<Vec<Charter>> {
        let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        self.call(move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM charters WHERE charter_id = ?1");
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut found = Vec::new();
            for id in &ids {
                if let Some(c) = stmt.query_row([id], read_row).optional()? {
                    found.push(c?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn list_charters_in_month(&self, month: Month) -> Result<Vec<Charter>> {
        self.call(move |conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM charters WHERE month = ?1 ORDER BY charter_date, start_time, charter_id"
            );
            collect(conn, &sql, [month.to_string()])
        })
        .await
    }

    async fn list_charters_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Charter>> {
        self.call(move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM charters WHERE charter_date BETWEEN ?1 AND ?2 ORDER BY charter_date, start_time, charter_id");
            collect(conn, &sql, [from.to_string(), to.to_string()])
        })
        .await
    }
}

pub(super) fn collect<P: rusqlite::Params>(conn: &Connection, sql: &str, p: P) -> Result<Vec<Charter>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(p, read_row)?;
    rows.map(|r| r?).collect()
}

/// One write of a batch: the version check, the row, its events. A refusal is an inner
/// `Err` and writes nothing; an SQLite failure is the outer `Err` and aborts the batch.
fn write_one(
    tx: &Transaction,
    write: CharterWrite,
    turnarounds: &Turnarounds,
    now: DateTime<Utc>,
) -> Result<Result<Charter>> {
    let (mut charter, expected, events) = match write {
        CharterWrite::Create { charter, events } => (charter, None, events),
        CharterWrite::Update {
            charter,
            expected_version,
            events,
        } => (charter, Some(expected_version), events),
    };
    let id = charter.charter_id;
    let sql = format!("SELECT {COLUMNS} FROM charters WHERE charter_id = ?1");
    let before: Option<Charter> = tx
        .prepare_cached(&sql)?
        .query_row([id.to_string()], read_row)
        .optional()?
        .transpose()?;
    // An update that keeps the charter where and when it sails is not checked again: a
    // charter already overlapping (imported before the rule, written by the old scripts)
    // can still be crewed or cancelled; `jada charters check` lists it.
    let moves = before.as_ref().is_none_or(|b| !charter.keeps_slot_of(b));
    let current = before.map(|b| (b.version, b.created_at));
    match (expected, current) {
        (None, Some(_)) => return Ok(Err(StoreError::CharterExists(id))),
        (Some(_), None) => return Ok(Err(StoreError::CharterNotFound(id))),
        (Some(expected), Some((actual, _))) if expected != actual => {
            return Ok(Err(StoreError::StaleVersion { id, expected, actual }))
        }
        (None, None) => charter.version = 1,
        (Some(expected), Some((_, created_at))) => {
            // The creation time is the table's sort key: it never changes.
            charter.created_at = created_at;
            charter.version = expected + 1;
        }
    }
    // One vessel, one charter at a time: checked in this (immediate, so serialised)
    // transaction, against every charter of that day the store holds.
    if charter.holds_vessel() && moves {
        let sql = format!(
            "SELECT {COLUMNS} FROM charters WHERE charter_date = ?1 AND status <> 'cancelled' AND charter_id <> ?2"
        );
        let same_day = collect(tx, &sql, [charter.charter_date.to_string(), id.to_string()])?;
        if let Some(other) = turnarounds.first_overlap(&charter, &same_day) {
            return Ok(Err(turnarounds.refusal(&charter, other)));
        }
    }
    put(tx, &charter, now)?;
    for event in &events {
        insert_event(tx, event, now)?;
    }
    Ok(Ok(charter))
}

/// Writes the row. The version check has already passed in this transaction; on an
/// update `created_at` is left as stored, since it is the table's sort key.
pub(super) fn put(tx: &Connection, c: &Charter, now: DateTime<Utc>) -> Result<()> {
    let sql = format!(
        "INSERT INTO charters ({COLUMNS}, month, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT(charter_id) DO UPDATE SET charter_date = excluded.charter_date, month = excluded.month,
            start_time = excluded.start_time, end_time = excluded.end_time, vessel_name = excluded.vessel_name,
            guest_name = excluded.guest_name, guest_count = excluded.guest_count,
            captain_assigned = excluded.captain_assigned, crew_assigned = excluded.crew_assigned,
            reportable_revenue = excluded.reportable_revenue, tips = excluded.tips, status = excluded.status,
            version = excluded.version, updated_at = excluded.updated_at"
    );
    tx.prepare_cached(&sql)?.execute(params![
        c.charter_id.to_string(),
        ts(c.created_at),
        c.charter_date.to_string(),
        c.start_time.format("%H:%M:%S").to_string(),
        c.end_time.format("%H:%M:%S").to_string(),
        c.vessel_name,
        c.guest_name,
        c.guest_count,
        c.captain_assigned.as_ref().map(|x| x.as_str()),
        join_crew(&c.crew_assigned),
        c.reportable_revenue.0,
        c.tips.0,
        c.status.as_str(),
        c.version,
        Month::of(c.charter_date).to_string(),
        ts(now),
    ])?;
    Ok(())
}

/// Writes an outbox event inside the caller's transaction.
pub(super) fn insert_event(tx: &Connection, event: &Event, now: DateTime<Utc>) -> Result<Uuid> {
    let id = Uuid::new_v4();
    let payload = serde_json::to_string(event).map_err(|e| StoreError::Backend(Box::new(e)))?;
    tx.prepare_cached(
        "INSERT INTO outbox (event_id, topic, payload, created_at, status, attempts, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?4)",
    )?
    .execute(params![id.to_string(), event.topic(), payload, ts(now)])?;
    Ok(id)
}

fn join_crew(crew: &[CrewId]) -> String {
    crew.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(";")
}

/// Reads a row; the inner `Result` carries a parse failure of stored data.
pub(super) fn read_row(r: &Row) -> rusqlite::Result<Result<Charter>> {
    let id: String = r.get(0)?;
    let created_at: String = r.get(1)?;
    let date: String = r.get(2)?;
    let start: String = r.get(3)?;
    let end: String = r.get(4)?;
    let captain: Option<String> = r.get(8)?;
    let crew: String = r.get(9)?;
    let status: String = r.get(12)?;
    let fields = (r.get(5)?, r.get(6)?, r.get(7)?, r.get(10)?, r.get(11)?, r.get(13)?);
    Ok((|| {
        let bad = |e: jada_core::ParseError| corrupt("charter", format!("{id}: {e}"));
        let time = |s: &str| {
            NaiveTime::parse_from_str(s, "%H:%M:%S").map_err(|e| corrupt("charter", format!("{id}: time `{s}`: {e}")))
        };
        let (vessel_name, guest_name, guest_count, revenue, tips, version) = fields;
        Ok(Charter {
            charter_id: CharterId::parse(&id).map_err(bad)?,
            created_at: parse_ts("charter created_at", &created_at)?,
            charter_date: date
                .parse()
                .map_err(|e| corrupt("charter", format!("{id}: date `{date}`: {e}")))?,
            start_time: time(&start)?,
            end_time: time(&end)?,
            vessel_name,
            guest_name,
            guest_count,
            captain_assigned: captain.as_deref().map(CrewId::parse).transpose().map_err(bad)?,
            crew_assigned: CrewId::parse_list(&crew).map_err(bad)?,
            reportable_revenue: Cents(revenue),
            tips: Cents(tips),
            status: CharterStatus::parse(&status).map_err(bad)?,
            version,
        })
    })())
}
