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

/// One playbook's sessions since some instant: how they ended, turns, tokens, cost. The
/// one computation behind `/metrics`, `jada doctor` and the office's figures, from the
/// store's totals (one aggregate read, never the sessions one by one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlaybookFigures {
    pub playbook: String,
    /// Sessions by outcome (`running` while they run).
    pub sessions: BTreeMap<String, u64>,
    pub turns: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
    pub cost_usd: f64,
}

/// The figures of every playbook with a session started at or after `since`.
pub async fn figures(store: &dyn Store, since: DateTime<Utc>) -> Result<Vec<PlaybookFigures>, StoreError> {
    let mut by: BTreeMap<String, PlaybookFigures> = BTreeMap::new();
    for t in store.agent_totals(since).await? {
        let f = by.entry(t.playbook.clone()).or_insert_with(|| PlaybookFigures {
            playbook: t.playbook.clone(),
            ..Default::default()
        });
        *f.sessions.entry(Outcome::label(t.outcome).to_string()).or_default() += t.sessions;
        f.turns += t.turns;
        f.input_tokens += t.input_tokens;
        f.output_tokens += t.output_tokens;
        f.cache_read_tokens += t.cache_read_tokens;
        f.cache_write_tokens += t.cache_write_tokens;
        f.cost_usd += t.cost_micro_usd as f64 / 1_000_000.0;
    }
    Ok(by.into_values().collect())
}
