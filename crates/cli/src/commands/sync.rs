//! `jada sync port-sheet [--dry-run] [--full]`.

use jada_core::{CharterId, Event};
use jada_ops::port_sheet::{Plan, SyncReport};
use jada_store::{EventStatus, RunOutcome, Trigger};

use crate::cli::{Global, SyncCommand};
use crate::commands::Context;
use crate::commands::{cli_runner, jobs};
use crate::Failure;

pub async fn run(g: &Global, cmd: SyncCommand) -> Result<(), Failure> {
    let SyncCommand::PortSheet { dry_run, full } = cmd;
    let ctx = crate::commands::load_app(g)?;
    let Some(sheet) = ctx.port_sheet()? else {
        return Err(Failure::Usage(anyhow::anyhow!(
            "the port sheet is not configured: add [jobs.port-sheet] with spreadsheet_id and credential to jada.toml"
        )));
    };
    let fail = |e: jada_ops::port_sheet::SyncError| Failure::op(anyhow::anyhow!(e));
    match (full, dry_run) {
        (true, true) => print(&sheet.reconcile(ctx.today(), true).await.map_err(fail)?, true),
        (true, false) => {
            let runner = cli_runner(&ctx, jobs(&ctx)?.registry)?;
            match runner.run("port-sheet", Trigger::Manual).await.map_err(Failure::op)? {
                Some(r) if r.outcome == RunOutcome::Succeeded => {
                    println!("port sheet reconciled: {}", r.summary.unwrap_or_default())
                }
                Some(r) => {
                    return Err(Failure::op(anyhow::anyhow!(
                        "port sheet reconcile failed: {}",
                        r.error.unwrap_or_default()
                    )))
                }
                None => println!("port sheet: nothing to do"),
            }
        }
        (false, true) => {
            let ids = pending_changes(&ctx).await?;
            let view = sheet.view().await.map_err(fail)?;
            let charters = ctx.store.get_charters(&ids).await.map_err(Failure::op)?;
            print(&Plan::make(&sheet.cfg, &view, &charters).report(), true);
        }
        (false, false) => {
            let d = jobs(&ctx)?.worker.drain().await.map_err(Failure::op)?;
            println!(
                "port sheet: {} change(s) written, {} to retry, {} waiting for an operator",
                d.handled, d.retried, d.blocked
            );
            let waiting = ctx
                .store
                .list_events(EventStatus::Pending, 1)
                .await
                .map_err(Failure::op)?;
            if let Some(e) = waiting.first().filter(|_| d.blocked + d.retried > 0) {
                return Err(Failure::op(anyhow::anyhow!(
                    "{}",
                    e.last_error.clone().unwrap_or_default()
                )));
            }
        }
    }
    Ok(())
}

/// Charters with a `charter.changed` event still pending.
async fn pending_changes(ctx: &Context) -> Result<Vec<CharterId>, Failure> {
    let events = ctx
        .store
        .list_events(EventStatus::Pending, 100_000)
        .await
        .map_err(Failure::op)?;
    let mut ids: Vec<CharterId> = events
        .into_iter()
        .filter_map(|e| match e.event {
            Event::CharterChanged { charter_id, .. } => Some(charter_id),
            _ => None,
        })
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

fn print(r: &SyncReport, dry: bool) {
    for line in &r.changes {
        println!("{}{line}", if dry { "would " } else { "" });
    }
    let verb = if dry { "would be" } else { "were" };
    println!(
        "{} row(s) {verb} changed, {} added{}",
        r.rows_updated,
        r.rows_appended,
        if r.header_written {
            ", and the header row written"
        } else {
            ""
        }
    );
}
