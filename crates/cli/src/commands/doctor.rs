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
    let env_token = std::env::var("JADA_ADMIN_TOKEN").ok().filter(|t| !t.trim().is_empty());
    let report = match (&args.remote, env_token) {
        // A remote daemon with the token in the environment: nothing local is needed.
        (Some(remote), Some(token)) => remote_report(&remote_url(remote), &token).await?,
        (Some(remote), None) => {
            let ctx = crate::commands::load_app(g)?;
            let token = admin_token(&ctx)?;
            remote_report(&remote_url(remote), &token).await?
        }
        // This data directory's own daemon (as its lock and daemon.json say), or the
        // store itself: never whatever answers on the configured port, which may be
        // another business's daemon.
        (None, env_token) => {
            let ctx = crate::commands::load_app(g)?;
            match own_daemon_report(&ctx, env_token).await? {
                Some(r) => r,
                None => local_report(&ctx, &jobs(&ctx)?).await?,
            }
        }
    };
    let mut report = report;
    if args.remote.is_none() {
        report.point_in_time_recovery = point_in_time_recovery(g).await?;
    }
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

/// On DynamoDB, whether point-in-time recovery is on for each table (asked here: the
/// daemon's report does not carry it).
#[cfg(feature = "aws")]
async fn point_in_time_recovery(g: &Global) -> Result<Vec<(String, Option<bool>)>, Failure> {
    let config = crate::commands::load_config(g)?;
    if config.store.backend != jada_app::config::Backend::Dynamodb {
        return Ok(Vec::new());
    }
    let store = crate::commands::store::tables::connect(&config).await;
    store.point_in_time_recovery().await.map_err(Failure::op)
}

#[cfg(not(feature = "aws"))]
async fn point_in_time_recovery(_: &Global) -> Result<Vec<(String, Option<bool>)>, Failure> {
    Ok(Vec::new())
}

/// The status report of this data directory's own daemon (as its lock and daemon.json
/// say): `None` when none runs or it does not answer (then the store is read instead); an
/// error when it answers but refuses, which is a problem in itself.
pub async fn own_daemon_report(
    ctx: &crate::commands::Context,
    env_token: Option<String>,
) -> Result<Option<StatusReport>, Failure> {
    let Some(d) = ctx.data.running_daemon() else {
        return Ok(None);
    };
    let token = match env_token {
        Some(t) => t,
        None => admin_token(ctx)?,
    };
    match fetch(&d.url(), Some(&token)).await {
        Ok(r) => Ok(Some(r)),
        Err(Fetch::Refused(why)) => Err(Failure::op(anyhow::anyhow!("{}: {why}", d.url()))),
        Err(Fetch::Unreachable(why)) => {
            tracing::info!(%why, "this data directory's daemon did not answer; reading the store");
            Ok(None)
        }
    }
}

/// `--remote` as given (a bare HOST:PORT is http).
fn remote_url(r: &str) -> String {
    if r.contains("://") {
        r.to_string()
    } else {
        format!("http://{r}")
    }
}

/// This data directory's admin token: read as a secret (a loose file is refused with the
/// `chmod`, never silently skipped).
fn admin_token(ctx: &crate::commands::Context) -> Result<String, Failure> {
    match ctx.admin_token(false) {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(Failure::Usage(anyhow::anyhow!(
            "no admin token in {}: start the daemon once (it makes one), or set JADA_ADMIN_TOKEN",
            ctx.data.secrets().join("admin-token").display()
        ))),
        Err(e) => Err(Failure::Usage(anyhow::anyhow!("{e}"))),
    }
}

/// The status of a daemon elsewhere: it must answer.
async fn remote_report(url: &str, token: &str) -> Result<StatusReport, Failure> {
    match fetch(url, Some(token)).await {
        Ok(r) => Ok(r),
        Err(Fetch::Refused(why)) => Err(Failure::op(anyhow::anyhow!("{url}: {why}"))),
        Err(Fetch::Unreachable(why)) => Err(Failure::op(anyhow::anyhow!("cannot get the status of {url}: {why}"))),
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
