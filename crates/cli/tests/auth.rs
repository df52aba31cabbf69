//! `jada auth` as a black box against the Google emulator.

mod common;
use common::*;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use google_emulator::EmulatorHandle;
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;

const SHEETS: &str = "https://www.googleapis.com/auth/spreadsheets";

/// A data directory with a private secrets folder and a jada.toml pointing at the emulator.
fn setup(emu: &EmulatorHandle, creds: &[(&str, &Value)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("data/secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut toml = format!(
        "data_dir = \"data\"\n[google]\ntoken_uri = \"{}\"\nauth_uri = \"{}\"\ntokeninfo_url = \"{}\"\n",
        emu.token_uri(),
        emu.auth_uri(),
        emu.tokeninfo_url()
    );
    for (name, file) in creds {
        let path = secrets.join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_vec(file).unwrap()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        toml +=
            &format!("[[credentials]]\nname = \"{name}\"\nfile = \"secrets/{name}.json\"\nscopes = [\"{SHEETS}\"]\n");
    }
    std::fs::write(dir.path().join("jada.toml"), toml).unwrap();
    dir
}

/// Runs a blocking command off the runtime's threads, so the emulator keeps answering.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_status_and_check_for_a_healthy_service_account() {
    let emu = google_emulator::spawn().await.unwrap();
    let key = emu.create_service_account("sync@jada-test.iam.gserviceaccount.com");
    let dir = setup(&emu, &[("sync", &key)]);
    let d = dir.path().to_path_buf();
    let out = blocking(move || jada(&d).args(["auth", "token", "sync"]).output().unwrap()).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let info: Value = reqwest::get(format!("{}?access_token={token}", emu.tokeninfo_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["scope"], SHEETS, "the printed token is live");

    let d = dir.path().to_path_buf();
    let out = blocking(move || jada(&d).args(["auth", "status", "--json"]).output().unwrap()).await;
    let states: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(states[0]["account"], "sync@jada-test.iam.gserviceaccount.com");
    assert_eq!(states[0]["kind"], "service_account");
    assert!(
        states[0]["last_refresh"].is_string(),
        "recorded in the store by the token command: {states}"
    );

    let d = dir.path().to_path_buf();
    blocking(move || {
        jada(&d)
            .args(["auth", "check"])
            .assert()
            .success()
            .stdout(contains("sync").and(contains("yes")))
    })
    .await;
    let d = dir.path().to_path_buf();
    blocking(move || {
        jada(&d)
            .args(["auth", "status"])
            .assert()
            .success()
            .stdout(contains("ok").and(contains("in 59m")))
    })
    .await;
    assert_eq!(emu.calls("token"), 1, "the second process reused the cached token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_credential_is_unhealthy_everywhere_with_the_fix() {
    let emu = google_emulator::spawn().await.unwrap();
    let client = emu.create_oauth_client();
    let user = emu.create_authorized_user(&client, &[SHEETS]);
    emu.revoke_refresh_token(user["refresh_token"].as_str().unwrap());
    let dir = setup(&emu, &[("office", &user)]);
    let d = dir.path().to_path_buf();
    blocking(move || {
        jada(&d)
            .args(["auth", "check"])
            .assert()
            .code(1)
            .stdout(contains(
                "credential `office` needs re-auth: run `jada auth login office`",
            ))
            .stderr(contains("unhealthy credential(s): office"))
    })
    .await;
    let d = dir.path().to_path_buf();
    blocking(move || {
        jada(&d)
            .args(["auth", "status"])
            .assert()
            .success()
            .stdout(contains("needs-reauth").and(contains(
                "fix: credential `office` needs re-auth: run `jada auth login office`",
            )))
    })
    .await;
    let d = dir.path().to_path_buf();
    blocking(move || {
        jada(&d)
            .args(["auth", "token", "office"])
            .assert()
            .code(1)
            .stdout("")
            .stderr(contains("jada auth login office"))
    })
    .await;
    let d = dir.path().to_path_buf();
    blocking(move || {
        jada(&d)
            .args(["auth", "token", "nobody"])
            .assert()
            .code(2)
            .stderr(contains("no credential named `nobody`"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loose_permissions_are_refused_until_hardened() {
    let emu = google_emulator::spawn().await.unwrap();
    let key = emu.create_service_account("sync@jada-test.iam.gserviceaccount.com");
    let dir = setup(&emu, &[("sync", &key)]);
    let file = dir.path().join("data/secrets/sync.json");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let d = dir.path().to_path_buf();
    blocking(move || {
        jada(&d)
            .args(["auth", "token", "sync"])
            .assert()
            .code(1)
            .stderr(contains("chmod 600").and(contains("sync.json")))
    })
    .await;
    assert_eq!(emu.calls("token"), 0);
    let d = dir.path().to_path_buf();
    blocking(move || {
        jada(&d)
            .args(["auth", "harden"])
            .assert()
            .success()
            .stdout(contains("0644 -> 0600"))
    })
    .await;
    let d = dir.path().to_path_buf();
    blocking(move || jada(&d).args(["auth", "token", "sync"]).assert().success()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_recovers_a_credential() {
    let emu = google_emulator::spawn().await.unwrap();
    let (client_id, client_secret) = emu.create_oauth_client();
    let dir = setup(&emu, &[]);
    std::fs::write(
        dir.path().join("jada.toml"),
        std::fs::read_to_string(dir.path().join("jada.toml")).unwrap()
            + &format!("[[credentials]]\nname = \"office\"\nfile = \"secrets/office.json\"\nscopes = [\"{SHEETS}\"]\n"),
    )
    .unwrap();
    let client_file = dir.path().join("client_secret.json");
    let client = serde_json::json!({"installed": {"client_id": client_id, "client_secret": client_secret}});
    std::fs::write(&client_file, client.to_string()).unwrap();

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("jada"))
        .current_dir(dir.path())
        .args([
            "auth",
            "login",
            "office",
            "--no-browser",
            "--timeout",
            "20",
            "--client-file",
        ])
        .arg(&client_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (url, rest) = blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let url = lines
            .by_ref()
            .map(|l| l.unwrap())
            .find(|l| l.trim_start().starts_with("http"))
            .unwrap()
            .trim()
            .to_string();
        (url, lines)
    })
    .await;
    // The browser: the consent page approves and redirects to jada's loopback listener.
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("You can close this tab"), "{page}");
    let status = blocking(move || child.wait().unwrap()).await;
    let rest: Vec<String> = blocking(move || rest.map(|l| l.unwrap()).collect()).await;
    assert!(status.success(), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("credential `office` works")), "{rest:?}");
    let written = dir.path().join("data/secrets/office.json");
    assert_eq!(std::fs::metadata(&written).unwrap().permissions().mode() & 0o777, 0o600);
    let d = dir.path().to_path_buf();
    blocking(move || jada(&d).args(["auth", "token", "office"]).assert().success()).await;
}

/// What a webhook received: each POST's body, with the time it arrived.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, Value)>>>;

/// A webhook receiver on 127.0.0.1 (plain HTTP/1.1 on a thread).
fn webhook() -> (String, Received) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Received = Default::default();
    let keep = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            if let Ok(v) = serde_json::from_slice(&body) {
                keep.lock().unwrap().push((std::time::Instant::now(), v));
            }
            let mut s = stream;
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_revoked_before_start_is_alerted_within_seconds() {
    let emu = google_emulator::spawn().await.unwrap();
    let client = emu.create_oauth_client();
    let user = emu.create_authorized_user(&client, &[SHEETS]);
    emu.revoke_refresh_token(user["refresh_token"].as_str().unwrap());
    let dir = setup(&emu, &[("workspace", &user)]);
    let (url, got) = webhook();
    let toml = std::fs::read_to_string(dir.path().join("jada.toml")).unwrap();
    std::fs::write(
        dir.path().join("jada.toml"),
        format!("{toml}[[alerts.webhook]]\nurl = \"{url}\"\n"),
    )
    .unwrap();
    let d = dir.path().to_path_buf();
    let started = std::time::Instant::now();
    let (child, _) = blocking(move || serve(&d)).await;
    let _serve = Running(child);
    let deadline = started + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline && got.lock().unwrap().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // A moment more: a second (duplicate) alert would arrive now if there were one.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one webhook, within 5 s of the start: {got:?}");
    let (at, body) = &got[0];
    assert!(*at <= deadline, "it came after {:?}", *at - started);
    assert_eq!(body["alert"], "credential-reauth:workspace", "{body}");
    assert_eq!(body["status"], "firing");
}
