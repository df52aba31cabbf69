//! An online, consistent copy of the SQLite store while jada runs and writes: one read
//! transaction on the live file pins a moment (WAL mode: writers go on), the rows of each
//! table are counted in it, and SQLite's backup API copies the pages of that same moment.
//! The counts go in the manifest; a restore is compared with them.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use crate::BackupError;

/// Tables whose changes alone do not make a new backup worth taking: the daemon's own
/// bookkeeping (job runs, checks, leases), written every few minutes whatever happens.
/// They are in every archive all the same.
const BOOKKEEPING: &[&str] = &["job_runs", "job_checks", "leases"];

/// Pages the snapshot copies between two chances to step aside for a request (256 KiB
/// of 4 KiB pages).
const PAGES_PER_STEP: i32 = 64;

/// What a snapshot holds, taken in the read transaction it was copied in.
pub struct Snapshot {
    /// Rows per table.
    pub counts: BTreeMap<String, u64>,
    /// A digest of every row outside [`BOOKKEEPING`]: equal digests, same business data.
    pub content: String,
}

/// Copies the database at `live` into `to` (a new file) and says what it holds.
pub fn take(live: &Path, to: &Path) -> Result<Snapshot, BackupError> {
    let sql = |e: rusqlite::Error| BackupError::Database {
        path: live.display().to_string(),
        why: e.to_string(),
    };
    let src = Connection::open_with_flags(live, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sql)?;
    src.busy_timeout(std::time::Duration::from_secs(30)).map_err(sql)?;
    crate::background::gentle_sqlite(&src);
    // Deferred: the first read below starts the read transaction the copy then shares.
    src.execute_batch("BEGIN").map_err(sql)?;
    let snapshot = describe(&src).map_err(sql)?;
    let mut dst = Connection::open(to).map_err(|e| BackupError::Database {
        path: to.display().to_string(),
        why: e.to_string(),
    })?;
    // A scratch copy, packed and removed: no journal, no fsync (fewer writes competing
    // with the daemon's own).
    dst.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
        .map_err(|e| BackupError::Database {
            path: to.display().to_string(),
            why: e.to_string(),
        })?;
    {
        let backup = rusqlite::backup::Backup::new(&src, &mut dst).map_err(sql)?;
        // In steps, stepping aside for the daemon's requests between them. Every step reads
        // in the read transaction `src` holds open, so all copy the same moment: a new
        // transaction (in which SQLite would see other connections' writes and restart the
        // copy) is only begun by a step when the source has none.
        let started = std::time::Instant::now();
        loop {
            use rusqlite::backup::StepResult;
            match backup.step(PAGES_PER_STEP).map_err(sql)? {
                StepResult::Done => break,
                StepResult::More => {}
                // Our own scratch file, busy or locked: only another process could do it.
                StepResult::Busy | StepResult::Locked if started.elapsed() > std::time::Duration::from_secs(30) => {
                    return Err(BackupError::Database {
                        path: to.display().to_string(),
                        why: "the snapshot's scratch copy stayed locked for 30 s".into(),
                    })
                }
                _ => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
            jada_core::foreground::step_aside();
        }
    }
    src.execute_batch("COMMIT").map_err(sql)?;
    drop(dst);
    Ok(snapshot)
}

/// Rows per table and the content digest, as one connection sees them now.
fn describe(conn: &Connection) -> rusqlite::Result<Snapshot> {
    let tables = tables(conn)?;
    let mut counts = BTreeMap::new();
    let mut digest = Sha256::new();
    for t in &tables {
        let n: u64 = conn.query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))?;
        counts.insert(t.clone(), n);
        if BOOKKEEPING.contains(&t.as_str()) {
            continue;
        }
        digest.update(t.as_bytes());
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\""))?;
        let width = stmt.column_count();
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            for i in 0..width {
                use rusqlite::types::ValueRef;
                match row.get_ref(i)? {
                    ValueRef::Null => digest.update([0]),
                    ValueRef::Integer(v) => digest.update(v.to_le_bytes()),
                    ValueRef::Real(v) => digest.update(v.to_le_bytes()),
                    ValueRef::Text(b) | ValueRef::Blob(b) => {
                        digest.update((b.len() as u64).to_le_bytes());
                        digest.update(b);
                    }
                }
            }
        }
    }
    Ok(Snapshot {
        counts,
        content: hex::encode(digest.finalize()),
    })
}

fn tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?;
    let names = stmt.query_map([], |r| r.get(0))?.collect();
    names
}

/// Rows per table and the content digest of a database file (a restored one), after
/// `PRAGMA integrity_check`.
pub fn check(db: &Path) -> Result<(BTreeMap<String, u64>, String), BackupError> {
    let sql = |e: rusqlite::Error| BackupError::Database {
        path: db.display().to_string(),
        why: e.to_string(),
    };
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql)?;
    crate::background::gentle_sqlite(&conn);
    let problems: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sql)?;
    if problems != ["ok"] {
        return Err(BackupError::Damaged(format!(
            "the restored database fails SQLite's integrity check: {}",
            problems.join("; ")
        )));
    }
    let s = describe(&conn).map_err(sql)?;
    Ok((s.counts, s.content))
}

/// The SHA-256 of a file, and its length.
pub fn digest_file(path: &Path) -> Result<(String, u64), BackupError> {
    let mut f = std::fs::File::open(path).map_err(|e| BackupError::io(path, e))?;
    let mut digest = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| BackupError::io(path, e))?;
        if n == 0 {
            break;
        }
        len += n as u64;
        digest.update(&buf[..n]);
        if len % (1 << 20) < n as u64 {
            jada_core::foreground::step_aside();
        }
    }
    Ok((hex::encode(digest.finalize()), len))
}
