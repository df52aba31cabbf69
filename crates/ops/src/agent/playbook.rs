//! Playbooks: what an agent does, with which tools, within which limits. Built from
//! `[agent.playbooks.NAME]` by the application core; two ship built in, off until enabled.

/// One playbook, resolved from configuration (instructions read, defaults applied).
#[derive(Debug, Clone, PartialEq)]
pub struct Playbook {
    pub name: String,
    pub instructions: String,
    /// The tools it may call (names from [`super::tools::NAMES`]).
    pub tools: Vec<String>,
    pub max_turns: u32,
    pub max_output_tokens: u32,
    /// Stop a session once it has cost this much (USD), when set.
    pub session_budget_usd: Option<f64>,
    /// Start no request once the playbook's sessions cost this much today (USD), when set.
    pub daily_budget_usd: Option<f64>,
    /// At most this many of its sessions run at once (a new one waits its turn).
    pub max_concurrent: u32,
    /// Whether its schedule and trigger start sessions; a person may always run it by hand.
    pub enabled: bool,
    /// When the daemon runs it by itself (a job schedule: cron or "every 30m").
    pub schedule: Option<String>,
    /// What else starts a session: each new input gets one session.
    pub trigger: Option<Trigger>,
}

/// What starts a session besides the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// Each new mail matching a Gmail search (`gmail:QUERY`).
    Gmail(String),
    /// Each new chat message from crew or the office (`chat`).
    Chat,
    /// Each open task assigned to `agent:NAME` (`task`).
    Task,
}

impl Trigger {
    pub fn parse(s: &str) -> Result<Trigger, String> {
        match s.trim() {
            "chat" => Ok(Trigger::Chat),
            "task" => Ok(Trigger::Task),
            t => match t.strip_prefix("gmail:") {
                Some(q) if !q.trim().is_empty() => Ok(Trigger::Gmail(q.trim().to_string())),
                _ => Err(format!(
                    "`{s}` is not a trigger: use \"gmail:QUERY\" (e.g. \"gmail:to:bookings@example.com\"), \"chat\" or \"task\""
                )),
            },
        }
    }
}

/// The playbooks jada ships: (name, instructions, tools).
pub const BUILT_IN: &[(&str, &str, &[&str])] = &[
    (
        "inbox-triage",
        "You triage the office's booking mail. For each message: find the charter it is about \
         (list_charters for the month, get_charter), check crew availability when it asks about \
         dates (available_crew), and create one task per thing a person must do (create_task), \
         naming the charter. When a reply is needed, draft it with draft_reply. Do not promise \
         anything the charter data does not show. End with a one-paragraph summary.",
        &[
            "search_mail",
            "list_charters",
            "get_charter",
            "available_crew",
            "read_chat",
            "list_tasks",
            "create_task",
            "add_task_note",
            "draft_reply",
        ],
    ),
    (
        "morning-check",
        "You do the office's morning health check. Read jada's status (jada_status) and the open \
         tasks (list_tasks). For each finding that needs a person — a failing job, a credential \
         that needs re-authorising, dead outbox events, a charter in the next 7 days without a \
         captain — create one task (create_task) unless an open task already covers it. End \
         with a short summary of what you found.",
        &[
            "jada_status",
            "list_tasks",
            "create_task",
            "add_task_note",
            "list_charters",
            "explain_dispatch",
        ],
    ),
];
