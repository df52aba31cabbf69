//! `jada jobs`, `jada dlq` and `jada alerts`: the daemon's records, from the store.

use chrono::Utc;
use jada_ops::{Clock, SystemClock};
use jada_server::jobs::runner::RunError;
use jada_server::status::{self, StatusReport};
use jada_store::{AlertStatus, EventStatus, RunOutcome, Trigger};

use crate::cli::{AlertsCommand, DlqCommand, Global, JobsCommand};
use crate::commands::Context;
use crate::commands::{cli_runner, jobs, Jobs};
use crate::output::{print_json, table};
use crate::Failure;

pub async fn run(g: &Global, cmd: JobsCommand) -> Result<(), Failure> {
    let ctx = crate::commands::load_app(g)?;
    let p = jobs(&ctx)?;
    match cmd {
        JobsCommand::List { json } => list(&ctx, &p, json).await,
        JobsCommand::Run { name } => run_now(&ctx, p, &name).await,
        JobsCommand::History { name, limit, json } => history(&ctx, &p, &name, limit, json).await,
    }
}

/// The local status report (no daemon needed).
pub async fn local_report(ctx: &Context, p: &Jobs) -> Result<StatusReport, Failure> {
    let credentials = jada_ops::auth::status(ctx.tokens()?.as_ref(), ctx.store.as_ref())
        .await
        .map_err(Failure::op)?;
    let zone = ctx.config.business.time_zone.tz();
    let backups = ctx.backups()?;
    let mut report = status::collect(status::Inputs {
        store: ctx.store.as_ref(),
        registry: &p.registry,
        credentials,
        zone,
        daemon: None,
        now: SystemClock.now(),
        data_dir: ctx.data.root(),
        backups: backups.as_deref(),
    })
    .await
    .map_err(Failure::op)?;
    report.overlaps = status::overlaps(ctx.store.as_ref(), &ctx.config.fleet(), zone, report.generated_at)
        .await
        .map_err(Failure::op)?;
    Ok(report)
}

/// An instant in the business zone, as every screen shows it ("Jul 4, 18:49 PDT").
fn when(ctx: &Context, t: Option<chrono::DateTime<Utc>>) -> String {
    t.map(|t| ctx.show_time(t)).unwrap_or_else(|| "-".into())
}

async fn list(ctx: &Context, p: &Jobs, json: bool) -> Result<(), Failure> {
    // The running daemon knows jobs this configuration alone does not (the agent job of
    // `serve --demo`): its list is the one the office and doctor show.
    let env_token = std::env::var("JADA_ADMIN_TOKEN").ok().filter(|t| !t.trim().is_empty());
    let report = match crate::commands::doctor::own_daemon_report(ctx, env_token).await {
        Ok(Some(r)) => r,
        Ok(None) => local_report(ctx, p).await?,
        Err(Failure::Operation { error: e, .. } | Failure::Usage(e)) => {
            eprintln!("note: the daemon's own list is unavailable ({e:#}); showing this configuration's jobs");
            local_report(ctx, p).await?
        }
    };
    if json {
        return Ok(print_json(&report.jobs)?);
    }
    // The last success is in `--json` and doctor; FAILING or STALE says when it matters.
    let mut t = table(&["job", "schedule", "last run", "next run", "state"]);
    t.whole(&[0, 2, 3]);
    for j in &report.jobs {
        let last = match (&j.last_run, j.last_checked) {
            (Some(r), _) => format!("{} {}", when(ctx, Some(r.started_at)), r.outcome),
            (None, Some(c)) => format!("{} nothing to do", when(ctx, Some(c))),
            (None, None) => "never".into(),
        };
        let state = match (j.enabled, j.failing, j.stale, &j.last_run, j.last_checked) {
            (false, ..) => "disabled",
            (_, true, ..) => "FAILING",
            (_, _, true, ..) => "STALE",
            (_, _, _, None, None) => "not run yet",
            _ => "ok",
        };
        t.add_row(vec![
            j.name.clone(),
            j.schedule.clone(),
            last,
            when(ctx, j.next_run),
            state.into(),
        ]);
    }
    say!("{t}");
    for c in report.conditions.iter().filter(|c| c.key.starts_with("job-")) {
        say!("{}", c.summary);
    }
    Ok(())
}

async fn run_now(ctx: &Context, p: Jobs, name: &str) -> Result<(), Failure> {
    let runner = cli_runner(ctx, p.registry)?;
    match runner.run(name, Trigger::Manual).await {
        Ok(Some(run)) if run.outcome == RunOutcome::Succeeded => {
            say!("job `{name}` succeeded: {}", run.summary.unwrap_or_default());
            Ok(())
        }
        Ok(Some(run)) => Err(Failure::op(anyhow::anyhow!(
            "job `{name}` failed: {}",
            run.error.unwrap_or_default()
        ))),
        Ok(None) => {
            say!("job `{name}` had nothing to do");
            Ok(())
        }
        Err(e @ RunError::UnknownJob { .. }) => Err(Failure::Usage(e.into())),
        Err(e) => Err(Failure::op(e)),
    }
}

async fn history(ctx: &Context, p: &Jobs, name: &str, limit: usize, json: bool) -> Result<(), Failure> {
    if p.registry.get(name).is_none() {
        return Err(Failure::Usage(anyhow::anyhow!(
            "no job named `{name}` (jobs: {})",
            p.registry.names().join(", ")
        )));
    }
    let runs = ctx.store.recent_runs(Some(name), limit).await.map_err(Failure::op)?;
    if json {
        return Ok(print_json(&runs)?);
    }
    let mut t = table(&["started", "trigger", "took", "outcome", "summary or error"]);
    for r in &runs {
        let took = r
            .finished_at
            .map(|f| format!("{:.1}s", (f - r.started_at).num_milliseconds() as f64 / 1000.0))
            .unwrap_or_else(|| "-".into());
        let text = r.error.clone().or_else(|| r.summary.clone()).unwrap_or_default();
        t.add_row(vec![
            when(ctx, Some(r.started_at)),
            r.trigger.as_str().into(),
            took,
            r.outcome.to_string(),
            text,
        ]);
    }
    say!("{t}");
    say!("{} run(s) of `{name}` shown", runs.len());
    Ok(())
}

pub async fn dlq(g: &Global, cmd: DlqCommand) -> Result<(), Failure> {
    let ctx = crate::commands::load_app(g)?;
    let now = SystemClock.now();
    let parse = |id: &str| {
        uuid::Uuid::parse_str(id)
            .map_err(|_| Failure::Usage(anyhow::anyhow!("`{id}` is not an event id: `jada dlq list` shows them")))
    };
    match cmd {
        DlqCommand::List { json } => {
            let dead = ctx
                .store
                .list_events(EventStatus::Dead, 1000)
                .await
                .map_err(Failure::op)?;
            if json {
                return Ok(print_json(&dead)?);
            }
            let mut t = table(&["event id", "topic", "attempts", "parked at", "error"]);
            for e in &dead {
                t.add_row(vec![
                    e.event_id.to_string(),
                    e.event.topic().into(),
                    e.attempts.to_string(),
                    when(&ctx, e.finished_at),
                    e.last_error.clone().unwrap_or_default(),
                ]);
            }
            if !dead.is_empty() {
                say!("{t}");
            }
            say!("{} dead letter(s)", dead.len());
        }
        DlqCommand::Retry { id: Some(id), .. } => {
            ctx.store
                .retry_dead_event(parse(&id)?, now)
                .await
                .map_err(Failure::op)?;
            say!("event {id} is queued again");
        }
        DlqCommand::Retry { id: None, .. } => {
            let dead = ctx
                .store
                .list_events(EventStatus::Dead, 100_000)
                .await
                .map_err(Failure::op)?;
            for e in &dead {
                ctx.store.retry_dead_event(e.event_id, now).await.map_err(Failure::op)?;
            }
            say!("{} event(s) queued again", dead.len());
        }
        DlqCommand::Drop { id } => {
            ctx.store.drop_dead_event(parse(&id)?, now).await.map_err(Failure::op)?;
            say!("event {id} dropped (kept on record as dropped)");
        }
    }
    Ok(())
}

pub async fn alerts(g: &Global, cmd: AlertsCommand) -> Result<(), Failure> {
    let ctx = crate::commands::load_app(g)?;
    let AlertsCommand::List { json } = cmd;
    let all = ctx.store.list_alerts().await.map_err(Failure::op)?;
    if json {
        return Ok(print_json(&all)?);
    }
    let mut t = table(&["alert", "status", "since", "notifications", "summary"]);
    for a in &all {
        let status = if a.status == AlertStatus::Firing {
            "FIRING"
        } else {
            "resolved"
        };
        t.add_row(vec![
            a.key.clone(),
            status.into(),
            when(&ctx, Some(a.since)),
            a.notifications.to_string(),
            a.summary.clone(),
        ]);
    }
    if !all.is_empty() {
        say!("{t}");
    }
    say!(
        "{} firing, {} resolved",
        all.iter().filter(|a| a.status == AlertStatus::Firing).count(),
        all.iter().filter(|a| a.status == AlertStatus::Resolved).count()
    );
    Ok(())
}
