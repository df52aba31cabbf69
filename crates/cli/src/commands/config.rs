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
        }
    }
    Ok(())
}
