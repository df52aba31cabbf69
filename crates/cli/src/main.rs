//! The `jada` binary: parses arguments, loads configuration, wires the store and runs the
//! use case a command names. No business rule lives here.

/// `println!` for lines that may carry text from outside jada (a model, mail, a guest, a
/// provider's error): control characters and bidi overrides are shown escaped, never
/// sent to the terminal (see `jada_core::text::printable`).
macro_rules! say {
    ($($arg:tt)*) => {
        println!("{}", jada_core::text::printable(&format!($($arg)*)))
    };
}

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// How a command ended, as an exit code (the operator's contract).
#[derive(Debug)]
pub enum Failure {
    /// The operation failed (exit 1). Already reported when `reported` is true.
    Operation { error: anyhow::Error, reported: bool },
    /// Bad usage or configuration (exit 2).
    Usage(anyhow::Error),
}

impl Failure {
    pub fn op(error: impl Into<anyhow::Error>) -> Self {
        Failure::Operation {
            error: error.into(),
            reported: false,
        }
    }
}

impl From<jada_app::AppError> for Failure {
    /// The configuration at fault is the operator's usage (exit 2); anything else failed.
    fn from(e: jada_app::AppError) -> Self {
        if e.is_usage() {
            Failure::Usage(e.into())
        } else {
            Failure::op(e)
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::op(error)
    }
}

fn main() -> ExitCode {
    restore_sigpipe();
    // Playbooks may call other MCP servers' tools ([agent.mcp.NAME]) in this program.
    jada_app::agent::register_mcp(jada_mcp_client::start);
    let cli = Cli::parse();
    let log = match init_logging() {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let code = exit_code(run(cli));
    flush_log(log);
    code
}

/// Lets the log writer finish what is queued, but never waits long on a stuck stderr.
fn flush_log(guard: tracing_appender::non_blocking::WorkerGuard) {
    let (done, flushed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(guard);
        let _ = done.send(());
    });
    let _ = flushed.recv_timeout(std::time::Duration::from_secs(2));
}

fn exit_code(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Operation { reported: true, .. }) => ExitCode::from(1),
        Err(Failure::Operation { error, .. }) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// `jada charters list | head` should end quietly when `head` closes the pipe, as other
/// Unix tools do, instead of panicking on the failed write.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Log lines go to stderr; `JADA_LOG` (e.g. `info`, `jada_store=debug`) sets the level.
/// Colour only when stderr is a terminal and `NO_COLOR` is unset (a journal or a file
/// stores escape codes as they are); `JADA_LOG_FORMAT=json` writes one JSON object a
/// line for log shippers. An unknown format is refused before anything runs.
fn init_logging() -> Result<tracing_appender::non_blocking::WorkerGuard, String> {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("JADA_LOG").unwrap_or_else(|_| "warn".into());
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let (writer, guard) = jada_server::metrics::non_blocking_stderr();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match std::env::var("JADA_LOG_FORMAT").as_deref() {
        Err(_) | Ok("") | Ok("text") => builder.with_ansi(colour).init(),
        Ok("json") => builder.json().with_ansi(false).init(),
        Ok(other) => {
            return Err(format!(
                "JADA_LOG_FORMAT is `{other}`: use `text` (the default) or `json`"
            ))
        }
    }
    Ok(guard)
}

fn run(cli: Cli) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::op(anyhow::anyhow!("cannot start the async runtime: {e}")))?;
    let g = &cli.global;
    match cli.command {
        Command::Init(args) => commands::init::run(g, &args),
        Command::Config(cmd) => commands::config::run(g, &cmd),
        Command::Charters(cmd) => runtime.block_on(commands::charters::run(g, cmd)),
        Command::Crew(cmd) => runtime.block_on(commands::crew::run(g, cmd)),
        Command::Demo(args) => runtime.block_on(commands::demo::run(g, &args)),
        Command::Auth(cmd) => runtime.block_on(commands::auth::run(g, cmd)),
        Command::Serve(args) => runtime.block_on(commands::serve::run(g, &args)),
        Command::Jobs(cmd) => runtime.block_on(commands::jobs::run(g, cmd)),
        Command::Dlq(cmd) => runtime.block_on(commands::jobs::dlq(g, cmd)),
        Command::Alerts(cmd) => runtime.block_on(commands::jobs::alerts(g, cmd)),
        Command::Doctor(args) => runtime.block_on(commands::doctor::run(g, &args)),
        Command::Sync(cmd) => runtime.block_on(commands::sync::run(g, cmd)),
        Command::Roster(cmd) => runtime.block_on(commands::roster::run(g, cmd)),
        Command::Report(cmd) => runtime.block_on(commands::report::run(g, cmd)),
        Command::ApiKey(cmd) => runtime.block_on(commands::api_key::run(g, cmd)),
        Command::Dispatch(cmd) => runtime.block_on(commands::dispatch::run(g, cmd)),
        Command::Office(cmd) => runtime.block_on(commands::office::run(g, cmd)),
        Command::Statements(cmd) => runtime.block_on(commands::statements::run(g, cmd)),
        Command::Agent(cmd) => runtime.block_on(commands::agent::run(g, cmd)),
        Command::Tasks(cmd) => runtime.block_on(commands::tasks::run(g, cmd)),
        Command::Store(cmd) => runtime.block_on(commands::store::run(g, cmd)),
        Command::Backup(cmd) => runtime.block_on(commands::backup::run(g, cmd)),
        Command::Mcp(args) => runtime.block_on(commands::mcp::run(g, &args)),
    }
}
