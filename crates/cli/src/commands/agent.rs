//! `jada agent run|sessions|show|resume|approvals|approve|deny|playbooks|mcp`.

use jada_app::agent::{owner_alive, playbooks};
use jada_core::agent::{ApprovalState, Block, Outcome, Role, Session};
use jada_core::text::truncate;
use jada_ops::agent::{Agent, Report};
use serde_json::json;

use crate::cli::{AgentCommand, Global};
use crate::commands::agent_daemon::Daemon;
use crate::commands::{load_app, Context};
use crate::output::{print_json, table};
use crate::Failure;

pub async fn run(g: &Global, cmd: AgentCommand) -> Result<(), Failure> {
    let app = load_app(g)?;
    match cmd {
        AgentCommand::Run {
            playbook,
            input,
            input_key,
            max_turns,
            json,
        } => {
            let pb = app.playbook(&playbook)?;
            let agent = until_stopped(ready_agent(&app).await?);
            let report = agent
                .run(&pb, &input, input_key, max_turns)
                .await
                .map_err(Failure::op)?;
            finish(&app, &report, json)
        }
        AgentCommand::Resume { id, turns, json } => {
            let session = find(&app, id).await?;
            if let Some(daemon) = Daemon::find(&app) {
                let answer = daemon.resume(id, turns).await?;
                return finish(&app, &answer.session, json);
            }
            let pb = app.playbook(&session.playbook)?;
            let agent = until_stopped(ready_agent(&app).await?);
            let report = agent.resume(&pb, id, turns).await.map_err(Failure::op)?;
            finish(&app, &report, json)
        }
        AgentCommand::Sessions { limit, json } => sessions(&app, limit, json).await,
        AgentCommand::Show { id, json } => show(&app, id, json).await,
        AgentCommand::Playbooks { json } => list_playbooks(&app, json),
        AgentCommand::Mcp { json } => mcp_servers(&app, json).await,
        AgentCommand::Approvals { all, json } => approvals(&app, all, json).await,
        AgentCommand::Approve { id, json } => decide(&app, id, true, None, json).await,
        AgentCommand::Deny { id, reason, json } => decide(&app, id, false, Some(&reason), json).await,
    }
}

async fn approvals(app: &Context, all: bool, json: bool) -> Result<(), Failure> {
    let states = if all { vec![] } else { vec![ApprovalState::Pending] };
    let list = app.store.list_approvals(&states, 200).await.map_err(Failure::op)?;
    let now = app.clock.now();
    if json {
        let rows: Vec<serde_json::Value> = list
            .iter()
            .map(|a| {
                json!({"id": a.id, "session_id": a.session_id, "tool": a.tool, "arguments": a.arguments,
                       "state": a.state_at(now), "reason": a.reason, "decided_by": a.decided_by,
                       "requested_at": a.requested_at, "expires_at": a.expires_at})
            })
            .collect();
        return Ok(print_json(&rows)?);
    }
    for a in &list {
        say!(
            "approval {} — session {} wants {} (requested {}, expires {}): {}",
            a.id,
            a.session_id,
            a.tool,
            app.show_time(a.requested_at),
            app.show_time(a.expires_at),
            a.state_at(now).as_str()
        );
        let args = serde_json::to_string_pretty(&a.arguments).unwrap_or_default();
        say!("{}\n", indent(&args));
    }
    say!(
        "{}{}",
        crate::output::count(list.len(), "approval request", "approval requests"),
        if all { "" } else { " waiting" }
    );
    if !list.is_empty() && !all {
        say!("decide with `jada agent approve ID` or `jada agent deny ID --reason \"...\"`");
    }
    Ok(())
}

async fn decide(app: &Context, id: u64, approve: bool, reason: Option<&str>, json: bool) -> Result<(), Failure> {
    let by = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let (decided, report) = match Daemon::find(app) {
        // The agent lives in the daemon only (e.g. `serve --demo`): it decides.
        Some(daemon) => {
            let a = daemon.decide(id, approve, reason, &by).await?;
            let decided = a
                .approval
                .ok_or_else(|| Failure::op(anyhow::anyhow!("the daemon did not say how approval {id} was decided")))?;
            (decided, a.session)
        }
        None => decide_here(app, id, approve, reason, &by).await?,
    };
    if json {
        return Ok(print_json(&json!({"approval": decided, "session": report}))?);
    }
    say!("approval {} {}: {}", decided.id, decided.state.as_str(), decided.tool);
    print_report(app, &report);
    Ok(())
}

/// Decides with this process's agent (the agent is configured here).
async fn decide_here(
    app: &Context,
    id: u64,
    approve: bool,
    reason: Option<&str>,
    by: &str,
) -> Result<(jada_core::agent::Approval, Report), Failure> {
    if let Some(decided) = decide_direct(app, id, approve, reason, by).await? {
        return Ok(decided);
    }
    let agent = until_stopped(ready_agent(app).await?);
    let playbooks = playbooks(&app.config.agent, &app.data)?;
    let pb_of = |name: &str| playbooks.get(name).cloned();
    agent
        .decide(&pb_of, id, approve, reason, by)
        .await
        .map_err(|e| match e {
            jada_ops::agent::AgentError::Store(jada_store::StoreError::NoSuchRecord { .. }) => {
                Failure::Usage(anyhow::anyhow!("{e}"))
            }
            other => Failure::op(other),
        })
}

/// Decides an MCP caller's approval here (no model needed: an approved call runs now,
/// once); `None` when the approval is an agent session's.
async fn decide_direct(
    app: &Context,
    id: u64,
    approve: bool,
    reason: Option<&str>,
    by: &str,
) -> Result<Option<(jada_core::agent::Approval, Report)>, Failure> {
    let direct = app.direct()?;
    let decided = direct.decide(id, approve, reason, by).await.map_err(|e| match e {
        jada_ops::agent::AgentError::Store(jada_store::StoreError::NoSuchRecord { .. }) => {
            Failure::Usage(anyhow::anyhow!("{e}"))
        }
        other => Failure::op(other),
    })?;
    let Some((decided, ran, report)) = decided else {
        return Ok(None);
    };
    if let Some(out) = ran {
        say!(
            "the MCP client's {} ran once{}",
            decided.tool,
            if out.is_error {
                format!(" and failed: {}", out.content)
            } else {
                String::new()
            }
        );
    }
    Ok(Some((decided, report)))
}

/// The agent, after marking sessions left running by a process that is gone as
/// abandoned: nothing stays "running" forever.
async fn ready_agent(app: &Context) -> Result<Agent, Failure> {
    let agent = app.agent()?;
    let abandoned = agent.abandon_orphans(&owner_alive).await.map_err(Failure::op)?;
    for id in abandoned {
        eprintln!("session {id} was left running by a process that stopped: marked abandoned (`jada agent resume {id}` carries on)");
    }
    Ok(agent)
}

/// The agent, stopped by Ctrl-C or SIGTERM: the session this process runs then ends
/// `cancelled` (resumable), instead of being left "running".
fn until_stopped(agent: Agent) -> Agent {
    let stop = tokio_util::sync::CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        stop_signal().await;
        on_signal.cancel();
    });
    agent.with_cancel(stop)
}

async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

async fn find(app: &Context, id: u64) -> Result<Session, Failure> {
    app.store
        .get_agent_session(id)
        .await
        .map_err(Failure::op)?
        .ok_or_else(|| {
            Failure::Usage(anyhow::anyhow!(
                "there is no agent session {id}: `jada agent sessions` lists them"
            ))
        })
}

/// Prints the outcome; anything but `completed` exits 1.
fn finish(app: &Context, r: &Report, json: bool) -> Result<(), Failure> {
    if json {
        print_json(r)?;
    } else {
        print_report(app, r);
    }
    match r.outcome {
        Some(Outcome::Completed) => Ok(()),
        _ => Err(Failure::Operation {
            error: anyhow::anyhow!("session {} ended {}", r.session_id, Outcome::label(r.outcome)),
            reported: json,
        }),
    }
}

fn print_report(_app: &Context, r: &Report) {
    if r.existing {
        say!(
            "a session for this input exists already: session {} ({}), not run again",
            r.session_id,
            Outcome::label(r.outcome)
        );
    }
    say!(
        "session {} ({}): {} after {} of {} turns, {} input / {} output tokens, ${:.4}",
        r.session_id,
        r.playbook,
        Outcome::label(r.outcome),
        r.turns,
        r.max_turns,
        r.input_tokens,
        r.output_tokens,
        r.cost_usd
    );
    if let Some(e) = &r.error {
        say!("why: {e}");
    }
    if let Some(h) = &r.handoff {
        say!("handoff note:\n{}", indent(h));
    }
    if let Some(t) = r.follow_up_task {
        say!(
            "task {t} created to continue it; `jada agent resume {}` carries on",
            r.session_id
        );
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

async fn sessions(app: &Context, limit: usize, json: bool) -> Result<(), Failure> {
    let list = app.store.list_agent_sessions(limit).await.map_err(Failure::op)?;
    if json {
        let reports: Vec<serde_json::Value> = list
            .iter()
            .map(|s| {
                let mut v = serde_json::to_value(Report::of(s, None, false)).unwrap_or_default();
                v["started_at"] = json!(s.started_at);
                v["input"] = json!(s.input);
                v
            })
            .collect();
        return Ok(print_json(&reports)?);
    }
    let mut t = table(&[
        "id",
        "playbook",
        "started",
        "outcome",
        "turns",
        "tokens in/out",
        "cost",
        "note",
    ]);
    for s in &list {
        let note = s.error.as_deref().or(s.handoff.as_deref()).unwrap_or("");
        t.add_row(vec![
            s.id.to_string(),
            s.playbook.clone(),
            app.show_time(s.started_at),
            Outcome::label(s.outcome).into(),
            format!("{}/{}", s.turns, s.max_turns),
            format!("{}/{}", s.input_tokens, s.output_tokens),
            format!("${:.4}", s.cost_usd()),
            truncate(&note.replace('\n', " "), 60),
        ]);
    }
    if !list.is_empty() {
        say!("{t}");
    }
    let not_completed = list.iter().filter(|s| s.outcome != Some(Outcome::Completed)).count();
    say!(
        "{}, {not_completed} not completed",
        crate::output::count(list.len(), "session", "sessions")
    );
    Ok(())
}

async fn show(app: &Context, id: u64, json: bool) -> Result<(), Failure> {
    let s = find(app, id).await?;
    let messages = app.store.session_messages(id).await.map_err(Failure::op)?;
    let calls = app.store.list_tool_calls(id).await.map_err(Failure::op)?;
    if json {
        return Ok(print_json(&json!({
            "session": Report::of(&s, None, false),
            "input": s.input,
            "started_at": s.started_at,
            "messages": messages,
            "tool_calls": calls,
        }))?);
    }
    let r = Report::of(&s, None, false);
    print_report(app, &r);
    say!("input: {}", truncate(&s.input, 500));
    let mut turn = 0;
    for m in &messages {
        match m.role {
            Role::User => say!("\n── user"),
            Role::Assistant => {
                turn += 1;
                say!("\n── assistant, turn {turn}");
            }
        }
        for b in &m.content {
            match b {
                Block::Text { text } => say!("{}", indent(text)),
                Block::ToolUse { name, input, .. } => say!("  → {name} {}", truncate(&input.to_string(), 300)),
                Block::ToolResult { content, is_error, .. } => {
                    let tag = if *is_error { "error" } else { "result" };
                    say!("  ← {tag}: {}", truncate(content, 300))
                }
            }
        }
    }
    Ok(())
}

fn list_playbooks(app: &Context, json: bool) -> Result<(), Failure> {
    let all = playbooks(&app.config.agent, &app.data)?;
    if json {
        let list: Vec<serde_json::Value> = all
            .values()
            .map(|p| {
                json!({"name": p.name, "enabled": p.enabled, "tools": p.tools, "trusted_tools": p.trusted_tools,
                       "max_turns": p.max_turns,
                       "session_budget_usd": p.session_budget_usd, "daily_budget_usd": p.daily_budget_usd,
                       "unavailable_tools": jada_ops::agent::Toolbox::unavailable(&p.tools)})
            })
            .collect();
        return Ok(print_json(&list)?);
    }
    let mut t = table(&["playbook", "enabled", "max turns", "tools"]);
    for p in all.values() {
        let missing = jada_ops::agent::Toolbox::unavailable(&p.tools);
        let mut tools = p.tools.join(", ");
        if !missing.is_empty() {
            tools.push_str(&format!(" (not yet available: {})", missing.join(", ")));
        }
        t.add_row(vec![
            p.name.clone(),
            if p.enabled { "yes" } else { "no" }.into(),
            p.max_turns.to_string(),
            tools,
        ]);
    }
    say!("{t}");
    Ok(())
}

/// `jada agent mcp`: each `[agent.mcp.NAME]` server, asked now.
async fn mcp_servers(app: &Context, json: bool) -> Result<(), Failure> {
    let Some(clients) = app.mcp_clients()? else {
        say!(
            "no MCP servers are configured: add [agent.mcp.NAME] with command = [...] (stdio) or url (streamable HTTP)"
        );
        return Ok(());
    };
    let specs = clients.specs().await;
    let health = clients.health();
    clients.close();
    let all = playbooks(&app.config.agent, &app.data)?;
    let of = |tool: &str, list: fn(&jada_ops::agent::Playbook) -> &Vec<String>| -> Vec<String> {
        all.values()
            .filter(|p| list(p).iter().any(|t| t == tool))
            .map(|p| p.name.clone())
            .collect()
    };
    let servers: Vec<serde_json::Value> = health
        .iter()
        .map(|h| {
            let prefix = format!("{}.", h.server);
            let tools: Vec<serde_json::Value> = specs
                .iter()
                .filter(|s| s.name.starts_with(&prefix))
                .map(|s| {
                    json!({"name": s.name, "description": s.description,
                           "used_by": of(&s.name, |p| &p.tools), "trusted_by": of(&s.name, |p| &p.trusted_tools)})
                })
                .collect();
            json!({"server": h.server, "up": h.up,
                   "error": h.down.as_ref().map(|(why, _)| why), "tools": tools})
        })
        .collect();
    let down = health.iter().filter(|h| !h.up).count();
    if json {
        print_json(&servers)?;
    } else {
        let mut t = table(&["server", "state", "tool", "used by", "runs without approval in"]);
        for s in &servers {
            let state = if s["up"] == true { "answers" } else { "down (see below)" }.to_string();
            let tools = s["tools"].as_array().cloned().unwrap_or_default();
            if tools.is_empty() {
                t.add_row(vec![
                    s["server"].as_str().unwrap_or_default().to_string(),
                    state.clone(),
                    "-".into(),
                    "".into(),
                    "".into(),
                ]);
            }
            let names = |v: &serde_json::Value| -> String {
                v.as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            };
            for tool in tools {
                t.add_row(vec![
                    s["server"].as_str().unwrap_or_default().to_string(),
                    state.clone(),
                    tool["name"].as_str().unwrap_or_default().to_string(),
                    names(&tool["used_by"]),
                    names(&tool["trusted_by"]),
                ]);
            }
        }
        say!("{t}");
        for h in health.iter().filter(|h| !h.up) {
            let why = h
                .down
                .as_ref()
                .map_or("it is still connecting", |(why, _)| why.as_str());
            say!("{} is down: {why}", h.server);
        }
    }
    if down > 0 {
        return Err(Failure::op(anyhow::anyhow!(
            "{down} MCP server(s) did not answer: see its error above, and the server's [agent.mcp.NAME] setting"
        )));
    }
    Ok(())
}
