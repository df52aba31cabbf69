//! A sample business for newcomers, demos and benchmarks: three vessels, fifteen crew
//! with availability, and charters over a span of days (a March-October season, or the
//! months around today). The same seed, span and "today" always give the same business,
//! down to the ids.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use jada_core::{
    Cents, Charter, CharterId, CharterStatus, CrewId, CrewMember, CrewTier, Email, Fleet, SeatRules, Vessel,
};
use jada_store::{Store, StoreError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::charters::{self, Draft};
use crate::import::{ImportReport, Location, Progress};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    pub seed: u64,
    /// The first and last day with charters.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Charters before this date have sailed (completed); later ones are booked.
    pub today: NaiveDate,
}

impl DemoOptions {
    /// The March-October season of `year`.
    pub fn season(seed: u64, year: i32, today: NaiveDate) -> DemoOptions {
        DemoOptions {
            seed,
            from: NaiveDate::from_ymd_opt(year, 3, 1).expect("March 1 exists"),
            to: NaiveDate::from_ymd_opt(year, 10, 31).expect("October 31 exists"),
            today,
        }
    }

    /// Live work on any day of the year: the eight months up to `today` (history for
    /// the reports and statements) and the eight weeks after it (charters to dispatch).
    pub fn around(seed: u64, today: NaiveDate) -> DemoOptions {
        let back = today - Duration::days(243);
        DemoOptions {
            seed,
            from: back.with_day(1).unwrap_or(back),
            to: today + Duration::weeks(8),
            today,
        }
    }
}

/// A generated business.
#[derive(Debug, Clone)]
pub struct DemoBusiness {
    pub fleet: Fleet,
    pub crew: Vec<CrewMember>,
    pub charters: Vec<Charter>,
}

/// The sample fleet: a six-pack sportfisher, a mid-size sloop and a large catamaran.
pub fn sample_fleet() -> Fleet {
    let v = |name: &str, tiers: &[(u32, u32)]| Vessel {
        name: name.into(),
        turnaround: 0,
        seats: SeatRules {
            captains: 1,
            crew: tiers
                .iter()
                .map(|&(max_guests, crew)| CrewTier { max_guests, crew })
                .collect(),
        },
    };
    Fleet::new(vec![
        v("Marlin", &[(6, 1)]),
        v("Sea Lion", &[(8, 1), (16, 2)]),
        v("Pelican", &[(12, 1), (24, 2), (40, 3)]),
    ])
}

const CREW: [(&str, &str, bool); 15] = [
    ("ana-m", "Ana Martínez", true),
    ("ben-o", "Ben Okafor", true),
    ("carla-r", "Carla Reyes", true),
    ("dev-p", "Dev Patel", true),
    ("eli-k", "Eli Kowalski", true),
    ("fay-n", "Fay Nguyen", false),
    ("gus-h", "Gus Hansen", false),
    ("hana-s", "Hana Sato", false),
    ("ivan-d", "Ivan Duarte", false),
    ("jo-b", "Jo Brennan", false),
    ("kai-l", "Kai Lindqvist", false),
    ("lena-w", "Lena Weber", false),
    ("milo-c", "Milo Castillo", false),
    ("nia-t", "Nia Thompson", false),
    ("omar-f", "Omar Farouk", false),
];

const FIRST: [&str; 16] = [
    "Alex", "Brooke", "Chris", "Dana", "Elliot", "Frankie", "Gabriel", "Harper", "Isa", "Jordan", "Kim", "Logan",
    "Morgan", "Noor", "Parker", "Quinn",
];
const LAST: [&str; 16] = [
    "Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen", "Khan", "Lopez",
    "Murphy", "Novak", "Olsen", "Price",
];

/// Three sailing slots a day; no two overlap, so a vessel sails each at most once.
const SLOTS: [((u32, u32), (u32, u32)); 3] = [((9, 0), (12, 0)), ((13, 0), (16, 0)), ((17, 30), (19, 30))];

/// Hourly rate in dollars per vessel, by fleet position.
const RATES: [i64; 3] = [250, 450, 700];

/// Generates the business. Pure: no store, no clock.
pub fn generate(opts: DemoOptions) -> DemoBusiness {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let fleet = sample_fleet();
    let days: Vec<NaiveDate> = opts.from.iter_days().take_while(|d| *d <= opts.to).collect();
    let crew = generate_crew(&mut rng, &days);
    let mut charters = Vec::new();
    for &day in &days {
        // Who is already aboard something in each slot of this day.
        let mut busy: [HashSet<CrewId>; 3] = Default::default();
        for (vi, vessel) in fleet.vessels().iter().enumerate() {
            for (si, &(start, end)) in SLOTS.iter().enumerate() {
                if rng.random_bool(demand(day)) {
                    let c = generate_charter(&mut rng, opts, day, vessel, vi, (start, end), &crew, &mut busy[si]);
                    charters.push(c);
                }
            }
        }
    }
    DemoBusiness { fleet, crew, charters }
}

/// The chance a given vessel and slot is booked: summer and weekends are busier; winter
/// has a few holiday and whale-watching sails (outside a March-October season only).
fn demand(day: NaiveDate) -> f64 {
    let base = [0.05, 0.05, 0.08, 0.11, 0.145, 0.2, 0.23, 0.23, 0.145, 0.09, 0.05, 0.06][day.month0() as usize];
    let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
    if weekend {
        (base * 1.7_f64).min(0.9)
    } else {
        base
    }
}

fn generate_crew(rng: &mut ChaCha8Rng, days: &[NaiveDate]) -> Vec<CrewMember> {
    CREW.iter()
        .enumerate()
        .map(|(i, &(id, name, captain))| {
            let rate = rng.random_range(0.45..0.85);
            let available_dates: BTreeSet<NaiveDate> = days.iter().copied().filter(|_| rng.random_bool(rate)).collect();
            CrewMember {
                crew_id: CrewId::parse(id).expect("demo crew ids are valid"),
                name: name.to_string(),
                email: Email::parse(&format!("{id}@crew.example.com")).expect("demo emails are valid"),
                phone: Some(format!("+1 619 555 {:04}", 100 + i)),
                captain_certified: captain,
                available_dates,
                // One person has retired: kept on record, never dispatched.
                active: id != "omar-f",
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn generate_charter(
    rng: &mut ChaCha8Rng,
    opts: DemoOptions,
    day: NaiveDate,
    vessel: &Vessel,
    vessel_index: usize,
    ((sh, sm), (eh, em)): ((u32, u32), (u32, u32)),
    crew: &[CrewMember],
    busy: &mut HashSet<CrewId>,
) -> Charter {
    let id = CharterId::from_uuid(uuid::Builder::from_random_bytes(rng.random()).into_uuid());
    let training = rng.random_bool(0.025);
    let capacity = vessel.capacity();
    let guests = if training {
        0
    } else {
        rng.random_range((capacity / 3).max(1)..=capacity)
    };
    let hours = i64::from(eh * 60 + em - sh * 60 - sm) / 60;
    let revenue = if training {
        0
    } else {
        (RATES[vessel_index] * hours + 15 * i64::from(guests)) * 100
    };
    let tips = if training {
        0
    } else {
        revenue * rng.random_range(0..=20) / 100 + rng.random_range(0..100)
    };
    let status = if rng.random_bool(0.04) {
        CharterStatus::Cancelled
    } else if day < opts.today {
        CharterStatus::Completed
    } else if day <= opts.today + Duration::days(14) {
        CharterStatus::Confirmed
    } else {
        CharterStatus::Booked
    };
    let crewed = status != CharterStatus::Cancelled && day <= opts.today + Duration::days(30);
    let (captain, deck) = if crewed {
        assign(rng, vessel, guests, day, crew, busy)
    } else {
        (None, vec![])
    };
    let lead = Duration::days(rng.random_range(5..90)) + Duration::minutes(rng.random_range(0..600));
    let booked_at = Utc.from_utc_datetime(&day.and_hms_opt(9, 0, 0).expect("valid time")) - lead;
    let today_start: DateTime<Utc> = Utc.from_utc_datetime(&opts.today.and_hms_opt(0, 0, 0).expect("valid time"));
    Charter {
        charter_id: id,
        created_at: booked_at.min(today_start),
        charter_date: day,
        start_time: NaiveTime::from_hms_opt(sh, sm, 0).expect("valid slot"),
        end_time: NaiveTime::from_hms_opt(eh, em, 0).expect("valid slot"),
        vessel_name: vessel.name.clone(),
        guest_name: if training {
            "Crew training".into()
        } else {
            format!(
                "{} {}",
                FIRST[rng.random_range(0..FIRST.len())],
                LAST[rng.random_range(0..LAST.len())]
            )
        },
        guest_count: guests,
        captain_assigned: captain,
        crew_assigned: deck,
        reportable_revenue: Cents(revenue),
        tips: Cents(tips),
        status,
        version: 0,
    }
}

/// Picks a captain and deck crew among those available that day and not already aboard
/// in the same slot. Seats may stay empty when nobody is free, as in real life.
fn assign(
    rng: &mut ChaCha8Rng,
    vessel: &Vessel,
    guests: u32,
    day: NaiveDate,
    crew: &[CrewMember],
    busy: &mut HashSet<CrewId>,
) -> (Option<CrewId>, Vec<CrewId>) {
    let seats = vessel.seats_for(guests).expect("demo guest counts fit the vessel");
    let mut free: Vec<&CrewMember> = crew
        .iter()
        .filter(|m| m.is_available_on(day) && !busy.contains(&m.crew_id))
        .collect();
    // Shuffle deterministically so work spreads across the roster.
    for i in (1..free.len()).rev() {
        free.swap(i, rng.random_range(0..=i));
    }
    let captain = free
        .iter()
        .position(|m| m.captain_certified)
        .map(|i| free.remove(i).crew_id.clone());
    let deck: Vec<CrewId> = free
        .iter()
        .take(seats.crew as usize)
        .map(|m| m.crew_id.clone())
        .collect();
    busy.extend(captain.iter().cloned().chain(deck.iter().cloned()));
    (captain, deck)
}

/// What loading the demo did.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub crew_written: usize,
    pub charters: ImportReport,
}

/// Writes the business to the store through the same save path as an import, so
/// loading it twice changes nothing the second time.
pub async fn load(
    store: &dyn Store,
    business: &DemoBusiness,
    now: DateTime<Utc>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<DemoReport, StoreError> {
    let mut crew_written = 0;
    for m in &business.crew {
        if store.get_crew(&m.crew_id).await?.as_ref() != Some(m) {
            store.upsert_crew(m).await?;
            crew_written += 1;
        }
    }
    let drafts = business
        .charters
        .iter()
        .map(|c| Draft {
            location: Location::Generated,
            charter: c.clone(),
        })
        .collect();
    let charters = charters::save(store, drafts, now, progress).await?;
    Ok(DemoReport { crew_written, charters })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(seed: u64) -> DemoOptions {
        DemoOptions::season(seed, 2024, NaiveDate::from_ymd_opt(2024, 7, 1).unwrap())
    }

    #[test]
    fn on_any_day_of_the_year_there_is_history_and_work_ahead() {
        for month in 1..=12 {
            for day in [1, 15, 28] {
                let today = NaiveDate::from_ymd_opt(2027, month, day).unwrap();
                let b = generate(DemoOptions::around(42, today));
                let ahead = b.charters.iter().filter(|c| c.charter_date >= today).count();
                let next_week = b
                    .charters
                    .iter()
                    .filter(|c| c.charter_date >= today && c.charter_date < today + Duration::days(7))
                    .count();
                let sailed = b
                    .charters
                    .iter()
                    .filter(|c| c.status == CharterStatus::Completed)
                    .count();
                assert!(
                    ahead >= 10 && next_week >= 1 && sailed >= 100,
                    "{today}: {ahead} ahead, {next_week} next week, {sailed} sailed"
                );
            }
        }
    }

    #[test]
    fn same_seed_same_business() {
        let a = generate(opts(7));
        let b = generate(opts(7));
        assert_eq!(a.charters, b.charters);
        assert_eq!(a.crew, b.crew);
        assert_ne!(generate(opts(8)).charters, a.charters);
    }

    #[test]
    fn a_plausible_season() {
        let b = generate(opts(1));
        assert_eq!(b.fleet.vessels().len(), 3);
        assert_eq!(b.crew.len(), 15);
        let n = b.charters.len();
        assert!((300..=550).contains(&n), "about 400 charters, got {n}");
        assert!(b.charters.iter().all(|c| c.validate().is_ok()));
        assert!(b.charters.iter().all(|c| (3..=10).contains(&c.charter_date.month())));
        let training = b
            .charters
            .iter()
            .filter(|c| c.reportable_revenue == Cents::ZERO)
            .count();
        let cancelled = b
            .charters
            .iter()
            .filter(|c| c.status == CharterStatus::Cancelled)
            .count();
        assert!(
            training > 0 && cancelled > 0,
            "training sails ({training}) and cancellations ({cancelled})"
        );
        for c in &b.charters {
            let v = b.fleet.get(&c.vessel_name).unwrap();
            assert!(c.guest_count <= v.capacity());
            assert!(c.people().count() as u32 <= 1 + v.seats_for(c.guest_count).unwrap().crew);
            for p in c.people() {
                let m = b.crew.iter().find(|m| &m.crew_id == p).unwrap();
                assert!(
                    m.is_available_on(c.charter_date),
                    "{p} sails only on days they are available"
                );
            }
            if let Some(cap) = &c.captain_assigned {
                assert!(b.crew.iter().any(|m| &m.crew_id == cap && m.captain_certified));
            }
        }
    }

    #[test]
    fn nobody_sails_twice_in_one_slot() {
        let b = generate(opts(3));
        let mut seen = HashSet::new();
        for c in &b.charters {
            for p in c.people() {
                assert!(
                    seen.insert((c.charter_date, c.start_time, p.clone())),
                    "{p} double-booked on {}",
                    c.charter_date
                );
            }
        }
    }
}
