//! Moving a whole store to another backend (`jada store migrate`): every record, with its
//! ids, versions and times as they are. Reading goes through the store's own traits where
//! they list everything; writing is each backend's own (`import`), and replaces what has
//! the same key, so copying twice changes nothing. Leases are not copied: they belong to
//! the processes running on the old store.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jada_core::agent::{Approval, Message, Session as AgentSession, ToolCall};
use jada_core::{Charter, ChatMessage, CredentialState, CrewMember, Offer, Task};

use crate::{
    AlertRecord, ApiKey, DispatchRecord, DispatchStatus, EventStatus, JobRun, OutboxEvent, Result, SentStatement,
    Session, Store,
};

/// The kinds of record, in the order a copy writes them (charters before what refers to
/// them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Charters,
    Crew,
    Chats,
    Events,
    Runs,
    Checks,
    Credentials,
    Alerts,
    Statements,
    Offers,
    Dispatches,
    Sessions,
    Nonces,
    ApiKeys,
    Tasks,
    AgentSessions,
    Approvals,
    Shared,
}

impl Kind {
    pub const ALL: [Kind; 18] = [
        Kind::Charters,
        Kind::Crew,
        Kind::Chats,
        Kind::Events,
        Kind::Runs,
        Kind::Checks,
        Kind::Credentials,
        Kind::Alerts,
        Kind::Statements,
        Kind::Offers,
        Kind::Dispatches,
        Kind::Sessions,
        Kind::Nonces,
        Kind::ApiKeys,
        Kind::Tasks,
        Kind::AgentSessions,
        Kind::Approvals,
        Kind::Shared,
    ];

    pub fn label(&self) -> &'static str {
        match self {
            Kind::Charters => "charters",
            Kind::Crew => "crew members",
            Kind::Chats => "chat messages",
            Kind::Events => "outbox events",
            Kind::Runs => "job runs",
            Kind::Checks => "job checks",
            Kind::Credentials => "credential states",
            Kind::Alerts => "alerts",
            Kind::Statements => "statement sends",
            Kind::Offers => "offers",
            Kind::Dispatches => "dispatch states",
            Kind::Sessions => "office sessions",
            Kind::Nonces => "used link nonces",
            Kind::ApiKeys => "API keys",
            Kind::Tasks => "tasks",
            Kind::AgentSessions => "agent sessions",
            Kind::Approvals => "approvals",
            Kind::Shared => "shared documents",
        }
    }
}

/// An agent session with its transcript and tool calls.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSessionDump {
    pub session: AgentSession,
    pub messages: Vec<Message>,
    pub tool_calls: Vec<ToolCall>,
}

/// One record of any kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Charter(Charter),
    Crew(CrewMember),
    Chat(ChatMessage),
    Event(OutboxEvent),
    Run(JobRun),
    Check(String, DateTime<Utc>),
    Credential(CredentialState),
    Alert(AlertRecord),
    Statement(SentStatement),
    Offer(Offer),
    Dispatch(DispatchRecord),
    Session(Session),
    Nonce(String, DateTime<Utc>),
    ApiKey(ApiKey),
    Task(Task),
    AgentSession(Box<AgentSessionDump>),
    Approval(Approval),
    Shared(String, Vec<u8>),
}

/// "No limit" for the listings (as large as SQLite's LIMIT takes).
const EVERY: usize = i64::MAX as usize;

/// The shared documents a store may hold (see `AccessStore::get_shared`).
pub const SHARED_NAMES: &[&str] = &["link-keys"];

/// Export and import of whole stores. `export` has a default built on the store's
/// traits; a backend gives what they cannot list ([`TransferStore::export_raw`]).
#[async_trait]
pub trait TransferStore: Store {
    /// Every charter, every statement send, office session and used nonce: what the
    /// access-pattern traits have no "all" for.
    async fn export_raw(&self, kind: Kind) -> Result<Vec<Record>>;

    /// Writes records as they are, replacing what has the same key.
    async fn import(&self, records: &[Record]) -> Result<()>;

    /// Every record of one kind.
    async fn export(&self, kind: Kind) -> Result<Vec<Record>> {
        Ok(match kind {
            Kind::Charters | Kind::Statements | Kind::Sessions | Kind::Nonces => self.export_raw(kind).await?,
            Kind::Crew => self.list_crew().await?.into_iter().map(Record::Crew).collect(),
            Kind::Chats => {
                let mut out = vec![];
                for c in self.all_charters().await? {
                    out.extend(self.list_chat(c.charter_id).await?.into_iter().map(Record::Chat));
                }
                out
            }
            Kind::Events => {
                let mut out = vec![];
                for s in [
                    EventStatus::Pending,
                    EventStatus::Done,
                    EventStatus::Dead,
                    EventStatus::Dropped,
                ] {
                    out.extend(self.list_events(s, EVERY).await?.into_iter().map(Record::Event));
                }
                out
            }
            Kind::Runs => self
                .recent_runs(None, EVERY)
                .await?
                .into_iter()
                .rev()
                .map(Record::Run)
                .collect(),
            Kind::Checks => self
                .last_checks()
                .await?
                .into_iter()
                .map(|(j, at)| Record::Check(j, at))
                .collect(),
            Kind::Credentials => self
                .list_credential_states()
                .await?
                .into_iter()
                .map(Record::Credential)
                .collect(),
            Kind::Alerts => self.list_alerts().await?.into_iter().map(Record::Alert).collect(),
            Kind::Offers => {
                let mut out = vec![];
                for c in self.all_charters().await? {
                    out.extend(
                        self.list_offers_for_charter(c.charter_id)
                            .await?
                            .into_iter()
                            .map(Record::Offer),
                    );
                }
                out
            }
            Kind::Dispatches => {
                let mut out = vec![];
                for s in [
                    DispatchStatus::Active,
                    DispatchStatus::Crewed,
                    DispatchStatus::Exhausted,
                    DispatchStatus::Stopped,
                ] {
                    out.extend(self.list_dispatches(s).await?.into_iter().map(Record::Dispatch));
                }
                out
            }
            Kind::ApiKeys => self.list_api_keys().await?.into_iter().map(Record::ApiKey).collect(),
            Kind::Tasks => self
                .list_tasks(&[], EVERY)
                .await?
                .into_iter()
                .rev()
                .map(Record::Task)
                .collect(),
            Kind::AgentSessions => {
                let mut out = vec![];
                for s in self.list_agent_sessions(EVERY).await?.into_iter().rev() {
                    let (messages, tool_calls) =
                        (self.session_messages(s.id).await?, self.list_tool_calls(s.id).await?);
                    out.push(Record::AgentSession(Box::new(AgentSessionDump {
                        session: s,
                        messages,
                        tool_calls,
                    })));
                }
                out
            }
            Kind::Approvals => self
                .list_approvals(&[], EVERY)
                .await?
                .into_iter()
                .rev()
                .map(Record::Approval)
                .collect(),
            Kind::Shared => {
                let mut out = vec![];
                for name in SHARED_NAMES {
                    if let Some(v) = self.get_shared(name).await? {
                        out.push(Record::Shared(name.to_string(), v));
                    }
                }
                out
            }
        })
    }

    /// Every charter, whatever its date.
    async fn all_charters(&self) -> Result<Vec<Charter>> {
        Ok(self
            .export_raw(Kind::Charters)
            .await?
            .into_iter()
            .filter_map(|r| match r {
                Record::Charter(c) => Some(c),
                _ => None,
            })
            .collect())
    }
}
