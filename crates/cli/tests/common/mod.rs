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
