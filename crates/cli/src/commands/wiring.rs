//! Building the daemon's parts from configuration: the job registry (built-in jobs
//! tuned by `[jobs.NAME]`, and command jobs), the alert sinks, the admin token.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jada_google::auth::TokenService;
use jada_google::client::GoogleClient;
use jada_ops::dispatch::{DispatchConfig, Dispatcher, Links, MailNotifier};
use jada_ops::mail::{EmlOutbox, GmailMailer, Mailer};
use jada_ops::port_sheet::{Columns, PortSheet, PortSheetConfig, PortSheetHandler};
use jada_ops::report::Publish;
use jada_ops::roster::{RosterConfig, RosterSync, Source, UnknownCrew};
use jada_ops::statements::{Search, StatementsConfig};
use jada_server::alerts::{AlertEngine, AlertSink, LogSink, MailSink, WebhookSink};
use jada_server::jobs::builtin::{
    Command, CrewStatementsJob, DispatchTick, MonthlyReportJob, OutboxDrain, PortSheetReconcile, RosterSyncJob,
    TokenHealth,
};
use jada_server::jobs::runner::JobRunner;
use jada_server::jobs::{Job, JobSpec, Registry, Schedule};
use jada_server::outbox::OutboxWorker;
use jada_store::Store;

use crate::commands::Context;
use crate::config::parse_duration;

/// The registry every command that runs or lists jobs uses.
pub fn registry(
    ctx: &Context,
    tokens: &Arc<TokenService>,
    worker: &Arc<OutboxWorker>,
    port_sheet: Option<&Arc<PortSheet>>,
    roster: Option<&Arc<RosterSync>>,
    dispatcher: &Arc<Dispatcher>,
) -> Result<Registry, String> {
    let mut reg = Registry::default();
    let mut health = JobSpec::new("token-health", Schedule::parse("0 0 */6 * * *")?);
    health.run_at_start = true;
    health.timeout = Duration::from_secs(120);
    health.stale_after = Some(Duration::from_secs(13 * 3600));
    // Every second: changes pending within that window reach their consumers (the sheet,
    // dispatch) together, within seconds;
    // recorded only when it handled something.
    let mut outbox = JobSpec::new("outbox", Schedule::parse("every 1s")?);
    outbox.quiet_when_idle = true;
    // Every 30 s, and at start: offer deadlines that passed (even while the daemon was
    // down) move each cascade on.
    let mut dispatch = JobSpec::new("dispatch", Schedule::parse("every 30s")?);
    dispatch.run_at_start = true;
    dispatch.quiet_when_idle = true;
    let mut builtin: Vec<(JobSpec, Arc<dyn Job>)> = vec![
        (health, Arc::new(TokenHealth(Arc::clone(tokens)))),
        (outbox, Arc::new(OutboxDrain(Arc::clone(worker)))),
        (
            dispatch,
            Arc::new(DispatchTick {
                dispatcher: Arc::clone(dispatcher),
                clock: Arc::new(jada_ops::SystemClock),
            }),
        ),
    ];
    if let Some(sheet) = port_sheet {
        let mut spec = JobSpec::new("port-sheet", Schedule::parse("0 */30 * * * *")?);
        spec.credentials = vec![sheet.cfg.credential.clone()];
        spec.stale_after = Some(Duration::from_secs(2 * 3600));
        spec.attempts = 2;
        spec.timeout = Duration::from_secs(600);
        let job = PortSheetReconcile {
            sheet: Arc::clone(sheet),
            clock: Arc::new(jada_ops::SystemClock),
            zone: ctx.config.business.time_zone,
        };
        builtin.push((spec, Arc::new(job)));
    }
    if let Some(sync) = roster {
        let mut spec = JobSpec::new("roster-sync", Schedule::parse("0 0 * * * *")?);
        spec.credentials = vec![sync.cfg.credential.clone()];
        spec.stale_after = Some(Duration::from_secs(3 * 3600));
        spec.attempts = 2;
        let job = RosterSyncJob {
            sync: Arc::clone(sync),
            clock: Arc::new(jada_ops::SystemClock),
            zone: ctx.config.business.time_zone,
        };
        builtin.push((spec, Arc::new(job)));
    }
    {
        let mut spec = JobSpec::new("monthly-report", Schedule::parse("0 0 6 1 * *")?);
        spec.stale_after = Some(Duration::from_secs(32 * 86_400));
        spec.attempts = 3;
        let publish = report_publish(ctx, tokens)?.map(Arc::new);
        spec.credentials = publish.iter().map(|p| p.client.credential().to_string()).collect();
        let job = MonthlyReportJob {
            store: Arc::new(ctx.store.clone()),
            reports_dir: ctx.data.reports(),
            publish,
            clock: Arc::new(jada_ops::SystemClock),
            zone: ctx.config.business.time_zone,
        };
        builtin.push((spec, Arc::new(job)));
    }
    {
        let mut spec = JobSpec::new("crew-statements", Schedule::parse("0 0 7 1 * *")?);
        spec.stale_after = Some(Duration::from_secs(32 * 86_400));
        spec.attempts = 3;
        spec.timeout = Duration::from_secs(1800);
        spec.credentials = ctx.config.mail.credential.iter().cloned().collect();
        let job = CrewStatementsJob {
            store: Arc::new(ctx.store.clone()),
            mailer: mailer(ctx, tokens),
            cfg: Arc::new(statements_config(ctx, tokens)),
            dir: ctx.data.statements(),
            clock: Arc::new(jada_ops::SystemClock),
            zone: ctx.config.business.time_zone,
        };
        builtin.push((spec, Arc::new(job)));
    }
    for (spec, job) in builtin {
        let table = ctx.config.jobs.get(spec.name.as_str());
        let spec = tune(spec, table)?;
        reg.register(spec, job);
    }
    for (name, table) in &ctx.config.jobs {
        if reg.get(name).is_some() {
            continue;
        }
        let argv = command_of(name, table)?;
        let schedule = table.get("schedule").and_then(|v| v.as_str()).ok_or_else(|| {
            format!("invalid configuration key `jobs.{name}.schedule`: a command job needs a schedule")
        })?;
        let spec = tune(
            JobSpec::new(
                name,
                Schedule::parse(schedule)
                    .map_err(|e| format!("invalid configuration key `jobs.{name}.schedule`: {e}"))?,
            ),
            Some(table),
        )?;
        let env = vec![("JADA_DATA_DIR".to_string(), ctx.data.root().display().to_string())];
        reg.register(spec, Arc::new(Command { argv, env }));
    }
    Ok(reg)
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
            "schedule" => spec.schedule = Schedule::parse(v.as_str().ok_or_else(|| bad(key, "expected a string"))?).map_err(|e| bad(key, &e))?,
            "enabled" => spec.enabled = v.as_bool().ok_or_else(|| bad(key, "expected true or false"))?,
            "run_at_start" => spec.run_at_start = v.as_bool().ok_or_else(|| bad(key, "expected true or false"))?,
            "timeout" => spec.timeout = dur(key, v)?,
            "stale_after" => spec.stale_after = Some(dur(key, v)?),
            "attempts" => spec.attempts = v.as_integer().filter(|n| (1..=20).contains(n)).ok_or_else(|| bad(key, "expected a number from 1 to 20"))? as u32,
            "credentials" => {
                spec.credentials = v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).ok_or_else(|| bad(key, "expected a list of credential names"))?
            }
            "command" => {}
            // The port sheet's own settings, read by `port_sheet_config`.
            "spreadsheet_id" | "tab" | "credential" | "columns" | "window_days" if name == "port-sheet" => {}
            // The roster sync's own settings, read by `roster_config`.
            "credential" | "file_id" | "folder_path" | "name" | "window_days" | "unknown_crew" | "max_removal_share"
                if name == "roster-sync" => {}
            // The monthly report's Drive settings, read by `report_publish`.
            "credential" | "folder_id" | "share" if name == "monthly-report" => {}
            _ => return Err(bad(key, "unknown key (known: schedule, enabled, run_at_start, timeout, attempts, stale_after, credentials, command)")),
        }
    }
    Ok(spec)
}

/// The alert engine: always the log, plus configured webhooks and mail.
pub fn alert_engine(ctx: &Context, store: Arc<dyn Store>, tokens: &Arc<TokenService>) -> AlertEngine {
    let mut sinks: Vec<Arc<dyn AlertSink>> = vec![Arc::new(LogSink)];
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    for w in &ctx.config.alerts.webhook {
        sinks.push(Arc::new(WebhookSink {
            url: w.url.clone(),
            http: http.clone(),
        }));
    }
    if !ctx.config.alerts.email.is_empty() {
        sinks.push(Arc::new(MailSink {
            mailer: mailer(ctx, tokens),
            from: ctx.config.mail.sender.clone(),
            to: ctx.config.alerts.email.clone(),
        }));
    }
    let remind = parse_duration(&ctx.config.alerts.remind_every).unwrap_or(6 * 3600);
    AlertEngine {
        store,
        sinks,
        remind_every: Duration::from_secs(remind),
    }
}

/// The bearer token for `/api/status`: `secrets/admin-token`, made on first use (0600).
pub fn admin_token(secrets: &Path, create: bool) -> std::io::Result<Option<String>> {
    let path = secrets.join("admin-token");
    match std::fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => return Ok(Some(t.trim().to_string())),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    if !create {
        return Ok(None);
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    jada_google::fsutil::write_private_atomic(&path, token.as_bytes())?;
    Ok(Some(token))
}

/// The pieces every daemon-side command needs.
pub struct Parts {
    pub store: Arc<dyn Store>,
    pub tokens: Arc<TokenService>,
    pub registry: Registry,
    pub worker: Arc<OutboxWorker>,
    pub port_sheet: Option<Arc<PortSheet>>,
    pub roster: Option<Arc<RosterSync>>,
    pub dispatcher: Arc<Dispatcher>,
    /// Woken by whatever records a failure (a run, a dead letter, a refused
    /// credential), so the daemon's alert loop evaluates within seconds.
    pub alerts_due: Arc<tokio::sync::Notify>,
}

pub fn parts(ctx: &Context) -> Result<Parts, crate::Failure> {
    let usage = |e: String| crate::Failure::Usage(anyhow::anyhow!(e));
    let store: Arc<dyn Store> = Arc::new(ctx.store.clone());
    let alerts_due = Arc::new(tokio::sync::Notify::new());
    let tokens = Arc::new(crate::commands::auth::token_service_alerting(
        ctx,
        Some(Arc::clone(&alerts_due)),
    )?);
    let port_sheet = port_sheet_config(ctx).map_err(usage)?.map(|cfg| {
        let client = GoogleClient::new(&ctx.config.google.endpoints(), Arc::clone(&tokens), &cfg.credential);
        Arc::new(PortSheet {
            cfg,
            client,
            store: Arc::clone(&store),
        })
    });
    let mut worker = OutboxWorker::new(Arc::clone(&store), Arc::new(jada_ops::SystemClock));
    worker.alerts_due = Some(Arc::clone(&alerts_due));
    if let Some(sheet) = &port_sheet {
        worker = worker.handle("charter.changed", Arc::new(PortSheetHandler(Arc::clone(sheet))));
    }
    let worker = Arc::new(worker);
    let roster = roster_config(ctx).map_err(usage)?.map(|cfg| {
        let client = GoogleClient::new(&ctx.config.google.endpoints(), Arc::clone(&tokens), &cfg.credential);
        Arc::new(RosterSync {
            cfg,
            client,
            store: Arc::clone(&store),
        })
    });
    let dispatcher = Arc::new(dispatcher(ctx, &store, &tokens).map_err(crate::Failure::op)?);
    let registry = registry(ctx, &tokens, &worker, port_sheet.as_ref(), roster.as_ref(), &dispatcher).map_err(usage)?;
    Ok(Parts {
        store,
        tokens,
        registry,
        worker,
        port_sheet,
        roster,
        dispatcher,
        alerts_due,
    })
}

/// `[jobs.port-sheet]`, if configured: `spreadsheet_id`, `credential`, and optionally
/// `tab` (default "Port Sheet"), `columns = { "Header" = "field" }`, `window_days`.
pub fn port_sheet_config(ctx: &Context) -> Result<Option<PortSheetConfig>, String> {
    let Some(t) = ctx.config.jobs.get("port-sheet") else {
        return Ok(None);
    };
    let key = |k: &str| format!("invalid configuration key `jobs.port-sheet.{k}`");
    let text = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let spreadsheet_id = text("spreadsheet_id").ok_or_else(|| {
        format!(
            "{}: the port sheet needs the spreadsheet's id (from its URL)",
            key("spreadsheet_id")
        )
    })?;
    let credential = job_credential(ctx, "port-sheet", t, "edit the sheet")?;
    let columns = match t.get("columns") {
        None => Columns::default(),
        Some(v) => {
            let table = v.as_table().ok_or_else(|| {
                format!(
                    "{}: expected a table like {{ \"Guest\" = \"guest_name\" }}",
                    key("columns")
                )
            })?;
            let pairs = table
                .iter()
                .map(|(h, f)| (h.clone(), f.as_str().unwrap_or("").to_string()))
                .collect();
            Columns::from_pairs(pairs).map_err(|e| format!("{}: {e}", key("columns")))?
        }
    };
    let window_days = match t.get("window_days") {
        None => 30,
        Some(v) => v
            .as_integer()
            .filter(|d| *d >= 0)
            .ok_or_else(|| format!("{}: expected a number of days", key("window_days")))?,
    };
    let tab = text("tab").unwrap_or_else(|| "Port Sheet".into());
    Ok(Some(PortSheetConfig {
        spreadsheet_id,
        tab,
        credential,
        columns,
        window_days,
    }))
}

/// `[jobs.roster-sync]`, if configured: `credential`, and `file_id` or `folder_path` +
/// `name`; optionally `window_days` (365), `unknown_crew` ("report" or "create"),
/// `max_removal_share` (0.5).
pub fn roster_config(ctx: &Context) -> Result<Option<RosterConfig>, String> {
    let Some(t) = ctx.config.jobs.get("roster-sync") else {
        return Ok(None);
    };
    let key = |k: &str| format!("invalid configuration key `jobs.roster-sync.{k}`");
    let text = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let credential = job_credential(ctx, "roster-sync", t, "read the sheet")?;
    let source = match (text("file_id"), text("folder_path"), text("name")) {
        (Some(id), None, None) => Source::FileId(id),
        (None, Some(folder_path), Some(name)) => Source::Path { folder_path, name },
        _ => return Err(format!("{}: give either `file_id`, or `folder_path` and `name` (e.g. \"JADA Business/Crew\" and \"Crew Availability\")", key("file_id"))),
    };
    let unknown_crew = match text("unknown_crew").as_deref() {
        None | Some("report") => UnknownCrew::Report,
        Some("create") => UnknownCrew::Create,
        Some(other) => {
            return Err(format!(
                "{}: `{other}`: use \"report\" or \"create\"",
                key("unknown_crew")
            ))
        }
    };
    let window_days = match t.get("window_days") {
        None => 365,
        Some(v) => v
            .as_integer()
            .filter(|d| *d > 0)
            .ok_or_else(|| format!("{}: expected a number of days", key("window_days")))?,
    };
    let max_removal_share = match t.get("max_removal_share") {
        None => 0.5,
        Some(v) => v
            .as_float()
            .filter(|f| (0.0..=1.0).contains(f))
            .ok_or_else(|| format!("{}: expected a share from 0.0 to 1.0", key("max_removal_share")))?,
    };
    Ok(Some(RosterConfig {
        source,
        credential,
        window_days,
        unknown_crew,
        max_removal_share,
    }))
}

/// A job's `credential` key: present, and naming a `[[credentials]]` entry.
fn job_credential(ctx: &Context, job: &str, t: &toml::Table, purpose: &str) -> Result<String, String> {
    let key = format!("invalid configuration key `jobs.{job}.credential`");
    let name = t
        .get("credential")
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("{key}: name the [[credentials]] entry that may {purpose}"))?;
    if !ctx.config.credentials.iter().any(|c| c.name == name) {
        return Err(format!("{key}: no [[credentials]] entry is named `{name}`"));
    }
    Ok(name.to_string())
}

/// A runner for a job started from the command line (leased and recorded like the
/// scheduler's runs).
pub fn cli_runner(p: Parts) -> JobRunner {
    JobRunner {
        store: p.store,
        tokens: p.tokens,
        clock: Arc::new(jada_ops::SystemClock),
        registry: p.registry,
        owner: format!("cli:{}", std::process::id()),
        shutdown: tokio_util::sync::CancellationToken::new(),
        alerts_due: p.alerts_due,
    }
}

/// `[jobs.monthly-report]`'s Drive settings, if any: `folder_id`, `credential`, `share = [...]`.
pub fn report_publish(ctx: &Context, tokens: &Arc<TokenService>) -> Result<Option<Publish>, String> {
    let Some(t) = ctx.config.jobs.get("monthly-report") else {
        return Ok(None);
    };
    let Some(folder_id) = t.get("folder_id").and_then(|v| v.as_str()) else {
        return Ok(None);
    };
    let credential = job_credential(ctx, "monthly-report", t, "upload to the folder")?;
    let share = match t.get("share") {
        None => vec![],
        Some(v) => v
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .ok_or("invalid configuration key `jobs.monthly-report.share`: expected a list of email addresses")?,
    };
    let client = GoogleClient::new(&ctx.config.google.endpoints(), Arc::clone(tokens), &credential);
    Ok(Some(Publish {
        client,
        folder_id: folder_id.to_string(),
        share,
    }))
}

/// Where mail goes: Gmail when `[mail] mode = "gmail"`, else `.eml` files in the outbox.
pub fn mailer(ctx: &Context, tokens: &Arc<TokenService>) -> Arc<dyn Mailer> {
    match (&ctx.config.mail.mode, &ctx.config.mail.credential) {
        (crate::config::MailMode::Gmail, Some(credential)) => Arc::new(GmailMailer {
            client: GoogleClient::new(&ctx.config.google.endpoints(), Arc::clone(tokens), credential),
        }),
        _ => Arc::new(EmlOutbox { dir: ctx.data.outbox() }),
    }
}

/// `[statements]` with `[business]` and `[mail]`; the Gmail search only when mail goes
/// through Gmail (the outbox has no sent folder to search).
pub fn statements_config(ctx: &Context, tokens: &Arc<TokenService>) -> StatementsConfig {
    let c = &ctx.config.statements;
    let search = match (&ctx.config.mail.mode, &ctx.config.mail.credential) {
        (crate::config::MailMode::Gmail, Some(credential)) if !c.search.trim().is_empty() => Some(Search {
            client: GoogleClient::new(&ctx.config.google.endpoints(), Arc::clone(tokens), credential),
            query: c.search.clone(),
        }),
        _ => None,
    };
    StatementsConfig {
        business: ctx.config.business.name.clone(),
        sender: ctx.config.mail.sender.clone(),
        audit_cc: (!c.audit_cc.trim().is_empty()).then(|| c.audit_cc.clone()),
        recipients: c.recipients.clone(),
        search,
        leftover: c.leftover_cents,
    }
}

/// The dispatcher: `[dispatch]` settings, the fleet, the link keys (made on first use in
/// secrets/link-keys.json, 0600) and offers by mail.
pub fn dispatcher(
    ctx: &Context,
    store: &Arc<dyn Store>,
    tokens: &Arc<TokenService>,
) -> Result<Dispatcher, jada_ops::dispatch::links::KeyFileError> {
    let d = &ctx.config.dispatch;
    let links = Links::load_or_create(
        &jada_ops::dispatch::links::key_file(&ctx.data.secrets()),
        &ctx.config.server.public_url,
        chrono::Utc::now(),
    )?;
    let priority = d
        .priority
        .iter()
        .filter_map(|(k, v)| Some((jada_core::CrewId::parse(k).ok()?, *v)))
        .collect();
    let window = parse_duration(&d.response_window).unwrap_or(7200) as i64;
    Ok(Dispatcher {
        store: Arc::clone(store),
        cfg: DispatchConfig {
            fleet: ctx.config.fleet(),
            zone: ctx.config.business.time_zone,
            window: chrono::Duration::seconds(window),
            fanout: d.fanout,
            priority,
        },
        links,
        notifier: Arc::new(MailNotifier {
            mailer: mailer(ctx, tokens),
            sender: ctx.config.mail.sender.clone(),
            business: ctx.config.business.name.clone(),
            zone: ctx.config.business.time_zone,
        }),
    })
}

/// The crew pages for the daemon's HTTP server.
pub fn crew_pages(ctx: &Context, dispatcher: &Arc<Dispatcher>) -> jada_server::crew::CrewPages {
    let d = &ctx.config.dispatch;
    let contact = if d.contact.trim().is_empty() {
        ctx.config.mail.sender.clone()
    } else {
        d.contact.clone()
    };
    jada_server::crew::CrewPages {
        dispatcher: Arc::clone(dispatcher),
        clock: Arc::new(jada_ops::SystemClock),
        zone: ctx.config.business.time_zone,
        business: ctx.config.business.name.clone(),
        contact,
        schedule_days: d.schedule_link_days,
        limiter: jada_server::crew::CrewPages::limiter(d.rate_limit_per_minute),
        secure_cookies: ctx.config.server.public_url.starts_with("https://"),
        behind_proxy: ctx.config.server.behind_proxy,
    }
}

/// The office pages (mounted when `[office] users` is not empty).
pub fn office(
    ctx: &Context,
    dispatcher: &Arc<Dispatcher>,
    tokens: &Arc<TokenService>,
) -> Option<jada_server::office::Office> {
    let users = &ctx.config.office.users;
    (!users.is_empty()).then(|| jada_server::office::Office {
        users: users.clone(),
        mailer: mailer(ctx, tokens),
        sender: ctx.config.mail.sender.clone(),
        dispatcher: Arc::clone(dispatcher),
        business: ctx.config.business.name.clone(),
        reports_dir: ctx.data.reports(),
        session_hours: ctx.config.office.session_hours,
        secure_cookies: ctx.config.server.public_url.starts_with("https://"),
    })
}

/// The booking API.
pub fn api(ctx: &Context, store: &Arc<dyn Store>, dispatcher: &Arc<Dispatcher>) -> jada_server::api::ApiState {
    jada_server::api::ApiState {
        store: Arc::clone(store),
        fleet: ctx.config.fleet(),
        clock: Arc::new(jada_ops::SystemClock),
        dispatcher: Some(Arc::clone(dispatcher)),
    }
}
