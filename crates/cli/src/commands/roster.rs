//! `jada roster sync [--dry-run] [--force]`.

use crate::cli::{Global, RosterCommand};
use crate::output::print_json;
use crate::Failure;

pub async fn run(g: &Global, cmd: RosterCommand) -> Result<(), Failure> {
    let RosterCommand::Sync { dry_run, force, json } = cmd;
    let ctx = crate::commands::load_app(g)?;
    let Some(sync) = ctx.roster()? else {
        return Err(Failure::Usage(anyhow::anyhow!(
            "the roster sync is not configured: add [jobs.roster-sync] with credential and file_id (or folder_path and name) to jada.toml"
        )));
    };
    let report = sync
        .run(ctx.today(), dry_run, force)
        .await
        .map_err(|e| Failure::op(anyhow::anyhow!(e)))?;
    if json {
        print_json(&report)?;
    } else {
        for c in &report.changes {
            let details = if c.details.is_empty() {
                String::new()
            } else {
                format!("; {}", c.details.join(", "))
            };
            println!(
                "{}{} ({}): +{} / -{} available days{details}",
                if dry_run { "would update " } else { "" },
                c.crew_id,
                c.name,
                c.added,
                c.removed
            );
        }
        for name in &report.unknown {
            println!("not on the roster: `{name}` (set unknown_crew = \"create\" with an email in the Roster tab to add them)");
        }
        for name in &report.created {
            println!("created: {name}");
        }
        for b in &report.bad_cells {
            println!("unreadable: {b}");
        }
        if dry_run && report.shrink() > sync.cfg.max_removal_share {
            println!(
                "note: this would shrink known availability by {:.0}%: a real run needs --force",
                report.shrink() * 100.0
            );
        }
        println!("{}{}", if dry_run { "dry run: " } else { "" }, report.summary());
    }
    if report.bad_cells.is_empty() {
        Ok(())
    } else {
        let error = anyhow::anyhow!(
            "{} cell(s) could not be read; the rest was {}",
            report.bad_cells.len(),
            if dry_run { "checked" } else { "applied" }
        );
        if !json {
            eprintln!("error: {error}");
        }
        Err(Failure::Operation { error, reported: !json })
    }
}
