//! Import rules, against a real SQLite store.

use chrono::{DateTime, Utc};
use jada_core::{Cents, CharterId, CharterStatus, CrewId, Fleet, Month};
use jada_ops::demo::sample_fleet;
use jada_ops::import::{import_charters, import_crew, CharterContext, Format, ImportError, ImportReport, Location};
use jada_store::sqlite::SqliteStore;
use jada_store::{CharterStore, CrewStore, EventStatus, Store};

const CREW_CSV: &str = "crew_id,name,email,phone,captain_certified,available_dates
ana-m,Ana Martínez,ana@example.com,+1 619 555 0101,yes,2024-05-03;5/4/2024
ben-o,  Ben   Okafor ,Ben@Example.com,,no,
cy,Cy Young,cy@example.com,,TRUE,2024-05-03
";

const ID1: &str = "11111111-1111-4111-8111-111111111111";
const ID2: &str = "22222222-2222-4222-8222-222222222222";
const ID3: &str = "33333333-3333-4333-8333-333333333333";

fn good_csv() -> String {
    format!(
        "charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue,tips,status,captain,crew
{ID1},2024-05-03,09:00,12:00,Marlin,Ada Lovelace,6,\"1,234.50\",$150,booked,ana-m,ben-o
{ID2},5/4/2024,1:00 PM,4:00 PM,sea lion,Grace Hopper,12,$1234.5,,confirmed,cy,ana-m;ben-o
{ID3},2024-06-01,17:30,19:30,Pelican,Crew training,0,0,0,booked,,
"
    )
}

fn now() -> DateTime<Utc> {
    "2024-04-01T12:00:00Z".parse().unwrap()
}

struct Env {
    store: SqliteStore,
    fleet: Fleet,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("jada.db")).unwrap();
    let report = import_crew(&store, CREW_CSV.as_bytes(), Format::Csv, "crew.csv", false, &|_| {})
        .await
        .unwrap();
    assert_eq!((report.created, report.rejected.len()), (3, 0), "{report:?}");
    Env {
        store,
        fleet: sample_fleet(),
        _dir: dir,
    }
}

async fn import(env: &Env, text: &str, format: Format, strict: bool) -> Result<ImportReport, ImportError> {
    let ctx = CharterContext {
        fleet: &env.fleet,
        now: now(),
        strict,
        expected_version: None,
    };
    import_charters(&env.store, text.as_bytes(), format, "charters.csv", &ctx, &|_| {}).await
}

async fn pending(store: &dyn Store) -> u64 {
    store.count_events(EventStatus::Pending).await.unwrap()
}

#[tokio::test]
async fn a_good_file_imports_every_row_with_its_event() {
    let env = env().await;
    let report = import(&env, &good_csv(), Format::Csv, false).await.unwrap();
    assert_eq!(
        (report.rows, report.created, report.updated, report.unchanged),
        (3, 3, 0, 0)
    );
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(
        pending(&env.store).await,
        3,
        "each created charter published charter.changed"
    );

    let c1 = env
        .store
        .get_charter(CharterId::parse(ID1).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (c1.reportable_revenue, c1.tips, c1.status),
        (Cents(123_450), Cents(15_000), CharterStatus::Booked)
    );
    assert_eq!(c1.captain_assigned, Some(CrewId::parse("ana-m").unwrap()));
    let c2 = env
        .store
        .get_charter(CharterId::parse(ID2).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c2.charter_date.to_string(),
        "2024-05-04",
        "US dates are read as m/d/yyyy"
    );
    assert_eq!(c2.start_time.to_string(), "13:00:00");
    assert_eq!(c2.vessel_name, "Sea Lion", "vessel names take the fleet's spelling");
    assert_eq!((c2.reportable_revenue, c2.tips), (Cents(123_450), Cents::ZERO));
    assert_eq!(c2.crew_assigned.len(), 2);
    let may = env
        .store
        .list_charters_in_month(Month::parse("2024-05").unwrap())
        .await
        .unwrap();
    assert_eq!(may.len(), 2);
}

#[tokio::test]
async fn reimporting_is_idempotent_and_a_change_updates() {
    let env = env().await;
    import(&env, &good_csv(), Format::Csv, false).await.unwrap();
    let again = import(&env, &good_csv(), Format::Csv, false).await.unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));
    assert_eq!(pending(&env.store).await, 3, "an unchanged row writes no event");

    let changed = good_csv().replace("Ada Lovelace,6", "Ada Lovelace,5");
    let report = import(&env, &changed, Format::Csv, false).await.unwrap();
    assert_eq!((report.created, report.updated, report.unchanged), (0, 1, 2));
    let c1 = env
        .store
        .get_charter(CharterId::parse(ID1).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c1.guest_count, c1.version), (5, 2));
    assert_eq!(pending(&env.store).await, 4);
}

#[tokio::test]
async fn bad_rows_are_reported_by_line_and_column_and_the_rest_imported() {
    let env = env().await;
    let csv = format!(
        "charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue,tips,status,captain,crew
{ID1},2024-05-03,09:00,12:00,Marlin,Ada Lovelace,6,12.345,0,booked,,
{ID2},2/30/2024,09:00,12:00,Marlin,Bob,4,100,0,booked,,
not-a-uuid,2024-05-03,09:00,12:00,Titanic,Carl,4,100,0,booked,,
{ID3},2024-05-03,09:00,12:00,Marlin,Dee,7,100,0,booked,,
44444444-4444-4444-8444-444444444444,2024-05-03,12:00,09:00,Marlin,Eve,2,100,0,booked,,
55555555-5555-4555-8555-555555555555,2024-05-03,09:00,12:00,Marlin,Fay,2,100,0,booked,ben-o,zed
66666666-6666-4666-8666-666666666666,2024-05-03,09:00,12:00,Marlin,,2,,0,maybe,,
77777777-7777-4777-8777-777777777777,2024-05-05,09:00,12:00,Marlin,Gus,2,100,0,booked,,
{ID3},2024-05-03,09:00,12:00,Marlin,Hal,2,100,0,booked,,
88888888-8888-4888-8888-888888888888,2024-05-03,09:00
99999999-9999-4999-8999-999999999999,2024-05-06,09:00,12:00,Pelican,Ida,30,\"2,500\",$300.5,confirmed,cy,ana-m;ben-o
"
    );
    let report = import(&env, &csv, Format::Csv, false).await.unwrap();
    assert_eq!(
        report.created, 3,
        "the good rows (77.., the second {ID3}, 99..) are imported: {:#?}",
        report.rejected
    );
    let found: Vec<(u64, Option<&str>)> = report
        .rejected
        .iter()
        .map(|r| match r.location {
            Location::Line(n) => (n, r.column),
            other => panic!("CSV rejections name lines, got {other:?}"),
        })
        .collect();
    let expect = vec![
        (2, Some("reportable_revenue")),
        (3, Some("charter_date")),
        (4, Some("charter_id")),
        (4, Some("vessel_name")),
        (5, Some("guest_count")),
        (6, Some("end_time")),
        (7, Some("captain")),
        (7, Some("crew")),
        (8, Some("guest_name")),
        (8, Some("reportable_revenue")),
        (8, Some("status")),
        (11, None),
    ];
    assert_eq!(found, expect, "{:#?}", report.rejected);
    let reason = |line: u64, col: &str| {
        report
            .rejected
            .iter()
            .find(|r| r.location == Location::Line(line) && r.column == Some(col))
            .unwrap()
            .reason
            .clone()
    };
    assert!(reason(2, "reportable_revenue").contains("more than two decimals"));
    assert!(reason(3, "charter_date").contains("no such day"));
    assert!(reason(4, "vessel_name").contains("unknown vessel `Titanic`"));
    assert!(reason(5, "guest_count").contains("more than Marlin carries (6)"));
    assert!(reason(7, "captain").contains("not captain-certified"));
    assert!(reason(7, "crew").contains("no crew member `zed`"));
    assert!(report
        .rejected
        .last()
        .unwrap()
        .reason
        .contains("has 3 fields but the header has 12"));
    assert_eq!(report.rejected_rows(), 8);
    assert_eq!(report.rows, 11);
    assert_eq!(pending(&env.store).await, 3, "rejected rows publish nothing");
}

#[tokio::test]
async fn a_charter_appearing_twice_is_refused_the_second_time() {
    let env = env().await;
    let csv = good_csv();
    let dup_line = csv.lines().nth(1).unwrap().replace("Ada Lovelace", "Someone Else");
    let report = import(&env, &format!("{csv}{dup_line}\n"), Format::Csv, false)
        .await
        .unwrap();
    assert_eq!(report.created, 3);
    assert_eq!(report.rejected.len(), 1);
    assert!(
        report.rejected[0].reason.contains("also on line 2"),
        "{}",
        report.rejected[0]
    );
}

#[tokio::test]
async fn strict_rejects_the_whole_file() {
    let env = env().await;
    let bad = good_csv().replace("1:00 PM", "25:00");
    let err = import(&env, &bad, Format::Csv, true).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("1 row(s) rejected and --strict is set"), "{msg}");
    assert!(msg.contains("line 3, column start_time"), "{msg}");
    assert!(env
        .store
        .list_charters_between("2024-01-01".parse().unwrap(), "2024-12-31".parse().unwrap())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(pending(&env.store).await, 0);
}

#[tokio::test]
async fn files_that_are_not_csv_are_refused_with_nothing_written() {
    let env = env().await;
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00";
    let ctx = CharterContext {
        fleet: &env.fleet,
        now: now(),
        strict: false,
        expected_version: None,
    };
    let err = import_charters(&env.store, png, Format::Csv, "photo.csv", &ctx, &|_| {})
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("photo.csv is not a CSV file: it is not UTF-8 text"),
        "{err}"
    );
    let xlsx = b"PK\x03\x04\x14\x00\x06\x00rest-of-a-workbook";
    let err = import_charters(&env.store, xlsx, Format::Csv, "book.csv", &ctx, &|_| {})
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("Excel workbook: export the sheet as CSV"),
        "{err}"
    );
    let prose = "Dear office,\nplease book us a boat for Saturday.\nThanks!\n";
    let err = import(&env, prose, Format::Csv, false).await.unwrap_err();
    assert!(matches!(err, ImportError::Header { .. }), "{err}");
    assert!(err.to_string().contains("unknown column `Dear office`"), "{err}");
    let err = import(&env, CREW_CSV, Format::Csv, false).await.unwrap_err();
    assert!(
        err.to_string().contains("unknown column `crew_id`"),
        "a crew file given as charters: {err}"
    );
    let err = import(&env, "charter_id,charter_date\n", Format::Csv, false)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("missing required column(s) start_time, end_time"),
        "{err}"
    );
    assert!(
        err.to_string().contains("charter_id,charter_date,start_time"),
        "the message shows the expected header: {err}"
    );
    let err = import(&env, "", Format::Csv, false).await.unwrap_err();
    assert!(err.to_string().contains("it is empty"), "{err}");
    assert_eq!(pending(&env.store).await, 0);
}

#[tokio::test]
async fn excel_byte_order_mark_and_header_spelling_are_accepted() {
    let env = env().await;
    // Excel writes a byte-order mark; people write "Charter ID" and "Guest-Count".
    let csv = good_csv()
        .replacen("charter_id,charter_date", "\u{feff}Charter ID,Charter Date", 1)
        .replacen("guest_count", "Guest-Count", 1);
    assert_eq!(import(&env, &csv, Format::Csv, false).await.unwrap().created, 3);
}

#[tokio::test]
async fn json_files_use_the_same_columns_and_report_records() {
    let env = env().await;
    let json = format!(
        r#"[
  {{"charter_id": "{ID1}", "charter_date": "2024-05-03", "start_time": "09:00", "end_time": "12:00", "vessel_name": "Marlin",
    "guest_name": "Ada", "guest_count": 4, "reportable_revenue": 1234.5, "tips": "$20", "crew": ["ben-o"], "captain": "ana-m"}},
  {{"charter_id": "{ID2}", "charter_date": "2024-05-03", "start_time": "09:00", "end_time": "12:00", "vessel_name": "Marlin",
    "guest_name": "Bob", "guest_count": "four", "reportable_revenue": 100}},
  {{"charter_id": "{ID3}", "colour": "red"}},
  "just a string"
]"#
    );
    let report = import(&env, &json, Format::Json, false).await.unwrap();
    assert_eq!(report.created, 1);
    let locs: Vec<Location> = report.rejected.iter().map(|r| r.location).collect();
    assert_eq!(
        locs,
        vec![Location::Record(2), Location::Record(3), Location::Record(4)],
        "{:#?}",
        report.rejected
    );
    assert!(report.rejected[1].reason.contains("unknown field `colour`"));
    let c = env
        .store
        .get_charter(CharterId::parse(ID1).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.reportable_revenue, c.tips), (Cents(123_450), Cents(2_000)));
    let err = import(&env, "{\"charters\": []}", Format::Json, false)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expected an array"), "{err}");
    let err = import(&env, "[{,]", Format::Json, false).await.unwrap_err();
    assert!(err.to_string().contains("is not a JSON file"), "{err}");
}

#[tokio::test]
async fn statuses_only_move_forward() {
    let env = env().await;
    import(
        &env,
        &good_csv().replace(",booked,ana-m", ",completed,ana-m"),
        Format::Csv,
        false,
    )
    .await
    .unwrap();
    let report = import(&env, &good_csv(), Format::Csv, false).await.unwrap();
    assert_eq!(report.rejected.len(), 1);
    let r = &report.rejected[0];
    assert_eq!((r.location, r.column), (Location::Line(2), Some("status")));
    assert!(r.reason.contains("from completed to booked"), "{r}");
}

#[tokio::test]
async fn columns_left_out_keep_what_dispatch_wrote() {
    let env = env().await;
    import(&env, &good_csv(), Format::Csv, false).await.unwrap();
    let without_crew = format!(
        "charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue\n{ID1},2024-05-03,09:00,12:00,Marlin,Ada Lovelace,3,\"1,234.50\"\n"
    );
    let report = import(&env, &without_crew, Format::Csv, false).await.unwrap();
    assert_eq!(report.updated, 1);
    let c = env
        .store
        .get_charter(CharterId::parse(ID1).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.guest_count, 3);
    assert_eq!(
        c.captain_assigned,
        Some(CrewId::parse("ana-m").unwrap()),
        "an absent captain column keeps the captain"
    );
    assert_eq!(c.crew_assigned.len(), 1);
    assert_eq!(c.tips, Cents(15_000));
}

#[tokio::test]
async fn crew_import_rules() {
    let env = env().await;
    let ben = env
        .store
        .get_crew(&CrewId::parse("ben-o").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ben.name.as_str(), ben.email.as_str(), ben.phone.as_deref()),
        ("Ben Okafor", "ben@example.com", None)
    );
    let ana = env
        .store
        .get_crew(&CrewId::parse("ana-m").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ana.available_dates.len(), 2);
    assert!(ana.captain_certified);

    let again = import_crew(&env.store, CREW_CSV.as_bytes(), Format::Csv, "crew.csv", false, &|_| {})
        .await
        .unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));

    let bad = "crew_id,name,email,captain_certified,available_dates
dee,Dee,not-an-email,maybe,2024-02-30
eve,Eve,ana@example.com,no,
fay,Fay,fay@example.com,no,2024-07-01;7/2/2024
";
    let report = import_crew(&env.store, bad.as_bytes(), Format::Csv, "crew.csv", false, &|_| {})
        .await
        .unwrap();
    assert_eq!(report.created, 1);
    let cols: Vec<(Location, Option<&str>)> = report.rejected.iter().map(|r| (r.location, r.column)).collect();
    assert_eq!(
        cols,
        vec![
            (Location::Line(2), Some("email")),
            (Location::Line(2), Some("captain_certified")),
            (Location::Line(2), Some("available_dates")),
            (Location::Line(3), Some("email")),
        ]
    );
    assert!(report.rejected[3]
        .reason
        .contains("already belongs to crew member `ana-m`"));
    let strict = import_crew(&env.store, bad.as_bytes(), Format::Csv, "crew.csv", true, &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(strict, ImportError::Strict { .. }));
}

#[tokio::test]
async fn an_update_for_a_version_already_changed_is_refused_and_writes_nothing() {
    let env = env().await;
    import(&env, &good_csv(), Format::Csv, false).await.unwrap();
    let id = CharterId::parse(ID1).unwrap();
    let v1 = env.store.get_charter(id).await.unwrap().unwrap();
    // Someone else changes the charter: version 2.
    let mut changed = v1.clone();
    changed.guest_name = "Someone Else".into();
    env.store
        .update_charter(changed, v1.version, vec![], now())
        .await
        .unwrap();

    // An update written against version 1 (as the booking API sends it) is refused.
    let record = format!(
        "charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue\n{ID1},2024-05-03,09:00,12:00,Marlin,Mine,6,100\n"
    );
    let ctx = CharterContext {
        fleet: &env.fleet,
        now: now(),
        strict: true,
        expected_version: Some(v1.version),
    };
    let err = import_charters(&env.store, record.as_bytes(), Format::Csv, "body", &ctx, &|_| {})
        .await
        .unwrap_err();
    let ImportError::Strict { report, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(report.rejected[0].column, Some("version"));
    assert!(
        report.rejected[0].reason.contains("changed by someone else"),
        "{:?}",
        report.rejected
    );
    assert_eq!(
        env.store.get_charter(id).await.unwrap().unwrap().guest_name,
        "Someone Else"
    );
}
