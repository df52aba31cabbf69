//! The backup's heavy work (copying, hashing, compressing, encrypting, checking) on a
//! thread of its own at the lowest CPU priority (SCHED_IDLE): on a two-core server the daemon's pages
//! and API keep their latency while a backup runs, and the backup takes longer while they
//! are busy.

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
