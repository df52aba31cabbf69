//! `jada agent approve|deny|resume` through the running daemon, when the agent is
//! configured only there (`jada serve --demo` runs its model in-process): the daemon's
//! admin API decides with its own agent, and the answer is printed as a local run's.

use std::time::Duration;

use jada_core::agent::Approval;
use jada_ops::agent::Report;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::commands::Context;
use crate::Failure;

/// The daemon of this data directory, when agent sessions are off here but it runs.
pub struct Daemon {
    url: String,
    token: String,
}

/// What the daemon answered.
#[derive(Deserialize)]
pub struct Answer {
    #[serde(default)]
    pub approval: Option<Approval>,
    pub session: Report,
}

impl Daemon {
    /// The local daemon to ask, if the agent is off in this configuration and one runs.
    pub fn find(app: &Context) -> Option<Daemon> {
        if app.config.agent.provider.is_some() {
            return None;
        }
        let daemon = app.data.running_daemon()?;
        let token = app.admin_token(false).ok().flatten()?;
        Some(Daemon {
            url: daemon.url(),
            token,
        })
    }

    pub async fn decide(&self, id: u64, approve: bool, reason: Option<&str>, by: &str) -> Result<Answer, Failure> {
        let verb = if approve { "approve" } else { "deny" };
        self.post(
            &format!("/api/agent/approvals/{id}/{verb}"),
            json!({"reason": reason, "by": by}),
        )
        .await
    }

    pub async fn resume(&self, id: u64, turns: Option<u32>) -> Result<Answer, Failure> {
        self.post(&format!("/api/agent/sessions/{id}/resume"), json!({"turns": turns}))
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Answer, Failure> {
        let url = format!("{}{path}", self.url.trim_end_matches('/'));
        // A session carried on may take many model turns: no short timeout.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3600))
            .build()
            .map_err(Failure::op)?;
        let resp = http
            .post(&url)
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                Failure::op(anyhow::anyhow!(
                    "cannot reach the daemon at {}: {}",
                    self.url,
                    e.without_url()
                ))
            })?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return serde_json::from_value(v)
                .map_err(|e| Failure::op(anyhow::anyhow!("the daemon's answer is unreadable: {e}")));
        }
        let detail = v["detail"].as_str().unwrap_or("no detail").to_string();
        let e = anyhow::anyhow!("the daemon at {} refused: {detail}", self.url);
        Err(match status.as_u16() {
            404 => Failure::Usage(e),
            _ => Failure::op(e),
        })
    }
}
