//! A local LLM provider for jada's tests and demo. It answers both wire formats jada
//! speaks, from [`script`]s, exactly as the providers document them, and refuses what
//! they refuse (400 with the provider's own error body): a `tool_use` not answered by a
//! `tool_result`, a result that is not first in the next message or names an unknown
//! id, a missing `max_tokens` or `anthropic-version`, a wrong key (401), an empty message
//! or text block, `max_tokens` sent to an OpenAI reasoning model. Scripts can also make
//! it a hostile provider: an answer of any size or one that never ends, an error of
//! megabytes, the key echoed back.
//!
//! - `POST /v1/messages`: the Anthropic Messages API ([`anthropic`]).
//! - `POST /v1/chat/completions`: OpenAI-compatible chat completions ([`openai`]).
//! - `/_emulator/...`: load scripts, read the requests received ([`Emulator`] methods).

// Handlers return `Result<_, Response>`: the refusal is the HTTP answer.
#![allow(clippy::result_large_err)]

pub mod anthropic;
pub mod openai;
pub mod script;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;

pub use script::Script;
use script::{Answer, Fault, Turn};

/// The key the emulator accepts unless told otherwise.
pub const DEFAULT_KEY: &str = "emulator-key";

/// One request the emulator received, for tests to inspect.
#[derive(Debug, Clone, Serialize)]
pub struct Received {
    pub provider: &'static str,
    /// The script and turn it was answered from (`None` when it was refused).
    pub script: Option<String>,
    pub turn: Option<usize>,
    /// The HTTP status answered (0 while the answer is in flight).
    pub status: u16,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    scripts: Vec<Script>,
    /// Faults already fired, by (script, turn, fault index).
    fired: HashMap<(String, usize, usize), usize>,
    received: Vec<Received>,
    /// Hashes of the cached prompt prefixes.
    cache: std::collections::HashSet<u64>,
    /// Sequential scripts: the next turn each answers.
    next_turn: HashMap<String, usize>,
    /// The model's context window in tokens, when set: a longer prompt is refused.
    context_window: Option<u64>,
}

/// The emulator's control surface; cheap to clone.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Mutex<Inner>>,
    key: Arc<Mutex<String>>,
    base_url: String,
}

impl Emulator {
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The base URL for an OpenAI-compatible client (with `/v1`).
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.base_url)
    }

    /// Adds a script, replacing one of the same name.
    pub fn add_script(&self, script: Script) {
        let mut inner = self.lock();
        inner.scripts.retain(|s| s.name != script.name);
        inner.scripts.push(script);
    }

    /// Adds a script from its JSON form (panics on a malformed script: tests only).
    pub fn script(&self, json: Value) {
        self.add_script(serde_json::from_value(json).expect("a valid emulator script"));
    }

    /// Every request received, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Forgets the requests received so far (a long benchmark's memory).
    pub fn clear_received(&self) {
        self.lock().received.clear();
    }

    /// Refuses prompts longer than `tokens` (about four characters a token), with each
    /// provider's context-length error; `None` lifts the bound.
    pub fn set_context_window(&self, tokens: Option<u64>) {
        self.lock().context_window = tokens;
    }

    /// Changes the key the emulator accepts (revoking the old one).
    pub fn set_key(&self, key: &str) {
        *self.key.lock().unwrap_or_else(|p| p.into_inner()) = key.to_string();
    }

    fn key(&self) -> String {
        self.key.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Picks the script and what it answers for a conversation at `turn`.
    fn answer(&self, first_user_text: &str, turn: usize) -> (Option<String>, Answer) {
        let mut inner = self.lock();
        let Some(script) = inner
            .scripts
            .iter()
            .find(|s| s.matches.as_deref().is_some_and(|m| first_user_text.contains(m)))
            .or_else(|| inner.scripts.iter().find(|s| s.matches.is_none()))
            .cloned()
        else {
            return (None, Answer::Done);
        };
        let name = script.name.clone();
        let turn = if script.sequential {
            let next = inner.next_turn.entry(name.clone()).or_insert(0);
            *next += 1;
            *next - 1
        } else {
            turn
        };
        let Some(t) = script.turn(turn).cloned() else {
            return (Some(name), Answer::Done);
        };
        for (i, fault) in t.faults.iter().enumerate() {
            let fired = inner.fired.entry((name.clone(), turn, i)).or_insert(0);
            if *fired < fault.times {
                *fired += 1;
                return (Some(name), Answer::Fault(fault.clone()));
            }
        }
        if let Some(stop) = &t.empty_first {
            let fired = inner.fired.entry((name.clone(), turn, usize::MAX)).or_insert(0);
            if *fired == 0 {
                *fired = 1;
                return (Some(name), Answer::Empty(stop.clone()));
            }
        }
        let mut t = t;
        t.summary = script.summary.clone();
        (Some(name), Answer::Turn(t))
    }

    /// The prompt cache, as the providers document it: a prefix is cached once it was
    /// sent (OpenAI: every prefix; Anthropic: the prefixes ending at a breakpoint) and
    /// is at least 1,024 tokens; a later request reads the longest cached prefix it
    /// begins with, and (Anthropic) writes what lies between that and its last
    /// breakpoint. OpenAI reads in steps of 128 tokens and reports no writes.
    /// Returns (tokens read, tokens written).
    fn cache(&self, segments: &[(String, bool)], automatic: bool) -> (u64, u64) {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let mut chars = 0;
        let prefixes: Vec<(u64, usize, bool)> = segments
            .iter()
            .map(|(text, breakpoint)| {
                text.hash(&mut hasher);
                chars += text.len();
                (hasher.finish(), chars, *breakpoint)
            })
            .collect();
        let mut inner = self.lock();
        let read = prefixes
            .iter()
            .rev()
            .find(|(h, _, _)| inner.cache.contains(h))
            .map_or(0, |p| tokens(p.1));
        let last_breakpoint = prefixes.iter().rev().find(|p| p.2).map_or(0, |p| tokens(p.1));
        for (h, c, breakpoint) in &prefixes {
            if (automatic || *breakpoint) && tokens(*c) >= CACHE_MIN_TOKENS {
                inner.cache.insert(*h);
            }
        }
        if automatic {
            return (read / 128 * 128, 0);
        }
        let write = if last_breakpoint >= CACHE_MIN_TOKENS {
            last_breakpoint.saturating_sub(read)
        } else {
            0
        };
        (read, write)
    }

    fn record(&self, r: Received) -> usize {
        let mut inner = self.lock();
        inner.received.push(r);
        inner.received.len() - 1
    }
}

/// A running emulator.
pub struct EmulatorHandle {
    pub emulator: Emulator,
    pub addr: SocketAddr,
    _task: tokio::task::JoinHandle<()>,
}

impl std::ops::Deref for EmulatorHandle {
    type Target = Emulator;
    fn deref(&self) -> &Emulator {
        &self.emulator
    }
}

/// Starts an emulator on an ephemeral port of 127.0.0.1.
pub async fn spawn() -> EmulatorHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    serve(listener).await.expect("listener is bound")
}

/// Serves on a bound listener.
pub async fn serve(listener: tokio::net::TcpListener) -> std::io::Result<EmulatorHandle> {
    let addr = listener.local_addr()?;
    let emulator = Emulator {
        inner: Arc::default(),
        key: Arc::new(Mutex::new(DEFAULT_KEY.to_string())),
        base_url: format!("http://{addr}"),
    };
    let app = Router::new()
        .route("/v1/messages", post(anthropic::messages))
        .route("/v1/chat/completions", post(openai::chat))
        .route("/_emulator/scripts", post(add_script))
        .route("/_emulator/requests", get(requests))
        .with_state(emulator.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(EmulatorHandle {
        emulator,
        addr,
        _task: task,
    })
}

async fn add_script(AxumState(emu): AxumState<Emulator>, Json(v): Json<Value>) -> Response {
    match serde_json::from_value::<Script>(v) {
        Ok(s) => {
            emu.add_script(s);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("not a script: {e}")).into_response(),
    }
}

async fn requests(AxumState(emu): AxumState<Emulator>) -> Json<Vec<Received>> {
    Json(emu.received())
}

/// What a validated request tells the emulator.
pub(crate) struct Conversation {
    pub first_user_text: String,
    /// Assistant messages in the transcript: the script turn to answer.
    pub turn: usize,
    /// Whether the request lets the model call tools.
    pub tools_allowed: bool,
    pub input_chars: usize,
    /// The request's prompt in cacheable pieces, in order, each marked when it is a
    /// cache breakpoint (Anthropic's `cache_control`); OpenAI caches every prefix.
    pub segments: Vec<(String, bool)>,
    /// Prompt tokens read from and written to the cache (set by the emulator).
    pub cache_read: u64,
    pub cache_write: u64,
}

/// The fewest prompt tokens a cache entry holds (both providers: 1,024).
const CACHE_MIN_TOKENS: u64 = 1024;

impl Conversation {
    /// Prompt tokens at full price: the whole prompt less what the cache read or wrote.
    pub fn uncached_tokens(&self) -> u64 {
        tokens(self.input_chars).saturating_sub(self.cache_read + self.cache_write)
    }
}

/// The provider-specific halves of a request's handling.
pub(crate) trait Wire {
    const NAME: &'static str;
    fn check_key(headers: &HeaderMap, key: &str) -> Result<(), Response>;
    fn validate(headers: &HeaderMap, body: &Value) -> Result<Conversation, Response>;
    fn error(status: u16, message: &str, retry_after: Option<u64>) -> Response;
    fn turn_body(turn: &Turn, conv: &Conversation, model: &str) -> Value;
    fn done_body(text: &str, conv: &Conversation, model: &str) -> Value;
    /// Whether the provider caches prompt prefixes by itself (OpenAI) or only where the
    /// request puts breakpoints (Anthropic).
    const AUTOMATIC_CACHE: bool;
    /// The refusal of a prompt longer than the model's context window.
    fn too_long(prompt: u64, window: u64) -> Response;
}

/// The shared request path: key, validation, script, faults, answer.
pub(crate) async fn handle<W: Wire>(emu: Emulator, headers: HeaderMap, raw: String) -> Response {
    // Recorded on arrival (status 0 until answered), so a test can act while a slow
    // answer is still in flight.
    let index = emu.record(Received {
        provider: W::NAME,
        script: None,
        turn: None,
        status: 0,
        body: serde_json::from_str(&raw).unwrap_or(Value::String(raw.clone())),
    });
    let mut picked = (None, None);
    let outcome = respond::<W>(&emu, &headers, &raw, &mut picked).await;
    let mut inner = emu.lock();
    if let Some(r) = inner.received.get_mut(index) {
        r.status = outcome.status().as_u16();
        (r.script, r.turn) = picked;
    }
    outcome
}

async fn respond<W: Wire>(
    emu: &Emulator,
    headers: &HeaderMap,
    raw: &str,
    picked: &mut (Option<String>, Option<usize>),
) -> Response {
    if let Err(r) = W::check_key(headers, &emu.key()) {
        return r;
    }
    let body: Value = match serde_json::from_str(raw) {
        Ok(v) => v,
        Err(e) => return W::error(400, &format!("There was an error parsing the body: {e}"), None),
    };
    let conv = match W::validate(headers, &body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let window = emu.lock().context_window;
    if let Some(window) = window.filter(|w| tokens(conv.input_chars) > *w) {
        return W::too_long(tokens(conv.input_chars), window);
    }
    let mut conv = conv;
    (conv.cache_read, conv.cache_write) = emu.cache(&conv.segments, W::AUTOMATIC_CACHE);
    let model = body["model"].as_str().unwrap_or_default().to_string();
    let (script, answer) = emu.answer(&conv.first_user_text, conv.turn);
    *picked = (script, Some(conv.turn));
    match answer {
        Answer::Fault(Fault {
            status, retry_after, ..
        }) => W::error(status, fault_message(status), retry_after),
        Answer::Done => Json(W::done_body("Done.", &conv, &model)).into_response(),
        Answer::Empty(stop) => {
            let empty = Turn {
                stop: Some(stop),
                ..Turn::default()
            };
            Json(W::turn_body(&empty, &conv, &model)).into_response()
        }
        Answer::Turn(mut turn) => {
            if turn.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(turn.delay_ms)).await;
            }
            if let Some(n) = turn.error_message_bytes {
                return W::error(400, &"x".repeat(n), None);
            }
            if turn.endless {
                return flood(None);
            }
            if let Some(n) = turn.flood_bytes {
                return flood(Some(n));
            }
            if turn.echo_key {
                let text = turn.text.take().unwrap_or_default();
                turn.text = Some(format!("{text} (you sent the key {})", emu.key()));
            }
            let body = if !turn.tool_calls.is_empty() && !conv.tools_allowed {
                let summary = turn
                    .summary
                    .clone()
                    .unwrap_or_else(|| "Summary: work stopped before it was finished.".into());
                W::done_body(&summary, &conv, &model)
            } else {
                W::turn_body(&turn, &conv, &model)
            };
            if turn.truncate {
                let text = body.to_string();
                let half = text.len() / 2;
                return (
                    StatusCode::OK,
                    [("content-type", "application/json")],
                    text[..half].to_string(),
                )
                    .into_response();
            }
            Json(body).into_response()
        }
    }
}

/// A 200 answer whose text is `bytes` long (or endless), streamed in 64 KiB chunks: the
/// start of a valid answer, then padding, then (when it ends) its close.
fn flood(bytes: Option<u64>) -> Response {
    use futures::stream::{self, StreamExt};
    const CHUNK: usize = 64 * 1024;
    let head = stream::once(async {
        Ok::<_, std::io::Error>(
            r#"{"id":"msg_flood","type":"message","role":"assistant","content":[{"type":"text","text":""#
                .as_bytes()
                .to_vec(),
        )
    });
    let body = stream::unfold(bytes, |left| async move {
        let n = match left {
            Some(0) => return None,
            Some(l) => (l as usize).min(CHUNK),
            None => CHUNK,
        };
        Some((Ok(vec![b'x'; n]), left.map(|l| l - n as u64)))
    });
    let tail = stream::once(async {
        Ok(
            r#""}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}"#
                .as_bytes()
                .to_vec(),
        )
    });
    let all = head.chain(body).chain(tail);
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        axum::body::Body::from_stream(all),
    )
        .into_response()
}

fn fault_message(status: u16) -> &'static str {
    match status {
        401 => "invalid x-api-key",
        403 => "Your API key does not have permission to use the specified resource.",
        429 => "Number of request tokens has exceeded your per-minute rate limit",
        529 => "Overloaded",
        503 => "The server is overloaded or not ready yet.",
        _ => "Internal server error",
    }
}

/// Rough token counts: about four characters a token.
pub(crate) fn tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4).max(1)
}

pub(crate) fn random_id(prefix: &str) -> String {
    let n: u128 = rand::random();
    format!("{prefix}{:024x}", n & ((1u128 << 96) - 1))
}
