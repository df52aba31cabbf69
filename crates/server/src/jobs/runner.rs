//! Running one job once: take its lease, record the start, check its credentials, run
//! it with a timeout and retries (only for failures that may pass: see
//! [`jada_core::Recovery`]), record how it ended and why, give the lease back.

use std::sync::Arc;
use std::time::Duration;

use jada_core::{Backoff, Clock, Recovery};
use jada_google::auth::TokenService;
use jada_store::{JobRun, RunEnd, RunOutcome, Store, StoreError, Trigger};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use crate::delivery::RunLog;

use super::{JobError, JobOutput, Registry};

/// How long a timed-out job may take to stop once cancelled, before it is dropped.
const WIND_DOWN: Duration = Duration::from_secs(10);

/// Why a run did not happen at all (a run that happened and failed is a `JobRun`).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("no job named `{name}` (jobs: {known})")]
    UnknownJob { name: String, known: String },
    #[error("job `{0}` is already running (another run holds its lease); try again when it ends")]
    AlreadyRunning(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A job marked running in this process, unmarked when dropped (however the run ends).
struct RunningHere<'a> {
    set: &'a std::sync::Mutex<std::collections::HashSet<String>>,
    name: String,
}

impl<'a> RunningHere<'a> {
    fn enter(set: &'a std::sync::Mutex<std::collections::HashSet<String>>, name: &str) -> Option<Self> {
        let mut running = set.lock().unwrap_or_else(|p| p.into_inner());
        running.insert(name.to_string()).then(|| RunningHere {
            set,
            name: name.to_string(),
        })
    }
}

impl Drop for RunningHere<'_> {
    fn drop(&mut self) {
        self.set.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.name);
    }
}

/// Runs jobs from a registry, recording every run.
#[derive(Clone)]
pub struct JobRunner {
    pub store: Arc<dyn Store>,
    pub tokens: Arc<TokenService>,
    pub clock: Arc<dyn Clock>,
    pub registry: Registry,
    /// Who holds leases: this process.
    pub owner: String,
    /// Where each failed run is reported as it ends (CloudWatch Logs, when configured).
    pub run_logs: Vec<Arc<dyn RunLog>>,
    /// The jobs this runner is running now: the lease is this process's either way, so
    /// a second run of one job here is refused by this, not by the lease.
    pub running: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    /// How long a job's lease lasts without renewal; renewed every third of it while the
    /// job runs, so a daemon that dies (kill -9, power) frees its jobs within this.
    pub lease: Duration,
    /// Cancelled at shutdown.
    pub shutdown: CancellationToken,
    /// Told of every failed run, so the alert loop evaluates at once (see `daemon`).
    pub alerts_due: Arc<Notify>,
    /// When each quiet job's check was last written (see `note_check`).
    pub checks: Arc<std::sync::Mutex<std::collections::HashMap<String, chrono::DateTime<chrono::Utc>>>>,
}

impl JobRunner {
    pub async fn run(&self, name: &str, trigger: Trigger) -> Result<Option<JobRun>, RunError> {
        if self.registry.get(name).is_none() {
            return Err(RunError::UnknownJob {
                name: name.into(),
                known: self.registry.names().join(", "),
            });
        }
        let Some(_here) = RunningHere::enter(&self.running, name) else {
            return Err(RunError::AlreadyRunning(name.into()));
        };
        if self.registry.get(name).is_some_and(|(spec, _)| spec.unleased) {
            return self.run_leased(name, trigger).await;
        }
        let lease = format!("job:{name}");
        let ttl = self.lease;
        if !self
            .store
            .try_acquire_lease(&lease, &self.owner, self.clock.now(), ttl)
            .await?
        {
            return Err(RunError::AlreadyRunning(name.into()));
        }
        let result = tokio::select! {
            r = self.run_leased(name, trigger) => r,
            never = self.renew(&lease, ttl) => match never {},
        };
        if let Err(e) = self.store.release_lease(&lease, &self.owner).await {
            tracing::warn!(job = %name, error = %e, "cannot release the job's lease; it will expire");
        }
        result
    }

    /// Renews a held lease every third of its time, for as long as it is polled.
    async fn renew(&self, lease: &str, ttl: Duration) -> std::convert::Infallible {
        let mut tick = tokio::time::interval((ttl / 3).max(Duration::from_millis(100)));
        tick.tick().await;
        loop {
            tick.tick().await;
            match self
                .store
                .try_acquire_lease(lease, &self.owner, self.clock.now(), ttl)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    tracing::error!(%lease, "lost the lease while running: another daemon may run this job too")
                }
                Err(e) => {
                    tracing::warn!(%lease, error = %e, "cannot renew the lease; it expires unless a later renewal works")
                }
            }
        }
    }

    async fn run_leased(&self, name: &str, trigger: Trigger) -> Result<Option<JobRun>, RunError> {
        let (spec, job) = self.registry.get(name).expect("checked by run");
        let started = self.clock.now();
        // Recorded before the work, so a crash leaves a `running` run to mark abandoned.
        let early = if spec.quiet_when_idle {
            None
        } else {
            Some(self.store.start_run(name, trigger, started).await?)
        };
        let (outcome, attempts) = match self.check_credentials(&spec.credentials).await {
            Err(e) => (Err(e), 0),
            Ok(()) => {
                self.attempts(name, job.as_ref(), spec.attempts, spec.timeout, spec.backoff)
                    .await
            }
        };
        let end = match &outcome {
            Ok(out) if !out.record && early.is_none() => {
                self.note_check(name).await;
                return Ok(None);
            }
            Ok(out) => RunEnd::succeeded(out.summary.clone(), attempts),
            Err(e) => RunEnd {
                outcome: RunOutcome::Failed,
                summary: None,
                error: Some(e.message.clone()),
                attempts,
                recovery: Some(e.recovery),
                needs_reauth: e.needs_reauth.clone(),
            },
        };
        let run = match early {
            Some(run) => run,
            None => self.store.start_run(name, trigger, started).await?,
        };
        let run = self.store.finish_run(run.run_id, &end, self.clock.now()).await?;
        match &outcome {
            Ok(out) => {
                tracing::info!(job = %name, summary = %out.summary, attempts, "job succeeded");
                // A poll that found work may have changed what is alerted on (a dispatch
                // with nobody left to ask): evaluate now, not at the safety-net tick.
                if spec.quiet_when_idle {
                    self.alerts_due.notify_one();
                }
            }
            Err(e) => {
                tracing::error!(job = %name, error = %e, recovery = e.recovery.as_str(), attempts, "job failed");
                // A failure is alerted on now, not at the next evaluation tick.
                self.alerts_due.notify_one();
                for log in &self.run_logs {
                    if let Err(e) = log.failed(&run).await {
                        tracing::error!(job = %name, sink = log.name(), error = %e, "cannot report the failed run");
                    }
                }
            }
        }
        Ok(Some(run))
    }

    /// Records that a quiet job checked and found nothing, at most once a minute per job
    /// (the outbox checks every second; a write a second would be noise).
    async fn note_check(&self, name: &str) {
        let now = self.clock.now();
        {
            let mut last = self.checks.lock().unwrap_or_else(|p| p.into_inner());
            match last.get(name) {
                Some(t) if now - *t < chrono::Duration::seconds(60) => return,
                _ => {
                    last.insert(name.to_string(), now);
                }
            }
        }
        if let Err(e) = self.store.record_check(name, now).await {
            tracing::warn!(job = %name, error = %e, "cannot record a quiet check");
        }
    }

    /// A job that needs a refused credential fails at once with the credential's own
    /// message, instead of calling Google.
    async fn check_credentials(&self, names: &[String]) -> Result<(), JobError> {
        for n in names {
            self.tokens.get(n, &[]).await?;
        }
        Ok(())
    }

    /// Runs the job up to `attempts` times: a failure that may pass (a timeout, a 503) is
    /// retried with backoff; one that needs a person is not. Returns the result and how
    /// many attempts were made.
    async fn attempts(
        &self,
        name: &str,
        job: &dyn super::Job,
        attempts: u32,
        timeout: Duration,
        backoff: Duration,
    ) -> (Result<JobOutput, JobError>, u32) {
        let backoff = Backoff::new(backoff, Duration::from_secs(3600));
        let shutting_down = |e: JobError| e.context("the daemon was shutting down");
        let mut attempt = 1;
        loop {
            let cancel = self.shutdown.child_token();
            let run = job.run(cancel.clone());
            tokio::pin!(run);
            let result = tokio::select! {
                r = &mut run => r,
                _ = tokio::time::sleep(timeout) => {
                    // Told to stop, the job gets a moment to end its work cleanly (an
                    // agent session records `cancelled`) before it is dropped.
                    cancel.cancel();
                    let _ = tokio::time::timeout(WIND_DOWN, &mut run).await;
                    Err(JobError::retry(format!("timed out after {timeout:?}")))
                }
            };
            let e = match result {
                Ok(out) => return (Ok(out), attempt),
                Err(e) => e,
            };
            if self.shutdown.is_cancelled() {
                return (Err(shutting_down(e)), attempt);
            }
            if e.recovery == Recovery::Operator {
                return (Err(e), attempt);
            }
            if attempt >= attempts.max(1) {
                let e = if attempts > 1 {
                    JobError {
                        message: format!("{} (after {attempts} attempts)", e.message),
                        ..e
                    }
                } else {
                    e
                };
                return (Err(e), attempt);
            }
            let wait = backoff.delay(attempt, rand::random(), None);
            tracing::warn!(job = %name, attempt, error = %e, "job attempt failed; retrying");
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.shutdown.cancelled() => return (Err(shutting_down(e)), attempt),
            }
            attempt += 1;
        }
    }
}
