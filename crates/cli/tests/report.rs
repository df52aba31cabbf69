//! `jada report monthly` as a black box, locally and to the emulator's Drive.

mod common;
use common::*;

use predicates::prelude::*;
use predicates::str::contains;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_is_written_uploaded_shared_and_replaced_on_rerun() {
    let emu = google_emulator::spawn().await.unwrap();
    let key = emu.create_service_account("reports@jada-test.iam.gserviceaccount.com");
    let folder = emu.create_folder("Reports", "root");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    jada(&d).args(["demo", "--season", "2024"]).assert().success();
    jada(&d)
        .args(["report", "monthly", "--month", "2024-07", "--upload"])
        .assert()
        .code(2)
        .stderr(contains("set folder_id and credential in [jobs.monthly-report]"));

    let secrets = d.join("jada-data/secrets");
    write_private(&secrets.join("sa.json"), &key.to_string());
    std::fs::write(
        d.join("jada.toml"),
        format!(
            "[google]\ntoken_uri = \"{}\"\ndrive_url = \"{}\"\n[[credentials]]\nname = \"workspace\"\nfile = \"secrets/sa.json\"\nscopes = [\"https://www.googleapis.com/auth/drive\"]\n[jobs.monthly-report]\ncredential = \"workspace\"\nfolder_id = \"{folder}\"\nshare = [\"office@example.com\"]\n",
            emu.token_uri(),
            emu.base_url()
        ),
    )
    .unwrap();
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        jada(&d2)
            .args([
                "report",
                "monthly",
                "--month",
                "2024-07",
                "--upload",
                "--share",
                "owner@example.com",
            ])
            .assert()
            .success()
            .stdout(
                contains("uploaded on Drive")
                    .and(contains("office@example.com, owner@example.com"))
                    .and(contains("July 2024:")),
            );
        jada(&d2)
            .args(["report", "monthly", "--month", "2024-07", "--upload"])
            .assert()
            .success()
            .stdout(contains("replaced on Drive"));
        jada(&d2)
            .args(["jobs", "list"])
            .assert()
            .success()
            .stdout(contains("monthly-report").and(contains("0 0 6 1 * *")));
    })
    .await
    .unwrap();
    let files = emu.drive_files(&folder);
    assert_eq!(files.len(), 1, "one file for the month, however often it runs");
    assert_eq!(
        files[0].1,
        std::fs::read(d.join("jada-data/reports/revenue-2024-07.xlsx")).unwrap()
    );
}
