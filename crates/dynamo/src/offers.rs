//! Dispatch offers and dispatch states. Accepting an offer is one `TransactWriteItems`
//! over both tables: the offer (still open, on its write token), the charter (its
//! version: the seat still free), a `ConditionCheck` on every same-day charter that
//! overlaps (their versions: the person not put aboard one meanwhile), the
//! `charter.changed` event and the chat note. A cancelled transaction is read again and
//! decided again, so a seat has one winner however many daemons race for it.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem};
use chrono::{DateTime, Utc};
use jada_core::{
    dispatch::overlaps, CharterId, CharterStatus, ChatMessage, CrewId, Event, Offer, OfferStatus, SeatKind,
};
use jada_store::{Acceptance, DispatchRecord, DispatchStatus, OfferStore, Result, StoreError};
use uuid::Uuid;

use crate::charters::{new_event, read_charter};
use crate::docs::{contention_pause, Index, Query, Sk, Tx};
use crate::records::offer_pk;
use crate::wire::{get_s, n, s, ts};
use crate::DynamoStore;

const ATTEMPTS: u32 = 20;

impl DynamoStore {
    /// One try at accepting: `Ok(None)` when the transaction lost a race (try again).
    async fn try_accept(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        seats: u32,
        note: &ChatMessage,
    ) -> Result<Option<Acceptance>> {
        let Some(doc) = self.get_doc::<Offer>(&offer_pk(id), "OFFER").await? else {
            return Ok(Some(Acceptance::NotOpen(OfferStatus::Withdrawn)));
        };
        let mut offer = doc.value;
        if !offer.status.is_open() {
            return Ok(Some(Acceptance::NotOpen(offer.status)));
        }
        if offer.is_expired_at(now) {
            return Ok(Some(Acceptance::PastDeadline));
        }
        let Some(current) = self.current_charter_item(offer.charter_id).await? else {
            return Ok(Some(Acceptance::CharterClosed));
        };
        let (created_at, mut charter) = current;
        if charter.status == CharterStatus::Cancelled {
            return Ok(Some(Acceptance::CharterClosed));
        }
        if charter.people().any(|p| *p == offer.crew_id) {
            return Ok(Some(Acceptance::Busy(charter.charter_id)));
        }
        let taken = match offer.seat {
            SeatKind::Captain => charter.captain_assigned.is_some(),
            SeatKind::Crew => charter.crew_assigned.len() as u32 >= seats,
        };
        if taken {
            return Ok(Some(Acceptance::SeatTaken));
        }
        let mut tx = Tx::new(self);
        let today = self.today();
        for item in self.charter_items_on(charter.charter_date).await? {
            let Ok(other) = read_charter(&item, today) else {
                continue;
            };
            if other.charter_id == charter.charter_id || other.status == CharterStatus::Cancelled {
                continue;
            }
            if !overlaps(&other, &charter) {
                continue;
            }
            if other.people().any(|p| *p == offer.crew_id) {
                return Ok(Some(Acceptance::Busy(other.charter_id)));
            }
            tx.push(self.version_check(&item, other.version)?);
        }
        let expected = charter.version;
        match offer.seat {
            SeatKind::Captain => charter.captain_assigned = Some(offer.crew_id.clone()),
            SeatKind::Crew => charter.crew_assigned.push(offer.crew_id.clone()),
        }
        charter.version += 1;
        offer.status = OfferStatus::Accepted;
        offer.answered_at = Some(now);
        tx.put(&offer, Some(&doc.tok))?;
        tx.push(self.charter_update(&charter, &created_at, Some(expected))?);
        let changed = Event::CharterChanged {
            charter_id: charter.charter_id,
            version: charter.version,
        };
        tx.put(&new_event(changed, now), Some(""))?;
        tx.push(self.chat_put(note)?);
        Ok(match tx.commit().await? {
            None => Some(Acceptance::Accepted(charter)),
            Some(_) => None,
        })
    }

    /// "This charter's item still has version `v`" (a transaction's `ConditionCheck`).
    fn version_check(&self, item: &crate::wire::Item, v: u64) -> Result<TransactWriteItem> {
        let cond = if v == 1 {
            "#version = :v OR attribute_not_exists(#version)"
        } else {
            "#version = :v"
        };
        let check = ConditionCheck::builder()
            .table_name(&self.tables.charters)
            .key("charter_id", s(get_s(item, "charter_id").unwrap_or_default()))
            .key("created_at", s(get_s(item, "created_at").unwrap_or_default()))
            .condition_expression(cond)
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":v", n(v))
            .build()
            .map_err(crate::wire::built)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Closes an open offer with its note; `Ok(None)` on a lost race.
    async fn try_close(
        &self,
        id: Uuid,
        status: OfferStatus,
        now: DateTime<Utc>,
        note: &ChatMessage,
    ) -> Result<Option<bool>> {
        let Some(doc) = self.get_doc::<Offer>(&offer_pk(id), "OFFER").await? else {
            return Ok(Some(false));
        };
        let mut offer = doc.value;
        if !offer.status.is_open() {
            return Ok(Some(false));
        }
        offer.status = status;
        offer.answered_at = Some(now);
        let mut tx = Tx::new(self);
        tx.put(&offer, Some(&doc.tok))?;
        tx.push(self.chat_put(note)?);
        Ok(tx.commit().await?.is_none().then_some(true))
    }
}

#[async_trait]
impl OfferStore for DynamoStore {
    async fn create_offer(&self, offer: &Offer, note: &ChatMessage) -> Result<()> {
        let mut tx = Tx::new(self);
        tx.put(offer, Some(""))?;
        tx.push(self.chat_put(note)?);
        match tx.commit().await? {
            None => Ok(()),
            Some(_) => Err(StoreError::NoSuchRecord {
                what: "offer",
                id: offer.offer_id.to_string(),
                why: "exists already",
            }),
        }
    }

    async fn get_offer(&self, id: Uuid) -> Result<Option<Offer>> {
        Ok(self.get_doc::<Offer>(&offer_pk(id), "OFFER").await?.map(|d| d.value))
    }

    async fn list_offers_for_charter(&self, charter: CharterId) -> Result<Vec<Offer>> {
        self.query_values(&Query::on(Index::Gsi(1), format!("OFFERS#{charter}")))
            .await
    }

    async fn list_open_offers_for_crew(&self, crew: &CrewId) -> Result<Vec<Offer>> {
        let offers: Vec<Offer> = self
            .query_values(&Query::on(Index::Gsi(3), format!("OPENOFFERS#{crew}")))
            .await?;
        Ok(offers.into_iter().filter(|o| o.status.is_open()).collect())
    }

    async fn list_offers_due(&self, now: DateTime<Utc>) -> Result<Vec<Offer>> {
        let q = Query::on(Index::Gsi(2), "OPENOFFERS").sk(Sk::AtMost(format!("{}~", ts(now))));
        let offers: Vec<Offer> = self.query_values(&q).await?;
        Ok(offers
            .into_iter()
            .filter(|o| o.status.is_open() && o.expires_at <= now)
            .collect())
    }

    async fn close_offer(&self, id: Uuid, status: OfferStatus, now: DateTime<Utc>, note: &ChatMessage) -> Result<bool> {
        if matches!(status, OfferStatus::Offered | OfferStatus::Accepted) {
            return Err(StoreError::Corrupt {
                what: "offer",
                detail: format!("{id}: close_offer cannot make an offer {status:?}"),
            });
        }
        for attempt in 0..ATTEMPTS {
            if let Some(done) = self.try_close(id, status, now, note).await? {
                return Ok(done);
            }
            tokio::time::sleep(contention_pause(attempt)).await;
        }
        Err(StoreError::Backend(
            format!("offer {id} kept changing while closing it; try again").into(),
        ))
    }

    async fn accept_offer(&self, id: Uuid, now: DateTime<Utc>, seats: u32, note: &ChatMessage) -> Result<Acceptance> {
        for attempt in 0..ATTEMPTS {
            if let Some(outcome) = self.try_accept(id, now, seats, note).await? {
                if matches!(outcome, Acceptance::Accepted(_)) {
                    self.events.ring();
                }
                return Ok(outcome);
            }
            tokio::time::sleep(contention_pause(attempt)).await;
        }
        Err(StoreError::Backend(
            format!("offer {id}'s charter kept changing while accepting it; try again").into(),
        ))
    }

    async fn put_dispatch(&self, record: &DispatchRecord) -> Result<()> {
        self.put_doc(record, None).await?;
        Ok(())
    }

    async fn get_dispatch(&self, charter: CharterId) -> Result<Option<DispatchRecord>> {
        Ok(self
            .get_doc::<DispatchRecord>("DISPATCH", &charter.to_string())
            .await?
            .map(|d| d.value))
    }

    async fn list_dispatches(&self, status: DispatchStatus) -> Result<Vec<DispatchRecord>> {
        self.query_values(&Query::on(Index::Gsi(1), format!("DISPATCH#{}", status.as_str())))
            .await
    }
}
