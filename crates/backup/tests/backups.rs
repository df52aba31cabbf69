//! Backups of a live SQLite data directory to a directory target: the round trip, what a
//! damaged archive or a wrong key does, the running daemon's lock, and a snapshot taken
//! while another connection writes.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use jada_backup::{BackupError, BackupKey, Backups, Settings};
use rusqlite::Connection;

fn settings(target: &Path) -> Settings {
    toml::from_str(&format!("target = \"dir:{}\"", target.display())).unwrap()
}

/// A data directory with a WAL database of `rows` charters, a secret and a statement.
fn data_dir(rows: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join("jada.db")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch(
        "CREATE TABLE charters (id TEXT PRIMARY KEY, guest TEXT, price INTEGER);
         CREATE TABLE job_runs (id INTEGER PRIMARY KEY, job TEXT);",
    )
    .unwrap();
    for i in 0..rows {
        conn.execute(
            "INSERT INTO charters VALUES (?1, ?2, ?3)",
            rusqlite::params![format!("c{i}"), format!("Guest {i}"), 1000 + i as i64],
        )
        .unwrap();
    }
    std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
    // Private, as jada makes it (the key is refused in a directory others can open).
    std::fs::set_permissions(
        dir.path().join("secrets"),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    std::fs::write(dir.path().join("secrets/link-keys.json"), b"{\"keys\":[1]}").unwrap();
    std::fs::create_dir_all(dir.path().join("statements/2026-11")).unwrap();
    std::fs::write(dir.path().join("statements/2026-11/ana.pdf"), b"%PDF statement").unwrap();
    std::fs::create_dir_all(dir.path().join("reports")).unwrap();
    std::fs::write(dir.path().join("reports/2026-11.xlsx"), b"rebuilt, not backed up").unwrap();
    dir
}

fn now() -> DateTime<Utc> {
    "2026-12-03T14:00:00Z".parse().unwrap()
}

fn key_of(dir: &Path) -> BackupKey {
    BackupKey::load(&dir.join("secrets/backup-key")).unwrap()
}

#[tokio::test]
async fn a_backup_restores_into_a_new_directory_with_every_row_and_file() {
    let (data, target, to) = (
        data_dir(500),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let backups = Backups::new(&settings(target.path()), data.path(), None).unwrap();
    let out = backups.run(now()).await.unwrap();
    assert!(out.made);
    let verified = out.verified.as_ref().expect("verified as it was made");
    assert_eq!(verified.counts["charters"], 500);
    assert_eq!(
        verified.files, 3,
        "jada.db, the link keys and the statement; not the report"
    );
    let listed = backups.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, "20261203T140000Z");
    let state = backups.state();
    assert_eq!(state.last_verified.unwrap().id, out.id);

    let dest = to.path().join("restored");
    backups
        .restore(&out.id, &dest, &key_of(data.path()), false)
        .await
        .unwrap();
    let conn = Connection::open(dest.join("jada.db")).unwrap();
    let rows: Vec<(String, String, i64)> = conn
        .prepare("SELECT id, guest, price FROM charters ORDER BY price")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 500);
    assert_eq!(rows[499], ("c499".to_string(), "Guest 499".to_string(), 1499));
    assert_eq!(
        std::fs::read(dest.join("statements/2026-11/ana.pdf")).unwrap(),
        b"%PDF statement"
    );
    assert_eq!(
        std::fs::read(dest.join("secrets/link-keys.json")).unwrap(),
        b"{\"keys\":[1]}"
    );
    assert!(!dest.join("reports").exists());
    assert!(
        dest.join("secrets/backup-key").exists(),
        "the restored jada backs up with the same key"
    );
}

#[tokio::test]
async fn nothing_changed_means_no_new_archive_and_a_change_means_one() {
    let (data, target) = (data_dir(10), tempfile::tempdir().unwrap());
    let backups = Backups::new(&settings(target.path()), data.path(), None).unwrap();
    let first = backups.run(now()).await.unwrap();
    // The daemon's bookkeeping alone is not a change.
    Connection::open(data.path().join("jada.db"))
        .unwrap()
        .execute("INSERT INTO job_runs (job) VALUES ('backup')", [])
        .unwrap();
    let second = backups.run(now() + Duration::hours(1)).await.unwrap();
    assert!(!second.made, "{second:?}");
    assert_eq!(second.id, first.id);
    Connection::open(data.path().join("jada.db"))
        .unwrap()
        .execute("UPDATE charters SET price = 1 WHERE id = 'c3'", [])
        .unwrap();
    let third = backups.run(now() + Duration::hours(2)).await.unwrap();
    assert!(third.made);
    assert_eq!(backups.list().await.unwrap().len(), 2);
}

/// Copies the newest archive's bytes, lets `damage` change them, writes them back.
async fn damage_newest(backups: &Backups, target: &Path, damage: impl FnOnce(&mut Vec<u8>)) -> String {
    let newest = backups.list().await.unwrap().remove(0);
    let path = target.join(&newest.name);
    let mut bytes = std::fs::read(&path).unwrap();
    damage(&mut bytes);
    std::fs::write(&path, bytes).unwrap();
    newest.id
}

#[tokio::test]
async fn a_tampered_byte_a_truncated_archive_and_a_wrong_key_are_each_refused_by_name() {
    let (data, target) = (data_dir(2000), tempfile::tempdir().unwrap());
    let backups = Backups::new(&settings(target.path()), data.path(), None).unwrap();
    backups.run(now()).await.unwrap();
    let key = key_of(data.path());
    let pristine = std::fs::read(target.path().join(&backups.list().await.unwrap()[0].name)).unwrap();

    // One byte in the middle of the payload.
    let id = damage_newest(&backups, target.path(), |b| {
        let i = b.len() / 2;
        b[i] ^= 0x01;
    })
    .await;
    let err = backups.verify(Some(&id), &key, now()).await.unwrap_err();
    assert!(matches!(err, BackupError::Damaged(_)), "{err:?}");
    assert!(err.to_string().contains("was altered or is damaged"), "{err}");

    // Cut short.
    std::fs::write(
        target.path().join(jada_backup::target::name_of(&id)),
        &pristine[..pristine.len() - 100],
    )
    .unwrap();
    let err = backups.verify(Some(&id), &key, now()).await.unwrap_err();
    assert!(err.to_string().contains("is truncated:"), "{err}");
    // Without the target's record of what was written, age itself refuses both.
    let record = target
        .path()
        .join(format!("{}.json", jada_backup::target::name_of(&id)));
    let kept = std::fs::read(&record).unwrap();
    std::fs::remove_file(&record).unwrap();
    let err = backups.verify(Some(&id), &key, now()).await.unwrap_err();
    assert!(matches!(err, BackupError::Damaged(_)), "{err:?}");
    std::fs::write(&record, kept).unwrap();

    // Another key.
    std::fs::write(target.path().join(jada_backup::target::name_of(&id)), &pristine).unwrap();
    let other = tempfile::tempdir().unwrap();
    let (wrong, _) = BackupKey::load_or_create(other.path(), now()).unwrap();
    let err = backups.verify(Some(&id), &wrong, now()).await.unwrap_err();
    assert!(matches!(err, BackupError::WrongKey { .. }), "{err:?}");
    assert!(
        err.to_string().contains("was not encrypted to this backup key"),
        "{err}"
    );

    // A refused restore writes nothing where it was asked to restore.
    let to = tempfile::tempdir().unwrap();
    let dest = to.path().join("new");
    backups.restore(&id, &dest, &wrong, false).await.unwrap_err();
    let left: Vec<_> = std::fs::read_dir(&dest)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.iter().all(|n| n == "daemon.lock" || n == ".backup-work"),
        "{left:?}"
    );
    assert!(!dest.join("jada.db").exists());
    // And the untouched archive still verifies.
    backups.verify(Some(&id), &key, now()).await.unwrap();
}

#[tokio::test]
async fn a_restore_refuses_a_running_daemons_directory_and_a_non_empty_one() {
    let (data, target) = (data_dir(5), tempfile::tempdir().unwrap());
    let backups = Backups::new(&settings(target.path()), data.path(), None).unwrap();
    let out = backups.run(now()).await.unwrap();
    let key = key_of(data.path());
    let busy = tempfile::tempdir().unwrap();
    // A daemon holds its data directory's lock (flock, as `DataDir::lock_daemon`).
    let lock = std::fs::File::create(busy.path().join("daemon.lock")).unwrap();
    lock.try_lock().unwrap();
    std::fs::write(busy.path().join("daemon.lock"), b"4242").unwrap();
    let err = backups.restore(&out.id, busy.path(), &key, true).await.unwrap_err();
    assert!(
        err.to_string().contains("a jada daemon (pid 4242) is running on"),
        "{err}"
    );
    assert!(!busy.path().join("jada.db").exists());
    let err = backups.restore(&out.id, busy.path(), &key, false).await.unwrap_err();
    assert!(err.to_string().contains("is not empty"), "{err}");
}

#[tokio::test]
async fn a_snapshot_taken_while_another_connection_writes_matches_its_own_counts() {
    let (data, target) = (data_dir(0), tempfile::tempdir().unwrap());
    let db = data.path().join("jada.db");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let conn = Connection::open(&db).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                conn.execute(
                    "INSERT INTO charters VALUES (?1, 'g', 1)",
                    rusqlite::params![format!("w{i}")],
                )
                .unwrap();
                i += 1;
            }
            i
        })
    };
    let backups = Backups::new(&settings(target.path()), data.path(), None).unwrap();
    let mut verified = vec![];
    for n in 0..3 {
        // Each backup restores and compares its rows with the moment it was taken.
        let out = backups.run(now() + Duration::minutes(n)).await.unwrap();
        verified.push(out.verified.unwrap().counts["charters"]);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(verified.windows(2).all(|w| w[0] <= w[1]), "{verified:?}");
    assert!(verified[2] <= written, "{verified:?} of {written}");
}

#[tokio::test]
async fn retention_keeps_the_newest_of_each_hour_it_is_told_to() {
    let (data, target) = (data_dir(3), tempfile::tempdir().unwrap());
    let mut s = settings(target.path());
    s.keep_hourly = 2;
    s.keep_daily = 0;
    s.keep_monthly = 0;
    let backups = Backups::new(&s, data.path(), None).unwrap();
    let conn = Connection::open(data.path().join("jada.db")).unwrap();
    for h in 0..4 {
        conn.execute("UPDATE charters SET price = ?1", [h]).unwrap();
        backups.run(now() + Duration::hours(h)).await.unwrap();
    }
    let ids: Vec<String> = backups.list().await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(ids, ["20261203T170000Z", "20261203T160000Z"]);
    // The next one prunes the oldest of the two once it is verified itself.
    conn.execute("UPDATE charters SET price = 99", []).unwrap();
    let out = backups.run(now() + Duration::hours(4)).await.unwrap();
    assert!(out.verified.is_some());
    assert_eq!(out.pruned, ["20261203T160000Z"]);
}
