//! What every web area shares: cookies, the page headers, constant-time secret
//! comparison, the double-submit CSRF cookie, and the redaction of secret-carrying paths
//! for the access log. Imports no web area, so the areas (crew pages, office pages,
//! booking API, operator endpoints) never import each other.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use subtle::ConstantTimeEq;

/// Path prefixes whose next segment is a secret (a magic-link token): every route that
/// carries a secret in its path is listed here, and the access log shows `[token]`
/// instead. A route added with a secret in its path must be added here; the secrets
/// test greps a debug-level run for every token issued.
pub const SECRET_PATHS: &[&str] = &["/c/", "/office/auth/"];

/// The token of an `Authorization: Bearer <token>` header (the API's keys, the admin
/// token), trimmed.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The path as the access log may show it: the secret segment of a [`SECRET_PATHS`]
/// route replaced by `[token]`.
pub fn redact(path: &str) -> String {
    for prefix in SECRET_PATHS {
        if let Some(rest) = path.strip_prefix(prefix) {
            return match rest.split_once('/') {
                Some((_, tail)) => format!("{prefix}[token]/{tail}"),
                None => format!("{prefix}[token]"),
            };
        }
    }
    path.to_string()
}

/// A request cookie's value (the crew and office pages' CSRF and session cookies).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The headers every page behind a token or a session carries: no referrer (tokens are
/// in URLs), the given strict CSP, no framing, no sniffing, no caching.
pub fn page_headers(resp: &mut Response, csp: &'static str) {
    let h = resp.headers_mut();
    for (k, v) in [
        ("referrer-policy", "no-referrer"),
        ("content-security-policy", csp),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
}

/// Equal and not empty, compared in constant time (CSRF tokens, bearer keys).
pub fn same_secret(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A double-submit CSRF token for forms without a session (crew pages, sign-in): a
/// random value in an HttpOnly, SameSite=Strict cookie that the form repeats.
pub struct CsrfCookie {
    pub name: &'static str,
    pub path: &'static str,
    pub max_age_secs: u32,
}

impl CsrfCookie {
    /// The value for the form (the browser's, or a new one) and the Set-Cookie header.
    pub fn issue(&self, headers: &HeaderMap, secure: bool) -> (String, String) {
        let v = cookie(headers, self.name)
            .filter(|v| v.len() == 32)
            .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
        let flag = if secure { "; Secure" } else { "" };
        let set = format!(
            "{}={v}; Path={}; HttpOnly; SameSite=Strict; Max-Age={}{flag}",
            self.name, self.path, self.max_age_secs
        );
        (v, set)
    }

    /// Whether a posted form's `csrf` field matches the cookie.
    pub fn check(&self, headers: &HeaderMap, form: &std::collections::HashMap<String, String>) -> bool {
        same_secret(
            &cookie(headers, self.name).unwrap_or_default(),
            form.get("csrf").map(String::as_str).unwrap_or(""),
        )
    }
}

/// The client's address: the last `X-Forwarded-For` entry behind a proxy (the one the
/// proxy itself added), else the connection's peer.
pub fn client_ip(
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
    behind_proxy: bool,
) -> std::net::IpAddr {
    let forwarded = behind_proxy
        .then(|| headers.get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok());
    forwarded.unwrap_or_else(|| {
        extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
    })
}
