//! `jada store check|create-tables|migrate`: the DynamoDB tables named in [store], and
//! copying a business between SQLite and DynamoDB.

mod migrate;
#[cfg(feature = "aws")]
pub mod tables;

use crate::cli::{Global, StoreCommand};
use crate::commands::load_config;
use crate::output::print_json;
use crate::Failure;

pub async fn run(g: &Global, cmd: StoreCommand) -> Result<(), Failure> {
    let config = load_config(g)?;
    let sqlite = config.store.backend == jada_app::config::Backend::Sqlite;
    match cmd {
        StoreCommand::Migrate { from, to, json } => migrate::migrate(&config, &from, &to, json).await,
        StoreCommand::Check { json } if sqlite => not_dynamodb(&config, json),
        StoreCommand::CreateTables { .. } if sqlite => not_dynamodb(&config, false),
        #[cfg(feature = "aws")]
        StoreCommand::Check { json } => tables::check(&config, json).await,
        #[cfg(feature = "aws")]
        StoreCommand::CreateTables { yes } => tables::create(&config, yes).await,
        // A build without the AWS parts refused a DynamoDB [store] when it loaded the config.
        #[cfg(not(feature = "aws"))]
        _ => Err(Failure::Usage(
            jada_app::config::without_aws("[store] backend = \"dynamodb\"").into(),
        )),
    }
}

/// check and create-tables are about DynamoDB: on the embedded default they say so
/// instead of asking AWS about tables this store never uses.
fn not_dynamodb(config: &jada_app::Config, json: bool) -> Result<(), Failure> {
    let db = config.data_dir.join("jada.db");
    if json {
        return Ok(print_json(&serde_json::json!({
            "ok": true, "backend": "sqlite", "database": db.display().to_string(), "tables": [],
        }))?);
    }
    println!(
        "this store is SQLite ({}): its schema is kept by jada itself; `jada store check` and `create-tables` are for [store] backend = \"dynamodb\"",
        db.display()
    );
    Ok(())
}
