//! Runs are leased, recorded, pre-checked, timed out and retried.

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use jada_google::auth::{CredentialConfig, ServiceOptions};
use jada_server::jobs::runner::RunError;
use jada_server::jobs::Registry;
use jada_store::{JobRunStore, LeaseStore, RunOutcome, Trigger};

use crate::support::*;

#[tokio::test]
async fn every_run_is_recorded_and_a_job_never_runs_twice_at_once() {
    let env = Env::new("2024-05-03T08:00:00Z");
    let job = Arc::new(Switch::default());
    let mut registry = Registry::default();
    registry.register(spec("port-sheet"), job.clone());
    let runner = env.runner(registry, env.tokens(vec![], ServiceOptions::default()));
    let run = runner.run("port-sheet", Trigger::Manual).await.unwrap().unwrap();
    assert_eq!(
        (run.outcome, run.summary.as_deref(), run.trigger),
        (RunOutcome::Succeeded, Some("12 rows written"), Trigger::Manual)
    );

    // Another daemon holds the lease: this one does not run the job.
    env.store
        .try_acquire_lease(
            "job:port-sheet",
            "other-daemon",
            env.clock_now(),
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    let err = runner.run("port-sheet", Trigger::Schedule).await.unwrap_err();
    assert!(matches!(err, RunError::AlreadyRunning(_)), "{err}");
    assert_eq!(job.runs.load(Ordering::SeqCst), 1);
    assert!(matches!(
        runner.run("nope", Trigger::Manual).await.unwrap_err(),
        RunError::UnknownJob { .. }
    ));
}

#[tokio::test]
async fn timeouts_and_retries() {
    let env = Env::new("2024-05-03T08:00:00Z");
    let slow = Arc::new(Switch::default());
    *slow.sleep.lock().unwrap() = Some(Duration::from_secs(10));
    let flaky = Arc::new(Switch::default());
    *flaky.fail.lock().unwrap() = Some("sheets answered 503".into());
    let mut registry = Registry::default();
    let mut s = spec("slow");
    s.timeout = Duration::from_millis(100);
    registry.register(s, slow);
    let mut s = spec("flaky");
    s.attempts = 3;
    registry.register(s, flaky.clone());
    let runner = env.runner(registry, env.tokens(vec![], ServiceOptions::default()));

    let run = runner.run("slow", Trigger::Schedule).await.unwrap().unwrap();
    assert_eq!(
        (run.outcome, run.error.as_deref()),
        (RunOutcome::Failed, Some("timed out after 100ms"))
    );
    let run = runner.run("flaky", Trigger::Schedule).await.unwrap().unwrap();
    assert_eq!(run.error.as_deref(), Some("sheets answered 503 (after 3 attempts)"));
    assert_eq!(flaky.runs.load(Ordering::SeqCst), 3);
    assert_eq!(
        env.store.recent_runs(None, 10).await.unwrap().len(),
        2,
        "one record per run, not per attempt"
    );
}

#[tokio::test]
async fn a_job_whose_credential_needs_reauth_fails_fast_without_calling_google() {
    let env = Env::new("2024-05-03T08:00:00Z");
    let emu = google_emulator::spawn().await.unwrap();
    let client = emu.create_oauth_client();
    let user = emu.create_authorized_user(&client, &["https://www.googleapis.com/auth/spreadsheets"]);
    emu.revoke_refresh_token(user["refresh_token"].as_str().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("workspace.json");
    std::fs::write(&file, user.to_string()).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let creds = vec![CredentialConfig {
        name: "workspace".into(),
        file,
        scopes: vec!["https://www.googleapis.com/auth/spreadsheets".into()],
        subject: None,
        token_uri: None,
    }];
    let tokens = env.tokens(
        creds,
        ServiceOptions {
            token_uri: emu.token_uri(),
            ..ServiceOptions::default()
        },
    );
    let job = Arc::new(Switch::default());
    let mut s = spec("port-sheet");
    s.credentials = vec!["workspace".into()];
    let mut registry = Registry::default();
    registry.register(s, job.clone());
    let runner = env.runner(registry, tokens);
    for _ in 0..3 {
        let run = runner.run("port-sheet", Trigger::Schedule).await.unwrap().unwrap();
        assert_eq!(run.outcome, RunOutcome::Failed);
        assert!(run
            .error
            .unwrap()
            .starts_with("credential `workspace` needs re-auth: run `jada auth login workspace`"));
    }
    assert_eq!(job.runs.load(Ordering::SeqCst), 0, "the job's own work never started");
    assert_eq!(
        emu.calls("token"),
        1,
        "Google was asked once, then the credential was blocked"
    );
}

#[tokio::test]
async fn a_run_left_running_by_a_crash_is_abandoned_at_the_next_start() {
    let env = Env::new("2024-05-03T08:00:00Z");
    env.store
        .start_run("port-sheet", Trigger::Schedule, env.clock_now())
        .await
        .unwrap();
    // (the process died here)
    assert_eq!(env.store.abandon_running_runs(env.clock_now()).await.unwrap(), 1);
    let run = env.store.recent_runs(Some("port-sheet"), 1).await.unwrap().remove(0);
    assert_eq!(run.outcome, RunOutcome::Abandoned);
}
