//! Playbooks: what an agent does, with which tools, within which limits. Built from
//! `[agent.playbooks.NAME]` by the application core; two ship built in, off until enabled.

/// One playbook, resolved from configuration (instructions read, defaults applied).
#[derive(Debug, Clone, PartialEq)]
pub struct Playbook {
    pub name: String,
    pub instructions: String,
    /// The tools it may call: names from [`super::tools::TOOLS`], and other MCP servers'
    /// tools as `SERVER.tool`.
    pub tools: Vec<String>,
    /// Other servers' tools (`SERVER.tool`) it may call without a person's approval: its
    /// own `trusted_tools` and those its servers' `[agent.mcp.NAME] trusted_tools` name.
    pub trusted_tools: Vec<String>,
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
    /// A running session whose heartbeat is older than this is stuck: a running daemon
    /// marks it abandoned and frees its `max_concurrent` slot.
    pub stuck_after: std::time::Duration,
    /// At most this many tool calls in one session; calls past it are answered with an
    /// error, never run. One turn may make at most [`MAX_CALLS_PER_TURN`] of them.
    pub max_tool_calls: u32,
    /// The context a request may carry, in tokens: near it the session compacts its
    /// transcript into a summary and goes on from that.
    pub max_context_tokens: u64,
}

/// The context bound unless a playbook says otherwise: well inside the 200,000-token
/// windows of current Claude models and the 128,000 of GPT-4o.
pub const DEFAULT_MAX_CONTEXT_TOKENS: u64 = 100_000;

/// How long a session may go without a heartbeat unless a playbook says otherwise.
pub const DEFAULT_STUCK_AFTER: std::time::Duration = std::time::Duration::from_secs(600);
/// Tool calls one session may make unless a playbook says otherwise.
pub const DEFAULT_MAX_TOOL_CALLS: u32 = 200;
/// Tool calls one model turn may make: a reply asking for more gets the rest refused.
pub const MAX_CALLS_PER_TURN: usize = 20;

impl Playbook {
    /// A playbook with jada's default limits, for the settings to be applied to.
    pub fn named(name: &str) -> Playbook {
        Playbook {
            name: name.to_string(),
            instructions: String::new(),
            tools: Vec::new(),
            trusted_tools: Vec::new(),
            max_turns: 30,
            max_output_tokens: 4096,
            session_budget_usd: None,
            daily_budget_usd: None,
            max_concurrent: 2,
            enabled: true,
            schedule: None,
            trigger: None,
            stuck_after: DEFAULT_STUCK_AFTER,
            max_tool_calls: DEFAULT_MAX_TOOL_CALLS,
            max_context_tokens: DEFAULT_MAX_CONTEXT_TOKENS,
        }
    }
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
            "read_mail",
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
