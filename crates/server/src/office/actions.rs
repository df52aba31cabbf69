//! The office's buttons and forms. Each checks the CSRF token, calls the same `jada_ops`
//! function as the CLI, and redirects back with a one-line result.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jada_core::{CharterId, ChatAuthor, CrewId};
use jada_ops::booking::{self, BookingChange, BookingError, BookingFields, NewBooking};
use jada_store::Trigger;

use super::auth::{Checked, SignedIn};
use super::office;
use super::pages::{charter_form, unavailable};
use super::OfficeState;

/// Back to `path` with a one-line result in `?key=` (signed: see [`super::notice`]).
pub(crate) fn back(path: &str, key: &str, msg: &str) -> Response {
    super::notice::redirect(path, key, msg)
}

pub(crate) fn charter_path(id: CharterId) -> String {
    format!("/office/charters/{id}")
}

/// The booking form's fields (blank fields left out: they keep what is stored).
fn fields(form: &HashMap<String, String>) -> BookingFields {
    let get = |k: &str| {
        form.get(k)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    BookingFields {
        charter_date: get("charter_date"),
        start_time: get("start_time"),
        end_time: get("end_time"),
        vessel_name: get("vessel_name"),
        guest_name: get("guest_name"),
        guest_count: get("guest_count"),
        reportable_revenue: get("reportable_revenue"),
        tips: get("tips"),
        status: get("status"),
        ..BookingFields::default()
    }
}

fn form_errors(e: &BookingError) -> Vec<(String, String)> {
    match e {
        BookingError::Invalid(errs) => errs.iter().map(|e| (e.field.clone(), e.reason.clone())).collect(),
        other => vec![("booking".into(), other.to_string())],
    }
}

pub async fn create_charter(State(shared): State<Arc<OfficeState>>, Checked { who, form }: Checked) -> Response {
    let o = office(&shared);
    let new = NewBooking {
        charter_id: None,
        fields: fields(&form),
    };
    match booking::create(shared.store.as_ref(), o.fleet(), new, shared.clock.now()).await {
        Ok(c) => back(&charter_path(c.charter_id), "done", "Booking added."),
        Err(BookingError::Store(e)) => unavailable(e),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            charter_form(&who, o, None, &form, &form_errors(&e)),
        )
            .into_response(),
    }
}

pub async fn update_charter(
    State(shared): State<Arc<OfficeState>>,
    Path(id): Path<String>,
    Checked { who, form }: Checked,
) -> Response {
    let o = office(&shared);
    let Ok(id) = CharterId::parse(&id) else {
        return (StatusCode::NOT_FOUND, "no such charter").into_response();
    };
    let Some(version) = form.get("version").and_then(|v| v.parse::<u64>().ok()) else {
        return (StatusCode::BAD_REQUEST, "the form lost its version: reload the page").into_response();
    };
    let change = BookingChange {
        charter_id: id,
        version,
        fields: fields(&form),
    };
    match booking::update(shared.store.as_ref(), o.fleet(), change, shared.clock.now()).await {
        Ok(_) => back(&charter_path(id), "done", "Booking saved."),
        Err(BookingError::Store(e)) => unavailable(e),
        Err(e) => {
            let status = if matches!(e, BookingError::Conflict(_)) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let current = shared.store.get_charter(id).await.ok().flatten();
            (status, charter_form(&who, o, current.as_ref(), &form, &form_errors(&e))).into_response()
        }
    }
}

/// The check every dispatch and cancel button starts with (after [`Checked`]): the
/// charter exists and is still open — a completed or cancelled charter has nothing to
/// dispatch or cancel, whatever a stale page or a hand-made POST asks.
pub(crate) async fn checked_charter(shared: &OfficeState, id: &str) -> Result<jada_core::Charter, Response> {
    let no = || (StatusCode::NOT_FOUND, "no such charter").into_response();
    let id = CharterId::parse(id).map_err(|_| no())?;
    match shared.store.get_charter(id).await {
        Ok(Some(c)) if c.status.is_final() => Err(back(
            &charter_path(id),
            "error",
            &format!("This charter is {}: there is nothing to dispatch or cancel.", c.status),
        )),
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(no()),
        Err(e) => Err(unavailable(e)),
    }
}

pub(crate) fn operator(who: &SignedIn) -> ChatAuthor {
    ChatAuthor::Operator(who.email.clone())
}

pub async fn assign_captain(
    State(shared): State<Arc<OfficeState>>,
    Path(id): Path<String>,
    Checked { who, form }: Checked,
) -> Response {
    let id = match checked_charter(&shared, &id).await {
        Ok(c) => c.charter_id,
        Err(r) => return r,
    };
    let Ok(crew) = CrewId::parse(form.get("crew").map(String::as_str).unwrap_or("")) else {
        return (StatusCode::UNPROCESSABLE_ENTITY, "choose a captain").into_response();
    };
    let o = office(&shared);
    match o
        .dispatcher
        .assign_captain(id, &crew, operator(&who), shared.clock.now())
        .await
    {
        Ok(step) => back(
            &charter_path(id),
            "done",
            // The detail is a whole sentence ("crewed: 2 crew aboard").
            &format!("Captain {crew} assigned; dispatch: {}", step.detail),
        ),
        Err(e) => back(&charter_path(id), "error", &e.to_string()),
    }
}

pub async fn restart_dispatch(
    State(shared): State<Arc<OfficeState>>,
    Path(id): Path<String>,
    Checked { who, .. }: Checked,
) -> Response {
    let c = match checked_charter(&shared, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(captain) = c.captain_assigned else {
        return back(
            &charter_path(c.charter_id),
            "error",
            "Assign a captain first: dispatch starts from the captain.",
        );
    };
    let o = office(&shared);
    match o
        .dispatcher
        .assign_captain(c.charter_id, &captain, operator(&who), shared.clock.now())
        .await
    {
        Ok(step) => back(
            &charter_path(c.charter_id),
            "done",
            &format!("Dispatch restarted: {}", step.detail),
        ),
        Err(e) => back(&charter_path(c.charter_id), "error", &e.to_string()),
    }
}

pub async fn run_job(
    State(shared): State<Arc<OfficeState>>,
    Path(name): Path<String>,
    Checked { who, .. }: Checked,
) -> Response {
    if shared.runner.registry.get(&name).is_none() {
        return back("/office/automation", "done", &format!("There is no job `{name}`."));
    }
    let s = Arc::clone(&shared);
    let job = name.clone();
    // In the background: a long job must not hold the page; its run is recorded.
    tokio::spawn(async move {
        if let Err(e) = s.runner.run(&job, Trigger::Manual).await {
            tracing::warn!(job = %job, error = %e, "a job started from the office page did not run");
        }
    });
    tracing::info!(job = %name, by = %who.email, "job started from the office page");
    back(
        "/office/automation",
        "done",
        &format!("Job `{name}` started; its run appears below when done."),
    )
}

async fn dead_letter(shared: &OfficeState, who: &SignedIn, id: &str, retry: bool) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(id) else {
        return back("/office/automation", "done", "That is not an event id.");
    };
    let now = shared.clock.now();
    let done = if retry {
        shared.store.retry_dead_event(id, now).await
    } else {
        shared.store.drop_dead_event(id, now).await
    };
    match done {
        Ok(()) => {
            tracing::info!(event = %id, by = %who.email, retry, "dead letter handled from the office page");
            let msg = if retry {
                "queued again"
            } else {
                "dropped (kept on record)"
            };
            back("/office/automation", "done", &format!("Event {id} {msg}."))
        }
        Err(e) => back("/office/automation", "done", &e.to_string()),
    }
}

pub async fn retry_dead(
    State(shared): State<Arc<OfficeState>>,
    Path(id): Path<String>,
    Checked { who, .. }: Checked,
) -> Response {
    dead_letter(&shared, &who, &id, true).await
}

pub async fn drop_dead(
    State(shared): State<Arc<OfficeState>>,
    Path(id): Path<String>,
    Checked { who, .. }: Checked,
) -> Response {
    dead_letter(&shared, &who, &id, false).await
}
