//! Helpers shared by the ops tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::ffi::OsStr;
use std::process::Command;

/// openpyxl's Python: `OPENPYXL_PYTHON` (set by scripts/test), else the repo's .venv.
pub fn python() -> String {
    std::env::var("OPENPYXL_PYTHON")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python").to_string())
}

/// Runs a Python script (the independent reader) with `args`; returns the JSON it prints.
pub fn run_python<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(script: &str, args: I) -> serde_json::Value {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; run scripts/test, which installs openpyxl in .venv",
                python()
            )
        });
    assert!(
        out.status.success(),
        "the Python reader failed (run scripts/test to install openpyxl): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A Google client for credential "workspace": a new service account `account` on the
/// emulator (acting as `subject` when given, with delegation allowed), its key file
/// written 0600 in `dir`, and a token service for `scopes`.
pub async fn client(
    emu: &google_emulator::EmulatorHandle,
    dir: &std::path::Path,
    account: &str,
    scopes: &[&str],
    subject: Option<&str>,
) -> jada_google::client::GoogleClient {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    use jada_google::auth::{CredentialConfig, NoStateSink, ServiceOptions, TokenService};

    let key = emu.create_service_account(account);
    if let Some(user) = subject {
        emu.allow_delegation(account, user);
    }
    let file = dir.join(format!("{account}.json"));
    std::fs::write(&file, key.to_string()).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let creds = vec![CredentialConfig {
        name: "workspace".into(),
        file,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        subject: subject.map(str::to_string),
        token_uri: None,
    }];
    let opts = ServiceOptions {
        token_uri: emu.token_uri(),
        ..ServiceOptions::default()
    };
    let tokens = TokenService::new(creds, opts, Arc::new(jada_ops::SystemClock), Arc::new(NoStateSink)).unwrap();
    jada_google::client::GoogleClient::new(
        &jada_google::client::Endpoints::all_at(emu.base_url()),
        Arc::new(tokens),
        "workspace",
    )
}
