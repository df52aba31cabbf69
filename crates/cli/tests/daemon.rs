//! `jada serve` as a process: signals, crashes, and `jada doctor` against it.

mod common;
use common::*;

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use predicates::str::contains;
use serde_json::Value;

fn history(dir: &Path, job: &str) -> Vec<Value> {
    let out = jada(dir).args(["jobs", "history", job, "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn sigterm(child: &Child) {
    // SAFETY: kill(2) with a child's pid and a valid signal number.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
}

const SLOW: &str = "[server]\nshutdown_grace = \"1s\"\n[jobs.slow]\nschedule = \"every 1h\"\nrun_at_start = true\ncommand = [\"sleep\", \"30\"]\n";

#[test]
fn sigterm_during_a_long_job_exits_0_within_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jada.toml"), SLOW).unwrap();
    let (mut child, url) = serve(dir.path());
    assert_eq!(
        reqwest::blocking::get(format!("{url}/healthz"))
            .unwrap()
            .text()
            .unwrap(),
        "ok\n"
    );
    wait_for("the slow job to start", || {
        history(dir.path(), "slow")
            .first()
            .is_some_and(|r| r["outcome"] == "running")
    });

    let asked = Instant::now();
    sigterm(&child);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a clean exit");
    assert!(
        asked.elapsed() < Duration::from_secs(8),
        "within the grace period: {:?}",
        asked.elapsed()
    );
    let run = &history(dir.path(), "slow")[0];
    assert_eq!(run["outcome"], "failed", "{run}");
    assert!(
        run["error"].as_str().unwrap().contains("stopped before it finished"),
        "{run}"
    );
}

#[test]
fn sigkill_mid_run_leaves_a_run_marked_abandoned_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jada.toml"), SLOW).unwrap();
    let (mut child, _) = serve(dir.path());
    wait_for("the slow job to start", || {
        history(dir.path(), "slow")
            .first()
            .is_some_and(|r| r["outcome"] == "running")
    });
    child.kill().unwrap(); // SIGKILL: no chance to record anything
    child.wait().unwrap();
    assert_eq!(
        history(dir.path(), "slow")[0]["outcome"],
        "running",
        "the record still says running"
    );

    let (mut again, _) = serve(dir.path());
    let runs = history(dir.path(), "slow");
    let killed = runs
        .iter()
        .find(|r| r["outcome"] == "abandoned")
        .expect("the killed run is marked abandoned");
    assert!(killed["error"].as_str().unwrap().contains("stopped before it finished"));
    sigterm(&again);
    assert_eq!(again.wait().unwrap().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_a_revoked_credential_and_the_fix() {
    let emu = google_emulator::spawn().await.unwrap();
    let client = emu.create_oauth_client();
    let user = emu.create_authorized_user(&client, &["https://www.googleapis.com/auth/gmail.send"]);
    emu.revoke_refresh_token(user["refresh_token"].as_str().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets_dir(dir.path());
    write_private(&secrets.join("office.json"), &user.to_string());
    let toml = format!(
        "[google]\ntoken_uri = \"{}\"\ntokeninfo_url = \"{}\"\n[[credentials]]\nname = \"office\"\nfile = \"secrets/office.json\"\nscopes = [\"https://www.googleapis.com/auth/gmail.send\"]\n",
        emu.token_uri(),
        emu.tokeninfo_url()
    );
    std::fs::write(dir.path().join("jada.toml"), toml).unwrap();
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let (mut child, url) = serve(&d);
        // token-health runs at start and finds the credential refused.
        wait_for("token-health to run", || !history(&d, "token-health").is_empty());
        jada(&d)
            .args(["doctor", "--remote", &url])
            .assert()
            .code(1)
            .stdout(contains("daemon up since").and(contains(
                "credential `office` needs re-auth: run `jada auth login office`",
            )))
            .stderr(contains("problem(s) found"));
        let json = jada(&d).args(["doctor", "--json", "--remote", &url]).output().unwrap();
        let v: Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(v["healthy"], false);
        sigterm(&child);
        assert_eq!(child.wait().unwrap().code(), Some(0));
        // With the daemon down, doctor says so (and still reads the store).
        jada(&d)
            .arg("doctor")
            .assert()
            .code(1)
            .stdout(contains("the daemon is not running"));
    })
    .await
    .unwrap();
}

use predicates::prelude::PredicateBooleanExt;
