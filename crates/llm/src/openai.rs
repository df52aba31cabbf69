//! The OpenAI-compatible chat-completions wire format (OpenAI, llama.cpp, vLLM).
//!
//! Request: `{model, max_completion_tokens, messages: [{role: system|user|assistant|tool, ...}],
//! tools: [{type: function, function: {name, description, parameters}}], tool_choice:
//! auto|none}`. An assistant's `tool_calls` carry `arguments` as a JSON *string*; each is
//! answered by a `{role: "tool", tool_call_id, content}` message. Reply: `choices[0]
//! .message` and `finish_reason` (stop, tool_calls, length, content_filter), `usage:
//! {prompt_tokens, completion_tokens, prompt_tokens_details: {cached_tokens}}` (OpenAI
//! caches a prompt's prefix by itself; nothing in the request asks for it).

use jada_core::agent::{Block, Message, Role, StopReason, Usage};
use serde_json::{json, Value};

use crate::{LlmError, Reply, Request};

/// What a tool error looks like to a model that has no `is_error` flag.
const ERROR_PREFIX: &str = "ERROR: ";

pub fn request_body(model: &str, r: &Request) -> Value {
    let mut messages = vec![json!({"role": "system", "content": r.system})];
    for m in &r.messages {
        messages.extend(message(m));
    }
    let mut body = json!({
        "model": model,
        // `max_tokens` is deprecated, and refused by OpenAI's reasoning models.
        "max_completion_tokens": r.max_tokens,
        "messages": messages,
    });
    if !r.tools.is_empty() {
        let tools: Vec<Value> = r
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.input_schema}})
            })
            .collect();
        body["tools"] = json!(tools);
        body["tool_choice"] = json!(if r.allow_tools { "auto" } else { "none" });
    }
    body
}

/// One transcript message becomes one chat message, except tool results, which become
/// one `tool` message each (before any text of the same user turn).
fn message(m: &Message) -> Vec<Value> {
    match m.role {
        Role::Assistant => {
            let calls: Vec<Value> = m
                .tool_uses()
                .map(|(id, name, input)| {
                    // A model's arguments that were not JSON are kept as the raw string.
                    let arguments = match input {
                        Value::String(raw) => raw.clone(),
                        other => other.to_string(),
                    };
                    json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
                })
                .collect();
            let text = m.text();
            let mut out =
                json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { json!(text) }});
            if !calls.is_empty() {
                out["tool_calls"] = json!(calls);
            }
            vec![out]
        }
        Role::User => {
            let mut out: Vec<Value> = m
                .content
                .iter()
                .filter_map(|b| match b {
                    Block::ToolResult {
                        tool_use_id,
                        content,
                        is_error,
                    } => Some(json!({
                        "role": "tool",
                        "tool_call_id": tool_use_id,
                        "content": if *is_error { format!("{ERROR_PREFIX}{content}") } else { content.clone() },
                    })),
                    _ => None,
                })
                .collect();
            let text = m.text();
            if !text.is_empty() {
                out.push(json!({"role": "user", "content": text}));
            }
            out
        }
    }
}

pub fn parse_reply(v: &Value) -> Result<Reply, LlmError> {
    let choice = &v["choices"][0];
    let msg = &choice["message"];
    if !msg.is_object() {
        return Err(LlmError::Malformed("chat completion without choices[0].message".into()));
    }
    let mut content = Vec::new();
    if let Some(text) = msg["content"].as_str().filter(|t| !t.is_empty()) {
        content.push(Block::Text { text: text.to_string() });
    }
    for call in msg["tool_calls"].as_array().into_iter().flatten() {
        let id = call["id"]
            .as_str()
            .ok_or_else(|| LlmError::Malformed("a tool call without an id".into()))?;
        let f = &call["function"];
        let name = f["name"]
            .as_str()
            .ok_or_else(|| LlmError::Malformed("a tool call without a function name".into()))?;
        let raw = f["arguments"].as_str().unwrap_or("{}");
        // Arguments that are not JSON stay a string: the tool answers with an error the
        // model can correct, rather than the session failing.
        let input = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
        content.push(Block::ToolUse {
            id: id.to_string(),
            name: name.to_string(),
            input,
        });
    }
    let stop = match choice["finish_reason"].as_str() {
        Some("stop") => StopReason::EndTurn,
        Some("tool_calls") | Some("function_call") => StopReason::ToolUse,
        Some("length") => StopReason::MaxTokens,
        Some("content_filter") => StopReason::Refusal,
        other => {
            return Err(LlmError::Malformed(format!(
                "chat completion with finish_reason {other:?}"
            )))
        }
    };
    // Prefix caching is automatic: `prompt_tokens` includes the cached ones.
    let prompt = v["usage"]["prompt_tokens"].as_u64().unwrap_or(0);
    let cached = v["usage"]["prompt_tokens_details"]["cached_tokens"]
        .as_u64()
        .unwrap_or(0)
        .min(prompt);
    let usage = Usage {
        input_tokens: prompt - cached,
        output_tokens: v["usage"]["completion_tokens"].as_u64().unwrap_or(0),
        cache_read_tokens: cached,
        cache_write_tokens: 0,
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
