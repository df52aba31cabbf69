//! jada as an MCP client: the tools of other MCP servers (`[agent.mcp.NAME]`) for
//! playbooks, named `NAME.tool`.
//!
//! Each server has a keeper task ([`link`]): it connects (starting the server's process
//! for stdio), lists the tools, marks them stale on `notifications/tools/list_changed` (listed again where next used), and
//! when the connection ends — the process exited, the HTTP server stopped answering — it
//! marks the server down and connects again after a backoff. [`McpClients`] answers the
//! agent's [`ExternalTools`] calls from what the keepers hold: a server that is down
//! answers at once with an error the model can read, so it never holds up a session or
//! jada's own tools. Approvals and result bounds are the agent's rules
//! (`jada_ops::agent::tools::external`), not this crate's.

mod http;
mod link;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jada_core::Clock;
use jada_llm::ToolSpec;
use jada_ops::agent::tools::{ExternalTools, McpServer, ServerHealth, ToolOutput};
use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock, ResourceContents};
use rmcp::service::{Peer, ServiceError};
use rmcp::RoleClient;
use serde_json::Value;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use link::Server;

/// How long a call or a session's first tool list waits for a server still connecting.
const FIRST_CONNECT: Duration = Duration::from_secs(20);

/// The configured servers, each kept connected by its own task.
pub struct McpClients {
    servers: BTreeMap<String, Arc<Server>>,
    stop: CancellationToken,
}

impl McpClients {
    /// Starts a keeper task per server (needs a tokio runtime). `alerts_due` is woken
    /// whenever a server goes down or comes back, so the daemon's alert rules run at once.
    pub fn start(configs: Vec<McpServer>, clock: Arc<dyn Clock>, alerts_due: Arc<Notify>) -> McpClients {
        let stop = CancellationToken::new();
        let servers = configs
            .into_iter()
            .map(|c| {
                let server = Server::new(c.name.clone(), c.timeout, clock.clone(), alerts_due.clone());
                tokio::spawn(link::keep(server.clone(), c.reach, stop.child_token()));
                (c.name, server)
            })
            .collect();
        McpClients { servers, stop }
    }
}

/// [`McpClients::start`] as the application core takes it (`jada_app::agent::register_mcp`).
pub fn start(configs: Vec<McpServer>, clock: Arc<dyn Clock>, alerts_due: Arc<Notify>) -> Arc<dyn ExternalTools> {
    Arc::new(McpClients::start(configs, clock, alerts_due))
}

impl Drop for McpClients {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl McpClients {
    /// The server of `SERVER.tool`, the tool's own name and the connection to call it
    /// through; or why it cannot be called now (the error the model reads).
    async fn reach<'a>(&self, name: &'a str) -> Result<(&Arc<Server>, &'a str, Peer<RoleClient>), String> {
        let Some((server, tool)) = name.split_once('.') else {
            return Err(format!("`{name}` is not a tool of an MCP server (SERVER.tool)"));
        };
        let Some(s) = self.servers.get(server) else {
            let known: Vec<&str> = self.servers.keys().map(String::as_str).collect();
            return Err(format!(
                "there is no MCP server `{server}` here; the servers are: {}",
                known.join(", ")
            ));
        };
        s.settled(FIRST_CONNECT).await;
        let peer = s.peer()?;
        let mut offered = s.current_tools(false).await;
        if !offered.iter().any(|t| t.name == tool) {
            // A server that added the tool without saying so: ask once before refusing.
            offered = s.current_tools(true).await;
        }
        if !offered.iter().any(|t| t.name == tool) {
            let names: Vec<&str> = offered.iter().map(|t| t.name.as_ref()).collect();
            return Err(format!(
                "the MCP server `{server}` offers no tool `{tool}`; its tools are: {}",
                names.join(", ")
            ));
        }
        Ok((s, tool, peer))
    }
}

#[async_trait]
impl ExternalTools for McpClients {
    async fn specs(&self) -> Vec<ToolSpec> {
        let mut out = Vec::new();
        for (name, s) in &self.servers {
            s.settled(FIRST_CONNECT).await;
            for t in s.current_tools(false).await {
                // A provider refuses a whole request over one tool whose arguments are
                // not an object: such a tool is left out, not the session.
                if t.input_schema.get("type").and_then(Value::as_str) != Some("object") {
                    tracing::warn!(server = %name, tool = %t.name, "left out: its input schema is not an object");
                    continue;
                }
                out.push(ToolSpec {
                    name: format!("{name}.{}", t.name),
                    description: describe(name, &t),
                    input_schema: Value::Object((*t.input_schema).clone()),
                });
            }
        }
        out
    }

    async fn call(&self, name: &str, input: &Value) -> ToolOutput {
        let (s, tool, peer) = match self.reach(name).await {
            Ok(found) => found,
            Err(refused) => return ToolOutput::error(refused),
        };
        let server = &s.name;
        let Value::Object(args) = input else {
            return ToolOutput::error(format!(
                "the arguments for `{name}` must be a JSON object matching its input schema"
            ));
        };
        let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args.clone());
        match tokio::time::timeout(s.timeout, peer.call_tool(params)).await {
            Err(_) => ToolOutput::error(format!(
                "`{name}` did not answer within {} s ([agent.mcp.{server}] timeout); it may still have acted",
                s.timeout.as_secs()
            )),
            Ok(Ok(result)) => answer(result),
            Ok(Err(ServiceError::McpError(e))) => {
                ToolOutput::error(format!("the MCP server `{server}` refused `{tool}`: {}", e.message))
            }
            Ok(Err(e)) => {
                s.lost(&e.to_string());
                ToolOutput::error(format!(
                    "the MCP server `{server}` did not answer `{tool}` ({e}); jada reconnects by itself, so try later or carry on without it"
                ))
            }
        }
    }

    async fn ready(&self, name: &str) -> Result<(), ToolOutput> {
        self.reach(name).await.map(|_| ()).map_err(ToolOutput::error)
    }

    fn health(&self) -> Vec<ServerHealth> {
        self.servers.values().map(|s| s.health()).collect()
    }

    /// Stops every keeper (and so every server process jada started).
    fn close(&self) {
        self.stop.cancel();
    }
}

/// The description the model reads: whose tool it is, then the server's own words, bounded
/// (another server's description is its author's text, not jada's).
fn describe(server: &str, t: &rmcp::model::Tool) -> String {
    let own = t.description.as_deref().unwrap_or_default().trim();
    format!(
        "(a tool of the MCP server `{server}`) {}",
        jada_core::text::truncate(if own.is_empty() { &t.name } else { own }, MAX_DESCRIPTION)
    )
}

/// The most characters of a server's own tool description a model is shown.
const MAX_DESCRIPTION: usize = 1_000;

/// A tool result as the model reads it: its text, and what else it holds by kind.
fn answer(result: CallToolResult) -> ToolOutput {
    let mut parts: Vec<String> = result.content.iter().map(block).collect();
    if parts.is_empty() {
        if let Some(v) = &result.structured_content {
            parts.push(v.to_string());
        }
    }
    ToolOutput {
        content: parts.join("\n"),
        is_error: result.is_error.unwrap_or(false),
    }
}

fn block(b: &ContentBlock) -> String {
    match b {
        ContentBlock::Text(t) => t.text.clone(),
        ContentBlock::Image(i) => format!("[image: {}, {} bytes of base64]", i.mime_type, i.data.len()),
        ContentBlock::Audio(a) => format!("[audio: {}, {} bytes of base64]", a.mime_type, a.data.len()),
        ContentBlock::Resource(r) => match &r.resource {
            ResourceContents::TextResourceContents { uri, text, .. } => format!("[resource {uri}]\n{text}"),
            other => format!("[resource {}: binary]", resource_uri(other)),
        },
        ContentBlock::ResourceLink(l) => format!("[link: {} {}]", l.name, l.uri),
        _ => "[content of a kind jada does not read]".to_string(),
    }
}

fn resource_uri(r: &ResourceContents) -> &str {
    match r {
        ResourceContents::TextResourceContents { uri, .. } | ResourceContents::BlobResourceContents { uri, .. } => uri,
        _ => "",
    }
}
