//! The office's agent pages: sessions (outcome, turns, tokens, cost) with approvals
//! waiting on top, one session's transcript, and the Approve / Deny buttons — the same
//! decision as `jada agent approve|deny`, after which the session carries on in the
//! background.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jada_core::agent::{ApprovalState, Block, Outcome, Role};
use jada_core::text::truncate;
use jada_store::StoreError;
use maud::html;

use super::auth::{Checked, SignedIn};
use super::pages::{tryp, unavailable};
use super::{button, csrf_field, layout, office, OfficeState};

/// `GET /office/agent`: approvals waiting, then the latest sessions.
pub async fn sessions(
    State(shared): State<Arc<OfficeState>>,
    who: SignedIn,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let o = office(&shared);
    let now = shared.clock.now();
    let approvals = tryp!(shared.store.list_approvals(&[ApprovalState::Pending], 100).await);
    let approvals: Vec<_> = approvals
        .into_iter()
        .filter(|a| a.state_at(now) == ApprovalState::Pending)
        .collect();
    let sessions = tryp!(shared.store.list_agent_sessions(100).await);
    let body = html! {
        h1 { "Agent" }
        @if let Some(msg) = q.get("done") { p.notice { (msg) } }
        @if o.agent.is_none() {
            p { "Agent sessions are off: set " code { "[agent] provider" } ", " code { "model" } " and a key in jada.toml." }
        }
        h2 { "Waiting for approval (" (approvals.len()) ")" }
        @if approvals.is_empty() { p { "Nothing waits for a decision." } }
        @for a in &approvals {
            section.approval id=(format!("approval-{}", a.id)) {
                h3 { "Approval " (a.id) ": " (a.tool) }
                p {
                    "Session " a href=(format!("/office/agent/sessions/{}", a.session_id)) { (a.session_id) }
                    " asked " (shared.local(a.requested_at)) "; expires " (shared.local(a.expires_at)) "."
                }
                pre.args { (serde_json::to_string_pretty(&a.arguments).unwrap_or_default()) }
                (button(&who, &format!("/office/agent/approvals/{}/approve", a.id), "Approve and run once", ""))
                form.inline method="post" action=(format!("/office/agent/approvals/{}/deny", a.id)) {
                    (csrf_field(&who))
                    label { "Reason " input type="text" name="reason" required maxlength="500"; }
                    button.danger type="submit" { "Deny" }
                }
            }
        }
        h2 { "Sessions" }
        div.scroll {
            table #sessions {
                thead { tr { th { "#" } th { "Playbook" } th { "Started" } th { "Outcome" } th { "Turns" } th { "Tokens in/out" } th { "Cost" } th { "Note" } } }
                tbody {
                    @for s in &sessions {
                        tr class=(if s.outcome.is_some_and(|o| o != Outcome::Completed) { "bad" } else { "" }) {
                            td { a href=(format!("/office/agent/sessions/{}", s.id)) { (s.id) } }
                            td { (s.playbook) }
                            td { (shared.local(s.started_at)) }
                            td { (Outcome::label(s.outcome)) }
                            td { (s.turns) "/" (s.max_turns) }
                            td { (s.input_tokens) " / " (s.output_tokens) }
                            td { (format!("${:.4}", s.cost_usd())) }
                            td { (truncate(s.error.as_deref().or(s.handoff.as_deref()).unwrap_or(""), 120)) }
                        }
                    }
                }
            }
        }
    };
    layout("Agent", Some(&who), body)
}

/// `GET /office/agent/sessions/{id}`: the transcript, tool calls and results.
pub async fn session(State(shared): State<Arc<OfficeState>>, who: SignedIn, Path(id): Path<u64>) -> Response {
    let Some(s) = tryp!(shared.store.get_agent_session(id).await) else {
        return (
            StatusCode::NOT_FOUND,
            layout("Not found", Some(&who), html! { h1 { "No session " (id) } }),
        )
            .into_response();
    };
    let messages = tryp!(shared.store.session_messages(id).await);
    let body = html! {
        h1 { "Session " (s.id) ": " (s.playbook) }
        p {
            strong { (Outcome::label(s.outcome)) } " after " (s.turns) " of " (s.max_turns) " turns · "
            (s.input_tokens) " input / " (s.output_tokens) " output tokens · " (format!("${:.4}", s.cost_usd()))
            " · started " (shared.local(s.started_at))
        }
        @if let Some(e) = &s.error { p.error { (e) } }
        @if let Some(h) = &s.handoff { h2 { "Handoff note" } pre.note { (h) } p { "Carry it on with " code { "jada agent resume " (s.id) } "." } }
        h2 { "Transcript" }
        @let mut turn = 0;
        @for m in &messages {
            @let who_said = match m.role { Role::User => "user".to_string(), Role::Assistant => { turn += 1; format!("assistant, turn {turn}") } };
            section.message {
                h3 { (who_said) }
                @for b in &m.content {
                    @match b {
                        Block::Text { text } => { pre.text { (text) } }
                        Block::ToolUse { name, input, .. } => { p.tool { "→ " code { (name) } } pre.args { (truncate(&input.to_string(), 2000)) } }
                        Block::ToolResult { content, is_error, .. } => {
                            p.tool { (if *is_error { "← error" } else { "← result" }) }
                            pre.result class=(if *is_error { "error" } else { "" }) { (truncate(content, 2000)) }
                        }
                    }
                }
            }
        }
    };
    layout(&format!("Session {id}"), Some(&who), body)
}

/// `POST /office/agent/approvals/{id}/approve` and `.../deny` (with `reason`).
pub async fn decide(
    State(shared): State<Arc<OfficeState>>,
    Path((id, verb)): Path<(u64, String)>,
    Checked { who, form }: Checked,
) -> Response {
    let approve = match verb.as_str() {
        "approve" => true,
        "deny" => false,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let reason = form.get("reason").map(|r| r.trim()).filter(|r| !r.is_empty());
    if !approve && reason.is_none() {
        return back("a denial needs a reason: the model reads it");
    }
    let now = shared.clock.now();
    let decided = match shared.store.decide_approval(id, approve, reason, &who.email, now).await {
        Ok(a) => a,
        Err(e @ (StoreError::NoSuchRecord { .. } | StoreError::NotAllowed { .. })) => return back(&e.to_string()),
        Err(e) => return unavailable(e),
    };
    let o = office(&shared);
    let msg = match &o.agent {
        Some((agent, playbooks)) => {
            let (agent, playbooks) = (agent.clone(), playbooks.clone());
            let session = decided.session_id;
            // The session may take minutes of model turns: it carries on in the background
            // (a daemon stopping meanwhile leaves it abandoned and resumable, never lost).
            tokio::spawn(async move {
                let pb_of = |name: &str| playbooks.iter().find(|p| p.name == name).cloned();
                if let Err(e) = agent.continue_waiting(&pb_of, session).await {
                    tracing::error!(session, error = %e, "cannot carry on an agent session after a decision");
                }
            });
            format!("approval {id} {}; session {session} carries on", decided.state.as_str())
        }
        None => format!(
            "approval {id} {}; agent sessions are off here, so session {} carries on when `jada agent resume {}` runs",
            decided.state.as_str(),
            decided.session_id,
            decided.session_id
        ),
    };
    back(&msg)
}

fn back(msg: &str) -> Response {
    super::actions::back("/office/agent", "done", msg)
}
