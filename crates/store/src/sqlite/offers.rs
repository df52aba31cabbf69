//! Dispatch offers and dispatch states in SQLite. Accepting is one write transaction
//! (BEGIN IMMEDIATE): concurrent accepts are serialised, so a seat has one winner and
//! a person is never put on two overlapping charters.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jada_core::{
    dispatch::overlaps, CharterId, CharterStatus, ChatMessage, CrewId, Event, Offer, OfferStatus, SeatKind,
};
use rusqlite::{params, Connection, OptionalExtension, Row};
use uuid::Uuid;

use super::charters::{insert_event, put, read_row, COLUMNS};
use super::chats::insert_chat;
use super::{corrupt, parse_ts, ts, SqliteStore};
use crate::{Acceptance, DispatchRecord, DispatchStatus, OfferStore, Result};

pub(super) const OFFER_COLUMNS: &str =
    "offer_id, charter_id, crew_id, seat, status, offered_at, expires_at, answered_at";

pub(super) fn seat_str(s: SeatKind) -> &'static str {
    match s {
        SeatKind::Captain => "captain",
        SeatKind::Crew => "crew",
    }
}

pub(super) fn status_str(s: OfferStatus) -> &'static str {
    match s {
        OfferStatus::Offered => "offered",
        OfferStatus::Accepted => "accepted",
        OfferStatus::Declined => "declined",
        OfferStatus::Expired => "expired",
        OfferStatus::Withdrawn => "withdrawn",
    }
}

fn read_offer(r: &Row) -> rusqlite::Result<Result<Offer>> {
    let cols: (String, String, String, String, String, String, String, Option<String>) = (
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    );
    Ok((|| {
        let (id, charter, crew, seat, status, offered, expires, answered) = cols;
        let bad = |what: &str| corrupt("offer", format!("{id}: {what}"));
        Ok(Offer {
            offer_id: Uuid::parse_str(&id).map_err(|_| bad("id"))?,
            charter_id: CharterId::parse(&charter).map_err(|_| bad("charter id"))?,
            crew_id: CrewId::parse(&crew).map_err(|_| bad("crew id"))?,
            seat: match seat.as_str() {
                "captain" => SeatKind::Captain,
                "crew" => SeatKind::Crew,
                _ => return Err(bad("seat")),
            },
            status: [
                OfferStatus::Offered,
                OfferStatus::Accepted,
                OfferStatus::Declined,
                OfferStatus::Expired,
                OfferStatus::Withdrawn,
            ]
            .into_iter()
            .find(|s| status_str(*s) == status)
            .ok_or_else(|| bad("status"))?,
            offered_at: parse_ts("offer offered_at", &offered)?,
            expires_at: parse_ts("offer expires_at", &expires)?,
            answered_at: answered.map(|a| parse_ts("offer answered_at", &a)).transpose()?,
        })
    })())
}

fn offers<P: rusqlite::Params>(conn: &Connection, filter: &str, p: P) -> Result<Vec<Offer>> {
    let sql = format!("SELECT {OFFER_COLUMNS} FROM offers WHERE {filter}");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(p, read_offer)?;
    rows.map(|r| r?).collect()
}

/// The checks and writes of an accept, inside its transaction.
fn accept(conn: &Connection, id: Uuid, now: DateTime<Utc>, seats: u32, note: &ChatMessage) -> Result<Acceptance> {
    let Some(offer) = offers(conn, "offer_id = ?1", [id.to_string()])?.pop() else {
        return Ok(Acceptance::NotOpen(OfferStatus::Withdrawn));
    };
    if !offer.status.is_open() {
        return Ok(Acceptance::NotOpen(offer.status));
    }
    if offer.is_expired_at(now) {
        return Ok(Acceptance::PastDeadline);
    }
    let sql = format!("SELECT {COLUMNS} FROM charters WHERE charter_id = ?1");
    let charter = conn
        .prepare_cached(&sql)?
        .query_row([offer.charter_id.to_string()], read_row)
        .optional()?
        .transpose()?;
    let Some(mut charter) = charter.filter(|c| c.status != CharterStatus::Cancelled) else {
        return Ok(Acceptance::CharterClosed);
    };
    if charter.people().any(|p| *p == offer.crew_id) {
        return Ok(Acceptance::Busy(charter.charter_id));
    }
    let taken = match offer.seat {
        SeatKind::Captain => charter.captain_assigned.is_some(),
        SeatKind::Crew => charter.crew_assigned.len() as u32 >= seats,
    };
    if taken {
        return Ok(Acceptance::SeatTaken);
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM charters WHERE charter_date = ?1 AND charter_id != ?2 AND status != 'cancelled'"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let same_day = stmt.query_map(
        params![charter.charter_date.to_string(), charter.charter_id.to_string()],
        read_row,
    )?;
    for other in same_day {
        let other = other??;
        if overlaps(&other, &charter) && other.people().any(|p| *p == offer.crew_id) {
            return Ok(Acceptance::Busy(other.charter_id));
        }
    }
    match offer.seat {
        SeatKind::Captain => charter.captain_assigned = Some(offer.crew_id.clone()),
        SeatKind::Crew => charter.crew_assigned.push(offer.crew_id.clone()),
    }
    charter.version += 1;
    put(conn, &charter, now)?;
    insert_event(
        conn,
        &Event::CharterChanged {
            charter_id: charter.charter_id,
            version: charter.version,
        },
        now,
    )?;
    conn.prepare_cached("UPDATE offers SET status = 'accepted', answered_at = ?2 WHERE offer_id = ?1")?
        .execute(params![id.to_string(), ts(now)])?;
    insert_chat(conn, note)?;
    Ok(Acceptance::Accepted(charter))
}

#[async_trait]
impl OfferStore for SqliteStore {
    async fn create_offer(&self, offer: &Offer, note: &ChatMessage) -> Result<()> {
        let (o, note) = (offer.clone(), note.clone());
        self.call(move |conn| {
            let tx = super::write_tx(conn)?;
            tx.prepare_cached(&format!(
                "INSERT INTO offers ({OFFER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))?
            .execute(params![
                o.offer_id.to_string(),
                o.charter_id.to_string(),
                o.crew_id.as_str(),
                seat_str(o.seat),
                status_str(o.status),
                ts(o.offered_at),
                ts(o.expires_at),
                o.answered_at.map(ts),
            ])?;
            insert_chat(&tx, &note)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn get_offer(&self, id: Uuid) -> Result<Option<Offer>> {
        self.call(move |conn| Ok(offers(conn, "offer_id = ?1", [id.to_string()])?.pop()))
            .await
    }

    async fn list_offers_for_charter(&self, charter: CharterId) -> Result<Vec<Offer>> {
        self.call(move |conn| {
            offers(
                conn,
                "charter_id = ?1 ORDER BY offered_at, offer_id",
                [charter.to_string()],
            )
        })
        .await
    }

    async fn list_open_offers_for_crew(&self, crew: &CrewId) -> Result<Vec<Offer>> {
        let crew = crew.to_string();
        self.call(move |conn| offers(conn, "crew_id = ?1 AND status = 'offered' ORDER BY expires_at", [crew]))
            .await
    }

    async fn list_offers_due(&self, now: DateTime<Utc>) -> Result<Vec<Offer>> {
        self.call(move |conn| {
            offers(
                conn,
                "status = 'offered' AND expires_at <= ?1 ORDER BY expires_at",
                [ts(now)],
            )
        })
        .await
    }

    async fn close_offer(&self, id: Uuid, status: OfferStatus, now: DateTime<Utc>, note: &ChatMessage) -> Result<bool> {
        if matches!(status, OfferStatus::Offered | OfferStatus::Accepted) {
            return Err(corrupt(
                "offer",
                format!("{id}: close_offer cannot make an offer {}", status_str(status)),
            ));
        }
        let note = note.clone();
        self.call(move |conn| {
            let tx = super::write_tx(conn)?;
            let n = tx
                .prepare_cached(
                    "UPDATE offers SET status = ?2, answered_at = ?3 WHERE offer_id = ?1 AND status = 'offered'",
                )?
                .execute(params![id.to_string(), status_str(status), ts(now)])?;
            if n == 1 {
                insert_chat(&tx, &note)?;
            }
            tx.commit()?;
            Ok(n == 1)
        })
        .await
    }

    async fn accept_offer(&self, id: Uuid, now: DateTime<Utc>, seats: u32, note: &ChatMessage) -> Result<Acceptance> {
        let note = note.clone();
        let outcome = self
            .call(move |conn| {
                let tx = super::write_tx(conn)?;
                let outcome = accept(&tx, id, now, seats, &note)?;
                if matches!(outcome, Acceptance::Accepted(_)) {
                    tx.commit()?;
                }
                Ok(outcome)
            })
            .await?;
        if matches!(outcome, Acceptance::Accepted(_)) {
            self.events.ring();
        }
        Ok(outcome)
    }

    async fn put_dispatch(&self, r: &DispatchRecord) -> Result<()> {
        let r = r.clone();
        self.call(move |conn| {
            conn.prepare_cached(
                "INSERT INTO dispatches (charter_id, status, detail, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(charter_id) DO UPDATE SET status = excluded.status, detail = excluded.detail, updated_at = excluded.updated_at",
            )?
            .execute(params![r.charter_id.to_string(), r.status.as_str(), r.detail, ts(r.updated_at)])?;
            Ok(())
        })
        .await
    }

    async fn get_dispatch(&self, charter: CharterId) -> Result<Option<DispatchRecord>> {
        self.call(move |conn| Ok(dispatches(conn, "charter_id = ?1", [charter.to_string()])?.pop()))
            .await
    }

    async fn list_dispatches(&self, status: DispatchStatus) -> Result<Vec<DispatchRecord>> {
        self.call(move |conn| dispatches(conn, "status = ?1 ORDER BY charter_id", [status.as_str()]))
            .await
    }
}

fn dispatches<P: rusqlite::Params>(conn: &Connection, filter: &str, p: P) -> Result<Vec<DispatchRecord>> {
    let sql = format!("SELECT charter_id, status, detail, updated_at FROM dispatches WHERE {filter}");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(p, |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    rows.map(|row| {
        let (id, status, detail, at) = row?;
        Ok(DispatchRecord {
            charter_id: CharterId::parse(&id).map_err(|_| corrupt("dispatch", format!("charter id `{id}`")))?,
            status: DispatchStatus::parse(&status)
                .ok_or_else(|| corrupt("dispatch", format!("{id}: status `{status}`")))?,
            detail,
            updated_at: parse_ts("dispatch updated_at", &at)?,
        })
    })
    .collect()
}
