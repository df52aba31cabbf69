//! LLM providers for agent sessions. One request type ([`Request`]: a system prompt, the
//! provider-neutral transcript of `jada_core::agent`, tool specifications) and one reply
//! ([`Reply`]: the assistant message, why it stopped, token usage), translated to:
//!
//! - [`anthropic`]: the Messages API (`POST {base}/v1/messages`, `x-api-key`,
//!   `anthropic-version`), tool use as `tool_use` / `tool_result` blocks;
//! - [`openai`]: OpenAI-compatible chat completions (`POST {base}/chat/completions`,
//!   bearer key), as served by OpenAI, llama.cpp's server and vLLM; tool calls carry
//!   their arguments as a JSON string and are answered by `role: "tool"` messages.
//!
//! [`Client::complete`] retries what can pass (429 honouring `retry-after`, 529, 5xx,
//! timeouts, a cut-off answer) with `jada_core::Backoff` up to a bound, and stops at once
//! on what cannot (401/403, a refused request), as a typed [`LlmError`]. The API key is
//! held as a secret: it is never in a log line, an error, a `Debug` print or a stored
//! answer (a provider that echoes it gets it redacted). Every request's transcript
//! passes [`transcript::sanitise`]; every answer is read up to `max_response_bytes`.

pub mod anthropic;
mod error;
pub mod openai;
pub mod transcript;

use std::time::Duration;

use jada_core::agent::{Message, StopReason, Usage};
use jada_core::Backoff;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use error::LlmError;

/// Which wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Anthropic,
    #[serde(rename = "openai")]
    OpenAi,
}

impl Provider {
    pub fn as_str(&self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::OpenAi => "openai",
        }
    }
}

/// A tool the model may call: its JSON Schema is generated from the Rust argument type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

/// One model request.
#[derive(Debug, Clone)]
pub struct Request {
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    pub max_tokens: u32,
    /// `false` forbids tool calls in this answer (the last turn of a session, which must
    /// be a summary).
    pub allow_tools: bool,
}

/// One model turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The assistant message (text and tool uses).
    pub message: Message,
    pub stop: StopReason,
    pub usage: Usage,
}

/// How hard to try before a request becomes a `provider_error`.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub attempts: u32,
    pub backoff: Backoff,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 5,
            backoff: Backoff::new(Duration::from_secs(2), Duration::from_secs(60)),
        }
    }
}

/// Where and how to reach a provider.
#[derive(Clone)]
pub struct Settings {
    pub provider: Provider,
    /// Anthropic: the API root (`https://api.anthropic.com`). OpenAI-compatible: the root
    /// including its version (`https://api.openai.com/v1`, `http://127.0.0.1:8080/v1`).
    pub base_url: String,
    pub model: String,
    pub api_key: SecretString,
    /// How long one request may take, answer included.
    pub timeout: Duration,
    pub retry: Retry,
    /// The most bytes of one answer that are read ([`LlmError::TooLarge`] past it).
    pub max_response_bytes: usize,
    /// Ask Anthropic to cache the prompt's prefix (`cache_control` breakpoints); OpenAI
    /// caches by itself either way.
    pub prompt_caching: bool,
}

/// What an answer may weigh unless configured otherwise: far above any real answer.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &"[redacted]")
            .finish()
    }
}

/// A provider client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    settings: Settings,
    http: reqwest::Client,
}

impl Client {
    pub fn new(settings: Settings) -> Result<Client, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| LlmError::Transport(e.to_string()))?;
        Ok(Client { settings, http })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Sends one request, retrying passing failures with backoff; gives up after the
    /// configured attempts with the last error. Reports each retry through `on_retry`.
    pub async fn complete(
        &self,
        request: &Request,
        on_retry: &(dyn Fn(u32, &LlmError) + Sync),
    ) -> Result<Reply, LlmError> {
        let retry = self.settings.retry;
        let mut attempt = 1;
        loop {
            match self.complete_once(request).await {
                Ok(reply) => return Ok(reply),
                Err(e) if jada_core::Fault::is_retryable(&e) && attempt < retry.attempts => {
                    on_retry(attempt, &e);
                    let delay = retry.backoff.delay(attempt, rand::random::<f64>(), e.retry_after());
                    tracing::warn!(attempt, ?delay, error = %e, "model request failed; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends one request, once.
    pub async fn complete_once(&self, request: &Request) -> Result<Reply, LlmError> {
        let s = &self.settings;
        let key = s.api_key.expose_secret();
        // Copied only when it needs repair (rarely): a sound transcript is sent as it is.
        let repaired;
        let request = match transcript::sanitise(&request.messages) {
            std::borrow::Cow::Borrowed(_) => request,
            std::borrow::Cow::Owned(messages) => {
                repaired = Request {
                    messages,
                    ..request.clone()
                };
                &repaired
            }
        };
        let (url, body, builder) = match s.provider {
            Provider::Anthropic => {
                let url = format!("{}/v1/messages", s.base_url.trim_end_matches('/'));
                let body = anthropic::request_body(&s.model, request, s.prompt_caching);
                let b = self
                    .http
                    .post(&url)
                    .header("x-api-key", key)
                    .header("anthropic-version", anthropic::VERSION);
                (url, body, b)
            }
            Provider::OpenAi => {
                let url = format!("{}/chat/completions", s.base_url.trim_end_matches('/'));
                let body = openai::request_body(&s.model, request);
                let b = self.http.post(&url).bearer_auth(key);
                (url, body, b)
            }
        };
        let response = builder
            .json(&body)
            .send()
            .await
            .map_err(|e| LlmError::transport(&url, &e, key))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = read_capped(response, s.max_response_bytes)
            .await
            .map_err(|e| e.unwrap_or_else(|e| LlmError::transport(&url, &e, key)))?;
        let text = String::from_utf8_lossy(&bytes);
        if !status.is_success() {
            return Err(LlmError::from_status(
                s.provider,
                status.as_u16(),
                &text,
                retry_after,
                key,
            ));
        }
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| LlmError::Malformed(format!("the answer is not JSON ({e}); it may have been cut off")))?;
        let mut reply = match s.provider {
            Provider::Anthropic => anthropic::parse_reply(&value),
            Provider::OpenAi => openai::parse_reply(&value),
        }?;
        redact_message(&mut reply.message, key);
        Ok(reply)
    }
}

/// The answer's body, read chunk by chunk up to `limit` bytes: an answer that says or
/// turns out to be longer is refused without reading the rest (an endless stream ends
/// here too, not at the timeout). `Err(Ok(e))` is the bound, `Err(Err(e))` the transport.
async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, Result<LlmError, reqwest::Error>> {
    let too_large = || Ok(LlmError::TooLarge { limit });
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Err)? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A provider that echoes the key must not get it into the transcript: it is replaced
/// in the answer's text and tool arguments before anything stores or shows them.
fn redact_message(m: &mut Message, key: &str) {
    use jada_core::agent::Block;
    if key.len() < 4 {
        return;
    }
    for b in &mut m.content {
        match b {
            Block::Text { text } if text.contains(key) => *text = error::redact(text, key),
            Block::ToolUse { input, .. } => {
                let raw = input.to_string();
                if raw.contains(key) {
                    *input = serde_json::from_str(&error::redact(&raw, key)).unwrap_or(Value::Null);
                }
            }
            _ => {}
        }
    }
}
