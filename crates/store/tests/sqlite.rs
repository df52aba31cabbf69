//! The conformance suite against a real SQLite file, plus what only SQLite has.

use jada_store::sqlite::SqliteStore;
use jada_store::{CharterStore, StoreError};

async fn fresh() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("jada.db")).unwrap();
    (store, dir)
}

jada_store::conformance_tests!(fresh);

#[tokio::test]
async fn data_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jada.db");
    let c = jada_store::conformance::charter("2024-05-03", 10);
    {
        let s = SqliteStore::open(&path).unwrap();
        s.create_charter(c.clone(), vec![], jada_store::conformance::t("2024-04-01T00:00:00Z"))
            .await
            .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(
        s.get_charter(c.charter_id).await.unwrap().unwrap().guest_name,
        c.guest_name
    );
    let mode: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn unopenable_path_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("jada.db");
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }));
    assert!(err.to_string().contains("no-such-dir"), "{err}");
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jada.db");
    std::fs::write(&path, "this is a text file, not SQLite ".repeat(200)).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(err.to_string().contains("jada.db"), "{err}");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("this is a text file"),
        "the file is left as it was"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_writing_one_file_never_see_database_is_locked() {
    use jada_store::OutboxStore;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jada.db");
    // Two stores, two connections: as the daemon and a CLI import are.
    let daemon = SqliteStore::open(&path).unwrap();
    let cli = SqliteStore::open(&path).unwrap();
    let now = jada_store::conformance::t("2024-04-01T00:00:00Z");
    let importer = tokio::spawn(async move {
        for i in 0..150 {
            let c = jada_store::conformance::charter("2024-05-03", 9);
            let ev = vec![jada_core::Event::CharterChanged {
                charter_id: c.charter_id,
                version: 1,
            }];
            cli.create_charter(c, ev, now)
                .await
                .unwrap_or_else(|e| panic!("write {i}: {e}"));
        }
    });
    let worker = tokio::spawn(async move {
        for i in 0..300 {
            let claimed = daemon
                .claim_due_events(now, std::time::Duration::from_secs(60), 50)
                .await
                .unwrap_or_else(|e| panic!("claim {i}: {e}"));
            for e in claimed {
                daemon.ack_event(e.event_id, now).await.unwrap();
            }
        }
    });
    importer.await.unwrap();
    worker.await.unwrap();
}
