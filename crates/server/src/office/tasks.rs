//! The office's Tasks page: what people and agents left to do, a form to add one, and
//! Done / Cancel buttons, a note on any task, a task naming a charter — the same store
//! calls and text rules as `jada tasks`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use jada_core::task::note_body;
use jada_core::{NewTask, TaskNote, TaskSource, TaskStatus};
use jada_ops::charters::{named_charter, NamedCharterError};
use jada_store::StoreError;
use maud::html;

use super::auth::{Checked, SignedIn};
use super::pages::unavailable;
use super::{button, csrf_field, layout, OfficeState};

/// `GET /office/tasks`: the tasks still to do (or `?all=1`), newest first.
pub async fn page(
    State(shared): State<Arc<OfficeState>>,
    who: SignedIn,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let all = q.contains_key("all");
    let statuses = if all {
        vec![]
    } else {
        vec![TaskStatus::Open, TaskStatus::InProgress, TaskStatus::Waiting]
    };
    let tasks = match shared.store.list_tasks(&statuses, 300).await {
        Ok(t) => t,
        Err(e) => return unavailable(e),
    };
    let body = html! {
        h1 { "Tasks" }
        @if let Some(msg) = super::notice::of(&q, "done") { p.notice { (msg) } }
        p { @if all { a href="/office/tasks" { "Only those still to do" } } @else { a href="/office/tasks?all=1" { "Every task" } } }
        @if tasks.is_empty() { p { "Nothing to do." } }
        @for t in &tasks {
            section.task id=(format!("task-{}", t.id)) {
                h3 { "#" (t.id) " " (t.title) }
                p {
                    (t.status.as_str()) " · " (t.source_ref.as_deref().unwrap_or(t.source.as_str()))
                    @if let Some(a) = &t.assignee { " · for " (a) }
                    " · " (shared.local(t.updated_at))
                    @if let Some(c) = t.charter_id { " · " a href=(format!("/office/charters/{c}")) { "charter" } }
                }
                @if !t.body.is_empty() { pre.note { (t.body) } }
                @for n in &t.notes { p { small { (shared.local(n.at)) " " (n.author) ": " } (n.body) } }
                form.note method="post" action=(format!("/office/tasks/{}/notes", t.id)) {
                    (csrf_field(&who))
                    label for=(format!("note-{}", t.id)) { "Add a note" }
                    textarea id=(format!("note-{}", t.id)) name="note" rows="2" maxlength="20000" required {}
                    button type="submit" { "Add note" }
                }
                @if !t.status.is_final() {
                    (button(&who, &format!("/office/tasks/{}/done", t.id), "Done", ""))
                    (button(&who, &format!("/office/tasks/{}/cancelled", t.id), "Cancel", "danger"))
                }
            }
        }
        h2 { "Add a task" }
        form.booking method="post" action="/office/tasks" {
            (csrf_field(&who))
            label for="title" { "What" } input #title type="text" name="title" required maxlength="200";
            label for="body" { "Details" } textarea #body name="body" rows="3" maxlength="20000" {}
            label for="assignee" { "For" } input #assignee type="text" name="assignee" maxlength="100";
            label for="charter" { "Charter id (optional)" }
            input #charter type="text" name="charter" maxlength="36" value=(q.get("charter").map(String::as_str).unwrap_or(""));
            button type="submit" { "Add" }
        }
    };
    layout("Tasks", Some(&who), body)
}

/// `POST /office/tasks`: adds a task.
pub async fn add(State(shared): State<Arc<OfficeState>>, Checked { who, form }: Checked) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let task =
        NewTask::new(get("title"), get("body"), TaskSource::Manual).and_then(|t| t.assigned_to(Some(get("assignee"))));
    let mut task = match task {
        Ok(t) => t,
        Err(e) => return back(&e.0),
    };
    task.source_ref = Some(who.email.clone());
    task.charter_id = match named_charter(shared.store.as_ref(), get("charter")).await {
        Ok(id) => id,
        Err(NamedCharterError::Invalid(e)) => return back(&format!("Not added: charter: {e}")),
        Err(NamedCharterError::Store(e)) => return unavailable(e),
    };
    match shared.store.create_task(&task, shared.clock.now()).await {
        Ok(t) => back(&format!("task {} added", t.id)),
        Err(e) => unavailable(e),
    }
}

/// `POST /office/tasks/{id}/notes`: adds a note (the same text rule as `jada tasks note`).
pub async fn note(
    State(shared): State<Arc<OfficeState>>,
    Path(id): Path<u64>,
    Checked { who, form }: Checked,
) -> Response {
    let body = match note_body(form.get("note").map(String::as_str).unwrap_or("")) {
        Ok(b) => b,
        Err(e) => return back(&format!("Note not added: {}", e.0)),
    };
    let note = TaskNote {
        at: shared.clock.now(),
        author: who.email.clone(),
        body,
    };
    match shared.store.add_task_note(id, &note).await {
        Ok(t) => back(&format!("note added to task {}", t.id)),
        Err(e @ (StoreError::NoSuchRecord { .. } | StoreError::NotAllowed { .. })) => back(&e.to_string()),
        Err(e) => unavailable(e),
    }
}

/// `POST /office/tasks/{id}/{done|cancelled}`.
pub async fn close(
    State(shared): State<Arc<OfficeState>>,
    Path((id, to)): Path<(u64, String)>,
    Checked { who, .. }: Checked,
) -> Response {
    let status = match to.as_str() {
        "done" => TaskStatus::Done,
        "cancelled" => TaskStatus::Cancelled,
        _ => return axum::http::StatusCode::NOT_FOUND.into_response(),
    };
    let note = TaskNote {
        at: shared.clock.now(),
        author: who.email.clone(),
        body: status.as_str().into(),
    };
    match shared.store.set_task_status(id, status, &note).await {
        Ok(t) => back(&format!("task {} is {}", t.id, t.status)),
        Err(e @ (StoreError::NoSuchRecord { .. } | StoreError::NotAllowed { .. })) => back(&e.to_string()),
        Err(e) => unavailable(e),
    }
}

fn back(msg: &str) -> Response {
    super::actions::back("/office/tasks", "done", msg)
}
