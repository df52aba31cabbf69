//! Running one job once: take its lease, record the start, check its credentials, run
//! it with a timeout and retries, record how it ended, give the lease back.

use std::sync::Arc;
use std::time::Duration;

use jada_core::Clock;
use jada_google::auth::TokenService;
use jada_store::{JobRun, RunOutcome, Store, StoreError, Trigger};
use rand::Rng;
use tokio_util::sync::CancellationToken;

use super::{JobOutput, Registry};

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

/// Runs jobs from a registry, recording every run.
#[derive(Clone)]
pub struct JobRunner {
    pub store: Arc<dyn Store>,
    pub tokens: Arc<TokenService>,
    pub clock: Arc<dyn Clock>,
    pub registry: Registry,
    /// Who holds leases: this process.
    pub owner: String,
    /// Cancelled at shutdown.
    pub shutdown: CancellationToken,
}

impl JobRunner {
    pub async fn run(&self, name: &str, trigger: Trigger) -> Result<Option<JobRun>, RunError> {
        let Some((spec, _)) = self.registry.get(name) else {
            return Err(RunError::UnknownJob {
                name: name.into(),
                known: self.registry.names().join(", "),
            });
        };
        let lease = format!("job:{name}");
        let ttl = spec.timeout * spec.attempts.max(1) + spec.backoff * spec.attempts + Duration::from_secs(60);
        if !self
            .store
            .try_acquire_lease(&lease, &self.owner, self.clock.now(), ttl)
            .await?
        {
            return Err(RunError::AlreadyRunning(name.into()));
        }
        let result = self.run_leased(name, trigger).await;
        if let Err(e) = self.store.release_lease(&lease, &self.owner).await {
            tracing::warn!(job = %name, error = %e, "cannot release the job's lease; it will expire");
        }
        result
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
        let outcome = match self.check_credentials(&spec.credentials).await {
            Err(e) => Err(e),
            Ok(()) => {
                self.attempts(name, job.as_ref(), spec.attempts, spec.timeout, spec.backoff)
                    .await
            }
        };
        let (status, summary, error) = match &outcome {
            Ok(out) if !out.record && early.is_none() => return Ok(None),
            Ok(out) => (RunOutcome::Succeeded, Some(out.summary.as_str()), None),
            Err(e) => (RunOutcome::Failed, None, Some(e.as_str())),
        };
        let run = match early {
            Some(run) => run,
            None => self.store.start_run(name, trigger, started).await?,
        };
        let run = self
            .store
            .finish_run(run.run_id, status, summary, error, self.clock.now())
            .await?;
        match error {
            None => tracing::info!(job = %name, summary = summary.unwrap_or(""), "job succeeded"),
            Some(error) => tracing::error!(job = %name, %error, "job failed"),
        }
        Ok(Some(run))
    }

    /// A job that needs a refused credential fails at once with the credential's own
    /// message, instead of calling Google.
    async fn check_credentials(&self, names: &[String]) -> Result<(), String> {
        for n in names {
            self.tokens.get(n, &[]).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    async fn attempts(
        &self,
        name: &str,
        job: &dyn super::Job,
        attempts: u32,
        timeout: Duration,
        backoff: Duration,
    ) -> Result<JobOutput, String> {
        let mut last = String::new();
        for attempt in 1..=attempts.max(1) {
            let cancel = self.shutdown.child_token();
            let result = tokio::select! {
                r = job.run(cancel.clone()) => r,
                _ = tokio::time::sleep(timeout) => {
                    cancel.cancel();
                    Err(format!("timed out after {timeout:?}"))
                }
            };
            match result {
                Ok(out) => return Ok(out),
                Err(e) => last = e,
            }
            if self.shutdown.is_cancelled() {
                return Err(format!("{last} (the daemon was shutting down)"));
            }
            if attempt < attempts {
                let wait = backoff
                    .saturating_mul(1 << (attempt - 1).min(8))
                    .mul_f64(rand::rng().random_range(0.5..1.5));
                tracing::warn!(job = %name, attempt, error = %last, "job attempt failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = self.shutdown.cancelled() => return Err(format!("{last} (the daemon was shutting down)")),
                }
            }
        }
        Err(if attempts > 1 {
            format!("{last} (after {attempts} attempts)")
        } else {
            last
        })
    }
}
