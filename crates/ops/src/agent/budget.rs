//! Spending: the per-session and per-day budgets a session stops at, and the figures
//! (sessions by outcome, turns, tokens, cost) behind `/metrics`, doctor and the office.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use jada_core::agent::{Outcome, Session};
use jada_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

use super::{Agent, AgentError, Playbook};

impl Agent {
    /// Why no further request may be made, if a budget is spent. The day is the
    /// business's day (its time zone), not UTC's.
    pub(super) async fn over_budget(&self, pb: &Playbook, s: &Session) -> Result<Option<String>, AgentError> {
        if let Some(limit) = pb.session_budget_usd {
            if s.cost_usd() >= limit {
                return Ok(Some(format!(
                    "the session has cost ${:.4}, its budget is ${limit:.2} (session_budget_usd)",
                    s.cost_usd()
                )));
            }
        }
        if let Some(limit) = pb.daily_budget_usd {
            let zone = self.business.zone;
            let today = zone.date_of(self.now());
            let spent = self.store.agent_spend(&pb.name, today).await? as f64 / 1_000_000.0;
            if spent >= limit {
                return Ok(Some(format!(
                    "playbook `{}` has spent ${spent:.4} today ({today}, {zone}), its daily budget is ${limit:.2} (daily_budget_usd)",
                    pb.name
                )));
            }
        }
        Ok(None)
    }
}

/// One playbook's agent work since some hour: sessions started, how sessions ended
/// (and how many run now), turns, tokens, cost. The one computation behind `/metrics`,
/// `jada doctor` and the office's figures, from the store's hourly counters and its
/// running sessions: never a read of the sessions themselves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlaybookFigures {
    pub playbook: String,
    /// Sessions by how they ended in the window (`running` for those running now).
    pub sessions: BTreeMap<String, u64>,
    /// Sessions started in the window.
    #[serde(default)]
    pub started: u64,
    pub turns: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
    pub cost_usd: f64,
}

/// The figures of every playbook with work in the hours from `since`'s on.
pub async fn figures(store: &dyn Store, since: DateTime<Utc>) -> Result<Vec<PlaybookFigures>, StoreError> {
    let mut by: BTreeMap<String, PlaybookFigures> = BTreeMap::new();
    for t in store.agent_totals(since).await? {
        by.insert(
            t.playbook.clone(),
            PlaybookFigures {
                playbook: t.playbook,
                sessions: t.ended,
                started: t.started,
                turns: t.turns,
                input_tokens: t.input_tokens,
                output_tokens: t.output_tokens,
                cache_read_tokens: t.cache_read_tokens,
                cache_write_tokens: t.cache_write_tokens,
                cost_usd: t.cost_micro_usd as f64 / 1_000_000.0,
            },
        );
    }
    for s in store.list_running_agent_sessions().await? {
        let f = by.entry(s.playbook.clone()).or_insert_with(|| PlaybookFigures {
            playbook: s.playbook.clone(),
            ..Default::default()
        });
        *f.sessions.entry(Outcome::label(None).to_string()).or_default() += 1;
    }
    Ok(by.into_values().collect())
}
