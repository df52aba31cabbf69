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
    let mut cards = Vec::new();
    for a in &approvals {
        cards.push(tryp!(card(&shared, a).await));
    }
    let body = html! {
        h1 { "Agent" }
        @if let Some(msg) = super::notice::of(&q, "done") { p.notice { (msg) } }
        @if o.agent.is_none() {
            p { "Agent sessions are off: set " code { "[agent] provider" } ", " code { "model" } " and a key in jada.toml." }
        }
        h2 { "Waiting for approval (" (approvals.len()) ")" }
        @if approvals.is_empty() { p { "Nothing waits for a decision." } }
        @for (a, c) in approvals.iter().zip(&cards) {
            section.approval id=(format!("approval-{}", a.id)) {
                h3 { "Approval " (a.id) ": " (c.what) }
                p {
                    "Session " a href=(format!("/office/agent/sessions/{}", a.session_id)) { (a.session_id) }
                    " asked " (shared.local(a.requested_at)) "; expires " (shared.local(a.expires_at)) "."
                }
                (c.details)
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
            table.cards #sessions {
                thead { tr { th { "#" } th { "Playbook" } th { "Started" } th { "Outcome" } th.count { "Turns" } th.count { "Tokens in/out" } th.money { "Cost" } th { "Note" } } }
                tbody {
                    @for s in &sessions {
                        tr class=(if s.outcome.is_some_and(|o| o != Outcome::Completed) { "bad" } else { "" }) {
                            td data-label="#" { a href=(format!("/office/agent/sessions/{}", s.id)) { (s.id) } }
                            td.key data-label="Playbook" { (s.playbook) }
                            td data-label="Started" { (shared.local(s.started_at)) }
                            td data-label="Outcome" { (Outcome::label(s.outcome)) }
                            td.count data-label="Turns" { (s.turns) "/" (s.max_turns) }
                            td.count data-label="Tokens in/out" { (s.input_tokens) " / " (s.output_tokens) }
                            td.money data-label="Cost" { (format!("${:.4}", s.cost_usd())) }
                            td.text data-label="Note" { (truncate(s.error.as_deref().or(s.handoff.as_deref()).unwrap_or(""), 120)) }
                        }
                    }
                }
            }
        }
    };
    layout("Agent", Some(&who), body)
}

/// What a person needs to decide an approval: what it would do, in words, and the
/// details (a charter's date, time, vessel and guest and the crew member's name; a mail
/// as text, with a warning on every recipient jada does not know).
struct Card {
    what: String,
    details: maud::Markup,
}

async fn card(shared: &OfficeState, a: &jada_core::agent::Approval) -> Result<Card, StoreError> {
    let arg = |k: &str| a.arguments[k].as_str().unwrap_or_default().to_string();
    // The one line of what it would do, as an MCP caller is told it too.
    let what = jada_ops::agent::would(shared.store.as_ref(), &a.tool, &a.arguments).await?;
    match a.tool.as_str() {
        "assign_captain" => {
            let charter = match jada_core::CharterId::parse(&arg("charter_id")) {
                Ok(id) => shared.store.get_charter(id).await?,
                Err(_) => None,
            };
            let crew = match jada_core::CrewId::parse(&arg("crew_id")) {
                Ok(id) => shared.store.get_crew(&id).await?,
                Err(_) => None,
            };
            let who = crew.as_ref().map_or_else(
                || format!("crew id {} (not on the roster)", arg("crew_id")),
                |m| m.name.clone(),
            );
            let details = html! {
                dl.card {
                    @if let Some(c) = &charter {
                        dt { "Charter" }
                        dd { a href=(format!("/office/charters/{}", c.charter_id)) { (c.charter_date) " " (c.start_time.format("%H:%M")) "–" (c.end_time.format("%H:%M")) " · " (c.vessel_name) " · " (c.guest_name) " (" (c.guest_count) " guests)" } }
                        dt { "Captain now" } dd { (c.captain_assigned.as_ref().map_or("none", |x| x.as_str())) }
                    } @else {
                        dt { "Charter" } dd.warn { (arg("charter_id")) ": no such charter" }
                    }
                    dt { "New captain" } dd { (who) }
                }
            };
            Ok(Card { what, details })
        }
        "draft_reply" => {
            let list = |k: &str| -> Vec<String> {
                a.arguments[k]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            };
            let known = known_addresses(shared, a.session_id).await?;
            let recipients: Vec<(String, bool)> = list("to")
                .into_iter()
                .chain(list("cc"))
                .map(|r| {
                    let ok = known.contains(&r.to_ascii_lowercase());
                    (r, ok)
                })
                .collect();
            let details = html! {
                dl.card {
                    dt { "To" }
                    dd {
                        @for (r, ok) in &recipients {
                            span class=(if *ok { "recipient" } else { "recipient warn" }) { (r) }
                            @if !*ok { " " strong.warn { "⚠ not a crew member, office user or sender of mail this session read: check it" } }
                            br;
                        }
                    }
                    dt { "Subject" } dd { (arg("subject")) }
                }
                pre.mailbody { (arg("body")) }
            };
            Ok(Card { what, details })
        }
        _ => Ok(Card {
            what,
            details: html! { pre.args { (serde_json::to_string_pretty(&a.arguments).unwrap_or_default()) } },
        }),
    }
}

/// Addresses a mail may go to without a warning: the crew's, the office users', the
/// sender's, and those in what the session itself read (the mail it answers).
async fn known_addresses(shared: &OfficeState, session: u64) -> Result<std::collections::HashSet<String>, StoreError> {
    let o = office(shared);
    let mut known: std::collections::HashSet<String> = shared
        .store
        .list_crew()
        .await?
        .into_iter()
        .map(|m| m.email.as_str().to_string())
        .chain(o.users.get().iter().map(|u| u.to_ascii_lowercase()))
        .collect();
    let read: String = shared
        .store
        .session_messages(session)
        .await?
        .iter()
        .filter(|m| m.role == Role::User)
        .flat_map(|m| &m.content)
        .map(|b| match b {
            Block::Text { text } => text.clone(),
            Block::ToolResult { content, .. } => content.clone(),
            Block::ToolUse { .. } => String::new(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    for word in read.split(|c: char| c.is_whitespace() || "<>\",;:()[]{}'".contains(c)) {
        if let Ok(e) = jada_core::Email::parse_strict(word.trim_matches('.')) {
            known.insert(e.as_str().to_string());
        }
    }
    Ok(known)
}

/// What agent work waits for a person, for the Today page: approvals to decide, and
/// sessions that stopped at their turn limit with their follow-up tasks (what, link,
/// link text).
pub async fn waiting_for_a_person(shared: &OfficeState) -> Result<Vec<(String, String, String)>, StoreError> {
    let now = shared.clock.now();
    let mut out = Vec::new();
    for a in shared.store.list_approvals(&[ApprovalState::Pending], 100).await? {
        if a.state_at(now) != ApprovalState::Pending {
            continue;
        }
        let c = card(shared, &a).await?;
        out.push((
            format!(
                "Approval {}: {} (session {} waits, expires {}).",
                a.id,
                c.what,
                a.session_id,
                shared.local(a.expires_at)
            ),
            format!("/office/agent#approval-{}", a.id),
            "Decide".to_string(),
        ));
    }
    let open = shared
        .store
        .list_tasks(
            &[
                jada_core::TaskStatus::Open,
                jada_core::TaskStatus::InProgress,
                jada_core::TaskStatus::Waiting,
            ],
            500,
        )
        .await?;
    for s in shared.store.list_agent_sessions(50).await? {
        if s.outcome != Some(Outcome::TurnLimit) {
            continue;
        }
        let Some(task) = open
            .iter()
            .find(|t| t.source_ref.as_deref() == Some(format!("session {}", s.id).as_str()))
        else {
            continue; // its follow-up is done: nothing waits
        };
        out.push((
            format!(
                "Session {} ({}) stopped at its turn limit; task {} is to carry it on: {}",
                s.id,
                s.playbook,
                task.id,
                truncate(s.handoff.as_deref().unwrap_or(""), 160)
            ),
            format!("/office/agent/sessions/{}", s.id),
            "Open session".to_string(),
        ));
    }
    Ok(out)
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
    let session = decided.session_id;
    let state = decided.state.as_str();
    if let Some(direct) = &shared.direct {
        if tryp!(direct.owns(&decided).await) {
            return back(&direct_outcome(direct, &decided).await);
        }
    }
    let o = office(&shared);
    let msg = match &o.agent {
        Some(desk) => {
            let playbook = tryp!(shared.store.get_agent_session(session).await).map(|s| s.playbook);
            match playbook.as_deref().and_then(|p| desk.cannot_carry_on(session, p)) {
                Some(why) => {
                    // Said here, and alerted: the agent job fails on the same session
                    // with the same words until a person acts.
                    let runner = shared.runner.clone();
                    shared.tasks.spawn(async move {
                        let _ = runner.run("agent", jada_store::Trigger::Manual).await;
                    });
                    format!("approval {id} {state}; {why}")
                }
                None => {
                    let desk = desk.clone();
                    let agent = desk.agent.with_cancel(shared.runner.shutdown.child_token());
                    // The session may take minutes of model turns: it carries on in the
                    // daemon's tracked work (a shutdown ends it `cancelled`, resumable).
                    shared.tasks.spawn(async move {
                        let pb_of = |name: &str| desk.playbook(name);
                        if let Err(e) = agent.continue_waiting(&pb_of, session).await {
                            tracing::error!(session, error = %e, "cannot carry on an agent session after a decision");
                        }
                    });
                    format!("approval {id} {state}; session {session} carries on now (its page shows how it ends)")
                }
            }
        }
        None => format!(
            "approval {id} {state}; agent sessions are off in this daemon, so session {session} carries on when `jada agent resume {session}` runs where [agent] is configured"
        ),
    };
    back(&msg)
}

/// Carries out an MCP caller's approved call at the decision, and says how it went.
pub(crate) async fn direct_outcome(direct: &jada_ops::agent::Direct, decided: &jada_core::agent::Approval) -> String {
    let (id, tool, state) = (decided.id, &decided.tool, decided.state.as_str());
    match direct.carry_out(decided).await {
        Ok(Some(out)) if out.is_error => format!(
            "approval {id} {state}; the MCP client's {tool} ran and failed: {}",
            truncate(&out.content, 300)
        ),
        Ok(Some(_)) => format!(
            "approval {id} {state}; the MCP client's {tool} ran once; its result waits for the client's get_approval"
        ),
        Ok(None) => format!("approval {id} {state}; the MCP client is told so when it asks (get_approval)"),
        Err(e) => {
            tracing::error!(approval = id, error = %e, "cannot carry out an approved MCP call");
            format!("approval {id} {state}; the call could not run yet ({e}): it runs when the MCP client asks with get_approval")
        }
    }
}

fn back(msg: &str) -> Response {
    super::actions::back("/office/agent", "done", msg)
}
