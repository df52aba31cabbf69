//! A charter (one booking of one vessel for one sail) and its status lifecycle.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Cents, CharterId, CrewId, ParseError};

/// Where a booking stands. Cancelled and completed are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CharterStatus {
    /// Asked for, not yet accepted by the office.
    Requested,
    /// Accepted by the office, deposit taken.
    Booked,
    /// Crewed and confirmed with the guest.
    Confirmed,
    /// Sailed.
    Completed,
    /// Called off; kept for the record, never deleted.
    Cancelled,
}

impl CharterStatus {
    pub const ALL: [CharterStatus; 5] = [
        CharterStatus::Requested,
        CharterStatus::Booked,
        CharterStatus::Confirmed,
        CharterStatus::Completed,
        CharterStatus::Cancelled,
    ];

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "requested" => Ok(Self::Requested),
            "booked" => Ok(Self::Booked),
            "confirmed" => Ok(Self::Confirmed),
            "completed" => Ok(Self::Completed),
            "cancelled" | "canceled" => Ok(Self::Cancelled),
            _ => Err(ParseError::new(format!(
                "`{s}` is not a charter status: use requested, booked, confirmed, completed or cancelled"
            ))),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Booked => "booked",
            Self::Confirmed => "confirmed",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn is_final(&self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled)
    }

    /// The lifecycle moves forward only: requested -> booked -> confirmed -> completed,
    /// and any status that is not final may be cancelled. Staying put is always allowed.
    pub fn can_become(&self, next: CharterStatus) -> bool {
        use CharterStatus::*;
        *self == next
            || matches!(
                (self, next),
                (Requested, Booked | Confirmed | Cancelled)
                    | (Booked, Confirmed | Completed | Cancelled)
                    | (Confirmed, Completed | Cancelled)
            )
    }
}

impl fmt::Display for CharterStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A charter breaks one of its own rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CharterError {
    /// The sail ends before it starts (charters do not cross midnight).
    #[error("end time {end} is not after start time {start}: charters start and end on the same day")]
    EndsBeforeStart { start: NaiveTime, end: NaiveTime },
    /// The captain is also listed as crew.
    #[error("`{0}` is the captain and cannot also be listed as crew")]
    CaptainAlsoCrew(CrewId),
    /// A crew id appears twice.
    #[error("crew member `{0}` is listed twice")]
    DuplicateCrew(CrewId),
    /// The guest name is blank.
    #[error("guest name is empty")]
    NoGuestName,
    /// The vessel name is blank.
    #[error("vessel name is empty")]
    NoVessel,
    /// A status change the lifecycle does not allow.
    #[error("status cannot change from {from} to {to}: {hint}")]
    Transition {
        from: CharterStatus,
        to: CharterStatus,
        hint: &'static str,
    },
}

/// One booking. Field names follow the `crew-dispatch` DynamoDB table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charter {
    pub charter_id: CharterId,
    /// When the booking was first recorded (the table's sort key).
    pub created_at: DateTime<Utc>,
    pub charter_date: NaiveDate,
    pub start_time: NaiveTime,
    pub end_time: NaiveTime,
    pub vessel_name: String,
    pub guest_name: String,
    pub guest_count: u32,
    pub captain_assigned: Option<CrewId>,
    pub crew_assigned: Vec<CrewId>,
    /// 0 marks internal training sails and test bookings.
    pub reportable_revenue: Cents,
    pub tips: Cents,
    pub status: CharterStatus,
    /// Bumped on every write; a write naming an older version is refused.
    pub version: u64,
}

impl Charter {
    /// Whether it holds its vessel for its time: every status but `cancelled`.
    pub fn holds_vessel(&self) -> bool {
        self.status != CharterStatus::Cancelled
    }

    /// Whether `self` and `other` would have one vessel at sea twice at once: both hold
    /// it, same vessel (as the fleet names it: case and spacing aside), same date, and
    /// their times overlap once `turnaround` is added after each (back to back, end =
    /// start, is fine with no turnaround). The one rule every store write applies.
    pub fn overlaps(&self, other: &Charter, turnaround: chrono::Duration) -> bool {
        let vessel = |c: &Charter| crate::vessel::vessel_key(&c.vessel_name);
        self.charter_id != other.charter_id
            && self.holds_vessel()
            && other.holds_vessel()
            && self.charter_date == other.charter_date
            && vessel(self) == vessel(other)
            && self.start_time < other.end_time + turnaround
            && other.start_time < self.end_time + turnaround
    }

    /// Whether this version of a charter sails where and when `before` did (same vessel,
    /// day and times, equally holding the vessel): such an update is not checked for
    /// overlaps again, so a charter written before the rule can still be crewed.
    pub fn keeps_slot_of(&self, before: &Charter) -> bool {
        crate::vessel::vessel_key(&self.vessel_name) == crate::vessel::vessel_key(&before.vessel_name)
            && self.charter_date == before.charter_date
            && self.start_time == before.start_time
            && self.end_time == before.end_time
            && self.holds_vessel() == before.holds_vessel()
    }

    /// Checks the rules a charter must satisfy on its own.
    pub fn validate(&self) -> Result<(), CharterError> {
        if self.end_time <= self.start_time {
            return Err(CharterError::EndsBeforeStart {
                start: self.start_time,
                end: self.end_time,
            });
        }
        if self.guest_name.trim().is_empty() {
            return Err(CharterError::NoGuestName);
        }
        if self.vessel_name.trim().is_empty() {
            return Err(CharterError::NoVessel);
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.crew_assigned {
            if Some(c) == self.captain_assigned.as_ref() {
                return Err(CharterError::CaptainAlsoCrew(c.clone()));
            }
            if !seen.insert(c) {
                return Err(CharterError::DuplicateCrew(c.clone()));
            }
        }
        Ok(())
    }

    /// Checks that `next` may replace `self`: the status moves along the lifecycle.
    pub fn check_change(&self, next: &Charter) -> Result<(), CharterError> {
        if self.status.can_become(next.status) {
            return Ok(());
        }
        let hint = if self.status.is_final() {
            "a completed or cancelled charter is final; book a new charter instead"
        } else {
            "statuses move forward: requested, booked, confirmed, completed (or cancelled)"
        };
        Err(CharterError::Transition {
            from: self.status,
            to: next.status,
            hint,
        })
    }

    /// True when the two describe the same booking, ignoring bookkeeping (version).
    pub fn same_booking(&self, other: &Charter) -> bool {
        let mut a = self.clone();
        a.version = other.version;
        a.created_at = other.created_at;
        a == *other
    }

    /// Everyone assigned to sail: the captain first, then crew.
    pub fn people(&self) -> impl Iterator<Item = &CrewId> {
        self.captain_assigned.iter().chain(self.crew_assigned.iter())
    }
}

/// The longest guest name jada keeps (a spreadsheet cell and a page line stay readable).
pub const GUEST_NAME_MAX: usize = 200;

/// A guest name as typed: trimmed, at most [`GUEST_NAME_MAX`] characters, no control
/// characters — the one check for the import, the API and the office form.
pub fn guest_name(s: &str) -> Result<String, crate::ParseError> {
    crate::text::checked("guest_name", s, GUEST_NAME_MAX, crate::text::Lines::One)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use CharterStatus::*;

    /// A booked charter on Marlin with a captain and one deckhand, for tests in this crate.
    pub(crate) fn sample() -> Charter {
        Charter {
            charter_id: CharterId::parse("3f2b8c1e-9a4d-4e7b-8c2a-1d5e6f7a8b9c").unwrap(),
            created_at: "2024-04-01T12:00:00Z".parse().unwrap(),
            charter_date: NaiveDate::from_ymd_opt(2024, 5, 3).unwrap(),
            start_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            end_time: NaiveTime::from_hms_opt(13, 0, 0).unwrap(),
            vessel_name: "Marlin".into(),
            guest_name: "Ada Lovelace".into(),
            guest_count: 6,
            captain_assigned: Some(CrewId::parse("cap").unwrap()),
            crew_assigned: vec![CrewId::parse("deck").unwrap()],
            reportable_revenue: Cents(120_000),
            tips: Cents(15_000),
            status: Booked,
            version: 1,
        }
    }

    #[test]
    fn lifecycle() {
        assert!(Requested.can_become(Booked));
        assert!(Booked.can_become(Confirmed));
        assert!(Confirmed.can_become(Completed));
        assert!(Booked.can_become(Cancelled));
        assert!(Completed.can_become(Completed));
        assert!(!Completed.can_become(Booked));
        assert!(!Cancelled.can_become(Booked));
        assert!(!Confirmed.can_become(Requested));
        assert!(!Completed.can_become(Cancelled));
        for s in CharterStatus::ALL {
            assert_eq!(CharterStatus::parse(s.as_str()).unwrap(), s);
            assert!(s.can_become(s));
        }
        assert_eq!(CharterStatus::parse("Canceled").unwrap(), Cancelled);
        assert!(CharterStatus::parse("maybe").is_err());
    }

    #[test]
    fn rules() {
        assert!(sample().validate().is_ok());
        let mut c = sample();
        c.end_time = c.start_time;
        assert!(matches!(c.validate(), Err(CharterError::EndsBeforeStart { .. })));
        let mut c = sample();
        c.crew_assigned.push(CrewId::parse("cap").unwrap());
        assert!(matches!(c.validate(), Err(CharterError::CaptainAlsoCrew(_))));
        let mut c = sample();
        c.crew_assigned.push(CrewId::parse("deck").unwrap());
        assert!(matches!(c.validate(), Err(CharterError::DuplicateCrew(_))));
        let mut done = sample();
        done.status = Completed;
        let err = done.check_change(&sample()).unwrap_err();
        assert!(err.to_string().contains("completed to booked"), "{err}");
    }

    #[test]
    fn same_booking_ignores_version() {
        let mut b = sample();
        b.version = 9;
        assert!(sample().same_booking(&b));
        b.tips = Cents(1);
        assert!(!sample().same_booking(&b));
    }
}
