//! `jada crew import|list`.

use jada_core::calendar::parse_date;
use jada_ops::import::import_crew;

use crate::cli::{CrewCommand, Global, ImportArgs, ListCrewArgs};
use crate::commands::charters::{finish_import, format_of};
use crate::commands::{read_input, Context};
use crate::output::{print_json, table, ProgressReporter};
use crate::Failure;

pub async fn run(g: &Global, cmd: CrewCommand) -> Result<(), Failure> {
    let ctx = match cmd {
        CrewCommand::Import(_) => crate::commands::create_app(g)?,
        _ => crate::commands::load_app(g)?,
    };
    match cmd {
        CrewCommand::Import(args) => import(&ctx, &args).await,
        CrewCommand::List(args) => list(&ctx, &args).await,
    }
}

async fn import(ctx: &Context, args: &ImportArgs) -> Result<(), Failure> {
    let format = format_of(args)?;
    let bytes = read_input(&args.file)?;
    let progress = ProgressReporter::new("importing crew");
    let file = args.file.display().to_string();
    let result = import_crew(ctx.store.as_ref(), &bytes, format, &file, args.strict, &|p| {
        progress.update(p)
    })
    .await;
    progress.finish();
    finish_import(args, "crew", result)
}

async fn list(ctx: &Context, args: &ListCrewArgs) -> Result<(), Failure> {
    let crew = match &args.available_on {
        Some(d) => {
            let date = parse_date(d).map_err(|e| Failure::Usage(anyhow::anyhow!("--available-on: {e}")))?;
            ctx.store.list_crew_available_on(date).await
        }
        None => ctx.store.list_crew().await,
    }
    .map_err(Failure::op)?;
    if args.json {
        return Ok(print_json(&crew)?);
    }
    let today = ctx.today();
    let mut t = table(&[
        "crew id",
        "name",
        "email",
        "phone",
        "captain",
        "active",
        "next available",
    ]);
    for m in &crew {
        let next: Vec<String> = m
            .available_dates
            .range(today..)
            .take(3)
            .map(|d| d.format("%b %-d").to_string())
            .collect();
        t.add_row(vec![
            m.crew_id.to_string(),
            m.name.clone(),
            m.email.to_string(),
            m.phone.clone().unwrap_or_default(),
            if m.captain_certified { "yes" } else { "no" }.into(),
            if m.active { "yes" } else { "no" }.into(),
            if next.is_empty() { "-".into() } else { next.join(", ") },
        ]);
    }
    if !crew.is_empty() {
        println!("{t}");
    }
    match &args.available_on {
        Some(d) => println!("{} crew available on {d}", crew.len()),
        None => println!("{} crew on the roster", crew.len()),
    }
    Ok(())
}
