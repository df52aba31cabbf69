//! `jada store check|create-tables`: the DynamoDB tables named in [store].

use jada_dynamo::DynamoStore;
use jada_store::sqlite::SqliteStore;
use jada_store::transfer::{Kind, TransferStore};

use crate::cli::{Global, StoreCommand};
use crate::commands::load_config;
use crate::output::print_json;
use crate::Failure;

pub async fn run(g: &Global, cmd: StoreCommand) -> Result<(), Failure> {
    let config = load_config(g)?;
    // check and create-tables are about DynamoDB: on the embedded default they say so
    // instead of asking AWS about tables this store never uses.
    if config.store.backend == jada_app::config::Backend::Sqlite && !matches!(cmd, StoreCommand::Migrate { .. }) {
        let db = config.data_dir.join("jada.db");
        if matches!(cmd, StoreCommand::Check { json: true }) {
            return Ok(print_json(&serde_json::json!({
                "ok": true, "backend": "sqlite", "database": db.display().to_string(), "tables": [],
            }))?);
        }
        println!(
            "this store is SQLite ({}): its schema is kept by jada itself; `jada store check` and `create-tables` are for [store] backend = \"dynamodb\"",
            db.display()
        );
        return Ok(());
    }
    let store = DynamoStore::connect(&config.store.dynamo()).await;
    match cmd {
        StoreCommand::Check { json } => {
            let check = store.check().await.map_err(Failure::op)?;
            if json {
                print_json(&check)?;
            } else {
                for t in &check.tables {
                    let state = if !t.exists {
                        "missing"
                    } else if t.missing.is_empty() && t.wrong.is_empty() {
                        "ok"
                    } else {
                        "incomplete"
                    };
                    println!("{:<9} {:<30} {state}", t.role, t.table);
                    if !t.indexes.is_empty() {
                        println!("  reads:   {}", t.indexes.join(", "));
                    }
                    if t.point_in_time_recovery == Some(true) {
                        println!("  point-in-time recovery: on");
                    }
                    for m in &t.missing {
                        println!("  missing: {m}");
                    }
                    for w in &t.wrong {
                        println!("  wrong:   {w}");
                    }
                    for w in &t.warnings {
                        println!("  warning: {w}");
                    }
                    for n in &t.notes {
                        println!("  note:    {n}");
                    }
                    if t.unreadable_count > 0 {
                        println!(
                            "  unreadable: {} items are skipped by every listing until fixed (key and attribute):",
                            t.unreadable_count
                        );
                        for u in &t.unreadable {
                            println!("    {u}");
                        }
                    }
                }
            }
            if check.ok {
                return Ok(());
            }
            let error = anyhow::anyhow!(
                "the DynamoDB tables lack what jada needs (above); `jada store create-tables` says what it would add, and adds it"
            );
            if !json {
                eprintln!("error: {error}");
            }
            Err(Failure::Operation { error, reported: !json })
        }
        StoreCommand::Migrate { from, to, json } => migrate(g, &from, &to, json).await,
        StoreCommand::CreateTables { yes } => create_tables(&store, yes).await,
    }
}

/// Plans, says the plan (with what each change to a business table costs), and makes it:
/// all of it with --yes, else only what touches no business table.
async fn create_tables(store: &DynamoStore, yes: bool) -> Result<(), Failure> {
    let plan = store.plan().await.map_err(Failure::op)?;
    if plan.is_empty() {
        println!("every table, index, time to live and recovery setting jada needs is there; nothing to change");
        return Ok(());
    }
    println!("jada store create-tables will:");
    for step in &plan {
        let ask = if step.changes_business_table && !yes {
            " [needs --yes]"
        } else {
            ""
        };
        println!("  - {}{ask}", step.says);
    }
    let withheld = plan.iter().filter(|s| s.changes_business_table && !yes).count();
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    let waiting = |w: &jada_dynamo::tables::Waiting| {
        bar.set_message(format!(
            "waiting for `{}`: {} ({}s; leaving is safe: the build goes on, and create-tables waits again)",
            w.table,
            w.status,
            w.elapsed.as_secs()
        ));
        bar.tick();
    };
    for step in plan.iter().filter(|s| yes || !s.changes_business_table) {
        let done = store.apply(step, &waiting).await.map_err(Failure::op)?;
        bar.suspend(|| println!("{done}"));
    }
    bar.finish_and_clear();
    if withheld > 0 {
        let error = anyhow::anyhow!(
            "{withheld} change{} to the business's tables not made: read them above, then run `jada store create-tables --yes`",
            if withheld == 1 { "" } else { "s" }
        );
        eprintln!("error: {error}");
        return Err(Failure::Operation { error, reported: true });
    }
    Ok(())
}

/// One end of a copy.
enum End {
    Sqlite(std::path::PathBuf),
    Dynamo,
}

fn end(spec: &str, data_dir: &std::path::Path, flag: &str) -> Result<End, Failure> {
    match spec.split_once(':') {
        None if spec == "dynamodb" => Ok(End::Dynamo),
        None if spec == "sqlite" => Ok(End::Sqlite(data_dir.join("jada.db"))),
        Some(("sqlite", path)) if !path.is_empty() => Ok(End::Sqlite(path.into())),
        _ => Err(Failure::Usage(anyhow::anyhow!(
            "{flag} `{spec}`: use sqlite:PATH (a jada.db), sqlite (this data directory's) or dynamodb (the tables in [store])"
        ))),
    }
}

/// A store to copy from or to, with what the link keys need.
struct Opened {
    store: Box<dyn TransferStore>,
    name: String,
    sqlite_secrets: Option<std::path::PathBuf>,
}

async fn open_end(end: End, config: &jada_app::Config, must_exist: bool) -> Result<Opened, Failure> {
    match end {
        End::Sqlite(path) => {
            if must_exist && !path.exists() {
                return Err(Failure::Usage(anyhow::anyhow!(
                    "there is no database at {}",
                    path.display()
                )));
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Failure::op(anyhow::anyhow!("cannot make {}: {e}", dir.display())))?;
            }
            let store = SqliteStore::open(&path).map_err(Failure::op)?;
            let secrets = path.parent().map(|d| d.join("secrets"));
            Ok(Opened {
                store: Box::new(store),
                name: format!("sqlite:{}", path.display()),
                sqlite_secrets: secrets,
            })
        }
        End::Dynamo => {
            let store = DynamoStore::connect(&config.store.dynamo()).await;
            let check = store.check().await.map_err(Failure::op)?;
            if !check.ok {
                return Err(Failure::op(anyhow::anyhow!(
                    "the DynamoDB tables are not ready (`jada store check` says what is missing): run `jada store create-tables` first"
                )));
            }
            Ok(Opened {
                store: Box::new(store),
                name: "dynamodb".into(),
                sqlite_secrets: None,
            })
        }
    }
}

#[derive(serde::Serialize)]
struct Copied {
    kind: &'static str,
    source: usize,
    destination: usize,
}

pub async fn migrate(g: &Global, from: &str, to: &str, json: bool) -> Result<(), Failure> {
    let config = load_config(g)?;
    let (from, to) = (
        end(from, &config.data_dir, "--from")?,
        end(to, &config.data_dir, "--to")?,
    );
    if matches!((&from, &to), (End::Dynamo, End::Dynamo)) {
        return Err(Failure::Usage(anyhow::anyhow!("--from and --to are the same store")));
    }
    let source = open_end(from, &config, true).await?;
    let dest = open_end(to, &config, false).await?;
    let secrets = config.data_dir.join("secrets");
    let mut copied = vec![];
    for kind in Kind::ALL {
        // The link keys are copied below, sealed or opened for their destination.
        if kind == Kind::Shared {
            continue;
        }
        let records = source.store.export(kind).await.map_err(Failure::op)?;
        let bar = progress(kind.label(), records.len(), json);
        for chunk in records.chunks(100) {
            dest.store.import(chunk).await.map_err(Failure::op)?;
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        let there = dest.store.export(kind).await.map_err(Failure::op)?.len();
        if there < records.len() {
            return Err(Failure::op(anyhow::anyhow!(
                "{}: {} in {} but {there} in {} after copying; run the copy again (it is safe) and report it if it stays short",
                kind.label(),
                records.len(),
                source.name,
                dest.name
            )));
        }
        copied.push(Copied {
            kind: kind.label(),
            source: records.len(),
            destination: there,
        });
    }
    let keys = copy_link_keys(&source, &dest, &secrets).await?;
    if json {
        print_json(&serde_json::json!({"from": source.name, "to": dest.name, "copied": copied, "link_keys": keys}))?;
        return Ok(());
    }
    println!("copied {} to {}:", source.name, dest.name);
    for c in &copied {
        println!("  {:<18} {:>7} (destination has {})", c.kind, c.source, c.destination);
    }
    println!("  link keys          {keys}");
    Ok(())
}

fn progress(label: &'static str, total: usize, quiet: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg:>18} [{bar:40}] {pos}/{len}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label);
    bar
}

/// The link keys: from SQLite's key file into the store (sealed with the store key), or
/// from the store into a key file; never over keys the destination has.
async fn copy_link_keys(source: &Opened, dest: &Opened, secrets: &std::path::Path) -> Result<&'static str, Failure> {
    use jada_app::shared::{StoreKey, LINK_KEYS};
    use jada_ops::dispatch::links::key_file;
    match (&source.sqlite_secrets, &dest.sqlite_secrets) {
        (Some(src), None) => {
            let file = key_file(src);
            if !file.exists() {
                return Ok("none to copy");
            }
            jada_google::secret_files::check_secret(&file).map_err(Failure::op)?;
            let text = std::fs::read(&file).map_err(Failure::op)?;
            let key = StoreKey::load(secrets).map_err(Failure::op)?;
            let put = dest
                .store
                .swap_shared(LINK_KEYS, None, &key.seal(LINK_KEYS, &text))
                .await
                .map_err(Failure::op)?;
            Ok(if put {
                "copied (sealed with the store key)"
            } else {
                "kept: the destination has its own"
            })
        }
        (None, Some(dst)) => {
            let Some(sealed) = source.store.get_shared(LINK_KEYS).await.map_err(Failure::op)? else {
                return Ok("none to copy");
            };
            let file = key_file(dst);
            if file.exists() {
                return Ok("kept: the destination has its own");
            }
            let key = StoreKey::load(secrets).map_err(Failure::op)?;
            let text = key.open(LINK_KEYS, &sealed).map_err(Failure::op)?;
            std::fs::create_dir_all(dst).map_err(Failure::op)?;
            std::fs::set_permissions(dst, std::os::unix::fs::PermissionsExt::from_mode(0o700)).map_err(Failure::op)?;
            jada_google::secret_files::write_private_atomic(&file, &text).map_err(Failure::op)?;
            Ok("copied to the key file")
        }
        _ => Ok("left as they are"),
    }
}
