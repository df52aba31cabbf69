//! The harness: a store, a manual clock, a token service (on the emulator when a test
//! needs credentials), a registry of test jobs, and a webhook server that keeps what it
//! receives.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use jada_core::ManualClock;
use jada_google::auth::{CredentialConfig, NoStateSink, ServiceOptions, TokenService};
use jada_server::alerts::{AlertEngine, WebhookSink};
use jada_server::jobs::runner::JobRunner;
use jada_server::jobs::{Job, JobError, JobOutput, JobSpec, Registry, Schedule};
use jada_store::sqlite::SqliteStore;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A job whose outcome the test sets.
#[derive(Default)]
pub struct Switch {
    pub fail: Mutex<Option<JobError>>,
    pub runs: AtomicU32,
    pub sleep: Mutex<Option<Duration>>,
}

#[async_trait]
impl Job for Switch {
    async fn run(&self, cancel: CancellationToken) -> Result<JobOutput, JobError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let sleep = *self.sleep.lock().unwrap();
        if let Some(d) = sleep {
            tokio::select! {
                _ = tokio::time::sleep(d) => {}
                _ = cancel.cancelled() => return Err(JobError::retry("cancelled")),
            }
        }
        match self.fail.lock().unwrap().clone() {
            Some(e) => Err(e),
            None => Ok(JobOutput::done("12 rows written")),
        }
    }
}

pub struct Env {
    pub store: Arc<SqliteStore>,
    pub clock: Arc<ManualClock>,
    pub _dir: tempfile::TempDir,
}

impl Env {
    pub fn new(start: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("jada.db")).unwrap());
        Env {
            store,
            clock: Arc::new(ManualClock::new(t(start))),
            _dir: dir,
        }
    }

    pub fn advance(&self, minutes: i64) {
        self.clock.advance(chrono::Duration::minutes(minutes));
    }

    pub fn tokens(&self, creds: Vec<CredentialConfig>, opts: ServiceOptions) -> Arc<TokenService> {
        Arc::new(TokenService::new(creds, opts, self.clock.clone(), Arc::new(NoStateSink)).unwrap())
    }

    pub fn runner(&self, registry: Registry, tokens: Arc<TokenService>) -> JobRunner {
        JobRunner {
            store: self.store.clone(),
            tokens,
            clock: self.clock.clone(),
            registry,
            owner: "test-daemon".into(),
            shutdown: CancellationToken::new(),
            alerts_due: Arc::default(),
            checks: Default::default(),
            running: Default::default(),
            run_logs: vec![],
            lease: Duration::from_secs(60),
        }
    }
}

pub fn spec(name: &str) -> JobSpec {
    let mut s = JobSpec::new(name, Schedule::parse("0 */30 * * * *").unwrap());
    s.backoff = Duration::from_millis(1);
    s
}

/// A webhook receiver on 127.0.0.1 that keeps every JSON body.
pub struct Hook {
    pub url: String,
    pub received: Arc<Mutex<Vec<Value>>>,
}

pub async fn hook() -> Hook {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let r = Arc::clone(&received);
    let app = Router::new().route(
        "/hook",
        post(move |Json(v): Json<Value>| {
            let r = Arc::clone(&r);
            async move {
                r.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Hook {
        url: format!("http://{addr}/hook"),
        received,
    }
}

pub fn engine(env: &Env, hook: &Hook) -> AlertEngine {
    AlertEngine {
        store: env.store.clone(),
        sinks: vec![Arc::new(WebhookSink {
            url: hook.url.clone(),
            http: reqwest::Client::new(),
        })],
        remind_every: Duration::from_secs(6 * 3600),
    }
}

/// A job that reads a spreadsheet's tabs through the real Google client: its errors are
/// the client's typed ones, as a built-in job's are.
pub struct ReadSheet {
    pub client: jada_google::client::GoogleClient,
    pub spreadsheet: String,
    pub runs: AtomicU32,
}

#[async_trait]
impl Job for ReadSheet {
    async fn run(&self, _cancel: CancellationToken) -> Result<JobOutput, JobError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let tabs = self.client.tabs(&self.spreadsheet).await?;
        Ok(JobOutput::done(format!("{} tab(s)", tabs.len())))
    }
}

/// An authorised-user credential "workspace" for `emu` (0600, in `dir`).
pub fn emulator_credential(
    emu: &google_emulator::EmulatorHandle,
    dir: &std::path::Path,
    scopes: &[&str],
) -> (CredentialConfig, Value) {
    jada_testkit::authorized_user(emu, dir, "workspace", scopes)
}
