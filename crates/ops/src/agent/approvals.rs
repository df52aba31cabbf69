//! The gate on outbound tools: a call that sends or changes a booking runs only once a
//! person approved its exact arguments, and exactly once. Deciding carries the session
//! on; a session whose approvals were all decided (or expired) is carried on by the
//! daemon's agent job even if nobody is there to press the button.

use jada_core::agent::{args_hash, Approval, ApprovalState, Outcome, Session};
use jada_core::{CharterId, CrewId};
use jada_store::{NewApproval, Store, StoreError};
use serde_json::Value;

use super::{direct, Agent, AgentError, Playbook, Report, ToolOutput};

/// What an outbound call would do, in one line a person reads: the office's approval
/// card and an MCP caller's answer say it the same way.
pub async fn would(store: &dyn Store, tool: &str, args: &Value) -> Result<String, StoreError> {
    let arg = |k: &str| args[k].as_str().unwrap_or_default().to_string();
    Ok(match tool {
        "assign_captain" => {
            let charter = match CharterId::parse(&arg("charter_id")) {
                Ok(id) => store.get_charter(id).await?,
                Err(_) => None,
            };
            let crew = match CrewId::parse(&arg("crew_id")) {
                Ok(id) => store.get_crew(&id).await?,
                Err(_) => None,
            };
            let who = crew.map_or_else(|| format!("crew id {} (not on the roster)", arg("crew_id")), |m| m.name);
            let of = charter.map_or(String::new(), |c| {
                format!(" of {} on {}", c.vessel_name, c.charter_date)
            });
            format!("make {who} the captain{of}")
        }
        "draft_reply" => {
            let to: Vec<&str> = ["to", "cc"]
                .iter()
                .flat_map(|k| args[*k].as_array().into_iter().flatten())
                .filter_map(Value::as_str)
                .collect();
            format!("send the mail “{}” to {}", arg("subject"), to.join(", "))
        }
        other if super::tools::is_external(other) => super::tools::external::would(other, args),
        other => other.to_string(),
    })
}

/// Where an outbound call stands with its approval.
pub(super) enum Gate {
    /// Approved and spent on these exact arguments: run it now.
    Run,
    /// Spent before, but no call was recorded: it may have run; never run it again.
    Spent,
    /// Waiting for a person.
    Waiting(Approval),
    /// Answered without running (denied, expired, arguments refused), and recorded.
    Answered(ToolOutput),
}

impl Agent {
    /// Records a person's decision on an approval request and carries its session on: an
    /// approved call runs exactly once, a denied one is answered with the reason.
    pub async fn decide(
        &self,
        pb_of: &(dyn Fn(&str) -> Option<Playbook> + Sync),
        approval: u64,
        approve: bool,
        reason: Option<&str>,
        by: &str,
    ) -> Result<(Approval, Report), AgentError> {
        let decided = self
            .store
            .decide_approval(approval, approve, reason, by, self.now())
            .await?;
        let session = self.store.get_agent_session(decided.session_id).await?;
        if session.as_ref().is_some_and(|s| direct::is_direct(&s.playbook)) {
            // An outside caller's call: no model waits on it; it runs now, once.
            direct::carry_out(self.store.as_ref(), &self.toolbox, &decided, self.now()).await?;
        }
        let report = self.continue_waiting(pb_of, decided.session_id).await?;
        Ok((decided, report))
    }

    /// Carries on a session that waits for approvals, within its turn limit (one more
    /// turn at least, so a decision is always answered). A session another process is
    /// carrying on already is reported as it stands: that is not an error.
    pub async fn continue_waiting(
        &self,
        pb_of: &(dyn Fn(&str) -> Option<Playbook> + Sync),
        id: u64,
    ) -> Result<Report, AgentError> {
        let s = self
            .store
            .get_agent_session(id)
            .await?
            .ok_or(AgentError::NoSession(id))?;
        if s.outcome != Some(Outcome::WaitingApproval) {
            return Ok(Report::of(&s, None, false));
        }
        let pb = pb_of(&s.playbook).ok_or_else(|| AgentError::NoPlaybook {
            id,
            playbook: s.playbook.clone(),
        })?;
        let max_turns = s.max_turns.max(s.turns + 1);
        match self
            .store
            .reopen_agent_session(id, &self.owner, max_turns, self.now())
            .await?
        {
            Some(s) => self.drive(&pb, s).await,
            // Lost the race to another continuation: it carries the session on.
            None => self.report(id).await,
        }
    }

    /// The sessions waiting for approvals none of which is still pending (all decided or
    /// expired): the agent job carries each on, so no session waits on nothing.
    pub async fn unblocked_sessions(&self, limit: usize) -> Result<Vec<Session>, AgentError> {
        let now = self.now();
        let waiting = self
            .store
            .list_agent_sessions(limit)
            .await?
            .into_iter()
            .filter(|s| s.outcome == Some(Outcome::WaitingApproval));
        let pending = self.store.list_approvals(&[ApprovalState::Pending], limit).await?;
        Ok(waiting
            .filter(|s| {
                !pending
                    .iter()
                    .any(|a| a.session_id == s.id && a.state_at(now) == ApprovalState::Pending)
            })
            .collect())
    }

    /// Whether every one of `approvals` has been decided or has expired by now.
    pub(super) async fn all_decided(&self, approvals: &[Approval]) -> Result<bool, AgentError> {
        let now = self.now();
        for a in approvals {
            let current = self.store.get_approval(a.id).await?;
            if current.is_some_and(|c| c.state_at(now) == ApprovalState::Pending) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Where an outbound call stands with its approval (asking for one if none exists).
    pub(super) async fn gate(
        &self,
        pb: &Playbook,
        session: &Session,
        tool_use_id: &str,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<Gate, AgentError> {
        if let Err(refused) = self.toolbox.check(name, input, &pb.tools).await {
            self.record(session.id, tool_use_id, name, input, &refused).await?;
            return Ok(Gate::Answered(refused));
        }
        let now = self.now();
        let approval = match self.store.find_approval(session.id, tool_use_id).await? {
            Some(a) => a,
            None => {
                let request = NewApproval {
                    session_id: session.id,
                    tool_use_id: tool_use_id.to_string(),
                    tool: name.to_string(),
                    arguments: input.clone(),
                    requested_at: now,
                    expires_at: now + self.approval_ttl,
                };
                let a = self.store.request_approval(&request).await?;
                tracing::info!(
                    session = session.id,
                    approval = a.id,
                    tool = name,
                    "tool call waits for approval"
                );
                return Ok(Gate::Waiting(a));
            }
        };
        let answer = match approval.state_at(now) {
            ApprovalState::Pending => return Ok(Gate::Waiting(approval)),
            ApprovalState::Used => return Ok(Gate::Spent),
            ApprovalState::Approved => {
                if self
                    .store
                    .use_approval(approval.id, &args_hash(name, input), now)
                    .await?
                {
                    return Ok(Gate::Run);
                }
                ToolOutput::error(format!(
                    "approval {} does not cover these arguments; nothing was sent",
                    approval.id
                ))
            }
            ApprovalState::Denied => ToolOutput::error(format!(
                "a person denied this {name} (approval {}): {}. Nothing was sent; do not try the same again",
                approval.id,
                approval.reason.as_deref().unwrap_or("no reason given")
            )),
            ApprovalState::Expired => {
                // Deciding an expired request records its expiry (and refuses, as meant).
                let _ = self
                    .store
                    .decide_approval(approval.id, false, None, "expiry", now)
                    .await;
                ToolOutput::error(format!(
                    "nobody approved this {name} in time (approval {} expired); nothing was sent. Leave a task for a person instead",
                    approval.id
                ))
            }
        };
        self.record(session.id, tool_use_id, name, input, &answer).await?;
        Ok(Gate::Answered(answer))
    }
}
