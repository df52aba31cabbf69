//! Scripts: what the emulated model answers. A script is a list of model turns; the turn
//! a request gets is the number of assistant messages already in its transcript, so the
//! emulator keeps no conversation state and a resumed or re-sent conversation gets the
//! same turn again. Faults fire before a turn answers, each a set number of times.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    pub name: String,
    /// Used for conversations whose first user message contains this text; a script
    /// without `match` answers every other conversation.
    #[serde(default, rename = "match")]
    pub matches: Option<String>,
    pub turns: Vec<Turn>,
    /// Past its last turn, repeat it (a model that would go on forever) instead of ending.
    #[serde(default)]
    pub repeat_last: bool,
    /// The answer when a request forbids tools but the turn would call one.
    #[serde(default)]
    pub summary: Option<String>,
    /// Answer turns in the order requests arrive, not by the number of assistant
    /// messages in the transcript: a model whose transcript is compacted (fewer
    /// messages, same conversation) still moves on.
    #[serde(default)]
    pub sequential: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub tool_calls: Vec<Call>,
    /// The stop reason (Anthropic names; mapped for OpenAI). Default: `tool_use` when
    /// the turn calls tools, else `end_turn`.
    #[serde(default)]
    pub stop: Option<String>,
    #[serde(default)]
    pub usage: Option<Usage>,
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Wait this long before answering (a slow model).
    #[serde(default)]
    pub delay_ms: u64,
    /// Send only the first half of the answer's body (a connection cut mid-answer).
    #[serde(default)]
    pub truncate: bool,
    /// Before this turn answers, answer it once with no content at all and this stop
    /// reason (Anthropic returns an empty message at times, e.g. after tool results).
    #[serde(default)]
    pub empty_first: Option<String>,
    /// A hostile or broken server: answer 200 with a text of this many bytes, streamed
    /// (the emulator holds none of it in memory).
    #[serde(default)]
    pub flood_bytes: Option<u64>,
    /// A hostile or broken server: answer 200 and stream text that never ends.
    #[serde(default)]
    pub endless: bool,
    /// A provider that echoes what it was sent: the answer's text includes the API key.
    #[serde(default)]
    pub echo_key: bool,
    /// Answer this error message (with `status`, default 400) instead of a turn: e.g. a
    /// provider error of megabytes.
    #[serde(default)]
    pub error_message_bytes: Option<usize>,
    /// The script's summary, filled in when the turn is picked.
    #[serde(skip)]
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    pub name: String,
    #[serde(default = "empty_object")]
    pub input: Value,
    /// Arguments sent verbatim (OpenAI's string form), e.g. JSON that does not parse.
    #[serde(default)]
    pub raw_arguments: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// An error answer: 429 (with `retry_after` seconds), 529, 500, 401...
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub status: u16,
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// How many requests get this fault before the next fault (or the turn) answers.
    #[serde(default = "one")]
    pub times: usize,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

fn one() -> usize {
    1
}

/// What the emulator decided to answer to one request.
pub enum Answer {
    Fault(Fault),
    /// An assistant message with no content, stopping for this reason.
    Empty(String),
    Turn(Turn),
    /// Past the end of a script that does not repeat: the model is done.
    Done,
}

impl Script {
    pub fn turn(&self, index: usize) -> Option<&Turn> {
        match self.turns.get(index) {
            Some(t) => Some(t),
            None if self.repeat_last => self.turns.last(),
            None => None,
        }
    }
}
