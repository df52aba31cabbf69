//! Issue #23's target: `/metrics` with 10,000 agent sessions in the store answers in
//! under 5 ms. The sessions all started in the last 24 hours (the window the figures
//! cover: the worst case), on a real SQLite file; each GET goes through the daemon's
//! real router over HTTP on 127.0.0.1. Prints the median and 95th percentile.
//!
//! Run: `cargo bench -p jada-server --bench metrics`

use std::sync::Arc;
use std::time::{Duration, Instant};

use jada_core::agent::{Message, Outcome, Usage};
use jada_server::http::OpsState;
use jada_server::jobs::Registry;
use jada_server::metrics::Metrics;
use jada_server::status::StatusSource;
use jada_store::{NewSession, SessionEnd, Started, TurnCost};

const SESSIONS: u64 = 10_000;

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = jada_testkit::test_app("", None, "2026-07-01T12:00:00Z");
    let now = t.clock_now();
    let store = t.app.store.clone();
    let started = Instant::now();
    rt.block_on(async {
        for i in 0..SESSIONS {
            let at = now - chrono::Duration::seconds((i * 8) as i64);
            let owner = format!("bench:{i}");
            let new = NewSession {
                playbook: ["inbox-triage", "morning-check", "weekly"][(i % 3) as usize].into(),
                input: format!("input {i}"),
                input_key: format!("bench:{i}"),
                max_turns: 30,
                owner: owner.clone(),
            };
            let Started::New(s) = store
                .start_agent_session(&new, &Message::user_text("go"), at)
                .await
                .unwrap()
            else {
                panic!("new")
            };
            let turn = TurnCost {
                usage: Usage {
                    input_tokens: 1200,
                    output_tokens: 80,
                    cache_read_tokens: 9_000,
                    cache_write_tokens: 300,
                },
                cost_micro_usd: 7_000,
                day: at.date_naive(),
                compaction: false,
            };
            store
                .append_messages(s.id, &owner, &[Message::user_text("x")], Some(turn), at)
                .await
                .unwrap();
            let outcome = [
                Outcome::Completed,
                Outcome::Completed,
                Outcome::TurnLimit,
                Outcome::ProviderError,
            ][(i % 4) as usize];
            let end = SessionEnd {
                outcome,
                handoff: None,
                error: None,
                owner: Some(owner),
            };
            store.finish_agent_session(s.id, &end, at).await.unwrap();
        }
    });
    println!("metrics: {SESSIONS} sessions stored in {:?}", started.elapsed());
    let status = Arc::new(StatusSource {
        store: store.clone(),
        tokens: t.app.tokens().unwrap(),
        registry: Registry::default(),
        clock: t.app.clock.clone(),
        zone: chrono_tz::America::Los_Angeles,
        started_at: now,
        data_dir: t.dir.path().to_path_buf(),
        fleet: jada_core::Fleet::default(),
        backups: None,
    });
    let ops = OpsState {
        store,
        status,
        admin_token: "bench".into(),
        metrics: Arc::new(Metrics::default()),
        clock: t.app.clock.clone(),
        agent: None,
        direct: None,
        shutdown: tokio_util::sync::CancellationToken::new(),
    };
    let app = jada_server::http::router(Arc::new(ops), vec![], false);
    let mut times: Vec<Duration> = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/metrics", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let http = reqwest::Client::new();
        let mut times = Vec::new();
        for i in 0..220 {
            let t0 = Instant::now();
            let body = http.get(&url).send().await.unwrap().text().await.unwrap();
            if i >= 20 {
                times.push(t0.elapsed()); // the first 20 warm the caches
            }
            assert!(
                body.contains("jada_agent_sessions{playbook=\"inbox-triage\",outcome=\"completed\"}"),
                "{body}"
            );
        }
        times
    });
    times.sort();
    let median = times[times.len() / 2];
    let p95 = times[times.len() * 95 / 100];
    println!("metrics: GET /metrics with {SESSIONS} sessions: median {median:?}, p95 {p95:?} (target: under 5 ms)");
}
