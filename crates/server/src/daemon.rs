//! `jada serve`: the scheduler, the outbox loop (the `outbox` job, run at once after this
//! process writes events and on a backing-off poll otherwise), the alert loop, the token refresher and the HTTP server, under one cancellation root. On shutdown new work stops at once,
//! in-flight work gets `grace` to finish and is then cancelled (and recorded as such).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use jada_core::Clock;
use jada_google::auth::TokenService;
use jada_store::{Store, StoreError, Trigger};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::alerts::{self, AlertEngine};
use crate::jobs::runner::{JobRunner, RunError};
use crate::metrics::Metrics;
use crate::status::StatusSource;

/// What the HTTP handlers and loops share.
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub tokens: Arc<TokenService>,
    pub runner: JobRunner,
    pub clock: Arc<dyn Clock>,
    pub zone: Tz,
    pub started_at: DateTime<Utc>,
    pub admin_token: String,
    pub metrics: Arc<Metrics>,
    pub data_dir: std::path::PathBuf,
    /// The crew pages, when dispatch is set up.
    pub crew: Option<Arc<crate::crew::CrewPages>>,
    /// The office pages, when office users are configured.
    pub office: Option<Arc<crate::office::Office>>,
    /// The booking API.
    pub api: Option<Arc<crate::api::ApiState>>,
    /// How long each playbook's sessions may go without a heartbeat before the sweep
    /// marks them abandoned.
    pub stuck_after: StuckAfter,
    /// The agent, when a provider is configured (the admin API's decisions and resumes).
    pub agent: Option<crate::jobs::agent::AgentDesk>,
    /// All the daemon's work in flight: shutdown waits for it (then cancels it).
    pub tasks: TaskTracker,
    /// The fleet (the status report's double-booking check uses its turnarounds).
    pub fleet: jada_core::Fleet,
    /// `[backup]`, for the status report.
    pub backups: Option<Arc<jada_backup::Backups>>,
    /// jada's tools for MCP callers (`/mcp`) and the decisions on their approvals.
    pub direct: Option<Arc<jada_ops::agent::Direct>>,
    /// `[server] public_url`: the host `/mcp` accepts besides loopback.
    pub public_url: String,
}

/// `[agent] stuck_after` and each playbook's own.
#[derive(Debug, Clone)]
pub struct StuckAfter {
    pub default: Duration,
    pub by_playbook: std::collections::BTreeMap<String, Duration>,
}

impl Default for StuckAfter {
    fn default() -> Self {
        StuckAfter {
            default: jada_ops::agent::playbook::DEFAULT_STUCK_AFTER,
            by_playbook: Default::default(),
        }
    }
}

impl StuckAfter {
    pub fn of(&self, playbook: &str) -> Duration {
        self.by_playbook.get(playbook).copied().unwrap_or(self.default)
    }

    /// How often the sweep looks: a quarter of the shortest limit, between 1 s and 1 min.
    fn sweep_every(&self) -> Duration {
        let shortest = self.by_playbook.values().copied().fold(self.default, Duration::min);
        (shortest / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
    }
}

impl Shared {
    /// What the web areas and the operator endpoints read the status report from.
    pub fn status(&self) -> StatusSource {
        StatusSource {
            store: Arc::clone(&self.store),
            tokens: Arc::clone(&self.tokens),
            registry: self.runner.registry.clone(),
            clock: Arc::clone(&self.clock),
            zone: self.zone,
            started_at: self.started_at,
            data_dir: self.data_dir.clone(),
            fleet: self.fleet.clone(),
            backups: self.backups.clone(),
        }
    }

    /// Every web area's router, each with its own state, under the operator endpoints.
    pub fn router(&self) -> axum::Router {
        let status = Arc::new(self.status());
        let mut areas = Vec::new();
        if let Some(crew) = &self.crew {
            areas.push(crate::crew::router(Arc::clone(crew)));
        }
        if let Some(office) = &self.office {
            areas.push(crate::office::router(Arc::new(crate::office::OfficeState {
                office: Arc::clone(office),
                store: Arc::clone(&self.store),
                clock: Arc::clone(&self.clock),
                status: Arc::clone(&status),
                runner: self.runner.clone(),
                tasks: self.tasks.clone(),
                direct: self.direct.clone(),
            })));
        }
        if let Some(direct) = &self.direct {
            areas.push(crate::mcp::router(
                Arc::clone(&self.store),
                Arc::clone(direct),
                &self.public_url,
                self.runner.shutdown.clone(),
            ));
        }
        if let Some(api) = &self.api {
            areas.push(crate::api::router(Arc::clone(api)));
        }
        let ops = crate::http::OpsState {
            store: Arc::clone(&self.store),
            status,
            admin_token: self.admin_token.clone(),
            metrics: Arc::clone(&self.metrics),
            clock: Arc::clone(&self.clock),
            agent: self.agent.clone(),
            direct: self.direct.clone(),
            shutdown: self.runner.shutdown.clone(),
        };
        crate::http::router(Arc::new(ops), areas, self.office.is_some())
    }
}

/// How the daemon paces itself.
#[derive(Debug, Clone)]
pub struct Timing {
    /// How long in-flight work may finish after a stop is asked (default 20 s).
    pub grace: Duration,
    /// How often the alert rules are evaluated when nothing wakes them (default 5 min):
    /// a failed run, a dead letter, a credential refused, and any quiet job that did
    /// something (a dispatch that ran out of people) wake them at once; this safety net
    /// catches what only time brings (a job gone stale, a token about to expire).
    pub alert_every: Duration,
    /// The HTTP listener's timeouts and connection cap.
    pub http: crate::listen::Limits,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            grace: Duration::from_secs(20),
            alert_every: Duration::from_secs(300),
            http: crate::listen::Limits::default(),
        }
    }
}

pub struct Daemon {
    pub shared: Arc<Shared>,
    pub alerts: AlertEngine,
    pub timing: Timing,
    /// Cancelled after `grace` to stop in-flight jobs; the runner's `shutdown` token.
    pub abort: CancellationToken,
}

/// Releases the leases of dead processes of this host and, unless a live process is
/// draining the outbox, every outbox claim.
async fn recover_leases(shared: &Shared) -> Result<(), jada_store::StoreError> {
    let me = jada_app::agent::process_owner();
    let mut outbox_held = false;
    for (name, owner, _) in shared.store.list_leases().await? {
        if owner != me && !jada_app::agent::owner_alive(&owner) {
            shared.store.release_lease(&name, &owner).await?;
            tracing::warn!(lease = %name, %owner, "released a lease held by a process that is gone");
        } else if name.starts_with(OUTBOX_WORKER) {
            outbox_held = true;
        }
    }
    if !outbox_held {
        let n = shared.store.release_claims(shared.clock.now()).await?;
        if n > 0 {
            tracing::warn!(events = n, "took over outbox events claimed by a process that is gone");
        }
    }
    Ok(())
}

impl Daemon {
    /// Runs until `stop` is cancelled, then drains and returns.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        stop: CancellationToken,
        on_ready: impl FnOnce(SocketAddr),
    ) -> std::io::Result<()> {
        let shared = Arc::clone(&self.shared);
        let abandoned = shared
            .store
            .abandon_running_runs(shared.clock.now())
            .await
            .map_err(std::io::Error::other)?;
        if abandoned > 0 {
            tracing::warn!(
                runs = abandoned,
                "marked runs left running by a previous process as abandoned"
            );
        }
        // A predecessor killed without a chance to clean up (kill -9, a power cut) may
        // hold job leases and outbox claims for minutes: this daemon holds the data
        // directory's lock, so a lease owner of this host that no longer runs is gone
        // for certain, and its work is taken up at once.
        recover_leases(&shared).await.map_err(std::io::Error::other)?;
        // Agent sessions whose process died (this daemon's predecessor, a killed `jada
        // agent run`) become `abandoned`, resumable and alerted, never "running" forever.
        let orphans = jada_ops::agent::abandon_orphans(
            shared.store.as_ref(),
            &jada_app::agent::process_owner(),
            &jada_app::agent::owner_alive,
            shared.clock.now(),
        )
        .await
        .map_err(std::io::Error::other)?;
        if !orphans.is_empty() {
            let sessions: Vec<String> = orphans.iter().map(u64::to_string).collect();
            tracing::warn!(sessions = %sessions.join(", "), "marked agent sessions left running by a stopped process as abandoned");
        }
        let addr = listener.local_addr()?;
        let tracker = shared.tasks.clone();

        let app = shared.router();
        let http_stop = stop.clone();
        let limits = self.timing.http;
        tracker.spawn(crate::listen::serve(listener, app, limits, http_stop));
        tracker.spawn(Arc::clone(&shared.tokens).run(stop.clone()));
        tracker.spawn(scheduler(Arc::clone(&shared), tracker.clone(), stop.clone()));
        tracker.spawn(outbox_loop(Arc::clone(&shared), stop.clone()));
        tracker.spawn(sweep_loop(Arc::clone(&shared), stop.clone()));
        tracker.spawn(alert_loop(
            Arc::clone(&shared),
            self.alerts,
            self.timing.alert_every,
            stop.clone(),
        ));
        watchdog(&tracker, stop.clone());

        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
        tracing::info!(%addr, "jada is ready");
        on_ready(addr);

        stop.cancelled().await;
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
        tracing::info!(
            grace_s = self.timing.grace.as_secs(),
            "stopping: letting in-flight work finish"
        );
        tracker.close();
        if tokio::time::timeout(self.timing.grace, tracker.wait()).await.is_err() {
            tracing::warn!("grace period over: cancelling in-flight jobs");
            self.abort.cancel();
            if tokio::time::timeout(Duration::from_secs(5), tracker.wait())
                .await
                .is_err()
            {
                tracing::error!("some work did not stop after cancellation; exiting anyway");
            }
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Runs each enabled job at its schedule's fire times (and at start if asked).
async fn scheduler(shared: Arc<Shared>, tracker: TaskTracker, stop: CancellationToken) {
    let now = shared.clock.now();
    let mut next: BTreeMap<String, (DateTime<Utc>, Trigger)> = BTreeMap::new();
    for spec in shared.runner.registry.specs().filter(|s| s.enabled && !s.event_driven) {
        let first = if spec.run_at_start {
            Some((now, Trigger::Startup))
        } else {
            spec.schedule
                .next_after(now, shared.zone)
                .map(|t| (t, Trigger::Schedule))
        };
        if let Some(f) = first {
            next.insert(spec.name.clone(), f);
        }
    }
    loop {
        let Some(at) = next.values().map(|(t, _)| *t).min() else {
            stop.cancelled().await;
            return;
        };
        let wait = (at - shared.clock.now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let now = shared.clock.now();
        let due: Vec<(String, Trigger)> = next
            .iter()
            .filter(|(_, (t, _))| *t <= now)
            .map(|(n, (_, tr))| (n.clone(), *tr))
            .collect();
        for (name, trigger) in due {
            let Some((spec, _)) = shared.runner.registry.get(&name) else {
                continue;
            };
            let (schedule, quiet) = (spec.schedule.clone(), spec.quiet_when_idle);
            let due_at = next.get(&name).map_or(now, |(t, _)| *t);
            let following = schedule.next_after(now, shared.zone);
            match following {
                Some(t) => next.insert(name.clone(), (t, Trigger::Schedule)),
                None => next.remove(&name),
            };
            let shared = Arc::clone(&shared);
            tracker.spawn(async move {
                // Several daemons on one store: one of them takes each due run. Quiet
                // polling jobs (outbox, dispatch) run on each: their work is claimed item
                // by item, and they would spend a write a second on claims.
                if trigger == Trigger::Schedule && !quiet && !claim_due_run(&shared, &name, due_at, following).await {
                    return;
                }
                run_recorded(&shared, &name, trigger).await
            });
        }
    }
}

/// The lease each running outbox worker holds (`outbox-worker:<owner>`): while any live
/// process holds one, a starting daemon leaves outbox claims alone.
const OUTBOX_WORKER: &str = "outbox-worker:";

/// How often an idle outbox looks for events other processes wrote: from every second
/// after work, doubling to this while nothing comes.
const OUTBOX_POLL: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(15));

/// Drains the outbox: at once when this process wrote events (the store rings), else on a
/// poll that backs off while idle and snaps back on work. An idle daemon then costs a few
/// requests a minute on DynamoDB instead of three a second. Its presence lease is renewed
/// every `[server] job_lease` and lasts three of them.
async fn outbox_loop(shared: Arc<Shared>, stop: CancellationToken) {
    if !shared
        .runner
        .registry
        .get("outbox")
        .is_some_and(|(spec, _)| spec.enabled && spec.event_driven)
    {
        return;
    }
    let written = shared.store.events_written();
    let presence = format!("{OUTBOX_WORKER}{}", shared.runner.owner);
    let renew_every = shared.runner.lease.max(Duration::from_secs(1));
    let mut renewed: Option<tokio::time::Instant> = None;
    let mut wait = OUTBOX_POLL.0;
    loop {
        if renewed.is_none_or(|at| at.elapsed() >= renew_every) {
            let held = shared
                .store
                .try_acquire_lease(&presence, &shared.runner.owner, shared.clock.now(), renew_every * 3)
                .await;
            if let Err(e) = held {
                tracing::warn!(error = %e, "cannot renew the outbox worker's lease");
            }
            renewed = Some(tokio::time::Instant::now());
        }
        let worked = match shared.runner.run("outbox", Trigger::Schedule).await {
            Ok(Some(run)) => {
                shared.metrics.job_run("outbox", run.outcome.as_str());
                // A failed drain (the store down) backs off like an idle one.
                run.outcome == jada_store::RunOutcome::Succeeded
            }
            Ok(None) => false,
            Err(RunError::AlreadyRunning(_)) => true,
            Err(e) => {
                tracing::error!(job = "outbox", error = %e, "cannot run the outbox");
                false
            }
        };
        wait = if worked {
            OUTBOX_POLL.0
        } else {
            (wait * 2).min(OUTBOX_POLL.1)
        };
        // Never past a retry this process scheduled (a mail that failed a moment ago).
        let now = shared.clock.now();
        let sleep = match written.next_due(now) {
            Some(due) => wait.min((due - now).to_std().unwrap_or_default()),
            None => wait,
        };
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = written.wait() => wait = OUTBOX_POLL.0,
            _ = tokio::time::sleep(sleep) => {}
        }
    }
    let _ = shared.store.release_lease(&presence, &shared.runner.owner).await;
}

/// Takes the due run at `due_at` for this daemon: a lease `due:<job>` held until halfway
/// to the next due time, so a daemon whose clock is a little behind finds it taken.
/// `false` when another daemon took it (or the store cannot say: then nobody runs it
/// from here, and the next due time tries again).
async fn claim_due_run(shared: &Shared, name: &str, due_at: DateTime<Utc>, next: Option<DateTime<Utc>>) -> bool {
    let gap = next.map_or(chrono::Duration::hours(1), |n| n - due_at);
    let hold = (gap / 2)
        .to_std()
        .unwrap_or_default()
        .clamp(Duration::from_secs(1), Duration::from_secs(3600));
    let lease = format!("due:{name}");
    match shared
        .store
        .try_acquire_lease(&lease, &shared.runner.owner, shared.clock.now(), hold)
        .await
    {
        Ok(true) => true,
        Ok(false) => {
            tracing::debug!(job = %name, %due_at, "another daemon took this due run");
            false
        }
        Err(e) => {
            tracing::error!(job = %name, error = %e, "cannot claim the due run; skipped");
            false
        }
    }
}

async fn run_recorded(shared: &Shared, name: &str, trigger: Trigger) {
    match shared.runner.run(name, trigger).await {
        Ok(Some(run)) => shared.metrics.job_run(name, run.outcome.as_str()),
        Ok(None) => {}
        Err(RunError::AlreadyRunning(_)) => tracing::info!(job = %name, "skipped: the previous run is still going"),
        Err(e) => tracing::error!(job = %name, error = %e, "cannot run job"),
    }
}

/// Evaluates the alert rules every `every` (the safety net, and staleness) and within a
/// moment of anything that failed: the runner, the outbox worker and the credential sink
/// wake `alerts_due` when they record a failure.
/// Ends agent sessions whose heartbeat stopped (a hung process, a killed one whose pid
/// came back, another host), while the daemon runs: each becomes `abandoned`, alerted on
/// at once, and its playbook's `max_concurrent` slot is free again.
async fn sweep_loop(shared: Arc<Shared>, stop: CancellationToken) {
    let every = shared.stuck_after.sweep_every();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let limits = &shared.stuck_after;
        let now = shared.clock.now();
        // A process of this host that is gone (a `jada agent run` killed with -9) is
        // known at once; one that hangs, or another host's, by its heartbeat.
        let me = jada_app::agent::process_owner();
        let gone =
            jada_ops::agent::abandon_orphans(shared.store.as_ref(), &me, &jada_app::agent::owner_alive, now).await;
        let stuck = jada_ops::agent::sweep_stuck(shared.store.as_ref(), &|p| limits.of(p), now).await;
        match gone.and_then(|a| stuck.map(|b| a.len() + b.len())) {
            Ok(0) => {}
            Ok(_) => shared.runner.alerts_due.notify_one(),
            Err(e) => tracing::error!(error = %e, "cannot sweep stuck agent sessions"),
        }
    }
}

async fn alert_loop(shared: Arc<Shared>, engine: AlertEngine, every: Duration, stop: CancellationToken) {
    let due = Arc::clone(&shared.runner.alerts_due);
    loop {
        if let Err(e) = evaluate(&shared, &engine).await {
            tracing::error!(error = %e, "cannot evaluate alerts");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
            _ = due.notified() => {
                // Let a burst of failures (a credential refused under every job) land
                // first, so it makes one evaluation.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// One evaluation of the alert rules against the store, and the notifications it needs.
pub async fn evaluate(shared: &Shared, engine: &AlertEngine) -> Result<Vec<alerts::Notification>, StoreError> {
    let now = shared.clock.now();
    let creds = jada_ops::auth::status(&shared.tokens, shared.store.as_ref()).await?;
    let specs: Vec<_> = shared.runner.registry.specs().collect();
    let mut firing = alerts::conditions(shared.store.as_ref(), &specs, &creds, shared.started_at, now).await?;
    if let Some(desk) = &shared.agent {
        firing.extend(alerts::agent::mcp_down(&desk.agent.toolbox().external_health()));
    }
    engine.reconcile(&firing, now).await
}

/// Pings systemd's watchdog at half its interval, when one is configured.
fn watchdog(tracker: &TaskTracker, stop: CancellationToken) {
    let mut usec = 0;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return;
    }
    let every = Duration::from_micros(usec / 2);
    tracker.spawn(async move {
        loop {
            let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    });
}

/// Re-reads `[office] users` whenever the configuration file changes (looked at every
/// 2 s), so a person removed from it is out at their next request without a restart, and
/// one added may sign in. A file that no longer loads leaves the list as it was, said in
/// the log. `reload` loads the whole configuration as the daemon did at start.
pub async fn watch_office_users(
    file: std::path::PathBuf,
    reload: impl Fn() -> Result<Vec<String>, String> + Send + 'static,
    users: crate::office::OfficeUsers,
    shutdown: CancellationToken,
) {
    let stamp = |f: &std::path::Path| std::fs::metadata(f).and_then(|m| m.modified()).ok();
    let mut seen = stamp(&file);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        let now = stamp(&file);
        if now == seen {
            continue;
        }
        seen = now;
        match reload() {
            Ok(list) if list != users.get() => {
                tracing::info!(file = %file.display(), users = list.len(), "office users changed in the configuration: in force from the next request");
                users.set(list);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "the configuration changed but does not load; office users stay as they were")
            }
        }
    }
}
