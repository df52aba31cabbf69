//! Crew members: who they are, whether they may captain, and the days they can sail.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{CrewId, Email};

/// One person on the roster (table `crew-roster`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrewMember {
    pub crew_id: CrewId,
    pub name: String,
    pub email: Email,
    pub phone: Option<String>,
    pub captain_certified: bool,
    /// Days the person said they can sail, in the business's calendar.
    pub available_dates: BTreeSet<NaiveDate>,
    /// Inactive crew stay on record (statements, history) but are never dispatched.
    pub active: bool,
}

impl CrewMember {
    pub fn is_available_on(&self, date: NaiveDate) -> bool {
        self.active && self.available_dates.contains(&date)
    }
}

/// Lower-cases and collapses white space, so "  Ana  MARÍA " matches "ana maría".
pub fn normalise_name(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The longest crew name and phone number jada keeps.
pub const NAME_MAX: usize = 100;
pub const PHONE_MAX: usize = 40;

/// A crew member's name: at most [`NAME_MAX`] characters, no control characters.
pub fn name(s: &str) -> Result<String, crate::ParseError> {
    crate::text::checked("name", s, NAME_MAX, crate::text::Lines::One)
}

/// A phone number as written: at most [`PHONE_MAX`] characters, no control characters.
pub fn phone(s: &str) -> Result<String, crate::ParseError> {
    crate::text::checked("phone", s, PHONE_MAX, crate::text::Lines::One)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise() {
        assert_eq!(normalise_name("  Ana   MARÍA "), "ana maría");
    }

    #[test]
    fn inactive_crew_are_never_available() {
        let d = NaiveDate::from_ymd_opt(2024, 5, 3).unwrap();
        let mut c = CrewMember {
            crew_id: CrewId::parse("ana").unwrap(),
            name: "Ana".into(),
            email: Email::parse("ana@example.com").unwrap(),
            phone: None,
            captain_certified: false,
            available_dates: [d].into_iter().collect(),
            active: true,
        };
        assert!(c.is_available_on(d));
        c.active = false;
        assert!(!c.is_available_on(d));
    }
}
