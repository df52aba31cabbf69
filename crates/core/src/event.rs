//! Events a change publishes through the outbox. They are written in the same
//! transaction as the change, so a committed change always has its event.

use serde::{Deserialize, Serialize};

use crate::{CharterId, CrewId, Email};

/// Something happened that other parts (sheet sync, dispatch) must act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A charter was created or changed; `version` is the version written.
    CharterChanged { charter_id: CharterId, version: u64 },
    /// A crew member's record or availability changed.
    CrewChanged { crew_id: CrewId },
    /// An office user asked for a sign-in link: the mail goes out from the outbox, with
    /// its retries, so the page answers the same whoever asks and whatever mail does.
    /// (The link is made when the mail is sent; no secret waits in the outbox.)
    SignInRequested { email: Email },
}

impl Event {
    /// The outbox topic, used to route the event to its handler.
    pub fn topic(&self) -> &'static str {
        match self {
            Event::CharterChanged { .. } => "charter.changed",
            Event::CrewChanged { .. } => "crew.changed",
            Event::SignInRequested { .. } => "office.sign_in",
        }
    }
}
