//! The shipped systemd unit keeps the contract the daemon relies on.

#[test]
fn the_unit_file_is_notify_type_with_watchdog_restart_and_sandboxing() {
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/jada.service")).unwrap();
    let lines: Vec<&str> = unit.lines().map(str::trim).collect();
    for key in [
        "Type=notify",
        "WatchdogSec=60s",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/jada",
        "PrivateTmp=yes",
        "ExecStart=/usr/local/bin/jada serve",
        "Environment=JADA_DATA_DIR=/var/lib/jada",
    ] {
        assert!(lines.contains(&key), "deploy/jada.service lacks `{key}`");
    }
    // The stop timeout must outlast the default shutdown grace (20 s) so jobs can drain.
    let stop: u64 = lines
        .iter()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .and_then(|v| v.trim_end_matches('s').parse().ok())
        .unwrap();
    assert!(stop > 20);
}

/// `systemd-analyze` (where the machine has it) finds the unit valid and its exposure
/// under 2.0: sandboxed as far as a daemon that talks to Google, AWS and an LLM can be.
#[test]
fn the_unit_verifies_and_scores_under_two_on_systemd_analyze_security() {
    let Ok(version) = std::process::Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("no systemd-analyze here: skipped (Debian's `systemd` package has it)");
        return;
    };
    assert!(version.status.success());
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/jada.service")).unwrap();
    // The unit as installed, with the binary this test built where it will be.
    let path = dir.path().join("jada.service");
    std::fs::write(
        &path,
        unit.replace(
            "/usr/local/bin/jada",
            assert_cmd::cargo::cargo_bin("jada").to_str().unwrap(),
        ),
    )
    .unwrap();
    let verify = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let security = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&security.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for jada.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no score in:\n{text}\n{}", String::from_utf8_lossy(&security.stderr)));
    assert!(score < 2.0, "exposure {score}:\n{text}");
}
