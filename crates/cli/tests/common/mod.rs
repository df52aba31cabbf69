//! Helpers shared by the CLI's black-box tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// `jada` run in `dir`, with no JADA_* variables from the caller's environment.
pub fn jada(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("jada").unwrap();
    cmd.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("JADA_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Creates `<dir>/jada-data/secrets` with mode 0700 and returns it.
pub fn secrets_dir(dir: &Path) -> PathBuf {
    let secrets = dir.join("jada-data/secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o700)).unwrap();
    secrets
}

/// Writes a secret file (a credential) with mode 0600.
pub fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Starts `jada serve` in `dir` (with `args` after `serve`, e.g. `--listen`) and waits
/// until it says it is ready; returns the child and its URL. Its log goes to `log`.
pub fn serve_with(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    log: std::process::Stdio,
) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("jada"));
    cmd.current_dir(dir).arg("serve").args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("JADA_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.starts_with("jada is running at "))
        .expect("a ready line");
    std::thread::spawn(move || for _ in lines {});
    let url = line
        .trim_start_matches("jada is running at ")
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    (child, url)
}

/// `jada serve --listen 127.0.0.1:0` with its log discarded.
pub fn serve(dir: &Path) -> (std::process::Child, String) {
    serve_with(dir, &["--listen", "127.0.0.1:0"], &[], std::process::Stdio::null())
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
