//! Where alert notifications go: the log, a webhook (JSON with a Slack-compatible
//! `text`), and mail (through the mail sink: `.eml` files in the embedded default).

use std::sync::Arc;

use async_trait::async_trait;
use jada_ops::mail::{Mail, Mailer};
use serde_json::json;

use super::{NoticeKind, Notification};

pub use crate::delivery::SinkError;

#[async_trait]
pub trait AlertSink: Send + Sync {
    fn name(&self) -> &'static str;
    async fn send(&self, n: &Notification) -> Result<(), SinkError>;
}

/// Writes every notification to the log (always configured).
pub struct LogSink;

#[async_trait]
impl AlertSink for LogSink {
    fn name(&self) -> &'static str {
        "log"
    }

    async fn send(&self, n: &Notification) -> Result<(), SinkError> {
        match n.kind {
            NoticeKind::Resolved => tracing::info!(alert = %n.key, "{}", n.text()),
            _ => tracing::error!(alert = %n.key, "{}", n.text()),
        }
        Ok(())
    }
}

/// POSTs `{"text": ..., "alert": key, "status": firing|reminder|resolved, "since": ...}`.
pub struct WebhookSink {
    pub url: String,
    pub http: reqwest::Client,
}

#[async_trait]
impl AlertSink for WebhookSink {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, n: &Notification) -> Result<(), SinkError> {
        let status = match n.kind {
            NoticeKind::Firing => "firing",
            NoticeKind::Reminder => "reminder",
            NoticeKind::Resolved => "resolved",
        };
        let body = json!({ "text": n.text(), "alert": n.key, "status": status, "since": n.since.to_rfc3339() });
        // The URL carries the webhook's secret: never put it in an error.
        let resp = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| SinkError::Unreachable {
                sink: "webhook",
                detail: e.without_url().to_string(),
            })?;
        let status = resp.status();
        let detail = format!("it answered {status}");
        match status {
            s if s.is_success() => Ok(()),
            s if s.is_server_error() || s.as_u16() == 429 => Err(SinkError::Unreachable {
                sink: "webhook",
                detail,
            }),
            _ => Err(SinkError::Refused {
                sink: "webhook",
                detail,
            }),
        }
    }
}

/// Mails each notification to the configured addresses.
pub struct MailSink {
    pub mailer: Arc<dyn Mailer>,
    pub from: String,
    pub to: Vec<String>,
}

#[async_trait]
impl AlertSink for MailSink {
    fn name(&self) -> &'static str {
        "email"
    }

    async fn send(&self, n: &Notification) -> Result<(), SinkError> {
        let subject: String = format!("[jada] {}", n.text()).chars().take(150).collect();
        let body = format!(
            "{}\n\nAlert: {}\nSince: {}\n\nSee `jada doctor` for the whole picture.\n",
            n.text(),
            n.key,
            n.since.to_rfc3339()
        );
        let mail = Mail {
            from: self.from.clone(),
            to: self.to.clone(),
            subject,
            body,
            ..Mail::default()
        };
        self.mailer.send(&mail).await?;
        Ok(())
    }
}
