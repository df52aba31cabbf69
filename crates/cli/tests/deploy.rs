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
