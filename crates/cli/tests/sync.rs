//! `jada sync port-sheet` as a black box against the emulator.

mod common;
use common::*;

use predicates::prelude::*;
use predicates::str::contains;

const CHARTERS: &str =
    "charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue
11111111-1111-4111-8111-111111111111,2099-05-03,09:00,12:00,Marlin,Ada Lovelace,6,1200
22222222-2222-4222-8222-222222222222,2099-05-04,13:00,16:00,Sea Lion,Grace Hopper,12,980
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_changes_dry_run_then_write_then_reconcile() {
    let emu = google_emulator::spawn().await.unwrap();
    let key = emu.create_service_account("sync@jada-test.iam.gserviceaccount.com");
    let sheet = emu.create_spreadsheet("Port", &["Port Sheet"]);
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets_dir(dir.path());
    write_private(&secrets.join("sa.json"), &key.to_string());
    std::fs::write(
        dir.path().join("jada.toml"),
        format!(
            "[google]\ntoken_uri = \"{}\"\nsheets_url = \"{}\"\n[[credentials]]\nname = \"workspace\"\nfile = \"secrets/sa.json\"\nscopes = [\"https://www.googleapis.com/auth/spreadsheets\"]\n[jobs.port-sheet]\nspreadsheet_id = \"{sheet}\"\ncredential = \"workspace\"\n",
            emu.token_uri(),
            emu.base_url()
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("charters.csv"), CHARTERS).unwrap();
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        jada(&d).args(["charters", "import", "charters.csv"]).assert().success();
        jada(&d)
            .args(["sync", "port-sheet", "--dry-run"])
            .assert()
            .success()
            .stdout(
                contains("would add 11111111-1111-4111-8111-111111111111")
                    .and(contains("2 added, and the header row written")),
            );
        jada(&d)
            .args(["sync", "port-sheet"])
            .assert()
            .success()
            .stdout(contains("2 change(s) written"));
        jada(&d)
            .args(["sync", "port-sheet", "--full"])
            .assert()
            .success()
            .stdout(contains("no drift"));
        jada(&d)
            .args(["jobs", "history", "port-sheet"])
            .assert()
            .success()
            .stdout(contains("succeeded"));
    })
    .await
    .unwrap();
    let cells = emu.cells(&sheet, "Port Sheet");
    assert_eq!(cells.len(), 3);
    assert_eq!(cells[2][5], "Grace Hopper");
}

#[test]
fn an_unconfigured_or_misconfigured_port_sheet_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    jada(dir.path()).args(["init"]).assert().success();
    jada(dir.path())
        .args(["sync", "port-sheet"])
        .assert()
        .code(2)
        .stderr(contains("add [jobs.port-sheet]"));
    std::fs::write(
        dir.path().join("jada.toml"),
        "[jobs.port-sheet]\ncredential = \"workspace\"\n",
    )
    .unwrap();
    jada(dir.path())
        .args(["sync", "port-sheet"])
        .assert()
        .code(2)
        .stderr(contains("jobs.port-sheet.spreadsheet_id"));
    std::fs::write(
        dir.path().join("jada.toml"),
        "[jobs.port-sheet]\nspreadsheet_id = \"x\"\ncredential = \"nobody\"\n",
    )
    .unwrap();
    jada(dir.path())
        .args(["jobs", "list"])
        .assert()
        .code(2)
        .stderr(contains("no [[credentials]] entry is named `nobody`"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roster_sync_reads_the_sheet_into_the_roster() {
    let emu = google_emulator::spawn().await.unwrap();
    let key = emu.create_service_account("roster@jada-test.iam.gserviceaccount.com");
    let business = emu.create_folder("JADA Business", "root");
    let crew = emu.create_folder("Crew", &business);
    let sheet = emu.create_spreadsheet("Crew Availability", &["Available"]);
    emu.move_to_folder(&sheet, &crew);
    emu.set_cells(
        &sheet,
        "Available",
        &[
            vec!["Name", "Dates"],
            vec!["ana martínez", "7/3/2099, 7/4/2099", "7/40/2099"],
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets_dir(dir.path());
    write_private(&secrets.join("sa.json"), &key.to_string());
    std::fs::write(
        dir.path().join("jada.toml"),
        format!(
            "[google]\ntoken_uri = \"{}\"\nsheets_url = \"{}\"\ndrive_url = \"{}\"\n[[credentials]]\nname = \"workspace\"\nfile = \"secrets/sa.json\"\nscopes = [\"https://www.googleapis.com/auth/drive.readonly\"]\n[jobs.roster-sync]\ncredential = \"workspace\"\nfolder_path = \"JADA Business/Crew\"\nname = \"Crew Availability\"\nwindow_days = 36500\n",
            emu.token_uri(),
            emu.base_url(),
            emu.base_url()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("crew.csv"),
        "crew_id,name,email\nana-m,Ana Martínez,ana@example.com\n",
    )
    .unwrap();
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        jada(&d).args(["crew", "import", "crew.csv"]).assert().success();
        jada(&d)
            .args(["roster", "sync", "--dry-run"])
            .assert()
            .code(1)
            .stdout(contains("would update ana-m (Ana Martínez): +2 / -0"));
        jada(&d)
            .args(["crew", "list", "--available-on", "2099-07-03"])
            .assert()
            .success()
            .stdout(contains("0 crew available"));
        jada(&d)
            .args(["roster", "sync"])
            .assert()
            .code(1)
            .stdout(contains("unreadable: Available!C2 \"7/40/2099\"").and(contains("1 crew updated")))
            .stderr(contains("1 cell(s) could not be read; the rest was applied"));
        jada(&d)
            .args(["crew", "list", "--available-on", "2099-07-03"])
            .assert()
            .success()
            .stdout(contains("1 crew available"));
        jada(&d)
            .args(["jobs", "list"])
            .assert()
            .success()
            .stdout(contains("roster-sync"));
    })
    .await
    .unwrap();
}
