//! Money as integer cents. Parsing accepts what people type in a spreadsheet
//! (`1,234.50`, `$1234.5`, `1234`) and refuses anything that would need rounding.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// A non-negative amount of money in US cents. Formatting happens only at the edge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cents(pub i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    /// The largest amount jada takes for one charter's revenue or tips: $10,000,000.00.
    /// Far above any real charter, and low enough that no sum of them can overflow.
    pub const CEILING: Cents = Cents(1_000_000_000);

    /// Parses an amount in dollars: optional `$`, optional thousands separators in
    /// groups of three, at most two decimals. `12.345` is an error, never rounded.
    pub fn parse_dollars(input: &str) -> Result<Cents, ParseError> {
        let s = input.trim();
        let err = |why: &str| ParseError::new(format!("`{input}` is not an amount in dollars: {why}"));
        if s.starts_with('-') || s.starts_with("$-") {
            return Err(err("amounts cannot be negative"));
        }
        let s = s.strip_prefix('$').unwrap_or(s).trim_start();
        if s.is_empty() {
            return Err(err("expected a number like 1,234.50"));
        }
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (s, None),
        };
        let digits = strip_thousands(whole)
            .ok_or_else(|| err("expected a number like 1,234.50 (commas only between groups of three digits)"))?;
        let frac_cents = match frac {
            None => 0,
            Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(err("expected digits after the decimal point"))
            }
            Some(f) if f.len() > 2 => {
                return Err(err(
                    "more than two decimals; amounts are kept in whole cents and never rounded",
                ))
            }
            Some(f) if f.len() == 1 => f.parse::<i64>().unwrap_or(0) * 10,
            Some(f) => f.parse::<i64>().unwrap_or(0),
        };
        let dollars: i64 = digits.parse().map_err(|_| err("the amount is too large"))?;
        dollars
            .checked_mul(100)
            .and_then(|c| c.checked_add(frac_cents))
            .map(Cents)
            .filter(|c| *c <= Cents::CEILING)
            .ok_or_else(|| err("above the ceiling of $10,000,000.00 for one amount; check the decimal point"))
    }

    /// Dollars as a number, for spreadsheets and charts (exact for any realistic amount).
    pub fn dollars(&self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// `self + rhs`, stopping at the largest amount instead of wrapping: a total can
    /// never turn negative, however many amounts are added.
    pub fn saturating_add(self, rhs: Cents) -> Cents {
        Cents(self.0.saturating_add(rhs.0))
    }

    pub fn dollars_string(&self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// `1,234,567` -> `1234567`; `None` when the digits or the grouping are wrong.
fn strip_thousands(whole: &str) -> Option<String> {
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit() || b == b',') {
        return None;
    }
    if !whole.contains(',') {
        return Some(whole.to_string());
    }
    let groups: Vec<&str> = whole.split(',').collect();
    let first_ok = (1..=3).contains(&groups[0].len());
    let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
    (first_ok && rest_ok).then(|| groups.concat())
}

impl fmt::Display for Cents {
    /// `$1,234.50`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dollars = (self.0 / 100).to_string();
        let mut grouped = String::new();
        for (i, ch) in dollars.chars().enumerate() {
            if i > 0 && (dollars.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        write!(f, "${}.{:02}", grouped, self.0 % 100)
    }
}

impl std::ops::Add for Cents {
    type Output = Cents;
    /// Saturating (see [`Cents::saturating_add`]): sums of money never wrap.
    fn add(self, rhs: Cents) -> Cents {
        self.saturating_add(rhs)
    }
}

impl std::iter::Sum for Cents {
    fn sum<I: Iterator<Item = Cents>>(iter: I) -> Cents {
        iter.fold(Cents::ZERO, Cents::saturating_add)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn amounts_above_the_ceiling_are_refused_so_sums_cannot_wrap() {
        assert_eq!(Cents::parse_dollars("10,000,000.00").unwrap(), Cents::CEILING);
        let e = Cents::parse_dollars("10000000.01").unwrap_err();
        assert!(e.0.contains("ceiling"), "{e}");
        assert!(Cents::parse_dollars("92233720368547758.07").is_err());
        // Even a million charters at the ceiling sum without overflow.
        assert!(Cents::CEILING.0.checked_mul(1_000_000).is_some());
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepted_forms() {
        for (input, cents) in [
            ("1,234.50", 123_450),
            ("$1234.5", 123_450),
            ("1234", 123_400),
            ("$ 12.05", 1205),
            ("0", 0),
            ("0.99", 99),
            ("1,000,000", 100_000_000),
        ] {
            assert_eq!(Cents::parse_dollars(input), Ok(Cents(cents)), "{input}");
        }
    }

    #[test]
    fn refused_forms() {
        for (input, why) in [
            ("12.345", "more than two decimals"),
            ("-5", "negative"),
            ("12,34", "groups of three"),
            ("1.", "digits after the decimal point"),
            ("", "expected a number"),
            ("ten", "expected a number"),
            ("99999999999999999999", "too large"),
        ] {
            let err = Cents::parse_dollars(input).unwrap_err();
            assert!(err.0.contains(why), "{input}: {err}");
        }
    }

    #[test]
    fn display() {
        assert_eq!(Cents(123_450).to_string(), "$1,234.50");
        assert_eq!(Cents(5).to_string(), "$0.05");
        assert_eq!(Cents(100_000_000).to_string(), "$1,000,000.00");
    }

    proptest! {
        #[test]
        fn display_round_trips(c in 0i64..=Cents::CEILING.0) {
            prop_assert_eq!(Cents::parse_dollars(&Cents(c).to_string()), Ok(Cents(c)));
            prop_assert_eq!(Cents::parse_dollars(&Cents(c).dollars_string()), Ok(Cents(c)));
        }
    }
}
