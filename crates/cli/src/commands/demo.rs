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
    refuse_to_merge(&ctx, &business, opts.from, opts.to).await?;
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
        ctx.data_location(),
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

/// A demo loads into a store that is empty or holds this same demo: charters of another
/// business (or another season's demo) on the same boats would merge two businesses into
/// one, so nothing is written and the way out is said.
async fn refuse_to_merge(
    ctx: &crate::commands::Context,
    business: &jada_ops::demo::DemoBusiness,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<(), Failure> {
    let ours: std::collections::HashSet<_> = business.charters.iter().map(|c| c.charter_id).collect();
    let stored = ctx.store.list_charters_between(from, to).await.map_err(Failure::op)?;
    let others: Vec<_> = stored.into_iter().filter(|c| !ours.contains(&c.charter_id)).collect();
    let turnarounds = jada_app::turnarounds(&ctx.config);
    let clash = business
        .charters
        .iter()
        .find_map(|d| turnarounds.first_overlap(d, &others).map(|o| (d.clone(), o.clone())));
    let Some((_, other)) = clash else {
        return Ok(());
    };
    Err(Failure::Usage(anyhow::anyhow!(
        "{} already holds charters that are not this demo's (e.g. {} on {} {}–{}, {}): loading it would book the same boats twice and merge two businesses. Load this demo into a directory of its own: `jada --data-dir ./jada-demo demo` (with the same --seed and --season)",
        ctx.data.root().display(),
        other.vessel_name,
        other.charter_date,
        other.start_time.format("%H:%M"),
        other.end_time.format("%H:%M"),
        other.guest_name
    )))
}
