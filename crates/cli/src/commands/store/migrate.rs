//! `jada store migrate`: a business copied between SQLite and DynamoDB, link keys too.

use jada_store::sqlite::SqliteStore;
use jada_store::transfer::{Kind, TransferStore};

use crate::output::print_json;
use crate::Failure;

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

#[cfg_attr(not(feature = "aws"), allow(unused_variables))] // config: where DynamoDB is
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
        #[cfg(feature = "aws")]
        End::Dynamo => {
            let store = super::tables::connect(config).await;
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
        #[cfg(not(feature = "aws"))]
        End::Dynamo => Err(Failure::Usage(
            jada_app::config::without_aws("dynamodb (--from or --to)").into(),
        )),
    }
}

#[derive(serde::Serialize)]
struct Copied {
    kind: &'static str,
    source: usize,
    destination: usize,
}

pub async fn migrate(config: &jada_app::Config, from: &str, to: &str, json: bool) -> Result<(), Failure> {
    let (from, to) = (
        end(from, &config.data_dir, "--from")?,
        end(to, &config.data_dir, "--to")?,
    );
    if matches!((&from, &to), (End::Dynamo, End::Dynamo)) {
        return Err(Failure::Usage(anyhow::anyhow!("--from and --to are the same store")));
    }
    let source = open_end(from, config, true).await?;
    let dest = open_end(to, config, false).await?;
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
