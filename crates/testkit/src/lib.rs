//! What jada's tests share, so each suite does not build its own: a test [`App`] on a
//! temporary data directory (SQLite file, secrets, outbox) with a manual clock and, when
//! asked, every Google endpoint on the emulator; credentials the emulator issues, written
//! as Google's own files (0600); and the independent Python readers (openpyxl for xlsx,
//! Python's `email` for MIME) that check what jada writes.
//!
//! A dev-dependency only: no production crate imports it.

#[cfg(feature = "aws")]
pub mod dynamo;

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use google_emulator::EmulatorHandle;
use jada_app::{App, Config, Source};
use jada_core::ManualClock;
use jada_google::auth::{CredentialConfig, NoStateSink, ServiceOptions, TokenService};
use jada_google::client::{Endpoints, GoogleClient};
use serde_json::Value;

/// An [`App`] on its own temporary data directory, with a clock the test moves.
pub struct TestApp {
    pub app: App,
    pub clock: Arc<ManualClock>,
    /// The data directory (removed when the test ends).
    pub dir: tempfile::TempDir,
}

/// A test app at `now`, configured by the defaults plus `toml` (e.g. `[[vessels]]`,
/// `[jobs.port-sheet]`); with `emu`, every Google endpoint is the emulator's.
pub fn test_app(toml: &str, emu: Option<&EmulatorHandle>, now: &str) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut text = toml.to_string();
    if let Some(emu) = emu {
        let base = emu.base_url();
        text.push_str(&format!(
            "\n[google]\ntoken_uri = \"{}\"\ntokeninfo_url = \"{}\"\nsheets_url = \"{base}\"\ndrive_url = \"{base}\"\ngmail_url = \"{base}\"\n",
            emu.token_uri(),
            emu.tokeninfo_url()
        ));
    }
    let file = dir.path().join("jada.toml");
    std::fs::write(&file, text).unwrap();
    let config = Config::load(&Source::Explicit(file), Some(&dir.path().join("data"))).unwrap();
    let clock = Arc::new(ManualClock::new(now.parse::<DateTime<Utc>>().unwrap()));
    let app = App::open(config).unwrap().with_clock(clock.clone());
    TestApp { app, clock, dir }
}

/// Writes a Google credential file as Google's tools do (0600).
pub fn write_private(path: &Path, v: &Value) {
    std::fs::write(path, v.to_string()).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// An `authorized_user` credential named `name` from the emulator, written in `dir`.
/// Returns its configuration and the file (with its refresh token, to revoke it).
pub fn authorized_user(emu: &EmulatorHandle, dir: &Path, name: &str, scopes: &[&str]) -> (CredentialConfig, Value) {
    let client = emu.create_oauth_client();
    let user = emu.create_authorized_user(&client, scopes);
    let file = dir.join(format!("{name}.json"));
    write_private(&file, &user);
    (credential(name, file, scopes, None), user)
}

/// A service account `account` from the emulator (acting as `subject`, with delegation
/// allowed, when given), its key written in `dir`, configured as credential `name`.
pub fn service_account(
    emu: &EmulatorHandle,
    dir: &Path,
    name: &str,
    account: &str,
    scopes: &[&str],
    subject: Option<&str>,
) -> CredentialConfig {
    let key = emu.create_service_account(account);
    if let Some(user) = subject {
        emu.allow_delegation(account, user);
    }
    let file = dir.join(format!("{account}.json"));
    write_private(&file, &key);
    credential(name, file, scopes, subject)
}

fn credential(name: &str, file: std::path::PathBuf, scopes: &[&str], subject: Option<&str>) -> CredentialConfig {
    CredentialConfig {
        name: name.into(),
        file,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        subject: subject.map(str::to_string),
        token_uri: None,
    }
}

/// A token service on the emulator for `creds`, on the real clock, recording nothing.
pub fn token_service(emu: &EmulatorHandle, creds: Vec<CredentialConfig>) -> Arc<TokenService> {
    let opts = ServiceOptions {
        token_uri: emu.token_uri(),
        ..ServiceOptions::default()
    };
    Arc::new(TokenService::new(creds, opts, Arc::new(jada_ops::SystemClock), Arc::new(NoStateSink)).unwrap())
}

/// A Google client acting as `credential`, with every API on the emulator.
pub fn google_client(emu: &EmulatorHandle, tokens: Arc<TokenService>, credential: &str) -> GoogleClient {
    GoogleClient::new(&Endpoints::all_at(emu.base_url()), tokens, credential)
}

/// openpyxl's Python: `OPENPYXL_PYTHON` (set by scripts/test), else the repo's .venv.
pub fn python() -> String {
    std::env::var("OPENPYXL_PYTHON")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python").to_string())
}

/// Runs a Python script (the independent reader) with `args`; returns the JSON it prints.
pub fn run_python<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(script: &str, args: I) -> Value {
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

impl TestApp {
    /// The test clock's "now".
    pub fn clock_now(&self) -> DateTime<Utc> {
        use jada_core::Clock;
        self.clock.now()
    }
}
