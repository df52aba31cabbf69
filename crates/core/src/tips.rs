//! How a charter's tips are shared: equally among everyone who sailed it, captain
//! included. Cents that do not divide evenly go to the captain, or one each down the
//! list (configurable), so the shares always add up to the tips exactly.

use serde::{Deserialize, Serialize};

use crate::{Cents, Charter, CrewId};

/// Where the cents that do not divide evenly go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Leftover {
    /// All to the captain (or, with no captain, the first crew member).
    #[default]
    Captain,
    /// One cent each, captain first, then crew in order.
    RoundRobin,
}

/// Each person's share of a charter's tips, captain first. Empty when nobody sailed.
pub fn split(charter: &Charter, leftover: Leftover) -> Vec<(CrewId, Cents)> {
    let people: Vec<&CrewId> = charter.people().collect();
    if people.is_empty() {
        return vec![];
    }
    let n = people.len() as i64;
    let (each, rest) = (charter.tips.0 / n, charter.tips.0 % n);
    people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let extra = match leftover {
                Leftover::Captain if i == 0 => rest,
                Leftover::RoundRobin if (i as i64) < rest => 1,
                _ => 0,
            };
            ((*p).clone(), Cents(each + extra))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CharterStatus;
    use proptest::prelude::*;

    fn charter(tips: i64, captain: bool, crew: usize) -> Charter {
        Charter {
            captain_assigned: captain.then(|| CrewId::parse("cap").unwrap()),
            crew_assigned: (0..crew)
                .map(|i| CrewId::parse(&format!("deck-{i}")).unwrap())
                .collect(),
            tips: Cents(tips),
            status: CharterStatus::Completed,
            ..crate::charter::tests::sample()
        }
    }

    #[test]
    fn leftover_cents_go_to_the_captain_or_round_the_crew() {
        let c = charter(1_001, true, 2);
        let shares: Vec<i64> = split(&c, Leftover::Captain).iter().map(|(_, s)| s.0).collect();
        assert_eq!(shares, vec![335, 333, 333]);
        let c = charter(1_002, true, 3);
        let shares: Vec<i64> = split(&c, Leftover::RoundRobin).iter().map(|(_, s)| s.0).collect();
        assert_eq!(shares, vec![251, 251, 250, 250]);
        assert_eq!(split(&charter(500, false, 0), Leftover::Captain), vec![]);
        let no_captain = split(&charter(101, false, 2), Leftover::Captain);
        assert_eq!(no_captain[0], (CrewId::parse("deck-0").unwrap(), Cents(51)));
    }

    proptest! {
        #[test]
        fn shares_always_add_up_to_the_tips(tips in 0i64..10_000_000, captain: bool, crew in 0usize..8, round_robin: bool) {
            let c = charter(tips, captain, crew);
            let how = if round_robin { Leftover::RoundRobin } else { Leftover::Captain };
            let shares = split(&c, how);
            prop_assert_eq!(shares.len(), usize::from(captain) + crew);
            if !shares.is_empty() {
                prop_assert_eq!(shares.iter().map(|(_, s)| s.0).sum::<i64>(), tips);
                let (min, max) = (shares.iter().map(|s| s.1 .0).min().unwrap(), shares.iter().map(|s| s.1 .0).max().unwrap());
                let spread = if round_robin { 1 } else { tips % shares.len() as i64 };
                prop_assert!(max - min <= spread, "shares differ by {} (allowed {})", max - min, spread);
            }
        }
    }
}
