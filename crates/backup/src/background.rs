//! The backup's heavy work (copying, hashing, compressing, encrypting, checking) on a
//! thread of its own at the lowest CPU priority: on a two-core server the daemon's pages
//! and API keep their latency while a backup runs, and the backup takes longer while they
//! are busy. Linux keeps the nice value per thread, so nothing else is slowed.

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

/// nice 19 for the calling thread only (setpriority with PRIO_PROCESS and 0 is per thread
/// on Linux). Lowering one's own priority needs no privilege; failing leaves it as it was.
fn lowest_priority() {
    // SAFETY: setpriority changes a scheduling attribute of this thread; no memory is touched.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}
