//! Building the daemon's parts from the [`App`]: the job registry (built-in jobs tuned by
//! `[jobs.NAME]`, and command jobs), the outbox worker, the job runner, the alert engine,
//! and the states of the crew pages, the office pages and the booking API. The CLI and
//! `serve` call these; nothing else assembles a part by hand.

use std::sync::Arc;
use std::time::Duration;

use jada_app::config::parse_duration;
use jada_app::{App, AppError, ConfigError};
use jada_ops::port_sheet::PortSheetHandler;
use tokio_util::sync::CancellationToken;

use crate::alerts::{AlertEngine, AlertSink, LogSink, MailSink, WebhookSink};
use crate::jobs::builtin::{
    Command, CrewStatementsJob, DispatchTick, MonthlyReportJob, OutboxDrain, PortSheetReconcile, RosterSyncJob,
    TokenHealth,
};
use crate::jobs::runner::JobRunner;
use crate::jobs::{Job, JobSpec, Registry, Schedule};
use crate::outbox::OutboxWorker;

/// The outbox worker, with a handler for each consumer that is configured.
pub fn outbox_worker(app: &App) -> Result<Arc<OutboxWorker>, AppError> {
    let mut worker = OutboxWorker::new(Arc::clone(&app.store), Arc::clone(&app.clock));
    worker.alerts_due = Some(Arc::clone(&app.alerts_due));
    if let Some(sheet) = app.port_sheet()? {
        worker = worker.handle("charter.changed", Arc::new(PortSheetHandler(sheet)));
    }
    if !app.config.office.users.is_empty() {
        let mailer = jada_ops::office::SignInMailer {
            dispatcher: app.dispatcher()?,
            mailer: app.mailer()?,
            sender: app.sender(),
            clock: Arc::clone(&app.clock),
        };
        worker = worker.handle("office.sign_in", Arc::new(mailer));
    }
    Ok(Arc::new(worker))
}

/// A job runner on the app's store, tokens and clock. `owner` names this process in
/// leases (`host:pid` for the daemon, `cli:pid` for `jada jobs run`).
pub fn runner(
    app: &App,
    registry: Registry,
    owner: String,
    shutdown: CancellationToken,
) -> Result<JobRunner, AppError> {
    Ok(JobRunner {
        store: Arc::clone(&app.store),
        tokens: app.tokens()?,
        clock: Arc::clone(&app.clock),
        registry,
        owner,
        shutdown,
        alerts_due: Arc::clone(&app.alerts_due),
        checks: Default::default(),
        running: Default::default(),
        run_logs: aws_sinks(app).run_logs,
        lease: Duration::from_secs(jada_app::config::parse_duration(&app.config.server.job_lease).unwrap_or(60)),
    })
}

/// The registry every command that runs or lists jobs uses.
pub fn registry(app: &App, worker: &Arc<OutboxWorker>) -> Result<Registry, AppError> {
    let config_error = |e: String| AppError::Config(ConfigError::new(e));
    let (tokens, dispatcher) = (app.tokens()?, app.dispatcher()?);
    let mut reg = Registry::default();
    let parse = |s: &str| Schedule::parse(s).map_err(|e| config_error(e.to_string()));
    let mut health = JobSpec::new("token-health", parse("0 0 */6 * * *")?);
    health.run_at_start = true;
    health.timeout = Duration::from_secs(120);
    health.stale_after = Some(Duration::from_secs(13 * 3600));
    // At once after this process writes events; otherwise polled every second while
    // there is work, backing off to every 15 s while idle (events written by other
    // processes). Recorded only when it handled something.
    let mut outbox = JobSpec::new("outbox", parse("every 15s")?);
    outbox.quiet_when_idle = true;
    outbox.unleased = true;
    outbox.event_driven = true;
    // Every 30 s, and at start: offer deadlines that passed (even while the daemon was
    // down) move each cascade on.
    let mut dispatch = JobSpec::new("dispatch", parse("every 30s")?);
    dispatch.run_at_start = true;
    dispatch.quiet_when_idle = true;
    dispatch.unleased = true;
    let mut builtin: Vec<Entry> = vec![
        (health, Arc::new(TokenHealth(Arc::clone(&tokens)))),
        (outbox, Arc::new(OutboxDrain(Arc::clone(worker)))),
        (
            dispatch,
            Arc::new(DispatchTick {
                dispatcher: Arc::clone(&dispatcher),
                clock: Arc::clone(&app.clock),
            }),
        ),
    ];
    if let Some(sheet) = app.port_sheet()? {
        let mut spec = JobSpec::new("port-sheet", parse("0 */30 * * * *")?);
        spec.credentials = vec![sheet.cfg.credential.clone()];
        spec.stale_after = Some(Duration::from_secs(2 * 3600));
        spec.attempts = 2;
        spec.timeout = Duration::from_secs(600);
        let job = PortSheetReconcile {
            sheet,
            clock: Arc::clone(&app.clock),
            zone: app.config.business.time_zone,
        };
        builtin.push((spec, Arc::new(job)));
    }
    if let Some(sync) = app.roster()? {
        let mut spec = JobSpec::new("roster-sync", parse("0 0 * * * *")?);
        spec.credentials = vec![sync.cfg.credential.clone()];
        spec.stale_after = Some(Duration::from_secs(3 * 3600));
        spec.attempts = 2;
        let job = RosterSyncJob {
            sync,
            clock: Arc::clone(&app.clock),
            zone: app.config.business.time_zone,
        };
        builtin.push((spec, Arc::new(job)));
    }
    {
        let mut spec = JobSpec::new("monthly-report", parse("0 0 6 1 * *")?);
        spec.stale_after = Some(Duration::from_secs(32 * 86_400));
        spec.attempts = 3;
        let publish = app.report_publish()?;
        spec.credentials = publish.iter().map(|p| p.client.credential().to_string()).collect();
        let job = MonthlyReportJob {
            store: Arc::clone(&app.store),
            reports_dir: app.data.reports(),
            publish,
            clock: Arc::clone(&app.clock),
            zone: app.config.business.time_zone,
        };
        builtin.push((spec, Arc::new(job)));
    }
    {
        let mut spec = JobSpec::new("crew-statements", parse("0 0 7 1 * *")?);
        spec.stale_after = Some(Duration::from_secs(32 * 86_400));
        spec.attempts = 3;
        spec.timeout = Duration::from_secs(1800);
        spec.credentials = app.config.mail.credential.iter().cloned().collect();
        let job = CrewStatementsJob {
            store: Arc::clone(&app.store),
            mailer: app.mailer()?,
            cfg: app.statements_config()?,
            dir: app.data.statements(),
            clock: Arc::clone(&app.clock),
            zone: app.config.business.time_zone,
        };
        builtin.push((spec, Arc::new(job)));
    }
    builtin.extend(backup_jobs(app)?);
    builtin.extend(agent_jobs(app)?);
    for (spec, job) in builtin {
        let table = app.config.jobs.get(spec.name.as_str());
        let spec = tune(spec, table).map_err(config_error)?;
        reg.register(spec, job);
    }
    for (name, table) in &app.config.jobs {
        if reg.get(name).is_some() {
            continue;
        }
        let argv = command_of(name, table).map_err(config_error)?;
        let schedule = table.get("schedule").and_then(|v| v.as_str()).ok_or_else(|| {
            config_error(format!(
                "invalid configuration key `jobs.{name}.schedule`: a command job needs a schedule"
            ))
        })?;
        let spec = tune(
            JobSpec::new(
                name,
                Schedule::parse(schedule)
                    .map_err(|e| config_error(format!("invalid configuration key `jobs.{name}.schedule`: {e}")))?,
            ),
            Some(table),
        )
        .map_err(config_error)?;
        let env = vec![("JADA_DATA_DIR".to_string(), app.data.root().display().to_string())];
        reg.register(spec, Arc::new(Command { argv, env }));
    }
    Ok(reg)
}

/// With `[backup]`: `backup` on its schedule (stale, so alerted, when it has not
/// succeeded for twice its interval), and `backup-verify` with a `verify_schedule`.
fn backup_jobs(app: &App) -> Result<Vec<Entry>, AppError> {
    let (Some(settings), Some(backups)) = (&app.config.backup, app.backups()?) else {
        return Ok(Vec::new());
    };
    let parse = |key: &str, s: &str| {
        Schedule::parse(s)
            .map_err(|e| AppError::Config(ConfigError::new(format!("invalid configuration key `{key}`: {e}"))))
    };
    let schedule = parse("backup.schedule", &settings.schedule)?;
    let zone = app.config.business.time_zone.tz();
    let now = app.clock.now();
    let interval = schedule
        .next_after(now, zone)
        .and_then(|a| Some(schedule.next_after(a, zone)? - a))
        .and_then(|d| d.to_std().ok())
        .unwrap_or(Duration::from_secs(3600));
    let mut spec = JobSpec::new("backup", schedule);
    // One backup of a data directory at a time is the backup lock's work (a `flock`, gone
    // with a killed process, where a job lease would hold the next run off for its TTL);
    // one data directory has one daemon.
    spec.unleased = true;
    spec.stale_after = Some(2 * interval);
    spec.attempts = 2;
    spec.timeout = Duration::from_secs(3600);
    let clock = Arc::clone(&app.clock);
    let mut jobs: Vec<Entry> = vec![(
        spec,
        Arc::new(crate::jobs::builtin::BackupJob {
            backups: Arc::clone(&backups),
            clock: Arc::clone(&clock),
        }),
    )];
    if let Some(verify) = &settings.verify_schedule {
        let mut spec = JobSpec::new("backup-verify", parse("backup.verify_schedule", verify)?);
        spec.unleased = true;
        spec.timeout = Duration::from_secs(3600);
        jobs.push((spec, Arc::new(crate::jobs::builtin::BackupVerifyJob { backups, clock })));
    }
    Ok(jobs)
}

/// With a provider configured: `agent:NAME` for each enabled playbook with a schedule,
/// and the `agent` job (triggers, expired approvals) when any enabled playbook has a trigger.
/// A job with its settings, before `[jobs.NAME]` tunes it.
type Entry = (JobSpec, Arc<dyn Job>);

fn agent_jobs(app: &App) -> Result<Vec<Entry>, AppError> {
    if app.config.agent.provider.is_none() {
        return Ok(Vec::new());
    }
    let agent = app.agent()?;
    let playbooks: Vec<_> = jada_app::agent::playbooks(&app.config.agent, &app.data)?
        .into_values()
        .filter(|p| p.enabled)
        .collect();
    let mut jobs: Vec<Entry> = Vec::new();
    for pb in playbooks.iter().filter(|p| p.schedule.is_some()) {
        let schedule = pb.schedule.as_deref().unwrap_or_default();
        let schedule = Schedule::parse(schedule).map_err(|e| {
            AppError::Config(ConfigError::new(format!(
                "invalid configuration key `agent.playbooks.{}.schedule`: {e}",
                pb.name
            )))
        })?;
        let mut spec = JobSpec::new(&format!("agent:{}", pb.name), schedule);
        spec.timeout = Duration::from_secs(3600);
        let job = crate::jobs::agent::PlaybookJob {
            agent: agent.clone(),
            playbook: pb.clone(),
            clock: Arc::clone(&app.clock),
        };
        jobs.push((spec, Arc::new(job)));
    }
    {
        // Always, with a provider: it also carries on sessions whose approvals expired.
        let gmail = match (&app.config.mail.mode, &app.config.mail.credential) {
            (jada_app::config::MailMode::Gmail, Some(c)) => Some(app.google(c)?),
            _ => None,
        };
        let mut spec = JobSpec::new(
            "agent",
            Schedule::parse("every 1m").map_err(|e| AppError::Config(ConfigError::new(e.to_string())))?,
        );
        spec.quiet_when_idle = true;
        spec.timeout = Duration::from_secs(3600);
        let job = crate::jobs::agent::TriggersJob {
            agent,
            playbooks,
            store: Arc::clone(&app.store),
            gmail,
            clock: Arc::clone(&app.clock),
        };
        jobs.push((spec, Arc::new(job)));
    }
    Ok(jobs)
}

fn command_of(name: &str, table: &toml::Table) -> Result<Vec<String>, String> {
    let Some(cmd) = table.get("command") else {
        return Err(format!(
            "invalid configuration key `jobs.{name}`: there is no built-in job `{name}` (built in: token-health, outbox); a job of your own needs `command = [\"program\", \"arg\"]`"
        ));
    };
    let argv: Option<Vec<String>> = cmd
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect());
    argv.filter(|a| !a.is_empty()).ok_or_else(|| format!("invalid configuration key `jobs.{name}.command`: expected a list of strings, like [\"/usr/local/bin/backup.sh\"]"))
}

/// Applies `[jobs.NAME]` settings to a spec, naming any bad key.
fn tune(mut spec: JobSpec, table: Option<&toml::Table>) -> Result<JobSpec, String> {
    let Some(table) = table else { return Ok(spec) };
    let name = spec.name.clone();
    let bad = |key: &str, why: &str| format!("invalid configuration key `jobs.{name}.{key}`: {why}");
    let dur = |key: &str, v: &toml::Value| {
        v.as_str()
            .and_then(parse_duration)
            .map(Duration::from_secs)
            .ok_or_else(|| bad(key, "expected a duration like \"30s\", \"5m\" or \"13h\""))
    };
    for (key, v) in table {
        match key.as_str() {
            "schedule" => spec.schedule = Schedule::parse(v.as_str().ok_or_else(|| bad(key, "expected a string"))?).map_err(|e| bad(key, &e.to_string()))?,
            "enabled" => spec.enabled = v.as_bool().ok_or_else(|| bad(key, "expected true or false"))?,
            "run_at_start" => spec.run_at_start = v.as_bool().ok_or_else(|| bad(key, "expected true or false"))?,
            "timeout" => spec.timeout = dur(key, v)?,
            "stale_after" => spec.stale_after = Some(dur(key, v)?),
            "attempts" => spec.attempts = v.as_integer().filter(|n| (1..=20).contains(n)).ok_or_else(|| bad(key, "expected a number from 1 to 20"))? as u32,
            "credentials" => {
                spec.credentials = v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).ok_or_else(|| bad(key, "expected a list of credential names"))?
            }
            "command" => {}
            // A built-in job's own settings, read by `jada_app::jobs`.
            k if jada_app::jobs::is_own_key(&name, k) => {}
            _ => return Err(bad(key, "unknown key (known: schedule, enabled, run_at_start, timeout, attempts, stale_after, credentials, command)")),
        }
    }
    Ok(spec)
}

/// The sinks `[alerts.sns]` and `[alerts.cloudwatch]` ask for. A build without the `aws`
/// feature has none: its `Config::validate` refuses those sections at start.
fn aws_sinks(app: &App) -> crate::alerts::AwsSinks {
    #[cfg(feature = "aws")]
    return crate::alerts::aws::configured(&app.config);
    #[cfg(not(feature = "aws"))]
    {
        debug_assert!(app.config.aws_parts().is_empty());
        crate::alerts::AwsSinks::default()
    }
}

/// The alert engine: always the log, plus configured webhooks, mail, SNS and CloudWatch.
pub fn alert_engine(app: &App) -> Result<AlertEngine, AppError> {
    let mut sinks: Vec<Arc<dyn AlertSink>> = vec![Arc::new(LogSink)];
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    for w in &app.config.alerts.webhook {
        sinks.push(Arc::new(WebhookSink {
            url: w.url.clone(),
            http: http.clone(),
        }));
    }
    if !app.config.alerts.email.is_empty() {
        sinks.push(Arc::new(MailSink {
            mailer: app.mailer()?,
            from: app.sender(),
            to: app.config.alerts.email.clone(),
        }));
    }
    sinks.extend(aws_sinks(app).alerts);
    let remind = parse_duration(&app.config.alerts.remind_every).unwrap_or(6 * 3600);
    Ok(AlertEngine {
        store: Arc::clone(&app.store),
        sinks,
        remind_every: Duration::from_secs(remind),
    })
}

/// The crew pages for the daemon's HTTP server.
pub fn crew_pages(app: &App) -> Result<crate::crew::CrewPages, AppError> {
    let d = &app.config.dispatch;
    let contact = if d.contact.trim().is_empty() {
        app.config.mail.sender.clone()
    } else {
        d.contact.clone()
    };
    Ok(crate::crew::CrewPages {
        dispatcher: app.dispatcher()?,
        clock: Arc::clone(&app.clock),
        zone: app.config.business.time_zone,
        business: app.config.business.name.clone(),
        contact,
        schedule_days: d.schedule_link_days,
        limiter: crate::crew::CrewPages::limiter(d.rate_limit_per_minute),
        secure_cookies: app.config.server.public_url.starts_with("https://"),
        behind_proxy: app.config.server.behind_proxy,
    })
}

/// The office pages (mounted when `[office] users` is not empty).
pub fn office(app: &App) -> Result<Option<crate::office::Office>, AppError> {
    let users = &app.config.office.users;
    if users.is_empty() {
        return Ok(None);
    }
    Ok(Some(crate::office::Office {
        users: crate::office::OfficeUsers::new(users.clone()),
        mailer: app.mailer()?,
        sender: app.sender(),
        dispatcher: app.dispatcher()?,
        business: app.config.business.name.clone(),
        reports_dir: app.data.reports(),
        session_hours: app.config.office.session_hours,
        reinstate_within: app.config.office.reinstate_within(),
        secure_cookies: app.config.server.public_url.starts_with("https://"),
        behind_proxy: app.config.server.behind_proxy,
        sign_in_limits: crate::office::auth::SignInLimits::default(),
        agent: agent_desk(app)?,
    }))
}

/// The daemon's agent and its playbooks, when a provider is configured.
pub fn agent_desk(app: &App) -> Result<Option<crate::jobs::agent::AgentDesk>, AppError> {
    if app.config.agent.provider.is_none() {
        return Ok(None);
    }
    Ok(Some(crate::jobs::agent::AgentDesk {
        agent: app.agent()?,
        playbooks: jada_app::agent::playbooks(&app.config.agent, &app.data)?
            .into_values()
            .collect(),
    }))
}

/// The booking API.
pub fn api(app: &App) -> Result<crate::api::ApiState, AppError> {
    Ok(crate::api::ApiState {
        store: Arc::clone(&app.store),
        fleet: app.config.fleet(),
        clock: Arc::clone(&app.clock),
        dispatcher: Some(app.dispatcher()?),
        reinstate_within: app.config.office.reinstate_within(),
    })
}

/// Each playbook's `stuck_after`, for the daemon's sweep of stuck sessions (every
/// playbook, configured or not: a session of one removed since is swept by the default).
pub fn stuck_after(app: &App) -> Result<crate::daemon::StuckAfter, AppError> {
    let default = jada_app::config::parse_duration(&app.config.agent.stuck_after)
        .map(std::time::Duration::from_secs)
        .unwrap_or(jada_ops::agent::playbook::DEFAULT_STUCK_AFTER);
    let by_playbook = jada_app::agent::playbooks(&app.config.agent, &app.data)?
        .into_iter()
        .map(|(name, pb)| (name, pb.stuck_after))
        .collect();
    Ok(crate::daemon::StuckAfter { default, by_playbook })
}
