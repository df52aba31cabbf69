//! Dispatch rules: who may be offered a seat on a charter, in what order, and how long
//! an offer waits. Pure functions over the charter, the crew and that day's other
//! charters, so `jada dispatch explain` and the cascade give the same answer.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::{Charter, CharterId, CharterStatus, CrewId, CrewMember, SeatKind};

/// Why a crew member is left out for a seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", content = "charter", rename_all = "snake_case")]
pub enum Exclusion {
    Inactive,
    /// Not marked available on the charter's date.
    Unavailable,
    /// Already aboard this charter.
    Aboard,
    /// On another charter that overlaps in time that day.
    Busy(CharterId),
    /// Declined (or let expire) an offer for this charter.
    Declined,
    /// Has an open offer for this charter.
    Offered,
    /// A captain seat needs captain certification.
    NotCertified,
}

impl Exclusion {
    pub fn describe(&self) -> String {
        match self {
            Exclusion::Inactive => "inactive".into(),
            Exclusion::Unavailable => "not available that day".into(),
            Exclusion::Aboard => "already aboard".into(),
            Exclusion::Busy(c) => format!("on charter {c} at an overlapping time"),
            Exclusion::Declined => "declined or let an offer for this charter expire".into(),
            Exclusion::Offered => "has an open offer for this charter".into(),
            Exclusion::NotCertified => "not captain-certified".into(),
        }
    }
}

/// What the rules look at besides the charter and the person.
#[derive(Debug, Default)]
pub struct Context<'a> {
    /// The other charters on the charter's date (any status; cancelled ones are ignored).
    pub same_day: &'a [Charter],
    /// Who declined or let an offer for this charter expire.
    pub declined: BTreeSet<CrewId>,
    /// Who holds an open offer for this charter.
    pub offered: BTreeSet<CrewId>,
    /// Charters sailed in the 30 days before the charter, by person (fairness).
    pub sailed_30d: BTreeMap<CrewId, u32>,
    /// Configured priority by person: higher goes first among equals (default 0).
    pub priority: BTreeMap<CrewId, i32>,
}

/// Two charters overlap when their times on the same day intersect.
pub fn overlaps(a: &Charter, b: &Charter) -> bool {
    a.charter_date == b.charter_date && a.start_time < b.end_time && b.start_time < a.end_time
}

/// Why `m` may not take `seat` on `charter`, or `None` when they may.
pub fn exclusion(m: &CrewMember, seat: SeatKind, charter: &Charter, cx: &Context) -> Option<Exclusion> {
    if !m.active {
        return Some(Exclusion::Inactive);
    }
    if charter.people().any(|p| *p == m.crew_id) {
        return Some(Exclusion::Aboard);
    }
    if seat == SeatKind::Captain && !m.captain_certified {
        return Some(Exclusion::NotCertified);
    }
    if cx.declined.contains(&m.crew_id) {
        return Some(Exclusion::Declined);
    }
    if cx.offered.contains(&m.crew_id) {
        return Some(Exclusion::Offered);
    }
    if !m.is_available_on(charter.charter_date) {
        return Some(Exclusion::Unavailable);
    }
    let busy = cx.same_day.iter().find(|o| {
        o.charter_id != charter.charter_id
            && o.status != CharterStatus::Cancelled
            && overlaps(o, charter)
            && o.people().any(|p| *p == m.crew_id)
    });
    busy.map(|o| Exclusion::Busy(o.charter_id))
}

/// A candidate in order, with what placed them there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub crew_id: CrewId,
    pub name: String,
    pub sailed_30d: u32,
    pub priority: i32,
}

/// Everyone considered for a seat: the eligible in order, the others with their reason.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Ranking {
    pub candidates: Vec<Candidate>,
    pub excluded: Vec<(CrewId, String, Exclusion)>,
}

/// The order of offers: fewest charters sailed in the last 30 days first, then higher
/// priority, then crew id (stable, so a re-plan gives the same order).
pub fn rank(crew: &[CrewMember], seat: SeatKind, charter: &Charter, cx: &Context) -> Ranking {
    let mut r = Ranking::default();
    for m in crew {
        match exclusion(m, seat, charter, cx) {
            Some(why) => r.excluded.push((m.crew_id.clone(), m.name.clone(), why)),
            None => r.candidates.push(Candidate {
                crew_id: m.crew_id.clone(),
                name: m.name.clone(),
                sailed_30d: cx.sailed_30d.get(&m.crew_id).copied().unwrap_or(0),
                priority: cx.priority.get(&m.crew_id).copied().unwrap_or(0),
            }),
        }
    }
    r.candidates
        .sort_by(|a, b| (a.sailed_30d, -a.priority, &a.crew_id).cmp(&(b.sailed_30d, -b.priority, &b.crew_id)));
    r.excluded.sort_by(|a, b| a.0.cmp(&b.0));
    r
}

/// Charters sailed by each person in the 30 days before `charter`'s date (not counting
/// cancelled ones or `charter` itself).
pub fn sailed_30d(charter: &Charter, recent: &[Charter]) -> BTreeMap<CrewId, u32> {
    let from = charter.charter_date - Duration::days(30);
    let mut n = BTreeMap::new();
    for c in recent.iter().filter(|c| {
        c.charter_id != charter.charter_id
            && c.status != CharterStatus::Cancelled
            && c.charter_date >= from
            && c.charter_date < charter.charter_date
    }) {
        for p in c.people() {
            *n.entry(p.clone()).or_insert(0) += 1;
        }
    }
    n
}

/// The ranking for the next crew seat of every charter that has one open, as dispatch
/// would compute it with no offers made yet: for the office's overview and planning.
/// Charters are grouped by date and the 30-day counts kept in a sliding window, so the
/// whole season is planned in one pass.
pub fn plan(
    charters: &[Charter],
    crew: &[CrewMember],
    priority: &BTreeMap<CrewId, i32>,
    crew_seats: impl Fn(&Charter) -> u32,
) -> Vec<(CharterId, Ranking)> {
    let mut by_date: BTreeMap<chrono::NaiveDate, Vec<&Charter>> = BTreeMap::new();
    for c in charters.iter().filter(|c| c.status != CharterStatus::Cancelled) {
        by_date.entry(c.charter_date).or_default().push(c);
    }
    let dates: Vec<chrono::NaiveDate> = by_date.keys().copied().collect();
    let mut window: BTreeMap<CrewId, u32> = BTreeMap::new();
    let (mut enter, mut leave) = (0usize, 0usize);
    let mut out = Vec::new();
    for (i, date) in dates.iter().enumerate() {
        // The window holds the dates in [date - 30, date).
        while enter < i {
            for c in &by_date[&dates[enter]] {
                for p in c.people() {
                    *window.entry(p.clone()).or_insert(0) += 1;
                }
            }
            enter += 1;
        }
        while leave < enter && dates[leave] < *date - Duration::days(30) {
            for c in &by_date[&dates[leave]] {
                for p in c.people() {
                    if let Some(n) = window.get_mut(p) {
                        *n -= 1;
                    }
                }
            }
            leave += 1;
        }
        let same_day: Vec<Charter> = by_date[date].iter().map(|c| (*c).clone()).collect();
        let cx = Context {
            same_day: &same_day,
            sailed_30d: window.clone(),
            priority: priority.clone(),
            ..Context::default()
        };
        for c in &by_date[date] {
            if c.captain_assigned.is_some() && (c.crew_assigned.len() as u32) < crew_seats(c) {
                out.push((c.charter_id, rank(crew, SeatKind::Crew, c, &cx)));
            }
        }
    }
    out
}

/// How long an offer waits for an answer: `default`, but at most a quarter of the time
/// left before the charter starts (so a late gap still has time for several people),
/// and never less than 10 minutes unless the charter starts sooner.
pub fn response_window(now: DateTime<Utc>, starts_at: DateTime<Utc>, default: Duration) -> Duration {
    let left = starts_at - now;
    if left <= Duration::zero() {
        return Duration::zero();
    }
    let quarter = left / 4;
    let floor = Duration::minutes(10).min(left);
    default.min(quarter).max(floor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cents;
    use chrono::{NaiveDate, NaiveTime};
    use proptest::prelude::*;

    fn id(s: &str) -> CrewId {
        CrewId::parse(s).unwrap()
    }

    fn member(s: &str, captain: bool, available: bool) -> CrewMember {
        CrewMember {
            crew_id: id(s),
            name: s.to_uppercase(),
            email: crate::Email::parse(&format!("{s}@example.com")).unwrap(),
            phone: None,
            captain_certified: captain,
            available_dates: if available { [day()].into() } else { Default::default() },
            active: true,
        }
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 7, 6).unwrap()
    }

    fn charter(n: u128, date: NaiveDate, from: u32, to: u32, captain: Option<&str>, crew: &[&str]) -> Charter {
        Charter {
            charter_id: CharterId::from_uuid(uuid::Uuid::from_u128(n)),
            created_at: "2024-04-01T12:00:00Z".parse().unwrap(),
            charter_date: date,
            start_time: NaiveTime::from_hms_opt(from, 0, 0).unwrap(),
            end_time: NaiveTime::from_hms_opt(to, 0, 0).unwrap(),
            vessel_name: "Marlin".into(),
            guest_name: "Ada".into(),
            guest_count: 4,
            captain_assigned: captain.map(id),
            crew_assigned: crew.iter().map(|c| id(c)).collect(),
            reportable_revenue: Cents(1),
            tips: Cents(0),
            status: CharterStatus::Booked,
            version: 1,
        }
    }

    #[test]
    fn each_rule_has_its_reason() {
        let c = charter(1, day(), 10, 13, Some("cap"), &[]);
        let other = charter(2, day(), 12, 15, Some("busy"), &[]);
        let later = charter(3, day(), 13, 16, Some("free"), &[]);
        let same_day = [other.clone(), later];
        let mut cx = Context {
            same_day: &same_day,
            ..Context::default()
        };
        cx.declined.insert(id("nope"));
        cx.offered.insert(id("asked"));
        let mut inactive = member("gone", true, true);
        inactive.active = false;
        let cases = [
            (inactive, SeatKind::Crew, Some(Exclusion::Inactive)),
            (member("cap", true, true), SeatKind::Crew, Some(Exclusion::Aboard)),
            (
                member("away", true, false),
                SeatKind::Crew,
                Some(Exclusion::Unavailable),
            ),
            (
                member("busy", true, true),
                SeatKind::Crew,
                Some(Exclusion::Busy(other.charter_id)),
            ),
            (member("nope", true, true), SeatKind::Crew, Some(Exclusion::Declined)),
            (member("asked", true, true), SeatKind::Crew, Some(Exclusion::Offered)),
            (
                member("deck", false, true),
                SeatKind::Captain,
                Some(Exclusion::NotCertified),
            ),
            (member("deck", false, true), SeatKind::Crew, None),
            // Back to back (13:00 end, 13:00 start) is not an overlap.
            (member("free", false, true), SeatKind::Crew, None),
        ];
        for (m, seat, want) in cases {
            assert_eq!(exclusion(&m, seat, &c, &cx), want, "{}", m.crew_id);
        }
    }

    #[test]
    fn fairness_then_priority_then_id() {
        let c = charter(1, day(), 10, 13, Some("cap"), &[]);
        let crew = [
            member("b", false, true),
            member("a", false, true),
            member("c", false, true),
            member("d", false, true),
        ];
        let mut cx = Context::default();
        cx.sailed_30d.insert(id("a"), 3);
        cx.sailed_30d.insert(id("d"), 1);
        cx.priority.insert(id("c"), 5);
        let order: Vec<String> = rank(&crew, SeatKind::Crew, &c, &cx)
            .candidates
            .iter()
            .map(|x| x.crew_id.to_string())
            .collect();
        assert_eq!(order, ["c", "b", "d", "a"]);
    }

    #[test]
    fn sailed_counts_the_thirty_days_before() {
        let c = charter(1, day(), 10, 13, None, &[]);
        let d = |n: i64| day() - Duration::days(n);
        let mut cancelled = charter(5, d(2), 10, 13, Some("a"), &[]);
        cancelled.status = CharterStatus::Cancelled;
        let recent = [
            charter(2, d(1), 10, 13, Some("a"), &["b"]),
            charter(3, d(30), 10, 13, Some("a"), &[]),
            charter(4, d(31), 10, 13, Some("a"), &["b"]),
            cancelled,
            charter(6, day(), 8, 9, Some("b"), &[]),
        ];
        let n = sailed_30d(&c, &recent);
        assert_eq!(n.get(&id("a")), Some(&2));
        assert_eq!(n.get(&id("b")), Some(&1));
    }

    #[test]
    fn the_window_shrinks_as_the_charter_nears() {
        let now: DateTime<Utc> = "2024-07-01T12:00:00Z".parse().unwrap();
        let two_h = Duration::hours(2);
        assert_eq!(response_window(now, now + Duration::days(5), two_h), two_h);
        assert_eq!(
            response_window(now, now + Duration::hours(4), two_h),
            Duration::hours(1)
        );
        assert_eq!(
            response_window(now, now + Duration::minutes(20), two_h),
            Duration::minutes(10)
        );
        assert_eq!(
            response_window(now, now + Duration::minutes(5), two_h),
            Duration::minutes(5)
        );
        assert_eq!(
            response_window(now, now - Duration::minutes(5), two_h),
            Duration::zero()
        );
    }

    #[test]
    fn planning_a_season_matches_ranking_one_by_one() {
        let crew: Vec<CrewMember> = ["a", "b", "c", "d"].iter().map(|s| member(s, true, true)).collect();
        let mut charters = Vec::new();
        for n in 0..40u128 {
            let date = day() - Duration::days(45) + Duration::days(n as i64 * 2);
            let c = charter(n + 10, date, 10, 13, Some(["a", "b", "c"][n as usize % 3]), &[]);
            charters.push(c);
        }
        // The last one is on day(), open, with a captain.
        let last = charter(99, day(), 9, 12, Some("d"), &[]);
        charters.push(last.clone());
        let planned = plan(&charters, &crew, &BTreeMap::new(), |_| 1);
        let (_, r) = planned.iter().find(|(id, _)| *id == last.charter_id).unwrap();
        let same_day: Vec<Charter> = charters.iter().filter(|c| c.charter_date == day()).cloned().collect();
        let cx = Context {
            same_day: &same_day,
            sailed_30d: sailed_30d(&last, &charters),
            ..Context::default()
        };
        assert_eq!(r.candidates, rank(&crew, SeatKind::Crew, &last, &cx).candidates);
        assert!(!r.candidates.is_empty());
    }

    proptest! {
        /// The order is a permutation of exactly the eligible, sorted by the rule, and
        /// does not depend on the order the crew list came in.
        #[test]
        fn ranking_is_a_stable_sorted_partition(
            people in proptest::collection::vec((0u32..6, -2i32..3, any::<bool>(), any::<bool>(), any::<bool>()), 1..40),
            seed in any::<u64>(),
        ) {
            let c = charter(1, day(), 10, 13, Some("cap"), &[]);
            let mut crew = Vec::new();
            let mut cx = Context::default();
            for (i, (sailed, prio, cert, avail, active)) in people.iter().enumerate() {
                let mut m = member(&format!("p{i:02}"), *cert, *avail);
                m.active = *active;
                cx.sailed_30d.insert(m.crew_id.clone(), *sailed);
                cx.priority.insert(m.crew_id.clone(), *prio);
                crew.push(m);
            }
            let r = rank(&crew, SeatKind::Captain, &c, &cx);
            prop_assert_eq!(r.candidates.len() + r.excluded.len(), crew.len());
            for m in &crew {
                let eligible = m.active && m.captain_certified && m.is_available_on(day());
                prop_assert_eq!(eligible, r.candidates.iter().any(|x| x.crew_id == m.crew_id));
            }
            for w in r.candidates.windows(2) {
                prop_assert!((w[0].sailed_30d, -w[0].priority, &w[0].crew_id) < (w[1].sailed_30d, -w[1].priority, &w[1].crew_id));
            }
            let mut shuffled = crew.clone();
            let k = (seed as usize) % shuffled.len();
            shuffled.rotate_left(k);
            shuffled.reverse();
            prop_assert_eq!(rank(&shuffled, SeatKind::Captain, &c, &cx).candidates, r.candidates);
        }
    }
}
