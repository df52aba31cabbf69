//! `jada store check|create-tables`: the DynamoDB tables named in [store].

use jada_dynamo::DynamoStore;

use crate::cli::{Global, StoreCommand};
use crate::commands::load_config;
use crate::output::print_json;
use crate::Failure;

pub async fn run(g: &Global, cmd: StoreCommand) -> Result<(), Failure> {
    let config = load_config(g)?;
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
                    for m in &t.missing {
                        println!("  missing: {m}");
                    }
                    for w in &t.wrong {
                        println!("  wrong:   {w}");
                    }
                    for n in &t.notes {
                        println!("  note:    {n}");
                    }
                }
            }
            if check.ok {
                return Ok(());
            }
            let error = anyhow::anyhow!(
                "the DynamoDB tables lack what jada needs (above); `jada store create-tables` adds what is missing"
            );
            if !json {
                eprintln!("error: {error}");
            }
            Err(Failure::Operation { error, reported: !json })
        }
        StoreCommand::CreateTables => {
            let done = store.create_tables().await.map_err(Failure::op)?;
            if done.is_empty() {
                println!("every table, index and time to live jada needs exists already; nothing changed");
            }
            for line in done {
                println!("{line}");
            }
            Ok(())
        }
    }
}
