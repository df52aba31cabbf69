//! `jada report monthly`.

use jada_core::Month;
use jada_ops::report::{file_name, monthly, publish};

use crate::cli::{Global, ReportCommand};
use crate::output::print_json;
use crate::Failure;

pub async fn run(g: &Global, cmd: ReportCommand) -> Result<(), Failure> {
    let ReportCommand::Monthly {
        month,
        out,
        upload,
        share,
        json,
    } = cmd;
    let ctx = crate::commands::load_app(g)?;
    let month = match month {
        Some(m) => Month::parse(&m).map_err(|e| Failure::Usage(anyhow::anyhow!("--month: {e}")))?,
        None => Month::of(ctx.today()).prev(),
    };
    let out = out.unwrap_or_else(|| ctx.data.reports().join(file_name(month)));
    // The Drive folder, when configured, also holds last month's report (column order).
    let drive = ctx.report_publish()?;
    let r = monthly(ctx.store.as_ref(), month, &ctx.data.reports(), &out, drive.as_deref())
        .await
        .map_err(Failure::op)?;
    let published = if upload || !share.is_empty() {
        let mut p = drive.as_deref().cloned().ok_or_else(|| {
            Failure::Usage(anyhow::anyhow!(
                "--upload needs a Drive folder: set folder_id and credential in [jobs.monthly-report]"
            ))
        })?;
        p.share.extend(share);
        Some(publish(&r, &p).await.map_err(Failure::op)?)
    } else {
        None
    };
    if json {
        return Ok(print_json(&serde_json::json!({ "report": r, "drive": published }))?);
    }
    if let Some(p) = &published {
        let who = if p.shared_with.is_empty() {
            "nobody new".to_string()
        } else {
            p.shared_with.join(", ")
        };
        println!(
            "{} on Drive (file {}), shared with: {who}",
            if p.replaced { "replaced" } else { "uploaded" },
            p.file_id
        );
    }
    // The month's figures in the one wording every screen uses (`charters list` too).
    let charters = ctx.store.list_charters_in_month(month).await.map_err(Failure::op)?;
    println!(
        "{} (columns in {} order) -> {}",
        crate::commands::charters::month_footer(month, &charters),
        r.column_order,
        r.path.display()
    );
    Ok(())
}
