//! Agent sessions: the provider-neutral transcript (what the `llm` crate translates to
//! each wire format), how a session ended, and what it cost.
//!
//! A session's outcome is typed so that every ending other than `completed` can be
//! counted, listed and alerted on: the turn limit is a handoff, never a silent stop.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

/// One piece of a message. Tool results answer the tool uses of the assistant message
/// just before, by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: String,
        #[serde(default)]
        is_error: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Block>,
}

impl Message {
    pub fn user_text(text: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: vec![Block::Text { text: text.into() }],
        }
    }

    /// The text blocks, joined.
    pub fn text(&self) -> String {
        let parts: Vec<&str> = self
            .content
            .iter()
            .filter_map(|b| match b {
                Block::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        parts.join("\n")
    }

    /// The tool calls this (assistant) message asks for: (id, name, input).
    pub fn tool_uses(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        self.content.iter().filter_map(|b| match b {
            Block::ToolUse { id, name, input } => Some((id.as_str(), name.as_str(), input)),
            _ => None,
        })
    }
}

/// Why the model stopped answering, in the Anthropic vocabulary (OpenAI's
/// `finish_reason` maps onto it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
    PauseTurn,
    Refusal,
    ModelContextWindowExceeded,
}

impl StopReason {
    /// The reason as the Anthropic API names it.
    pub fn as_str(&self) -> &'static str {
        match self {
            StopReason::EndTurn => "end_turn",
            StopReason::ToolUse => "tool_use",
            StopReason::MaxTokens => "max_tokens",
            StopReason::StopSequence => "stop_sequence",
            StopReason::PauseTurn => "pause_turn",
            StopReason::Refusal => "refusal",
            StopReason::ModelContextWindowExceeded => "model_context_window_exceeded",
        }
    }
}

/// What one request used. `input_tokens` are those billed at the full input price:
/// tokens read from the provider's prompt cache and written to it are counted apart
/// (Anthropic reports them apart; OpenAI's `cached_tokens` are taken out of its
/// `prompt_tokens`), so the three add up to the whole prompt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
}

impl Usage {
    /// The whole prompt: uncached, read from the cache and written to it.
    pub fn prompt_tokens(&self) -> u64 {
        self.input_tokens + self.cache_read_tokens + self.cache_write_tokens
    }
}

/// How a session ended (or why it is paused). Everything but `completed` is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    TurnLimit,
    BudgetExhausted,
    Truncated,
    Refused,
    ProviderError,
    Cancelled,
    Abandoned,
    WaitingApproval,
    /// Left the loop on an error of jada's own (the store, a bug), recorded with it.
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 10] = [
        Outcome::Completed,
        Outcome::TurnLimit,
        Outcome::BudgetExhausted,
        Outcome::Truncated,
        Outcome::Refused,
        Outcome::ProviderError,
        Outcome::Cancelled,
        Outcome::Abandoned,
        Outcome::WaitingApproval,
        Outcome::Failed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::TurnLimit => "turn_limit",
            Outcome::BudgetExhausted => "budget_exhausted",
            Outcome::Truncated => "truncated",
            Outcome::Refused => "refused",
            Outcome::ProviderError => "provider_error",
            Outcome::Cancelled => "cancelled",
            Outcome::Abandoned => "abandoned",
            Outcome::WaitingApproval => "waiting_approval",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| ParseError::new(format!("`{s}` is not a session outcome")))
    }

    /// A session's state by name: its outcome, or `running` while it has none.
    pub fn label(outcome: Option<Outcome>) -> &'static str {
        outcome.map_or("running", |o| o.as_str())
    }

    /// Whether `jada agent resume` can carry the session on from its transcript: every
    /// ending but `completed` (a cancelled session may be taken up again on purpose).
    pub fn is_resumable(&self) -> bool {
        !matches!(self, Outcome::Completed)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One run of a playbook on one input. `outcome` is `None` while it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: u64,
    pub playbook: String,
    pub input: String,
    /// What makes two triggers the same input (a mail's id, a chat message's id): one
    /// session per key.
    pub input_key: String,
    pub outcome: Option<Outcome>,
    /// Model requests answered so far.
    pub turns: u32,
    pub max_turns: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Prompt tokens read from and written to the provider's cache.
    #[serde(default)]
    pub cache_read_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// How often the transcript was compacted into a summary to stay in its context bound.
    #[serde(default)]
    pub compactions: u32,
    /// Estimated cost in millionths of a US dollar, from the configured price table.
    pub cost_micro_usd: u64,
    /// The model's note of what was done and what remains, when it stopped at its limit.
    pub handoff: Option<String>,
    /// Why it stopped, when that was a fault.
    pub error: Option<String>,
    /// The process running it (`host:pid`), while it runs.
    pub owner: Option<String>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Session {
    pub fn cost_usd(&self) -> f64 {
        self.cost_micro_usd as f64 / 1_000_000.0
    }
}

/// A tool call the session has started or finished. Marked `running` before the tool
/// runs, so a process killed mid-tool never runs it again on resume: the model is told
/// it was interrupted instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub session_id: u64,
    pub tool_use_id: String,
    pub name: String,
    pub input: Value,
    pub state: ToolCallState,
    pub result: Option<String>,
    pub is_error: bool,
    pub started_at: DateTime<Utc>,
}

impl ToolCall {
    /// A call about to run: recorded `running` before it does.
    pub fn starting(session_id: u64, tool_use_id: &str, name: &str, input: &Value, now: DateTime<Utc>) -> ToolCall {
        ToolCall {
            session_id,
            tool_use_id: tool_use_id.to_string(),
            name: name.to_string(),
            input: input.clone(),
            state: ToolCallState::Running,
            result: None,
            is_error: false,
            started_at: now,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolCallState {
    Running,
    Done,
}

/// Where an approval request stands. A pending request past its expiry counts as
/// expired ([`Approval::state_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Pending,
    Approved,
    Denied,
    Expired,
    /// Approved, and the tool has run (an approval works once).
    Used,
}

impl ApprovalState {
    pub const ALL: [ApprovalState; 5] = [
        ApprovalState::Pending,
        ApprovalState::Approved,
        ApprovalState::Denied,
        ApprovalState::Expired,
        ApprovalState::Used,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Denied => "denied",
            ApprovalState::Expired => "expired",
            ApprovalState::Used => "used",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| ParseError::new(format!("`{s}` is not an approval state")))
    }
}

/// A person's decision on one tool call a session wants to make (an outbound one: mail
/// leaving the office, a booking changed). Bound to the exact arguments by their hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub id: u64,
    pub session_id: u64,
    pub tool_use_id: String,
    pub tool: String,
    pub arguments: Value,
    pub args_hash: String,
    pub state: ApprovalState,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// Why an approval request cannot be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotDecidable {
    /// It passed its expiry while pending (a store marks it expired).
    Expired,
    /// It was approved, denied or used before: a request is decided once.
    Decided,
}

impl NotDecidable {
    /// Why, as the refusal says it.
    pub fn why(&self) -> &'static str {
        match self {
            NotDecidable::Expired => "expired before it was decided: the session was told so",
            NotDecidable::Decided => "was decided already; an approval is decided once",
        }
    }
}

impl Approval {
    /// The state as of `now`: a pending request past its expiry is expired.
    pub fn state_at(&self, now: DateTime<Utc>) -> ApprovalState {
        match self.state {
            ApprovalState::Pending if now >= self.expires_at => ApprovalState::Expired,
            s => s,
        }
    }

    /// The request approved or denied by `by` at `now`: only a pending request that has
    /// not expired can be. Both store backends decide through this.
    pub fn decided(
        &self,
        approve: bool,
        reason: Option<&str>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Approval, NotDecidable> {
        match self.state_at(now) {
            ApprovalState::Pending => Ok(Approval {
                state: if approve {
                    ApprovalState::Approved
                } else {
                    ApprovalState::Denied
                },
                reason: reason.map(str::to_string),
                decided_by: Some(by.to_string()),
                decided_at: Some(now),
                ..self.clone()
            }),
            ApprovalState::Expired => Err(NotDecidable::Expired),
            _ => Err(NotDecidable::Decided),
        }
    }

    /// The request spent on a tool call whose arguments hash to `args_hash`: once, and
    /// only when it was approved for exactly those arguments.
    pub fn spent(&self, args_hash: &str, now: DateTime<Utc>) -> Option<Approval> {
        (self.state == ApprovalState::Approved && self.args_hash == args_hash).then(|| Approval {
            state: ApprovalState::Used,
            decided_at: self.decided_at.or(Some(now)),
            ..self.clone()
        })
    }
}

/// The hash an approval is bound to: the tool's name and its arguments as canonical JSON
/// (object keys sorted), SHA-256, hex.
pub fn args_hash(tool: &str, arguments: &Value) -> String {
    use sha2::{Digest, Sha256};
    let mut canonical = String::new();
    canonical_json(arguments, &mut canonical);
    let digest = Sha256::digest(format!("{tool}\n{canonical}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON with object keys sorted at every level, whatever map order serde_json was built with.
fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// USD per million tokens, for one model. Cache prices default to Anthropic's list
/// multipliers of the input price: writes 1.25x, reads 0.1x.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    #[serde(default)]
    pub cache_write_per_mtok: Option<f64>,
    #[serde(default)]
    pub cache_read_per_mtok: Option<f64>,
}

impl Price {
    /// A price with the default cache prices.
    pub fn new(input_per_mtok: f64, output_per_mtok: f64) -> Price {
        Price {
            input_per_mtok,
            output_per_mtok,
            cache_write_per_mtok: None,
            cache_read_per_mtok: None,
        }
    }

    pub fn cache_write(&self) -> f64 {
        self.cache_write_per_mtok.unwrap_or(self.input_per_mtok * 1.25)
    }

    pub fn cache_read(&self) -> f64 {
        self.cache_read_per_mtok.unwrap_or(self.input_per_mtok * 0.1)
    }

    /// The estimated cost of `usage`, in millionths of a dollar (USD per million tokens
    /// times tokens is exactly micro-dollars), each kind of token at its own price.
    pub fn cost_micro_usd(&self, usage: Usage) -> u64 {
        let micros = usage.input_tokens as f64 * self.input_per_mtok
            + usage.output_tokens as f64 * self.output_per_mtok
            + usage.cache_write_tokens as f64 * self.cache_write()
            + usage.cache_read_tokens as f64 * self.cache_read();
        micros.round().max(0.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_back_by_name() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()).unwrap(), o);
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
    }

    #[test]
    fn a_request_is_decided_once_before_it_expires_and_spent_once_on_its_arguments() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let args = serde_json::json!({"charter": "c1", "crew": "cap"});
        let pending = Approval {
            id: 1,
            session_id: 7,
            tool_use_id: "t1".into(),
            tool: "assign_captain".into(),
            args_hash: args_hash("assign_captain", &args),
            arguments: args,
            state: ApprovalState::Pending,
            reason: None,
            decided_by: None,
            requested_at: at("2024-07-01T10:00:00Z"),
            expires_at: at("2024-07-02T10:00:00Z"),
            decided_at: None,
        };
        let now = at("2024-07-01T12:00:00Z");
        let approved = pending.decided(true, None, "office@example.com", now).unwrap();
        assert_eq!(
            (approved.state, approved.decided_at),
            (ApprovalState::Approved, Some(now))
        );
        assert_eq!(approved.decided(false, None, "x", now), Err(NotDecidable::Decided));
        let late = at("2024-07-02T10:00:00Z");
        assert_eq!(pending.decided(true, None, "x", late), Err(NotDecidable::Expired));
        assert!(approved.spent("another hash", now).is_none(), "bound to its arguments");
        let used = approved.spent(&pending.args_hash, now).unwrap();
        assert_eq!(used.state, ApprovalState::Used);
        assert!(used.spent(&pending.args_hash, now).is_none(), "spent once");
        assert!(pending.spent(&pending.args_hash, now).is_none(), "only once approved");
    }

    #[test]
    fn the_hash_binds_the_tool_and_every_argument() {
        let a = serde_json::json!({"to": ["a@example.com"], "body": "hi"});
        let b = serde_json::json!({"body": "hi", "to": ["a@example.com"]});
        assert_eq!(
            args_hash("draft_reply", &a),
            args_hash("draft_reply", &b),
            "key order does not matter"
        );
        assert_ne!(args_hash("draft_reply", &a), args_hash("assign_captain", &a));
        let c = serde_json::json!({"to": ["x@example.com"], "body": "hi"});
        assert_ne!(args_hash("draft_reply", &a), args_hash("draft_reply", &c));
    }

    #[test]
    fn prices_give_micro_dollars() {
        let p = Price::new(3.0, 15.0);
        let u = Usage {
            input_tokens: 1_000,
            output_tokens: 200,
            ..Usage::default()
        };
        assert_eq!(p.cost_micro_usd(u), 3_000 + 3_000);
    }

    #[test]
    fn cached_tokens_cost_their_own_price() {
        let u = Usage {
            input_tokens: 100,
            output_tokens: 0,
            cache_read_tokens: 10_000,
            cache_write_tokens: 1_000,
        };
        // Defaults: writes 1.25x and reads 0.1x the input price.
        assert_eq!(Price::new(3.0, 15.0).cost_micro_usd(u), 300 + 3_000 + 3_750);
        let own = Price {
            cache_write_per_mtok: Some(6.0),
            cache_read_per_mtok: Some(0.5),
            ..Price::new(3.0, 15.0)
        };
        assert_eq!(own.cost_micro_usd(u), 300 + 5_000 + 6_000);
        assert_eq!(u.prompt_tokens(), 11_100);
    }
}
