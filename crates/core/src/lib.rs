//! The domain of a sailing-charter back office: charters and their status lifecycle,
//! crew, vessels and their seat rules, dispatch offers, chat messages, and the events a
//! change publishes.
//!
//! [`fault`] says whether retrying an error can help ([`Recovery`]) and how long to wait
//! ([`Backoff`]). [`revenue`] is the one rule for which charters count towards revenue and tips.
//! [`tips::split`] shares a charter's tips among the people aboard; [`dispatch`] says who
//! may be offered a seat and in what order; [`link`] signs and verifies magic links.
//! [`Clock`] is the trait code takes to learn "now"; [`CredentialState`] is the
//! secret-free health record of a Google credential.
//!
//! Values that matter are newtypes with `parse` constructors ([`CharterId`], [`CrewId`],
//! [`Email`], [`Cents`], [`Month`]), so a value that exists is a valid one. Nothing in
//! this crate does I/O, spawns tasks or reads the clock: callers pass "now" in. Every
//! other crate of ours may import this one; it imports none of ours.

pub mod agent;
pub mod calendar;
pub mod charter;
pub mod chat;
pub mod clock;
pub mod credential;
pub mod crew;
pub mod dispatch;
pub mod event;
pub mod fault;
pub mod foreground;
pub mod ids;
pub mod link;
pub mod money;
pub mod offer;
pub mod revenue;
pub mod task;
pub mod text;
pub mod tips;
pub mod vessel;

pub use calendar::{BusinessZone, Month};
pub use charter::{Charter, CharterError, CharterStatus};
pub use chat::{ChatAuthor, ChatKind, ChatMessage};
pub use clock::{Clock, ManualClock};
pub use credential::{CredentialKind, CredentialState};
pub use crew::CrewMember;
pub use event::Event;
pub use fault::{Backoff, Fault, Recovery};
pub use ids::{CharterId, CrewId, Email};
pub use money::Cents;
pub use offer::{Offer, OfferStatus, SeatKind};
pub use task::{NewTask, Task, TaskNote, TaskSource, TaskStatus};
pub use vessel::{CrewTier, Fleet, SeatError, SeatRules, Seats, Vessel};

/// A value could not be parsed. The message names what was expected, so an import can
/// show it next to the line and column it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        ParseError(msg.into())
    }
}
