//! The HTTP listener, with the limits a public daemon needs: a connection that has not
//! sent a whole request head within [`Limits::header_read`] — a silent one, one
//! trickling header lines, an idle keep-alive — is closed; at most
//! [`Limits::max_connections`] are served at once (the rest wait in the kernel's
//! backlog, so `/healthz` keeps answering); running out of file descriptors pauses
//! accepting instead of spinning. HTTP/1.1 only (jada serves no HTTP/2).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

/// How long a client may take and how many may be served at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request head (request line and headers) must arrive within this, counted from
    /// when the connection is ready for one: this is also the keep-alive idle timeout.
    pub header_read: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// Serves `app` until `stop`, then lets open connections finish their request.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, stop: CancellationToken) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let connections = TaskTracker::new();
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&slots).acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.cancelled() => break,
        };
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: wait for descriptors to free instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.cancelled() => break,
        };
        let app = app.clone();
        let stop = stop.clone();
        connections.spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let mut req = req.map(axum::body::Body::new);
                // The crew pages' rate limiter keys on the client's address.
                req.extensions_mut().insert(ConnectInfo(remote));
                let mut app = app.clone();
                async move { app.call(req).await }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => log_end(r, remote),
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    log_end(conn.await, remote);
                }
            }
        });
    }
    connections.close();
    connections.wait().await;
}

fn log_end(r: Result<(), hyper::Error>, remote: SocketAddr) {
    if let Err(e) = r {
        // A client that went away or was too slow is routine, not an error of ours.
        tracing::debug!(%remote, error = %e, "connection ended");
    }
}
