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
    poll(what, Duration::from_secs(15), || f().then_some(()));
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

#[test]
fn the_root_leads_to_the_office_and_unknown_paths_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (child, url) = serve(d);
    let _serve = Running(child);
    let http = client();
    // No office users: `/` and `/office` say how to turn the office pages on.
    let r = http.get(format!("{url}/")).send().unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let r = http.get(format!("{url}{to}")).send().unwrap();
    assert_eq!(r.status(), 404);
    let text = r.text().unwrap();
    assert!(text.contains("[office]") && text.contains("users = "), "{text}");
    let r = http.get(format!("{url}/office")).send().unwrap();
    assert!(r.text().unwrap().contains("The office pages are off"));
    // An unknown path is a 404, not the booking API's key error; the API keeps its 401.
    let r = http.get(format!("{url}/nope")).send().unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<serde_json::Value>().unwrap()["code"], "not_found");
    assert_eq!(
        http.get(format!("{url}/api/charters?month=2031-07"))
            .send()
            .unwrap()
            .status(),
        401
    );
}

#[test]
fn the_root_opens_the_office_pages_when_they_are_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("jada.toml"), "[office]\nusers = [\"office@example.com\"]\n").unwrap();
    let (child, url) = serve(d);
    let _serve = Running(child);
    let r = client().get(format!("{url}/")).send().unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()["location"], "/office");
}

#[test]
fn a_second_daemon_on_one_data_directory_refuses_and_a_taken_port_fails_first() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (child, url) = serve(d);
    let first = Running(child);
    let pid = first.0.id();
    // The same data directory: refused, naming the holder, on any port.
    jada(d)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(1)
        .stderr(contains("another `jada serve` is already running").and(contains(format!("pid {pid}"))));
    // A taken port: refused before anything is loaded (no data directory is made).
    let other = tempfile::tempdir().unwrap();
    let port = url.rsplit(':').next().unwrap().to_string();
    jada(other.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(1)
        .stderr(contains(format!("cannot listen on 127.0.0.1:{port}")));
    assert!(!other.path().join("jada-data").exists(), "nothing was made");
    drop(first);
    // Once the first daemon is gone, the directory is free again.
    let (child, _) = serve(d);
    drop(Running(child));
}

#[test]
fn the_cli_finds_a_daemon_started_with_listen() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init_with_a_captain(d);
    let (child, url) = serve_with(d, &["--listen", "127.0.0.1:0"], &[], std::process::Stdio::null());
    assert!(!url.ends_with(":8080"));
    // doctor with no --remote finds it (not the default port); a bare HOST:PORT works too.
    let out = jada(d).args(["doctor", "--json"]).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["report"]["daemon"]["pid"].as_u64() == Some(child.id() as u64),
        "{report}"
    );
    let bare = url.trim_start_matches("http://");
    let out = jada(d).args(["doctor", "--json", "--remote", bare]).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["report"]["daemon"].is_object(), "{report}");
    // Links the CLI prints reach that daemon.
    let out = jada(d).args(["dispatch", "link", "cap"]).output().unwrap();
    let link = String::from_utf8_lossy(&out.stdout);
    assert!(link.contains(&format!("{url}/c/")), "{link} should point at {url}");
    // Another business's folder, configured with that daemon's port and no daemon of its
    // own: doctor reads its own store and never asks (or sends a token to) the other.
    let other = tempfile::tempdir().unwrap();
    init_with_a_captain(other.path());
    let toml = std::fs::read_to_string(other.path().join("jada.toml")).unwrap();
    let pointed = toml.replacen("listen = \"127.0.0.1:8080\"", &format!("listen = \"{bare}\""), 1);
    assert_ne!(pointed, toml);
    std::fs::write(other.path().join("jada.toml"), pointed).unwrap();
    let out = jada(other.path()).args(["doctor", "--json"]).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["report"]["daemon"].is_null(),
        "not the other folder's daemon: {report}"
    );
    // --remote needs only the token: from a folder with no data directory at all.
    let empty = tempfile::tempdir().unwrap();
    let token = std::fs::read_to_string(d.join("jada-data/secrets/admin-token")).unwrap();
    let out = jada(empty.path())
        .env("JADA_ADMIN_TOKEN", token.trim())
        .args(["doctor", "--json", "--remote", &url])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["report"]["daemon"]["pid"].as_u64(),
        Some(child.id() as u64),
        "{report}"
    );
    assert!(!empty.path().join("jada-data").exists(), "nothing made locally");
    sigterm(&child);
    let mut child = child;
    child.wait().unwrap();
    assert!(
        !d.join("jada-data/daemon.json").exists(),
        "a stopped daemon is not announced"
    );
    let out = jada(d).args(["doctor", "--json"]).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["report"]["daemon"].is_null());
}

#[test]
fn slow_and_silent_connections_are_closed_and_healthz_answers_during_300_of_them() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jada.toml"), "[server]\nheader_timeout = \"2s\"\n").unwrap();
    let (child, url) = serve(dir.path());
    let _daemon = Running(child);
    let addr = url.trim_start_matches("http://").to_string();

    // Half a request line, then nothing: closed within the header timeout.
    let mut slow = TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /hea").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 512];
    let n = slow.read(&mut buf).unwrap_or(0);
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
    assert!(
        n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );

    // 300 silent connections do not keep /healthz from answering.
    let silent: Vec<TcpStream> = (0..300).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    let started = Instant::now();
    let r = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(format!("{url}/healthz"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    // And they are all closed by the server soon after.
    std::thread::sleep(Duration::from_secs(3));
    let mut closed = 0;
    for mut s in silent {
        s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        if matches!(s.read(&mut buf), Ok(0)) {
            closed += 1;
        }
    }
    assert_eq!(closed, 300, "every silent connection was closed by the daemon");
}

#[test]
fn readyz_reports_what_a_write_would_meet() {
    let dir = tempfile::tempdir().unwrap();
    let (child, url) = serve(dir.path());
    let _daemon = Running(child);
    let r = reqwest::blocking::get(format!("{url}/readyz")).unwrap();
    assert_eq!(r.status(), 200);
    // A full disk, as the kernel answers it: the probe file now leads to /dev/full.
    let probe = dir.path().join("jada-data/.readyz-probe");
    std::fs::remove_file(&probe).unwrap();
    std::os::unix::fs::symlink("/dev/full", &probe).unwrap();
    let r = reqwest::blocking::get(format!("{url}/readyz")).unwrap();
    assert_eq!(r.status(), 503);
    let body = r.text().unwrap();
    assert!(
        body.contains("No space left on device") && body.contains("free disk space"),
        "{body}"
    );
    // /healthz still says the process is alive: liveness and readiness differ.
    assert_eq!(reqwest::blocking::get(format!("{url}/healthz")).unwrap().status(), 200);
}

#[test]
fn a_log_that_cannot_be_written_is_counted_and_the_daemon_serves_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let full = || std::process::Stdio::from(std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap());
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("jada"))
        .current_dir(d)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("JADA_LOG", "debug")
        .env_remove("JADA_CONFIG")
        .env_remove("JADA_DATA_DIR")
        .stdout(full())
        .stderr(full())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    wait_for("the daemon to answer", || {
        reqwest::blocking::get(format!("{url}/healthz")).is_ok_and(|r| r.status() == 200)
    });
    for _ in 0..20 {
        assert_eq!(reqwest::blocking::get(format!("{url}/healthz")).unwrap().status(), 200);
    }
    let metrics = reqwest::blocking::get(format!("{url}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    let failures: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("jada_log_write_failures_total "))
        .expect("the counter is exported")
        .parse()
        .unwrap();
    assert!(failures > 0.0, "{metrics}");
    let out = jada(d).args(["doctor", "--remote", &url]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("log line(s) could not be written"));
    sigterm(&child);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a clean stop, not a panic");
}

/// stderr a pipe nobody reads (a stalled journald): at `debug` the pipe fills within a
/// few requests, and still every request is answered, the lines that cannot wait are
/// dropped and counted, and SIGTERM stops the daemon promptly.
#[test]
fn a_stuck_stderr_never_stops_the_daemon_or_its_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("jada"))
        .current_dir(d)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("JADA_LOG", "debug")
        .env_remove("JADA_CONFIG")
        .env_remove("JADA_DATA_DIR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Held open and never read: the pipe's 64 KiB fill and every write would block.
    let _unread = child.stderr.take();
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    wait_for("the daemon to answer", || {
        http.get(format!("{url}/healthz"))
            .send()
            .is_ok_and(|r| r.status() == 200)
    });
    let dropped = || -> f64 {
        let metrics = http.get(format!("{url}/metrics")).send().unwrap().text().unwrap();
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("jada_log_write_failures_total "))
            .expect("the counter is exported")
            .parse()
            .unwrap()
    };
    poll("log lines dropped, not waited for", Duration::from_secs(60), || {
        for _ in 0..50 {
            let r = http
                .get(format!("{url}/healthz"))
                .send()
                .expect("answered despite the stuck log");
            assert_eq!(r.status(), 200);
        }
        (dropped() > 0.0).then_some(())
    });
    sigterm(&child);
    let started = Instant::now();
    let status = poll("the daemon to stop on SIGTERM", Duration::from_secs(15), || {
        child.try_wait().unwrap()
    });
    assert_eq!(status.code(), Some(0), "a clean stop after {:?}", started.elapsed());
}

#[test]
fn after_a_kill_9_the_restarted_daemon_takes_the_dead_ones_outbox_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    jada(d).arg("init").assert().success();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let (mut child, url) = serve_with(d, &["--listen", &listen], &[], std::process::Stdio::null());
    let out = jada(d).args(["api-key", "create", "burst"]).output().unwrap();
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    // A burst of API writes, and SIGKILL in the middle of it.
    let burst = {
        let (url, key) = (url.clone(), key.clone());
        std::thread::spawn(move || {
            let http = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap();
            for i in 0..60 {
                let body = serde_json::json!({"charter_date": format!("2031-08-{:02}", 1 + i % 28), "start_time": format!("{:02}:00", 6 + i % 12),
                    "end_time": format!("{:02}:30", 6 + i % 12), "vessel_name": "Marlin", "guest_name": format!("Guest {i}"),
                    "guest_count": 2, "reportable_revenue": "100"});
                let _ = http
                    .post(format!("{url}/api/charters"))
                    .bearer_auth(&key)
                    .json(&body)
                    .send();
            }
        })
    };
    std::thread::sleep(Duration::from_millis(150));
    let dead = child.id();
    child.kill().unwrap();
    child.wait().unwrap();
    burst.join().unwrap();
    // Changes made while it is down wait in the outbox...
    let mut csv = String::from(
        "charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue\n",
    );
    for i in 0..10 {
        csv.push_str(&format!(
            "20000000-0000-4000-8000-0000000000{i:02},2031-09-{:02},10:00,12:00,Marlin,Late {i},2,100\n",
            2 + i
        ));
    }
    std::fs::write(d.join("late.csv"), csv).unwrap();
    jada(d).args(["charters", "import", "late.csv"]).assert().success();
    // ... and what a daemon killed mid-drain leaves behind is made certain: its outbox
    // job lease and claims on every pending event, for ten minutes.
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    let script = format!(
        "import sqlite3, datetime, sys\n\
         db = sqlite3.connect(sys.argv[1])\n\
         later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10)).strftime('%Y-%m-%dT%H:%M:%S.000000Z')\n\
         db.execute(\"INSERT OR REPLACE INTO leases (name, owner, expires_at) VALUES ('job:outbox', '{host}:{dead}', ?)\", (later,))\n\
         db.execute(\"UPDATE outbox SET claimed_until = ? WHERE status = 'pending'\", (later,))\n\
         db.commit()\n"
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script, d.join("jada-data/jada.db").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let (restarted, _) = serve_with(d, &["--listen", &listen], &[], std::process::Stdio::null());
    let _daemon = Running(restarted);
    let started = Instant::now();
    loop {
        let out = jada(d).args(["doctor", "--json"]).output().unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        if report["report"]["outbox_pending"] == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "events still pending after 5 s: {}",
            report["report"]["outbox_pending"]
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_quiet_job_says_when_it_last_checked_not_never_succeeded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (child, url) = serve(d);
    let _daemon = Running(child);
    wait_for("the outbox job's first check", || {
        let out = jada(d).args(["jobs", "list"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.starts_with("outbox") && l.contains("nothing to do"))
    });
    let out = jada(d).args(["jobs", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let outbox = text.lines().find(|l| l.starts_with("outbox")).unwrap();
    let zoned = |l: &str| l.contains(" PST") || l.contains(" PDT");
    assert!(
        zoned(outbox),
        "instants in the business zone (America/Los_Angeles by default): {outbox}"
    );
    assert!(
        outbox.contains("nothing to do") && outbox.ends_with(" ok") && !outbox.contains("never"),
        "{outbox}"
    );
    let out = jada(d).args(["doctor", "--remote", &url]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("job `outbox`: last checked"), "{text}");
    let since = text.lines().find(|l| l.contains("daemon up since")).unwrap();
    assert!(zoned(since), "{since}");
    assert!(!text.contains("job `outbox`: never succeeded"), "{text}");
}
