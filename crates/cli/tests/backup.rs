//! `jada backup` from the outside: an archive the `age` CLI opens, a restore jada runs
//! on with the same charters (and the configuration back), a running daemon's directory
//! refused, backups killed with SIGKILL mid-way (packing, storing in a directory, uploading
//! to S3 and to Drive) that leave the previous newest intact, and a new machine restoring
//! from a Drive folder through its own credential.

mod common;
use common::*;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

/// A demo business in `d` whose `[backup]` goes to `d/target`.
fn business_with_backups(d: &Path) {
    jada(d).arg("demo").assert().success();
    std::fs::create_dir_all(d.join("target")).unwrap();
    std::fs::write(
        d.join("jada.toml"),
        format!("[backup]\ntarget = \"dir:{}\"\n", d.join("target").display()),
    )
    .unwrap();
}

fn json_of(cmd: &mut assert_cmd::Command) -> Value {
    let out = cmd.assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
}

fn backup_ids(d: &Path) -> Vec<String> {
    let list = json_of(jada(d).args(["backup", "list", "--json"]));
    list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_archive_opens_with_the_age_cli_and_restores_into_a_directory_jada_runs_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    business_with_backups(d);
    let now = json_of(jada(d).args(["backup", "now", "--json"]));
    let id = now["backup"]["last_backup"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        now["backup"]["last_verified"]["id"],
        id.as_str(),
        "verified as it was made"
    );
    let list = json_of(jada(d).args(["backup", "list", "--json"]));
    assert_eq!(list["backups"][0]["id"], id.as_str());
    assert_eq!(list["backups"][0]["verified"], true);

    // Without jada: age and tar, as the README's disaster procedure says.
    let archive = d.join("target").join(format!("jada-{id}.tar.gz.age"));
    let opened = d.join("opened");
    std::fs::create_dir_all(&opened).unwrap();
    let age = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "age -d -i {} {} | tar xz -C {}",
            d.join("jada-data/secrets/backup-key").display(),
            archive.display(),
            opened.display()
        ))
        .output()
        .expect("sh");
    assert!(
        age.status.success(),
        "age/tar: {}",
        String::from_utf8_lossy(&age.stderr)
    );
    let manifest: Value = serde_json::from_slice(&std::fs::read(opened.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["id"], id.as_str());
    assert!(opened.join("jada.db").exists() && opened.join("secrets/link-keys.json").exists());
    assert!(
        !opened.join("secrets/backup-key").exists(),
        "the key never travels inside its own archive"
    );
    assert_eq!(
        std::fs::read_to_string(opened.join("config/jada.toml")).unwrap(),
        std::fs::read_to_string(d.join("jada.toml")).unwrap(),
        "the configuration travels with the data"
    );

    // jada's restore on "a new machine": no jada.toml, the key kept elsewhere, the
    // target named; then jada on the restored directory lists the same month.
    let machine = d.join("new-machine");
    std::fs::create_dir_all(&machine).unwrap();
    let key = std::fs::read_to_string(d.join("jada-data/secrets/backup-key")).unwrap();
    write_private(&machine.join("kept-key"), key.lines().last().unwrap());
    let restored = d.join("restored");
    let from = format!("dir:{}", d.join("target").display());
    let listed = json_of(jada(&machine).args(["backup", "list", "--json", "--from", &from]));
    assert_eq!(listed["backups"][0]["id"], id.as_str());
    let out = jada(&machine)
        .args(["backup", "restore", &id, "--from", &from, "--key", "kept-key", "--to"])
        .arg(&restored)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let said = String::from_utf8_lossy(&out);
    assert!(
        said.contains(&format!("jada --data-dir {} serve", restored.display())),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "the configuration came back as {}",
            restored.join("config/jada.toml").display()
        )),
        "{said}"
    );
    let month = |data: &Path| json_of(jada(d).args(["charters", "list", "--json", "--data-dir"]).arg(data));
    let (before, after) = (month(&d.join("jada-data")), month(&restored));
    assert!(before.as_array().is_some_and(|c| c.len() > 5), "{before}");
    assert_eq!(before, after, "the restored store lists the month as the original does");

    // A second restore into the now non-empty directory is refused (exit 2) and changes nothing.
    let db = std::fs::read(restored.join("jada.db")).unwrap();
    let refused = jada(d)
        .args(["backup", "restore", &id, "--to"])
        .arg(&restored)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(err.contains("is not empty") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(restored.join("jada.db")).unwrap(), db);
}

#[test]
fn a_restore_into_a_running_daemons_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    business_with_backups(d);
    jada(d).args(["backup", "now"]).assert().success();
    let id = backup_ids(d).remove(0);
    // The job made the key; until a person has seen it, doctor says so and fails.
    let out = jada(d).arg("doctor").assert().code(1).get_output().stdout.clone();
    assert!(String::from_utf8_lossy(&out).contains("the backup key (secrets/backup-key) has never been shown"));
    let shown = jada(d)
        .args(["backup", "key", "--show"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8_lossy(&shown).starts_with("AGE-SECRET-KEY-1"));
    let (child, url) = serve(d);
    let _daemon = Running(child);
    // What the last backup did, where operators look: /metrics and doctor.
    let metrics = client().get(format!("{url}/metrics")).send().unwrap().text().unwrap();
    for name in [
        "jada_backup_last_success_timestamp_seconds",
        "jada_backup_last_verified_timestamp_seconds",
    ] {
        let line = metrics
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{target=\"dir:")))
            .unwrap_or_else(|| panic!("{name} in {metrics}"));
        let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(value > 1.7e9, "{line}");
    }
    let doctor = jada(d).arg("doctor").assert().success().get_output().stdout.clone();
    let doctor = String::from_utf8_lossy(&doctor);
    assert!(
        doctor.contains("backups: last verified backup") && doctor.contains("ago, at dir:"),
        "{doctor}"
    );
    let jobs = String::from_utf8(
        jada(d)
            .args(["jobs", "list"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(jobs.contains("backup"), "the daemon has the backup job: {jobs}");
    let refused = jada(d)
        .args(["backup", "restore", &id, "--force", "--to", "jada-data"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(
        err.contains("a jada daemon (pid") && err.contains("is running on"),
        "{err}"
    );
}

/// Adds `mb` megabytes the compressor cannot shrink to the database.
fn pad(d: &Path, mb: u32) {
    edit_db(d, "CREATE TABLE padding (b BLOB)");
    edit_db(
        d,
        &format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {mb}) INSERT INTO padding SELECT randomblob(1000000) FROM n"),
    );
}

/// Spawns `jada backup now`, waits until `reached` says the backup is where the test wants
/// it, and kills it there with SIGKILL.
fn kill_backup_when(d: &Path, what: &str, reached: impl Fn() -> bool) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("jada"))
        .current_dir(d)
        .args(["backup", "now"])
        .env_remove("JADA_DATA_DIR")
        .env_remove("JADA_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // A tight poll with a deadline: the copy to the target lasts tens of milliseconds.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !reached() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the backup ended ({status}) before {what}");
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_micros(200));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

fn any_file(dir: &Path, pred: impl Fn(&str) -> bool) -> bool {
    let walk = |dir: &Path| -> Vec<std::path::PathBuf> {
        let mut out = vec![];
        let mut stack = vec![dir.to_path_buf()];
        while let Some(p) = stack.pop() {
            for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else {
                    out.push(e.path());
                }
            }
        }
        out
    };
    walk(dir)
        .iter()
        .any(|p| pred(&p.file_name().unwrap().to_string_lossy()))
}

#[test]
fn backups_killed_while_packing_and_while_storing_leave_the_newest_intact() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    business_with_backups(d);
    // A backup long enough to be caught mid-way.
    pad(d, 16);
    jada(d).args(["backup", "now"]).assert().success();
    let first = backup_ids(d);
    assert_eq!(first.len(), 1);

    // Killed while packing the archive in its work directory.
    edit_db(d, "INSERT INTO padding VALUES (randomblob(10))");
    let work = d.join("jada-data/.backup-work");
    kill_backup_when(d, "the archive being packed", || {
        any_file(&work, |n| n.starts_with("jada-") && n.ends_with(".tar.gz.age"))
    });
    assert_eq!(backup_ids(d), first, "nothing half-packed is listed");

    // Killed while the archive is being stored at the target (before its name is given).
    edit_db(d, "INSERT INTO padding VALUES (randomblob(10))");
    let target = d.join("target");
    kill_backup_when(d, "the archive being stored", || {
        any_file(&target, |n| n.starts_with(".jada-") && n.contains(".partial"))
    });
    assert_eq!(backup_ids(d), first, "a partial copy is never listed");

    // The next backup cleans the dead one's work directory and makes a verified archive.
    the_next_backup_after_a_kill_is_whole(d, &first);
    let leftovers: Vec<_> = std::fs::read_dir(&work)
        .map(|r| r.flatten().collect())
        .unwrap_or_default();
    assert!(
        leftovers.is_empty(),
        "{:?}",
        leftovers.iter().map(|e| e.path()).collect::<Vec<_>>()
    );
}

#[test]
fn a_drive_target_named_with_from_needs_a_credential_this_configuration_has() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    jada(d).arg("init").assert().success();
    let refused = |args: &[&str]| {
        let out = jada(d).args(["backup"]).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = refused(&["list", "--from", "drive:1AbCfolder"]);
    assert!(
        err.contains("add --credential NAME") && err.contains("jada auth login"),
        "{err}"
    );
    let err = refused(&["list", "--from", "drive:1AbCfolder", "--credential", "office"]);
    assert!(err.contains("no credential `office`") && err.contains("none"), "{err}");
    let err = refused(&["list", "--from", "dir:/tmp", "--credential", "office"]);
    assert!(err.contains("only a drive: target"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_machine_lists_and_restores_a_drive_backup_through_its_credential() {
    let emu = google_emulator::spawn().await.unwrap();
    let key = emu.create_service_account("backups@jada-test.iam.gserviceaccount.com");
    let folder = emu.create_folder("Backups", "root");
    let google = format!(
        "[google]\ntoken_uri = \"{}\"\ndrive_url = \"{}\"\n[[credentials]]\nname = \"workspace\"\nfile = \"secrets/sa.json\"\nscopes = [\"https://www.googleapis.com/auth/drive\"]\n",
        emu.token_uri(),
        emu.base_url()
    );
    let with_credential = |d: &Path, extra: &str| {
        jada(d).arg("init").assert().success();
        write_private(&d.join("jada-data/secrets/sa.json"), &key.to_string());
        std::fs::write(d.join("jada.toml"), format!("{google}{extra}")).unwrap();
    };
    // The office backs up to the Drive folder.
    let office = tempfile::tempdir().unwrap();
    let o = office.path().to_path_buf();
    with_credential(
        &o,
        &format!("[backup]\ntarget = \"drive:{folder}\"\ncredential = \"workspace\"\n"),
    );
    let o2 = o.clone();
    let made = tokio::task::spawn_blocking(move || json_of(jada(&o2).args(["backup", "now", "--json"])))
        .await
        .unwrap();
    let id = made["backup"]["last_backup"]["id"].as_str().unwrap().to_string();
    // A new machine: the credential set up again, no [backup], the key kept elsewhere.
    let machine = tempfile::tempdir().unwrap();
    let m = machine.path().to_path_buf();
    with_credential(&m, "");
    let kept = std::fs::read_to_string(o.join("jada-data/secrets/backup-key")).unwrap();
    write_private(&m.join("kept-key"), kept.lines().last().unwrap());
    let from = format!("drive:{folder}");
    let (m2, from2) = (m.clone(), from.clone());
    let listed = tokio::task::spawn_blocking(move || {
        json_of(jada(&m2).args([
            "backup",
            "list",
            "--json",
            "--from",
            &from2,
            "--credential",
            "workspace",
        ]))
    })
    .await
    .unwrap();
    assert_eq!(listed["backups"][0]["id"], id.as_str(), "{listed}");
    let restored = m.join("restored");
    let (m3, r3) = (m.clone(), restored.clone());
    tokio::task::spawn_blocking(move || {
        jada(&m3)
            .args([
                "backup",
                "restore",
                &id,
                "--from",
                &from,
                "--credential",
                "workspace",
                "--key",
                "kept-key",
                "--to",
            ])
            .arg(&r3)
            .assert()
            .success();
    })
    .await
    .unwrap();
    assert!(restored.join("jada.db").is_file() && restored.join("secrets/sa.json").is_file());
    assert!(restored.join("config/jada.toml").is_file());
}

/// After a kill mid-upload, the target lists only `first`; `backup verify` passes on it;
/// the next backup is verified, and restores.
fn the_next_backup_after_a_kill_is_whole(d: &Path, first: &[String]) {
    assert_eq!(backup_ids(d), first, "a half-uploaded archive is never listed");
    jada(d).args(["backup", "verify"]).assert().success();
    let out = jada(d)
        .args(["backup", "now"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(
        String::from_utf8_lossy(&out).contains("restored and compared"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    let ids = backup_ids(d);
    // Verified, it replaces the first: keep_hourly keeps the newest of each hour.
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_ne!(ids[0], first[0]);
    jada(d)
        .args(["backup", "restore", &ids[0], "--to"])
        .arg(d.join("restored"))
        .assert()
        .success();
}

/// The S3 test server's count of uploads it holds mid-way (see its `_faults`).
#[cfg(feature = "aws")]
fn s3_uploads_held(endpoint: &str) -> u64 {
    let stats: Value = reqwest::blocking::get(format!("{endpoint}/_stats"))
        .and_then(|r| r.json())
        .unwrap();
    stats["s3:PutObject stalled"].as_u64().unwrap_or(0)
}

#[cfg(feature = "aws")]
#[test]
fn an_s3_upload_killed_mid_way_stores_nothing_and_the_next_backup_is_whole() {
    let endpoint = jada_testkit::dynamo::server().endpoint.clone();
    let bucket = format!("jada-kill-{}", std::process::id());
    let listed = |prefix: &str| -> Vec<String> {
        let script = r#"
import json, sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
got = s3.list_objects_v2(Bucket=sys.argv[2], Prefix=sys.argv[3]).get("Contents", [])
print(json.dumps([o["Key"] for o in got]))
"#;
        let v = jada_testkit::run_python(script, [endpoint.as_str(), bucket.as_str(), prefix]);
        serde_json::from_value(v).unwrap()
    };
    jada_testkit::run_python(
        "import sys, boto3\nboto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1').create_bucket(Bucket=sys.argv[2])\nprint('{}')",
        [endpoint.as_str(), bucket.as_str()],
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    jada(d).arg("demo").assert().success();
    std::fs::write(
        d.join("jada.toml"),
        format!("[backup]\ntarget = \"s3://{bucket}/office\"\nregion = \"us-east-1\"\nendpoint_url = \"{endpoint}\"\n"),
    )
    .unwrap();
    // 16 MB the compressor cannot shrink: more than the sockets between jada and the
    // server buffer, so a kill while the server holds the upload cuts its body short.
    pad(d, 16);
    jada(d).args(["backup", "now"]).assert().success();
    let first = backup_ids(d);
    assert_eq!(listed("office/").len(), 1);

    // The next upload is held by the server after its first KiB, and killed there.
    edit_db(d, "CREATE TABLE changed (x)");
    let fault = serde_json::json!({"target": "s3:PutObject", "stall_after_bytes": 1024, "key_contains": bucket});
    let client = reqwest::blocking::Client::new();
    client
        .post(format!("{endpoint}/_faults"))
        .json(&fault)
        .send()
        .unwrap()
        .error_for_status()
        .unwrap();
    let held_before = s3_uploads_held(&endpoint);
    kill_backup_when(d, "the upload held mid-way", || {
        s3_uploads_held(&endpoint) > held_before
    });
    client
        .delete(format!("{endpoint}/_faults"))
        .send()
        .unwrap()
        .error_for_status()
        .unwrap();

    // S3 keeps nothing of a body it did not receive whole: boto3 sees the first alone.
    assert_eq!(
        listed("office/"),
        vec![format!("office/jada-{}.tar.gz.age", first[0])],
        "nothing half-uploaded is stored"
    );
    the_next_backup_after_a_kill_is_whole(d, &first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drive_upload_killed_mid_way_is_never_listed_and_the_next_backup_is_whole() {
    let emu = google_emulator::spawn().await.unwrap();
    let key = emu.create_service_account("backups@jada-test.iam.gserviceaccount.com");
    let folder = emu.create_folder("Backups", "root");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    jada(&d).arg("demo").assert().success();
    write_private(&d.join("jada-data/secrets/sa.json"), &key.to_string());
    std::fs::write(
        d.join("jada.toml"),
        format!(
            "[google]\ntoken_uri = \"{}\"\ndrive_url = \"{}\"\n[[credentials]]\nname = \"workspace\"\nfile = \"secrets/sa.json\"\nscopes = [\"https://www.googleapis.com/auth/drive\"]\n\
             [backup]\ntarget = \"drive:{folder}\"\ncredential = \"workspace\"\n",
            emu.token_uri(),
            emu.base_url()
        ),
    )
    .unwrap();
    // Above Drive's 5 MB multipart limit, so the archive goes up in resumable 4 MB chunks.
    pad(&d, 6);
    let d2 = d.clone();
    let first = tokio::task::spawn_blocking(move || {
        jada(&d2).args(["backup", "now"]).assert().success();
        backup_ids(&d2)
    })
    .await
    .unwrap();
    assert_eq!(first.len(), 1);

    // The next upload's first chunk is taken, its second held, and the backup killed there.
    edit_db(&d, "INSERT INTO padding VALUES (randomblob(10))");
    emu.hold_uploads_after(1);
    let held = emu.emulator.clone();
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        kill_backup_when(&d2, "the upload's second chunk", || held.calls("drive.upload.held") > 0)
    })
    .await
    .unwrap();
    emu.release_uploads();

    let d2 = d.clone();
    tokio::task::spawn_blocking(move || the_next_backup_after_a_kill_is_whole(&d2, &first))
        .await
        .unwrap();
}
