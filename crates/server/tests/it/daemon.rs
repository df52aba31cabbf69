//! The daemon in-process: health, readiness, metrics, the status API, and a clean stop.

use std::sync::Arc;
use std::time::Duration;

use jada_google::auth::ServiceOptions;
use jada_server::alerts::{AlertEngine, LogSink};
use jada_server::daemon::{Daemon, Shared, Timing};
use jada_server::jobs::{Registry, Schedule};
use jada_server::metrics::Metrics;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_status_over_http_then_a_clean_stop() {
    let env = Env::new("2024-05-03T08:00:00Z");
    let mut registry = Registry::default();
    let mut s = spec("port-sheet");
    s.schedule = Schedule::parse("every 1h").unwrap();
    s.run_at_start = true;
    registry.register(s, Arc::new(Switch::default()));
    let mut runner = env.runner(registry, env.tokens(vec![], ServiceOptions::default()));
    let abort = CancellationToken::new();
    runner.shutdown = abort.clone();
    let shared = Arc::new(Shared {
        store: env.store.clone(),
        tokens: runner.tokens.clone(),
        runner,
        clock: env.clock.clone(),
        zone: chrono_tz::America::Los_Angeles,
        started_at: env.clock_now(),
        admin_token: "s3cret-admin-token".into(),
        metrics: Arc::new(Metrics::default()),
        data_dir: env._dir.path().to_path_buf(),
        crew: None,
        office: None,
        api: None,
        stuck_after: Default::default(),
        agent: None,
        tasks: tokio_util::task::TaskTracker::new(),
        fleet: jada_core::Fleet::default(),
        backups: None,
        direct: None,
        public_url: String::new(),
    });
    let daemon = Daemon {
        shared: Arc::clone(&shared),
        alerts: AlertEngine {
            store: env.store.clone(),
            sinks: vec![Arc::new(LogSink)],
            remind_every: Duration::from_secs(3600),
        },
        timing: Timing {
            grace: Duration::from_secs(2),
            ..Timing::default()
        },
        abort,
    };
    let stop = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let running = tokio::spawn(daemon.run(listener, stop.clone(), move |addr| tx.send(addr).unwrap()));
    rx.await.unwrap();

    let http = reqwest::Client::new();
    assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ready\n"
    );
    // The start-up run of port-sheet happens promptly.
    let mut ran = false;
    for _ in 0..50 {
        if shared.metrics.job_runs().values().sum::<u64>() > 0 {
            ran = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ran, "the run_at_start job ran");

    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "# TYPE jada_job_runs_total counter",
        "jada_job_runs_total{job=\"port-sheet\",outcome=\"succeeded\"} 1",
        "jada_job_last_success_timestamp_seconds{job=\"port-sheet\"}",
        "jada_outbox_pending_events 0",
        "jada_dead_letters 0",
        "jada_http_requests_total{path=\"/healthz\",status=\"200\"} 1",
    ] {
        assert!(metrics.contains(needle), "missing `{needle}` in:\n{metrics}");
    }

    let denied = http.get(format!("{base}/api/status")).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    let body: Value = denied.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    let wrong = http
        .get(format!("{base}/api/status"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let report: Value = http
        .get(format!("{base}/api/status"))
        .bearer_auth("s3cret-admin-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["jobs"][0]["name"], "port-sheet");
    assert_eq!(report["jobs"][0]["last_run"]["outcome"], "succeeded");
    assert!(report["daemon"]["started_at"].is_string());

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("stops within the grace period")
        .unwrap()
        .unwrap();
    assert!(
        http.get(format!("{base}/healthz")).send().await.is_err(),
        "the listener is closed"
    );
}
