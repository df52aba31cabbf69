//! Issue #2's targets: import 100,000 charters (CSV parse, validation, SQLite writes with
//! their outbox events) in under 3 s, and list one month out of them in under 10 ms.
//!
//! Run: `cargo bench -p jada-ops --bench import`

use std::fmt::Write as _;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use jada_core::Month;
use jada_ops::demo::sample_fleet;
use jada_ops::import::{import_charters, CharterContext, Format};
use jada_store::sqlite::SqliteStore;
use jada_store::CharterStore;

const ROWS: usize = 100_000;

/// 100,000 valid charters over four seasons (2,000-odd a month), as an office would export them.
fn charters_csv() -> String {
    let vessels = ["Marlin", "Sea Lion", "Pelican"];
    let mut csv = String::from("charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue,tips,status,captain,crew\n");
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for i in 0..ROWS {
        let date = start + chrono::Duration::days((i % 1461) as i64);
        let hour = 8 + (i / 1461) % 12;
        writeln!(
            csv,
            "{:08x}-0000-4000-8000-{:012x},{date},{hour:02}:00,{:02}:30,{},Guest {i},{},\"{},{:03}.50\",${}.25,booked,,",
            i,
            i,
            hour + 1,
            vessels[i % 3],
            1 + i % 6,
            1 + i % 9,
            i % 1000,
            i % 300
        )
        .unwrap();
    }
    csv
}

/// Imports the file into `store`, strictly: every row must be created.
fn import(rt: &tokio::runtime::Runtime, store: &SqliteStore, csv: &str) {
    let fleet = sample_fleet();
    let ctx = CharterContext {
        fleet: &fleet,
        now: "2024-01-01T00:00:00Z".parse().unwrap(),
        strict: true,
        expected_version: None,
    };
    let report = rt
        .block_on(import_charters(
            store,
            csv.as_bytes(),
            Format::Csv,
            "bench.csv",
            &ctx,
            &|_| {},
        ))
        .unwrap();
    assert_eq!(report.created, ROWS);
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let csv = charters_csv();

    let mut group = c.benchmark_group("charters");
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    group.bench_function("import 100k from CSV into a new SQLite file", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let store = SqliteStore::open(dir.path().join("jada.db")).unwrap();
                (dir, store)
            },
            |(dir, store)| {
                import(&rt, &store, &csv);
                (dir, store)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("jada.db")).unwrap();
    import(&rt, &store, &csv);
    let month = Month::parse("2025-07").unwrap();
    let n = rt.block_on(store.list_charters_in_month(month)).unwrap().len();
    assert!(n > 1_500, "a month holds {n} charters");
    c.bench_function(&format!("list one month ({n} charters) out of 100k"), |b| {
        b.iter(|| rt.block_on(store.list_charters_in_month(month)).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
