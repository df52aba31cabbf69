//! `POST /mcp`: jada's MCP server (`jada_mcp`) in the daemon, behind the booking API's
//! keys. A request without a live key is refused with the API's 401 before the MCP
//! service sees it; an authenticated one carries its caller — the key's name, and
//! whether it was made `--mcp-read-only` — to the tools.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use jada_ops::agent::{Caller, Direct};
use jada_store::Store;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// The `/mcp` route. `public_url` (`[server] public_url`) names the host a remote client
/// reaches the daemon by; loopback is always accepted.
pub fn router(store: Arc<dyn Store>, direct: Arc<Direct>, public_url: &str, shutdown: CancellationToken) -> Router {
    let service = jada_mcp::http::service(direct, hosts_of(public_url), shutdown);
    Router::new()
        .nest_service("/mcp", service)
        .layer(middleware::from_fn_with_state(store, authenticate))
}

/// The host (and host:port) of the public URL, as a `Host` header names it.
fn hosts_of(public_url: &str) -> Vec<String> {
    let rest = public_url.split_once("://").map_or(public_url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Vec::new();
    }
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    let mut hosts = vec![authority.to_string()];
    if host != authority {
        hosts.push(host.to_string());
    }
    hosts
}

async fn authenticate(State(store): State<Arc<dyn Store>>, mut req: Request, next: Next) -> Response {
    let key = crate::web::bearer(req.headers()).unwrap_or("");
    match jada_ops::office::check_api_key(store.as_ref(), key).await {
        Ok(Some(k)) => {
            req.extensions_mut().insert(Caller {
                name: k.name,
                read_only: k.mcp_read_only,
            });
            next.run(req).await
        }
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"jada\"")],
            Json(json!({
                "code": "unauthorized",
                "detail": "send `Authorization: Bearer <key>` with a live key from `jada api-key create NAME` (add --mcp-read-only for a client that may only read)"
            })),
        )
            .into_response(),
        Err(e) => crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "store", &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::hosts_of;

    #[test]
    fn the_public_host_is_accepted_with_and_without_its_port() {
        assert_eq!(hosts_of("https://jada.example.com"), vec!["jada.example.com"]);
        assert_eq!(
            hosts_of("http://office.lan:8080/"),
            vec!["office.lan:8080", "office.lan"]
        );
        assert!(hosts_of("").is_empty());
    }
}
