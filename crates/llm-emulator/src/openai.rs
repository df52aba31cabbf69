//! `POST /v1/chat/completions`, as OpenAI-compatible servers answer and refuse it.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::script::Turn;
use crate::{handle, random_id, tokens, Conversation, Emulator, Wire};

pub async fn chat(State(emu): State<Emulator>, headers: HeaderMap, body: String) -> Response {
    handle::<OpenAi>(emu, headers, body).await
}

pub(crate) struct OpenAi;

fn invalid(message: String, param: Option<String>) -> Response {
    let body = json!({"error": {"message": message, "type": "invalid_request_error", "param": param, "code": null}});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

impl Wire for OpenAi {
    const NAME: &'static str = "openai";
    const AUTOMATIC_CACHE: bool = true;

    fn check_key(headers: &HeaderMap, key: &str) -> Result<(), Response> {
        let given = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let (message, code) = match given {
            None => (
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                Value::Null,
            ),
            Some(k) if k != key => ("Incorrect API key provided.", json!("invalid_api_key")),
            Some(_) => return Ok(()),
        };
        let body = json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}});
        Err((StatusCode::UNAUTHORIZED, Json(body)).into_response())
    }

    fn validate(_headers: &HeaderMap, body: &Value) -> Result<Conversation, Response> {
        let Some(model) = body["model"].as_str() else {
            return Err(invalid("you must provide a model parameter".into(), None));
        };
        if body.get("max_tokens").is_some() && is_reasoning_model(model) {
            let body = json!({"error": {
                "message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
                "type": "invalid_request_error", "param": "max_tokens", "code": "unsupported_parameter"}});
            return Err((StatusCode::BAD_REQUEST, Json(body)).into_response());
        }
        let tools = check_tools(body)?;
        let messages = body["messages"].as_array().ok_or_else(|| {
            invalid(
                "Missing required parameter: 'messages'.".into(),
                Some("messages".into()),
            )
        })?;
        if messages.is_empty() {
            return Err(invalid("[] is too short - 'messages'".into(), Some("messages".into())));
        }
        check_messages(messages)?;
        let first_user_text = messages
            .iter()
            .find(|m| m["role"] == "user")
            .map(|m| text_of(&m["content"]))
            .unwrap_or_default();
        let choice = body["tool_choice"].as_str().unwrap_or("auto");
        Ok(Conversation {
            first_user_text,
            turn: messages.iter().filter(|m| m["role"] == "assistant").count(),
            tools_allowed: tools > 0 && choice != "none",
            input_chars: body.to_string().len(),
            // Tools first, then each message: OpenAI caches whatever prefix repeats.
            segments: body["tools"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(messages)
                .map(|v| (v.to_string(), true))
                .collect(),
            cache_read: 0,
            cache_write: 0,
        })
    }

    fn too_long(prompt: u64, window: u64) -> Response {
        let body = json!({"error": {
            "message": format!("This model's maximum context length is {window} tokens. However, your messages resulted in {prompt} tokens. Please reduce the length of the messages."),
            "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}});
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    }

    fn error(status: u16, message: &str, retry_after: Option<u64>) -> Response {
        let (kind, code) = match status {
            401 => ("invalid_request_error", json!("invalid_api_key")),
            429 => ("requests", json!("rate_limit_exceeded")),
            400 => ("invalid_request_error", Value::Null),
            _ => ("server_error", Value::Null),
        };
        let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (status, Json(body)).into_response();
        if let Some(s) = retry_after {
            r.headers_mut().insert("retry-after", s.into());
        }
        r
    }

    fn turn_body(turn: &Turn, conv: &Conversation, model: &str) -> Value {
        let calls: Vec<Value> = turn
            .tool_calls
            .iter()
            .map(|c| {
                let arguments = c.raw_arguments.clone().unwrap_or_else(|| c.input.to_string());
                json!({"id": random_id("call_"), "type": "function", "function": {"name": c.name, "arguments": arguments}})
            })
            .collect();
        let stop = match turn.stop.as_deref() {
            Some("max_tokens") => "length",
            Some("refusal") => "content_filter",
            Some("tool_use") => "tool_calls",
            Some(_) => "stop",
            None if calls.is_empty() => "stop",
            None => "tool_calls",
        };
        let mut message = json!({"role": "assistant", "content": turn.text, "refusal": null});
        if !calls.is_empty() {
            message["tool_calls"] = json!(calls);
        }
        completion(message, stop, turn, conv, model)
    }

    fn done_body(text: &str, conv: &Conversation, model: &str) -> Value {
        let message = json!({"role": "assistant", "content": text, "refusal": null});
        completion(message, "stop", &Turn::default(), conv, model)
    }
}

fn completion(message: Value, finish: &str, turn: &Turn, conv: &Conversation, model: &str) -> Value {
    let (prompt, completion, cached) = match turn.usage {
        Some(u) => (u.input_tokens, u.output_tokens, 0),
        None => (
            tokens(conv.input_chars),
            tokens(message.to_string().len()),
            conv.cache_read,
        ),
    };
    json!({
        "id": random_id("chatcmpl-"),
        "object": "chat.completion",
        "created": 1_780_000_000u64,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                  "prompt_tokens_details": {"cached_tokens": cached}},
    })
}

/// OpenAI's reasoning models, which take `max_completion_tokens` only.
fn is_reasoning_model(model: &str) -> bool {
    ["o1", "o3", "o4", "gpt-5"].iter().any(|p| model.starts_with(p))
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn check_tools(body: &Value) -> Result<usize, Response> {
    let Some(tools) = body.get("tools") else {
        if body.get("tool_choice").is_some() {
            return Err(invalid(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.".into(),
                Some("tool_choice".into()),
            ));
        }
        return Ok(0);
    };
    let tools = tools.as_array().ok_or_else(|| {
        invalid(
            "Invalid type for 'tools': expected an array.".into(),
            Some("tools".into()),
        )
    })?;
    for (i, t) in tools.iter().enumerate() {
        if t["type"] != "function" || !t["function"]["name"].is_string() {
            return Err(invalid(
                format!("Missing required parameter: 'tools[{i}].function.name'."),
                Some(format!("tools[{i}].function.name")),
            ));
        }
    }
    Ok(tools.len())
}

/// Roles are known; an assistant's tool calls are each answered by a `tool` message
/// right after it, and a `tool` message answers one of those calls.
fn check_messages(messages: &[Value]) -> Result<(), Response> {
    let mut open: Vec<String> = Vec::new();
    let mut open_from = 0;
    for (i, m) in messages.iter().enumerate() {
        let role = m["role"].as_str().unwrap_or_default();
        if role != "tool" && !open.is_empty() {
            return Err(unanswered(open_from, &open));
        }
        match role {
            "system" | "developer" | "user" => {}
            "assistant" => {
                let no_calls = m["tool_calls"].as_array().is_none_or(|c| c.is_empty());
                if no_calls && text_of(&m["content"]).is_empty() {
                    return Err(invalid(
                        format!("Invalid value for 'content': expected a string, got null. An assistant message (messages[{i}]) needs content or tool_calls."),
                        Some(format!("messages.[{i}].content")),
                    ));
                }
                for (k, call) in m["tool_calls"].as_array().into_iter().flatten().enumerate() {
                    if !call["function"]["arguments"].is_string() {
                        return Err(invalid(
                            format!("Invalid type for 'messages[{i}].tool_calls[{k}].function.arguments': expected a string, but got an object instead."),
                            Some(format!("messages[{i}].tool_calls[{k}].function.arguments")),
                        ));
                    }
                    open.push(call["id"].as_str().unwrap_or_default().to_string());
                    open_from = i;
                }
            }
            "tool" => {
                let id = m["tool_call_id"].as_str().unwrap_or_default();
                match open.iter().position(|o| o == id) {
                    Some(p) => {
                        open.remove(p);
                    }
                    None => {
                        return Err(invalid(
                            "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.".into(),
                            Some(format!("messages.[{i}].role")),
                        ))
                    }
                }
            }
            other => {
                return Err(invalid(
                    format!("Invalid value: '{other}'. Supported values are: 'system', 'assistant', 'user', 'tool', 'function', and 'developer'."),
                    Some(format!("messages[{i}].role")),
                ))
            }
        }
    }
    if !open.is_empty() {
        return Err(unanswered(open_from, &open));
    }
    Ok(())
}

fn unanswered(i: usize, ids: &[String]) -> Response {
    invalid(
        format!(
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
            ids.join(", ")
        ),
        Some(format!("messages.[{i}].role")),
    )
}
