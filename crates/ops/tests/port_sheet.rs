//! The port-sheet sync against the Google emulator over real HTTP and a real SQLite file.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use google_emulator::EmulatorHandle;
use jada_core::{Cents, Charter, CharterId, CharterStatus, Event, Fault};
use jada_ops::events::{EventHandler, HandlerError};
use jada_ops::port_sheet::{Columns, PortSheet, PortSheetConfig, PortSheetHandler, SyncError};
use jada_store::sqlite::SqliteStore;
use jada_store::CharterStore;

const TAB: &str = "Port Sheet";

struct Env {
    emu: EmulatorHandle,
    sheet: Arc<PortSheet>,
    store: Arc<SqliteStore>,
    id: String,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let emu = google_emulator::spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut client = common::client(
        &emu,
        dir.path(),
        "sync@jada-test.iam.gserviceaccount.com",
        &[jada_google::sheets::SCOPE],
        None,
    )
    .await;
    client.backoff = Duration::from_millis(40);
    let store = Arc::new(SqliteStore::open(dir.path().join("jada.db")).unwrap());
    let id = emu.create_spreadsheet("Port", &[TAB]);
    let cfg = PortSheetConfig {
        spreadsheet_id: id.clone(),
        tab: TAB.into(),
        credential: "workspace".into(),
        columns: Columns::default(),
        window_days: 30,
    };
    let sheet = Arc::new(PortSheet {
        cfg,
        client,
        store: store.clone(),
    });
    Env {
        emu,
        sheet,
        store,
        id,
        _dir: dir,
    }
}

fn charter(n: u32) -> Charter {
    Charter {
        charter_id: CharterId::from_uuid(uuid::Uuid::from_u128(0x1000 + n as u128)),
        created_at: Utc::now(),
        charter_date: NaiveDate::from_ymd_opt(2030, 5, 1).unwrap() + chrono::Duration::days((n % 60) as i64),
        start_time: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        end_time: chrono::NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
        // One vessel sails one charter at a time: past the 60 days, another boat.
        vessel_name: if n < 60 {
            "Marlin".into()
        } else {
            format!("Marlin {}", n / 60)
        },
        guest_name: format!("Guest {n}"),
        guest_count: 4,
        captain_assigned: None,
        crew_assigned: vec![],
        reportable_revenue: Cents(100_000),
        tips: Cents(0),
        status: CharterStatus::Booked,
        version: 0,
    }
}

async fn add(env: &Env, n: u32) -> Charter {
    env.store.create_charter(charter(n), vec![], Utc::now()).await.unwrap()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2030, 5, 1).unwrap()
}

#[tokio::test]
async fn an_empty_tab_gets_a_header_and_rows_and_a_second_sync_changes_nothing() {
    let env = env().await;
    let a = add(&env, 1).await;
    let b = add(&env, 2).await;
    let r = env.sheet.sync(&[a.charter_id, b.charter_id]).await.unwrap();
    assert!(r.header_written);
    assert_eq!(r.rows_appended, 2);
    let cells = env.emu.cells(&env.id, TAB);
    assert_eq!(cells[0][..3], ["Charter ID", "Date", "Start"]);
    let read = env.sheet.client.get(&env.id, "'Port Sheet'!A1:B2").await.unwrap();
    assert_eq!(
        read,
        vec![
            vec!["Charter ID".to_string(), "Date".into()],
            vec![a.charter_id.to_string(), a.charter_date.to_string()]
        ]
    );
    assert_eq!(cells[1][0], a.charter_id.to_string());
    assert_eq!(cells[2][5], "Guest 2");

    let before = env.emu.sheets_calls();
    let r = env.sheet.sync(&[a.charter_id, b.charter_id]).await.unwrap();
    assert_eq!((r.rows_updated, r.rows_appended), (0, 0));
    assert_eq!(env.emu.sheets_calls() - before, 1, "nothing to write: only the read");
}

#[tokio::test]
async fn office_columns_are_never_touched_and_moved_columns_are_followed() {
    let env = env().await;
    let a = add(&env, 1).await;
    let id = a.charter_id.to_string();
    // The office's layout: its own columns between ours, in its own order.
    env.emu.set_cells(
        &env.id,
        TAB,
        &[
            vec![
                "Notes",
                "Charter ID",
                "Guest",
                "Colour",
                "Date",
                "Start",
                "End",
                "Vessel",
                "Guests",
                "Status",
                "Captain",
                "Crew",
            ],
            vec![
                "call the day before",
                &id,
                "Old Name",
                "blue",
                "2030-05-02",
                "09:00",
                "12:00",
                "Marlin",
                "4",
                "booked",
                "",
                "",
            ],
            vec!["(office note row, no charter)"],
        ],
    );
    let mut c = a.clone();
    for round in 0..5u32 {
        c.guest_name = format!("Ada {round}");
        c = env
            .store
            .update_charter(c.clone(), c.version, vec![], Utc::now())
            .await
            .unwrap();
        env.sheet.sync(&[c.charter_id]).await.unwrap();
    }
    let cells = env.emu.cells(&env.id, TAB);
    assert_eq!(
        cells[1][0], "call the day before",
        "the office's Notes survived five syncs"
    );
    assert_eq!(cells[1][3], "blue");
    assert_eq!(
        cells[1][2], "Ada 4",
        "the Guest column was found where the office moved it"
    );
    assert_eq!(cells[1][4], "2030-05-02");
    assert_eq!(cells[2], vec!["(office note row, no charter)"]);
    assert_eq!(cells.len(), 3, "no row added or reordered");
}

#[tokio::test]
async fn a_missing_mapped_column_is_a_clear_error_and_writes_nothing() {
    let env = env().await;
    let a = add(&env, 1).await;
    env.emu.set_cells(
        &env.id,
        TAB,
        &[vec![
            "Charter ID",
            "Date",
            "Start",
            "End",
            "Vessel",
            "Guest",
            "Status",
            "Captain",
            "Crew",
        ]],
    );
    let err = env.sheet.sync(&[a.charter_id]).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the port sheet's tab `Port Sheet` has no column `Guests` (for guest_count): add that header to row 1, or change [jobs.port-sheet.columns] in jada.toml"
    );
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(env.emu.cells(&env.id, TAB).len(), 1);
}

#[tokio::test]
async fn cancelled_charters_are_updated_not_deleted() {
    let env = env().await;
    let mut a = add(&env, 1).await;
    env.sheet.sync(&[a.charter_id]).await.unwrap();
    a.status = CharterStatus::Cancelled;
    let a = env
        .store
        .update_charter(a.clone(), a.version, vec![], Utc::now())
        .await
        .unwrap();
    let r = env.sheet.sync(&[a.charter_id]).await.unwrap();
    assert_eq!((r.rows_updated, r.cells_updated), (1, 1));
    let cells = env.emu.cells(&env.id, TAB);
    assert_eq!(cells.len(), 2);
    assert_eq!(cells[1][7], "cancelled");
}

#[tokio::test]
async fn a_thousand_changes_reach_the_sheet_in_at_most_three_calls() {
    let env = env().await;
    let mut events = Vec::new();
    for n in 0..1000 {
        let c = add(&env, n).await;
        events.push(Event::CharterChanged {
            charter_id: c.charter_id,
            version: 1,
        });
    }
    // Half are already in the sheet and change; half are new.
    env.sheet
        .sync(&events[..500].iter().map(id_of).collect::<Vec<_>>())
        .await
        .unwrap();
    for e in &events[..500] {
        let mut c = env.store.get_charter(id_of(e)).await.unwrap().unwrap();
        c.guest_count = 6;
        env.store
            .update_charter(c.clone(), c.version, vec![], Utc::now())
            .await
            .unwrap();
    }
    let before = env.emu.sheets_calls();
    PortSheetHandler(env.sheet.clone()).handle_batch(&events).await.unwrap();
    assert!(
        env.emu.sheets_calls() - before <= 3,
        "{} calls",
        env.emu.sheets_calls() - before
    );
    let cells = env.emu.cells(&env.id, TAB);
    assert_eq!(cells.len(), 1001);
    assert!(cells[1..501].iter().all(|r| r[6] == "6"));
}

fn id_of(e: &Event) -> CharterId {
    match e {
        Event::CharterChanged { charter_id, .. } => *charter_id,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn quota_429s_are_absorbed_by_backoff() {
    let env = env().await;
    env.emu.set_sheets_write_quota(3); // the first sync writes twice (header, row), the second once
    for n in 0..3 {
        let c = add(&env, n).await;
        if n < 2 {
            env.sheet.sync(&[c.charter_id]).await.unwrap();
        } else {
            // The quota is spent; a minute later (on the emulator's clock) it is back.
            let emu = env.emu.emulator.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(150)).await;
                emu.set_clock_offset(61);
            });
            env.sheet.sync(&[c.charter_id]).await.unwrap();
        }
    }
    assert!(
        env.emu.calls("sheets.quota_exceeded") >= 1,
        "a 429 happened and was absorbed"
    );
    assert_eq!(env.emu.cells(&env.id, TAB).len(), 4);
}

#[tokio::test]
async fn reconcile_repairs_drift_and_dry_run_writes_nothing() {
    let env = env().await;
    let a = add(&env, 1).await;
    let b = add(&env, 2).await;
    env.sheet.reconcile(today(), false).await.unwrap();
    // Someone typed over a mapped cell, and a charter was never synced.
    let mut cells = env.emu.cells(&env.id, TAB);
    cells[1][5] = "Typo".into();
    let rows: Vec<Vec<&str>> = cells.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
    env.emu.set_cells(&env.id, TAB, &rows);
    let c = add(&env, 3).await;

    let dry = env.sheet.reconcile(today(), true).await.unwrap();
    assert_eq!((dry.rows_updated, dry.rows_appended), (1, 1));
    assert!(
        dry.changes.iter().any(|l| l.contains("Guest=Guest 1")),
        "{:?}",
        dry.changes
    );
    assert_eq!(env.emu.cells(&env.id, TAB)[1][5], "Typo", "a dry run writes nothing");

    let before = env.emu.sheets_calls();
    let r = env.sheet.reconcile(today(), false).await.unwrap();
    assert_eq!(r.summary(), "1 row(s) updated (1 cells), 1 appended");
    assert!(env.emu.sheets_calls() - before <= 3);
    let cells = env.emu.cells(&env.id, TAB);
    assert_eq!(cells[1][5], "Guest 1");
    assert_eq!(cells[3][0], c.charter_id.to_string());
    let _ = (a, b);
}

#[tokio::test]
async fn an_unshared_spreadsheet_names_the_spreadsheet_and_credential_and_blocks() {
    let env = env().await;
    let a = add(&env, 1).await;
    env.emu.share_spreadsheet(&env.id, "someone-else@example.com");
    let err = env.sheet.sync(&[a.charter_id]).await.unwrap_err();
    assert!(matches!(err, SyncError::Google(_)));
    let msg = err.to_string();
    assert!(
        msg.contains(&env.id) && msg.contains("credential `workspace`") && msg.contains("share the spreadsheet"),
        "{msg}"
    );
    let handled = PortSheetHandler(env.sheet.clone())
        .handle_batch(&[Event::CharterChanged {
            charter_id: a.charter_id,
            version: 1,
        }])
        .await;
    assert!(
        matches!(handled, Err(HandlerError::Blocked(_))),
        "an operator must act: the events wait"
    );
}
