//! Issue #8's target: planning eligibility and order for 5,000 charters x 200 crew in
//! under 500 ms (`jada_core::dispatch::plan`: every open charter's candidates in order,
//! with the 30-day fairness counts, availability and same-day overlaps).
//!
//! Run: `cargo bench -p jada-ops --bench dispatch`

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate, NaiveTime};
use criterion::{criterion_group, criterion_main, Criterion};
use jada_core::{Cents, Charter, CharterId, CharterStatus, CrewId, CrewMember, Email};

const CHARTERS: usize = 5_000;
const CREW: usize = 200;

fn season() -> (Vec<Charter>, Vec<CrewMember>) {
    let start = NaiveDate::from_ymd_opt(2030, 3, 1).unwrap();
    let days = 240;
    let crew: Vec<CrewMember> = (0..CREW)
        .map(|i| CrewMember {
            crew_id: CrewId::parse(&format!("crew-{i:03}")).unwrap(),
            name: format!("Crew {i}"),
            email: Email::parse(&format!("crew{i}@example.com")).unwrap(),
            phone: None,
            captain_certified: i % 5 == 0,
            // Available about two days in three.
            available_dates: (0..days)
                .filter(|d| (d + i) % 3 != 0)
                .map(|d| start + Duration::days(d as i64))
                .collect::<BTreeSet<_>>(),
            active: i % 17 != 0,
        })
        .collect();
    let charters = (0..CHARTERS)
        .map(|n| {
            let hour = 8 + (n % 4) as u32 * 3;
            let captain = &crew[(n * 5) % CREW];
            // Some sailed (history for fairness), some half-crewed, some open.
            let aboard: Vec<CrewId> = (0..(n % 3))
                .map(|k| crew[(n * 7 + k * 13 + 1) % CREW].crew_id.clone())
                .collect();
            Charter {
                charter_id: CharterId::from_uuid(uuid::Uuid::from_u128(n as u128 + 1)),
                created_at: "2030-01-01T00:00:00Z".parse().unwrap(),
                charter_date: start + Duration::days((n * days / CHARTERS) as i64),
                start_time: NaiveTime::from_hms_opt(hour, 0, 0).unwrap(),
                end_time: NaiveTime::from_hms_opt(hour + 3, 0, 0).unwrap(),
                vessel_name: "Marlin".into(),
                guest_name: format!("Guest {n}"),
                guest_count: 4 + (n % 8) as u32,
                captain_assigned: Some(captain.crew_id.clone()),
                crew_assigned: aboard,
                reportable_revenue: Cents(90_000),
                tips: Cents(10_000),
                status: CharterStatus::Booked,
                version: 1,
            }
        })
        .collect();
    (charters, crew)
}

fn bench(c: &mut Criterion) {
    let (charters, crew) = season();
    let priority: BTreeMap<CrewId, i32> = crew.iter().step_by(9).map(|m| (m.crew_id.clone(), 1)).collect();
    // Three crew seats each: every charter has one open, so all 5,000 are ranked.
    let seats = |_: &Charter| 3;
    let planned = jada_core::dispatch::plan(&charters, &crew, &priority, seats);
    let candidates: usize = planned.iter().map(|(_, r)| r.candidates.len()).sum();
    println!(
        "{} open charters planned, {} candidates in all ({} per charter)",
        planned.len(),
        candidates,
        candidates / planned.len().max(1)
    );
    let mut g = c.benchmark_group("dispatch");
    g.sample_size(10);
    g.bench_function("plan 5,000 charters x 200 crew", |b| {
        b.iter(|| jada_core::dispatch::plan(&charters, &crew, &priority, seats))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
