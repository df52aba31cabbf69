//! Counters kept in memory since the daemon started, and the Prometheus text exposition
//! of them plus the gauges read from the store at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Log lines that could not be written (stderr on a full disk, a closed pipe): counted,
/// never fatal, shown on `/metrics` and by `jada doctor`.
pub static LOG_WRITE_FAILURES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Lines the log queue dropped because stderr did not keep up (see [`non_blocking_stderr`]).
static LOG_DROPPED: std::sync::OnceLock<tracing_appender::non_blocking::ErrorCounter> = std::sync::OnceLock::new();

/// How many log lines were lost since start: not written (a failing stderr) or dropped
/// (a stderr too slow or stuck). Shown on `/metrics` and by doctor.
pub fn log_failures() -> u64 {
    LOG_WRITE_FAILURES.load(std::sync::atomic::Ordering::Relaxed)
        + LOG_DROPPED.get().map_or(0, |c| c.dropped_lines() as u64)
}

/// How many log lines may wait for stderr before new ones are dropped (and counted).
const LOG_QUEUE_LINES: usize = 4096;

/// stderr behind a bounded queue and a writer thread of its own: logging never blocks the
/// daemon, however slow or stuck stderr is (a pipe nobody reads, a stalled journald);
/// when the queue is full a line is dropped and counted instead. Keep the guard until
/// exit (dropping it flushes what is queued, for at most about a second).
pub fn non_blocking_stderr() -> (
    tracing_appender::non_blocking::NonBlocking,
    tracing_appender::non_blocking::WorkerGuard,
) {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .thread_name("jada-log")
        .finish(SafeStderr);
    let _ = LOG_DROPPED.set(writer.error_counter());
    (writer, guard)
}

/// A log destination that never fails its caller: a write that cannot be made is
/// counted in [`LOG_WRITE_FAILURES`] and dropped, so logging can neither panic a request
/// nor stop the daemon.
#[derive(Clone, Copy, Default)]
pub struct SafeStderr;

impl std::io::Write for SafeStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::io::stderr().write_all(buf).is_err() {
            LOG_WRITE_FAILURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

#[derive(Default)]
pub struct Metrics {
    job_runs: Mutex<BTreeMap<(String, String), u64>>,
    http: Mutex<BTreeMap<(String, u16), u64>>,
}

impl Metrics {
    pub fn job_run(&self, job: &str, outcome: &str) {
        *self
            .job_runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((job.into(), outcome.into()))
            .or_default() += 1;
    }

    pub fn http_request(&self, path: &str, status: u16) {
        *self
            .http
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((path.into(), status))
            .or_default() += 1;
    }

    pub fn job_runs(&self) -> BTreeMap<(String, String), u64> {
        self.job_runs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn http_requests(&self) -> BTreeMap<(String, u16), u64> {
        self.http.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Builds Prometheus text format (version 0.0.4): `# HELP`, `# TYPE`, then samples.
#[derive(Default)]
pub struct Exposition(String);

impl Exposition {
    pub fn family(&mut self, name: &str, kind: &str, help: &str) -> &mut Self {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
        self
    }

    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> &mut Self {
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
        let labels = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", labels.join(","))
        };
        let _ = writeln!(self.0, "{name}{labels} {value}");
        self
    }

    pub fn finish(self) -> String {
        self.0
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
