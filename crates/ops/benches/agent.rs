//! Issue #15's target: jada's own overhead per agent turn (store commit, tool dispatch,
//! transcript build) with the LLM emulator answering at once, at 10, 30 and 100 turns —
//! it must not grow quadratically in a way that matters at 100 turns — and 50 sessions
//! at once. Each turn is a real HTTP request to the in-process emulator and a `list_tasks`
//! tool call against a real SQLite file; the per-turn figure is a session's time / turns.
//!
//! Run: `cargo bench -p jada-ops --bench agent`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use jada_core::agent::Outcome;
use jada_core::{Backoff, ManualClock};
use jada_llm::{Client, Provider, Retry, Settings};
use jada_ops::agent::{Agent, Business, Playbook, Toolbox};
use jada_store::sqlite::SqliteStore;
use jada_store::Store;
use serde_json::json;

struct Rig {
    agent: Agent,
    emu: llm_emulator::EmulatorHandle,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("jada.db")).unwrap());
    let emu = llm_emulator::spawn().await;
    emu.script(json!({"name": "loop", "repeat_last": true, "summary": "done so far",
        "turns": [{"text": "Looking again.", "tool_calls": [{"name": "list_tasks", "input": {}}],
                   "usage": {"input_tokens": 1000, "output_tokens": 50}}]}));
    let llm = Client::new(Settings {
        provider: Provider::Anthropic,
        base_url: emu.base_url().to_string(),
        model: "bench".into(),
        api_key: llm_emulator::DEFAULT_KEY.to_string().into(),
        timeout: Duration::from_secs(30),
        retry: Retry {
            attempts: 1,
            backoff: Backoff::new(Duration::from_millis(1), Duration::from_millis(1)),
        },
        max_response_bytes: jada_llm::DEFAULT_MAX_RESPONSE_BYTES,
        prompt_caching: true,
    })
    .unwrap();
    let clock = Arc::new(ManualClock::new("2026-07-01T09:00:00Z".parse().unwrap()));
    let agent = Agent::new(
        store.clone(),
        llm,
        None,
        Toolbox::new(store, None),
        clock,
        "bench:1".into(),
        Business {
            name: "Bench".into(),
            zone: jada_core::BusinessZone::default(),
        },
    );
    Rig { agent, emu, _dir: dir }
}

fn playbook(turns: u32) -> Playbook {
    Playbook {
        instructions: "Keep looking.".into(),
        tools: vec!["list_tasks".into()],
        max_turns: turns,
        max_output_tokens: 512,
        max_concurrent: 100,
        ..Playbook::named("bench")
    }
}

fn turns(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rig = rt.block_on(rig());
    let mut group = c.benchmark_group("agent_session");
    group.sample_size(10);
    for n in [10u32, 30, 100] {
        group.bench_function(format!("{n}_turns"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    let r = rt.block_on(rig.agent.run(&playbook(n), "go", None, None)).unwrap();
                    total += started.elapsed();
                    rig.emu.clear_received();
                    assert_eq!((r.outcome, r.turns), (Some(Outcome::TurnLimit), n));
                }
                total
            })
        });
    }
    group.finish();
    // The figure the issue asks for: a session's time, less the time the same requests
    // take the emulator alone (replayed over HTTP), is jada's own overhead.
    let http = reqwest::Client::new();
    for n in [10u32, 30, 100] {
        rig.emu.clear_received();
        let started = Instant::now();
        rt.block_on(rig.agent.run(&playbook(n), "go", None, None)).unwrap();
        let session = started.elapsed();
        let bodies: Vec<serde_json::Value> = rig.emu.received().into_iter().map(|r| r.body).collect();
        let started = Instant::now();
        rt.block_on(async {
            for body in &bodies {
                let r = http
                    .post(format!("{}/v1/messages", rig.emu.base_url()))
                    .header("x-api-key", llm_emulator::DEFAULT_KEY)
                    .header("anthropic-version", "2023-06-01")
                    .json(body)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                r.bytes().await.unwrap();
            }
        });
        let emulator = started.elapsed();
        let own = session.saturating_sub(emulator);
        println!(
            "agent: {n} turns: {:?} per turn in all, {:?} of it the emulator and HTTP, {:?} jada's own",
            session / n,
            emulator / n,
            own / n
        );
    }
}

fn concurrent(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rig = rt.block_on(rig());
    let mut group = c.benchmark_group("agent_concurrent");
    group.sample_size(10);
    group.bench_function("50_sessions_x_10_turns", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                rt.block_on(async {
                    let runs: Vec<_> = (0..50)
                        .map(|_| {
                            let agent = rig.agent.clone();
                            tokio::spawn(async move { agent.run(&playbook(10), "go", None, None).await })
                        })
                        .collect();
                    for r in runs {
                        let r = r.await.unwrap().unwrap();
                        assert_eq!(r.turns, 10);
                    }
                });
                total += started.elapsed();
                rig.emu.clear_received();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, turns, concurrent);
criterion_main!(benches);
