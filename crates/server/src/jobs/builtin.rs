//! The jobs every daemon has: `token-health` (probe every credential), `outbox` (drain
//! due events), and `command` jobs that run an operator's program on a schedule.

use std::sync::Arc;

use async_trait::async_trait;
use jada_google::auth::TokenService;
use tokio_util::sync::CancellationToken;

use super::{Job, JobError, JobOutput};
use crate::outbox::OutboxWorker;
use jada_core::Recovery;

/// Probes every configured credential through Google's tokeninfo.
pub struct TokenHealth(pub Arc<TokenService>);

#[async_trait]
impl Job for TokenHealth {
    async fn run(&self, _cancel: CancellationToken) -> Result<JobOutput, JobError> {
        let names: Vec<String> = self.0.names().into_iter().map(str::to_string).collect();
        if names.is_empty() {
            return Ok(JobOutput::done("no credentials configured"));
        }
        let mut problems: Vec<JobError> = Vec::new();
        for n in &names {
            match self.0.probe(n).await {
                Ok(p) if p.ok => {}
                // Google answered that the token cannot do its work: a person must look.
                Ok(p) => {
                    let mut e =
                        JobError::operator(p.problem.unwrap_or_else(|| format!("credential `{n}` is unhealthy")));
                    // Refused by Google: the credential's own alert covers this run.
                    let refused = self.0.states().iter().any(|s| &s.name == n && s.needs_reauth);
                    e.needs_reauth = refused.then(|| n.clone());
                    problems.push(e)
                }
                Err(e) => problems.push(e.into()),
            }
        }
        if problems.is_empty() {
            return Ok(JobOutput::done(format!("{} credential(s) healthy", names.len())));
        }
        // One run, every credential's problem; retried only if each of them may pass.
        let recovery = if problems.iter().all(|p| p.recovery == Recovery::Retry) {
            Recovery::Retry
        } else {
            Recovery::Operator
        };
        Err(JobError {
            message: problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            recovery,
            needs_reauth: problems.iter().find_map(|p| p.needs_reauth.clone()),
        })
    }
}

/// Drains the outbox once.
pub struct OutboxDrain(pub Arc<OutboxWorker>);

#[async_trait]
impl Job for OutboxDrain {
    async fn run(&self, _cancel: CancellationToken) -> Result<JobOutput, JobError> {
        let d = self.0.drain().await?;
        if d.total() == 0 {
            return Ok(JobOutput::idle());
        }
        Ok(JobOutput::done(format!(
            "{} handled, {} to retry, {} parked as dead letters, {} waiting for an operator, {} with no consumer",
            d.handled, d.retried, d.dead, d.blocked, d.unhandled
        )))
    }
}

/// Runs a program (`[jobs.NAME] command = ["prog", "arg"]`), e.g. a legacy script that
/// gets its Google token from `jada auth token`. Killed on timeout or shutdown.
pub struct Command {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
}

#[async_trait]
impl Job for Command {
    async fn run(&self, cancel: CancellationToken) -> Result<JobOutput, JobError> {
        let (prog, args) = self
            .argv
            .split_first()
            .ok_or_else(|| JobError::operator("the job's `command` is empty"))?;
        let mut child = tokio::process::Command::new(prog)
            .args(args)
            .envs(self.env.iter().cloned())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| JobError::operator(format!("cannot start `{prog}`: {e}")))?;
        let stderr = child.stderr.take();
        let status = tokio::select! {
            s = child.wait() => s.map_err(|e| JobError::retry(format!("`{prog}`: {e}")))?,
            _ = cancel.cancelled() => {
                let _ = child.kill().await;
                return Err(JobError::retry(format!("`{prog}` was stopped before it finished")));
            }
        };
        if status.success() {
            return Ok(JobOutput::done(format!("`{prog}` exited 0")));
        }
        let mut err = String::new();
        if let Some(mut s) = stderr {
            use tokio::io::AsyncReadExt;
            let _ = s.read_to_string(&mut err).await;
        }
        let last = err.lines().last().unwrap_or("").trim();
        // An operator's script says nothing about why it failed: try it again.
        Err(JobError::retry(format!(
            "`{prog}` exited with {status}{}{last}",
            if last.is_empty() { "" } else { ": " }
        )))
    }
}

/// The port-sheet reconcile: diff the whole tab against the store, write the differences,
/// and record the drift found in the run's summary.
pub struct PortSheetReconcile {
    pub sheet: Arc<jada_ops::port_sheet::PortSheet>,
    pub clock: Arc<dyn jada_core::Clock>,
    pub zone: jada_core::BusinessZone,
}

#[async_trait]
impl Job for PortSheetReconcile {
    async fn run(&self, _cancel: CancellationToken) -> Result<JobOutput, JobError> {
        let today = self.zone.date_of(self.clock.now());
        let r = self.sheet.reconcile(today, false).await?;
        let drift = if r.changes.is_empty() {
            "no drift".to_string()
        } else {
            format!("drift: {} row(s) differed or were missing", r.changes.len())
        };
        Ok(JobOutput::done(format!("{}; {drift}", r.summary())))
    }
}

/// The roster sync: the crew's availability sheet into the roster.
pub struct RosterSyncJob {
    pub sync: Arc<jada_ops::roster::RosterSync>,
    pub clock: Arc<dyn jada_core::Clock>,
    pub zone: jada_core::BusinessZone,
}

#[async_trait]
impl Job for RosterSyncJob {
    async fn run(&self, _cancel: CancellationToken) -> Result<JobOutput, JobError> {
        let today = self.zone.date_of(self.clock.now());
        let r = self.sync.run(today, false, false).await?;
        let mut summary = r.summary();
        if let Some(first) = r.bad_cells.first() {
            summary += &format!("; first unreadable cell: {first}");
        }
        Ok(JobOutput::done(summary))
    }
}

/// Last month's revenue report, on the 1st: into the reports folder, and to Drive when
/// `[jobs.monthly-report]` names a folder.
pub struct MonthlyReportJob {
    pub store: Arc<dyn jada_store::Store>,
    pub reports_dir: std::path::PathBuf,
    pub publish: Option<Arc<jada_ops::report::Publish>>,
    pub clock: Arc<dyn jada_core::Clock>,
    pub zone: jada_core::BusinessZone,
}

#[async_trait]
impl Job for MonthlyReportJob {
    async fn run(&self, _cancel: CancellationToken) -> Result<JobOutput, JobError> {
        use jada_ops::report::{file_name, monthly, publish};
        let month = jada_core::Month::of(self.zone.date_of(self.clock.now())).prev();
        let out = self.reports_dir.join(file_name(month));
        let r = monthly(
            self.store.as_ref(),
            month,
            &self.reports_dir,
            &out,
            self.publish.as_deref(),
        )
        .await?;
        let mut summary = format!(
            "{}: {} charters, revenue {}, tips {}",
            month.long_name(),
            r.rows,
            r.revenue,
            r.tips
        );
        if let Some(p) = &self.publish {
            let done = publish(&r, p).await?;
            summary += &format!(
                "; {} on Drive, shared with {}",
                if done.replaced { "replaced" } else { "uploaded" },
                done.shared_with.len()
            );
        }
        Ok(JobOutput::done(summary))
    }
}

/// Last month's crew statements, on the 1st. A re-run (a retry, or the operator's
/// `jobs run`) sends only what is missing; anything not sent fails the run, naming it.
pub struct CrewStatementsJob {
    pub store: Arc<dyn jada_store::Store>,
    pub mailer: Arc<dyn jada_ops::mail::Mailer>,
    pub cfg: Arc<jada_ops::statements::StatementsConfig>,
    /// `<data>/statements`; each month gets its own folder.
    pub dir: std::path::PathBuf,
    pub clock: Arc<dyn jada_core::Clock>,
    pub zone: jada_core::BusinessZone,
}

#[async_trait]
impl Job for CrewStatementsJob {
    async fn run(&self, _cancel: CancellationToken) -> Result<JobOutput, JobError> {
        use jada_ops::statements::{send, Options};
        let now = self.clock.now();
        let month = jada_core::Month::of(self.zone.date_of(now)).prev();
        let out = send(
            self.store.as_ref(),
            self.mailer.as_ref(),
            &self.cfg,
            month,
            Options::default(),
            &self.dir.join(month.to_string()),
            now,
        )
        .await?;
        let summary = format!(
            "{}: {} sent, {} already sent",
            month.long_name(),
            out.sent.len(),
            out.already_sent.len()
        );
        if out.ok() {
            Ok(JobOutput::done(summary))
        } else {
            let why = out.not_sent();
            Err(JobError {
                message: format!("{summary}; not sent: {}", why.join("; ")),
                recovery: out.recovery(),
                needs_reauth: None,
            })
        }
    }
}

/// The dispatch cascade's clock: expires overdue offers and advances every active
/// dispatch (at start, so deadlines that passed while the daemon was down are handled).
pub struct DispatchTick {
    pub dispatcher: Arc<jada_ops::dispatch::Dispatcher>,
    pub clock: Arc<dyn jada_core::Clock>,
}

#[async_trait]
impl Job for DispatchTick {
    async fn run(&self, _cancel: CancellationToken) -> Result<JobOutput, JobError> {
        let r = self.dispatcher.tick(self.clock.now()).await?;
        let summary = format!(
            "{} expired, {} dispatch(es) advanced, {} offer(s) sent",
            r.expired, r.advanced, r.offered
        );
        if !r.failures.is_empty() {
            // Each failed charter is retried on the next tick anyway.
            return Err(JobError::retry(format!("{summary}; failed: {}", r.failures.join("; "))));
        }
        if r.expired + r.offered == 0 {
            return Ok(JobOutput::idle());
        }
        Ok(JobOutput::done(summary))
    }
}

/// `backup`: a snapshot of the store and the data directory's files to `[backup] target`,
/// verified (restored and compared) before it counts, then old archives pruned.
pub struct BackupJob {
    pub backups: Arc<jada_backup::Backups>,
    pub clock: Arc<dyn jada_core::Clock>,
}

#[async_trait]
impl Job for BackupJob {
    async fn run(&self, _cancel: CancellationToken) -> Result<JobOutput, JobError> {
        let out = self.backups.run(self.clock.now()).await?;
        Ok(JobOutput::done(jada_backup::summary(&out)))
    }
}

/// `backup-verify` (with `[backup] verify_schedule`): the newest archive restored and
/// compared again, so a target that rots between backups is found.
pub struct BackupVerifyJob {
    pub backups: Arc<jada_backup::Backups>,
    pub clock: Arc<dyn jada_core::Clock>,
}

#[async_trait]
impl Job for BackupVerifyJob {
    async fn run(&self, _cancel: CancellationToken) -> Result<JobOutput, JobError> {
        let key = self.backups.existing_key()?;
        let v = self.backups.verify(None, &key, self.clock.now()).await?;
        Ok(JobOutput::done(format!(
            "verified {} at {}: restored, {} records and {} files as at its snapshot",
            v.id,
            self.backups.target(),
            v.records,
            v.files
        )))
    }
}
