//! Issue #23's cost target: one 30-turn session against the LLM emulator, its input
//! billed in dollars at Anthropic's list prices (Claude Sonnet: $3 per million input
//! tokens, $3.75 written to the cache, $0.30 read from it), with prompt caching and
//! without, in one run. Target: with caching at most 30% of without. The emulator
//! counts tokens from the requests' sizes (four characters a token) and models the
//! provider's prefix cache, so the figures follow what jada actually sends.
//!
//! Run: `cargo bench -p jada-ops --bench agent_cost`

use std::sync::Arc;
use std::time::Duration;

use jada_core::agent::{Outcome, Price};
use jada_core::{Backoff, ManualClock, NewTask, TaskSource};
use jada_llm::{Client, Provider, Retry, Settings};
use jada_ops::agent::{Agent, Business, Playbook, Report, Toolbox};
use jada_store::sqlite::SqliteStore;
use jada_store::Store;
use serde_json::json;

const TURNS: u32 = 30;

/// Claude Sonnet's list prices, USD per million tokens.
fn price() -> Price {
    Price {
        cache_write_per_mtok: Some(3.75),
        cache_read_per_mtok: Some(0.30),
        ..Price::new(3.0, 15.0)
    }
}

async fn session(caching: bool) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("jada.db")).unwrap());
    // An office with work to look at: each list_tasks answers about 1,000 tokens.
    for i in 0..25 {
        let t = NewTask::new(
            &format!("Task {i}: check the Marlin's safety gear before Saturday"),
            "",
            TaskSource::Manual,
        )
        .unwrap();
        store.create_task(&t, chrono::Utc::now()).await.unwrap();
    }
    let emu = llm_emulator::spawn().await;
    emu.script(
        json!({"name": "work", "repeat_last": true, "summary": "Looked at the tasks; nothing remains.",
        "turns": [{"text": "Looking at the tasks again.", "tool_calls": [{"name": "list_tasks", "input": {}}]}]}),
    );
    let llm = Client::new(Settings {
        provider: Provider::Anthropic,
        base_url: emu.base_url().to_string(),
        model: "claude-sonnet-4-5".into(),
        api_key: llm_emulator::DEFAULT_KEY.to_string().into(),
        timeout: Duration::from_secs(30),
        retry: Retry {
            attempts: 1,
            backoff: Backoff::new(Duration::from_millis(1), Duration::from_millis(1)),
        },
        max_response_bytes: jada_llm::DEFAULT_MAX_RESPONSE_BYTES,
        prompt_caching: caching,
    })
    .unwrap();
    let clock = Arc::new(ManualClock::new("2026-07-01T09:00:00Z".parse().unwrap()));
    let agent = Agent::new(
        store.clone(),
        llm,
        Some(price()),
        Toolbox::new(store, None),
        clock,
        "bench:1".into(),
        Business {
            name: "Bench Charters".into(),
            zone: jada_core::BusinessZone::default(),
        },
    );
    // A playbook's instructions as long as a real one (about 2,000 tokens).
    let pb = Playbook {
        instructions: "You triage the office's booking mail and tasks. Read each task, find the charter it is about, \
            check the crew and the vessel, and note what a person must do. Never promise what the data does not show. "
            .repeat(40),
        tools: vec!["list_tasks".into(), "create_task".into(), "add_task_note".into()],
        max_turns: TURNS,
        max_output_tokens: 1024,
        ..Playbook::named("bench")
    };
    let r = agent.run(&pb, "Go through the open tasks.", None, None).await.unwrap();
    assert_eq!((r.outcome, r.turns), (Some(Outcome::TurnLimit), TURNS));
    r
}

/// What the session's prompt tokens cost at list prices (output is the same either way).
fn input_usd(r: &Report) -> f64 {
    let p = price();
    (r.input_tokens as f64 * p.input_per_mtok
        + r.cache_write_tokens as f64 * p.cache_write()
        + r.cache_read_tokens as f64 * p.cache_read())
        / 1e6
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let with = rt.block_on(session(true));
    let without = rt.block_on(session(false));
    for (name, r) in [("with caching", &with), ("without caching", &without)] {
        println!(
            "agent_cost: {TURNS} turns {name}: {} input + {} cache-write + {} cache-read tokens = ${:.4} billed input (${:.4} in all)",
            r.input_tokens,
            r.cache_write_tokens,
            r.cache_read_tokens,
            input_usd(r),
            r.cost_usd
        );
    }
    let ratio = input_usd(&with) / input_usd(&without);
    println!(
        "agent_cost: with caching the input costs {:.1}% of without (target: at most 30%)",
        ratio * 100.0
    );
    assert!(ratio <= 0.30, "caching saves too little: {ratio:.3}");
}
