//! The one revenue rule. Every figure of revenue or tips a person reads — the monthly
//! report, the `charters list` footer, the office Revenue page, the crew statements and
//! the booking API's month totals — comes from [`is_reportable`] and [`Totals`], so two
//! screens can never disagree about a month.
//!
//! A charter is reportable when the office accepted it and did not call it off (booked,
//! confirmed or completed) and it earned something (revenue above $0: internal training
//! sails and test bookings are entered at $0). Cancelled charters keep their amounts for
//! the record but count nowhere; requested ones are not revenue until the office books
//! them. Tips follow the same rule, so the statements share exactly the report's tips.

use serde::Serialize;

use crate::{Cents, Charter, CharterStatus};

/// Whether `c` counts towards revenue and tips (see the module documentation).
pub fn is_reportable(c: &Charter) -> bool {
    matches!(
        c.status,
        CharterStatus::Booked | CharterStatus::Confirmed | CharterStatus::Completed
    ) && c.reportable_revenue > Cents::ZERO
}

/// Why a charter is left out of the figures, for screens that list every charter.
pub fn excluded_because(c: &Charter) -> Option<&'static str> {
    match c.status {
        CharterStatus::Cancelled => Some("cancelled"),
        CharterStatus::Requested => Some("requested, not yet booked"),
        _ if c.reportable_revenue == Cents::ZERO => Some("$0 (training or test sail)"),
        _ => None,
    }
}

/// A set of charters' figures under the revenue rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// How many charters were looked at.
    pub charters: usize,
    /// How many of them are reportable.
    pub reportable: usize,
    /// The reportable charters' revenue.
    pub revenue: Cents,
    /// The reportable charters' tips.
    pub tips: Cents,
}

impl Totals {
    /// The figures of `charters` (any order, any mix of statuses).
    pub fn of<'a>(charters: impl IntoIterator<Item = &'a Charter>) -> Totals {
        let mut t = Totals::default();
        for c in charters {
            t.charters += 1;
            if is_reportable(c) {
                t.reportable += 1;
                t.revenue = t.revenue.saturating_add(c.reportable_revenue);
                t.tips = t.tips.saturating_add(c.tips);
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CharterStatus;

    fn charter(status: CharterStatus, revenue: i64, tips: i64) -> Charter {
        Charter {
            reportable_revenue: Cents(revenue),
            tips: Cents(tips),
            status,
            ..crate::charter::tests::sample()
        }
    }

    #[test]
    fn only_accepted_paid_charters_count() {
        use CharterStatus::*;
        let all = [
            charter(Completed, 10_000, 1_000),
            charter(Confirmed, 20_000, 0),
            charter(Booked, 30_000, 500),
            charter(Cancelled, 100_000, 9_900),
            charter(Requested, 200_000, 0),
            charter(Completed, 0, 0),
        ];
        let t = Totals::of(&all);
        assert_eq!(
            t,
            Totals {
                charters: 6,
                reportable: 3,
                revenue: Cents(60_000),
                tips: Cents(1_500)
            }
        );
        let why: Vec<_> = all.iter().map(excluded_because).collect();
        assert_eq!(
            why,
            [
                None,
                None,
                None,
                Some("cancelled"),
                Some("requested, not yet booked"),
                Some("$0 (training or test sail)")
            ]
        );
        for c in &all {
            assert_eq!(is_reportable(c), excluded_because(c).is_none());
        }
    }
}
