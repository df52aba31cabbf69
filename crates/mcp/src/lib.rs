//! jada over the Model Context Protocol (the official Rust SDK, `rmcp`).
//!
//! - [`server`]: jada as an MCP server — the agent's tool table with its schemas, the
//!   `get_approval` tool, and resources (a charter and its chat, today's schedule, the
//!   open tasks) — through `jada_ops::agent::direct`, so every call is recorded as an
//!   agent session's tool call and an outbound one waits for a person's approval.
//! - [`http`]: the streamable-HTTP service the daemon mounts at `/mcp`.
//! - [`serve_stdio`]: `jada mcp`, for a desktop assistant on the office's machine.
//!
//! jada as an MCP client is the crate `jada-mcp-client`: a boundary of its own, and a
//! crate the daemon's build does not wait on.

pub mod http;
pub mod server;

use std::sync::Arc;

use jada_ops::agent::direct::{Caller, Direct};
use rmcp::ServiceExt;

pub use server::JadaMcp;

/// Serves MCP on this process's stdin/stdout until the client closes it, as `caller`.
pub async fn serve_stdio(direct: Arc<Direct>, caller: Caller) -> Result<(), String> {
    let running = JadaMcp::for_caller(direct, caller)
        .serve(rmcp::transport::io::stdio())
        .await
        .map_err(|e| format!("the MCP client did not start a session on stdin/stdout: {e}"))?;
    running
        .waiting()
        .await
        .map(|_| ())
        .map_err(|e| format!("the MCP session on stdin/stdout ended on an error: {e}"))
}
