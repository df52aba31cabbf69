//! Office sign-in: an emailed magic link (15 minutes, single use) confirmed with a button
//! (a GET never signs anyone in: mail scanners open links), then a session cookie.

// Handlers' helpers return `Result<_, Response>` so `?`-style early answers read
// plainly; the response is built once per request, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;

use super::OfficeState;
use super::{layout, office};
use crate::web::cookie;

pub const SESSION_COOKIE: &str = "jada_session";

/// The signed-in user. As an extractor it is the session check: a handler that takes
/// `SignedIn` (or [`Checked`]) cannot run without a live session; without one the
/// visitor is sent to sign in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub email: String,
    /// The cookie's secret (never shown; the CSRF token derives from it).
    pub secret: String,
    pub csrf: String,
}

impl FromRequestParts<Arc<OfficeState>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<OfficeState>) -> Result<Self, Response> {
        let now = shared.clock.now();
        let secret = cookie(&parts.headers, SESSION_COOKIE).unwrap_or_default();
        match jada_ops::office::session(shared.store.as_ref(), &shared.office.users.get(), &secret, now).await {
            Ok(Some(s)) => Ok(SignedIn {
                email: s.email,
                csrf: jada_ops::office::csrf_token(&secret),
                secret,
            }),
            Ok(None) => {
                let next = if parts.method == axum::http::Method::GET {
                    parts.uri.path().to_string()
                } else {
                    "/office".to_string()
                };
                Err(Redirect::to(&format!("/office/sign-in?next={}", url_escape(&next))).into_response())
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot check the session");
                Err((StatusCode::SERVICE_UNAVAILABLE, "the store is unavailable; try again").into_response())
            }
        }
    }
}

/// A form POST from a signed-in user, its CSRF token checked: every office action takes
/// this, so none can forget either check.
pub struct Checked {
    pub who: SignedIn,
    pub form: HashMap<String, String>,
}

impl FromRequest<Arc<OfficeState>> for Checked {
    type Rejection = Response;

    async fn from_request(req: Request, shared: &Arc<OfficeState>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let who = SignedIn::from_request_parts(&mut parts, shared).await?;
        let Form(form) = Form::<HashMap<String, String>>::from_request(Request::from_parts(parts, body), shared)
            .await
            .map_err(IntoResponse::into_response)?;
        check_csrf(&who, &form)?;
        Ok(Checked { who, form })
    }
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A form POST must carry the session's CSRF token.
fn check_csrf(who: &SignedIn, form: &HashMap<String, String>) -> Result<(), Response> {
    if crate::web::same_secret(form.get("csrf").map(String::as_str).unwrap_or(""), &who.csrf) {
        Ok(())
    } else {
        Err(refused_post())
    }
}

fn refused_post() -> Response {
    let page = layout(
        "Refused",
        None,
        html! { h1 { "That form was refused" } p { "It did not come from a jada page (its security token is missing or stale). Go back, reload the page and try again." } },
    );
    (StatusCode::FORBIDDEN, page).into_response()
}

/// The pages before sign-in have no session: a double-submit cookie guards their forms.
const PRE: crate::web::CsrfCookie = crate::web::CsrfCookie {
    name: "jada_pre",
    path: "/office",
    max_age_secs: 3600,
};

pub async fn sign_in_page(State(shared): State<Arc<OfficeState>>, headers: HeaderMap) -> Response {
    let (csrf, set) = PRE.issue(&headers, office(&shared).secure_cookies);
    let body = html! {
        h1 { "Sign in to jada" }
        p { "Enter your office email address; a sign-in link will be mailed to you." }
        form method="post" action="/office/sign-in" {
            input type="hidden" name="csrf" value=(csrf);
            label for="email" { "Email" }
            input #email type="email" name="email" required autocomplete="email";
            button type="submit" { "Mail me a link" }
        }
    };
    ([(header::SET_COOKIE, set)], layout("Sign in", None, body)).into_response()
}

/// Sign-in requests allowed per client address and per email address. Past the
/// client's limit the page says to wait (429); past the address's, the same "check your
/// mail" page as always, and no mail: the form never tells who may sign in.
pub struct SignInLimits {
    pub per_client: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
    pub per_address: governor::DefaultKeyedRateLimiter<String>,
}

impl Default for SignInLimits {
    fn default() -> Self {
        use governor::{Quota, RateLimiter};
        use std::num::NonZeroU32;
        let n = |v: u32| NonZeroU32::new(v).expect("non-zero");
        SignInLimits {
            // 10 a minute from one client, in bursts of up to 10.
            per_client: RateLimiter::keyed(Quota::per_minute(n(10))),
            // 3 links per address, then one every 5 minutes.
            per_address: RateLimiter::keyed(
                Quota::with_period(std::time::Duration::from_secs(300))
                    .expect("a non-zero period")
                    .allow_burst(n(3)),
            ),
        }
    }
}

pub async fn request_link(
    State(shared): State<Arc<OfficeState>>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !PRE.check(&headers, &form) {
        return refused_post();
    }
    let o = office(&shared);
    let client = crate::web::client_ip(&headers, &extensions, o.behind_proxy);
    if o.sign_in_limits.per_client.check_key(&client).is_err() {
        let page = layout(
            "Too many requests",
            None,
            html! { h1 { "Too many sign-in requests" } p { "Please wait a minute and try again." } },
        );
        return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "60")], page).into_response();
    }
    let email = form.get("email").cloned().unwrap_or_default();
    let address = email.trim().to_lowercase();
    if o.sign_in_limits.per_address.check_key(&address).is_ok() {
        if let Err(e) =
            jada_ops::office::request_link(shared.store.as_ref(), &o.users.get(), &email, shared.clock.now()).await
        {
            // The store, not mail: the same for every address.
            tracing::error!(error = %e, "cannot queue a sign-in link");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the store is unavailable; see the daemon's log",
            )
                .into_response();
        }
    } else {
        tracing::warn!("sign-in links asked too often for one address; no mail sent");
    }
    layout(
        "Check your mail",
        None,
        html! { h1 { "Check your mail" } p { "If that address may sign in, a link is on its way. It works once, for 15 minutes." } },
    )
}

/// `GET /office/auth/{token}`: a button, so that opening the link changes nothing.
pub async fn confirm_page(
    State(shared): State<Arc<OfficeState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (csrf, set) = PRE.issue(&headers, office(&shared).secure_cookies);
    let body = html! {
        h1 { "Sign in to jada" }
        form method="post" action=(format!("/office/auth/{token}")) {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { "Sign in" }
        }
    };
    ([(header::SET_COOKIE, set)], layout("Sign in", None, body)).into_response()
}

pub async fn redeem(
    State(shared): State<Arc<OfficeState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !PRE.check(&headers, &form) {
        return refused_post();
    }
    let o = office(&shared);
    let now = shared.clock.now();
    match jada_ops::office::redeem(
        shared.store.as_ref(),
        &o.dispatcher.links,
        &o.users.get(),
        &token,
        o.session_hours,
        now,
    )
    .await
    {
        Ok(s) => {
            let flag = if o.secure_cookies { "; Secure" } else { "" };
            let cookie = format!(
                "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{flag}",
                s.secret,
                o.session_hours * 3600
            );
            tracing::info!(user = %s.session.email, "office sign-in");
            ([(header::SET_COOKIE, cookie)], Redirect::to("/office")).into_response()
        }
        Err(jada_ops::office::SignInError::Store(e)) => {
            tracing::error!(error = %e, "cannot sign in");
            (StatusCode::SERVICE_UNAVAILABLE, "the store is unavailable; try again").into_response()
        }
        Err(e) => {
            let page = layout(
                "Sign-in link refused",
                None,
                html! { h1 { "This sign-in link cannot be used" } p { (e.to_string()) "." } p { a href="/office/sign-in" { "Ask for a new link" } } },
            );
            (StatusCode::GONE, page).into_response()
        }
    }
}

pub async fn sign_out(State(shared): State<Arc<OfficeState>>, Checked { who, .. }: Checked) -> Response {
    if let Err(e) = shared
        .store
        .delete_session(&jada_ops::office::digest(&who.secret))
        .await
    {
        tracing::error!(error = %e, "cannot end the session");
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    ([(header::SET_COOKIE, clear)], Redirect::to("/office/sign-in")).into_response()
}
