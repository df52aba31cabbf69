//! Tools of other MCP servers (`[agent.mcp.NAME]`), named `NAME.tool` in a playbook.
//!
//! This crate cannot speak MCP (jada-mcp does, and depends on this one), so the
//! [`Toolbox`](super::Toolbox) reaches those tools through the [`ExternalTools`] trait.
//! The rules that make them safe live here, in one place, whatever the transport:
//!
//! - an external tool is outbound (it waits for a person's approval) unless the playbook
//!   or its server's configuration trusts it ([`needs_approval`]);
//! - its answer is bounded like jada's own tools' answers;
//! - a server that is down answers each call with an error the model can read, and never
//!   holds up jada's own tools.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jada_llm::ToolSpec;
use serde_json::Value;

use super::ToolOutput;

/// The tools of every configured MCP server, reached over MCP.
#[async_trait]
pub trait ExternalTools: Send + Sync {
    /// The tools the servers offer now, named `SERVER.tool`. Waits (bounded) for a
    /// server's first connection, so a session starting with the daemon sees its tools.
    async fn specs(&self) -> Vec<ToolSpec>;

    /// Calls `SERVER.tool`. A server that is down, a tool it does not offer, a timeout or
    /// the server's own error all come back as tool errors, never as a panic or a hang.
    async fn call(&self, name: &str, input: &Value) -> ToolOutput;

    /// Whether `SERVER.tool` could run now (its server is up and offers it), or the tool
    /// error that says why not: checked before anyone is asked to approve a call.
    async fn ready(&self, name: &str) -> Result<(), ToolOutput>;

    /// Each configured server and whether it is up (the alert rules read this).
    fn health(&self) -> Vec<ServerHealth>;

    /// Stops reaching the servers (a `command` server's process is stopped).
    fn close(&self) {}
}

/// One `[agent.mcp.NAME]`, as the MCP client is given it.
#[derive(Debug, Clone)]
pub struct McpServer {
    pub name: String,
    pub reach: Reach,
    /// How long one tool call may take.
    pub timeout: std::time::Duration,
}

/// How jada reaches one MCP server.
#[derive(Debug, Clone)]
pub enum Reach {
    /// A process jada starts: the program, its arguments, the environment it gets (its
    /// only one besides PATH, HOME and LANG) and its working directory.
    Stdio {
        program: String,
        args: Vec<String>,
        env: std::collections::BTreeMap<String, String>,
        dir: std::path::PathBuf,
    },
    /// Streamable HTTP, with a bearer token when the server wants one.
    Http { url: String, token: Option<String> },
}

/// How one MCP server stands.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerHealth {
    pub server: String,
    /// Why it failed, and since when: while it is down, and after it is back until its
    /// connection has held a minute (a server that keeps dying is one trouble). `None`
    /// when it is steadily up.
    pub down: Option<(String, DateTime<Utc>)>,
    /// Whether it is connected now.
    pub up: bool,
}

/// Whether a tool name names another server's tool (`SERVER.tool`): jada's own tool
/// names never hold a dot.
pub fn is_external(name: &str) -> bool {
    name.split_once('.')
        .is_some_and(|(s, t)| !s.is_empty() && !t.is_empty())
}

/// The server part of `SERVER.tool`.
pub fn server_of(name: &str) -> Option<&str> {
    name.split_once('.').map(|(s, _)| s).filter(|_| is_external(name))
}

/// The name a model provider is shown for a tool. Anthropic and OpenAI take tool names
/// of `[a-zA-Z0-9_-]{1,64}` only, so `SERVER.tool` goes out as `SERVER__tool` (any
/// other character as `_`, cut to 64); jada's own names go out as they are. The model's
/// calls come back under this name and [`named`] turns them into the playbook's.
pub fn wire_name(name: &str) -> String {
    let Some((server, tool)) = name.split_once('.').filter(|_| is_external(name)) else {
        return name.to_string();
    };
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}__{}", safe(server), safe(tool)).chars().take(64).collect()
}

/// The playbook's name of the tool a model called (under its [`wire_name`]).
pub fn named<'a>(called: &'a str, tools: &'a [String]) -> &'a str {
    tools
        .iter()
        .find(|t| is_external(t) && wire_name(t) == called)
        .map_or(called, String::as_str)
}

/// Two tools of one list a model could not tell apart (same [`wire_name`]), if any.
pub fn clash(tools: &[String]) -> Option<(&str, &str)> {
    tools.iter().enumerate().find_map(|(i, a)| {
        tools[i + 1..]
            .iter()
            .find(|b| a != *b && wire_name(a) == wire_name(b))
            .map(|b| (a.as_str(), b.as_str()))
    })
}

/// Whether another server's tool must wait for a person's approval: always, unless
/// `trusted` (the playbook's resolved `trusted_tools`) names it.
pub fn needs_approval(name: &str, trusted: &[String]) -> bool {
    is_external(name) && !trusted.iter().any(|t| t == name)
}

/// The error a call of `SERVER.tool` answers where no MCP server is configured.
pub fn not_configured(name: &str) -> ToolOutput {
    let server = server_of(name).unwrap_or(name);
    ToolOutput::error(format!(
        "`{name}` is a tool of the MCP server `{server}`, and no MCP server is configured here ([agent.mcp.{server}])"
    ))
}

/// The one line an approval card and an MCP caller show for an external call.
pub fn would(name: &str, args: &Value) -> String {
    let server = server_of(name).unwrap_or(name);
    format!(
        "call `{name}` (a tool of the MCP server `{server}`) with {}",
        jada_core::text::truncate(&args.to_string(), 300)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dotted_names_are_external_and_untrusted_ones_wait() {
        assert!(is_external("tides.forecast"));
        assert!(!is_external("list_charters") && !is_external(".x") && !is_external("x."));
        assert_eq!(server_of("tides.forecast"), Some("tides"));
        let trusted = vec!["tides.forecast".to_string()];
        assert!(!needs_approval("tides.forecast", &trusted));
        assert!(needs_approval("tides.delete", &trusted));
        assert!(!needs_approval("list_charters", &[]));
    }

    #[test]
    fn providers_see_names_they_take_and_calls_come_back_to_the_playbooks_names() {
        let tools: Vec<String> = ["list_tasks", "everything.get-sum", "tides.v2.forecast"]
            .map(String::from)
            .to_vec();
        assert_eq!(wire_name("everything.get-sum"), "everything__get-sum");
        assert_eq!(wire_name("tides.v2.forecast"), "tides__v2_forecast");
        assert_eq!(wire_name("list_tasks"), "list_tasks");
        assert_eq!(wire_name(&format!("s.{}", "x".repeat(100))).len(), 64);
        assert_eq!(named("everything__get-sum", &tools), "everything.get-sum");
        assert_eq!(named("tides__v2_forecast", &tools), "tides.v2.forecast");
        assert_eq!(named("list_tasks", &tools), "list_tasks");
        assert_eq!(named("made_up", &tools), "made_up");
        assert_eq!(clash(&tools), None);
        let clashing = vec!["a.b.c".to_string(), "a.b_c".to_string()];
        assert_eq!(clash(&clashing), Some(("a.b.c", "a.b_c")));
    }
}
