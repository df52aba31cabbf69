//! One module per command group. Each loads what it needs through [`Context`] and calls
//! the use case in `jada_ops`.

pub mod agent;
pub mod agent_daemon;
pub mod api_key;
pub mod auth;
pub mod backup;
pub mod charters;
pub mod config;
pub mod crew;
pub mod demo;
pub mod demo_agent;
pub mod dispatch;
pub mod doctor;
pub mod init;
pub mod jobs;
pub mod mcp;
pub mod office;
pub mod report;
pub mod roster;
pub mod serve;
pub mod statements;
pub mod store;
pub mod sync;
pub mod tasks;

use std::path::PathBuf;

use std::sync::Arc;

use jada_app::config::{Config, Source};
use jada_server::jobs::runner::JobRunner;
use jada_server::jobs::Registry;
use jada_server::outbox::OutboxWorker;
use jada_server::setup;

use crate::cli::Global;
use crate::Failure;

/// Every command works on the one [`App`]: configuration, data directory, store, and
/// the services made from them.
pub use jada_app::App as Context;

/// Loads the configuration and opens the app on an existing data directory: commands
/// that read the business say where they looked instead of making an empty store.
pub fn load_app(g: &Global) -> Result<Context, Failure> {
    let mut app = Context::open_existing(load_config(g)?)?;
    // Links the CLI mails must reach the daemon: when no public_url is configured, the
    // address the running daemon announced (e.g. one started with --listen) is used.
    if app.config.server.public_url == jada_app::config::DEFAULT_PUBLIC_URL {
        if let Some(d) = app.data.running_daemon() {
            app.config.server.public_url = d.url();
        }
    }
    Ok(app)
}

/// Loads the configuration and opens the app, making the data directory if needed: for
/// the commands that bring a business in (`demo`, imports, `auth login`).
pub fn create_app(g: &Global) -> Result<Context, Failure> {
    Ok(Context::open(load_config(g)?)?)
}

/// What the job-running commands need: the registry of jobs, with the outbox worker
/// its `outbox` job drains.
pub struct Jobs {
    pub registry: Registry,
    pub worker: Arc<OutboxWorker>,
}

pub fn jobs(app: &Context) -> Result<Jobs, Failure> {
    let worker = setup::outbox_worker(app)?;
    let registry = setup::registry(app, &worker)?;
    Ok(Jobs { registry, worker })
}

/// A runner for a job started from the command line (leased and recorded like the
/// scheduler's runs).
pub fn cli_runner(app: &Context, registry: Registry) -> Result<JobRunner, Failure> {
    Ok(setup::runner(
        app,
        registry,
        format!("cli:{}", std::process::id()),
        tokio_util::sync::CancellationToken::new(),
    )?)
}

pub fn config_source(g: &Global) -> Source {
    match &g.config {
        Some(p) => Source::Explicit(p.clone()),
        None => Source::Default(PathBuf::from("jada.toml")),
    }
}

pub fn load_config(g: &Global) -> Result<Config, Failure> {
    Config::load(&config_source(g), g.data_dir.as_deref()).map_err(|e| Failure::Usage(e.into()))
}

/// Reads a file to import, naming it when it cannot be read.
pub fn read_input(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::Usage(anyhow::anyhow!("cannot read {}: {e}", path.display())))
}

/// Who the chat says did something from the command line: the login name, marked (cli).
pub fn cli_operator() -> String {
    format!("{} (cli)", std::env::var("USER").unwrap_or_else(|_| "operator".into()))
}
