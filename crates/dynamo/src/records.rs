//! Where each of jada's own records lives in `jada-ops`: its key and the index entries
//! its access patterns need. This file is the table's layout; `docs/dynamodb.md` has it
//! as a table, with the requests each store method makes.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use jada_core::agent::{Approval, Message, Session as AgentSession, ToolCall};
use jada_core::{CredentialState, Offer, Task};
use jada_store::{AlertRecord, ApiKey, DispatchRecord, JobRun, OutboxEvent, RunOutcome, SentStatement, Session};
use serde::{Deserialize, Serialize};

use crate::docs::{Place, Record};
use crate::wire::ts;

/// A number that grows with every call in this process and with the clock across
/// processes (microseconds since 1970, or the last one plus 1): insertion order for
/// records that need it (outbox events, tool calls), as fixed-width text. The wall
/// clock on purpose: an order shared by processes, not a time any rule reads.
pub(crate) fn seq() -> String {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = Utc::now().timestamp_micros().max(0) as u64;
    let mut prev = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(prev + 1);
        match LAST.compare_exchange(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return format!("{next:020}"),
            Err(p) => prev = p,
        }
    }
}

/// Numbers as fixed-width text, so they sort as numbers in keys.
pub(crate) fn num(n: u64) -> String {
    format!("{n:012}")
}

/// An outbox event with what only the store needs: its insertion order and its claim.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EventDoc {
    #[serde(flatten)]
    pub event: OutboxEvent,
    pub seq: String,
    pub claimed_until: Option<DateTime<Utc>>,
}

impl EventDoc {
    /// When it may next be claimed: its next attempt, or the end of a live claim.
    pub fn due(&self) -> DateTime<Utc> {
        self.claimed_until
            .map_or(self.event.next_attempt_at, |c| c.max(self.event.next_attempt_at))
    }
}

pub(crate) fn event_pk(id: uuid::Uuid) -> String {
    format!("EVENT#{id}")
}

impl Record for EventDoc {
    const WHAT: &'static str = "outbox event";
    fn place(&self) -> Place {
        let p = Place::new(event_pk(self.event.event_id), "EVENT").gsi(
            1,
            format!("OUTBOX#{}", self.event.status.as_str()),
            &self.seq,
        );
        if self.event.status == jada_store::EventStatus::Pending {
            p.gsi(2, "OUTBOX#DUE", format!("{}#{}", ts(self.due()), self.seq))
        } else {
            p
        }
    }
}

/// A job run and the daemon that runs it (so a restarting daemon abandons only its own).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunDoc {
    #[serde(flatten)]
    pub run: JobRun,
    pub owner: String,
    pub seq: String,
}

pub(crate) fn run_pk(id: uuid::Uuid) -> String {
    format!("RUN#{id}")
}

impl Record for RunDoc {
    const WHAT: &'static str = "job run";
    fn place(&self) -> Place {
        let r = &self.run;
        let order = &self.seq;
        let p = Place::new(run_pk(r.run_id), "RUN")
            .gsi(1, format!("RUNS#{}", r.job), order)
            .gsi(2, "RUNS", order);
        match r.outcome {
            RunOutcome::Running => p.gsi(3, format!("RUNNING#{}", self.owner), order),
            RunOutcome::Succeeded => p.gsi(3, format!("RUNOK#{}", r.job), order),
            _ => p,
        }
    }
}

/// When a quiet job last looked and found nothing to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CheckDoc {
    pub job: String,
    pub at: DateTime<Utc>,
}

impl Record for CheckDoc {
    const WHAT: &'static str = "job check";
    fn place(&self) -> Place {
        Place::new("CHECK", &self.job)
    }
}

impl Record for CredentialState {
    const WHAT: &'static str = "credential state";
    fn place(&self) -> Place {
        Place::new("CRED", &self.name)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LeaseDoc {
    pub name: String,
    pub owner: String,
    pub until: DateTime<Utc>,
    // The item also has `owner`, `until_us` (the conditions read them) and `fence` (goes
    // up each time the lease is taken or renewed: a fencing number) at the top level.
}

impl Record for LeaseDoc {
    const WHAT: &'static str = "lease";
    fn place(&self) -> Place {
        Place::new("LEASE", &self.name)
    }
}

impl Record for AlertRecord {
    const WHAT: &'static str = "alert";
    fn place(&self) -> Place {
        Place::new("ALERT", &self.key)
    }
}

impl Record for SentStatement {
    const WHAT: &'static str = "statement send";
    fn place(&self) -> Place {
        Place::new(format!("STMT#{}", self.month), &self.key)
    }
}

pub(crate) fn offer_pk(id: uuid::Uuid) -> String {
    format!("OFFER#{id}")
}

impl Record for Offer {
    const WHAT: &'static str = "offer";
    fn place(&self) -> Place {
        let p = Place::new(offer_pk(self.offer_id), "OFFER").gsi(
            1,
            format!("OFFERS#{}", self.charter_id),
            format!("{}#{}", ts(self.offered_at), self.offer_id),
        );
        if self.status.is_open() {
            let deadline = format!("{}#{}", ts(self.expires_at), self.offer_id);
            p.gsi(2, "OPENOFFERS", &deadline)
                .gsi(3, format!("OPENOFFERS#{}", self.crew_id), &deadline)
        } else {
            p
        }
    }
}

impl Record for DispatchRecord {
    const WHAT: &'static str = "dispatch state";
    fn place(&self) -> Place {
        Place::new("DISPATCH", self.charter_id.to_string()).gsi(
            1,
            format!("DISPATCH#{}", self.status.as_str()),
            self.charter_id.to_string(),
        )
    }
}

impl Record for Session {
    const WHAT: &'static str = "office session";
    fn place(&self) -> Place {
        Place::new(format!("SESSION#{}", self.token_hash), "SESSION").expires(self.expires_at)
    }
}

/// A sign-in link's nonce, once used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NonceDoc {
    pub nonce: String,
    pub used_at: DateTime<Utc>,
}

impl Record for NonceDoc {
    const WHAT: &'static str = "link nonce";
    fn place(&self) -> Place {
        Place::new(format!("NONCE#{}", self.nonce), "NONCE")
    }
}

impl Record for ApiKey {
    const WHAT: &'static str = "API key";
    fn place(&self) -> Place {
        Place::new(format!("APIKEY#{}", self.key_hash), "APIKEY").gsi(1, "APIKEYS", &self.name)
    }
}

/// Claims an API key's name (names are unique, revoked keys included).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeyNameDoc {
    pub name: String,
    pub key_hash: String,
}

impl Record for KeyNameDoc {
    const WHAT: &'static str = "API key name";
    fn place(&self) -> Place {
        Place::new(format!("APIKEYNAME#{}", self.name), "APIKEYNAME")
    }
}

pub(crate) fn task_pk(id: u64) -> String {
    format!("TASK#{}", num(id))
}

impl Record for Task {
    const WHAT: &'static str = "task";
    fn place(&self) -> Place {
        Place::new(task_pk(self.id), "TASK").gsi(1, "TASKS", num(self.id)).gsi(
            2,
            format!("TASKS#{}", self.status.as_str()),
            num(self.id),
        )
    }
}

pub(crate) fn agent_pk(id: u64) -> String {
    format!("AGENT#{}", num(id))
}

/// An agent session and the length of its transcript (the next message's number).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionDoc {
    #[serde(flatten)]
    pub session: AgentSession,
    pub messages: u64,
}

impl Record for SessionDoc {
    const WHAT: &'static str = "agent session";
    fn place(&self) -> Place {
        let id = self.session.id;
        let p = Place::new(agent_pk(id), "META").gsi(1, "AGENTS", num(id));
        if self.session.outcome.is_none() {
            p.gsi(2, "AGENTS#RUNNING", num(id))
        } else {
            p
        }
    }
}

/// One session per input key: the key's claim names its session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InputKeyDoc {
    pub input_key: String,
    pub session_id: u64,
}

impl Record for InputKeyDoc {
    const WHAT: &'static str = "agent input key";
    fn place(&self) -> Place {
        Place::new(format!("AGENTKEY#{}", self.input_key), "KEY")
    }
}

/// One message of a session's transcript, numbered from 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MessageDoc {
    pub session_id: u64,
    pub n: u64,
    pub message: Message,
}

impl Record for MessageDoc {
    const WHAT: &'static str = "transcript message";
    fn place(&self) -> Place {
        Place::new(agent_pk(self.session_id), format!("MSG#{}", num(self.n)))
    }
}

/// A tool call, with its start order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CallDoc {
    #[serde(flatten)]
    pub call: ToolCall,
    pub seq: String,
}

impl Record for CallDoc {
    const WHAT: &'static str = "tool call";
    fn place(&self) -> Place {
        Place::new(
            agent_pk(self.call.session_id),
            format!("CALL#{}", self.call.tool_use_id),
        )
    }
}

pub(crate) fn approval_pk(id: u64) -> String {
    format!("APPROVAL#{}", num(id))
}

impl Record for Approval {
    const WHAT: &'static str = "approval";
    fn place(&self) -> Place {
        Place::new(approval_pk(self.id), "APPROVAL")
            .gsi(1, "APPROVALS", num(self.id))
            .gsi(2, format!("APPROVALS#{}", self.state.as_str()), num(self.id))
    }
}

/// A tool call's approval request, by (session, tool use): at most one each.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ApprovalClaimDoc {
    pub session_id: u64,
    pub tool_use_id: String,
    pub approval_id: u64,
}

impl Record for ApprovalClaimDoc {
    const WHAT: &'static str = "approval request";
    fn place(&self) -> Place {
        Place::new(agent_pk(self.session_id), format!("APPROVAL#{}", self.tool_use_id))
    }
}

/// A document every daemon shares (sealed by its writer), as base64 text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SharedDoc {
    pub name: String,
    pub value: String,
}

impl Record for SharedDoc {
    const WHAT: &'static str = "shared document";
    fn place(&self) -> Place {
        Place::new("SHARED", &self.name)
    }
}
