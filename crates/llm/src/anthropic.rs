//! The Anthropic Messages API wire format.
//!
//! Request: `{model, max_tokens, system, messages: [{role, content: [blocks]}], tools:
//! [{name, description, input_schema}], tool_choice: {type: auto|none}}`. Tool results go
//! first in the user message after the assistant's `tool_use` blocks. Reply: `{content:
//! [text | tool_use blocks], stop_reason, usage: {input_tokens, output_tokens,
//! cache_creation_input_tokens, cache_read_input_tokens}}`.
//!
//! Prompt caching: two `cache_control` breakpoints per request, on the system prompt
//! (which caches the tools before it too: they never change within a session) and on
//! the newest message's last block, so each turn reads the whole transcript before it
//! from the cache and pays the full price only for what is new.

use jada_core::agent::{Block, Message, Role, StopReason, Usage};
use serde_json::{json, Value};

use crate::{LlmError, Reply, Request};

/// A cache breakpoint (the default five-minute cache).
fn ephemeral() -> Value {
    json!({"type": "ephemeral"})
}

/// The API version jada speaks (the `anthropic-version` header).
pub const VERSION: &str = "2023-06-01";

pub fn request_body(model: &str, r: &Request, caching: bool) -> Value {
    let mut messages: Vec<Value> = r.messages.iter().map(message).collect();
    let mut system = json!({"type": "text", "text": r.system});
    if caching {
        system["cache_control"] = ephemeral();
        if let Some(last) = messages
            .last_mut()
            .and_then(|m| m["content"].as_array_mut())
            .and_then(|c| c.last_mut())
        {
            last["cache_control"] = ephemeral();
        }
    }
    let mut body = json!({
        "model": model,
        "max_tokens": r.max_tokens,
        "system": [system],
        "messages": messages,
    });
    if !r.tools.is_empty() {
        body["tools"] = json!(r.tools);
        body["tool_choice"] = if r.allow_tools {
            json!({"type": "auto"})
        } else {
            json!({"type": "none"})
        };
    }
    body
}

fn message(m: &Message) -> Value {
    let role = match m.role {
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    // Tool results first: the API refuses a user message where they follow text.
    let mut blocks: Vec<&Block> = m.content.iter().collect();
    blocks.sort_by_key(|b| !matches!(b, Block::ToolResult { .. }));
    let content: Vec<Value> = blocks
        .into_iter()
        .map(|b| match b {
            Block::Text { text } => json!({"type": "text", "text": text}),
            Block::ToolUse { id, name, input } => json!({"type": "tool_use", "id": id, "name": name, "input": input}),
            Block::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => json!({"type": "tool_result", "tool_use_id": tool_use_id, "content": content, "is_error": is_error}),
        })
        .collect();
    json!({"role": role, "content": content})
}

pub fn parse_reply(v: &Value) -> Result<Reply, LlmError> {
    let malformed = |what: &str| LlmError::Malformed(format!("Anthropic answer without {what}"));
    let blocks = v["content"].as_array().ok_or_else(|| malformed("`content`"))?;
    let mut content = Vec::new();
    for b in blocks {
        match b["type"].as_str() {
            Some("text") => content.push(Block::Text {
                text: b["text"].as_str().unwrap_or_default().to_string(),
            }),
            Some("tool_use") => content.push(Block::ToolUse {
                id: b["id"].as_str().ok_or_else(|| malformed("a tool_use id"))?.to_string(),
                name: b["name"]
                    .as_str()
                    .ok_or_else(|| malformed("a tool_use name"))?
                    .to_string(),
                input: b["input"].clone(),
            }),
            // Thinking and server-tool blocks carry nothing jada acts on.
            _ => {}
        }
    }
    let stop = match v["stop_reason"].as_str() {
        Some("end_turn") => StopReason::EndTurn,
        Some("tool_use") => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        Some("stop_sequence") => StopReason::StopSequence,
        Some("pause_turn") => StopReason::PauseTurn,
        Some("refusal") => StopReason::Refusal,
        Some("model_context_window_exceeded") => StopReason::ModelContextWindowExceeded,
        other => {
            return Err(LlmError::Malformed(format!(
                "Anthropic answer with stop_reason {other:?}"
            )))
        }
    };
    let n = |k: &str| v["usage"][k].as_u64().unwrap_or(0);
    let usage = Usage {
        input_tokens: n("input_tokens"),
        output_tokens: n("output_tokens"),
        cache_read_tokens: n("cache_read_input_tokens"),
        cache_write_tokens: n("cache_creation_input_tokens"),
    };
    Ok(Reply {
        message: Message {
            role: Role::Assistant,
            content,
        },
        stop,
        usage,
    })
}
