//! `jada dispatch assign-captain|explain|tick|link|rotate-key`.

use jada_core::link::Purpose;
use jada_core::{CharterId, ChatAuthor, CrewId};
use jada_ops::dispatch::links::key_file;

use crate::cli::{DispatchCommand, Global};
use crate::output::{print_json, table};
use crate::Failure;
use jada_app::config::parse_duration;

fn usage(e: impl std::fmt::Display) -> Failure {
    Failure::Usage(anyhow::anyhow!("{e}"))
}

pub async fn run(g: &Global, cmd: DispatchCommand) -> Result<(), Failure> {
    let ctx = crate::commands::load_app(g)?;
    let now = chrono::Utc::now();
    match cmd {
        DispatchCommand::AssignCaptain { charter, crew, json } => {
            let charter = CharterId::parse(&charter).map_err(|e| usage(format!("CHARTER: {e}")))?;
            let crew = CrewId::parse(&crew).map_err(|e| usage(format!("CREW: {e}")))?;
            let d = ctx.dispatcher()?;
            let by = ChatAuthor::Operator(crate::commands::cli_operator());
            let step = d.assign_captain(charter, &crew, by, now).await.map_err(Failure::op)?;
            if json {
                return Ok(print_json(&step)?);
            }
            // The detail is a whole sentence ("crewed: 2 crew aboard").
            say!("captain {crew} assigned to {charter}; dispatch: {}", step.detail);
            if !step.offered.is_empty() {
                let who: Vec<String> = step.offered.iter().map(|c| c.to_string()).collect();
                say!("offers sent to: {}", who.join(", "));
            }
            Ok(())
        }
        DispatchCommand::Explain { charter, json } => {
            let charter = CharterId::parse(&charter).map_err(|e| usage(format!("CHARTER: {e}")))?;
            let d = ctx.dispatcher()?;
            let ex = d.explain(charter).await.map_err(Failure::op)?;
            if json {
                return Ok(print_json(&ex)?);
            }
            let c = &ex.charter;
            say!(
                "{} on {} {}-{}, {} guests; captain {}; crew {}/{} ({} open); dispatch: {}",
                c.vessel_name,
                c.charter_date,
                c.start_time.format("%H:%M"),
                c.end_time.format("%H:%M"),
                c.guest_count,
                c.captain_assigned.as_ref().map_or("none", |x| x.as_str()),
                c.crew_assigned.len(),
                ex.crew_seats,
                ex.open_seats,
                ex.dispatch.as_ref().map_or("not started".to_string(), |d| format!(
                    "{} ({})",
                    d.status.as_str(),
                    d.detail
                ))
            );
            let mut t = table(&["#", "Crew", "Name", "Sailed (30 days)", "Priority"]);
            for (i, x) in ex.ranking.candidates.iter().enumerate() {
                t.add_row(vec![
                    (i + 1).to_string(),
                    x.crew_id.to_string(),
                    x.name.clone(),
                    x.sailed_30d.to_string(),
                    x.priority.to_string(),
                ]);
            }
            say!("\nNext in line (fewest charters in the last 30 days first, then priority, then id):\n{t}");
            let mut t = table(&["Crew", "Name", "Left out because"]);
            for (id, name, why) in &ex.ranking.excluded {
                t.add_row(vec![id.to_string(), name.clone(), why.describe()]);
            }
            say!("\nLeft out:\n{t}");
            if !ex.offers.is_empty() {
                let mut t = table(&["Crew", "Status", "Offered", "Deadline"]);
                for o in &ex.offers {
                    t.add_row(vec![
                        o.crew_id.to_string(),
                        o.status.as_str().to_string(),
                        ctx.show_time(o.offered_at),
                        ctx.show_time(o.expires_at),
                    ]);
                }
                say!("\nOffers:\n{t}");
            }
            Ok(())
        }
        DispatchCommand::Tick => {
            let d = ctx.dispatcher()?;
            let r = d.tick(now).await.map_err(Failure::op)?;
            say!(
                "{} offer(s) expired, {} dispatch(es) advanced, {} offer(s) sent",
                r.expired,
                r.advanced,
                r.offered
            );
            if !r.failures.is_empty() {
                return Err(Failure::op(anyhow::anyhow!("{}", r.failures.join("\n"))));
            }
            Ok(())
        }
        DispatchCommand::Link { crew } => {
            let crew = CrewId::parse(&crew).map_err(|e| usage(format!("CREW: {e}")))?;
            if ctx.store.get_crew(&crew).await.map_err(Failure::op)?.is_none() {
                return Err(usage(format!("no crew member `{crew}`: see `jada crew list`")));
            }
            let d = ctx.dispatcher()?;
            let token = d.links.token(crew.as_str(), Purpose::Schedule, now);
            say!("{}", d.links.url(&token));
            eprintln!(
                "(works for {} days; anyone with the link sees {crew}'s schedule and open offers)",
                ctx.config.dispatch.schedule_link_days
            );
            Ok(())
        }
        DispatchCommand::RotateKey => {
            let grace = parse_duration(&ctx.config.dispatch.key_grace).unwrap_or(14 * 86_400) as i64;
            let id = ctx.rotate_links(chrono::Duration::seconds(grace))?;
            let place = match ctx.config.store.backend {
                jada_app::config::Backend::Sqlite => key_file(&ctx.data.secrets()).display().to_string(),
                jada_app::config::Backend::Dynamodb => {
                    "the store (restart every daemon: each reads the keys at start)".into()
                }
            };
            say!(
                "new link key {id} in {place}; links signed before keep working for {}",
                ctx.config.dispatch.key_grace
            );
            Ok(())
        }
    }
}
