//! jada's persistence. Each trait is one group of access patterns ([`CharterStore`],
//! [`CrewStore`], [`ChatStore`], [`OutboxStore`], [`JobRunStore`]) written so that any
//! backend can do each method atomically: a SQLite transaction, or a DynamoDB
//! conditional write / `TransactWriteItems`. No method takes SQL or a generic key.
//!
//! [`sqlite::SqliteStore`] is the embedded default. The [`conformance`] suite (feature
//! `conformance`) is written once against the traits; every backend's tests run it.
//!
//! Callers pass "now" into every method that stamps a time, so tests control the clock.

pub mod error;
pub mod records;
pub mod signal;
pub mod sqlite;
mod traits;
pub mod transfer;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::StoreError;
pub use records::{hour_of, turn_counters};
pub use records::{
    Acceptance, AgentTotals, AlertRecord, AlertStatus, ApiKey, CharterWrite, DispatchRecord, DispatchStatus,
    EventStatus, JobRun, NewApproval, NewSession, OutboxEvent, RunEnd, RunOutcome, SentStatement, Session, SessionEnd,
    Started, Trigger, TurnCost, Turnarounds,
};
pub use signal::EventsWritten;
pub use traits::{
    AccessStore, AgentStore, AlertStore, CharterStore, ChatStore, CredentialStateStore, CrewStore, JobRunStore,
    LeaseStore, OfferStore, OutboxStore, StatementStore, Store, TaskStore,
};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
