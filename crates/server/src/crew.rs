//! The crew pages, reached through magic links: `/c/{token}` shows an offer (with Accept
//! and Decline buttons) or the crew member's schedule; the buttons POST with a CSRF
//! token. A GET never changes anything (mail scanners open links before people do).
//!
//! Every response carries `Referrer-Policy: no-referrer` (the token is in the URL), a
//! strict CSP and `X-Frame-Options: DENY`; token pages are rate limited per client
//! address; a bad link gets a plain page that says what is wrong and whom to contact,
//! and never reveals whether a crew id exists.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Duration, Utc};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jada_core::link::{Claims, LinkError, Purpose};
use jada_core::{BusinessZone, Charter, Clock, CrewId, Offer, OfferStatus};
use jada_ops::dispatch::{Answer, Answered, Dispatcher};
use maud::{html, Markup, DOCTYPE};

/// The offer page's Accept/Decline forms.
const CSRF: crate::web::CsrfCookie = crate::web::CsrfCookie {
    name: "jada_csrf",
    path: "/c",
    max_age_secs: 86_400,
};
const CSS: &str = include_str!("crew.css");

pub struct CrewPages {
    pub dispatcher: Arc<Dispatcher>,
    pub clock: Arc<dyn Clock>,
    pub zone: BusinessZone,
    pub business: String,
    /// Whom a crew member should contact when a link does not work.
    pub contact: String,
    /// Schedule links work this long after they are made.
    pub schedule_days: i64,
    /// Requests per minute per client address on token pages.
    pub limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// Mark the CSRF cookie `Secure` (the site is served over HTTPS).
    pub secure_cookies: bool,
    /// Behind a reverse proxy: the client is the last X-Forwarded-For address.
    pub behind_proxy: bool,
}

impl CrewPages {
    /// A per-address limiter allowing `per_minute` requests, in bursts of up to a tenth.
    pub fn limiter(per_minute: u32) -> DefaultKeyedRateLimiter<IpAddr> {
        let per_minute = NonZeroU32::new(per_minute.max(1)).expect("at least 1");
        let burst = NonZeroU32::new((per_minute.get() / 10).max(5)).expect("at least 5");
        RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
    }
}

pub fn router(pages: Arc<CrewPages>) -> Router {
    Router::new()
        .route("/c/{token}", get(show))
        .route("/c/{token}/accept", post(accept))
        .route("/c/{token}/decline", post(decline))
        .route(
            "/c-static/crew.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css")], CSS) }),
        )
        .layer(middleware::from_fn_with_state(Arc::clone(&pages), limit))
        .layer(middleware::from_fn(security_headers))
        .with_state(pages)
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    crate::web::page_headers(
        &mut resp,
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    resp
}

async fn limit(State(pages): State<Arc<CrewPages>>, req: Request, next: Next) -> Response {
    let ip = crate::web::client_ip(req.headers(), req.extensions(), pages.behind_proxy);
    if pages.limiter.check_key(&ip).is_err() {
        let page = message(&pages, "Too many requests", "Please wait a minute and try again.");
        return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "60")], page).into_response();
    }
    next.run(req).await
}

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
                link rel="stylesheet" href="/c-static/crew.css";
            }
            body { main { (body) } }
        }
    }
}

fn message(pages: &CrewPages, title: &str, text: &str) -> Markup {
    layout(
        title,
        html! {
            h1 { (title) }
            p { (text) }
            p.contact { "Questions? Contact the office: " a href=(format!("mailto:{}", pages.contact)) { (pages.contact) } }
        },
    )
}

/// The page for a link that cannot be used, with the status that fits.
fn refused(pages: &CrewPages, why: LinkProblem) -> Response {
    let (status, title, text) = match why {
        LinkProblem::Invalid => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "It may have been copied incompletely or altered. Use the link from your most recent message.",
        ),
        LinkProblem::Retired => (
            StatusCode::GONE,
            "This link has been revoked",
            "The office has replaced its links. Ask the office for a new one.",
        ),
        LinkProblem::Expired => (
            StatusCode::GONE,
            "This link has expired",
            "Ask the office for a new link to your schedule.",
        ),
    };
    (status, message(pages, title, text)).into_response()
}

enum LinkProblem {
    Invalid,
    Retired,
    Expired,
}

fn check(pages: &CrewPages, token: &str, now: DateTime<Utc>) -> Result<Claims, LinkProblem> {
    pages.dispatcher.links.verify(token, now).map_err(|e| match e {
        LinkError::Retired => LinkProblem::Retired,
        LinkError::Malformed | LinkError::Tampered => LinkProblem::Invalid,
    })
}

fn fmt_when(c: &Charter) -> String {
    format!(
        "{}, {}–{}",
        c.charter_date.format("%A %-d %B %Y"),
        c.start_time.format("%H:%M"),
        c.end_time.format("%H:%M")
    )
}

fn local(pages: &CrewPages, t: DateTime<Utc>) -> String {
    t.with_timezone(&pages.zone.tz()).format("%-d %B %H:%M").to_string()
}

/// `GET /c/{token}`: the offer, or the schedule. Reads only.
async fn show(State(pages): State<Arc<CrewPages>>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let now = pages.clock.now();
    let claims = match check(&pages, &token, now) {
        Ok(c) => c,
        Err(p) => return refused(&pages, p),
    };
    let Ok(crew) = CrewId::parse(&claims.subject) else {
        return refused(&pages, LinkProblem::Invalid);
    };
    match claims.purpose {
        Purpose::Offer(id) => offer_page(&pages, &token, id, &crew, &headers, now).await,
        Purpose::Schedule if claims.older_than(Duration::days(pages.schedule_days), now) => {
            refused(&pages, LinkProblem::Expired)
        }
        Purpose::Schedule => schedule_page(&pages, &crew, now).await,
        Purpose::Admin => refused(&pages, LinkProblem::Invalid),
    }
}

/// Loads the offer a link names, only if it is this person's (otherwise the page is the
/// same as for a forged link: nothing says whether the offer or the person exists).
async fn load_offer(pages: &CrewPages, id: uuid::Uuid, crew: &CrewId) -> Result<(Offer, Charter, String), Response> {
    let store = &pages.dispatcher.store;
    let offer = match store.get_offer(id).await {
        Ok(Some(o)) if &o.crew_id == crew => o,
        Ok(_) => return Err(refused(pages, LinkProblem::Invalid)),
        Err(e) => return Err(unavailable(pages, &e.to_string())),
    };
    match store.get_charter(offer.charter_id).await {
        Ok(Some(c)) => {
            let captain = captain_name(pages, &c).await;
            Ok((offer, c, captain))
        }
        Ok(None) => Err(refused(pages, LinkProblem::Invalid)),
        Err(e) => Err(unavailable(pages, &e.to_string())),
    }
}

fn unavailable(pages: &CrewPages, detail: &str) -> Response {
    tracing::error!(%detail, "crew page failed");
    let page = message(
        pages,
        "Something went wrong",
        "The page could not be shown just now. Try again in a minute.",
    );
    (StatusCode::SERVICE_UNAVAILABLE, page).into_response()
}

async fn offer_page(
    pages: &CrewPages,
    token: &str,
    id: uuid::Uuid,
    crew: &CrewId,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Response {
    let (offer, charter, captain) = match load_offer(pages, id, crew).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !offer.status.is_open() || offer.is_expired_at(now) {
        return closed_page(pages, &offer, &charter, &captain, now);
    }
    let (csrf, cookie) = CSRF.issue(headers, pages.secure_cookies);
    let body = html! {
        h1 { "A seat for you?" }
        (details(&charter, &captain))
        p { "Please answer by " strong { (local(pages, offer.expires_at)) } ". After that the seat goes to the next person." }
        form method="post" action=(format!("/c/{token}/accept")) {
            input type="hidden" name="csrf" value=(csrf);
            button.accept type="submit" { "Accept" }
        }
        form method="post" action=(format!("/c/{token}/decline")) {
            input type="hidden" name="csrf" value=(csrf);
            button.decline type="submit" { "Decline" }
        }
    };
    ([(header::SET_COOKIE, cookie)], layout("Your offer", body)).into_response()
}

/// The captain's name for the page (their id if the roster lookup fails).
async fn captain_name(pages: &CrewPages, c: &Charter) -> String {
    let Some(id) = &c.captain_assigned else {
        return "to be confirmed".into();
    };
    match pages.dispatcher.store.get_crew(id).await {
        Ok(Some(m)) => m.name,
        _ => id.to_string(),
    }
}

fn details(c: &Charter, captain: &str) -> Markup {
    html! {
        dl {
            dt { "When" } dd { (fmt_when(c)) }
            dt { "Vessel" } dd { (c.vessel_name) }
            dt { "Guests" } dd { (c.guest_count) }
            dt { "Captain" } dd { (captain) }
        }
    }
}

/// An offer that can no longer be answered: says which way it closed.
fn closed_page(pages: &CrewPages, offer: &Offer, c: &Charter, captain: &str, now: DateTime<Utc>) -> Response {
    let (title, text) = match offer.status {
        OfferStatus::Accepted => ("You have this seat", "You accepted it. See you aboard!".to_string()),
        OfferStatus::Declined => ("You declined this seat", "Thank you for letting us know.".to_string()),
        OfferStatus::Withdrawn if c.status == jada_core::CharterStatus::Cancelled => {
            ("This charter was cancelled", "The offer was withdrawn.".to_string())
        }
        OfferStatus::Withdrawn => (
            "This seat is taken",
            "The seat has been filled (or the charter changed), so the offer was withdrawn.".to_string(),
        ),
        OfferStatus::Expired | OfferStatus::Offered => (
            "This offer has expired",
            format!(
                "It was open until {}; the seat has gone to the next person.",
                local(pages, offer.expires_at.min(now))
            ),
        ),
    };
    let page = layout(title, html! { h1 { (title) } (details(c, captain)) p { (text) } });
    let status = if offer.status == OfferStatus::Accepted {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    (status, page).into_response()
}

async fn schedule_page(pages: &CrewPages, crew: &CrewId, now: DateTime<Utc>) -> Response {
    let store = &pages.dispatcher.store;
    let today = pages.zone.date_of(now);
    let charters = match store.list_charters_between(today, today + Duration::days(120)).await {
        Ok(c) => c,
        Err(e) => return unavailable(pages, &e.to_string()),
    };
    let mine: Vec<&Charter> = charters
        .iter()
        .filter(|c| c.status != jada_core::CharterStatus::Cancelled && c.people().any(|p| p == crew))
        .collect();
    let offers = match store.list_open_offers_for_crew(crew).await {
        Ok(o) => o,
        Err(e) => return unavailable(pages, &e.to_string()),
    };
    let mut open = Vec::new();
    for o in offers.iter().filter(|o| !o.is_expired_at(now)) {
        if let Ok(Some(c)) = store.get_charter(o.charter_id).await {
            let token = pages
                .dispatcher
                .links
                .token(crew.as_str(), Purpose::Offer(o.offer_id), now);
            open.push((o, c, token));
        }
    }
    let body = html! {
        h1 { "Your schedule" }
        h2 { "Open offers" }
        @if open.is_empty() { p { "None right now." } }
        ul {
            @for (o, c, token) in &open {
                li { a href=(format!("/c/{token}")) { (fmt_when(c)) " on " (c.vessel_name) } " (answer by " (local(pages, o.expires_at)) ")" }
            }
        }
        h2 { "Upcoming" }
        @if mine.is_empty() { p { "Nothing booked yet." } }
        ul {
            @for c in &mine {
                li { (fmt_when(c)) " on " (c.vessel_name) ", "
                    (if c.captain_assigned.as_ref() == Some(crew) { "captain" } else { "crew" }) }
            }
        }
        p.contact { "Questions? Contact the office: " a href=(format!("mailto:{}", pages.contact)) { (pages.contact) } }
    };
    layout(&format!("{}: your schedule", pages.business), body).into_response()
}

async fn accept(
    State(pages): State<Arc<CrewPages>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    respond(&pages, &token, &headers, &form, Answer::Accept).await
}

async fn decline(
    State(pages): State<Arc<CrewPages>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    respond(&pages, &token, &headers, &form, Answer::Decline).await
}

/// A POST from the offer page: the CSRF cookie and field must match, then the answer.
async fn respond(
    pages: &CrewPages,
    token: &str,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    answer: Answer,
) -> Response {
    if !CSRF.check(headers, form) {
        let page = message(
            pages,
            "Please answer from the offer page",
            "Your answer was not recorded: open the link from your message again and press the button there.",
        );
        return (StatusCode::FORBIDDEN, page).into_response();
    }
    let now = pages.clock.now();
    let claims = match check(pages, token, now) {
        Ok(c) => c,
        Err(p) => return refused(pages, p),
    };
    let (Purpose::Offer(id), Ok(crew)) = (claims.purpose, CrewId::parse(&claims.subject)) else {
        return refused(pages, LinkProblem::Invalid);
    };
    let answered = match pages.dispatcher.answer(id, &crew, answer, now).await {
        Ok(a) => a,
        Err(e) => return unavailable(pages, &e.to_string()),
    };
    let (offer, charter, captain) = match load_offer(pages, id, &crew).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match answered {
        Answered::Accepted(c) => {
            let page = layout(
                "Confirmed",
                html! { h1 { "Confirmed: you're on board" } (details(&c, &captain)) p { "Thank you! The office has been told." } },
            );
            page.into_response()
        }
        Answered::Declined => {
            let page = layout(
                "Declined",
                html! { h1 { "Thanks, you declined" } (details(&charter, &captain)) p { "The seat will be offered to someone else." } },
            );
            page.into_response()
        }
        Answered::SeatTaken => seat_taken(&charter, &captain, "Someone else accepted it first."),
        Answered::Busy(_) => seat_taken(&charter, &captain, "You are on another charter at that time."),
        Answered::CharterClosed | Answered::AlreadyClosed(_) => closed_page(pages, &offer, &charter, &captain, now),
        Answered::NotYours => refused(pages, LinkProblem::Invalid),
    }
}

fn seat_taken(c: &Charter, captain: &str, why: &str) -> Response {
    let page = layout(
        "This seat is taken",
        html! { h1 { "Sorry, this seat is taken" } (details(c, captain)) p { (why) } },
    );
    (StatusCode::CONFLICT, page).into_response()
}
