//! Vessels and their seat rules: how many captains and crew a sail needs for a number of
//! guests. Configured as `[[vessels]]`; dispatch fills exactly these seats.

use serde::{Deserialize, Serialize};

/// How many people a charter needs aboard besides its guests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seats {
    pub captains: u32,
    pub crew: u32,
}

/// One step of a vessel's crew table: up to `max_guests` guests need `crew` crew.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrewTier {
    pub max_guests: u32,
    pub crew: u32,
}

/// A vessel's seat rules. Tiers are read in ascending `max_guests`; the largest tier's
/// `max_guests` is the vessel's guest capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatRules {
    #[serde(default = "one")]
    pub captains: u32,
    pub crew: Vec<CrewTier>,
}

fn one() -> u32 {
    1
}

/// A seat rule was broken or is itself malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeatError {
    #[error("{guests} guests is more than {vessel} carries ({capacity}); split the party or choose a larger vessel")]
    OverCapacity { vessel: String, guests: u32, capacity: u32 },
    #[error("vessel `{0}` has no crew tiers: add `crew = [{{ max_guests = 6, crew = 1 }}]` to its [[vessels]] entry")]
    NoTiers(String),
    #[error("vessel `{0}`: crew tiers must be listed by increasing max_guests and need no fewer crew as guests grow")]
    Unordered(String),
}

/// A boat in the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vessel {
    pub name: String,
    #[serde(flatten)]
    pub seats: SeatRules,
    /// Minutes the vessel needs between two charters (cleaning, fuel, crew change): no
    /// charter may start sooner after another ends. Default 0 (back to back).
    #[serde(default)]
    pub turnaround: u32,
}

/// A vessel's name as one boat is known whatever its spelling: case and spacing aside
/// ("Sea  Lion" and "sea lion" are one boat). What charter overlaps and the store's
/// per-vessel records key on.
pub fn vessel_key(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

impl Vessel {
    /// Checks the vessel's own rules (run when configuration is loaded).
    pub fn validate(&self) -> Result<(), SeatError> {
        let tiers = &self.seats.crew;
        if tiers.is_empty() {
            return Err(SeatError::NoTiers(self.name.clone()));
        }
        let ordered = tiers
            .windows(2)
            .all(|w| w[0].max_guests < w[1].max_guests && w[0].crew <= w[1].crew);
        if !ordered {
            return Err(SeatError::Unordered(self.name.clone()));
        }
        Ok(())
    }

    pub fn capacity(&self) -> u32 {
        self.seats.crew.iter().map(|t| t.max_guests).max().unwrap_or(0)
    }

    /// The seats a sail with `guests` guests needs.
    pub fn seats_for(&self, guests: u32) -> Result<Seats, SeatError> {
        let tier = self
            .seats
            .crew
            .iter()
            .find(|t| guests <= t.max_guests)
            .ok_or(SeatError::OverCapacity {
                vessel: self.name.clone(),
                guests,
                capacity: self.capacity(),
            })?;
        Ok(Seats {
            captains: self.seats.captains,
            crew: tier.crew,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marlin() -> Vessel {
        Vessel {
            name: "Marlin".into(),
            turnaround: 0,
            seats: SeatRules {
                captains: 1,
                crew: vec![
                    CrewTier { max_guests: 6, crew: 1 },
                    CrewTier {
                        max_guests: 20,
                        crew: 2,
                    },
                ],
            },
        }
    }

    #[test]
    fn more_guests_more_crew() {
        let v = marlin();
        assert!(v.validate().is_ok());
        assert_eq!(v.seats_for(0).unwrap(), Seats { captains: 1, crew: 1 });
        assert_eq!(v.seats_for(6).unwrap(), Seats { captains: 1, crew: 1 });
        assert_eq!(v.seats_for(7).unwrap(), Seats { captains: 1, crew: 2 });
        let err = v.seats_for(21).unwrap_err();
        assert!(err.to_string().contains("more than Marlin carries (20)"), "{err}");
    }

    #[test]
    fn malformed_tiers() {
        let mut v = marlin();
        v.seats.crew.reverse();
        assert_eq!(v.validate(), Err(SeatError::Unordered("Marlin".into())));
        v.seats.crew.clear();
        assert!(v.validate().unwrap_err().to_string().contains("[[vessels]]"));
    }

    #[test]
    fn parses_from_toml_shape() {
        let v: Vessel = serde_json::from_str(r#"{"name":"Tern","crew":[{"max_guests":4,"crew":0}]}"#).unwrap();
        assert_eq!(v.seats.captains, 1);
        assert_eq!(v.seats_for(4).unwrap().crew, 0);
    }
}

/// The vessels a business sails, looked up by name (case-insensitively, as people type).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fleet(Vec<Vessel>);

impl Fleet {
    pub fn new(vessels: Vec<Vessel>) -> Self {
        Fleet(vessels)
    }

    pub fn vessels(&self) -> &[Vessel] {
        &self.0
    }

    pub fn get(&self, name: &str) -> Option<&Vessel> {
        let name = name.trim();
        self.0.iter().find(|v| v.name.eq_ignore_ascii_case(name))
    }

    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|v| v.name.as_str()).collect()
    }

    /// The crew seats a sail of `vessel` with `guests` aboard needs; `None` for a vessel
    /// not in the fleet. More guests than it carries (refused at booking, but possible in
    /// old data) counts as a full boat.
    pub fn crew_seats(&self, vessel: &str, guests: u32) -> Option<u32> {
        let v = self.get(vessel)?;
        let seats = v.seats_for(guests).or_else(|_| v.seats_for(v.capacity()));
        Some(seats.map_or(0, |s| s.crew))
    }
}

#[cfg(test)]
mod fleet_tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_and_spacing() {
        let fleet = Fleet::new(vec![Vessel {
            name: "Sea Lion".into(),
            turnaround: 0,
            seats: SeatRules {
                captains: 1,
                crew: vec![CrewTier { max_guests: 6, crew: 1 }],
            },
        }]);
        assert!(fleet.get(" sea lion ").is_some());
        assert!(fleet.get("Pelican").is_none());
        assert_eq!(fleet.names(), vec!["Sea Lion"]);
        assert_eq!(fleet.crew_seats("sea lion", 4), Some(1));
        assert_eq!(
            fleet.crew_seats("Sea Lion", 9),
            Some(1),
            "over capacity counts as a full boat"
        );
        assert_eq!(fleet.crew_seats("Pelican", 4), None);
    }
}
