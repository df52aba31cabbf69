//! The demo's agent sessions: with no `[agent]` provider configured, `serve --demo` runs
//! the LLM emulator in-process with scripted answers (and says so), and leaves three
//! sessions to look at — one completed, one that stopped at its turn limit and handed
//! off, one waiting for a person's approval. Loading twice changes nothing (each demo
//! session has its own input key).

use jada_app::config::AgentConfig;
use serde_json::json;

use crate::commands::Context;
use crate::Failure;

/// The emulator, kept running as long as the daemon.
pub struct DemoModel(#[allow(dead_code)] llm_emulator::EmulatorHandle);

/// Points `[agent]` at an in-process emulator when no provider is configured.
pub async fn configure(ctx: &mut Context) -> Result<Option<DemoModel>, Failure> {
    if ctx.config.agent.provider.is_some() {
        return Ok(None);
    }
    let emu = llm_emulator::spawn().await;
    for script in scripts(ctx).await? {
        emu.script(script);
    }
    let key = ctx.data.secrets().join("llm-key");
    jada_google::secret_files::write_private_atomic(&key, llm_emulator::DEFAULT_KEY.as_bytes())
        .map_err(|e| Failure::op(anyhow::anyhow!("cannot write {}: {e}", key.display())))?;
    let a: &mut AgentConfig = &mut ctx.config.agent;
    a.provider = Some(jada_llm::Provider::Anthropic);
    a.base_url = Some(emu.base_url().to_string());
    a.model = Some("demo-model".into());
    a.api_key_env = None;
    a.api_key_file = Some("secrets/llm-key".into());
    a.prices
        .insert("demo-model".into(), jada_core::agent::Price::new(3.0, 15.0));
    crate::commands::serve::say(&format!(
        "agent sessions: no [agent] provider is configured, so the demo answers with the built-in LLM emulator at {} (scripted, not a real model)",
        emu.base_url()
    ));
    Ok(Some(DemoModel(emu)))
}

/// Runs the three demo sessions once.
pub async fn sessions(ctx: &Context) -> Result<(), Failure> {
    let agent = ctx.agent()?;
    let runs = [
        ("morning-check", "Do the morning check.", "demo:completed", None),
        (
            "inbox-triage",
            "Review every charter of the month and note anything unusual.",
            "demo:handoff",
            Some(4),
        ),
        (
            "inbox-triage",
            "A guest asks whether their charter can start an hour later.",
            "demo:approval",
            None,
        ),
    ];
    for (playbook, input, key, turns) in runs {
        let pb = ctx.playbook(playbook)?;
        let r = agent
            .run(&pb, input, Some(key.to_string()), turns)
            .await
            .map_err(Failure::op)?;
        if !r.existing {
            crate::commands::serve::say(&format!(
                "demo agent session {} ({playbook}): {}",
                r.session_id,
                jada_core::agent::Outcome::label(r.outcome)
            ));
        }
    }
    Ok(())
}

/// The scripted model's answers, written from the demo's own data (what the morning
/// check finds is what the store holds), so what the sessions say is true.
async fn scripts(ctx: &Context) -> Result<Vec<serde_json::Value>, Failure> {
    let now = ctx.clock.now();
    let zone = ctx.config.business.time_zone;
    let today = zone.date_of(now);
    let month = jada_core::Month::of(today);
    let week = ctx
        .store
        .list_charters_between(today, today + chrono::Duration::days(7))
        .await
        .map_err(Failure::op)?;
    let no_captain: Vec<String> = week
        .iter()
        .filter(|c| {
            c.captain_assigned.is_none()
                && matches!(
                    c.status,
                    jada_core::CharterStatus::Booked | jada_core::CharterStatus::Confirmed
                )
        })
        .map(|c| {
            format!(
                "{} {} {} ({})",
                c.charter_date,
                c.start_time.format("%H:%M"),
                c.vessel_name,
                c.guest_name
            )
        })
        .collect();
    let morning_end = if no_captain.is_empty() {
        json!({"text": "Morning check done: nothing needs a person. No charter in the next 7 days lacks a captain.",
               "usage": {"input_tokens": 3100, "output_tokens": 40}})
    } else {
        json!({"tool_calls": [{"name": "create_task", "input": {
                "title": format!("Assign captains to {} charter(s) of the next 7 days", no_captain.len()),
                "body": format!("The morning check found these charters without a captain:\n{}\n\n`jada dispatch assign-captain CHARTER CREW` starts dispatch.", no_captain.join("\n"))}}],
               "usage": {"input_tokens": 3100, "output_tokens": 90}})
    };
    let morning_done = format!(
        "Morning check done: {}.",
        match no_captain.len() {
            0 => "nothing needs a person".to_string(),
            n => format!("one task created ({n} charter(s) of the next 7 days without a captain)"),
        }
    );
    Ok(vec![
        json!({"name": "demo-morning", "match": "morning check", "turns": [
            {"text": "Reading jada's status.", "tool_calls": [{"name": "jada_status", "input": {}}],
             "usage": {"input_tokens": 1800, "output_tokens": 60}},
            {"tool_calls": [{"name": "list_tasks", "input": {}}], "usage": {"input_tokens": 2600, "output_tokens": 40}},
            morning_end,
            {"text": morning_done, "usage": {"input_tokens": 3300, "output_tokens": 40}}
        ]}),
        json!({"name": "demo-review", "match": "Review every charter", "repeat_last": true,
            "summary": format!("Read the charters of {month} (list_charters) and the open tasks; nothing unusual found so far. Still to do: compare each charter's crew with the seat rules. Resume this session to carry on."),
            "turns": [
                {"text": "Reading the month's charters.", "tool_calls": [{"name": "list_charters", "input": {"month": month.to_string()}}],
                 "usage": {"input_tokens": 2000, "output_tokens": 50}},
                {"text": "Checking the open tasks against them.", "tool_calls": [{"name": "list_tasks", "input": {}}],
                 "usage": {"input_tokens": 2400, "output_tokens": 50}}]}),
        json!({"name": "demo-guest", "match": "A guest asks", "turns": [
            {"text": "I will answer the guest; a person must approve the mail first.",
             "tool_calls": [{"name": "draft_reply", "input": {
                "to": ["guest@example.com"],
                "subject": "Your charter: starting an hour later",
                "body": "Hello,\n\nThank you for asking. We can start an hour later if the captain agrees; we will confirm by tomorrow.\n\nThe office"}}],
             "usage": {"input_tokens": 1500, "output_tokens": 120}},
            {"text": "Replied to the guest.", "usage": {"input_tokens": 1700, "output_tokens": 20}}
        ]}),
    ])
}
