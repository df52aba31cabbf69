//! The monthly report, read back by an independent reader (Python's openpyxl).

mod common;
use common::run_python;

use std::path::Path;

use chrono::{NaiveDate, NaiveTime, Utc};
use jada_core::{Cents, Charter, CharterId, CharterStatus, CrewId, Month};
use jada_ops::report::{file_name, monthly, write, Column};
use jada_store::sqlite::SqliteStore;
use jada_store::CharterStore;
use serde_json::Value;

/// What openpyxl sees in the workbook, as JSON.
fn inspect(path: &Path) -> Value {
    let script = r#"
import json, sys, openpyxl
p = sys.argv[1]
wb = openpyxl.load_workbook(p)
cached = openpyxl.load_workbook(p, data_only=True)
out = {"sheets": wb.sheetnames, "names": {n: d.attr_text for n, d in wb.defined_names.items()}, "tabs": {}}
for ws in wb.worksheets:
    rows = list(ws.iter_rows(values_only=True))
    c = cached[ws.title]
    out["tabs"][ws.title] = {
        "freeze": ws.freeze_panes,
        "filter": ws.auto_filter.ref,
        "header": list(rows[0]) if rows else [],
        "rows": len(rows),
        "formats": [ws.cell(row=2, column=i + 1).number_format for i in range(ws.max_column)] if ws.max_row > 1 else [],
        "second_row": [str(v) for v in rows[1]] if len(rows) > 1 else [],
        "last_row": [str(v) if v is not None else None for v in rows[-1]] if rows else [],
        "cached_last_row": [v for v in list(c.iter_rows(values_only=True))[-1]] if rows else [],
    }
print(json.dumps(out, default=str))
"#;
    run_python(script, [path])
}

fn charter(n: u32, revenue: i64, tips: i64) -> Charter {
    Charter {
        charter_id: CharterId::from_uuid(uuid::Uuid::from_u128(0xabc0 + n as u128)),
        created_at: Utc::now(),
        charter_date: NaiveDate::from_ymd_opt(2024, 5, 1 + n % 28).unwrap(),
        // Past the 28 days, the afternoon sail: one vessel sails one charter at a time.
        start_time: NaiveTime::from_hms_opt(if n < 28 { 9 } else { 13 }, 0, 0).unwrap(),
        end_time: NaiveTime::from_hms_opt(if n < 28 { 12 } else { 16 }, 0, 0).unwrap(),
        vessel_name: "Marlin".into(),
        guest_name: format!("Guest {n}"),
        guest_count: 4,
        captain_assigned: Some(CrewId::parse("ana-m").unwrap()),
        crew_assigned: vec![CrewId::parse("ben-o").unwrap()],
        reportable_revenue: Cents(revenue),
        tips: Cents(tips),
        status: CharterStatus::Completed,
        version: 0,
    }
}

#[tokio::test]
async fn the_workbook_reads_back_with_formats_names_and_true_totals() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("jada.db")).unwrap();
    let mut revenue = 0;
    let mut tips = 0;
    for n in 0..40u32 {
        let (r, t) = if n % 10 == 0 {
            (0, 0)
        } else {
            (100_000 + n as i64 * 1_234, n as i64 * 77)
        };
        if r > 0 {
            revenue += r;
            tips += t;
        }
        store
            .create_charter(charter(n, r, t), vec![], Utc::now())
            .await
            .unwrap();
    }
    let out = dir.path().join(file_name(Month::parse("2024-05").unwrap()));
    let report = monthly(&store, Month::parse("2024-05").unwrap(), dir.path(), &out, None)
        .await
        .unwrap();
    assert_eq!(
        (report.rows, report.revenue, report.tips),
        (36, Cents(revenue), Cents(tips)),
        "training sails (0 revenue) are left out"
    );

    let v = inspect(&out);
    assert_eq!(v["sheets"], serde_json::json!(["Template", "May 2024"]));
    assert_eq!(v["names"]["Revenue"], "'May 2024'!$F$2:$F$37");
    assert_eq!(v["names"]["Tips"], "'May 2024'!$G$2:$G$37");
    let may = &v["tabs"]["May 2024"];
    assert_eq!(may["freeze"], "A2");
    assert_eq!(v["tabs"]["Template"]["freeze"], "A2");
    assert_eq!(may["filter"], "A1:I37");
    assert_eq!(
        may["header"],
        serde_json::json!([
            "Date",
            "Charter ID",
            "Vessel",
            "Guest",
            "Guests",
            "Revenue",
            "Tips",
            "Captain",
            "Crew"
        ])
    );
    assert_eq!(may["rows"], 38, "header, 36 charters, totals");
    assert_eq!(may["formats"][0], "yyyy-mm-dd");
    assert_eq!(may["formats"][5], "$#,##0.00");
    assert_eq!(
        may["second_row"][0], "2024-05-01 00:00:00",
        "dates are real dates, not text"
    );
    assert_eq!(may["last_row"][5], "=SUM(Revenue)");
    let cached = &may["cached_last_row"];
    assert!(
        (cached[5].as_f64().unwrap() - revenue as f64 / 100.0).abs() < 1e-6,
        "the cached total equals the store's sum"
    );
    assert!((cached[6].as_f64().unwrap() - tips as f64 / 100.0).abs() < 1e-6);
}

#[tokio::test]
async fn the_column_order_follows_last_months_report() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("jada.db")).unwrap();
    store
        .create_charter(charter(1, 50_000, 500), vec![], Utc::now())
        .await
        .unwrap();
    let april_order = vec![
        Column::Guest,
        Column::Date,
        Column::Revenue,
        Column::Tips,
        Column::Vessel,
        Column::CharterId,
        Column::Guests,
        Column::Captain,
        Column::Crew,
    ];
    write(
        &[],
        Month::parse("2024-04").unwrap(),
        &april_order,
        &dir.path().join(file_name(Month::parse("2024-04").unwrap())),
    )
    .unwrap();
    let out = dir.path().join("may.xlsx");
    let report = monthly(&store, Month::parse("2024-05").unwrap(), dir.path(), &out, None)
        .await
        .unwrap();
    assert!(report.column_order.starts_with("as in"), "{}", report.column_order);
    let v = inspect(&out);
    assert_eq!(
        v["tabs"]["May 2024"]["header"],
        serde_json::json!([
            "Guest",
            "Date",
            "Revenue",
            "Tips",
            "Vessel",
            "Charter ID",
            "Guests",
            "Captain",
            "Crew"
        ])
    );
    assert_eq!(v["names"]["Revenue"], "'May 2024'!$C$2:$C$2");
}

mod drive {
    use jada_google::client::GoogleClient;
    use jada_ops::report::{monthly, publish, Publish};

    use super::*;

    async fn client(emu: &google_emulator::EmulatorHandle, dir: &Path) -> GoogleClient {
        common::client(
            emu,
            dir,
            "reports@jada-test.iam.gserviceaccount.com",
            &["https://www.googleapis.com/auth/drive"],
            None,
        )
        .await
    }

    #[tokio::test]
    async fn the_report_is_uploaded_shared_and_replaced_not_duplicated() {
        let emu = google_emulator::spawn().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("jada.db")).unwrap();
        store
            .create_charter(charter(1, 50_000, 500), vec![], Utc::now())
            .await
            .unwrap();
        let folder = emu.create_folder("Reports", "root");
        let p = Publish {
            client: client(&emu, dir.path()).await,
            folder_id: folder.clone(),
            share: vec!["office@example.com".into(), "owner@example.com".into()],
        };
        let out = dir.path().join(file_name(Month::parse("2024-05").unwrap()));
        let report = monthly(&store, Month::parse("2024-05").unwrap(), dir.path(), &out, None)
            .await
            .unwrap();
        let first = publish(&report, &p).await.unwrap();
        assert!(!first.replaced);
        store
            .create_charter(charter(2, 70_000, 700), vec![], Utc::now())
            .await
            .unwrap();
        let report = monthly(&store, Month::parse("2024-05").unwrap(), dir.path(), &out, None)
            .await
            .unwrap();
        let second = publish(&report, &p).await.unwrap();
        assert!(second.replaced, "re-running the month replaces the file");
        assert_eq!(second.file_id, first.file_id);
        let files = emu.drive_files(&folder);
        assert_eq!(files.len(), 1, "no duplicate");
        let (name, content, shared) = &files[0];
        assert_eq!(name, "revenue-2024-05.xlsx");
        assert_eq!(content, &std::fs::read(&out).unwrap(), "Drive holds the latest report");
        assert_eq!(
            shared.iter().map(|(e, r)| format!("{e}:{r}")).collect::<Vec<_>>(),
            vec!["office@example.com:reader", "owner@example.com:reader"]
        );
    }

    #[tokio::test]
    async fn last_months_column_order_is_read_from_drive_when_not_kept_locally() {
        let emu = google_emulator::spawn().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("jada.db")).unwrap();
        store
            .create_charter(charter(1, 50_000, 500), vec![], Utc::now())
            .await
            .unwrap();
        let folder = emu.create_folder("Reports", "root");
        let p = Publish {
            client: client(&emu, dir.path()).await,
            folder_id: folder,
            share: vec![],
        };
        // April's report, in the office's own order, exists only on Drive.
        let elsewhere = tempfile::tempdir().unwrap();
        let april = elsewhere.path().join(file_name(Month::parse("2024-04").unwrap()));
        let order = vec![
            Column::Tips,
            Column::Revenue,
            Column::Guest,
            Column::Date,
            Column::Vessel,
            Column::CharterId,
            Column::Guests,
            Column::Captain,
            Column::Crew,
        ];
        write(&[], Month::parse("2024-04").unwrap(), &order, &april).unwrap();
        p.client
            .upload(
                &p.folder_id,
                &file_name(Month::parse("2024-04").unwrap()),
                jada_google::drive::XLSX,
                &std::fs::read(&april).unwrap(),
            )
            .await
            .unwrap();

        let out = dir.path().join("may.xlsx");
        let report = monthly(&store, Month::parse("2024-05").unwrap(), dir.path(), &out, Some(&p))
            .await
            .unwrap();
        assert_eq!(report.column_order, "as in revenue-2024-04.xlsx on Drive");
        let v = inspect(&out);
        assert_eq!(v["tabs"]["May 2024"]["header"][0], "Tips");
    }

    #[tokio::test]
    async fn files_over_five_megabytes_go_resumable_in_chunks() {
        let emu = google_emulator::spawn().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let c = client(&emu, dir.path()).await;
        let folder = emu.create_folder("Reports", "root");
        let big: Vec<u8> = (0..9 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let (_, replaced) = c
            .upload(&folder, "big.xlsx", jada_google::drive::XLSX, &big)
            .await
            .unwrap();
        assert!(!replaced);
        assert_eq!(emu.calls("drive.upload.chunk"), 3, "9 MB in 4 MB chunks");
        assert_eq!(emu.drive_files(&folder)[0].1, big);
    }
}
