//! `POST /mcp`: the MCP server over streamable HTTP, as a service the daemon mounts
//! behind its API-key check (which puts the request's [`Caller`] in its extensions).
//!
//! Stateless: every request is answered on its own (the 2026-07-28 protocol has no
//! sessions, and an older client's requests need none here: jada's own records carry
//! what a session would), with a JSON body rather than an event stream where the
//! answer is one message.

use std::sync::Arc;

use jada_ops::agent::direct::Direct;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::server::JadaMcp;

/// The service for `/mcp`. `hosts` are the `Host` values accepted besides loopback (the
/// daemon's public host): a request naming any other host is refused, as a defence
/// against DNS rebinding from a browser.
pub fn service(
    direct: Arc<Direct>,
    hosts: Vec<String>,
    shutdown: CancellationToken,
) -> StreamableHttpService<JadaMcp, LocalSessionManager> {
    let mut allowed = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    allowed.extend(hosts);
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(allowed)
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_cancellation_token(shutdown);
    StreamableHttpService::new(
        move || Ok(JadaMcp::per_request(Arc::clone(&direct))),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}
