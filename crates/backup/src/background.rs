//! The backup's heavy work (copying, hashing, compressing, encrypting, checking) on a
//! thread of its own at the lowest CPU priority (SCHED_IDLE): on a two-core server the daemon's pages
//! and API keep their latency while a backup runs, and the backup takes longer while they
//! are busy. The work also goes in small steps, and between two it steps aside while a
//! request is in flight ([`jada_core::foreground`]): [`Gentle`] for what is written,
//! [`gentle_sqlite`] for SQLite's statements.

use std::io::Write;

use jada_core::foreground::step_aside;

/// Bytes written between two chances to step aside: about a millisecond of compressing.
const STEP_BYTES: usize = 64 * 1024;
/// SQLite virtual-machine instructions between two chances to step aside (a fraction of a
/// millisecond of `integrity_check` or of a table scan).
const STEP_OPS: i32 = 20_000;

/// Runs `work` on a new low-priority thread and waits for it without blocking the runtime.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("jada-backup".into())
        .spawn(move || {
            lowest_priority();
            let _ = tx.send(work());
        })
        .expect("a thread for the backup's work");
    rx.await.expect("the backup's work does not panic")
}

/// The calling thread only (Linux keeps both per thread): SCHED_IDLE, which any other
/// task preempts as soon as it wakes, and nice 19 should that be refused. Lowering one's
/// own priority needs no privilege; failing leaves it as it was.
fn lowest_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: both change a scheduling attribute of this thread; no memory is touched
    // but `param`, which lives across the call.
    unsafe {
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            libc::setpriority(libc::PRIO_PROCESS, 0, 19);
        }
    }
}

/// A writer that steps aside for foreground work every [`STEP_BYTES`] written.
pub struct Gentle<W> {
    inner: W,
    since: usize,
}

impl<W> Gentle<W> {
    pub fn new(inner: W) -> Self {
        Gentle { inner, since: 0 }
    }

    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Gentle<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.since += n;
        if self.since >= STEP_BYTES {
            self.since = 0;
            step_aside();
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Makes a connection's statements step aside for foreground work every [`STEP_OPS`]
/// instructions (for the backup's own connections, on its own thread).
pub fn gentle_sqlite(conn: &rusqlite::Connection) {
    conn.progress_handler(
        STEP_OPS,
        Some(|| {
            step_aside();
            false // go on: never interrupt the statement
        }),
    );
}
