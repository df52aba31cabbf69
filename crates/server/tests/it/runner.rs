//! Runs are leased, recorded, pre-checked, timed out and retried.

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use jada_google::auth::{CredentialConfig, ServiceOptions};
use jada_server::jobs::runner::RunError;
use jada_server::jobs::{JobError, Registry};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_still_running_here_is_not_started_again_here() {
    // The lease is this process's either way (its owner renews it): the runner itself
    // must refuse a second run of a job it is running (a slow run past its next due time).
    let env = Env::new("2024-05-03T08:00:00Z");
    let job = Arc::new(Switch::default());
    *job.sleep.lock().unwrap() = Some(Duration::from_millis(500));
    let mut registry = Registry::default();
    registry.register(spec("port-sheet"), job.clone());
    let runner = env.runner(registry, env.tokens(vec![], ServiceOptions::default()));
    let first = tokio::spawn({
        let runner = runner.clone();
        async move { runner.run("port-sheet", Trigger::Schedule).await }
    });
    while job.runs.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let err = runner.run("port-sheet", Trigger::Schedule).await.unwrap_err();
    assert!(matches!(err, RunError::AlreadyRunning(_)), "{err}");
    assert_eq!(first.await.unwrap().unwrap().unwrap().outcome, RunOutcome::Succeeded);
    *job.sleep.lock().unwrap() = None;
    runner.run("port-sheet", Trigger::Manual).await.unwrap().unwrap();
    assert_eq!(job.runs.load(Ordering::SeqCst), 2, "the refused run never started");
}

/// Keeps the runs reported to it.
#[derive(Default)]
struct Reported(std::sync::Mutex<Vec<jada_store::JobRun>>);

#[async_trait::async_trait]
impl jada_server::jobs::runner::RunLog for Reported {
    fn name(&self) -> &'static str {
        "test"
    }
    async fn failed(&self, run: &jada_store::JobRun) -> Result<(), jada_server::alerts::sinks::SinkError> {
        self.0.lock().unwrap().push(run.clone());
        Ok(())
    }
}

#[tokio::test]
async fn a_failed_run_is_reported_to_the_run_logs_as_it_ends() {
    let env = Env::new("2024-05-03T08:00:00Z");
    let job = Arc::new(Switch::default());
    let mut registry = Registry::default();
    registry.register(spec("port-sheet"), job.clone());
    let mut runner = env.runner(registry, env.tokens(vec![], ServiceOptions::default()));
    let reported = Arc::new(Reported::default());
    runner.run_logs = vec![reported.clone()];
    runner.run("port-sheet", Trigger::Manual).await.unwrap();
    assert!(reported.0.lock().unwrap().is_empty(), "a success is not reported");
    *job.fail.lock().unwrap() = Some(JobError::operator("the sheet was not found"));
    let run = runner.run("port-sheet", Trigger::Schedule).await.unwrap().unwrap();
    let got = reported.0.lock().unwrap().clone();
    assert_eq!(got, vec![run]);
    assert_eq!(got[0].outcome, RunOutcome::Failed);
}

#[tokio::test]
async fn timeouts_and_retries() {
    let env = Env::new("2024-05-03T08:00:00Z");
    let slow = Arc::new(Switch::default());
    *slow.sleep.lock().unwrap() = Some(Duration::from_secs(10));
    let flaky = Arc::new(Switch::default());
    *flaky.fail.lock().unwrap() = Some(JobError::retry("sheets answered 503"));
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

/// A runner with one `ReadSheet` job (3 attempts) against the emulator, through a real
/// token service and Google client.
async fn sheet_reader(
    env: &Env,
    emu: &google_emulator::EmulatorHandle,
    dir: &std::path::Path,
) -> (jada_server::jobs::runner::JobRunner, Arc<ReadSheet>, serde_json::Value) {
    use jada_google::client::{Endpoints, GoogleClient};
    let scope = jada_google::sheets::SCOPE;
    let (cfg, user) = emulator_credential(emu, dir, &[scope]);
    let tokens = env.tokens(
        vec![cfg],
        ServiceOptions {
            token_uri: emu.token_uri(),
            backoff_base: Duration::from_millis(1),
            ..ServiceOptions::default()
        },
    );
    let mut client = GoogleClient::new(&Endpoints::all_at(emu.base_url()), tokens.clone(), "workspace");
    // The client gives up at once, so the runner's own retries are what is tested.
    client.attempts = 1;
    let job = Arc::new(ReadSheet {
        client,
        spreadsheet: emu.create_spreadsheet("Port", &["Port Sheet"]),
        runs: Default::default(),
    });
    let mut s = spec("port-sheet");
    s.attempts = 3;
    let mut registry = Registry::default();
    registry.register(s, job.clone());
    (env.runner(registry, tokens), job, user)
}

#[tokio::test]
async fn a_passing_failure_is_retried_and_recorded_as_one_run_with_its_attempts() {
    let env = Env::new("2024-05-03T08:00:00Z");
    let emu = google_emulator::spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (runner, job, _) = sheet_reader(&env, &emu, dir.path()).await;
    runner.tokens.get("workspace", &[]).await.unwrap();
    emu.fail_api_after(0, 2, 503);

    let run = runner.run("port-sheet", Trigger::Schedule).await.unwrap().unwrap();
    assert_eq!(
        (run.outcome, run.attempts, run.summary.as_deref(), run.recovery),
        (RunOutcome::Succeeded, 3, Some("1 tab(s)"), None),
        "503 twice, then the answer: one successful run that took 3 attempts"
    );
    assert_eq!(job.runs.load(Ordering::SeqCst), 3);
    assert_eq!(env.store.recent_runs(None, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_refused_credential_is_not_retried_and_is_alerted_at_once() {
    let env = Env::new("2024-05-03T08:00:00Z");
    let emu = google_emulator::spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (runner, job, user) = sheet_reader(&env, &emu, dir.path()).await;
    // Revoked behind jada's back: the job meets `invalid_grant` in its own work (there
    // is no credential pre-check on this job).
    emu.revoke_refresh_token(user["refresh_token"].as_str().unwrap());

    let run = runner.run("port-sheet", Trigger::Schedule).await.unwrap().unwrap();
    assert_eq!(
        (run.outcome, run.attempts, run.recovery, run.needs_reauth.as_deref()),
        (
            RunOutcome::Failed,
            1,
            Some(jada_core::Recovery::Operator),
            Some("workspace")
        ),
        "{:?}",
        run.error
    );
    assert_eq!(job.runs.load(Ordering::SeqCst), 1, "not retried: retrying cannot help");
    // The runner woke the alert loop (a permit is waiting for it) ...
    tokio::time::timeout(Duration::from_millis(100), runner.alerts_due.notified())
        .await
        .expect("the failed run woke the alert loop");
    // ... whose one evaluation raises one alert: the credential's, naming the job.
    let hook = hook().await;
    let specs: Vec<_> = runner.registry.specs().collect();
    let firing = jada_server::alerts::conditions(
        env.store.as_ref(),
        &specs,
        &runner.tokens.states(),
        env.clock_now(),
        env.clock_now(),
    )
    .await
    .unwrap();
    let sent = engine(&env, &hook).reconcile(&firing, env.clock_now()).await.unwrap();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].key, "credential-reauth:workspace");
    assert!(
        sent[0].summary.contains("jobs failing because of it: port-sheet"),
        "{}",
        sent[0].summary
    );
}

#[tokio::test]
async fn the_daemon_parts_come_from_one_app() {
    let emu = google_emulator::spawn().await.unwrap();
    let t = jada_testkit::test_app(
        "[[credentials]]\nname = \"workspace\"\nfile = \"secrets/workspace.json\"\nscopes = [\"https://www.googleapis.com/auth/spreadsheets\"]\n[jobs.port-sheet]\nspreadsheet_id = \"1abc\"\ncredential = \"workspace\"\nattempts = 4\n[jobs.backup]\ncommand = [\"true\"]\nschedule = \"every 1h\"\n",
        Some(&emu),
        "2024-05-03T08:00:00Z",
    );
    let worker = jada_server::setup::outbox_worker(&t.app).unwrap();
    let registry = jada_server::setup::registry(&t.app, &worker).unwrap();
    let mut names = registry.names();
    names.sort();
    assert_eq!(
        names,
        [
            "backup",
            "crew-statements",
            "dispatch",
            "monthly-report",
            "outbox",
            "port-sheet",
            "token-health"
        ]
    );
    // The configuration check knows every built-in job the registry makes.
    for n in names.iter().filter(|n| **n != "backup") {
        assert!(jada_app::jobs::BUILT_IN.iter().any(|(b, _)| b == n), "{n}");
    }
    let (spec, _) = registry.get("port-sheet").unwrap();
    assert_eq!(
        (spec.attempts, spec.credentials.clone()),
        (4, vec!["workspace".to_string()])
    );
    // One token service, one dispatcher: asked twice, the app hands out the same one.
    assert!(Arc::ptr_eq(&t.app.tokens().unwrap(), &t.app.tokens().unwrap()));
    assert!(Arc::ptr_eq(&t.app.dispatcher().unwrap(), &t.app.dispatcher().unwrap()));
    // The runner records on the app's store, at the app's (manual) clock.
    let runner = jada_server::setup::runner(&t.app, registry, "test".into(), Default::default()).unwrap();
    let run = runner.run("backup", Trigger::Manual).await.unwrap().unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    assert_eq!(run.started_at, t.clock_now());
}

/// `alerts` uses `jobs` (job specs, stale rules); `jobs` must not use `alerts` back, or
/// the two become one knot (issue 25, item 9). What both need lives in `delivery`.
#[test]
fn jobs_never_import_alerts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/jobs");
    let mut offenders = Vec::new();
    let mut files = vec![dir.with_extension("rs")];
    files.extend(std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()));
    for path in files
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "rs"))
    {
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.contains("crate::alerts") || line.contains("super::alerts") {
                offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "jobs imports alerts:\n{}", offenders.join("\n"));
}
