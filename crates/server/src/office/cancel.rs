//! Cancelling a charter and taking the cancel back: the confirmation page that says what
//! a cancel will do, the cancel itself, and reinstate (`jada_ops::cancellation`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jada_core::{CharterId, CrewId};
use jada_ops::booking::BookingError;
use jada_ops::cancellation::{self, ReinstateError};
use maud::html;

use super::actions::{back, charter_path, checked_charter, operator};
use super::auth::{Checked, SignedIn};
use super::pages::{not_found, time, tryp, unavailable};
use super::{csrf_field, layout, office, OfficeState};

/// `GET /office/charters/{id}/cancel`: what cancelling will do, and the one button that
/// does it (the charter page only links here).
pub async fn page(State(shared): State<Arc<OfficeState>>, who: SignedIn, Path(id): Path<String>) -> Response {
    let o = office(&shared);
    let Ok(id) = CharterId::parse(&id) else {
        return not_found(&who, "That is not a charter id.");
    };
    let Some(c) = tryp!(shared.store.get_charter(id).await) else {
        return not_found(&who, "No such charter.");
    };
    if c.status.is_final() {
        let body = html! {
            h1 { "Cancel charter" }
            p { "This charter is " (c.status.to_string()) ": there is nothing to cancel." }
            p { a href=(format!("/office/charters/{id}")) { "Back to the charter" } }
        };
        return layout("Cancel charter", Some(&who), body);
    }
    let open = tryp!(jada_ops::cancellation::open_offers(shared.store.as_ref(), id).await);
    let told = jada_ops::cancellation::told(&c, &open);
    let crew = tryp!(shared.store.list_crew().await);
    let name = |p: &CrewId| {
        crew.iter()
            .find(|m| &m.crew_id == p)
            .map_or(p.to_string(), |m| format!("{} ({p})", m.name))
    };
    let body = html! {
        h1 { "Cancel this charter?" }
        dl {
            dt { "Charter" } dd { (c.vessel_name) ", " (c.charter_date) " " (time(&c)) }
            dt { "Guest" } dd { (c.guest_name) " (" (c.guest_count) " guests)" }
            dt { "Status" } dd { (c.status.to_string()) " → cancelled" }
        }
        h2 { "What happens" }
        ul {
            li { "The charter becomes cancelled and frees " (c.vessel_name) " for that time." }
            @if open.is_empty() { li { "No crew offers are open." } }
            @else { li { "Open crew offers are withdrawn: " (open.iter().map(name).collect::<Vec<_>>().join(", ")) "." } }
            @if told.is_empty() { li { "Nobody aboard yet, so no crew member is told." } }
            @else { li { "These crew are told by mail: " (told.iter().map(name).collect::<Vec<_>>().join(", ")) "." } }
            li { "The chat records who cancelled it. The guest is not mailed by jada: tell them yourself." }
            li { "You can reinstate it for " (o.reinstate_within.num_hours()) " hours: it goes back to " (c.status.to_string()) " and dispatch resumes." }
        }
        section.danger-zone {
            form.inline method="post" action=(format!("/office/charters/{id}/cancel")) {
                (csrf_field(&who))
                input type="hidden" name="version" value=(c.version);
                input type="hidden" name="confirm" value="yes";
                button.danger type="submit" { "Yes, cancel this charter" }
            }
            a.button href=(format!("/office/charters/{id}")) { "No, keep it" }
        }
    };
    layout("Cancel charter", Some(&who), body)
}

/// `POST /office/charters/{id}/cancel`, from the confirmation page only: the form carries
/// `confirm` and the version the person saw (a charter changed since is not cancelled).
pub async fn cancel(
    State(shared): State<Arc<OfficeState>>,
    Path(id): Path<String>,
    Checked { who, form }: Checked,
) -> Response {
    let c = match checked_charter(&shared, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let id = c.charter_id;
    let version = form.get("version").and_then(|v| v.parse::<u64>().ok());
    let (Some(version), Some("yes")) = (version, form.get("confirm").map(String::as_str)) else {
        // A bare POST (an old page, a hand-made request) is sent to the confirmation.
        return Redirect::to(&format!("/office/charters/{id}/cancel")).into_response();
    };
    let o = office(&shared);
    match cancellation::cancel(&o.dispatcher, id, version, &who.email, shared.clock.now()).await {
        Ok(_) => back(
            &charter_path(id),
            "done",
            &format!(
                "Charter cancelled; open offers withdrawn and the crew told. It can be reinstated for {} hours.",
                o.reinstate_within.num_hours()
            ),
        ),
        Err(BookingError::Store(e)) => unavailable(e),
        Err(e) => back(&charter_path(id), "error", &e.to_string()),
    }
}

/// `POST /office/charters/{id}/reinstate`: takes a cancel back (see `jada_ops::cancellation`).
pub async fn reinstate(
    State(shared): State<Arc<OfficeState>>,
    Path(id): Path<String>,
    Checked { who, .. }: Checked,
) -> Response {
    let Ok(id) = CharterId::parse(&id) else {
        return (StatusCode::NOT_FOUND, "no such charter").into_response();
    };
    let o = office(&shared);
    match cancellation::reinstate(
        &o.dispatcher,
        id,
        operator(&who),
        o.reinstate_within,
        shared.clock.now(),
    )
    .await
    {
        Ok(r) => {
            let dispatch = match (&r.dispatch, &r.dispatch_error) {
                (Some(step), _) => step.detail.clone(),
                (None, e) => format!("did not resume ({}): use Restart dispatch", e.as_deref().unwrap_or("")),
            };
            back(
                &charter_path(id),
                "done",
                &format!("Charter reinstated: back to {}; dispatch: {dispatch}", r.charter.status),
            )
        }
        Err(ReinstateError::Store(e)) => unavailable(e),
        Err(e) => back(&charter_path(id), "error", &e.to_string()),
    }
}
