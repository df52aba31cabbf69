//! Outgoing mail. Messages are built as proper MIME with lettre; the embedded default
//! writes each one as an `.eml` file in the data directory's `outbox/` folder (Gmail
//! sending arrives with the statements issue, behind the same trait).

use std::path::PathBuf;

use async_trait::async_trait;
use lettre::message::{header::ContentType, Mailbox};
use lettre::Message;

/// A message to send: plain text for now (attachments come with statements).
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends (or files) one message; returns where it went, for the log.
    async fn send(&self, mail: &Mail) -> Result<String, String>;
}

/// Builds the RFC 5322 message.
pub fn build(mail: &Mail) -> Result<Message, String> {
    let parse = |a: &str| {
        a.parse::<Mailbox>()
            .map_err(|e| format!("`{a}` is not a mail address: {e}"))
    };
    let mut b = Message::builder().from(parse(&mail.from)?).subject(&mail.subject);
    for to in &mail.to {
        b = b.to(parse(to)?);
    }
    b.header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|e| format!("cannot build the message: {e}"))
}

/// Files each message as `<outbox>/<timestamp>-<id>.eml`.
pub struct EmlOutbox {
    pub dir: PathBuf,
}

#[async_trait]
impl Mailer for EmlOutbox {
    async fn send(&self, mail: &Mail) -> Result<String, String> {
        let bytes = build(mail)?.formatted();
        let name = format!(
            "{}-{}.eml",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
            uuid::Uuid::new_v4().simple()
        );
        let path = self.dir.join(name);
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        tokio::fs::write(&path, bytes)
            .await
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_are_filed_as_eml() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = EmlOutbox {
            dir: dir.path().join("outbox"),
        };
        let mail = Mail {
            from: "jada@example.com".into(),
            to: vec!["office@example.com".into()],
            subject: "Alert".into(),
            body: "héllo".into(),
        };
        let path = outbox.send(&mail).await.unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.contains("Subject: Alert") && text.contains("To: office@example.com"),
            "{text}"
        );
        let bad = Mail {
            to: vec!["not an address".into()],
            ..mail
        };
        assert!(outbox.send(&bad).await.unwrap_err().contains("not a mail address"));
    }
}
