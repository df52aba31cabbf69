//! Agent sessions against the LLM emulator over HTTP, on a real SQLite store.

use std::sync::Arc;
use std::time::Duration;

use jada_core::agent::Price;
use jada_core::{Backoff, ManualClock};
use jada_llm::{Client, Provider, Retry, Settings};
use jada_ops::agent::{Agent, Business, Playbook, Toolbox};
use jada_ops::mail::EmlOutbox;
use jada_store::sqlite::SqliteStore;
use jada_store::Store;

pub struct Fixture {
    pub agent: Agent,
    pub store: Arc<dyn Store>,
    pub emu: llm_emulator::EmulatorHandle,
    pub clock: Arc<ManualClock>,
    pub outbox: std::path::PathBuf,
    pub dir: tempfile::TempDir,
}

pub async fn fixture(provider: Provider) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("jada.db")).unwrap());
    let emu = llm_emulator::spawn().await;
    let clock = Arc::new(ManualClock::new("2026-07-01T09:00:00Z".parse().unwrap()));
    let outbox = dir.path().join("outbox");
    let toolbox = Toolbox::new(store.clone(), None).with_mail(
        Arc::new(EmlOutbox { dir: outbox.clone() }),
        "Harbour Charters <office@harbour.example.com>".into(),
    );
    let agent = agent_with(&store, &emu, provider, "proc:1", toolbox, clock.clone());
    Fixture {
        agent,
        store,
        emu,
        clock,
        outbox,
        dir,
    }
}

pub fn agent_on(store: &Arc<dyn Store>, emu: &llm_emulator::Emulator, provider: Provider, owner: &str) -> Agent {
    let clock = Arc::new(ManualClock::new("2026-07-01T09:00:00Z".parse().unwrap()));
    agent_with(store, emu, provider, owner, Toolbox::new(store.clone(), None), clock)
}

/// Another process's agent on the fixture's store, clock and outbox.
pub fn mail_agent(f: &Fixture, owner: &str) -> Agent {
    let toolbox = Toolbox::new(f.store.clone(), None).with_mail(
        Arc::new(EmlOutbox { dir: f.outbox.clone() }),
        "Harbour Charters <office@harbour.example.com>".into(),
    );
    agent_with(&f.store, &f.emu, Provider::Anthropic, owner, toolbox, f.clock.clone())
}

pub fn agent_with(
    store: &Arc<dyn Store>,
    emu: &llm_emulator::Emulator,
    provider: Provider,
    owner: &str,
    toolbox: Toolbox,
    clock: Arc<ManualClock>,
) -> Agent {
    let llm = Client::new(Settings {
        provider,
        base_url: match provider {
            Provider::Anthropic => emu.base_url().to_string(),
            Provider::OpenAi => emu.openai_base_url(),
        },
        model: "test-model".into(),
        api_key: llm_emulator::DEFAULT_KEY.to_string().into(),
        timeout: Duration::from_secs(5),
        retry: Retry {
            attempts: 3,
            backoff: Backoff::new(Duration::from_millis(10), Duration::from_secs(2)),
        },
        max_response_bytes: jada_llm::DEFAULT_MAX_RESPONSE_BYTES,
        prompt_caching: true,
    })
    .unwrap();
    let price = Price::new(3.0, 15.0);
    Agent::new(
        store.clone(),
        llm,
        Some(price),
        toolbox,
        clock,
        owner.into(),
        Business {
            name: "Harbour Charters".into(),
            zone: jada_core::BusinessZone::default(),
        },
    )
}

pub fn playbook(max_turns: u32) -> Playbook {
    Playbook {
        instructions: "Triage the office's work.".into(),
        tools: ["list_tasks", "create_task", "add_task_note"]
            .map(String::from)
            .to_vec(),
        max_turns,
        max_output_tokens: 1024,
        ..Playbook::named("triage")
    }
}
