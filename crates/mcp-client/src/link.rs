//! One server's connection, kept up by a task: connect, list the tools, relist them when
//! the server says they changed, and on a lost connection mark the server down and try
//! again after a backoff (1 s doubling to 5 min, reset once a connection has held a
//! minute). A server's trouble lasts until a connection has held that minute, so a
//! server that keeps dying and being restarted is one alert, not one per restart.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use jada_core::{Backoff, Clock};
use jada_ops::agent::tools::ServerHealth;
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, Tool};
use rmcp::service::{NotificationContext, Peer, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use tokio::io::AsyncBufReadExt;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use super::http::Http;
use jada_ops::agent::tools::Reach;

const BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));
/// A connection that held this long starts the backoff over when it ends.
const HELD: Duration = Duration::from_secs(60);
/// How often a connected server is asked for its tools: a server that stopped answering
/// (an HTTP server gone, a process hung) is found without waiting for a call, and one
/// that changed its tools without saying so is seen.
const PROBE_EVERY: Duration = Duration::from_secs(60);
/// Connecting (a process starting, the initialize handshake, the first tool list) may
/// take this long before it counts as a failure.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What a call needs of a server, and what its keeper keeps current.
pub(super) struct Server {
    pub(super) name: String,
    pub(super) timeout: Duration,
    state: RwLock<State>,
    /// `true` once the first connection attempt has finished, either way.
    settled: watch::Sender<bool>,
    /// A call saw the connection fail: the keeper reconnects.
    broken: Notify,
    clock: Arc<dyn Clock>,
    alerts_due: Arc<Notify>,
}

#[derive(Default)]
struct State {
    peer: Option<Peer<RoleClient>>,
    tools: Vec<Tool>,
    /// Why it last failed and since when, until a connection has held [`HELD`]: a
    /// server that restarts and dies again stays one trouble (one alert), not one per
    /// restart.
    trouble: Option<(String, DateTime<Utc>)>,
    /// The last line the server's process wrote on stderr (often why it exited).
    said: Option<String>,
    /// The server said its tools changed: list them again before they are next used.
    stale: bool,
}

impl Server {
    pub(super) fn new(name: String, timeout: Duration, clock: Arc<dyn Clock>, alerts_due: Arc<Notify>) -> Arc<Server> {
        Arc::new(Server {
            name,
            timeout,
            state: RwLock::new(State::default()),
            settled: watch::Sender::new(false),
            broken: Notify::new(),
            clock,
            alerts_due,
        })
    }

    fn state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn state_mut(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits, at most `bound`, for the first connection attempt to finish.
    pub(super) async fn settled(&self, bound: Duration) {
        let mut rx = self.settled.subscribe();
        let _ = tokio::time::timeout(bound, rx.wait_for(|s| *s)).await;
    }

    pub(super) fn tools(&self) -> Vec<Tool> {
        self.state().tools.clone()
    }

    /// Its tools, listed again first if it said they changed (or `always`).
    pub(super) async fn current_tools(&self, always: bool) -> Vec<Tool> {
        let stale = {
            let s = self.state();
            (always || s.stale).then(|| s.peer.clone()).flatten()
        };
        if let Some(peer) = stale {
            match tokio::time::timeout(self.timeout, peer.list_all_tools()).await {
                Ok(Ok(tools)) => self.relisted(tools),
                Ok(Err(e)) => self.lost(&format!("listing its tools again failed: {e}")),
                Err(_) => tracing::warn!(server = %self.name, "listing its tools again timed out"),
            }
        }
        self.tools()
    }

    /// The connection to call through, or the error a call answers while it is down.
    pub(super) fn peer(&self) -> Result<Peer<RoleClient>, String> {
        let s = self.state();
        match (&s.peer, &s.trouble) {
            (Some(p), _) => Ok(p.clone()),
            (None, Some((why, since))) => Err(format!(
                "the MCP server `{}` is down since {} ({why}); its tools cannot run now. jada reconnects by itself: carry on with the other tools, and say in your summary what could not be done",
                self.name,
                since.format("%Y-%m-%d %H:%M UTC")
            )),
            (None, None) => Err(format!(
                "the MCP server `{}` is still connecting; try again shortly",
                self.name
            )),
        }
    }

    pub(super) fn health(&self) -> ServerHealth {
        let s = self.state();
        ServerHealth {
            server: self.name.clone(),
            down: s.trouble.clone(),
            up: s.peer.is_some(),
        }
    }

    /// Asks the server for its tools (keeping the answer), or says why it did not answer.
    async fn probe(&self) -> Result<(), String> {
        let Some(peer) = self.state().peer.clone() else {
            return Ok(());
        };
        match tokio::time::timeout(self.timeout, peer.list_all_tools()).await {
            Ok(Ok(tools)) => {
                self.relisted(tools);
                Ok(())
            }
            Ok(Err(e)) => Err(format!("it stopped answering: {e}")),
            Err(_) => Err(format!("it did not answer within {} s", self.timeout.as_secs())),
        }
    }

    /// A call found the connection broken: the keeper drops it and reconnects.
    pub(super) fn lost(&self, why: &str) {
        tracing::warn!(server = %self.name, error = why, "MCP server connection failed during a call");
        self.broken.notify_waiters();
    }

    fn up(&self, peer: Peer<RoleClient>, tools: Vec<Tool>) {
        {
            let mut s = self.state_mut();
            s.peer = Some(peer);
            s.tools = tools;
            s.stale = false;
        }
        tracing::info!(server = %self.name, tools = self.tools().len(), "MCP server connected");
        self.settled.send_replace(true);
    }

    /// The connection has held [`HELD`]: whatever went wrong before is over.
    fn steady(&self) {
        if self.state_mut().trouble.take().is_some() {
            tracing::info!(server = %self.name, "MCP server is back and has stayed up");
            self.alerts_due.notify_one();
        }
    }

    fn down(&self, why: String) {
        let why = match self.state().said.clone() {
            Some(said) if !why.contains(&said) => format!("{why}; it said: {said}"),
            _ => why,
        };
        tracing::warn!(server = %self.name, error = %why, "MCP server is down");
        {
            let mut s = self.state_mut();
            s.peer = None;
            // Keep the first moment of the trouble across restarts that did not hold.
            let since = s.trouble.as_ref().map_or_else(|| self.clock.now(), |(_, t)| *t);
            s.trouble = Some((why, since));
        }
        self.settled.send_replace(true);
        self.alerts_due.notify_one();
    }

    fn heard(&self, line: String) {
        tracing::info!(server = %self.name, "{line}");
        self.state_mut().said = Some(jada_core::text::truncate(&line, 300));
    }

    fn relisted(&self, tools: Vec<Tool>) {
        tracing::debug!(server = %self.name, tools = tools.len(), "MCP server's tools listed again");
        let mut s = self.state_mut();
        s.tools = tools;
        s.stale = false;
    }
}

/// Tells the keeper what the server announces.
#[derive(Clone)]
struct Listener(Arc<Server>);

impl ClientHandler for Listener {
    async fn on_tool_list_changed(&self, _ctx: NotificationContext<RoleClient>) {
        // Listed again where the tools are next needed (a session's next turn, a call),
        // not here: a request made from the connection's own handler would wait on it.
        self.0.state_mut().stale = true;
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("jada", env!("CARGO_PKG_VERSION")),
        )
    }
}

/// Keeps `server` connected until `stop`.
pub(super) async fn keep(server: Arc<Server>, reach: Reach, stop: CancellationToken) {
    let mut failures = 0u32;
    loop {
        let connected = tokio::select! {
            _ = stop.cancelled() => return,
            c = tokio::time::timeout(CONNECT_TIMEOUT, connect(&server, &reach)) => c,
        };
        match connected {
            Err(_) => server.down(format!(
                "it did not finish connecting within {} s",
                CONNECT_TIMEOUT.as_secs()
            )),
            Ok(Err(why)) => server.down(why),
            Ok(Ok((running, tools))) => {
                server.up(running.peer().clone(), tools);
                let session = running.cancellation_token();
                let ended = running.waiting();
                tokio::pin!(ended);
                let held = tokio::time::sleep(HELD);
                tokio::pin!(held);
                let mut steady = false;
                let mut probe = tokio::time::interval_at(tokio::time::Instant::now() + PROBE_EVERY, PROBE_EVERY);
                let why = loop {
                    tokio::select! {
                        _ = probe.tick() => {
                            if let Err(why) = server.probe().await {
                                break why;
                            }
                        }
                        _ = stop.cancelled() => {
                            session.cancel();
                            return;
                        }
                        _ = &mut held, if !steady => {
                            steady = true;
                            server.steady();
                        }
                        _ = server.broken.notified() => break "a call found the connection broken".to_string(),
                        end = &mut ended => break match end {
                            Ok(_) => "the connection closed (the server stopped)".to_string(),
                            Err(e) => format!("the connection ended: {e}"),
                        },
                    }
                };
                session.cancel();
                server.down(why);
                if steady {
                    failures = 0;
                }
            }
        }
        failures += 1;
        let wait = BACKOFF.delay(failures, rand::random::<f64>(), None);
        tracing::info!(server = %server.name, wait_s = wait.as_secs_f64(), "reconnecting to the MCP server after a wait");
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

type Running = RunningService<RoleClient, Listener>;

/// One connection: the session and the server's tools.
async fn connect(server: &Arc<Server>, reach: &Reach) -> Result<(Running, Vec<Tool>), String> {
    let listener = Listener(server.clone());
    let running = match reach {
        Reach::Stdio {
            program,
            args,
            env,
            dir,
        } => {
            let mut cmd = tokio::process::Command::new(program);
            cmd.args(args).current_dir(dir).env_clear();
            // Only what a program needs to run; jada's own secrets stay out of it.
            for var in ["PATH", "HOME", "LANG"] {
                if let Ok(v) = std::env::var(var) {
                    cmd.env(var, v);
                }
            }
            cmd.envs(env);
            let (child, stderr) = TokioChildProcess::builder(cmd)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot start `{program}`: {e}"))?;
            let said = stderr.map(|err| {
                let server = server.clone();
                tokio::spawn(async move {
                    let mut lines = tokio::io::BufReader::new(err).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        server.heard(line);
                    }
                })
            });
            match listener.serve(child).await {
                Ok(running) => running,
                Err(e) => {
                    // A process that exits at once usually says why on stderr: read it
                    // to the end (briefly) so the reason reaches the alert.
                    if let Some(said) = said {
                        let _ = tokio::time::timeout(Duration::from_secs(2), said).await;
                    }
                    return Err(format!("`{program}` did not start an MCP session: {e}"));
                }
            }
        }
        Reach::Http { url, token } => {
            let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
            if let Some(t) = token {
                config = config.auth_header(t.clone());
            }
            let transport = StreamableHttpClientTransport::with_client(Http(reqwest::Client::new()), config);
            listener
                .serve(transport)
                .await
                .map_err(|e| format!("{url} did not start an MCP session: {e}"))?
        }
    };
    let tools = running
        .peer()
        .list_all_tools()
        .await
        .map_err(|e| format!("listing its tools failed: {e}"))?;
    Ok((running, tools))
}
