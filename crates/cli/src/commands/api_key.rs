//! `jada api-key create|list|revoke`.

use crate::cli::{ApiKeyCommand, Global};
use crate::output::{print_json, table};
use crate::Failure;

pub async fn run(g: &Global, cmd: ApiKeyCommand) -> Result<(), Failure> {
    let ctx = crate::commands::load_app(g)?;
    let now = chrono::Utc::now();
    match cmd {
        ApiKeyCommand::Create { name, mcp_read_only } => {
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(Failure::Usage(anyhow::anyhow!(
                    "NAME: `{name}` is not usable: one word, like booking-site"
                )));
            }
            let key = jada_ops::office::create_api_key(ctx.store.as_ref(), name, mcp_read_only, now)
                .await
                .map_err(Failure::op)?;
            println!("{key}");
            let scope = if mcp_read_only {
                " It may only read: over MCP it is offered the read tools, and the booking API lets it read only."
            } else {
                ""
            };
            eprintln!("API key `{name}` made. Keep it now: jada stores only its hash. Send it as `Authorization: Bearer <key>` (the booking API, or MCP at /mcp).{scope}");
            Ok(())
        }
        ApiKeyCommand::List { json } => {
            let keys = ctx.store.list_api_keys().await.map_err(Failure::op)?;
            if json {
                let v: Vec<_> = keys
                    .iter()
                    .map(
                        |k| serde_json::json!({"name": k.name, "created_at": k.created_at, "revoked_at": k.revoked_at, "mcp_read_only": k.mcp_read_only}),
                    )
                    .collect();
                return Ok(print_json(&v)?);
            }
            let mut t = table(&["Name", "Scope", "Created", "Revoked"]);
            for k in &keys {
                t.add_row(vec![
                    k.name.clone(),
                    if k.mcp_read_only { "read only" } else { "full" }.to_string(),
                    ctx.show_time(k.created_at),
                    k.revoked_at.map(|r| ctx.show_time(r)).unwrap_or_default(),
                ]);
            }
            println!("{t}");
            Ok(())
        }
        ApiKeyCommand::Revoke { name } => {
            if ctx.store.revoke_api_key(&name, now).await.map_err(Failure::op)? {
                println!("API key `{name}` revoked");
                Ok(())
            } else {
                Err(Failure::op(anyhow::anyhow!(
                    "no live API key named `{name}`: see `jada api-key list`"
                )))
            }
        }
    }
}
