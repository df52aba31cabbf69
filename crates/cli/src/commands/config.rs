//! `jada config show|check`.

use crate::cli::{ConfigCommand, Global};
use crate::commands::{config_source, load_config};
use crate::output::print_json;
use crate::Failure;

pub fn run(g: &Global, cmd: &ConfigCommand) -> Result<(), Failure> {
    let config = load_config(g)?;
    match cmd {
        ConfigCommand::Show { json: true } => print_json(&config.redacted())?,
        ConfigCommand::Show { json: false } => {
            let text = toml::to_string_pretty(&config.redacted()).map_err(anyhow::Error::from)?;
            print!("{text}");
        }
        ConfigCommand::Check => {
            let source = config_source(g);
            let from = if source.path().exists() {
                source.path().display().to_string()
            } else {
                "the built-in defaults".into()
            };
            println!(
                "configuration ok (from {from}; data directory {})",
                config.data_dir.display()
            );
            for w in config.warnings() {
                println!("warning: {w}");
            }
            let loose = loose_secrets(&jada_app::DataDir::new(&config.data_dir));
            if !loose.is_empty() {
                for l in &loose {
                    eprintln!("error: {l}");
                }
                return Err(Failure::Usage(anyhow::anyhow!(
                    "{} secret(s) are open to other users; jada refuses to use them until fixed (`jada auth harden` fixes them all)",
                    loose.len()
                )));
            }
        }
    }
    Ok(())
}

/// The secrets directory and every file in it, held to 0700 / 0600: what each would
/// refuse at use, said up front.
fn loose_secrets(data: &jada_app::DataDir) -> Vec<String> {
    use jada_google::secret_files::{check_private_dir, check_private_file};
    let dir = data.secrets();
    if !dir.exists() {
        return Vec::new();
    }
    let mut out: Vec<String> = check_private_dir(&dir)
        .err()
        .map(|e| e.to_string())
        .into_iter()
        .collect();
    let files = std::fs::read_dir(&dir).into_iter().flatten().flatten();
    for f in files.filter(|f| f.file_type().is_ok_and(|t| t.is_file())) {
        if let Err(e) = check_private_file(&f.path()) {
            out.push(e.to_string());
        }
    }
    out
}
