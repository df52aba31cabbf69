//! The context a request carries, and compaction: a session near its playbook's
//! `max_context_tokens` asks the model for a summary in the handoff note's shape and goes
//! on from instructions + input + that summary. The stored transcript keeps everything
//! (the compaction is three messages in it: the request for a summary, the summary, the
//! note that work goes on from it); only what is *sent* starts again from the summary.

use jada_core::agent::{Block, Message, Role, Session, Usage};
use jada_llm::{LlmError, Request};
use jada_store::TurnCost;

use super::turns::Stop;
use super::{Agent, Playbook};

/// What the model is asked when the transcript must be compacted (also the marker the
/// request's context starts again from).
pub const COMPACT_PROMPT: &str = "This conversation is getting too long to continue as it is. Do not call any tools. \
Write a summary for yourself to continue from: what the task is, what you have done (with the ids and figures you \
will need), what remains to do, and anything a person should check first.";

/// What follows the summary, so the model carries on.
pub const AFTER_COMPACT: &str = "The conversation before your summary was set aside to stay within the context \
limit; your summary above is what you have of it. Carry on from it; tools are available again.";

/// Compact when the next request would reach this share of `max_context_tokens`.
const COMPACT_AT: f64 = 0.8;

/// The messages a request sends: the whole transcript, or — after a compaction — the
/// input, the latest summary and what came after it.
pub fn request_messages(transcript: &[Message]) -> Vec<Message> {
    let compacted = transcript
        .iter()
        .rposition(|m| m.role == Role::User && m.text() == COMPACT_PROMPT)
        .filter(|k| transcript.get(k + 1).is_some_and(|m| m.role == Role::Assistant));
    match compacted {
        Some(k) => std::iter::once(&transcript[0])
            .chain(&transcript[k + 1..])
            .cloned()
            .collect(),
        None => transcript.to_vec(),
    }
}

/// About how many tokens `messages` and `system` take (four characters a token, the
/// providers' own rule of thumb), for deciding before a request is sent.
pub fn estimate(system: &str, messages: &[Message]) -> u64 {
    let chars: usize = system.len()
        + messages
            .iter()
            .flat_map(|m| &m.content)
            .map(|b| match b {
                Block::Text { text } => text.len(),
                Block::ToolUse { name, input, .. } => name.len() + input.to_string().len(),
                Block::ToolResult { content, .. } => content.len(),
            })
            .sum::<usize>();
    (chars as u64).div_ceil(4)
}

/// What the loop knows of the context's size: the provider's count for the last request
/// and its answer, and how many messages the transcript had then.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measure {
    counted: Option<(u64, usize)>,
}

impl Measure {
    /// Records the provider's count after a reply (the transcript now has `len` messages).
    pub fn counted(&mut self, usage: Usage, len: usize) {
        self.counted = Some((usage.prompt_tokens() + usage.output_tokens, len));
    }

    /// Forgets the count (the context changed shape: a compaction).
    pub fn reset(&mut self) {
        self.counted = None;
    }

    /// The next request's size: the provider's last count plus an estimate of what was
    /// added since, or an estimate of the whole when there is no count yet.
    pub fn next(&self, system: &str, transcript: &[Message]) -> u64 {
        match self.counted {
            Some((tokens, len)) if len <= transcript.len() => tokens + estimate("", &transcript[len..]),
            _ => estimate(system, &request_messages(transcript)),
        }
    }

    /// Whether the next request should compact first.
    pub fn near(&self, pb: &Playbook, system: &str, transcript: &[Message]) -> bool {
        self.next(system, transcript) as f64 >= pb.max_context_tokens as f64 * COMPACT_AT
    }
}

/// The context cut to fit `budget` tokens: the input stays; the oldest messages after it
/// go first (a tool result left without its call is dropped by the sanitiser).
fn fit(mut messages: Vec<Message>, system: &str, budget: u64) -> Vec<Message> {
    while messages.len() > 2 && estimate(system, &messages) > budget {
        messages.remove(1);
    }
    messages
}

impl Agent {
    /// Compacts the session's transcript: one request (tools forbidden) for a summary,
    /// then the compaction's three messages committed as one turn, counted.
    /// `refused` says the provider refused the last request as too long: the summary is
    /// then asked of at most half of it (the window is smaller than the bound thought).
    pub(super) async fn compact(
        &self,
        pb: &Playbook,
        session: &Session,
        transcript: &mut Vec<Message>,
        request: &Request,
        refused: bool,
    ) -> Result<Result<Session, LlmError>, Stop> {
        let id = session.id;
        let mut budget = (pb.max_context_tokens as f64 * 0.9) as u64;
        if refused {
            budget = budget.min(estimate(&request.system, &request.messages) / 2);
        }
        let mut messages = fit(request_messages(transcript), &request.system, budget);
        messages.push(Message::user_text(COMPACT_PROMPT));
        let ask = Request {
            messages,
            allow_tools: false,
            ..request.clone()
        };
        let on_retry = |attempt: u32, e: &LlmError| {
            tracing::warn!(session = id, attempt, error = %e, "compaction request failed; retrying");
        };
        let reply = match self.alive(id, self.llm.complete(&ask, &on_retry)).await? {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let summary = match reply.message.text() {
            t if t.trim().is_empty() => {
                "(the model wrote no summary; the work so far is in the stored transcript)".into()
            }
            t => t,
        };
        let new = vec![
            Message::user_text(COMPACT_PROMPT),
            Message {
                role: Role::Assistant,
                content: vec![Block::Text { text: summary }],
            },
            Message::user_text(AFTER_COMPACT),
        ];
        let turn = TurnCost {
            usage: reply.usage,
            cost_micro_usd: self.price.map_or(0, |p| p.cost_micro_usd(reply.usage)),
            day: self.business.zone.date_of(self.now()),
            compaction: true,
        };
        let session = self
            .store
            .append_messages(id, &self.owner, &new, Some(turn), self.now())
            .await?;
        tracing::info!(
            session = id,
            compactions = session.compactions,
            "agent session compacted its transcript"
        );
        transcript.extend(new);
        Ok(Ok(session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compacted_transcript_is_sent_from_the_input_and_the_summary() {
        let t = vec![
            Message::user_text("the mail"),
            Message::user_text("old"),
            Message::user_text(COMPACT_PROMPT),
            Message {
                role: Role::Assistant,
                content: vec![Block::Text { text: "summary".into() }],
            },
            Message::user_text(AFTER_COMPACT),
        ];
        let sent = request_messages(&t);
        assert_eq!(sent.len(), 3);
        assert_eq!(sent[0].text(), "the mail");
        assert_eq!(sent[1].text(), "summary");
        assert_eq!(request_messages(&t[..2]).len(), 2, "not compacted: sent whole");
    }

    #[test]
    fn fitting_keeps_the_input_and_drops_the_oldest() {
        let big = "x".repeat(4_000);
        let t: Vec<Message> = ["input", &big, &big, "newest"]
            .iter()
            .map(|s| Message::user_text(*s))
            .collect();
        let fitted = fit(t, "", 1_100);
        assert_eq!(fitted.len(), 3);
        assert_eq!(
            (fitted[0].text().as_str(), fitted[2].text().as_str()),
            ("input", "newest")
        );
    }
}
