//! The test harness: an emulator, a private secrets directory, credential files written
//! the way Google's tools write them, and a token service wired to both.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use google_emulator::EmulatorHandle;
use jada_core::{CredentialState, ManualClock};
use jada_google::auth::{CredentialConfig, CredentialStateSink, ServiceOptions, TokenService};
use serde_json::Value;

pub const SHEETS: &str = "https://www.googleapis.com/auth/spreadsheets";
pub const DRIVE: &str = "https://www.googleapis.com/auth/drive";

/// Keeps every state the service records, newest last.
#[derive(Default)]
pub struct RecordingSink(pub Mutex<Vec<CredentialState>>);

#[async_trait]
impl CredentialStateSink for RecordingSink {
    async fn save(&self, state: &CredentialState) {
        self.0.lock().unwrap().push(state.clone());
    }
}

impl RecordingSink {
    pub fn last(&self, name: &str) -> CredentialState {
        self.0
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|s| s.name == name)
            .cloned()
            .expect("a recorded state")
    }
}

pub struct TestEnv {
    pub emu: EmulatorHandle,
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub sink: Arc<RecordingSink>,
    pub creds: Vec<CredentialConfig>,
    pub opts: ServiceOptions,
}

impl TestEnv {
    pub async fn new() -> TestEnv {
        let emu = google_emulator::spawn().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("secrets")).unwrap();
        std::fs::set_permissions(dir.path().join("secrets"), std::fs::Permissions::from_mode(0o700)).unwrap();
        let opts = ServiceOptions {
            token_uri: emu.token_uri(),
            tokeninfo_url: emu.tokeninfo_url(),
            request_timeout: Duration::from_millis(1500),
            backoff_base: Duration::from_millis(5),
            cache_file: Some(dir.path().join("secrets/unified-token.json")),
            secrets_dir: Some(dir.path().join("secrets")),
            ..ServiceOptions::default()
        };
        TestEnv {
            emu,
            dir,
            clock: Arc::new(ManualClock::new(Utc::now())),
            sink: Arc::default(),
            creds: vec![],
            opts,
        }
    }

    pub fn secrets(&self) -> PathBuf {
        self.dir.path().join("secrets")
    }

    /// Writes a credential file privately and configures it.
    pub fn add(&mut self, name: &str, file: &Value, scopes: &[&str]) -> PathBuf {
        let path = self.secrets().join(format!("{name}.json"));
        write_private(&path, file);
        self.creds.push(CredentialConfig {
            name: name.into(),
            file: path.clone(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            subject: None,
            token_uri: None,
        });
        path
    }

    /// A service account `name@jada-test.iam.gserviceaccount.com`, configured for `scopes`.
    pub fn add_service_account(&mut self, name: &str, scopes: &[&str]) -> Value {
        let key = self
            .emu
            .create_service_account(&format!("{name}@jada-test.iam.gserviceaccount.com"));
        self.add(name, &key, scopes);
        key
    }

    /// A user credential (authorized_user), configured for `scopes`.
    pub fn add_user(&mut self, name: &str, scopes: &[&str]) -> Value {
        let client = self.emu.create_oauth_client();
        let file = self.emu.create_authorized_user(&client, scopes);
        self.add(name, &file, scopes);
        file
    }

    pub fn service(&self) -> TokenService {
        TokenService::new(
            self.creds.clone(),
            self.opts.clone(),
            self.clock.clone(),
            self.sink.clone(),
        )
        .unwrap()
    }

    /// Moves both clocks, ours and the emulator's, so time passes for everyone.
    pub fn advance(&self, secs: i64) {
        self.clock.advance(chrono::Duration::seconds(secs));
        let offset = (self.clock.now_secs() - Utc::now().timestamp()).max(0);
        self.emu.set_clock_offset(offset);
    }
}

trait NowSecs {
    fn now_secs(&self) -> i64;
}

impl NowSecs for ManualClock {
    fn now_secs(&self) -> i64 {
        jada_core::Clock::now(self).timestamp()
    }
}

pub fn write_private(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
