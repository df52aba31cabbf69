//! The operator's agent endpoints, behind the admin token: decide an approval and carry
//! its session on, or resume a session — with the daemon's own agent. The CLI's `jada
//! agent approve|deny|resume` use them when the agent is configured only in the daemon
//! (as `jada serve --demo` does with its in-process model).
//!
//! - `POST /api/agent/approvals/{id}/approve` `{"by"?}`
//! - `POST /api/agent/approvals/{id}/deny` `{"reason", "by"?}`
//! - `POST /api/agent/sessions/{id}/resume` `{"turns"?}`
//!
//! Answers: 200 `{"approval"?, "session"}` (the session as `jada agent run --json` shows
//! it), 404 no such approval or session, 409 decided already or not resumable, 503 agent
//! sessions are off in this daemon.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use jada_ops::agent::AgentError;
use jada_store::StoreError;
use serde::Deserialize;
use serde_json::json;

use crate::http::{error, Admin, OpsState};
use crate::jobs::agent::AgentDesk;

pub fn routes() -> Router<Arc<OpsState>> {
    Router::new()
        .route("/api/agent/approvals/{id}/{verb}", post(decide))
        .route("/api/agent/sessions/{id}/resume", post(resume))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Decision {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    by: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Resume {
    #[serde(default)]
    turns: Option<u32>,
}

/// The daemon's agent, or the 503 that says it has none.
fn desk(shared: &OpsState) -> Result<AgentDesk, Box<Response>> {
    shared.agent.clone().ok_or_else(|| {
        Box::new(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "agent_off",
            "agent sessions are off in this daemon: set [agent] provider, model and a key in its jada.toml",
        ))
    })
}

async fn decide(
    State(shared): State<Arc<OpsState>>,
    _admin: Admin,
    Path((id, verb)): Path<(u64, String)>,
    body: Option<Json<Decision>>,
) -> Response {
    let approve = match verb.as_str() {
        "approve" => true,
        "deny" => false,
        _ => return error(StatusCode::NOT_FOUND, "not_found", "use .../approve or .../deny"),
    };
    let Json(d) = body.unwrap_or_default();
    let reason = d.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if !approve && reason.is_none() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason",
            "a denial needs a reason: the model reads it",
        );
    }
    let by = d.by.unwrap_or_else(|| "operator (admin API)".into());
    if let Some(direct) = &shared.direct {
        match decide_direct(direct, id, approve, reason, &by).await {
            Ok(Some(answer)) => return answer,
            Ok(None) => {}
            Err(e) => return refusal(e),
        }
    }
    let desk = match desk(&shared) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let agent = desk.agent.with_cancel(shared.shutdown.child_token());
    let pb_of = |name: &str| desk.playbook(name);
    match agent.decide(&pb_of, id, approve, reason, &by).await {
        Ok((approval, session)) => Json(json!({"approval": approval, "session": session})).into_response(),
        Err(e) => refusal(e),
    }
}

/// Decides an MCP caller's approval (no model needed: its call runs now, once); `None`
/// when the approval is an agent session's.
async fn decide_direct(
    direct: &jada_ops::agent::Direct,
    id: u64,
    approve: bool,
    reason: Option<&str>,
    by: &str,
) -> Result<Option<Response>, AgentError> {
    let Some((decided, ran, report)) = direct.decide(id, approve, reason, by).await? else {
        return Ok(None);
    };
    Ok(Some(
        Json(json!({"approval": decided, "session": report, "result": ran.map(|o| json!({"content": o.content, "is_error": o.is_error}))}))
            .into_response(),
    ))
}

async fn resume(
    State(shared): State<Arc<OpsState>>,
    _admin: Admin,
    Path(id): Path<u64>,
    body: Option<Json<Resume>>,
) -> Response {
    let Json(r) = body.unwrap_or_default();
    let desk = match desk(&shared) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let session = match shared.store.get_agent_session(id).await {
        Ok(Some(s)) => s,
        Ok(None) => return refusal(AgentError::NoSession(id)),
        Err(e) => return refusal(e.into()),
    };
    let Some(pb) = desk.playbook(&session.playbook) else {
        return refusal(AgentError::NoPlaybook {
            id,
            playbook: session.playbook,
        });
    };
    let agent = desk.agent.with_cancel(shared.shutdown.child_token());
    match agent.resume(&pb, id, r.turns).await {
        Ok(report) => Json(json!({"session": report})).into_response(),
        Err(e) => refusal(e),
    }
}

/// An agent error as the API's JSON error: missing is 404, a record in the wrong state
/// 409, a playbook not configured here 409, the rest 500 (logged whole).
fn refusal(e: AgentError) -> Response {
    let (status, code) = match &e {
        AgentError::NoSession(_) | AgentError::Store(StoreError::NoSuchRecord { .. }) => {
            (StatusCode::NOT_FOUND, "not_found")
        }
        AgentError::Store(StoreError::NotAllowed { .. }) | AgentError::NotResumable { .. } => {
            (StatusCode::CONFLICT, "conflict")
        }
        AgentError::NoPlaybook { .. } => (StatusCode::CONFLICT, "no_playbook"),
        AgentError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "agent"),
    };
    error(status, code, &e.to_string())
}
