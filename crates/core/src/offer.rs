//! A dispatch offer: one crew member offered one seat on one charter, answered once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{CharterId, CrewId};

/// Which seat an offer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeatKind {
    Captain,
    Crew,
}

/// Where an offer stands. Only `Offered` may change, and only once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OfferStatus {
    Offered,
    Accepted,
    Declined,
    Expired,
    Withdrawn,
}

impl OfferStatus {
    /// Its name as people and the store read it.
    pub fn as_str(&self) -> &'static str {
        match self {
            OfferStatus::Offered => "offered",
            OfferStatus::Accepted => "accepted",
            OfferStatus::Declined => "declined",
            OfferStatus::Expired => "expired",
            OfferStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn is_open(&self) -> bool {
        *self == OfferStatus::Offered
    }

    pub fn can_become(&self, next: OfferStatus) -> bool {
        self.is_open() && next != OfferStatus::Offered
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub offer_id: Uuid,
    pub charter_id: CharterId,
    pub crew_id: CrewId,
    pub seat: SeatKind,
    pub status: OfferStatus,
    pub offered_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
}

impl Offer {
    /// An open offer whose deadline has passed is expired, whether or not a timer ran.
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.status.is_open() && now >= self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OfferStatus::*;

    #[test]
    fn offers_answer_once() {
        assert!(Offered.can_become(Accepted));
        assert!(Offered.can_become(Expired));
        assert!(!Offered.can_become(Offered));
        for done in [Accepted, Declined, Expired, Withdrawn] {
            for next in [Offered, Accepted, Declined, Expired, Withdrawn] {
                assert!(!done.can_become(next));
            }
        }
    }
}
