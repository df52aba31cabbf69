//! Issue #6's target: 50 crew x 365 days parsed and upserted in under 200 ms. The tabs are
//! what one `values.batchGet` returns (a tab per person, dates written in mixed formats:
//! ISO, US, month names, ranges and serial numbers); the store is a real SQLite file.
//!
//! Run: `cargo bench -p jada-ops --bench roster`

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use jada_core::{CrewId, CrewMember, Email};
use jada_ops::roster::{apply_tabs, RosterConfig, Source, UnknownCrew};
use jada_store::sqlite::SqliteStore;
use jada_store::CrewStore;
use serde_json::{json, Value};

const CREW: usize = 50;

fn tabs(today: NaiveDate) -> Vec<(String, Vec<Vec<Value>>)> {
    (0..CREW)
        .map(|i| {
            let rows = (0..365)
                .map(|n| {
                    let d = today + chrono::Duration::days(n);
                    let serial = (d - NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()).num_days();
                    vec![match n % 4 {
                        0 => json!(d.to_string()),
                        1 => json!(format!("{}/{}/{}", d.month(), d.day(), d.year())),
                        2 => json!(d.format("%B %-d").to_string()),
                        _ => json!(serial),
                    }]
                })
                .collect();
            (format!("Crew Member {i}"), rows)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let today = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
    let tabs = tabs(today);
    let cfg = RosterConfig {
        source: Source::FileId("bench".into()),
        credential: "x".into(),
        window_days: 365,
        unknown_crew: UnknownCrew::Report,
        max_removal_share: 0.5,
    };
    c.bench_function("roster: parse and upsert 50 crew x 365 days", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let store = SqliteStore::open(dir.path().join("jada.db")).unwrap();
                rt.block_on(async {
                    for i in 0..CREW {
                        let m = CrewMember {
                            crew_id: CrewId::parse(&format!("crew-{i}")).unwrap(),
                            name: format!("Crew Member {i}"),
                            email: Email::parse(&format!("crew{i}@example.com")).unwrap(),
                            phone: None,
                            captain_certified: false,
                            available_dates: BTreeSet::new(),
                            active: true,
                        };
                        store.upsert_crew(&m).await.unwrap();
                    }
                });
                (dir, store)
            },
            |(dir, store)| {
                let r = rt
                    .block_on(apply_tabs(&cfg, &store, &tabs, today, false, false))
                    .unwrap();
                assert_eq!(r.changes.len(), CREW);
                assert!(r.bad_cells.is_empty());
                (dir, store)
            },
            BatchSize::PerIteration,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
