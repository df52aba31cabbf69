//! The one sanitiser every request passes through, so a stored transcript can never make
//! the provider refuse the session for good. Both APIs refuse, with a 400 that no retry
//! or resume gets past:
//!
//! - an empty message, or an empty text block ("all messages must have non-empty content
//!   except for the optional final assistant message"; "text content blocks must be
//!   non-empty") — Anthropic returns an empty assistant message at times after tool
//!   results, and a stored one poisoned every later request;
//! - a tool use not answered by a result in the very next message, or a result that
//!   answers no tool use just before it;
//! - a conversation that does not start with the user.
//!
//! (Both accept two messages of one role in a row, so nothing is merged.)
//!
//! The stored transcript is never changed: this shapes only what is sent. Cut-off tool
//! calls are answered with an error by the agent loop before they get here; a call that
//! still has no result is answered "not run" here, never run.

use std::collections::HashSet;

use jada_core::agent::{Block, Message, Role};

/// What an unanswered tool use is told.
pub const NOT_RUN: &str = "no result was recorded for this call: it was not run";

/// `messages` as the providers accept them: no empty message or block, every tool use
/// answered exactly once in the next message (results first), the user first. Two user
/// messages that meet once an empty assistant message is gone are both sent: both APIs
/// take consecutive messages of one role (Anthropic combines them into one turn).
pub fn sanitise(messages: &[Message]) -> std::borrow::Cow<'_, [Message]> {
    if is_sound(messages) {
        return std::borrow::Cow::Borrowed(messages);
    }
    std::borrow::Cow::Owned(repair(messages))
}

/// Whether `messages` need no repair (the usual case: nothing is copied then).
fn is_sound(messages: &[Message]) -> bool {
    let no_empties = messages.iter().all(|m| {
        !m.content.is_empty()
            && !m
                .content
                .iter()
                .any(|b| matches!(b, Block::Text { text } if text.trim().is_empty()))
    });
    let user_first = messages.first().is_some_and(|m| m.role == Role::User);
    no_empties && user_first && paired(messages)
}

/// Whether every tool use is answered once, first thing in the next message, and every
/// result answers a use just before it.
fn paired(messages: &[Message]) -> bool {
    let is_result = |b: &Block| matches!(b, Block::ToolResult { .. });
    fn result_id(b: &Block) -> Option<&str> {
        match b {
            Block::ToolResult { tool_use_id, .. } => Some(tool_use_id.as_str()),
            _ => None,
        }
    }
    for (i, m) in messages.iter().enumerate() {
        let uses: Vec<&str> = m.tool_uses().map(|(id, _, _)| id).collect();
        let answers_previous =
            i > 0 && messages[i - 1].role == Role::Assistant && messages[i - 1].tool_uses().next().is_some();
        if m.role == Role::User && !answers_previous && m.content.iter().any(is_result) {
            return false;
        }
        if m.role != Role::Assistant || uses.is_empty() {
            continue;
        }
        let Some(next) = messages.get(i + 1).filter(|n| n.role == Role::User) else {
            return false;
        };
        let results: Vec<&str> = next
            .content
            .iter()
            .take_while(|b| is_result(b))
            .filter_map(result_id)
            .collect();
        let mut distinct = results.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let exact =
            distinct.len() == results.len() && results.len() == uses.len() && uses.iter().all(|u| results.contains(u));
        if !exact || next.content.iter().skip(results.len()).any(is_result) {
            return false;
        }
    }
    true
}

fn repair(messages: &[Message]) -> Vec<Message> {
    let kept: Vec<Message> = messages.iter().filter_map(non_empty).collect();
    let mut out = pair_tool_calls(kept);
    if out.first().is_none_or(|m| m.role != Role::User) {
        out.insert(0, Message::user_text("(The conversation so far follows.)"));
    }
    out
}

/// The message without empty text blocks, or nothing when no block is left.
fn non_empty(m: &Message) -> Option<Message> {
    let content: Vec<Block> = m
        .content
        .iter()
        .filter(|b| !matches!(b, Block::Text { text } if text.trim().is_empty()))
        .cloned()
        .collect();
    (!content.is_empty()).then_some(Message { role: m.role, content })
}

/// Every assistant tool use answered once in the next message, with results first;
/// results that answer nothing just before them dropped.
fn pair_tool_calls(messages: Vec<Message>) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::with_capacity(messages.len());
    let mut open: Vec<String> = Vec::new();
    for m in messages {
        if m.role == Role::Assistant {
            if !open.is_empty() {
                out.push(results_message(std::mem::take(&mut open), Vec::new(), Vec::new()));
            }
            open = m.tool_uses().map(|(id, _, _)| id.to_string()).collect();
            out.push(m);
            continue;
        }
        let mut results = Vec::new();
        let mut other = Vec::new();
        let mut answered = HashSet::new();
        for b in m.content {
            match b {
                Block::ToolResult { ref tool_use_id, .. } => {
                    if open.contains(tool_use_id) && answered.insert(tool_use_id.clone()) {
                        results.push(b);
                    }
                }
                b => other.push(b),
            }
        }
        let missing: Vec<String> = open.drain(..).filter(|id| !answered.contains(id)).collect();
        let msg = results_message(missing, results, other);
        if !msg.content.is_empty() {
            out.push(msg);
        }
    }
    if !open.is_empty() {
        out.push(results_message(open, Vec::new(), Vec::new()));
    }
    out
}

/// A user message: the given results, "not run" for each `missing` id, then `other`.
fn results_message(missing: Vec<String>, mut results: Vec<Block>, other: Vec<Block>) -> Message {
    results.extend(missing.into_iter().map(|tool_use_id| Block::ToolResult {
        tool_use_id,
        content: NOT_RUN.into(),
        is_error: true,
    }));
    results.extend(other);
    Message {
        role: Role::User,
        content: results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn assistant(blocks: Vec<Block>) -> Message {
        Message {
            role: Role::Assistant,
            content: blocks,
        }
    }

    fn tool_use(id: &str) -> Block {
        Block::ToolUse {
            id: id.into(),
            name: "list_tasks".into(),
            input: json!({}),
        }
    }

    fn result(id: &str) -> Block {
        Block::ToolResult {
            tool_use_id: id.into(),
            content: "[]".into(),
            is_error: false,
        }
    }

    fn user(blocks: Vec<Block>) -> Message {
        Message {
            role: Role::User,
            content: blocks,
        }
    }

    #[test]
    fn an_empty_assistant_message_is_dropped() {
        let t = vec![
            Message::user_text("mail"),
            assistant(vec![tool_use("a")]),
            user(vec![result("a")]),
            assistant(vec![]),
            Message::user_text("go on"),
        ];
        let s = sanitise(&t);
        assert_eq!(s.len(), 4, "{s:?}");
        assert_eq!((s[2].role, s[3].role), (Role::User, Role::User));
        assert_eq!(s[3], Message::user_text("go on"));
    }

    #[test]
    fn blank_text_blocks_go_and_a_text_only_blank_message_with_them() {
        let t = vec![
            Message::user_text("mail"),
            assistant(vec![Block::Text { text: "  ".into() }, tool_use("a")]),
            user(vec![result("a")]),
            assistant(vec![Block::Text { text: "".into() }]),
        ];
        let s = sanitise(&t);
        assert_eq!(s.len(), 3);
        assert_eq!(s[1].content, vec![tool_use("a")]);
    }

    #[test]
    fn every_tool_use_is_answered_once_and_strays_are_dropped() {
        let t = vec![
            Message::user_text("mail"),
            assistant(vec![tool_use("a"), tool_use("b")]),
            user(vec![
                Message::user_text("x").content[0].clone(),
                result("a"),
                result("a"),
                result("zzz"),
            ]),
            assistant(vec![tool_use("c")]),
        ];
        let s = sanitise(&t);
        let ids: Vec<(&str, bool)> = s[2]
            .content
            .iter()
            .filter_map(|b| match b {
                Block::ToolResult {
                    tool_use_id, is_error, ..
                } => Some((tool_use_id.as_str(), *is_error)),
                _ => None,
            })
            .collect();
        assert_eq!(ids, [("a", false), ("b", true)], "a once, b answered 'not run'");
        assert!(
            matches!(s[2].content[2], Block::Text { .. }),
            "results first, then text"
        );
        assert_eq!(s.len(), 5, "the last call is answered too");
        assert!(
            matches!(&s[4].content[0], Block::ToolResult { tool_use_id, content, .. } if tool_use_id == "c" && content == NOT_RUN)
        );
    }

    #[test]
    fn the_conversation_starts_with_the_user() {
        let alone = [assistant(vec![Block::Text { text: "hi".into() }])];
        let s = sanitise(&alone);
        assert_eq!(s[0].role, Role::User);
        let s = sanitise(&[]);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn a_sound_transcript_is_sent_as_it_is() {
        let t = vec![
            Message::user_text("mail"),
            assistant(vec![
                Block::Text {
                    text: "Looking.".into(),
                },
                tool_use("a"),
            ]),
            user(vec![result("a")]),
            assistant(vec![Block::Text { text: "Done.".into() }]),
        ];
        assert!(matches!(sanitise(&t), std::borrow::Cow::Borrowed(_)), "nothing copied");
    }
}
