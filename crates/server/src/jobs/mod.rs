//! Jobs: what runs, when, and how a run is recorded. A job is a [`Job`] (the work) and a
//! [`JobSpec`] (its schedule and policies); the [`Registry`] holds both. The scheduler,
//! `jada jobs run`, and later the web page's "run now" button all go through
//! [`runner::JobRunner::run`], so every run is leased and recorded the same way.

pub mod agent;
pub mod builtin;
pub mod runner;
pub mod schedule;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jada_core::{Fault, Recovery};
use tokio_util::sync::CancellationToken;

pub use schedule::Schedule;

/// A job's schedule and policies.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub name: String,
    pub schedule: Schedule,
    pub enabled: bool,
    /// Also run once when the daemon starts.
    pub run_at_start: bool,
    /// One attempt may take this long.
    pub timeout: Duration,
    /// Attempts per run (retries with jittered exponential backoff between them).
    pub attempts: u32,
    pub backoff: Duration,
    /// Credentials the job needs; a run fails fast if one needs re-auth.
    pub credentials: Vec<String>,
    /// Raise a "stale" alert when no run has succeeded for this long (even if none ran).
    pub stale_after: Option<Duration>,
    /// Record a run only if it did something. For frequent polls (the outbox) whose idle
    /// runs would bury the history; such a job's start is recorded at its end.
    pub quiet_when_idle: bool,
    /// Its work is claimed item by item (outbox events, offers), so a run takes no job
    /// lease: two runs, in two daemons, never do one thing twice. Saves the lease's two
    /// writes per run of a frequent poll (on DynamoDB, most of an idle daemon's bill).
    pub unleased: bool,
    /// Run by a loop of its own, not the scheduler: the outbox, woken by this process's
    /// writes and polling with backoff while idle (see `daemon::outbox_loop`).
    pub event_driven: bool,
}

impl JobSpec {
    pub fn new(name: &str, schedule: Schedule) -> Self {
        JobSpec {
            name: name.to_string(),
            schedule,
            enabled: true,
            run_at_start: false,
            timeout: Duration::from_secs(300),
            attempts: 1,
            backoff: Duration::from_secs(5),
            credentials: vec![],
            stale_after: None,
            quiet_when_idle: false,
            unleased: false,
            event_driven: false,
        }
    }
}

/// What a successful run reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutput {
    /// A short summary for the run history ("12 rows written").
    pub summary: String,
    /// `false` for a run that found nothing to do and need not be recorded (an idle
    /// outbox poll every few seconds would bury the history).
    pub record: bool,
}

impl JobOutput {
    pub fn done(summary: impl Into<String>) -> Self {
        JobOutput {
            summary: summary.into(),
            record: true,
        }
    }

    pub fn idle() -> Self {
        JobOutput {
            summary: "nothing to do".into(),
            record: false,
        }
    }
}

/// Why a run failed, and whether another attempt can help. Built from any typed error
/// ([`Fault`]) with `?`, so the runner decides from the type, never from the message:
/// an `operator` failure is not retried and alerts at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    pub message: String,
    pub recovery: Recovery,
    /// The credential that needs re-auth, when that is the cause.
    pub needs_reauth: Option<String>,
}

impl JobError {
    /// A failure that may pass by itself (a timeout, a busy server).
    pub fn retry(message: impl Into<String>) -> JobError {
        JobError {
            message: message.into(),
            recovery: Recovery::Retry,
            needs_reauth: None,
        }
    }

    /// A failure only a person can fix (a bad setting, a missing program).
    pub fn operator(message: impl Into<String>) -> JobError {
        JobError {
            message: message.into(),
            recovery: Recovery::Operator,
            needs_reauth: None,
        }
    }

    /// The same failure, with what the job was doing in front of the message.
    pub fn context(self, what: impl std::fmt::Display) -> JobError {
        JobError {
            message: format!("{what}: {}", self.message),
            ..self
        }
    }
}

impl<E: Fault> From<E> for JobError {
    fn from(e: E) -> JobError {
        JobError {
            message: e.to_string(),
            recovery: e.recovery(),
            needs_reauth: e.needs_reauth().map(str::to_string),
        }
    }
}

/// The work of a job. `cancel` is cancelled at shutdown or timeout: long work should
/// watch it.
#[async_trait]
pub trait Job: Send + Sync {
    async fn run(&self, cancel: CancellationToken) -> Result<JobOutput, JobError>;
}

/// Every job the daemon knows, by name.
#[derive(Default, Clone)]
pub struct Registry {
    jobs: BTreeMap<String, (JobSpec, Arc<dyn Job>)>,
}

impl Registry {
    pub fn register(&mut self, spec: JobSpec, job: Arc<dyn Job>) {
        self.jobs.insert(spec.name.clone(), (spec, job));
    }

    pub fn get(&self, name: &str) -> Option<(&JobSpec, &Arc<dyn Job>)> {
        self.jobs.get(name).map(|(s, j)| (s, j))
    }

    pub fn specs(&self) -> impl Iterator<Item = &JobSpec> {
        self.jobs.values().map(|(s, _)| s)
    }

    pub fn names(&self) -> Vec<&str> {
        self.jobs.keys().map(String::as_str).collect()
    }
}
