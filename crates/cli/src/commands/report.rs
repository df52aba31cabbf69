//! `jada report monthly`.

use jada_core::Month;
use jada_ops::report::{file_name, monthly};

use crate::cli::{Global, ReportCommand};
use crate::commands::Context;
use crate::output::print_json;
use crate::Failure;

pub async fn run(g: &Global, cmd: ReportCommand) -> Result<(), Failure> {
    let ReportCommand::Monthly { month, out, json } = cmd;
    let ctx = Context::load(g)?;
    let month = match month {
        Some(m) => Month::parse(&m).map_err(|e| Failure::Usage(anyhow::anyhow!("--month: {e}")))?,
        None => Month::of(ctx.today()).prev(),
    };
    let out = out.unwrap_or_else(|| ctx.data.reports().join(file_name(month)));
    let r = monthly(&ctx.store, month, &ctx.data.reports(), &out)
        .await
        .map_err(Failure::op)?;
    if json {
        return Ok(print_json(&r)?);
    }
    println!(
        "{}: {} charters, revenue {}, tips {} (columns in {} order) -> {}",
        month.long_name(),
        r.rows,
        r.revenue,
        r.tips,
        r.column_order,
        r.path.display()
    );
    Ok(())
}
