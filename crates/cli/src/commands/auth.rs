//! `jada auth status|check|refresh|login|token|harden`: the operator's view of the
//! unified token service.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use jada_core::CredentialState;
use jada_google::auth::login::{login, LoginRequest};
use jada_google::auth::{AuthError, CredentialFile, TokenService};
use jada_google::secret_files;
use jada_ops::auth::status;
use jada_ops::{Clock, SystemClock};
use secrecy::SecretString;
use serde_json::Value;

use crate::cli::{AuthCommand, Global};
use crate::commands::Context;
use crate::output::{print_json, table};
use crate::Failure;

pub async fn run(g: &Global, cmd: AuthCommand) -> Result<(), Failure> {
    // Credentials are set up before there is a business (and legacy scripts ask for
    // tokens): the auth commands may make the data directory.
    let ctx = crate::commands::create_app(g)?;
    match cmd {
        AuthCommand::Status { json } => show_status(&ctx, json).await,
        AuthCommand::Check { name, json } => check(&ctx, name.as_deref(), json).await,
        AuthCommand::Refresh { name } => refresh(&ctx, &name).await,
        AuthCommand::Token { name, scopes } => token(&ctx, &name, &scopes).await,
        AuthCommand::Login {
            name,
            client_file,
            no_browser,
            timeout,
        } => {
            sign_in(
                &ctx,
                &name,
                client_file.as_deref(),
                no_browser,
                Duration::from_secs(timeout),
            )
            .await
        }
        AuthCommand::Harden => harden(&ctx),
    }
}

/// The token service as configured, recording health in the store.
pub fn token_service(ctx: &Context) -> Result<Arc<TokenService>, Failure> {
    Ok(ctx.tokens()?)
}

/// Unknown names and unconfigured scopes are the operator's usage; the rest are failures.
fn auth_failure(e: AuthError) -> Failure {
    match e {
        AuthError::UnknownCredential { .. } | AuthError::ScopeNotConfigured { .. } => Failure::Usage(e.into()),
        other => Failure::op(other),
    }
}

fn ago(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match t {
        None => "never".into(),
        Some(t) => format!("{} ago", human(now - t)),
    }
}

fn expires_in(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match t {
        None => "-".into(),
        Some(t) if t <= now => format!("expired {} ago", human(now - t)),
        Some(t) => format!("in {}", human(t - now)),
    }
}

fn human(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d", s / 86_400),
    }
}

/// `https://www.googleapis.com/auth/spreadsheets` -> `spreadsheets`.
fn short_scope(s: &str) -> &str {
    s.strip_prefix("https://www.googleapis.com/auth/").unwrap_or(s)
}

async fn show_status(ctx: &Context, json: bool) -> Result<(), Failure> {
    let tokens = token_service(ctx)?;
    let states = status(&tokens, ctx.store.as_ref()).await.map_err(Failure::op)?;
    if json {
        return Ok(print_json(&states)?);
    }
    if states.is_empty() {
        println!("no credentials configured: add a [[credentials]] entry to jada.toml (see `jada init`)");
        return Ok(());
    }
    print_states(&states, SystemClock.now());
    Ok(())
}

fn print_states(states: &[CredentialState], now: DateTime<Utc>) {
    let mut t = table(&[
        "credential",
        "kind",
        "account",
        "scopes",
        "token expires",
        "last refresh",
        "state",
        "last error",
    ]);
    for s in states {
        t.add_row(vec![
            s.name.clone(),
            s.kind.as_str().to_string(),
            s.account.clone(),
            s.scopes.iter().map(|x| short_scope(x)).collect::<Vec<_>>().join(" "),
            expires_in(s.expires_at, now),
            ago(s.last_refresh, now),
            s.health(now).to_string(),
            s.last_error.clone().unwrap_or_default(),
        ]);
    }
    println!("{t}");
    for s in states.iter().filter(|s| s.last_error.is_some() && !s.needs_reauth) {
        println!("{}: {}", s.name, s.last_error.as_deref().unwrap_or_default());
    }
    for s in states.iter().filter(|s| s.needs_reauth) {
        println!(
            "fix: credential `{}` needs re-auth: run `jada auth login {}`",
            s.name, s.name
        );
    }
}

async fn check(ctx: &Context, only: Option<&str>, json: bool) -> Result<(), Failure> {
    let tokens = token_service(ctx)?;
    let names: Vec<String> = match only {
        Some(n) => vec![n.to_string()],
        None => tokens.names().into_iter().map(str::to_string).collect(),
    };
    if names.is_empty() {
        println!("no credentials configured: nothing to check");
        return Ok(());
    }
    let mut probes = Vec::new();
    for name in &names {
        probes.push(tokens.probe(name).await.map_err(auth_failure)?);
    }
    if json {
        print_json(&probes)?;
    } else {
        let mut t = table(&["credential", "healthy", "granted scopes", "token expires in", "problem"]);
        for p in &probes {
            t.add_row(vec![
                p.credential.clone(),
                if p.ok { "yes" } else { "NO" }.to_string(),
                p.granted.iter().map(|s| short_scope(s)).collect::<Vec<_>>().join(" "),
                p.expires_in
                    .map(|s| human(chrono::Duration::seconds(s)))
                    .unwrap_or_else(|| "-".into()),
                p.problem.clone().unwrap_or_default(),
            ]);
        }
        println!("{t}");
        // The table may shorten a problem; each is said whole, with its fix, below it.
        for p in &probes {
            if let Some(problem) = &p.problem {
                println!("{}: {problem}", p.credential);
            }
        }
    }
    let unhealthy: Vec<&str> = probes.iter().filter(|p| !p.ok).map(|p| p.credential.as_str()).collect();
    if unhealthy.is_empty() {
        Ok(())
    } else {
        let error = anyhow::anyhow!("unhealthy credential(s): {}", unhealthy.join(", "));
        if !json {
            eprintln!("error: {error}");
        }
        Err(Failure::Operation { error, reported: !json })
    }
}

async fn refresh(ctx: &Context, name: &str) -> Result<(), Failure> {
    let tokens = token_service(ctx)?;
    let token = tokens.refresh(name).await.map_err(auth_failure)?;
    let now = SystemClock.now();
    println!(
        "refreshed `{name}`: the new token expires {} ({})",
        expires_in(Some(token.expires_at()), now),
        ctx.show_time(token.expires_at())
    );
    Ok(())
}

async fn token(ctx: &Context, name: &str, scopes: &[String]) -> Result<(), Failure> {
    let tokens = token_service(ctx)?;
    let wanted: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let token = tokens.get(name, &wanted).await.map_err(auth_failure)?;
    println!("{}", token.secret());
    Ok(())
}

async fn sign_in(
    ctx: &Context,
    name: &str,
    client_file: Option<&std::path::Path>,
    no_browser: bool,
    timeout: Duration,
) -> Result<(), Failure> {
    let Some(cred) = ctx.config.credentials.iter().find(|c| c.name == name) else {
        return Err(auth_failure(AuthError::UnknownCredential {
            name: name.into(),
            known: ctx
                .config
                .credentials
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }));
    };
    let out = ctx.config.credential_path(cred);
    let (client_id, client_secret) = match client_file {
        Some(f) => read_client_file(f)?,
        None => match CredentialFile::load(name, &out) {
            Ok(CredentialFile::AuthorizedUser { client_id, client_secret, .. }) => (client_id, client_secret),
            _ => {
                return Err(Failure::Usage(anyhow::anyhow!(
                    "credential `{name}` has no OAuth client yet: pass --client-file client_secret.json (an \"installed app\" client from the Cloud console)"
                )))
            }
        }};
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let req = LoginRequest {
        credential: name.into(),
        auth_uri: ctx.config.google.auth_uri.clone(),
        token_uri: cred
            .token_uri
            .clone()
            .unwrap_or_else(|| ctx.config.google.token_uri.clone()),
        client_id,
        client_secret,
        scopes: cred.scopes.clone(),
        timeout,
    };
    login(&req, &out, |url| {
        println!("Open this URL in a browser on this machine and approve access for `{name}`:\n\n  {url}\n");
        println!(
            "Waiting for Google to redirect to 127.0.0.1 (up to {} s)...",
            timeout.as_secs()
        );
        if !no_browser {
            let _ = std::process::Command::new("xdg-open")
                .arg(url)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
        }
    })
    .await
    .map_err(Failure::op)?;
    println!("wrote {} (mode 0600)", out.display());
    let token = token_service(ctx)?.refresh(name).await.map_err(auth_failure)?;
    println!(
        "credential `{name}` works: token expires {}",
        expires_in(Some(token.expires_at()), SystemClock.now())
    );
    Ok(())
}

/// Google's `client_secret.json` for an installed app: `{"installed": {"client_id", "client_secret", ...}}`.
fn read_client_file(path: &std::path::Path) -> Result<(String, SecretString), Failure> {
    let bad = |why: &str| Failure::Usage(anyhow::anyhow!("{}: {why}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| bad(&format!("cannot be read: {e}")))?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|_| bad("is not JSON; download the client's JSON from the Cloud console"))?;
    let app = v
        .get("installed")
        .or_else(|| v.get("web"))
        .ok_or_else(|| bad("has no `installed` client"))?;
    let field = |k: &str| {
        app.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad(&format!("has no `{k}`")))
    };
    Ok((field("client_id")?, SecretString::from(field("client_secret")?)))
}

fn harden(ctx: &Context) -> Result<(), Failure> {
    let files: Vec<_> = ctx
        .config
        .credentials
        .iter()
        .map(|c| ctx.config.credential_path(c))
        .filter(|p| p.exists())
        .collect();
    let mut changed = secret_files::harden(&ctx.data.secrets(), &files).context("cannot change permissions")?;
    changed.extend(ctx.data.tighten().context("cannot change permissions")?);
    if changed.is_empty() {
        println!(
            "secrets are already private ({} is 0700, its files 0600), and nothing else in {} is open to others",
            ctx.data.secrets().display(),
            ctx.data.root().display()
        );
    } else {
        for c in changed {
            println!("chmod {c}");
        }
    }
    Ok(())
}
