//! The charter's chat thread (table `charter-chats`): dispatch steps, crew replies and
//! operator notes, in the order they happened.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{CharterId, CrewId};

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "lowercase")]
pub enum ChatAuthor {
    /// jada itself (dispatch steps, status changes).
    System,
    Crew(CrewId),
    /// An office user, by email or name.
    Operator(String),
}

impl std::fmt::Display for ChatAuthor {
    /// As people read it: `jada`, the crew id, or the office user.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChatAuthor::System => f.write_str("jada"),
            ChatAuthor::Crew(id) => write!(f, "{id}"),
            ChatAuthor::Operator(who) => f.write_str(who),
        }
    }
}

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatKind {
    Offer,
    Reply,
    Note,
    Status,
}

impl ChatKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ChatKind::Offer => "offer",
            ChatKind::Reply => "reply",
            ChatKind::Note => "note",
            ChatKind::Status => "status",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub message_id: Uuid,
    pub charter_id: CharterId,
    pub posted_at: DateTime<Utc>,
    pub author: ChatAuthor,
    pub kind: ChatKind,
    pub body: String,
}
