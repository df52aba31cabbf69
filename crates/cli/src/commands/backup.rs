//! `jada backup now|list|verify|restore|key`: the backups `[backup]` configures.

use std::path::Path;

use jada_backup::{BackupKey, Backups};
use jada_core::Clock;
use jada_ops::SystemClock;
use jada_store::{RunOutcome, Trigger};

use crate::cli::{BackupCommand, Global};
use crate::commands::{cli_runner, jobs, load_config, Context};
use crate::output::{print_json, table};
use crate::Failure;

pub async fn run(g: &Global, cmd: BackupCommand) -> Result<(), Failure> {
    let config = load_config(g)?;
    if config.store.backend == jada_app::config::Backend::Dynamodb {
        return dynamodb(&config, cmd).await;
    }
    match cmd {
        BackupCommand::Now { json } => now(&Context::open_existing(config)?, json).await,
        BackupCommand::List { from, credential, json } => {
            list(&backups(config, from.as_deref(), credential)?, json).await
        }
        BackupCommand::Verify {
            id,
            from,
            credential,
            key,
            json,
        } => {
            let b = backups(config, from.as_deref(), credential)?;
            verify(&b, id.as_deref(), &read_key(&b, key.as_deref())?, json).await
        }
        BackupCommand::Restore {
            id,
            to,
            from,
            credential,
            key,
            force,
            json,
        } => {
            let b = backups(config, from.as_deref(), credential)?;
            restore(&b, &id, &to, &read_key(&b, key.as_deref())?, force, json).await
        }
        BackupCommand::Key { show } => key(&backups(config, None, None)?, show),
    }
}

/// The configured backups, or those at `--from` (another target: a new machine's first
/// restore has no `[backup]` yet), reached with `--credential` when it says one.
fn backups(config: jada_app::Config, from: Option<&str>, credential: Option<String>) -> Result<Backups, Failure> {
    let mut settings = match (&config.backup, from) {
        (Some(s), Some(spec)) => jada_backup::Settings {
            target: spec.to_string(),
            ..s.clone()
        },
        (None, Some(spec)) => serde_json::from_value::<jada_backup::Settings>(serde_json::json!({ "target": spec }))
            .map_err(Failure::op)?,
        (Some(s), None) => s.clone(),
        (None, None) => {
            return Err(Failure::Usage(anyhow::anyhow!(
                "no [backup] in the configuration: add `[backup] target = \"dir:/PATH\"` to jada.toml (or give --from dir:/PATH)"
            )))
        }
    };
    if let Some(name) = credential {
        if !settings.target.starts_with("drive:") {
            return Err(Failure::Usage(anyhow::anyhow!(
                "--credential {name}: only a drive: target is reached through a credential, not `{}`",
                settings.target
            )));
        }
        settings.credential = Some(name);
    }
    if settings.target.starts_with("drive:") {
        match settings.credential.as_deref() {
            None => {
                return Err(Failure::Usage(anyhow::anyhow!(
                    "`{}` is reached through a Google credential: add --credential NAME (one of this configuration's [[credentials]]; on a new machine set it up first with `jada auth login NAME`)",
                    settings.target
                )))
            }
            Some(name) if !config.credentials.iter().any(|c| c.name == name) => {
                let known: Vec<&str> = config.credentials.iter().map(|c| c.name.as_str()).collect();
                return Err(Failure::Usage(anyhow::anyhow!(
                    "there is no credential `{name}` in this configuration (its [[credentials]]: {}): add it, then `jada auth login {name}`",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                )));
            }
            Some(_) => {}
        }
    }
    // Drive goes through one of this data directory's Google credentials (so its store);
    // a directory or S3 needs none, and a new machine's first restore has no store yet.
    if settings.credential.is_some() {
        return Ok(Context::open_existing(config)?.backups_to(&settings)?);
    }
    Backups::new(&settings, &config.data_dir, None).map_err(|e| Failure::Usage(anyhow::anyhow!("--from: {e}")))
}

/// `--key FILE`, or this data directory's `secrets/backup-key`.
fn read_key(b: &Backups, path: Option<&Path>) -> Result<BackupKey, Failure> {
    match path {
        Some(p) => BackupKey::load(p).map_err(|e| Failure::Usage(e.into())),
        None => b.existing_key().map_err(|e| {
            Failure::Usage(anyhow::anyhow!(
                "{e}: give the backup key with --key FILE (the one `jada backup key` showed)"
            ))
        }),
    }
}

/// Runs the `backup` job now, recorded like the daemon's runs.
async fn now(app: &Context, json: bool) -> Result<(), Failure> {
    let Some(b) = app.backups()? else {
        return Err(Failure::Usage(anyhow::anyhow!(
            "no [backup] in the configuration: add `[backup] target = \"dir:/PATH\"` to jada.toml"
        )));
    };
    let p = jobs(app)?;
    let runner = cli_runner(app, p.registry)?;
    let run = runner
        .run("backup", Trigger::Manual)
        .await
        .map_err(Failure::op)?
        .ok_or_else(|| Failure::op(anyhow::anyhow!("the backup job did not run")))?;
    if run.outcome != RunOutcome::Succeeded {
        return Err(Failure::op(anyhow::anyhow!(
            "backup failed: {}",
            run.error.unwrap_or_default()
        )));
    }
    let summary = run.summary.unwrap_or_default();
    if json {
        return Ok(print_json(&serde_json::json!({
            "ok": true,
            "summary": summary,
            "backup": b.status(),
        }))?);
    }
    println!("{summary}");
    Ok(())
}

async fn list(b: &Backups, json: bool) -> Result<(), Failure> {
    let stored = b.list().await.map_err(Failure::op)?;
    let state = b.state();
    let verified = state.last_verified.as_ref().map(|v| v.id.as_str());
    if json {
        let rows: Vec<_> = stored
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.id, "name": s.name, "created_at": s.created_at, "bytes": s.bytes,
                    "verified": Some(s.id.as_str()) == verified,
                })
            })
            .collect();
        return Ok(print_json(&serde_json::json!({"target": b.target(), "backups": rows}))?);
    }
    if stored.is_empty() {
        println!("no backups at {} yet: `jada backup now` makes one", b.target());
        return Ok(());
    }
    let mut t = table(&["id", "taken (UTC)", "size", ""]);
    for s in &stored {
        t.add_row(vec![
            s.id.clone(),
            s.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            jada_core::text::bytes(s.bytes),
            if Some(s.id.as_str()) == verified {
                "last verified".into()
            } else {
                String::new()
            },
        ]);
    }
    println!("{t}");
    println!("at {}", b.target());
    Ok(())
}

async fn verify(b: &Backups, id: Option<&str>, key: &BackupKey, json: bool) -> Result<(), Failure> {
    let v = b.verify(id, key, SystemClock.now()).await.map_err(Failure::op)?;
    if json {
        return Ok(print_json(&v)?);
    }
    println!(
        "backup {} at {} verified: restored into a scratch directory, integrity checked, {} records in {} tables and {} files as at its snapshot",
        v.id,
        b.target(),
        v.records,
        v.counts.len(),
        v.files
    );
    Ok(())
}

async fn restore(b: &Backups, id: &str, to: &Path, key: &BackupKey, force: bool, json: bool) -> Result<(), Failure> {
    let v = b.restore(id, to, key, force).await.map_err(|e| match e {
        jada_backup::BackupError::Refused(_) => Failure::Usage(e.into()),
        e => Failure::op(e),
    })?;
    if json {
        return Ok(print_json(&serde_json::json!({"restored": v, "to": to}))?);
    }
    let dir = to.display();
    println!(
        "restored backup {} into {dir}: {} records, {} files, checked against its snapshot",
        v.id, v.records, v.files
    );
    println!("to run jada on it:");
    let config = to.join(jada_backup::archive::CONFIG);
    if config.is_file() {
        println!(
            "  1. the configuration came back as {}: copy it to where jada reads it (./jada.toml, or --config), and check its `data_dir` (or pass --data-dir {dir})",
            config.display()
        );
    } else {
        println!("  1. put your jada.toml in place (its `data_dir`, or JADA_DATA_DIR={dir})");
    }
    println!("  2. jada --data-dir {dir} doctor     # everything it can check without the daemon");
    println!("  3. jada --data-dir {dir} serve      # or point the systemd unit's JADA_DATA_DIR at it");
    println!("Google credentials, link keys and the store key came back with it (secrets/).");
    Ok(())
}

fn key(b: &Backups, show: bool) -> Result<(), Failure> {
    let (key, made) = b.key(SystemClock.now()).map_err(Failure::op)?;
    if !made && !show {
        println!(
            "backup key: {} (public half: {})",
            key.path().display(),
            key.recipient()
        );
        println!("`jada backup key --show` prints the secret half again, to keep off this machine");
        return Ok(());
    }
    println!("{}", key.secret_text());
    b.key_shown(SystemClock.now()).map_err(Failure::op)?;
    eprintln!(
        "\nThis is the backup key ({}). Every archive is encrypted to it, and without it no\n\
         archive opens: keep a copy OFF this machine now (a password manager, a printed copy\n\
         in the office safe). A dead disk takes the copy in secrets/ with it.\n\
         To open an archive without jada: age -d -i KEYFILE ARCHIVE | tar xz -C NEWDIR\n\
         (KEYFILE: a file holding the line above).",
        key.path().display()
    );
    Ok(())
}

/// On DynamoDB, backups are DynamoDB's own on-demand backups of each table jada uses:
/// `now` asks for them, `list` lists them; jada copies no data out.
#[cfg(feature = "aws")]
async fn dynamodb(config: &jada_app::Config, cmd: BackupCommand) -> Result<(), Failure> {
    let store = crate::commands::store::tables::connect(config).await;
    let backups = match cmd {
        BackupCommand::Now { json } => {
            let id = SystemClock.now().format(jada_backup::ID_FORMAT).to_string();
            let made = store.create_backups(&id).await.map_err(Failure::op)?;
            if json {
                return Ok(print_json(&serde_json::json!({"ok": true, "backups": made}))?);
            }
            println!("asked DynamoDB for an on-demand backup of each table jada uses:");
            made
        }
        BackupCommand::List {
            from: None,
            credential: None,
            json,
        } => {
            let all = store.list_backups().await.map_err(Failure::op)?;
            if json {
                return Ok(print_json(&serde_json::json!({"backups": all}))?);
            }
            all
        }
        _ => {
            return Err(Failure::Usage(anyhow::anyhow!(
                "on DynamoDB, backups are DynamoDB's own on-demand backups (`jada backup now`, `jada backup list`) and point-in-time recovery (`jada store check` says whether it is on); restore one as a new table with `aws dynamodb restore-table-from-backup` and point [store.tables] at it"
            )))
        }
    };
    let mut t = table(&["table", "backup", "taken (UTC)", "status", "size"]);
    for b in &backups {
        t.add_row(vec![
            b.table.clone(),
            b.name.clone(),
            b.created_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            b.status.clone(),
            b.bytes
                .map(|n| jada_core::text::bytes(n.max(0) as u64))
                .unwrap_or_default(),
        ]);
    }
    println!("{t}");
    Ok(())
}

/// A build without the AWS parts refused a DynamoDB [store] when it loaded the config.
#[cfg(not(feature = "aws"))]
async fn dynamodb(_: &jada_app::Config, _: BackupCommand) -> Result<(), Failure> {
    Err(Failure::Usage(
        jada_app::config::without_aws("[store] backend = \"dynamodb\"").into(),
    ))
}
