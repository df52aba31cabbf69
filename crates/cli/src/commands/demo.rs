//! `jada demo`: load the sample business and show it.

use chrono::Datelike;
use jada_ops::demo::{generate, load, DemoOptions};

use crate::cli::{DemoArgs, Global};
use crate::commands::charters::print_charters;
use crate::output::ProgressReporter;
use crate::Failure;

pub async fn run(g: &Global, args: &DemoArgs) -> Result<(), Failure> {
    let ctx = crate::commands::create_app(g)?;
    let today = ctx.today();
    let opts = match args.season {
        Some(year) => DemoOptions::season(args.seed, year, today),
        None => DemoOptions::around(args.seed, today),
    };
    let business = generate(opts);
    let span = match args.season {
        Some(year) => format!("season {year}"),
        None => format!("{} to {}", opts.from, opts.to),
    };
    let progress = ProgressReporter::new("loading demo charters");
    let report = load(ctx.store.as_ref(), &business, ctx.clock.now(), &|p| progress.update(p))
        .await
        .map_err(Failure::op)?;
    progress.finish();
    let c = &report.charters;
    println!(
        "Demo business (seed {}, {span}) in {}: {} vessels, {} crew ({} written), {} charters ({} created, {} updated, {} unchanged)",
        args.seed,
        ctx.data.db().display(),
        business.fleet.vessels().len(),
        business.crew.len(),
        report.crew_written,
        business.charters.len(),
        c.created,
        c.updated,
        c.unchanged,
    );
    if !c.rejected.is_empty() {
        for r in &c.rejected {
            eprintln!("  rejected {r}");
        }
        return Err(Failure::op(anyhow::anyhow!(
            "{} demo charters were refused by the store",
            c.rejected.len()
        )));
    }
    // Show the next sails if there are any ahead, else the season's first week of July,
    // in the order of the day (as every list shows charters: date, then start time).
    let mut ordered: Vec<_> = business.charters.iter().collect();
    ordered.sort_by_key(|c| (c.charter_date, c.start_time, c.charter_id));
    let upcoming: Vec<_> = ordered
        .iter()
        .filter(|c| c.charter_date >= today)
        .take(10)
        .map(|c| (*c).clone())
        .collect();
    let shown = if upcoming.is_empty() {
        let july: Vec<_> = ordered
            .iter()
            .filter(|c| c.charter_date.month() == 7 && c.charter_date.day() <= 7)
            .map(|c| (*c).clone())
            .collect();
        println!("\nThe first week of July {}:", opts.from.year());
        july
    } else {
        println!("\nThe next charters:");
        upcoming
    };
    print_charters(&shown);
    let example = shown.first().map(|c| c.charter_date).unwrap_or(today);
    println!(
        "\nTry: jada charters list --month {}    jada crew list --available-on {example}    jada charters show <charter id>",
        example.format("%Y-%m")
    );
    Ok(())
}
