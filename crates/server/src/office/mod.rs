//! The office's web pages: sign-in by an emailed magic link, then a session cookie
//! (HttpOnly, SameSite=Lax, Secure over HTTPS, expiring on the server). Every admin page
//! and action needs the session; every form that changes something carries a CSRF token
//! derived from it. Server-rendered HTML (maud), readable on a phone, no JavaScript.
//!
//! - [`auth`]: sign-in, sign-out, the session check and the CSRF check.
//! - [`pages`]: Today, Charters (and one charter), Crew, Automation, Revenue.
//! - [`tasks`]: the tasks people and agents left, add one, mark one done or cancelled.
//! - [`agent`]: agent sessions, transcripts, and approving or denying a tool call.
//! - [`cancel`]: the cancel confirmation page, the cancel, and reinstating a cancel.
//! - [`actions`]: the buttons and forms (assign a captain, restart dispatch,
//!   save a booking, run a job, retry or drop a dead letter).

pub mod actions;
pub mod agent;
pub mod auth;
pub mod cancel;
pub mod chart;
pub mod notice;
pub mod pages;
pub mod tasks;

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use jada_core::{BusinessZone, Fleet};
use jada_ops::dispatch::Dispatcher;
use jada_ops::mail::Mailer;
use maud::{html, Markup, DOCTYPE};

use jada_core::Clock;
use jada_store::Store;

use crate::jobs::runner::JobRunner;
use crate::status::StatusSource;

const CSS: &str = include_str!("office.css");

/// Who may sign in (email addresses), as the configuration says now: the daemon replaces
/// the list when jada.toml changes (`daemon::watch_office_users`), and every request reads
/// it, so a person removed is out at their next request.
#[derive(Clone, Default)]
pub struct OfficeUsers(Arc<std::sync::RwLock<Vec<String>>>);

impl OfficeUsers {
    pub fn new(users: Vec<String>) -> OfficeUsers {
        OfficeUsers(Arc::new(std::sync::RwLock::new(users)))
    }

    pub fn get(&self) -> Vec<String> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set(&self, users: Vec<String>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = users;
    }
}

/// What the office pages need besides the daemon's shared parts.
pub struct Office {
    /// Who may sign in.
    pub users: OfficeUsers,
    pub mailer: Arc<dyn Mailer>,
    pub sender: String,
    /// Dispatch (and its link keys, which also sign the sign-in links).
    pub dispatcher: Arc<Dispatcher>,
    pub business: String,
    /// Where the monthly reports are written.
    pub reports_dir: PathBuf,
    pub session_hours: i64,
    /// A cancelled charter can be reinstated this long after the cancel.
    pub reinstate_within: chrono::Duration,
    /// Mark cookies `Secure` (the site is served over HTTPS).
    pub secure_cookies: bool,
    /// The client's address is the last X-Forwarded-For entry (a reverse proxy in front).
    pub behind_proxy: bool,
    /// How often sign-in may be asked, per client and per address.
    pub sign_in_limits: auth::SignInLimits,
    /// The agent and its playbooks, when a provider is configured: a decision on an
    /// approval carries its session on.
    pub agent: Option<crate::jobs::agent::AgentDesk>,
}

impl Office {
    /// The fleet and the business's time zone are dispatch's: one copy of each.
    pub fn fleet(&self) -> &Fleet {
        &self.dispatcher.cfg.fleet
    }

    pub fn zone(&self) -> BusinessZone {
        self.dispatcher.cfg.zone
    }
}

/// The office area's state: its settings and what its pages read and do.
pub struct OfficeState {
    pub office: Arc<Office>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// The daemon's status report (Today, Automation).
    pub status: Arc<StatusSource>,
    /// "Run now" goes through the runner, leased and recorded like a scheduled run.
    pub runner: JobRunner,
    /// The daemon's work in flight (a session carried on after a decision runs here, so
    /// shutdown waits for it or cancels it).
    pub tasks: tokio_util::task::TaskTracker,
    /// jada's tools for MCP callers: an approved call of theirs runs at the decision.
    pub direct: Option<Arc<jada_ops::agent::Direct>>,
}

pub fn router(shared: Arc<OfficeState>) -> Router {
    let signed_in = Router::new()
        .route("/office", get(pages::today))
        .route("/office/charters", get(pages::charters).post(actions::create_charter))
        .route("/office/charters/new", get(pages::new_charter))
        .route(
            "/office/charters/{id}",
            get(pages::charter).post(actions::update_charter),
        )
        .route("/office/charters/{id}/edit", get(pages::edit_charter))
        .route("/office/charters/{id}/captain", post(actions::assign_captain))
        .route("/office/charters/{id}/cancel", get(cancel::page).post(cancel::cancel))
        .route("/office/charters/{id}/reinstate", post(cancel::reinstate))
        .route("/office/charters/{id}/dispatch", post(actions::restart_dispatch))
        .route("/office/crew", get(pages::crew))
        .route("/office/crew/{id}", get(pages::crew_member))
        .route("/office/automation", get(pages::automation))
        .route("/office/jobs/{name}/run", post(actions::run_job))
        .route("/office/dlq/{id}/retry", post(actions::retry_dead))
        .route("/office/dlq/{id}/drop", post(actions::drop_dead))
        .route("/office/revenue", get(pages::revenue))
        .route("/office/tasks", get(tasks::page).post(tasks::add))
        .route("/office/tasks/{id}/notes", post(tasks::note))
        .route("/office/tasks/{id}/{to}", post(tasks::close))
        .route("/office/agent", get(agent::sessions))
        .route("/office/agent/sessions/{id}", get(agent::session))
        .route("/office/agent/approvals/{id}/{verb}", post(agent::decide))
        .route("/office/reports/{file}", get(pages::report_file))
        .route("/office/sign-out", post(auth::sign_out));
    Router::new()
        .route("/office/sign-in", get(auth::sign_in_page).post(auth::request_link))
        .route("/office/auth/{token}", get(auth::confirm_page).post(auth::redeem))
        .route(
            "/office-static/office.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css")], CSS) }),
        )
        .merge(signed_in)
        .layer(middleware::from_fn(headers))
        .with_state(shared)
}

async fn headers(req: axum::extract::Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    // The revenue chart is inline SVG: images may be data: URLs.
    crate::web::page_headers(
        &mut resp,
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    resp
}

/// The office config; the router is mounted only when it exists.
pub(crate) fn office(shared: &OfficeState) -> &Office {
    &shared.office
}

/// A page with the navigation. `who` is the signed-in user (None on sign-in pages).
pub(crate) fn layout(title: &str, who: Option<&auth::SignedIn>, body: Markup) -> Response {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · jada" }
                link rel="stylesheet" href="/office-static/office.css";
            }
            body {
                @if let Some(w) = who {
                    nav {
                        a href="/office" { "Today" }
                        a href="/office/charters" { "Charters" }
                        a href="/office/crew" { "Crew" }
                        a href="/office/automation" { "Automation" }
                        a href="/office/revenue" { "Revenue" }
                        a href="/office/tasks" { "Tasks" }
                        a href="/office/agent" { "Agent" }
                        form.inline method="post" action="/office/sign-out" {
                            input type="hidden" name="csrf" value=(w.csrf);
                            button.link type="submit" { "Sign out " (w.email) }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    page.into_response()
}

/// A hidden CSRF field for a form.
pub(crate) fn csrf_field(who: &auth::SignedIn) -> Markup {
    html! { input type="hidden" name="csrf" value=(who.csrf); }
}

/// A form with one button that POSTs to `action`.
pub(crate) fn button(who: &auth::SignedIn, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(who))
            button class=(class) type="submit" { (label) }
        }
    }
}
