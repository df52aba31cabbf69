//! The office's tasks over the booking API's keys: `GET /api/tasks`, `POST /api/tasks`,
//! `GET /api/tasks/{id}`, `POST /api/tasks/{id}/notes`, `POST /api/tasks/{id}/status`.
//! The same store calls and text rules as `jada tasks`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jada_core::{NewTask, Task, TaskNote, TaskSource, TaskStatus};
use jada_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{fail, parse, ApiError, ApiState, Caller, FieldError};

/// A task, as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTask {
    pub id: u64,
    pub title: String,
    pub body: String,
    /// open, in_progress, waiting, done or cancelled.
    pub status: String,
    /// manual, email, chat or agent.
    pub source: String,
    pub source_ref: Option<String>,
    pub charter_id: Option<String>,
    pub assignee: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub notes: Vec<ApiTaskNote>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTaskNote {
    pub at: String,
    pub author: String,
    pub body: String,
}

impl From<&Task> for ApiTask {
    fn from(t: &Task) -> Self {
        ApiTask {
            id: t.id,
            title: t.title.clone(),
            body: t.body.clone(),
            status: t.status.as_str().into(),
            source: t.source.as_str().into(),
            source_ref: t.source_ref.clone(),
            charter_id: t.charter_id.map(|c| c.to_string()),
            assignee: t.assignee.clone(),
            created_at: t.created_at.to_rfc3339(),
            updated_at: t.updated_at.to_rfc3339(),
            notes: t
                .notes
                .iter()
                .map(|n| ApiTaskNote {
                    at: n.at.to_rfc3339(),
                    author: n.author.clone(),
                    body: n.body.clone(),
                })
                .collect(),
        }
    }
}

/// A task to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiTask {
    /// One line, at most 200 characters.
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[schema(format = "uuid")]
    pub charter_id: Option<String>,
    pub assignee: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiNote {
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiStatusChange {
    /// open, in_progress, waiting, done or cancelled.
    pub status: String,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct TaskQuery {
    /// open, in_progress, waiting, done, cancelled, or `all`; default: those still to do.
    pub status: Option<String>,
}

fn invalid(field: &str, reason: String) -> Response {
    fail(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        format!("{field}: {reason}"),
        vec![FieldError {
            field: field.into(),
            reason,
        }],
    )
}

/// A refused change (a closed task) is a conflict, a missing task not found; anything
/// else failed here.
fn store_failure(e: StoreError) -> Response {
    match e {
        StoreError::NotAllowed { .. } => fail(StatusCode::CONFLICT, "conflict", e.to_string(), vec![]),
        StoreError::NoSuchRecord { .. } => fail(StatusCode::NOT_FOUND, "not_found", e.to_string(), vec![]),
        other => fail(StatusCode::INTERNAL_SERVER_ERROR, "store", other.to_string(), vec![]),
    }
}

/// 404 unless the task exists (checked first, so a refusal after it means "closed").
async fn exists(state: &ApiState, id: u64) -> Result<(), Response> {
    match state.store.get_task(id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(fail(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("there is no task {id}"),
            vec![],
        )),
        Err(e) => Err(store_failure(e)),
    }
}

/// Tasks, newest first.
#[utoipa::path(get, path = "/api/tasks", params(TaskQuery),
    responses((status = 200, body = Vec<ApiTask>), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn list(State(state): State<Arc<ApiState>>, _caller: Caller, Query(q): Query<TaskQuery>) -> Response {
    let statuses = match q.status.as_deref() {
        None => vec![TaskStatus::Open, TaskStatus::InProgress, TaskStatus::Waiting],
        Some("all") => vec![],
        Some(s) => match TaskStatus::parse(s) {
            Ok(s) => vec![s],
            Err(e) => return invalid("status", e.0),
        },
    };
    match state.store.list_tasks(&statuses, 500).await {
        Ok(ts) => Json(ts.iter().map(ApiTask::from).collect::<Vec<_>>()).into_response(),
        Err(e) => store_failure(e),
    }
}

/// Create a task.
#[utoipa::path(post, path = "/api/tasks", request_body = NewApiTask,
    responses((status = 201, body = ApiTask), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn create(State(state): State<Arc<ApiState>>, caller: Caller, body: Bytes) -> Response {
    let req: NewApiTask = match parse(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let mut task = match NewTask::new(&req.title, &req.body, TaskSource::Manual) {
        Ok(t) => t,
        Err(e) => return invalid(if e.0.starts_with("body") { "body" } else { "title" }, e.0),
    };
    task = match task.assigned_to(req.assignee.as_deref()) {
        Ok(t) => t,
        Err(e) => return invalid("assignee", e.0),
    };
    task.source_ref = Some(format!("api key {}", caller.key_name));
    if let Some(c) = req.charter_id.as_deref() {
        use jada_ops::charters::{named_charter, NamedCharterError};
        task.charter_id = match named_charter(state.store.as_ref(), c).await {
            Ok(id) => id,
            Err(NamedCharterError::Invalid(e)) => return invalid("charter_id", e),
            Err(NamedCharterError::Store(e)) => return store_failure(e),
        };
    }
    match state.store.create_task(&task, state.clock.now()).await {
        Ok(t) => (StatusCode::CREATED, Json(ApiTask::from(&t))).into_response(),
        Err(e) => store_failure(e),
    }
}

/// One task with its notes.
#[utoipa::path(get, path = "/api/tasks/{id}", params(("id" = u64, Path, description = "task number")),
    responses((status = 200, body = ApiTask), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn get_one(State(state): State<Arc<ApiState>>, _caller: Caller, Path(id): Path<u64>) -> Response {
    match state.store.get_task(id).await {
        Ok(Some(t)) => Json(ApiTask::from(&t)).into_response(),
        Ok(None) => fail(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("there is no task {id}"),
            vec![],
        ),
        Err(e) => store_failure(e),
    }
}

/// Add a note to a task.
#[utoipa::path(post, path = "/api/tasks/{id}/notes", request_body = ApiNote, params(("id" = u64, Path, description = "task number")),
    responses((status = 200, body = ApiTask), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn note(State(state): State<Arc<ApiState>>, caller: Caller, Path(id): Path<u64>, body: Bytes) -> Response {
    let req: ApiNote = match parse(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let note = match note_of(&state, &caller, &req.note) {
        Ok(n) => n,
        Err(r) => return r,
    };
    if let Err(r) = exists(&state, id).await {
        return r;
    }
    match state.store.add_task_note(id, &note).await {
        Ok(t) => Json(ApiTask::from(&t)).into_response(),
        Err(e) => store_failure(e),
    }
}

/// Move a task to another status (a done or cancelled task stays so: 409).
#[utoipa::path(post, path = "/api/tasks/{id}/status", request_body = ApiStatusChange, params(("id" = u64, Path, description = "task number")),
    responses((status = 200, body = ApiTask), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
pub async fn status(State(state): State<Arc<ApiState>>, caller: Caller, Path(id): Path<u64>, body: Bytes) -> Response {
    let req: ApiStatusChange = match parse(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let status = match TaskStatus::parse(&req.status) {
        Ok(s) => s,
        Err(e) => return invalid("status", e.0),
    };
    let note = match note_of(&state, &caller, req.note.as_deref().unwrap_or(status.as_str())) {
        Ok(n) => n,
        Err(r) => return r,
    };
    if let Err(r) = exists(&state, id).await {
        return r;
    }
    match state.store.set_task_status(id, status, &note).await {
        Ok(t) => Json(ApiTask::from(&t)).into_response(),
        Err(e) => store_failure(e),
    }
}

fn note_of(state: &ApiState, caller: &Caller, body: &str) -> Result<TaskNote, Response> {
    Ok(TaskNote {
        at: state.clock.now(),
        author: format!("api key {}", caller.key_name),
        body: jada_core::task::note_body(body).map_err(|e| invalid("note", e.0))?,
    })
}
