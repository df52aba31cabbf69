//! `jada serve`: the daemon.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use jada_ops::demo::{generate, load, DemoOptions};
use jada_server::daemon::{Daemon, Shared, Timing};
use jada_server::metrics::Metrics;
use jada_server::setup;
use tokio_util::sync::CancellationToken;

use crate::cli::{Global, ServeArgs};
use crate::commands::Context;
use crate::Failure;
use jada_app::config::parse_duration;

pub async fn run(g: &Global, args: &ServeArgs) -> Result<(), Failure> {
    let config = crate::commands::load_config(g)?;
    // The port first: a taken one is said before anything is loaded or written.
    let addr = args.listen.unwrap_or(config.server.listen);
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        Failure::op(anyhow::anyhow!(
            "cannot listen on {addr}: {e}; set [server] listen in jada.toml or pass --listen"
        ))
    })?;
    let mut ctx = Context::open(config)?;
    // Then the data directory: one daemon per SQLite file.
    let lock = ctx.data.lock_daemon().map_err(Failure::op)?;
    // What an older jada or another tool left readable by others is made private.
    match ctx.data.tighten() {
        Ok(changed) if !changed.is_empty() => tracing::warn!(
            files = changed.len(),
            changed = %changed.join(", "),
            "made private what others could read or write in the data directory"
        ),
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "cannot make the data directory private; `chmod -R go= {}` does", ctx.data.root().display())
        }
    }
    let mut demo_model = None;
    if args.demo {
        load_demo_if_empty(&ctx).await?;
        demo_model = crate::commands::demo_agent::configure(&mut ctx).await?;
        // The demo is for clicking through everything: with no office users configured,
        // the mail sender may sign in (its link lands in the .eml outbox).
        if ctx.config.office.users.is_empty() {
            ctx.config.office.users = vec![ctx.config.mail.sender.clone()];
        }
    }
    // Links in mail must reach this daemon: a --listen address replaces the default
    // public URL (an operator's own public_url, e.g. behind a proxy, is kept).
    if let Some(addr) = args.listen.filter(|a| a.port() != 0) {
        if ctx.config.server.public_url == jada_app::config::DEFAULT_PUBLIC_URL {
            ctx.config.server.public_url = format!("http://{addr}");
        }
    }
    // (The configuration may be adjusted until here: the app makes its services on
    // first use, below.)
    let ctx = ctx;
    if args.demo {
        crate::commands::demo_agent::sessions(&ctx).await?;
    }
    let _demo_model = demo_model;
    let worker = setup::outbox_worker(&ctx)?;
    let registry = setup::registry(&ctx, &worker)?;
    let token = ctx
        .admin_token(true)
        .context("cannot create the admin token")?
        .unwrap_or_default();
    let abort = CancellationToken::new();
    // The same `host:pid` the daemon's start-up compares lease and session owners with.
    let runner = setup::runner(&ctx, registry, jada_app::agent::process_owner(), abort.clone())?;
    let shared = Arc::new(Shared {
        store: Arc::clone(&ctx.store),
        tokens: ctx.tokens()?,
        runner,
        clock: Arc::clone(&ctx.clock),
        zone: ctx.config.business.time_zone.tz(),
        started_at: ctx.clock.now(),
        admin_token: token,
        metrics: Arc::new(Metrics::default()),
        data_dir: ctx.data.root().to_path_buf(),
        crew: Some(Arc::new(setup::crew_pages(&ctx)?)),
        office: setup::office(&ctx)?.map(Arc::new),
        api: Some(Arc::new(setup::api(&ctx)?)),
        stuck_after: setup::stuck_after(&ctx)?,
        agent: setup::agent_desk(&ctx)?,
        tasks: tokio_util::task::TaskTracker::new(),
        fleet: ctx.config.fleet(),
        backups: ctx.backups()?,
        direct: Some(Arc::new(ctx.direct()?)),
        public_url: ctx.config.server.public_url.clone(),
    });
    // `[office] users` follows jada.toml while the daemon runs (not in the demo, whose
    // users are made up at start).
    if let (Some(office), false) = (&shared.office, args.demo) {
        let source = crate::commands::config_source(g);
        let data_dir = g.data_dir.clone();
        let reload = move || {
            jada_app::config::Config::load(&source, data_dir.as_deref())
                .map(|c| c.office.users)
                .map_err(|e| e.to_string())
        };
        let file = crate::commands::config_source(g).path().to_path_buf();
        tokio::spawn(jada_server::daemon::watch_office_users(
            file,
            reload,
            office.users.clone(),
            abort.clone(),
        ));
    }
    let alerts = setup::alert_engine(&ctx)?;
    let grace = parse_duration(&ctx.config.server.shutdown_grace).unwrap_or(20);
    let daemon = Daemon {
        shared,
        alerts,
        timing: Timing {
            grace: Duration::from_secs(grace),
            http: jada_server::listen::Limits {
                header_read: Duration::from_secs(parse_duration(&ctx.config.server.header_timeout).unwrap_or(10)),
                max_connections: ctx.config.server.max_connections,
            },
            ..Timing::default()
        },
        abort,
    };
    let stop = CancellationToken::new();
    tokio::spawn(on_signal(stop.clone()));
    let db = ctx.data_location();
    let data = ctx.data.clone();
    let office_hint = if ctx.config.office.users.is_empty() {
        "office pages: list your address in [office] users (jada.toml) to sign in at /office".to_string()
    } else {
        format!(
            "office pages: /office (sign in as {}; the link is mailed{})",
            ctx.config.office.users.join(" or "),
            if ctx.config.mail.mode == jada_app::config::MailMode::Outbox {
                format!(" to {}", ctx.data.outbox().display())
            } else {
                String::new()
            }
        )
    };
    let office_users = ctx.config.office.users.clone();
    daemon
        .run(listener, stop, |addr| {
            // The CLI's links and `jada doctor` find this daemon through daemon.json.
            if let Err(e) = lock.announce(&data, addr, &office_users) {
                tracing::warn!(error = %e, "cannot write daemon.json; the CLI will not find this daemon's address");
            }
            // Said, not required: a full or closed stdout must not stop the daemon.
            say(&format!(
                "jada is running at http://{addr} (data: {}); health: /healthz, metrics: /metrics",
                db
            ));
            say(&format!("{office_hint}; booking API: /api/openapi.json"));
            say("`jada doctor` checks everything; Ctrl-C or SIGTERM stops it cleanly");
        })
        .await
        .map_err(Failure::op)
}

/// Prints a line to stdout, ignoring a stdout that cannot be written (`println!` would
/// panic).
pub(crate) fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|_| out.flush());
}

/// Cancels on SIGTERM (systemd's stop) or Ctrl-C.
async fn on_signal(stop: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            stop.cancel();
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("stop requested");
    stop.cancel();
}

async fn load_demo_if_empty(ctx: &Context) -> Result<(), Failure> {
    // A store with a roster is someone's business (or an earlier demo): leave it be.
    if !ctx.store.list_crew().await.map_err(Failure::op)?.is_empty() {
        return Ok(());
    }
    let today = ctx.today();
    let business = generate(DemoOptions::around(42, today));
    let report = load(ctx.store.as_ref(), &business, ctx.clock.now(), &|_| {})
        .await
        .map_err(Failure::op)?;
    say(&format!(
        "loaded the demo business: {} crew, {} charters",
        business.crew.len(),
        report.charters.created
    ));
    Ok(())
}
