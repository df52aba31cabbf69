//! The drive: target on the Google emulator: an archive over 5 MB goes up by resumable
//! upload and counts only once Drive's MD5 of it matches; an upload cut off mid-way is
//! never listed; an archive that rots in Drive is refused by name; restores and prunes.

use chrono::{DateTime, Duration, Utc};
use jada_backup::{BackupKey, Backups, Settings};
use rusqlite::Connection;

const DRIVE: &str = "https://www.googleapis.com/auth/drive";

fn now() -> DateTime<Utc> {
    "2026-12-03T14:00:00Z".parse().unwrap()
}

/// A data directory whose database holds `mb` MB the compressor cannot shrink.
fn data_dir(mb: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join("jada.db")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch("CREATE TABLE charters (id TEXT PRIMARY KEY, price INTEGER); CREATE TABLE padding (b BLOB);")
        .unwrap();
    for i in 0..50 {
        conn.execute(
            "INSERT INTO charters VALUES (?1, ?2)",
            rusqlite::params![format!("c{i}"), i],
        )
        .unwrap();
    }
    for _ in 0..mb {
        conn.execute("INSERT INTO padding VALUES (randomblob(1000000))", [])
            .unwrap();
    }
    dir
}

#[tokio::test]
async fn a_backup_to_a_drive_folder_is_uploaded_whole_checked_and_restored() {
    let emu = google_emulator::spawn().await.unwrap();
    let creds = tempfile::tempdir().unwrap();
    let (cred, _) = jada_testkit::authorized_user(&emu, creds.path(), "office", &[DRIVE]);
    let tokens = jada_testkit::token_service(&emu, vec![cred]);
    let folder = emu.create_folder("Backups", "root");
    let settings: Settings = serde_json::from_value(serde_json::json!({
        "target": format!("drive:{folder}"), "credential": "office",
        "keep_hourly": 1, "keep_daily": 0, "keep_monthly": 0,
    }))
    .unwrap();
    let client = || Some(jada_testkit::google_client(&emu, tokens.clone(), "office"));
    let data = data_dir(7);
    let backups = Backups::new(&settings, data.path(), client()).unwrap();
    assert_eq!(backups.target(), format!("drive:{folder}"));

    // An upload cut off mid-way (a session that never got its last byte) is no file.
    emu.start_partial_upload(&folder, "jada-20261203T130000Z.tar.gz.age", b"half an archive");
    let out = backups.run(now()).await.unwrap();
    assert!(out.made && out.verified.is_some(), "{out:?}");
    assert!(
        out.bytes > 5 * 1024 * 1024,
        "big enough to go up resumable: {}",
        out.bytes
    );
    assert!(emu.calls("drive.upload.chunk") >= 2, "uploaded in resumable chunks");
    let listed = backups.list().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, "20261203T140000Z");
    let files = emu.drive_files(&folder);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].1.len() as u64, out.bytes);

    // A second, later backup replaces the first once verified (keep_hourly = 1).
    Connection::open(data.path().join("jada.db"))
        .unwrap()
        .execute("UPDATE charters SET price = 7", [])
        .unwrap();
    let second = backups.run(now() + Duration::hours(1)).await.unwrap();
    assert_eq!(second.pruned, ["20261203T140000Z"]);
    assert_eq!(emu.drive_files(&folder).len(), 1);

    let key = BackupKey::load(&data.path().join("secrets/backup-key")).unwrap();
    let to = tempfile::tempdir().unwrap();
    let v = backups
        .restore(&second.id, &to.path().join("r"), &key, false)
        .await
        .unwrap();
    assert_eq!(v.counts["charters"], 50);

    // Drive's copy rots: the fetched bytes differ from what was recorded.
    let file_id = emu
        .drive_file_id(&folder, &format!("jada-{}.tar.gz.age", second.id))
        .unwrap();
    emu.flip_byte(&file_id);
    let err = backups.verify(None, &key, now()).await.unwrap_err();
    assert!(err.to_string().contains("was altered or is damaged"), "{err}");
}
