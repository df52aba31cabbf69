//! `jada init`: a commented jada.toml and the data directory.

use anyhow::Context as _;

use crate::cli::{Global, InitArgs};
use crate::commands::config_source;
use crate::Failure;
use jada_app::config::DEFAULT_TOML;
use jada_app::data_dir::DataDir;

pub fn run(g: &Global, args: &InitArgs) -> Result<(), Failure> {
    let source = config_source(g);
    let path = source.path();
    if path.exists() && !args.force {
        // Written first by hand (or kept from before): keep it, make what it names.
        let config = crate::commands::load_config(g)?;
        let data = make_data_dir(&config.data_dir)?;
        println!(
            "kept {} (it exists; `jada init --force` replaces it with the commented defaults)",
            path.display()
        );
        println!(
            "created {} (database, secrets/ with mode 0700, outbox/, reports/)",
            data.root().display()
        );
        return Ok(());
    }
    let data_dir = g.data_dir.clone().unwrap_or_else(|| "./jada-data".into());
    let text = DEFAULT_TOML.replacen(
        "data_dir = \"./jada-data\"",
        &format!("data_dir = {}", toml::Value::String(data_dir.display().to_string())),
        1,
    );
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    // 0600: the configuration says which commands jada runs; no one else may change it.
    jada_google::secret_files::write_private_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let data = make_data_dir(&data_dir)?;
    println!("wrote {}", path.display());
    println!(
        "created {} (database, secrets/ with mode 0700, outbox/, reports/)",
        data.root().display()
    );
    println!(
        "next: edit {} (business name, [[vessels]], credentials), then `jada config check`",
        path.display()
    );
    Ok(())
}

/// The data directory and its database, so every command finds the business from now on.
fn make_data_dir(dir: &std::path::Path) -> Result<DataDir, Failure> {
    let data = DataDir::new(dir);
    data.ensure().map_err(Failure::op)?;
    jada_store::sqlite::SqliteStore::open(data.db()).map_err(Failure::op)?;
    Ok(data)
}
