//! Tasks: a unit of work for a person or an agent, with a history of notes. Agents
//! create them (a handoff, a finding of the morning check) as people do.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::text::{self, Lines};
use crate::{CharterId, ParseError};

pub const TITLE_MAX: usize = 200;
pub const BODY_MAX: usize = 20_000;
pub const ASSIGNEE_MAX: usize = 100;

/// Where a task is in its life. `done` and `cancelled` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    InProgress,
    Waiting,
    Done,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 5] = [
        TaskStatus::Open,
        TaskStatus::InProgress,
        TaskStatus::Waiting,
        TaskStatus::Done,
        TaskStatus::Cancelled,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Waiting => "waiting",
            TaskStatus::Done => "done",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::ALL.into_iter().find(|t| t.as_str() == s.trim()).ok_or_else(|| {
            ParseError::new(format!(
                "`{s}` is not a task status: use open, in_progress, waiting, done or cancelled"
            ))
        })
    }

    /// Done and cancelled tasks take no more changes of status.
    pub fn is_final(&self) -> bool {
        matches!(self, TaskStatus::Done | TaskStatus::Cancelled)
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What made the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskSource {
    Manual,
    Email,
    Chat,
    Agent,
}

impl TaskSource {
    pub fn as_str(&self) -> &'static str {
        match self {
            TaskSource::Manual => "manual",
            TaskSource::Email => "email",
            TaskSource::Chat => "chat",
            TaskSource::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        [
            TaskSource::Manual,
            TaskSource::Email,
            TaskSource::Chat,
            TaskSource::Agent,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
        .ok_or_else(|| ParseError::new(format!("`{s}` is not a task source")))
    }
}

/// One line of a task's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskNote {
    pub at: DateTime<Utc>,
    pub author: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: u64,
    pub title: String,
    pub body: String,
    pub status: TaskStatus,
    pub source: TaskSource,
    /// What in the source made it: a mail's message id, an agent session's number.
    pub source_ref: Option<String>,
    pub charter_id: Option<CharterId>,
    /// A person's name or email, or `agent:PLAYBOOK`.
    pub assignee: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub notes: Vec<TaskNote>,
}

/// A task to create: checked text, no id yet (the store numbers tasks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub title: String,
    pub body: String,
    pub source: TaskSource,
    pub source_ref: Option<String>,
    pub charter_id: Option<CharterId>,
    pub assignee: Option<String>,
}

impl NewTask {
    /// Checks the text fields (length, no control characters); the body may be blank.
    pub fn new(title: &str, body: &str, source: TaskSource) -> Result<Self, ParseError> {
        Ok(NewTask {
            title: text::checked("title", title, TITLE_MAX, Lines::One)?,
            body: text::optional("body", Some(body), BODY_MAX, Lines::Many)?.unwrap_or_default(),
            source,
            source_ref: None,
            charter_id: None,
            assignee: None,
        })
    }

    pub fn assigned_to(mut self, assignee: Option<&str>) -> Result<Self, ParseError> {
        self.assignee = text::optional("assignee", assignee, ASSIGNEE_MAX, Lines::One)?;
        Ok(self)
    }
}

/// Checks a note's text.
pub fn note_body(body: &str) -> Result<String, ParseError> {
    text::checked("note", body, BODY_MAX, Lines::Many)
}
