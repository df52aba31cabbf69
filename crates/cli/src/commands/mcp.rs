//! `jada mcp`: jada's MCP server on stdin/stdout, over this data directory's store.
//! Standard output is the protocol's: nothing else may be printed there (logs go to
//! stderr).

use std::sync::Arc;

use jada_ops::agent::Caller;

use crate::cli::{Global, McpArgs};
use crate::Failure;

pub async fn run(g: &Global, args: &McpArgs) -> Result<(), Failure> {
    let name = args.name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(Failure::Usage(anyhow::anyhow!(
            "--name: `{name}` is not usable: one word of letters, digits, - _ or ., like desk-assistant"
        )));
    }
    let ctx = crate::commands::load_app(g)?;
    let direct = Arc::new(ctx.direct()?);
    let caller = Caller {
        name: name.to_string(),
        read_only: args.read_only,
    };
    tracing::info!(caller = %caller.name, read_only = caller.read_only, "serving MCP on stdin/stdout");
    jada_mcp::serve_stdio(direct, caller)
        .await
        .map_err(|e| Failure::op(anyhow::anyhow!(e)))
}
