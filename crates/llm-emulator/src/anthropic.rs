//! `POST /v1/messages`, as the Anthropic Messages API answers and refuses it.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::script::Turn;
use crate::{handle, random_id, tokens, Conversation, Emulator, Wire};

pub async fn messages(State(emu): State<Emulator>, headers: HeaderMap, body: String) -> Response {
    handle::<Anthropic>(emu, headers, body).await
}

pub(crate) struct Anthropic;

fn invalid(message: String) -> Response {
    Anthropic::error(400, &message, None)
}

impl Wire for Anthropic {
    const NAME: &'static str = "anthropic";
    const AUTOMATIC_CACHE: bool = false;

    fn check_key(headers: &HeaderMap, key: &str) -> Result<(), Response> {
        match headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
            None => Err(Self::error(401, "x-api-key header is required", None)),
            Some(k) if k != key => Err(Self::error(401, "invalid x-api-key", None)),
            Some(_) => Ok(()),
        }
    }

    fn validate(headers: &HeaderMap, body: &Value) -> Result<Conversation, Response> {
        if headers.get("anthropic-version").is_none() {
            return Err(invalid("anthropic-version: header is required".into()));
        }
        if !body["model"].is_string() {
            return Err(invalid("model: Field required".into()));
        }
        match body["max_tokens"].as_u64() {
            None => return Err(invalid("max_tokens: Field required".into())),
            Some(0) => return Err(invalid("max_tokens: Input should be greater than or equal to 1".into())),
            Some(_) => {}
        }
        let tools = check_tools(body)?;
        let messages = body["messages"]
            .as_array()
            .ok_or_else(|| invalid("messages: Field required".into()))?;
        if messages.is_empty() {
            return Err(invalid("messages: at least one message is required".into()));
        }
        let blocks: Vec<Vec<Value>> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| content_blocks(i, m))
            .collect::<Result<_, _>>()?;
        let last = messages.len() - 1;
        for (i, bs) in blocks.iter().enumerate() {
            let final_assistant = i == last && messages[i]["role"] == "assistant";
            if bs.is_empty() && !final_assistant {
                return Err(invalid(format!(
                    "messages.{i}: all messages must have non-empty content except for the optional final assistant message"
                )));
            }
            if bs
                .iter()
                .any(|b| b["type"] == "text" && b["text"].as_str().is_some_and(str::is_empty))
            {
                return Err(invalid("messages: text content blocks must be non-empty".into()));
            }
        }
        if messages[0]["role"] != "user" {
            return Err(invalid("messages: first message must use the \"user\" role".into()));
        }
        for i in 0..messages.len() {
            check_tool_pairing(messages, &blocks, i)?;
        }
        let first_user_text = blocks[0]
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let choice = body["tool_choice"]["type"].as_str().unwrap_or("auto");
        Ok(Conversation {
            first_user_text,
            turn: messages.iter().filter(|m| m["role"] == "assistant").count(),
            tools_allowed: tools > 0 && choice != "none",
            input_chars: body.to_string().len(),
            segments: segments(body, messages, &blocks)?,
            cache_read: 0,
            cache_write: 0,
        })
    }

    fn too_long(prompt: u64, window: u64) -> Response {
        invalid(format!("prompt is too long: {prompt} tokens > {window} maximum"))
    }

    fn error(status: u16, message: &str, retry_after: Option<u64>) -> Response {
        let kind = match status {
            400 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            529 => "overloaded_error",
            _ => "api_error",
        };
        let body = json!({"type": "error", "error": {"type": kind, "message": message}});
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (status, Json(body)).into_response();
        if let Some(s) = retry_after {
            r.headers_mut().insert("retry-after", s.into());
        }
        r
    }

    fn turn_body(turn: &Turn, conv: &Conversation, model: &str) -> Value {
        let mut content = Vec::new();
        if let Some(text) = &turn.text {
            content.push(json!({"type": "text", "text": text}));
        }
        for call in &turn.tool_calls {
            content
                .push(json!({"type": "tool_use", "id": random_id("toolu_"), "name": call.name, "input": call.input}));
        }
        let stop = turn.stop.clone().unwrap_or_else(|| {
            if turn.tool_calls.is_empty() {
                "end_turn".into()
            } else {
                "tool_use".into()
            }
        });
        message(content, &stop, turn, conv, model)
    }

    fn done_body(text: &str, conv: &Conversation, model: &str) -> Value {
        message(
            vec![json!({"type": "text", "text": text})],
            "end_turn",
            &Turn::default(),
            conv,
            model,
        )
    }
}

fn message(content: Vec<Value>, stop: &str, turn: &Turn, conv: &Conversation, model: &str) -> Value {
    let (input, output, read, write) = match turn.usage {
        Some(u) => (u.input_tokens, u.output_tokens, 0, 0),
        None => (
            conv.uncached_tokens(),
            tokens(Value::Array(content.clone()).to_string().len()),
            conv.cache_read,
            conv.cache_write,
        ),
    };
    json!({
        "id": random_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": null,
        "usage": {"input_tokens": input, "output_tokens": output,
                  "cache_creation_input_tokens": write, "cache_read_input_tokens": read},
    })
}

/// The prompt in cache order — tools, system, then each message's blocks — each piece
/// without its `cache_control`, marked when it carries one. At most 4 breakpoints.
fn segments(body: &Value, messages: &[Value], blocks: &[Vec<Value>]) -> Result<Vec<(String, bool)>, Response> {
    let mut out = Vec::new();
    let mut piece = |v: &Value, prefix: &str| {
        let marked = v.get("cache_control").is_some();
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("cache_control");
        }
        out.push((format!("{prefix}{v}"), marked));
    };
    for t in body["tools"].as_array().into_iter().flatten() {
        piece(t, "tool:");
    }
    match &body["system"] {
        Value::String(s) => piece(&json!({"type": "text", "text": s}), "system:"),
        Value::Array(bs) => bs.iter().for_each(|b| piece(b, "system:")),
        _ => {}
    }
    for (m, bs) in messages.iter().zip(blocks) {
        let role = format!("{}:", m["role"].as_str().unwrap_or_default());
        bs.iter().for_each(|b| piece(b, &role));
    }
    let marked = out.iter().filter(|(_, m)| *m).count();
    if marked > 4 {
        return Err(invalid(format!(
            "A maximum of 4 blocks with cache_control may be provided. Found {marked}."
        )));
    }
    Ok(out)
}

fn check_tools(body: &Value) -> Result<usize, Response> {
    let Some(tools) = body.get("tools") else {
        if body.get("tool_choice").is_some() {
            return Err(invalid(
                "tool_choice: tool_choice may only be specified while providing tools".into(),
            ));
        }
        return Ok(0);
    };
    let tools = tools
        .as_array()
        .ok_or_else(|| invalid("tools: Input should be a valid list".into()))?;
    for (i, t) in tools.iter().enumerate() {
        let name = t["name"].as_str().unwrap_or_default();
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(invalid(format!(
                "tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
            )));
        }
        if t["input_schema"]["type"] != "object" {
            return Err(invalid(format!(
                "tools.{i}.custom.input_schema.type: Input should be 'object'"
            )));
        }
    }
    Ok(tools.len())
}

/// A message's content as blocks (a string is one text block), with roles checked.
fn content_blocks(i: usize, m: &Value) -> Result<Vec<Value>, Response> {
    match m["role"].as_str() {
        Some("user") | Some("assistant") => {}
        _ => {
            return Err(invalid(format!(
                "messages.{i}.role: Input should be 'user' or 'assistant'"
            )))
        }
    }
    match &m["content"] {
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(vec![json!({"type": "text", "text": s})]),
        Value::Array(blocks) => {
            for (k, b) in blocks.iter().enumerate() {
                let t = b["type"].as_str().unwrap_or_default();
                let ok = match t {
                    "text" => b["text"].is_string(),
                    "tool_use" => {
                        m["role"] == "assistant"
                            && b["id"].is_string()
                            && b["name"].is_string()
                            && b["input"].is_object()
                    }
                    "tool_result" => m["role"] == "user" && b["tool_use_id"].is_string(),
                    _ => false,
                };
                if !ok {
                    return Err(invalid(format!("messages.{i}.content.{k}: invalid `{t}` block")));
                }
            }
            Ok(blocks.clone())
        }
        _ => Err(invalid(format!("messages.{i}.content: Field required"))),
    }
}

/// Every `tool_use` of an assistant message is answered by a `tool_result` at the start
/// of the next message, and every `tool_result` answers a `tool_use` just before it.
fn check_tool_pairing(messages: &[Value], blocks: &[Vec<Value>], i: usize) -> Result<(), Response> {
    let ids = |bs: &[Value], kind: &str, key: &str| -> Vec<String> {
        bs.iter()
            .filter(|b| b["type"] == kind)
            .filter_map(|b| b[key].as_str().map(String::from))
            .collect()
    };
    if messages[i]["role"] == "assistant" {
        let uses = ids(&blocks[i], "tool_use", "id");
        if uses.is_empty() {
            return Ok(());
        }
        let answered = blocks
            .get(i + 1)
            .map(|b| ids(b, "tool_result", "tool_use_id"))
            .unwrap_or_default();
        let missing: Vec<&String> = uses.iter().filter(|u| !answered.contains(u)).collect();
        if !missing.is_empty() {
            let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            return Err(invalid(format!(
                "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                list.join(", ")
            )));
        }
        return Ok(());
    }
    let previous_uses = if i > 0 && messages[i - 1]["role"] == "assistant" {
        ids(&blocks[i - 1], "tool_use", "id")
    } else {
        Vec::new()
    };
    let mut seen_other = false;
    for (k, b) in blocks[i].iter().enumerate() {
        if b["type"] != "tool_result" {
            seen_other = true;
            continue;
        }
        if seen_other {
            return Err(invalid(format!(
                "messages.{i}.content.{k}: `tool_result` blocks must come first in the user message, before any other content"
            )));
        }
        let id = b["tool_use_id"].as_str().unwrap_or_default();
        if !previous_uses.iter().any(|u| u == id) {
            return Err(invalid(format!(
                "messages.{i}.content.{k}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
            )));
        }
    }
    Ok(())
}
