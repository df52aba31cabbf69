//! The store's traits, one per group of access patterns. Every method is a single atomic
//! operation on any backend.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use jada_core::agent::{Approval, ApprovalState, Message, Session as AgentSession, ToolCall};
use jada_core::{
    Charter, CharterId, ChatMessage, CredentialState, CrewId, CrewMember, Email, Event, Month, NewTask, Offer,
    OfferStatus, Task, TaskNote, TaskStatus,
};
use uuid::Uuid;

use crate::records::{
    Acceptance, AgentTotals, AlertRecord, ApiKey, CharterWrite, DispatchRecord, DispatchStatus, EventStatus, JobRun,
    NewApproval, NewSession, OutboxEvent, RunEnd, SentStatement, Session, SessionEnd, Started, Trigger, TurnCost,
};
use crate::{EventsWritten, Result, StoreError};

/// Charters (table `crew-dispatch`).
#[async_trait]
pub trait CharterStore: Send + Sync {
    /// Applies each write atomically with its events; one write failing (stale version,
    /// existing id) does not stop the others. The outer error is for the backend failing
    /// as a whole, in which case nothing was written. Returns the stored charters with
    /// their new versions, or why each write was refused, in input order.
    async fn write_charters(&self, writes: Vec<CharterWrite>, now: DateTime<Utc>) -> Result<Vec<Result<Charter>>>;

    /// The charter with this id, if any.
    async fn get_charter(&self, id: CharterId) -> Result<Option<Charter>>;

    /// The charters among `ids` that exist, in no particular order.
    async fn get_charters(&self, ids: &[CharterId]) -> Result<Vec<Charter>>;

    /// Every charter of one month, by date then start time (the month index).
    async fn list_charters_in_month(&self, month: Month) -> Result<Vec<Charter>>;

    /// Every charter dated `from..=to`, by date then start time.
    async fn list_charters_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Charter>>;

    /// Creates one charter with its events. Fails with [`StoreError::CharterExists`].
    async fn create_charter(&self, charter: Charter, events: Vec<Event>, now: DateTime<Utc>) -> Result<Charter> {
        single(
            self.write_charters(vec![CharterWrite::Create { charter, events }], now)
                .await?,
        )
    }

    /// Replaces one charter if the store still holds `expected_version`, with its events.
    /// Fails loudly with [`StoreError::StaleVersion`] otherwise, and writes nothing.
    async fn update_charter(
        &self,
        charter: Charter,
        expected_version: u64,
        events: Vec<Event>,
        now: DateTime<Utc>,
    ) -> Result<Charter> {
        single(
            self.write_charters(
                vec![CharterWrite::Update {
                    charter,
                    expected_version,
                    events,
                }],
                now,
            )
            .await?,
        )
    }
}

fn single(mut results: Vec<Result<Charter>>) -> Result<Charter> {
    results
        .pop()
        .unwrap_or_else(|| Err(StoreError::Backend("the store answered a write with no result".into())))
}

/// The crew roster (table `crew-roster`).
#[async_trait]
pub trait CrewStore: Send + Sync {
    /// Inserts or replaces a crew member, availability included. Fails with
    /// [`StoreError::EmailTaken`] when another member has the email.
    async fn upsert_crew(&self, member: &CrewMember) -> Result<()>;

    async fn get_crew(&self, id: &CrewId) -> Result<Option<CrewMember>>;

    async fn get_crew_by_email(&self, email: &Email) -> Result<Option<CrewMember>>;

    /// Everyone on the roster, active or not, by crew id.
    async fn list_crew(&self) -> Result<Vec<CrewMember>>;

    /// Replaces a member's available dates.
    async fn set_availability(&self, id: &CrewId, dates: &BTreeSet<NaiveDate>) -> Result<()>;

    /// Active crew available on `date`, by crew id.
    async fn list_crew_available_on(&self, date: NaiveDate) -> Result<Vec<CrewMember>>;
}

/// Charter chat threads (table `charter-chats`).
#[async_trait]
pub trait ChatStore: Send + Sync {
    /// Appends a message; the charter must exist.
    async fn append_chat(&self, message: &ChatMessage) -> Result<()>;

    /// A charter's thread, oldest first (ties in the order they were appended).
    async fn list_chat(&self, charter: CharterId) -> Result<Vec<ChatMessage>>;
}

/// The transactional outbox. Events are written with the change that caused them and
/// drained by the event worker; they are never deleted.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Rung after each write of this store that queued outbox events (a charter write,
    /// an accepted offer, an enqueued event), so the worker of this process wakes at once.
    fn events_written(&self) -> EventsWritten;

    /// Enqueues an event on its own (changes that have a write use that write's events).
    async fn enqueue_event(&self, event: &Event, now: DateTime<Utc>) -> Result<OutboxEvent>;

    /// Claims up to `limit` pending events due at `now`, oldest first, for `lease`: a
    /// claimed event is not handed to anyone else until the lease runs out (so a worker
    /// that dies mid-event lets it be claimed again). Counts an attempt on each.
    async fn claim_due_events(&self, now: DateTime<Utc>, lease: Duration, limit: usize) -> Result<Vec<OutboxEvent>>;

    /// Marks a claimed event handled.
    async fn ack_event(&self, id: Uuid, now: DateTime<Utc>) -> Result<()>;

    /// Records a failed attempt and when to try again.
    async fn fail_event(&self, id: Uuid, error: &str, next_attempt_at: DateTime<Utc>) -> Result<()>;

    /// Gives a claimed event back without counting the attempt: its consumer could not
    /// try (a credential needs re-auth), so waiting must not use up its attempts.
    async fn release_event(&self, id: Uuid, error: &str, next_attempt_at: DateTime<Utc>) -> Result<()>;

    /// Parks an event as dead after its last attempt, keeping the error.
    async fn mark_event_dead(&self, id: Uuid, error: &str, now: DateTime<Utc>) -> Result<()>;

    /// Puts a dead event back in the queue, due at `now`, with a fresh count of attempts.
    async fn retry_dead_event(&self, id: Uuid, now: DateTime<Utc>) -> Result<()>;

    /// Drops a dead event: it stays on record as `dropped` and is never run.
    async fn drop_dead_event(&self, id: Uuid, now: DateTime<Utc>) -> Result<()>;

    async fn get_event(&self, id: Uuid) -> Result<Option<OutboxEvent>>;

    /// Events in one status, oldest first, at most `limit`.
    async fn list_events(&self, status: EventStatus, limit: usize) -> Result<Vec<OutboxEvent>>;

    /// How many events are in one status.
    async fn count_events(&self, status: EventStatus) -> Result<u64>;

    /// Lets go of every claim on pending events (a restarted daemon whose predecessor
    /// died mid-batch): they are due again at once. Returns how many were claimed.
    async fn release_claims(&self, now: DateTime<Utc>) -> Result<u64>;
}

/// The history of job runs.
#[async_trait]
pub trait JobRunStore: Send + Sync {
    /// Records that a run started.
    async fn start_run(&self, job: &str, trigger: Trigger, now: DateTime<Utc>) -> Result<JobRun>;

    /// Records how a running run ended. A run that already ended is not changed.
    async fn finish_run(&self, run_id: Uuid, end: &RunEnd, now: DateTime<Utc>) -> Result<JobRun>;

    /// Marks every run still `running` as abandoned (called at start-up, after a crash).
    /// Returns how many were.
    async fn abandon_running_runs(&self, now: DateTime<Utc>) -> Result<u64>;

    /// The latest successful run of a job.
    async fn last_success(&self, job: &str) -> Result<Option<JobRun>>;

    /// The latest runs, newest first: of one job, or of all jobs.
    async fn recent_runs(&self, job: Option<&str>, limit: usize) -> Result<Vec<JobRun>>;

    /// Notes that a quiet job looked and found nothing to do (such runs are not
    /// recorded as runs): `jobs list`, doctor and the Automation page say "last checked".
    async fn record_check(&self, job: &str, at: DateTime<Utc>) -> Result<()>;

    /// When each job last checked, by job name.
    async fn last_checks(&self) -> Result<Vec<(String, DateTime<Utc>)>>;
}

/// The health of Google credentials, written by the token service.
#[async_trait]
pub trait CredentialStateStore: Send + Sync {
    /// Inserts or replaces the state of one credential (keyed by name).
    async fn put_credential_state(&self, state: &CredentialState) -> Result<()>;

    async fn get_credential_state(&self, name: &str) -> Result<Option<CredentialState>>;

    /// Every recorded credential, by name.
    async fn list_credential_states(&self) -> Result<Vec<CredentialState>>;
}

/// Leases: a named lock with an owner and an expiry, so a job never runs twice at once,
/// even across several daemons on one table. An expired lease may be taken over.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes the lease if it is free, expired, or already `owner`'s (which renews it).
    async fn try_acquire_lease(&self, name: &str, owner: &str, now: DateTime<Utc>, ttl: Duration) -> Result<bool>;

    /// Gives the lease up, if `owner` holds it.
    async fn release_lease(&self, name: &str, owner: &str) -> Result<()>;

    /// Every lease held (expired or not): (name, owner, expires_at), by name.
    async fn list_leases(&self) -> Result<Vec<(String, String, DateTime<Utc>)>>;
}

/// Alert states, one record per alert key.
#[async_trait]
pub trait AlertStore: Send + Sync {
    async fn get_alert(&self, key: &str) -> Result<Option<AlertRecord>>;

    /// Inserts or replaces the record for its key.
    async fn put_alert(&self, alert: &AlertRecord) -> Result<()>;

    /// Every alert ever raised, firing first, then by key.
    async fn list_alerts(&self) -> Result<Vec<AlertRecord>>;
}

/// Which monthly statements were sent, so a re-run sends only what is missing.
#[async_trait]
pub trait StatementStore: Send + Sync {
    /// Records a send; recording the same (month, key) again replaces it (a `--resend`).
    async fn record_statement(&self, sent: &SentStatement) -> Result<()>;

    /// The month's sends, by key.
    async fn list_statements(&self, month: Month) -> Result<Vec<SentStatement>>;
}

/// Dispatch offers and each charter's dispatch state. Every transition of an offer is
/// conditional (only an open offer changes, once) and commits with its chat note.
#[async_trait]
pub trait OfferStore: Send + Sync {
    /// Records a new open offer with the chat note that says so.
    async fn create_offer(&self, offer: &Offer, note: &ChatMessage) -> Result<()>;

    async fn get_offer(&self, id: Uuid) -> Result<Option<Offer>>;

    /// A charter's offers, oldest first.
    async fn list_offers_for_charter(&self, charter: CharterId) -> Result<Vec<Offer>>;

    /// A person's open offers, soonest deadline first.
    async fn list_open_offers_for_crew(&self, crew: &CrewId) -> Result<Vec<Offer>>;

    /// Open offers whose deadline is at or before `now`, soonest first.
    async fn list_offers_due(&self, now: DateTime<Utc>) -> Result<Vec<Offer>>;

    /// Closes an open offer as declined, expired or withdrawn, with its chat note.
    /// `false` (and nothing written) when the offer was not open.
    async fn close_offer(&self, id: Uuid, status: OfferStatus, now: DateTime<Utc>, note: &ChatMessage) -> Result<bool>;

    /// Accepts an open offer in one transaction: in time, a seat of its kind free (the
    /// charter has `seats` of that kind), the person not aboard nor on an overlapping
    /// charter. On success the person is assigned (version + 1, `charter.changed`
    /// queued) and the note appended; otherwise nothing is written.
    async fn accept_offer(&self, id: Uuid, now: DateTime<Utc>, seats: u32, note: &ChatMessage) -> Result<Acceptance>;

    /// Inserts or replaces a charter's dispatch state.
    async fn put_dispatch(&self, record: &DispatchRecord) -> Result<()>;

    async fn get_dispatch(&self, charter: CharterId) -> Result<Option<DispatchRecord>>;

    /// Dispatch states with this status, by charter.
    async fn list_dispatches(&self, status: DispatchStatus) -> Result<Vec<DispatchRecord>>;
}

/// The office's web access: sessions, single-use sign-in links, booking-API keys.
#[async_trait]
pub trait AccessStore: Send + Sync {
    async fn create_session(&self, session: &Session) -> Result<()>;

    /// The session with this hash, if it has not expired at `now`.
    async fn get_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>>;

    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    /// Marks a link's nonce used; `false` when it was used before (a link works once).
    async fn use_link_nonce(&self, nonce: &str, now: DateTime<Utc>) -> Result<bool>;

    /// Stores a new key; a name already in use (even revoked) is refused.
    async fn create_api_key(&self, key: &ApiKey) -> Result<()>;

    /// The key with this hash, revoked or not.
    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>>;

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>>;

    /// Revokes a key by name; `false` when no live key has that name.
    async fn revoke_api_key(&self, name: &str, now: DateTime<Utc>) -> Result<bool>;

    /// A small document every daemon on this store shares, by name (the link-signing
    /// keys, sealed by the caller before they get here).
    async fn get_shared(&self, name: &str) -> Result<Option<Vec<u8>>>;

    /// Writes a shared document if the stored one is still `expected` (`None`: only if
    /// there is none): `false`, and nothing written, when someone else wrote first.
    async fn swap_shared(&self, name: &str, expected: Option<&[u8]>, value: &[u8]) -> Result<bool>;
}

/// Tasks and their notes. Tasks are numbered by the store, 1, 2, 3...
#[async_trait]
pub trait TaskStore: Send + Sync {
    async fn create_task(&self, task: &NewTask, now: DateTime<Utc>) -> Result<Task>;

    async fn get_task(&self, id: u64) -> Result<Option<Task>>;

    /// Tasks in any of `statuses` (all tasks when empty), newest first, at most `limit`.
    async fn list_tasks(&self, statuses: &[TaskStatus], limit: usize) -> Result<Vec<Task>>;

    /// Moves a task to `status`, with a note saying why. A done or cancelled task is
    /// refused with [`StoreError::NoSuchRecord`] and nothing is written.
    async fn set_task_status(&self, id: u64, status: TaskStatus, note: &TaskNote) -> Result<Task>;

    /// Appends a note to a task's history.
    async fn add_task_note(&self, id: u64, note: &TaskNote) -> Result<Task>;
}

/// Agent sessions: each turn is committed before the next request, so a crash loses at
/// most the request in flight.
#[async_trait]
pub trait AgentStore: Send + Sync {
    /// Starts a session with its first message, unless one exists for the same input key
    /// (one session per input): then that one is returned and nothing is written.
    async fn start_agent_session(&self, new: &NewSession, first: &Message, now: DateTime<Utc>) -> Result<Started>;

    async fn get_agent_session(&self, id: u64) -> Result<Option<AgentSession>>;

    /// The latest sessions, newest first.
    async fn list_agent_sessions(&self, limit: usize) -> Result<Vec<AgentSession>>;

    /// Sessions still running (no outcome), oldest first.
    async fn list_running_agent_sessions(&self) -> Result<Vec<AgentSession>>;

    /// A session's transcript, in order.
    async fn session_messages(&self, id: u64) -> Result<Vec<Message>>;

    /// Appends messages to a running session's transcript; when `turn` is given, they
    /// answer one model request: the turn count goes up by one, tokens and cost add up,
    /// and the cost is added to the playbook's spend of `turn.day` in the same atomic
    /// write. With no messages and no turn, it is the session's heartbeat.
    /// Refused ([`StoreError::NotAllowed`]) unless the session is running as `owner`.
    async fn append_messages(
        &self,
        id: u64,
        owner: &str,
        messages: &[Message],
        turn: Option<TurnCost>,
        now: DateTime<Utc>,
    ) -> Result<AgentSession>;

    /// What a playbook's sessions cost on one business day, in millionths of a dollar.
    async fn agent_spend(&self, playbook: &str, day: NaiveDate) -> Result<u64>;

    /// Each playbook's activity in the hours from `since`'s hour on: sessions started,
    /// endings by outcome, turns, tokens, cost — from hourly counters that starting a
    /// session, committing a turn and ending one add to.
    async fn agent_totals(&self, since: DateTime<Utc>) -> Result<Vec<AgentTotals>>;

    /// Records that a tool call is starting. `false` (nothing written) when this call was
    /// started before: it must not run twice.
    async fn start_tool_call(&self, call: &ToolCall) -> Result<bool>;

    /// Records a started tool call's answer.
    async fn finish_tool_call(&self, session: u64, tool_use_id: &str, result: &str, is_error: bool) -> Result<()>;

    /// Every tool call of a session, in the order they started.
    async fn list_tool_calls(&self, session: u64) -> Result<Vec<ToolCall>>;

    /// Ends a running session. `false` when it was not running (someone else ended it).
    async fn finish_agent_session(&self, id: u64, end: &SessionEnd, now: DateTime<Utc>) -> Result<bool>;

    /// Records that a tool call waits for a person's approval, until `expires_at`. Asking
    /// again for the same (session, tool use) returns the existing request unchanged.
    async fn request_approval(&self, approval: &NewApproval) -> Result<Approval>;

    async fn get_approval(&self, id: u64) -> Result<Option<Approval>>;

    /// The approval request of one tool call, if any.
    async fn find_approval(&self, session: u64, tool_use_id: &str) -> Result<Option<Approval>>;

    /// Approval requests in any of `states` (all when empty), newest first. The stored
    /// state is returned: a pending request past its expiry is still `pending` here.
    async fn list_approvals(&self, states: &[ApprovalState], limit: usize) -> Result<Vec<Approval>>;

    /// Approves or denies a pending request that has not expired at `now`. Anything else
    /// is refused with [`StoreError::NoSuchRecord`] saying why (decided, expired); an
    /// expired request is marked expired.
    async fn decide_approval(
        &self,
        id: u64,
        approve: bool,
        reason: Option<&str>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Approval>;

    /// Spends an approved request on a tool call with these arguments: `true` once, when
    /// the request is approved and `args_hash` is the one approved; `false` otherwise.
    async fn use_approval(&self, id: u64, args_hash: &str, now: DateTime<Utc>) -> Result<bool>;

    /// Takes a resumable ended session up again as `owner`, with a new turn limit.
    /// `None` when the session is missing, running, or ended for good.
    async fn reopen_agent_session(
        &self,
        id: u64,
        owner: &str,
        max_turns: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<AgentSession>>;
}

/// Everything the rest of jada needs from persistence.
pub trait Store:
    CharterStore
    + CrewStore
    + ChatStore
    + OutboxStore
    + JobRunStore
    + CredentialStateStore
    + LeaseStore
    + AlertStore
    + StatementStore
    + OfferStore
    + AccessStore
    + TaskStore
    + AgentStore
{
}

impl<T> Store for T where
    T: CharterStore
        + CrewStore
        + ChatStore
        + OutboxStore
        + JobRunStore
        + CredentialStateStore
        + LeaseStore
        + AlertStore
        + StatementStore
        + OfferStore
        + AccessStore
        + TaskStore
        + AgentStore
{
}
