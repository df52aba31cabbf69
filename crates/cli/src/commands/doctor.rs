//! `jada doctor`: the whole diagnosis in one command. Asks the running daemon for its
//! status report (so the answer includes what only the daemon knows: uptime, its token
//! service); when no daemon answers, reads the store and says the daemon is down.

use std::time::Duration;

use jada_server::status::StatusReport;

use crate::cli::{DoctorArgs, Global};
use crate::commands::jobs;
use crate::commands::jobs::local_report;
use crate::output::print_json;
use crate::Failure;

pub async fn run(g: &Global, args: &DoctorArgs) -> Result<(), Failure> {
    let ctx = crate::commands::load_app(g)?;
    // --remote as given (a bare HOST:PORT is http), else the daemon this data directory
    // announced (wherever --listen put it), else the configured address.
    let url = match &args.remote {
        Some(r) if r.contains("://") => r.clone(),
        Some(r) => format!("http://{r}"),
        None => match ctx.data.running_daemon() {
            Some(d) => d.url(),
            None => jada_app::data_dir::local_url(ctx.config.server.listen),
        },
    };
    let token = std::env::var("JADA_ADMIN_TOKEN")
        .ok()
        .or_else(|| ctx.admin_token(false).ok().flatten());
    let report = match fetch(&url, token.as_deref()).await {
        Ok(r) => r,
        Err(Fetch::Refused(why)) => return Err(Failure::op(anyhow::anyhow!("{url}: {why}"))),
        Err(Fetch::Unreachable(why)) if args.remote.is_some() => {
            return Err(Failure::op(anyhow::anyhow!("cannot get the status of {url}: {why}")));
        }
        Err(Fetch::Unreachable(why)) => {
            tracing::info!(%why, "no daemon answered; reading the store");
            local_report(&ctx, &jobs(&ctx)?).await?
        }
    };
    let findings = report.findings();
    if args.json {
        print_json(&serde_json::json!({ "healthy": report.healthy(), "findings": findings, "report": report }))?;
    } else {
        for f in &findings {
            let mark = if f.ok { "ok  " } else { "FAIL" };
            println!("{mark} {}", f.what);
            if let Some(fix) = &f.fix {
                println!("     -> {fix}");
            }
        }
    }
    if report.healthy() {
        Ok(())
    } else {
        let n = findings.iter().filter(|f| !f.ok).count();
        let error = anyhow::anyhow!("{n} problem(s) found");
        if !args.json {
            eprintln!("error: {error}");
        }
        Err(Failure::Operation {
            error,
            reported: !args.json,
        })
    }
}

enum Fetch {
    /// No daemon answered: diagnose from the store.
    Unreachable(String),
    /// A daemon answered but would not tell: that is a problem in itself.
    Refused(String),
}

async fn fetch(url: &str, token: Option<&str>) -> Result<StatusReport, Fetch> {
    use Fetch::{Refused, Unreachable};
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| Unreachable(e.to_string()))?;
    let mut req = http.get(format!("{}/api/status", url.trim_end_matches('/')));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| Unreachable(e.without_url().to_string()))?;
    if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
        return Err(Refused(
            "the daemon refused the admin token: set JADA_ADMIN_TOKEN to the content of its secrets/admin-token".into(),
        ));
    }
    if !resp.status().is_success() {
        return Err(Refused(format!("the daemon answered {}", resp.status())));
    }
    resp.json()
        .await
        .map_err(|e| Refused(format!("unreadable status report: {}", e.without_url())))
}
