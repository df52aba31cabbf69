//! What can go wrong in the store, in words an operator can act on.

use jada_core::{CharterId, CrewId, Email};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An update named a version that is no longer current: someone else wrote first.
    #[error("charter {id} was changed by someone else (your copy is version {expected}, the store has version {actual}): reload it and apply your change again")]
    StaleVersion { id: CharterId, expected: u64, actual: u64 },
    /// A create named an id that is already taken.
    #[error("charter {0} already exists: update it instead of creating it")]
    CharterExists(CharterId),
    /// The charter would have its vessel at sea twice at once (with the vessel's
    /// turnaround): refused, naming the charter already holding that time.
    #[error("charter {id} would overlap charter {} on {} ({}, {}–{}, guest {}): one vessel sails one charter at a time{}; choose another time or vessel, or cancel the other first", other.charter_id, other.vessel_name, other.charter_date, other.start_time.format("%H:%M"), other.end_time.format("%H:%M"), other.guest_name, turnaround_note(*turnaround_minutes))]
    Overlap {
        id: CharterId,
        other: Box<jada_core::Charter>,
        turnaround_minutes: i64,
    },
    /// An update or lookup named a charter that does not exist.
    #[error("charter {0} does not exist")]
    CharterNotFound(CharterId),
    /// An operation named a crew member that does not exist.
    #[error("crew member `{0}` does not exist: import them first with `jada crew import`")]
    CrewNotFound(CrewId),
    /// Two crew members cannot share an email address.
    #[error("email {email} already belongs to crew member `{owner}`")]
    EmailTaken { email: Email, owner: CrewId },
    /// An outbox event or job run named by id does not exist or is not in a state that allows the change.
    #[error("{what} {id} {why}")]
    NoSuchRecord {
        what: &'static str,
        id: String,
        why: &'static str,
    },
    /// A record that exists but is not in a state that allows the change: a closed task,
    /// a session no longer running here, an approval decided already. Not bad usage: the
    /// record moved on (often by another person or process) before this change came.
    #[error("{what} {id} {why}")]
    NotAllowed {
        what: &'static str,
        id: String,
        why: &'static str,
    },
    /// An API key name is taken (names are kept after revoking, for the record).
    #[error("an API key named `{0}` exists already (revoked keys keep their name): choose another name")]
    ApiKeyExists(String),
    /// Stored data could not be read back (a hand-edited database, or a newer jada wrote it).
    #[error(
        "stored {what} is unreadable ({detail}); the database may have been edited by hand or written by a newer jada"
    )]
    Corrupt { what: &'static str, detail: String },
    /// The SQLite database could not be opened or migrated.
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A record is bigger than the backend can hold in one item (DynamoDB: 400 KB): a
    /// text too long for it. Retrying cannot help; a shorter text can.
    #[error("{what} would be {kb} KB, over the {limit_kb} KB a DynamoDB item can hold: shorten it (a long note, message or list)", kb = bytes / 1024, limit_kb = limit / 1024)]
    TooLarge { what: String, bytes: usize, limit: usize },
    /// The backend refused for a reason only an operator can fix: a table or index that
    /// does not exist, a permission not granted, no credentials. The text says what to do.
    #[error("{0}")]
    Setup(String),
    /// The backend failed (I/O, locked database, network). The cause is in the message
    /// (not also a `source`, which printed it twice in an error chain).
    #[error("store backend failed: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

fn turnaround_note(minutes: i64) -> String {
    if minutes > 0 {
        format!(", with {minutes} minutes' turnaround between charters")
    } else {
        String::new()
    }
}

/// The refusals both backends give in the same words.
impl StoreError {
    pub fn no_task(id: u64) -> StoreError {
        StoreError::NoSuchRecord {
            what: "task",
            id: id.to_string(),
            why: "does not exist: `jada tasks list` shows the tasks there are",
        }
    }

    pub fn task_closed(id: u64) -> StoreError {
        StoreError::NotAllowed {
            what: "task",
            id: id.to_string(),
            why: "is closed (done or cancelled) already: open a new task instead",
        }
    }

    pub fn no_session(id: u64) -> StoreError {
        StoreError::NoSuchRecord {
            what: "agent session",
            id: id.to_string(),
            why: "does not exist: `jada agent sessions` lists them",
        }
    }

    pub fn session_not_running(id: u64) -> StoreError {
        StoreError::NotAllowed {
            what: "agent session",
            id: id.to_string(),
            why: "is not running here any more (it ended, or another process took it up)",
        }
    }

    pub fn not_decidable(id: u64, why: jada_core::agent::NotDecidable) -> StoreError {
        StoreError::NotAllowed {
            what: "approval",
            id: id.to_string(),
            why: why.why(),
        }
    }

    pub fn no_approval(id: u64, why: &'static str) -> StoreError {
        StoreError::NoSuchRecord {
            what: "approval",
            id: id.to_string(),
            why,
        }
    }
}

impl jada_core::Fault for StoreError {
    /// A backend failure (a locked database, I/O, the network) may pass; everything else
    /// — a conflicting write, a missing record, unreadable data — needs the caller or an
    /// operator to act.
    fn recovery(&self) -> jada_core::Recovery {
        match self {
            StoreError::Backend(_) => jada_core::Recovery::Retry,
            _ => jada_core::Recovery::Operator,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(Box::new(e))
    }
}
