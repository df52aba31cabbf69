//! `jada charters import|list|show|check|cancel|reinstate`.

use jada_core::revenue::Totals;
use jada_core::text::printable;
use jada_core::{Charter, CharterId, Month};
use jada_ops::import::{import_charters, CharterContext, Format, ImportError};

use crate::cli::{ChartersCommand, FileFormat, Global, ImportArgs, ListChartersArgs, ShowArgs};
use crate::commands::{read_input, Context};
use crate::output::{print_json, print_report, table, ProgressReporter};
use crate::Failure;

pub async fn run(g: &Global, cmd: ChartersCommand) -> Result<(), Failure> {
    let ctx = match cmd {
        ChartersCommand::Import(_) => crate::commands::create_app(g)?,
        _ => crate::commands::load_app(g)?,
    };
    match cmd {
        ChartersCommand::Import(args) => import(&ctx, &args).await,
        ChartersCommand::List(args) => list(&ctx, &args).await,
        ChartersCommand::Show(args) => show(&ctx, &args).await,
        ChartersCommand::Check(args) => check(&ctx, &args).await,
        ChartersCommand::Cancel(args) => cancel(&ctx, &args).await,
        ChartersCommand::Reinstate(args) => reinstate(&ctx, &args).await,
    }
}

/// `jada charters cancel ID`: the office's Cancel, from the terminal.
async fn cancel(ctx: &Context, args: &ShowArgs) -> Result<(), Failure> {
    let id = CharterId::parse(&args.id).map_err(|e| Failure::Usage(anyhow::anyhow!("ID: {e}")))?;
    let d = ctx.dispatcher()?;
    let Some(c) = ctx.store.get_charter(id).await.map_err(Failure::op)? else {
        return Err(Failure::op(anyhow::anyhow!(
            "no charter {id}: `jada charters list --month YYYY-MM` shows the ids"
        )));
    };
    if c.status.is_final() {
        return Err(Failure::op(anyhow::anyhow!(
            "charter {id} is {}: there is nothing to cancel",
            c.status
        )));
    }
    let done = jada_ops::cancellation::cancel(&d, id, c.version, &crate::commands::cli_operator(), ctx.clock.now())
        .await
        .map_err(Failure::op)?;
    if args.json {
        return Ok(print_json(&done)?);
    }
    println!(
        "cancelled {id} ({}, {} {}, guest {}): open offers withdrawn, crew told",
        printable(&c.vessel_name),
        c.charter_date,
        c.start_time.format("%H:%M"),
        printable(&c.guest_name)
    );
    println!(
        "take it back within {} hours with: jada charters reinstate {id}",
        ctx.config.office.reinstate_hours
    );
    Ok(())
}

/// `jada charters reinstate ID`.
async fn reinstate(ctx: &Context, args: &ShowArgs) -> Result<(), Failure> {
    let id = CharterId::parse(&args.id).map_err(|e| Failure::Usage(anyhow::anyhow!("ID: {e}")))?;
    let d = ctx.dispatcher()?;
    let by = jada_core::ChatAuthor::Operator(crate::commands::cli_operator());
    let r = jada_ops::cancellation::reinstate(&d, id, by, ctx.config.office.reinstate_within(), ctx.clock.now())
        .await
        .map_err(Failure::op)?;
    if args.json {
        return Ok(print_json(&r)?);
    }
    println!("reinstated {id}: back to {}", r.charter.status);
    match (&r.dispatch, &r.dispatch_error) {
        (Some(step), _) => println!("dispatch: {}", step.detail),
        (None, e) => println!(
            "dispatch did not resume ({}): start it with `jada dispatch assign-captain {id} CAPTAIN`",
            e.as_deref().unwrap_or("")
        ),
    }
    Ok(())
}

/// `jada charters check`: one vessel booked twice at once, as the store holds it.
async fn check(ctx: &Context, args: &crate::cli::CheckChartersArgs) -> Result<(), Failure> {
    let today = ctx.today();
    let day = |v: &Option<String>, default: chrono::NaiveDate, flag: &str| match v {
        Some(s) => jada_core::calendar::parse_date(s).map_err(|e| Failure::Usage(anyhow::anyhow!("{flag}: {e}"))),
        None => Ok(default),
    };
    let from = day(&args.from, today - chrono::Duration::days(365), "--from")?;
    let to = day(&args.to, today + chrono::Duration::days(730), "--to")?;
    let charters = ctx.store.list_charters_between(from, to).await.map_err(Failure::op)?;
    let pairs = jada_ops::charters::overlaps_among(&charters, &jada_app::turnarounds(&ctx.config));
    let brief = |c: &Charter| {
        serde_json::json!({"charter_id": c.charter_id, "date": c.charter_date, "vessel": c.vessel_name,
            "start": c.start_time.format("%H:%M").to_string(), "end": c.end_time.format("%H:%M").to_string(),
            "guest_name": c.guest_name, "status": c.status})
    };
    if args.json {
        let rows: Vec<serde_json::Value> = pairs
            .iter()
            .map(|(a, b)| serde_json::json!({"charter": brief(a), "overlaps": brief(b)}))
            .collect();
        print_json(&rows)?;
    } else {
        for (a, b) in &pairs {
            println!(
                "{} {}: {} {}–{} ({}) overlaps {} {}–{} ({})",
                a.charter_date,
                a.vessel_name,
                a.charter_id,
                a.start_time.format("%H:%M"),
                a.end_time.format("%H:%M"),
                a.guest_name,
                b.charter_id,
                b.start_time.format("%H:%M"),
                b.end_time.format("%H:%M"),
                b.guest_name
            );
        }
        let found = match pairs.len() {
            0 => "no vessel is booked twice at once".to_string(),
            n => format!(
                "{} (cancel or move one of each: `jada charters show ID`)",
                crate::output::count(n, "overlap", "overlaps")
            ),
        };
        println!(
            "{} from {from} to {to}: {found}",
            crate::output::count(charters.len(), "charter", "charters")
        );
    }
    if pairs.is_empty() {
        return Ok(());
    }
    Err(Failure::Operation {
        error: anyhow::anyhow!("{} found", crate::output::count(pairs.len(), "overlap", "overlaps")),
        reported: args.json,
    })
}

/// The format a command names, else the one the file's extension says.
pub fn format_of(args: &ImportArgs) -> Result<Format, Failure> {
    match args.format {
        Some(FileFormat::Csv) => Ok(Format::Csv),
        Some(FileFormat::Json) => Ok(Format::Json),
        None => Format::from_path(&args.file).map_err(|e| Failure::Usage(e.into())),
    }
}

/// Turns an import's outcome into output and an exit code: rejected rows exit 1.
pub fn finish_import(
    args: &ImportArgs,
    what: &str,
    result: Result<jada_ops::import::ImportReport, ImportError>,
) -> Result<(), Failure> {
    let file = args.file.display().to_string();
    let report = match result {
        Ok(report) => report,
        Err(
            e @ (ImportError::NotThisFormat { .. } | ImportError::Header { .. } | ImportError::UnknownFormat { .. }),
        ) => return Err(Failure::Usage(e.into())),
        Err(e) => return Err(Failure::op(e)),
    };
    if args.json {
        print_json(&report)?;
    } else {
        print_report(&file, what, &report);
    }
    if report.rejected.is_empty() {
        Ok(())
    } else {
        let error = anyhow::anyhow!("{} row(s) of {file} were rejected", report.rejected_rows());
        if !args.json {
            eprintln!("error: {error}; fix them and import the file again (good rows are already in, re-importing them changes nothing)");
        }
        Err(Failure::Operation {
            error,
            reported: !args.json,
        })
    }
}

async fn import(ctx: &Context, args: &ImportArgs) -> Result<(), Failure> {
    let format = format_of(args)?;
    let bytes = read_input(&args.file)?;
    let fleet = ctx.config.fleet();
    let ictx = CharterContext {
        fleet: &fleet,
        now: ctx.clock.now(),
        strict: args.strict,
        expected_version: None,
    };
    let progress = ProgressReporter::new("importing charters");
    let file = args.file.display().to_string();
    let result = import_charters(ctx.store.as_ref(), &bytes, format, &file, &ictx, &|p| {
        progress.update(p)
    })
    .await;
    progress.finish();
    finish_import(args, "charter", result)
}

async fn list(ctx: &Context, args: &ListChartersArgs) -> Result<(), Failure> {
    let month = match &args.month {
        Some(m) => Month::parse(m).map_err(|e| Failure::Usage(anyhow::anyhow!("--month: {e}")))?,
        None => Month::of(ctx.today()),
    };
    let charters = ctx.store.list_charters_in_month(month).await.map_err(Failure::op)?;
    if args.json {
        return Ok(print_json(&charters)?);
    }
    if !charters.is_empty() {
        print_charters(&charters);
        println!();
    }
    println!("{}", month_footer(month, &charters));
    Ok(())
}

/// `July 2026: 52 charters (48 reportable), revenue $105,490.00, tips $11,502.04`: the
/// figures under the one revenue rule (`jada_core::revenue`), as every screen shows them.
pub fn month_footer(month: Month, charters: &[Charter]) -> String {
    let t = Totals::of(charters);
    format!(
        "{}: {} charters ({} reportable), revenue {}, tips {}",
        month.long_name(),
        t.charters,
        t.reportable,
        t.revenue,
        t.tips
    )
}

/// The charters table, shared with `jada demo`.
pub fn print_charters(charters: &[Charter]) {
    if charters.is_empty() {
        return;
    }
    // What fits 100 columns with the id whole (to copy into `charters show`); guests,
    // tips, captain and crew are in `charters show` and `--json`.
    let mut t = table(&["date", "time", "vessel", "guest", "status", "revenue", "charter id"]);
    t.whole(&[6]);
    for c in charters {
        t.add_row(vec![
            c.charter_date.format("%b %-d").to_string(),
            format!("{}-{}", c.start_time.format("%H:%M"), c.end_time.format("%H:%M")),
            printable(&c.vessel_name).into_owned(),
            printable(&c.guest_name).into_owned(),
            c.status.to_string(),
            c.reportable_revenue.to_string(),
            c.charter_id.to_string(),
        ]);
    }
    println!("{t}");
}

async fn show(ctx: &Context, args: &ShowArgs) -> Result<(), Failure> {
    let id = CharterId::parse(&args.id).map_err(|e| Failure::Usage(e.into()))?;
    let Some(c) = ctx.store.get_charter(id).await.map_err(Failure::op)? else {
        return Err(Failure::op(anyhow::anyhow!(
            "no charter {id}: `jada charters list --month YYYY-MM` shows the ids"
        )));
    };
    let chat = ctx.store.list_chat(id).await.map_err(Failure::op)?;
    if args.json {
        return Ok(print_json(&serde_json::json!({ "charter": c, "chat": chat }))?);
    }
    let mut t = table(&["field", "value"]);
    let rows = [
        ("charter id", c.charter_id.to_string()),
        ("date", c.charter_date.to_string()),
        (
            "time",
            format!("{} - {}", c.start_time.format("%H:%M"), c.end_time.format("%H:%M")),
        ),
        ("vessel", printable(&c.vessel_name).into_owned()),
        ("guest", printable(&c.guest_name).into_owned()),
        ("guests", c.guest_count.to_string()),
        ("revenue", c.reportable_revenue.to_string()),
        ("tips", c.tips.to_string()),
        ("status", c.status.to_string()),
        (
            "captain",
            c.captain_assigned
                .as_ref()
                .map(|x| x.to_string())
                .unwrap_or_else(|| "(none)".into()),
        ),
        (
            "crew",
            c.crew_assigned
                .iter()
                .map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "booked at",
            ctx.config
                .business
                .time_zone
                .show(c.created_at, chrono::Datelike::year(&ctx.clock.now())),
        ),
        ("version", c.version.to_string()),
    ];
    for (k, v) in rows {
        t.add_row(vec![k.to_string(), v]);
    }
    println!("{t}");
    if chat.is_empty() {
        println!("chat: no messages yet");
    } else {
        println!("chat:");
        for m in chat {
            println!(
                "  {} — {} ({}): {}",
                ctx.show_time(m.posted_at),
                printable(&m.author.to_string()),
                m.kind.as_str(),
                printable(&m.body)
            );
        }
    }
    Ok(())
}
