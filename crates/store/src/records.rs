//! The daemon's own records (outbox events, job runs) and the shapes of batched writes.

use std::fmt;

use chrono::{DateTime, Utc};
use jada_core::{Charter, Event};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One charter write in a batch, with the events it publishes. The store writes the
/// charter and its events together or not at all.
#[derive(Debug, Clone)]
pub enum CharterWrite {
    /// The id must be new. The stored version is 1.
    Create { charter: Charter, events: Vec<Event> },
    /// The stored version must equal `expected_version`; the new one is that plus 1.
    Update {
        charter: Charter,
        expected_version: u64,
        events: Vec<Event>,
    },
}

impl CharterWrite {
    pub fn charter(&self) -> &Charter {
        match self {
            CharterWrite::Create { charter, .. } | CharterWrite::Update { charter, .. } => charter,
        }
    }

    /// Whether the write queues outbox events.
    pub fn has_events(&self) -> bool {
        match self {
            CharterWrite::Create { events, .. } | CharterWrite::Update { events, .. } => !events.is_empty(),
        }
    }
}

/// Where an outbox event stands. Events are never deleted; `done` and `dead` are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    /// Waiting for its next attempt (which may be now).
    Pending,
    /// Handled.
    Done,
    /// Failed every attempt; parked until an operator retries or drops it.
    Dead,
    /// Dropped by an operator; kept as a record of the decision.
    Dropped,
}

impl EventStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventStatus::Pending => "pending",
            EventStatus::Done => "done",
            EventStatus::Dead => "dead",
            EventStatus::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Done, Self::Dead, Self::Dropped]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// An event in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEvent {
    pub event_id: Uuid,
    pub event: Event,
    pub created_at: DateTime<Utc>,
    pub status: EventStatus,
    /// How many times a worker has claimed it.
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// When it was handled, parked or dropped.
    pub finished_at: Option<DateTime<Utc>>,
}

/// What started a job run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Schedule,
    Manual,
    Event,
    Startup,
}

impl Trigger {
    pub fn as_str(&self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
            Trigger::Event => "event",
            Trigger::Startup => "startup",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Schedule, Self::Manual, Self::Event, Self::Startup]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// How a job run ended (or that it has not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    Running,
    Succeeded,
    Failed,
    /// Left running by a process that died; marked at the next start.
    Abandoned,
}

impl RunOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::Abandoned => "abandoned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Running, Self::Succeeded, Self::Failed, Self::Abandoned]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

impl fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One run of a job, scheduled or manual.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRun {
    pub run_id: Uuid,
    pub job: String,
    pub trigger: Trigger,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: RunOutcome,
    pub error: Option<String>,
    /// A short human summary: rows written, rows rejected, drift found.
    pub summary: Option<String>,
    /// Attempts the run took (retries after passing failures count).
    #[serde(default = "one")]
    pub attempts: u32,
    /// For a failed run: whether another run may succeed by itself (`retry`) or a person
    /// must act first (`operator`).
    #[serde(default)]
    pub recovery: Option<jada_core::Recovery>,
    /// For a failed run: the credential that needs re-auth, when that was the cause.
    #[serde(default)]
    pub needs_reauth: Option<String>,
}

fn one() -> u32 {
    1
}

impl JobRun {
    /// A run starting now, with a fresh id.
    pub fn started(job: &str, trigger: Trigger, now: DateTime<Utc>) -> JobRun {
        JobRun {
            run_id: Uuid::new_v4(),
            job: job.to_string(),
            trigger,
            started_at: now,
            finished_at: None,
            outcome: RunOutcome::Running,
            error: None,
            summary: None,
            attempts: 1,
            recovery: None,
            needs_reauth: None,
        }
    }
}

/// How a run ended, as the runner records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnd {
    pub outcome: RunOutcome,
    pub summary: Option<String>,
    pub error: Option<String>,
    pub attempts: u32,
    pub recovery: Option<jada_core::Recovery>,
    pub needs_reauth: Option<String>,
}

impl RunEnd {
    pub fn succeeded(summary: impl Into<String>, attempts: u32) -> RunEnd {
        RunEnd {
            outcome: RunOutcome::Succeeded,
            summary: Some(summary.into()),
            error: None,
            attempts,
            recovery: None,
            needs_reauth: None,
        }
    }
}

/// Whether an alert is calling for attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

/// One alert, keyed by what it is about (`job-failing:port-sheet`,
/// `credential-reauth:workspace`). Notifications go out on a change of status and as
/// reminders while firing; this record is how the daemon remembers which it sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub key: String,
    pub status: AlertStatus,
    /// One line for the operator: what is wrong and what to do.
    pub summary: String,
    /// When it started firing (or last resolved).
    pub since: DateTime<Utc>,
    pub last_notified: Option<DateTime<Utc>>,
    /// Notifications sent while this firing lasted (first alert plus reminders).
    pub notifications: u32,
}

/// A statement sent for a month: `key` says which (`crew:<crew id>` for a crew member's
/// own statement, `summary:<address>` for the summary to one recipient). A month's
/// statement goes to a key once; a re-run sends only the keys not yet recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentStatement {
    pub month: jada_core::Month,
    pub key: String,
    /// Where it went (every To and Cc address, comma-separated).
    pub recipient: String,
    /// The mail system's id for the message (Gmail's id, or the .eml file's path).
    pub message_id: String,
    pub sent_at: DateTime<Utc>,
}

/// What accepting an offer did. Only `Accepted` changed anything.
#[derive(Debug, Clone, PartialEq)]
pub enum Acceptance {
    /// The seat is theirs: the charter as written (version + 1, `charter.changed` queued).
    Accepted(jada_core::Charter),
    /// The offer was already answered, withdrawn or expired.
    NotOpen(jada_core::OfferStatus),
    /// Its deadline has passed (the dispatch tick will mark it expired).
    PastDeadline,
    /// Every seat of its kind is taken.
    SeatTaken,
    /// The person is already aboard, or on a charter at an overlapping time (its id).
    Busy(jada_core::CharterId),
    /// The charter is cancelled or gone.
    CharterClosed,
}

/// Where a charter's dispatch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DispatchStatus {
    /// Offering seats.
    Active,
    /// Every seat is filled.
    Crewed,
    /// Seats are open and nobody is left to ask: the office must act.
    Exhausted,
    /// Stopped: the charter was cancelled, or its captain removed.
    Stopped,
}

impl DispatchStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            DispatchStatus::Active => "active",
            DispatchStatus::Crewed => "crewed",
            DispatchStatus::Exhausted => "exhausted",
            DispatchStatus::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<DispatchStatus> {
        [
            DispatchStatus::Active,
            DispatchStatus::Crewed,
            DispatchStatus::Exhausted,
            DispatchStatus::Stopped,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// A charter's dispatch state, kept so a restart resumes it and the office sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DispatchRecord {
    pub charter_id: jada_core::CharterId,
    pub status: DispatchStatus,
    /// One line: what happened last (e.g. why it is exhausted).
    pub detail: String,
    pub updated_at: DateTime<Utc>,
}

/// An office user's signed-in session. Only a hash of the cookie's secret is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub token_hash: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A booking-API key. Only a hash of the key is stored; the key is shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub name: String,
    pub key_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Made with `--mcp-read-only`: over MCP it is offered only the tools that read, and
    /// the booking API refuses it anything but reading.
    #[serde(default)]
    pub mcp_read_only: bool,
}

/// An agent session to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub playbook: String,
    pub input: String,
    /// One session per key (e.g. `gmail:MESSAGE_ID`); manual runs use a fresh key.
    pub input_key: String,
    pub max_turns: u32,
    /// The process that will run it (`host:pid`).
    pub owner: String,
}

/// What [`crate::AgentStore::start_session`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Started {
    New(jada_core::agent::Session),
    /// A session for the same input key exists already; nothing was written.
    Existing(jada_core::agent::Session),
}

/// What one committed model turn cost, added to its session and, in the same atomic
/// write, to its playbook's spend for the business day it happened on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TurnCost {
    pub usage: jada_core::agent::Usage,
    pub cost_micro_usd: u64,
    /// The business's day of the turn (its time zone): what daily budgets count.
    pub day: chrono::NaiveDate,
    /// This turn compacted the transcript into a summary.
    pub compaction: bool,
}

/// One playbook's agent activity over some hours, from the store's hourly counters
/// (each added to in the write that did it), so figures never read the sessions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentTotals {
    pub playbook: String,
    /// Sessions started.
    pub started: u64,
    /// Sessions that ended (or paused) with each outcome, by its name: a session resumed
    /// and ended again counts again.
    pub ended: std::collections::BTreeMap<String, u64>,
    pub turns: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub cost_micro_usd: u64,
}

impl AgentTotals {
    /// Adds one counter by its stored name (`started`, `turns`, ..., `ended:OUTCOME`).
    pub fn add(&mut self, key: &str, n: u64) {
        match key {
            "started" => self.started += n,
            "turns" => self.turns += n,
            "input_tokens" => self.input_tokens += n,
            "output_tokens" => self.output_tokens += n,
            "cache_read_tokens" => self.cache_read_tokens += n,
            "cache_write_tokens" => self.cache_write_tokens += n,
            "cost_micro_usd" => self.cost_micro_usd += n,
            k => {
                if let Some(outcome) = k.strip_prefix("ended:") {
                    *self.ended.entry(outcome.to_string()).or_default() += n;
                }
            }
        }
    }
}

/// The hour an instant falls in, as the hourly counters are keyed (UTC, sortable).
pub fn hour_of(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H").to_string()
}

/// The hourly counters one committed turn adds to.
pub fn turn_counters(t: &TurnCost) -> [(&'static str, u64); 6] {
    [
        ("turns", 1),
        ("input_tokens", t.usage.input_tokens),
        ("output_tokens", t.usage.output_tokens),
        ("cache_read_tokens", t.usage.cache_read_tokens),
        ("cache_write_tokens", t.usage.cache_write_tokens),
        ("cost_micro_usd", t.cost_micro_usd),
    ]
}

/// How an agent session ended (or paused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEnd {
    pub outcome: jada_core::agent::Outcome,
    pub handoff: Option<String>,
    pub error: Option<String>,
    /// Ends it only while this owner runs it (a process ending its own session, or a
    /// sweep ending what it saw stuck): never a session another process has taken up.
    pub owner: Option<String>,
}

/// A tool call to hold for a person's approval.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApproval {
    pub session_id: u64,
    pub tool_use_id: String,
    pub tool: String,
    pub arguments: serde_json::Value,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Each vessel's turnaround (minutes between two charters), by the vessel's name as the
/// fleet knows it (case and spacing aside): what a charter write checks overlaps with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Turnarounds(std::collections::BTreeMap<String, u32>);

impl Turnarounds {
    pub fn new(vessels: impl IntoIterator<Item = (String, u32)>) -> Turnarounds {
        Turnarounds(
            vessels
                .into_iter()
                .map(|(v, m)| (jada_core::vessel::vessel_key(&v), m))
                .collect(),
        )
    }

    /// The fleet's (`[[vessels]] turnaround`).
    pub fn of_fleet(fleet: &jada_core::Fleet) -> Turnarounds {
        Turnarounds::new(fleet.vessels().iter().map(|v| (v.name.clone(), v.turnaround)))
    }

    /// The turnaround of `vessel` (0 for one the fleet does not list).
    pub fn of(&self, vessel: &str) -> u32 {
        self.0.get(&jada_core::vessel::vessel_key(vessel)).copied().unwrap_or(0)
    }

    /// The first charter of `others` that `charter` would overlap, if any.
    pub fn first_overlap<'a>(
        &self,
        charter: &jada_core::Charter,
        others: &'a [jada_core::Charter],
    ) -> Option<&'a jada_core::Charter> {
        let turnaround = chrono::Duration::minutes(i64::from(self.of(&charter.vessel_name)));
        others.iter().find(|o| charter.overlaps(o, turnaround))
    }

    /// The refusal for `charter` overlapping `other`.
    pub fn refusal(&self, charter: &jada_core::Charter, other: &jada_core::Charter) -> crate::StoreError {
        crate::StoreError::Overlap {
            id: charter.charter_id,
            other: Box::new(other.clone()),
            turnaround_minutes: i64::from(self.of(&charter.vessel_name)),
        }
    }
}
