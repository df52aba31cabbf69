//! Tool calls made directly by a caller outside jada — an assistant reaching jada over MCP
//! — rather than by a model jada runs. They go through the same tool table, the same
//! records and the same approval gate as an agent session's calls:
//!
//! - Each caller (an API key's name, or `cli` for `jada mcp` on the office's machine) has
//!   one agent session per business day, playbook `mcp:NAME`, which holds its tool calls
//!   and approvals: the office and `jada agent sessions` show them like any session's.
//! - A read or an office write runs at once and is recorded (started before it runs,
//!   answered after).
//! - An outbound call (mail, a booking change) never runs on the caller's word: its
//!   arguments are checked, an approval is requested, and the answer says where a person
//!   decides. Once approved, the call runs exactly once — when the person decides (in the
//!   office, the CLI or the admin API) or when the caller next asks with `get_approval`,
//!   whichever comes first — and `get_approval` returns its recorded result.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use jada_core::agent::{args_hash, Approval, ApprovalState, Message, Outcome, ToolCall, ToolCallState};
use jada_core::{BusinessZone, Clock};
use jada_store::{NewApproval, NewSession, SessionEnd, Started, Store, StoreError};
use serde_json::{json, Value};

use super::tools::{self, Effect, Tool, ToolOutput, Toolbox, TOOLS};
use super::{approvals, AgentError, DEFAULT_APPROVAL_HOURS};

/// The playbook name an outside caller's sessions are recorded under.
pub const PLAYBOOK_PREFIX: &str = "mcp:";

/// Whether a session's playbook is an outside caller's (its approvals are carried out by
/// [`carry_out`], not by a model turn).
pub fn is_direct(playbook: &str) -> bool {
    playbook.starts_with(PLAYBOOK_PREFIX)
}

/// Who is calling: a name for the records, and whether it may only read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The API key's name (`cli` for `jada mcp` on the office's machine).
    pub name: String,
    /// Offered and allowed only the tools that read.
    pub read_only: bool,
}

impl Caller {
    pub fn playbook(&self) -> String {
        format!("{PLAYBOOK_PREFIX}{}", self.name)
    }

    /// Whether this caller may see and call `t`.
    pub fn may_use(&self, t: &Tool) -> bool {
        !self.read_only || t.effect == Effect::Reads
    }
}

/// The name of the tool that reports on (and, once approved, carries out) an approval.
pub const GET_APPROVAL: &str = "get_approval";

/// Calls jada's tools for outside callers.
#[derive(Clone)]
pub struct Direct {
    store: Arc<dyn Store>,
    toolbox: Toolbox,
    clock: Arc<dyn Clock>,
    zone: BusinessZone,
    owner: String,
    approval_ttl: chrono::Duration,
    /// Where a person decides, e.g. `https://jada.example.com/office/agent` (the daemon's
    /// public URL); `None` names the CLI only.
    office_url: Option<String>,
}

impl Direct {
    pub fn new(
        store: Arc<dyn Store>,
        toolbox: Toolbox,
        clock: Arc<dyn Clock>,
        zone: BusinessZone,
        owner: String,
    ) -> Direct {
        Direct {
            store,
            toolbox,
            clock,
            zone,
            owner,
            approval_ttl: chrono::Duration::hours(DEFAULT_APPROVAL_HOURS),
            office_url: None,
        }
    }

    /// Approval requests expire after `ttl` unanswered.
    pub fn approvals_expire_after(mut self, ttl: chrono::Duration) -> Direct {
        self.approval_ttl = ttl;
        self
    }

    /// The office's address, so an approval's answer can link to where it is decided.
    pub fn decided_at(mut self, public_url: Option<String>) -> Direct {
        self.office_url = public_url.map(|u| format!("{}/office/agent", u.trim_end_matches('/')));
        self
    }

    /// Today in the business's time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        self.zone.date_of(self.clock.now())
    }

    /// Runs a tool that only reads, unrecorded: what a resource is read through, so a
    /// resource and its tool answer alike. Anything else is refused.
    pub async fn read(&self, name: &str, input: &Value) -> ToolOutput {
        match tools::tool(name) {
            Some(t) if t.effect == Effect::Reads => {
                let allowed = [name.to_string()];
                self.toolbox.run(name, input, &allowed, "mcp", self.clock.now()).await
            }
            _ => ToolOutput::error(format!("`{name}` is not a tool that only reads")),
        }
    }

    /// The tools `caller` is offered, in the table's order.
    pub fn tools(&self, caller: &Caller) -> Vec<&'static Tool> {
        TOOLS.iter().filter(|t| caller.may_use(t)).collect()
    }

    /// Whether `caller` is offered `get_approval` (only callers that may ask for one).
    pub fn offers_get_approval(&self, caller: &Caller) -> bool {
        !caller.read_only
    }

    /// Runs one call of `name` for `caller`. A tool the caller is not offered is answered
    /// as an unknown tool; an outbound one answers with its approval request.
    pub async fn call(&self, caller: &Caller, name: &str, input: &Value) -> Result<ToolOutput, AgentError> {
        let allowed: Vec<String> = self.tools(caller).iter().map(|t| t.name.to_string()).collect();
        let Some(t) = tools::tool(name).filter(|t| caller.may_use(t)) else {
            return Ok(ToolOutput::error(format!(
                "there is no tool `{name}` here; the tools are: {}",
                allowed.join(", ")
            )));
        };
        let session = self.session(caller).await?;
        let tool_use_id = format!("mcp-{}", uuid::Uuid::new_v4());
        let now = self.clock.now();
        if t.effect != Effect::Outbound {
            let call = ToolCall::starting(session, &tool_use_id, name, input, now);
            self.store.start_tool_call(&call).await?;
            let author = format!("{} (session {session})", caller.playbook());
            let out = self.toolbox.run(name, input, &allowed, &author, now).await;
            self.store
                .finish_tool_call(session, &tool_use_id, &out.content, out.is_error)
                .await?;
            return Ok(out);
        }
        if let Err(refused) = self.toolbox.check(name, input, &allowed).await {
            let call = ToolCall::starting(session, &tool_use_id, name, input, now);
            self.store.start_tool_call(&call).await?;
            self.store
                .finish_tool_call(session, &tool_use_id, &refused.content, true)
                .await?;
            return Ok(refused);
        }
        let approval = self
            .store
            .request_approval(&NewApproval {
                session_id: session,
                tool_use_id,
                tool: name.to_string(),
                arguments: input.clone(),
                requested_at: now,
                expires_at: now + self.approval_ttl,
            })
            .await?;
        tracing::info!(caller = %caller.name, approval = approval.id, tool = name, "MCP tool call waits for approval");
        self.pending(&approval).await
    }

    /// Where an approval of `caller`'s stands; once approved, its call is carried out
    /// (exactly once) and its result returned.
    pub async fn get_approval(&self, caller: &Caller, id: u64) -> Result<ToolOutput, AgentError> {
        let not_yours = || ToolOutput::error(format!("there is no approval {id} for `{}`", caller.name));
        let Some(a) = self.store.get_approval(id).await? else {
            return Ok(not_yours());
        };
        let session = self.store.get_agent_session(a.session_id).await?;
        if session.is_none_or(|s| s.playbook != caller.playbook()) {
            return Ok(not_yours());
        }
        let now = self.clock.now();
        match a.state_at(now) {
            ApprovalState::Pending => self.pending(&a).await,
            ApprovalState::Denied => Ok(ToolOutput::error(format!(
                "a person denied this {} (approval {id}): {}. Nothing was done",
                a.tool,
                a.reason.as_deref().unwrap_or("no reason given")
            ))),
            ApprovalState::Expired => {
                // Recording the expiry: deciding an expired request marks it, and refuses.
                let _ = self.store.decide_approval(id, false, None, "expiry", now).await;
                Ok(ToolOutput::error(format!(
                    "nobody approved this {} in time (approval {id} expired); nothing was done",
                    a.tool
                )))
            }
            ApprovalState::Approved | ApprovalState::Used => {
                if let Some(out) = carry_out(self.store.as_ref(), &self.toolbox, &a, now).await? {
                    return Ok(out);
                }
                recorded(self.store.as_ref(), &a).await
            }
        }
    }

    /// Whether approval `a` belongs to an outside caller's session (and so is carried
    /// out by [`Direct::carry_out`], not by a model's next turn).
    pub async fn owns(&self, a: &Approval) -> Result<bool, StoreError> {
        let session = self.store.get_agent_session(a.session_id).await?;
        Ok(session.is_some_and(|s| is_direct(&s.playbook)))
    }

    /// Decides approval `id` if it is an outside caller's and, when approved, runs its
    /// call now (once): the decision, what the call answered, and its session as a
    /// report. `None` (nothing decided) when the approval is an agent session's or
    /// missing: the agent decides those.
    pub async fn decide(
        &self,
        id: u64,
        approve: bool,
        reason: Option<&str>,
        by: &str,
    ) -> Result<Option<(Approval, Option<ToolOutput>, super::Report)>, AgentError> {
        let Some(a) = self.store.get_approval(id).await? else {
            return Ok(None);
        };
        if !self.owns(&a).await? {
            return Ok(None);
        }
        let decided = self
            .store
            .decide_approval(id, approve, reason, by, self.clock.now())
            .await?;
        let out = self.carry_out(&decided).await?;
        let session = self
            .store
            .get_agent_session(decided.session_id)
            .await?
            .ok_or(AgentError::NoSession(decided.session_id))?;
        Ok(Some((decided, out, super::Report::of(&session, None, false))))
    }

    /// Runs a decided approval's call if it is approved and not yet spent.
    pub async fn carry_out(&self, a: &Approval) -> Result<Option<ToolOutput>, AgentError> {
        carry_out(self.store.as_ref(), &self.toolbox, a, self.clock.now()).await
    }

    /// The answer to an outbound call waiting for a person: not an error (the call was
    /// taken), and precise about what happens next.
    async fn pending(&self, a: &Approval) -> Result<ToolOutput, AgentError> {
        let would = approvals::would(self.store.as_ref(), &a.tool, &a.arguments).await?;
        let decide = match &self.office_url {
            Some(url) => format!("{url}#approval-{}", a.id),
            None => format!(
                "`jada agent approve {}` or `jada agent deny {} --reason ...`",
                a.id, a.id
            ),
        };
        Ok(ToolOutput {
            content: json!({
                "approval": a.id,
                "state": "pending",
                "tool": a.tool,
                "would": would,
                "decide_at": decide,
                "expires_at": a.expires_at,
                "next": format!("nothing was done yet: a person approves or denies it; then call {GET_APPROVAL} with approval {} for the result", a.id),
            })
            .to_string(),
            is_error: false,
        })
    }

    /// The caller's session of today, started (and closed, so nothing sweeps or resumes
    /// it) on its first call of the day.
    async fn session(&self, caller: &Caller) -> Result<u64, AgentError> {
        let now = self.clock.now();
        let day = self.zone.date_of(now);
        let input = format!("Tool calls from the MCP client `{}` on {day}.", caller.name);
        let new = NewSession {
            playbook: caller.playbook(),
            input: input.clone(),
            input_key: format!("{}:{day}", caller.playbook()),
            max_turns: 0,
            owner: self.owner.clone(),
        };
        match self
            .store
            .start_agent_session(&new, &Message::user_text(input), now)
            .await?
        {
            Started::Existing(s) => Ok(s.id),
            Started::New(s) => {
                let end = SessionEnd {
                    outcome: Outcome::Completed,
                    handoff: None,
                    error: None,
                    owner: None,
                };
                self.store.finish_agent_session(s.id, &end, now).await?;
                Ok(s.id)
            }
        }
    }
}

/// Runs an approved outside caller's call once: `None` when it was spent before (by
/// another decision or `get_approval`), or is not approved.
pub async fn carry_out(
    store: &dyn Store,
    toolbox: &Toolbox,
    a: &Approval,
    now: DateTime<Utc>,
) -> Result<Option<ToolOutput>, AgentError> {
    if a.state_at(now) != ApprovalState::Approved
        || !store.use_approval(a.id, &args_hash(&a.tool, &a.arguments), now).await?
    {
        return Ok(None);
    }
    let call = ToolCall::starting(a.session_id, &a.tool_use_id, &a.tool, &a.arguments, now);
    if !store.start_tool_call(&call).await? {
        return Ok(None);
    }
    let playbook = store
        .get_agent_session(a.session_id)
        .await?
        .map_or_else(|| "mcp".to_string(), |s| s.playbook);
    let author = format!("{playbook} (session {}, approval {})", a.session_id, a.id);
    let allowed = [a.tool.clone()];
    let out = toolbox.run(&a.tool, &a.arguments, &allowed, &author, now).await;
    store
        .finish_tool_call(a.session_id, &a.tool_use_id, &out.content, out.is_error)
        .await?;
    tracing::info!(approval = a.id, tool = %a.tool, is_error = out.is_error, "approved MCP tool call ran");
    Ok(Some(out))
}

/// What an approved call that ran answered, from its record.
async fn recorded(store: &dyn Store, a: &Approval) -> Result<ToolOutput, AgentError> {
    let call = store
        .list_tool_calls(a.session_id)
        .await?
        .into_iter()
        .find(|c| c.tool_use_id == a.tool_use_id);
    Ok(match call {
        Some(ToolCall {
            state: ToolCallState::Done,
            result,
            is_error,
            ..
        }) => ToolOutput {
            content: result.unwrap_or_default(),
            is_error,
        },
        Some(_) => ToolOutput::error(format!(
            "approval {}: the {} is running, or was interrupted while running; check its effect before asking again",
            a.id, a.tool
        )),
        None => ToolOutput::error(format!(
            "approval {} was spent but no run of the {} was recorded: it may have run; check before asking again",
            a.id, a.tool
        )),
    })
}
