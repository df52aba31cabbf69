//! Crew availability from the emulator's Drive and Sheets into a real SQLite roster.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use google_emulator::EmulatorHandle;
use jada_core::{CrewId, CrewMember, Email};
use jada_ops::roster::{RosterConfig, RosterError, RosterSync, Source, UnknownCrew};
use jada_store::sqlite::SqliteStore;
use jada_store::CrewStore;
use serde_json::{json, Value};

const SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/spreadsheets.readonly",
    "https://www.googleapis.com/auth/drive.readonly",
];

fn d(m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2030, m, day).unwrap()
}

fn today() -> NaiveDate {
    d(5, 1)
}

struct Env {
    emu: EmulatorHandle,
    store: Arc<SqliteStore>,
    sheet: String,
    sync: RosterSync,
    _dir: tempfile::TempDir,
}

fn member(id: &str, name: &str, email: &str, dates: &[NaiveDate]) -> CrewMember {
    CrewMember {
        crew_id: CrewId::parse(id).unwrap(),
        name: name.into(),
        email: Email::parse(email).unwrap(),
        phone: None,
        captain_certified: false,
        available_dates: dates.iter().copied().collect(),
        active: true,
    }
}

async fn env(tabs: &[&str], unknown: UnknownCrew) -> Env {
    let emu = google_emulator::spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let business = emu.create_folder("JADA Business", "root");
    let crew_folder = emu.create_folder("Crew", &business);
    let sheet = emu.create_spreadsheet("Crew Availability", tabs);
    emu.move_to_folder(&sheet, &crew_folder);
    let store = Arc::new(SqliteStore::open(dir.path().join("jada.db")).unwrap());
    // Known before the sync: a date in last season (outside the window) and one inside.
    store
        .upsert_crew(&member(
            "ana-m",
            "Ana Martínez",
            "ana@example.com",
            &[NaiveDate::from_ymd_opt(2029, 8, 1).unwrap(), d(6, 1)],
        ))
        .await
        .unwrap();
    store
        .upsert_crew(&member("ben-o", "Ben Okafor", "ben@example.com", &[]))
        .await
        .unwrap();
    let mut client = common::client(
        &emu,
        dir.path(),
        "roster@jada-test.iam.gserviceaccount.com",
        &SCOPES,
        None,
    )
    .await;
    client.backoff = Duration::from_millis(5);
    let cfg = RosterConfig {
        source: Source::Path {
            folder_path: "JADA Business/Crew".into(),
            name: "Crew Availability".into(),
        },
        credential: "workspace".into(),
        window_days: 365,
        unknown_crew: unknown,
        max_removal_share: 0.5,
    };
    let sync = RosterSync {
        cfg,
        client,
        store: store.clone(),
    };
    Env {
        emu,
        store,
        sheet,
        sync,
        _dir: dir,
    }
}

fn rows(v: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    v
}

async fn dates_of(env: &Env, id: &str) -> BTreeSet<NaiveDate> {
    env.store
        .get_crew(&CrewId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap()
        .available_dates
}

#[tokio::test]
async fn one_tab_per_person_with_a_roster_tab() {
    let env = env(&["Ana Martínez", "Ben Okafor", "Roster"], UnknownCrew::Report).await;
    // 47245 is 2029-05-07 as a Sheets serial; 47610 is 2030-05-07.
    env.emu.set_values(
        &env.sheet,
        "Ana Martínez",
        rows(vec![
            vec![json!("Dates")],
            vec![json!("2030-05-03")],
            vec![json!("5/4")],
            vec![json!(47610)],
            vec![json!("May 10 – May 12")],
        ]),
    );
    env.emu.set_values(
        &env.sheet,
        "Ben Okafor",
        rows(vec![vec![json!("5/20/2030")], vec![], vec![json!("5/21, 5/22")]]),
    );
    env.emu.set_values(
        &env.sheet,
        "Roster",
        rows(vec![
            vec![json!("Name"), json!("Email"), json!("Phone"), json!("Captain")],
            vec![
                json!("Ben Okafor"),
                json!("ben@example.com"),
                json!("+1 619 555 0199"),
                json!("yes"),
            ],
        ]),
    );

    let r = env.sync.run(today(), false, false).await.unwrap();
    assert!(r.applied && r.bad_cells.is_empty() && r.unknown.is_empty(), "{r:?}");
    let ana = dates_of(&env, "ana-m").await;
    let want: BTreeSet<NaiveDate> = [d(5, 3), d(5, 4), d(5, 7), d(5, 10), d(5, 11), d(5, 12)].into();
    assert_eq!(
        ana.iter().filter(|x| **x >= today()).copied().collect::<BTreeSet<_>>(),
        want,
        "06-01 was replaced; the sheet is the truth inside the window"
    );
    assert!(
        ana.contains(&NaiveDate::from_ymd_opt(2029, 8, 1).unwrap()),
        "history outside the window is kept"
    );
    let ben = env
        .store
        .get_crew(&CrewId::parse("ben-o").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ben.available_dates, [d(5, 20), d(5, 21), d(5, 22)].into());
    assert!(ben.captain_certified);
    assert_eq!(ben.phone.as_deref(), Some("+1 619 555 0199"));
    assert!(r.summary().starts_with("2 crew updated"), "{}", r.summary());
}

#[tokio::test]
async fn status_tabs_and_a_messy_sheet_report_every_bad_cell_by_position() {
    let env = env(&["Available", "Unavailable"], UnknownCrew::Report).await;
    env.emu.set_values(
        &env.sheet,
        "Available",
        rows(vec![
            vec![json!("Name"), json!("Dates")],
            vec![
                json!("  ANA   martínez "),
                json!("5/3, 5/5"),
                json!("May 7 – May 9"),
                json!("Mya 3"),
            ],
            vec![],
            vec![
                json!("Ben Okafor"),
                json!("2/30"),
                json!("2030-05-10"),
                json!(""),
                json!("3 June 2030"),
            ],
            vec![json!("Zed Unknown"), json!("5/3")],
        ]),
    );
    env.emu.set_values(
        &env.sheet,
        "Unavailable",
        rows(vec![vec![json!("Ana Martínez"), json!("5/8")]]),
    );
    let r = env.sync.run(today(), false, false).await.unwrap();
    let bad: Vec<String> = r.bad_cells.iter().map(|b| format!("{}!{}", b.tab, b.cell)).collect();
    assert_eq!(bad, vec!["Available!D2", "Available!B4"], "{:#?}", r.bad_cells);
    assert!(r.bad_cells[1].reason.contains("no such day"), "{}", r.bad_cells[1]);
    assert_eq!(r.bad_cells[0].value, "Mya 3");
    assert_eq!(r.unknown, vec!["Zed Unknown"], "reported, not created");
    assert_eq!(
        dates_of(&env, "ana-m")
            .await
            .range(today()..)
            .copied()
            .collect::<Vec<_>>(),
        vec![d(5, 3), d(5, 5), d(5, 7), d(5, 9)],
        "5/8 is unavailable"
    );
    assert_eq!(
        dates_of(&env, "ben-o").await,
        [d(5, 10), d(6, 3)].into(),
        "the good cells of a row with a bad one still land"
    );
}

#[tokio::test]
async fn a_failed_read_writes_nothing() {
    let env = env(&["Ana Martínez"], UnknownCrew::Report).await;
    env.emu
        .set_values(&env.sheet, "Ana Martínez", rows(vec![vec![json!("5/3")]]));
    env.emu.share_spreadsheet(&env.sheet, "someone-else@example.com");
    let err = env.sync.run(today(), false, false).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Sheets: credential `workspace` may not use spreadsheet"),
        "{err}"
    );
    assert_eq!(dates_of(&env, "ana-m").await.len(), 2, "unchanged");

    let mut env = env_with_path(&["Ana Martínez"], "JADA Business/Staff").await;
    let err = env.sync.run(today(), false, false).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Drive: folder `Staff` of the path `JADA Business/Staff` does not exist"),
        "{err}"
    );
    env.sync.cfg.source = Source::FileId("1nonexistent".into());
    assert!(env
        .sync
        .run(today(), false, false)
        .await
        .unwrap_err()
        .to_string()
        .contains("does not exist"));
}

#[tokio::test]
async fn a_sheets_failure_after_the_sheet_was_found_writes_nothing() {
    let env = env(&["Ana Martínez"], UnknownCrew::Report).await;
    env.emu
        .set_values(&env.sheet, "Ana Martínez", rows(vec![vec![json!("5/3")]]));
    // Drive finds the folders and the file, Sheets lists the tabs, then batchGet fails
    // past every retry: the read is partial.
    env.emu.fail_api_after(4, 10, 503);
    let err = env.sync.run(today(), false, false).await.unwrap_err();
    assert!(err.to_string().contains("after 6 attempt(s)"), "{err}");
    assert_eq!(dates_of(&env, "ana-m").await.len(), 2, "unchanged");
    // Fewer failures than retries are absorbed.
    env.emu.fail_api_after(4, 2, 503);
    env.sync.run(today(), false, false).await.unwrap();
    assert!(dates_of(&env, "ana-m").await.contains(&d(5, 3)));
}

#[tokio::test]
async fn a_person_matched_by_email_takes_the_sheets_name() {
    let env = env(&["Available", "Roster"], UnknownCrew::Report).await;
    env.emu.set_values(
        &env.sheet,
        "Roster",
        rows(vec![
            vec![json!("Name"), json!("Email")],
            vec![json!("Ana M. Martínez"), json!("ANA@example.com")],
        ]),
    );
    env.emu.set_values(
        &env.sheet,
        "Available",
        rows(vec![vec![json!("Ana M. Martínez"), json!("5/3")]]),
    );
    let r = env.sync.run(today(), false, false).await.unwrap();
    assert_eq!(r.changes[0].details, vec!["name Ana M. Martínez"]);
    let ana = env
        .store
        .get_crew(&CrewId::parse("ana-m").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ana.name, "Ana M. Martínez");
}

async fn env_with_path(tabs: &[&str], path: &str) -> Env {
    let mut e = env(tabs, UnknownCrew::Report).await;
    e.sync.cfg.source = Source::Path {
        folder_path: path.into(),
        name: "Crew Availability".into(),
    };
    e
}

#[tokio::test]
async fn an_emptied_tab_cannot_wipe_the_roster_without_force() {
    let env = env(&["Ana Martínez", "Ben Okafor"], UnknownCrew::Report).await;
    env.emu.set_values(
        &env.sheet,
        "Ana Martínez",
        rows((1..=20).map(|n| vec![json!(format!("6/{n}"))]).collect()),
    );
    env.emu
        .set_values(&env.sheet, "Ben Okafor", rows(vec![vec![json!("6/1")]]));
    env.sync.run(today(), false, false).await.unwrap();
    assert_eq!(dates_of(&env, "ana-m").await.len(), 21);

    env.emu.set_values(&env.sheet, "Ana Martínez", vec![]);
    let err = env.sync.run(today(), false, false).await.unwrap_err();
    assert!(
        matches!(
            err,
            RosterError::OverRemoval {
                removed: 20,
                added: 0,
                known: 21,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("jada roster sync --force"));
    assert_eq!(dates_of(&env, "ana-m").await.len(), 21, "nothing written");
    let dry = env.sync.run(today(), true, false).await.unwrap();
    assert_eq!((dry.removed, dry.applied), (20, false), "a dry run shows it");
    env.sync.run(today(), false, true).await.unwrap();
    assert_eq!(
        dates_of(&env, "ana-m").await.len(),
        1,
        "forced: only last season's date is left"
    );
}

#[tokio::test]
async fn unknown_crew_can_be_created_when_configured() {
    let mut env = env(&["Available", "Roster"], UnknownCrew::Create).await;
    env.sync.cfg.unknown_crew = UnknownCrew::Create;
    env.emu.set_values(
        &env.sheet,
        "Available",
        rows(vec![
            vec![json!("Cy Young"), json!("5/3")],
            vec![json!("No Email"), json!("5/3")],
        ]),
    );
    env.emu.set_values(
        &env.sheet,
        "Roster",
        rows(vec![
            vec![json!("Name"), json!("Email")],
            vec![json!("Cy Young"), json!("cy@example.com")],
        ]),
    );
    let r = env.sync.run(today(), false, false).await.unwrap();
    assert_eq!(r.created, vec!["Cy Young (cy-young)"]);
    assert_eq!(r.unknown, vec!["No Email"], "without an email it can only be reported");
    assert_eq!(dates_of(&env, "cy-young").await, [d(5, 3)].into());
}
