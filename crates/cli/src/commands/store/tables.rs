//! `jada store check|create-tables` on DynamoDB: what the tables lack, and adding it.

use jada_dynamo::DynamoStore;

use crate::output::print_json;
use crate::Failure;

/// The DynamoDB tables `[store]` names, as jada reaches them.
pub async fn connect(config: &jada_app::Config) -> DynamoStore {
    DynamoStore::connect(&config.store.dynamo()).await
}

/// `jada store check`: each table's state, what it lacks, and what jada reads it by.
pub async fn check(config: &jada_app::Config, json: bool) -> Result<(), Failure> {
    let store = connect(config).await;
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

/// `jada store create-tables`: plans, says the plan (with what each change to a business
/// table costs), and makes it: all of it with --yes, else only what touches no business table.
pub async fn create(config: &jada_app::Config, yes: bool) -> Result<(), Failure> {
    let store = connect(config).await;
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
