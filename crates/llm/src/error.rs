//! What can go wrong asking a model, and whether waiting can help.

use std::time::Duration;

use jada_core::{Fault, Recovery};
use serde_json::Value;

use crate::Provider;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// 401/403: the key is wrong, revoked, or lacks access. Only a person can fix it.
    #[error("the {provider} API refused the key (HTTP {status}: {message}): check `api_key_file` or `api_key_env` under [agent]")]
    Auth {
        provider: &'static str,
        status: u16,
        message: String,
    },
    /// 400/404/413/422: the request itself was refused; sending it again will not help.
    #[error("the {provider} API refused the request (HTTP {status}, {kind}): {message}")]
    Rejected {
        provider: &'static str,
        status: u16,
        kind: String,
        message: String,
    },
    /// 400: the prompt is longer than the model's context window. The session compacts
    /// its transcript once and tries again; sending the same request again will not help.
    #[error("the {provider} API refused the request as longer than the model's context window: {message}")]
    ContextTooLong { provider: &'static str, message: String },
    /// 429: too many requests or tokens for now.
    #[error("the {provider} API is rate-limiting us (HTTP 429: {message})")]
    RateLimited {
        provider: &'static str,
        message: String,
        retry_after: Option<Duration>,
    },
    /// 529 (Anthropic) or 503: the provider is overloaded.
    #[error("the {provider} API is overloaded (HTTP {status}: {message})")]
    Overloaded {
        provider: &'static str,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// Any other 5xx.
    #[error("the {provider} API failed (HTTP {status}: {message})")]
    Server {
        provider: &'static str,
        status: u16,
        message: String,
    },
    /// No answer: connection refused, reset, or the timeout passed.
    #[error("cannot reach the model: {0}")]
    Transport(String),
    /// An answer that does not follow the wire format (cut off, or not JSON).
    #[error("the model's answer could not be read: {0}")]
    Malformed(String),
    /// An answer longer than `[agent] max_response_bytes`: read no further, and not
    /// asked again (a server that sends this once will again).
    #[error("the model's answer was longer than {limit} bytes ([agent] max_response_bytes): it was not read; check base_url points at the provider, or raise the bound")]
    TooLarge { limit: usize },
}

impl LlmError {
    pub(crate) fn transport(url: &str, e: &reqwest::Error, key: &str) -> LlmError {
        let what = if e.is_timeout() {
            "timed out".to_string()
        } else if e.is_connect() {
            "connection failed".to_string()
        } else {
            e.to_string()
        };
        LlmError::Transport(redact(&format!("{url}: {what}"), key))
    }

    /// Classifies an HTTP refusal from its status and the provider's error body.
    pub(crate) fn from_status(
        provider: Provider,
        status: u16,
        body: &str,
        retry_after: Option<Duration>,
        key: &str,
    ) -> LlmError {
        let (kind, code, message) = error_body(body);
        // A provider's message goes into the session, the log and an alert: bounded.
        let message = jada_core::text::truncate(&redact(&message, key), MESSAGE_MAX);
        let provider = provider.as_str();
        match status {
            401 | 403 => LlmError::Auth {
                provider,
                status,
                message,
            },
            429 => LlmError::RateLimited {
                provider,
                message,
                retry_after,
            },
            529 | 503 => LlmError::Overloaded {
                provider,
                status,
                message,
                retry_after,
            },
            400 if is_context_length(&code, &message) => LlmError::ContextTooLong { provider, message },
            500..=599 | 408 => LlmError::Server {
                provider,
                status,
                message,
            },
            _ => LlmError::Rejected {
                provider,
                status,
                kind,
                message,
            },
        }
    }

    /// What the server asked us to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::RateLimited { retry_after, .. } | LlmError::Overloaded { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl Fault for LlmError {
    fn recovery(&self) -> Recovery {
        match self {
            LlmError::Auth { .. }
            | LlmError::Rejected { .. }
            | LlmError::TooLarge { .. }
            | LlmError::ContextTooLong { .. } => Recovery::Operator,
            _ => Recovery::Retry,
        }
    }
}

/// The error type and message of either provider's error body:
/// Anthropic `{"type":"error","error":{"type","message"}}`, OpenAI `{"error":{"type","message"}}`.
/// Also OpenAI's `code`, when given.
fn error_body(body: &str) -> (String, String, String) {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let e = &v["error"];
    let kind = e["type"].as_str().unwrap_or("unknown").to_string();
    let code = e["code"].as_str().unwrap_or_default().to_string();
    let message = match e["message"].as_str() {
        Some(m) => m.to_string(),
        None => jada_core::text::truncate(body.trim(), 200),
    };
    (kind, code, message)
}

/// A context-length refusal: OpenAI says so in its `code`; Anthropic only in its message
/// ("prompt is too long: N tokens > M maximum").
fn is_context_length(code: &str, message: &str) -> bool {
    code == "context_length_exceeded" || message.starts_with("prompt is too long")
}

/// How much of a provider's error message is kept (characters).
const MESSAGE_MAX: usize = 1_000;

/// A provider may echo what it was sent; the key must never travel on in an error.
pub(crate) fn redact(s: &str, key: &str) -> String {
    if key.len() >= 4 {
        s.replace(key, "[redacted]")
    } else {
        s.to_string()
    }
}
