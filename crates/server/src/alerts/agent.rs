//! Alert rules for agent sessions: every ending other than `completed` that needs a
//! person is one keyed condition, firing once and resolving when the cause goes away.
//!
//! - `agent-turn-limit:PLAYBOOK`: [`TURN_LIMIT_HITS`] of a playbook's last
//!   [`TURN_LIMIT_WINDOW`] sessions stopped at the turn limit (the seeds' silent failure).
//! - `agent-provider:PLAYBOOK`: its latest session ended `provider_error` (a refused key
//!   says so, and needs the operator).
//! - `agent-budget:PLAYBOOK`: its latest session ended `budget_exhausted`.
//! - `agent-failed:PLAYBOOK`: its latest session ended `failed` (an error of jada's own).
//! - `agent-abandoned:ID`: a session left by a process that died, not yet resumed.
//! - `agent-approval:ID`: a tool call waiting for a person longer than [`APPROVAL_WAIT`].
//! - `mcp-down:SERVER`: another MCP server (`[agent.mcp.SERVER]`) is down; its tools
//!   answer playbooks with an error until it is back ([`mcp_down`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use jada_core::agent::{ApprovalState, Outcome, Session};
use jada_store::{Store, StoreError};

use super::{age, Condition};

pub const TURN_LIMIT_HITS: usize = 2;
pub const TURN_LIMIT_WINDOW: usize = 3;
/// An approval request waiting this long raises an alert.
pub const APPROVAL_WAIT: chrono::Duration = chrono::Duration::hours(4);
/// How far back the rules look.
const LOOKBACK: usize = 500;

pub async fn conditions(store: &dyn Store, now: DateTime<Utc>) -> Result<Vec<Condition>, StoreError> {
    let mut out = Vec::new();
    let sessions = store.list_agent_sessions(LOOKBACK).await?;
    let mut by_playbook: BTreeMap<&str, Vec<&Session>> = BTreeMap::new();
    for s in sessions.iter().filter(|s| s.outcome.is_some()) {
        by_playbook.entry(s.playbook.as_str()).or_default().push(s);
    }
    for (playbook, ended) in &by_playbook {
        let recent: Vec<&&Session> = ended.iter().take(TURN_LIMIT_WINDOW).collect();
        let hits: Vec<String> = recent
            .iter()
            .filter(|s| s.outcome == Some(Outcome::TurnLimit))
            .map(|s| s.id.to_string())
            .collect();
        if hits.len() >= TURN_LIMIT_HITS {
            out.push(Condition::new(
                format!("agent-turn-limit:{playbook}"),
                format!(
                    "playbook `{playbook}`: {} of its last {} sessions stopped at the turn limit (sessions {}): each left a task to continue; raise max_turns or split the work (`jada agent resume ID` carries one on)",
                    hits.len(),
                    recent.len(),
                    hits.join(", ")
                ),
            ));
        }
        let latest = ended[0];
        match latest.outcome {
            Some(Outcome::ProviderError) => out.push(Condition::new(
                format!("agent-provider:{playbook}"),
                format!(
                    "playbook `{playbook}`: session {} failed at the model provider: {} (then `jada agent resume {}`)",
                    latest.id,
                    latest.error.as_deref().unwrap_or("no detail"),
                    latest.id
                ),
            )),
            Some(Outcome::Failed) => out.push(Condition::new(
                format!("agent-failed:{playbook}"),
                format!(
                    "playbook `{playbook}`: session {} failed: {} (`jada agent show {}`, then `jada agent resume {}`)",
                    latest.id,
                    latest.error.as_deref().unwrap_or("no detail"),
                    latest.id,
                    latest.id
                ),
            )),
            Some(Outcome::BudgetExhausted) => out.push(Condition::new(
                format!("agent-budget:{playbook}"),
                format!(
                    "playbook `{playbook}`: session {} stopped at its budget: {}",
                    latest.id,
                    latest.error.as_deref().unwrap_or("budget reached")
                ),
            )),
            _ => {}
        }
    }
    for s in sessions.iter().filter(|s| s.outcome == Some(Outcome::Abandoned)) {
        out.push(Condition::new(
            format!("agent-abandoned:{}", s.id),
            format!(
                "agent session {} ({}) was abandoned when its process stopped after {} turns: `jada agent resume {}` carries it on",
                s.id, s.playbook, s.turns, s.id
            ),
        ));
    }
    for a in store.list_approvals(&[ApprovalState::Pending], LOOKBACK).await? {
        if a.state_at(now) == ApprovalState::Pending && now - a.requested_at >= APPROVAL_WAIT {
            out.push(Condition::new(
                format!("agent-approval:{}", a.id),
                format!(
                    "agent session {} has waited {} for approval {} ({}): `jada agent approvals`, then approve or deny",
                    a.session_id,
                    age(now - a.requested_at),
                    a.id,
                    a.tool
                ),
            ));
        }
    }
    Ok(out)
}

/// One alert per `[agent.mcp.NAME]` server that is down (from the live connections, not
/// the store: only the daemon holds them).
pub fn mcp_down(health: &[jada_ops::agent::tools::ServerHealth]) -> Vec<Condition> {
    health
        .iter()
        .filter_map(|h| {
            let (why, since) = h.down.as_ref()?;
            let now = if h.up {
                "it is connected again, and this resolves once it stays up a minute"
            } else {
                "playbooks calling its tools get an error until it is back; jada reconnects by itself with a backoff"
            };
            Some(Condition::new(
                format!("mcp-down:{}", h.server),
                format!(
                    "MCP server `{}` has been failing since {} ({why}): {now}; check its [agent.mcp.{}] setting and the daemon's log",
                    h.server,
                    since.format("%Y-%m-%d %H:%M UTC"),
                    h.server
                ),
            ))
        })
        .collect()
}
