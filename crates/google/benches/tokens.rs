//! Issue #3's targets: a cached `get` (under 1 µs median) and a cold refresh against the
//! emulator over real HTTP (an RS256 signature, a POST, the emulator's verification).
//!
//! Run: `cargo bench -p jada-google --bench tokens`

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use jada_core::Clock;
use jada_google::auth::{CredentialConfig, NoStateSink, ServiceOptions, TokenService};

const SHEETS: &str = "https://www.googleapis.com/auth/spreadsheets";

struct Wall;

impl Clock for Wall {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(google_emulator::spawn()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sa.json");
    std::fs::write(
        &file,
        emu.create_service_account("bench@jada.iam.gserviceaccount.com")
            .to_string(),
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let creds = vec![CredentialConfig {
        name: "sync".into(),
        file,
        scopes: vec![SHEETS.into()],
        subject: None,
        token_uri: None,
    }];
    let opts = ServiceOptions {
        token_uri: emu.token_uri(),
        tokeninfo_url: emu.tokeninfo_url(),
        ..ServiceOptions::default()
    };
    let svc = TokenService::new(creds, opts, Arc::new(Wall), Arc::new(NoStateSink)).unwrap();
    rt.block_on(svc.get("sync", &[SHEETS])).unwrap();

    // The future completes on its first poll when the token is cached: poll it in place,
    // so the figure is the service's cost, not a runtime's.
    c.bench_function("cached get", |b| {
        b.iter(|| futures_poll_once(svc.get("sync", &[SHEETS])).expect("cached").unwrap())
    });
    c.bench_function("cold refresh against the emulator", |b| {
        b.iter(|| rt.block_on(svc.refresh("sync")).unwrap())
    });
}

/// Polls a future once with a no-op waker; `None` if it is not ready.
fn futures_poll_once<F: std::future::Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
