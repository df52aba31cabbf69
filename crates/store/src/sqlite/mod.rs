//! The embedded default backend: one SQLite file in WAL mode with a busy timeout and
//! foreign keys, migrated on open. Blocking SQLite calls run on tokio's blocking pool
//! behind one connection; each trait method is one transaction.

mod access;
mod agents;
mod alerts;
mod charters;
mod chats;
mod credentials;
mod crew;
mod offers;
mod outbox;
mod runs;
mod schema;
mod statements;
mod tasks;
mod transfer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Connection;

use crate::{Result, StoreError};

/// The SQLite store. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    /// Each vessel's turnaround, for the overlap check of every charter write.
    turnarounds: Arc<crate::Turnarounds>,
    /// Rung when a write queued outbox events.
    events: crate::EventsWritten,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let open_err = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            path: path.display().to_string(),
            source: e,
        };
        create_private(&path).map_err(|e| open_err(Box::new(e)))?;
        let mut conn = Connection::open(&path).map_err(|e| open_err(Box::new(e)))?;
        configure(&conn).map_err(|e| open_err(Box::new(e)))?;
        schema::migrate(&mut conn).map_err(|e| open_err(Box::new(e)))?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
            turnarounds: Arc::default(),
            events: Default::default(),
        })
    }

    /// The store, checking charter writes against these turnarounds (the fleet's).
    pub fn with_turnarounds(mut self, t: crate::Turnarounds) -> Self {
        self.turnarounds = Arc::new(t);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves no half-done transaction behind
            // (SQLite rolls it back when the statement is dropped), so the poison is moot.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Backend(Box::new(e)))?
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // Hot paths (an agent's turn, the outbox) reuse their prepared statements.
    conn.set_prepared_statement_cache_capacity(128);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Starts a write transaction. IMMEDIATE takes the write lock up front: a deferred
/// transaction that reads first and writes later cannot wait for another process's
/// writer (SQLite answers "database is locked" at once), which the daemon and a CLI
/// import running side by side would hit.
fn write_tx(conn: &mut Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
}

/// Instants are stored as fixed-width RFC 3339 in UTC, so text order is time order.
fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(what: &'static str, s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(what, format!("timestamp `{s}`: {e}")))
}

/// `WHERE column IN (?, ?, ...)` for `n` values, or nothing when `n` is 0 ("any").
fn where_in(column: &str, n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("WHERE {column} IN ({})", vec!["?"; n].join(", "))
    }
}

fn corrupt(what: &'static str, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: detail.into(),
    }
}

/// Creates the database file 0600 (whatever the umask) when it does not exist yet:
/// SQLite gives its -wal and -shm files the database's own mode, so all three stay
/// private. An existing file is left as it is.
fn create_private(path: &Path) -> std::io::Result<()> {
    if path.as_os_str() == ":memory:" || path.exists() {
        return Ok(());
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    match o.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
