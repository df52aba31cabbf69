//! What ends sessions nobody is running any more, so none stays "running" forever and
//! holds a playbook's `max_concurrent` slot: sessions whose process is gone
//! ([`abandon_orphans`], at start and from the CLI) and sessions whose heartbeat stopped
//! ([`sweep_stuck`], from the running daemon: a hung process, another host, a pid reused
//! after a restart).

use std::time::Duration;

use chrono::{DateTime, Utc};
use jada_core::agent::Outcome;
use jada_store::{SessionEnd, Store, StoreError};

use super::{Agent, AgentError};

impl Agent {
    /// Marks running sessions whose process is gone as `abandoned` (resumable), so none
    /// stays "running" forever. `is_alive` says whether an owner still runs.
    pub async fn abandon_orphans(&self, is_alive: &(dyn Fn(&str) -> bool + Sync)) -> Result<Vec<u64>, AgentError> {
        Ok(abandon_orphans(self.store.as_ref(), &self.owner, is_alive, self.now()).await?)
    }
}

/// Marks running sessions whose owner is gone (`is_alive` says no) as abandoned, with
/// how to carry each on; sessions of `keep` (this process) are left alone.
pub async fn abandon_orphans(
    store: &dyn Store,
    keep: &str,
    is_alive: &(dyn Fn(&str) -> bool + Sync),
    now: DateTime<Utc>,
) -> Result<Vec<u64>, StoreError> {
    let mut abandoned = Vec::new();
    for s in store.list_running_agent_sessions().await? {
        let owner = s.owner.clone().unwrap_or_default();
        if owner == keep || is_alive(&owner) {
            continue;
        }
        let why = format!(
            "the process running it ({owner}) stopped after {} turns; `jada agent resume {}` carries on from the saved transcript",
            s.turns, s.id
        );
        if abandon(store, s.id, &owner, why, now).await? {
            tracing::warn!(session = s.id, %owner, "agent session abandoned by a process that stopped");
            abandoned.push(s.id);
        }
    }
    Ok(abandoned)
}

/// Marks running sessions whose heartbeat is older than their playbook's `stuck_after`
/// as abandoned: whatever runs them has hung or is gone, and their `max_concurrent`
/// slot is free again. Returns the sessions it ended.
pub async fn sweep_stuck(
    store: &dyn Store,
    stuck_after: &(dyn Fn(&str) -> Duration + Sync),
    now: DateTime<Utc>,
) -> Result<Vec<u64>, StoreError> {
    let mut swept = Vec::new();
    for s in store.list_running_agent_sessions().await? {
        let limit = stuck_after(&s.playbook);
        let quiet = (now - s.updated_at).to_std().unwrap_or_default();
        if quiet <= limit {
            continue;
        }
        let owner = s.owner.clone().unwrap_or_default();
        let why = format!(
            "no sign of life from {owner} for {} (stuck_after is {}) after {} turns; `jada agent resume {}` carries on from the saved transcript",
            minutes(quiet),
            minutes(limit),
            s.turns,
            s.id
        );
        if abandon(store, s.id, &owner, why, now).await? {
            tracing::warn!(session = s.id, %owner, quiet_s = quiet.as_secs(), "agent session stuck: marked abandoned");
            swept.push(s.id);
        }
    }
    Ok(swept)
}

/// Ends a session `abandoned`, only while `owner` (as seen) still holds it.
async fn abandon(store: &dyn Store, id: u64, owner: &str, why: String, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let end = SessionEnd {
        outcome: Outcome::Abandoned,
        handoff: None,
        error: Some(why),
        owner: Some(owner.to_string()).filter(|o| !o.is_empty()),
    };
    store.finish_agent_session(id, &end, now).await
}

/// A duration as people say it: "45 s", "12 min".
fn minutes(d: Duration) -> String {
    match d.as_secs() {
        s if s < 120 => format!("{s} s"),
        s => format!("{} min", s / 60),
    }
}
