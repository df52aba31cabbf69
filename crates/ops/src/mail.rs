//! Outgoing mail. Messages are built as proper MIME with lettre (a plain-text body, and
//! attachments with their content type and UTF-8 file names); the embedded default
//! writes each one as an `.eml` file in the data directory's `outbox/` folder, and
//! [`GmailMailer`] sends it with Gmail's `users.messages.send`.

use std::path::PathBuf;

use async_trait::async_trait;
use jada_core::{Fault, Recovery};
use jada_google::client::{GoogleClient, GoogleError};
use lettre::message::{header::ContentType, Attachment as Part, Mailbox, MultiPart, SinglePart};
use lettre::Message;

/// Gmail's own limit is higher; jada keeps a message to this many recipients (To + Cc).
pub const MAX_RECIPIENTS: usize = 100;

/// A message to send: a plain-text body and any attachments.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<Attachment>,
}

/// A file attached to a message.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Why a message did not go out.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message cannot be built (a bad address, too many recipients, a bad content
    /// type): the configuration or the data must be fixed; retrying cannot help.
    #[error("{0}")]
    Invalid(String),
    /// The `.eml` could not be written (a full or read-only disk).
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Gmail refused or did not answer.
    #[error("Gmail refused `{subject}`: {source}")]
    Gmail {
        subject: String,
        #[source]
        source: GoogleError,
    },
}

impl Fault for MailError {
    fn recovery(&self) -> Recovery {
        match self {
            MailError::Invalid(_) => Recovery::Operator,
            MailError::Write { .. } => Recovery::Retry,
            MailError::Gmail { source, .. } => source.recovery(),
        }
    }

    fn needs_reauth(&self) -> Option<&str> {
        match self {
            MailError::Gmail { source, .. } => source.needs_reauth(),
            _ => None,
        }
    }
}

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends (or files) one message; returns where it went, for the log.
    async fn send(&self, mail: &Mail) -> Result<String, MailError>;
}

/// Builds the RFC 5322 message.
pub fn build(mail: &Mail) -> Result<Message, MailError> {
    let parse = |a: &str| {
        a.parse::<Mailbox>()
            .map_err(|e| MailError::Invalid(format!("`{a}` is not a mail address: {e}")))
    };
    let recipients = mail.to.len() + mail.cc.len();
    if recipients > MAX_RECIPIENTS {
        return Err(MailError::Invalid(format!(
            "`{}` has {recipients} recipients; at most {MAX_RECIPIENTS} go in one message",
            mail.subject
        )));
    }
    let from = parse(&mail.from)?;
    // Our own id, on the sender's domain: replies and threads find the message by it.
    let id = format!("<{}@{}>", uuid::Uuid::new_v4().simple(), from.email.domain());
    let mut b = Message::builder()
        .from(from)
        .message_id(Some(id))
        .subject(&mail.subject);
    for to in &mail.to {
        b = b.to(parse(to)?);
    }
    for cc in &mail.cc {
        b = b.cc(parse(cc)?);
    }
    let built = if mail.attachments.is_empty() {
        b.header(ContentType::TEXT_PLAIN).body(mail.body.clone())
    } else {
        let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(mail.body.clone()));
        for a in &mail.attachments {
            let ct = ContentType::parse(&a.content_type).map_err(|e| {
                MailError::Invalid(format!(
                    "attachment {}: content type `{}`: {e}",
                    a.filename, a.content_type
                ))
            })?;
            parts = parts.singlepart(Part::new(a.filename.clone()).body(a.bytes.clone(), ct));
        }
        b.multipart(parts)
    };
    built.map_err(|e| MailError::Invalid(format!("cannot build the message: {e}")))
}

/// Sends through Gmail (`users.messages.send`) as the credential's user. Gmail's rate
/// limits (429, or 403 `rateLimitExceeded`) are waited out by the client's backoff.
pub struct GmailMailer {
    pub client: GoogleClient,
}

#[async_trait]
impl Mailer for GmailMailer {
    async fn send(&self, mail: &Mail) -> Result<String, MailError> {
        let bytes = build(mail)?.formatted();
        let id = self
            .client
            .gmail_send(&bytes)
            .await
            .map_err(|source| MailError::Gmail {
                subject: mail.subject.clone(),
                source,
            })?;
        Ok(format!("gmail:{id}"))
    }
}

/// Files each message as `<outbox>/<timestamp>-<id>.eml`.
pub struct EmlOutbox {
    pub dir: PathBuf,
}

#[async_trait]
impl Mailer for EmlOutbox {
    async fn send(&self, mail: &Mail) -> Result<String, MailError> {
        let bytes = build(mail)?.formatted();
        let name = format!(
            "{}-{}.eml",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
            uuid::Uuid::new_v4().simple()
        );
        let path = self.dir.join(name);
        // Private (a mail may hold a live sign-in link), and whole or absent for a reader.
        let dir = self.dir.clone();
        let file = path.clone();
        tokio::task::spawn_blocking(move || {
            jada_google::secret_files::create_private_dir_all(&dir).map_err(|source| MailError::Write {
                path: dir.display().to_string(),
                source,
            })?;
            jada_google::secret_files::write_private_atomic(&file, &bytes).map_err(|source| MailError::Write {
                path: file.display().to_string(),
                source,
            })
        })
        .await
        .map_err(|e| MailError::Write {
            path: path.display().to_string(),
            source: std::io::Error::other(e),
        })??;
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
            ..Mail::default()
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
        let err = outbox.send(&bad).await.unwrap_err();
        assert!(err.to_string().contains("not a mail address"), "{err}");
        assert_eq!(err.recovery(), Recovery::Operator, "a bad address is not retried");
    }
}
