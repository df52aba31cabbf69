//! A backup that stops verifying is one alert that says what failed.

use std::sync::Arc;

use jada_backup::Backups;
use jada_google::auth::ServiceOptions;
use jada_server::alerts::{conditions, NoticeKind};
use jada_server::jobs::builtin::BackupVerifyJob;
use jada_server::jobs::Registry;
use jada_store::Trigger;

use crate::support::*;

#[tokio::test]
async fn an_archive_altered_at_the_target_is_one_alert_naming_it() {
    let env = Env::new("2026-12-03T14:00:00Z");
    let hook = hook().await;
    let target = tempfile::tempdir().unwrap();
    let settings: jada_backup::Settings =
        serde_json::from_value(serde_json::json!({ "target": format!("dir:{}", target.path().display()) })).unwrap();
    let backups = Arc::new(Backups::new(&settings, env._dir.path(), None).unwrap());
    let made = backups.run(env.clock_now()).await.unwrap();
    assert!(made.verified.is_some());
    let mut registry = Registry::default();
    registry.register(
        spec("backup-verify"),
        Arc::new(BackupVerifyJob {
            backups: Arc::clone(&backups),
            clock: env.clock.clone(),
        }),
    );
    let runner = env.runner(registry.clone(), env.tokens(vec![], ServiceOptions::default()));
    let engine = engine(&env, &hook);
    let started = env.clock_now();
    let mut sent = Vec::new();
    runner.run("backup-verify", Trigger::Schedule).await.unwrap();
    sent.extend(evaluate(&env, &registry, &engine, started).await);
    assert!(sent.is_empty(), "a good archive verifies quietly: {sent:?}");

    // The disk at the target flips one byte of the archive.
    let archive = target.path().join(jada_backup::target::name_of(&made.id));
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&archive, bytes).unwrap();
    for _ in 0..4 {
        env.advance(60);
        runner.run("backup-verify", Trigger::Schedule).await.unwrap();
        sent.extend(evaluate(&env, &registry, &engine, started).await);
    }
    let kinds: Vec<NoticeKind> = sent.iter().map(|n| n.kind).collect();
    assert_eq!(kinds, [NoticeKind::Firing], "four failed verifications, one alert");
    let bodies = hook.received.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "{bodies:#?}");
    assert_eq!(bodies[0]["alert"], "job-failing:backup-verify");
    let text = bodies[0]["text"].as_str().unwrap();
    assert!(
        text.contains(&format!(
            "{} was altered or is damaged",
            jada_backup::target::name_of(&made.id)
        )),
        "{text}"
    );
}

/// The alert rules evaluated now, and what the engine sent.
async fn evaluate(
    env: &Env,
    registry: &Registry,
    engine: &jada_server::alerts::AlertEngine,
    started: chrono::DateTime<chrono::Utc>,
) -> Vec<jada_server::alerts::Notification> {
    let specs: Vec<_> = registry.specs().collect();
    let firing = conditions(env.store.as_ref(), &specs, &[], started, env.clock_now())
        .await
        .unwrap();
    engine.reconcile(&firing, env.clock_now()).await.unwrap()
}
