//! Counters kept in memory since the daemon started, and the Prometheus text exposition
//! of them plus the gauges read from the store at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

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
