//! Monthly crew statements. Everyone who sailed in the month gets their own statement
//! (an xlsx attached to a message to them, the audit address in CC); the statement
//! recipients (configured, plus whoever received earlier summaries, found by a Gmail
//! search) get the summary, at most 100 recipients a message. Every send is recorded in
//! the store, so a re-run sends only what is missing; `resend` sends everything again and
//! `dry_run` writes the messages as `.eml` files without sending or recording.

pub mod build;
pub mod workbook;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use jada_core::tips::Leftover;
use jada_core::{Cents, Fault, Month, Recovery};
use jada_google::client::GoogleClient;
use jada_store::{SentStatement, Store, StoreError};
use lettre::message::Mailboxes;
use serde::Serialize;

use crate::mail::{Attachment, EmlOutbox, Mail, Mailer, MAX_RECIPIENTS};
pub use build::{statements, Line, Role, Statement};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Where earlier statements are looked for in Gmail.
pub struct Search {
    pub client: GoogleClient,
    /// e.g. `subject:"Crew Statement" in:sent newer_than:120d`
    pub query: String,
}

pub struct StatementsConfig {
    pub business: String,
    pub sender: String,
    /// In CC of every crew member's statement.
    pub audit_cc: Option<String>,
    /// The summary's recipients (besides those the search finds).
    pub recipients: Vec<String>,
    pub search: Option<Search>,
    pub leftover: Leftover,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub dry_run: bool,
    pub resend: bool,
}

/// One message sent (or, in a dry run, written).
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    /// `crew:<id>` or `summary`.
    pub what: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Gmail's id, or the `.eml` file.
    pub message: String,
}

/// What a run did. `problems` and `failed` make the run fail (nothing is skipped quietly).
#[derive(Debug, Clone, Serialize, Default)]
pub struct Outcome {
    pub month: String,
    pub dry_run: bool,
    /// The tips shared on the statements: the month's tips under the revenue rule
    /// (`jada_core::revenue`), so they equal the report's.
    pub tips: Cents,
    pub sent: Vec<Sent>,
    /// Keys already sent for this month, so not sent again.
    pub already_sent: Vec<String>,
    /// Addresses the Gmail search added to the summary's recipients.
    pub found_by_search: Vec<String>,
    /// Where the workbooks were written.
    pub dir: PathBuf,
    pub problems: Vec<String>,
    pub failed: Vec<String>,
    /// Worth knowing, not a failure (e.g. the summary has no recipients).
    pub notes: Vec<String>,
    /// A problem or a refused send that retrying cannot fix (a crew member missing from
    /// the list, a bad address, a refused credential).
    #[serde(skip)]
    pub operator_needed: bool,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.failed.is_empty()
    }

    /// Whether running again later may send what did not go out.
    pub fn recovery(&self) -> Recovery {
        if self.operator_needed || !self.problems.is_empty() {
            Recovery::Operator
        } else {
            Recovery::Retry
        }
    }

    /// Everything that did not go out, and why (problems first, then refused sends).
    pub fn not_sent(&self) -> Vec<String> {
        self.problems.iter().chain(&self.failed).cloned().collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StatementsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the statements in {path}: {detail}")]
    Write { path: String, detail: String },
    #[error("cannot search Gmail for earlier statements (`{query}`): {source}; fix it, or set [statements] search = \"\" to rely on the configured recipients")]
    Search {
        query: String,
        #[source]
        source: jada_google::client::GoogleError,
    },
}

impl Fault for StatementsError {
    fn recovery(&self) -> Recovery {
        match self {
            StatementsError::Store(e) => e.recovery(),
            StatementsError::Write { .. } => Recovery::Retry,
            StatementsError::Search { source, .. } => source.recovery(),
        }
    }

    fn needs_reauth(&self) -> Option<&str> {
        match self {
            StatementsError::Search { source, .. } => source.needs_reauth(),
            _ => None,
        }
    }
}

/// The subject of a crew member's own statement. Deliberately not "Crew Statement": the
/// default search for earlier summaries must not find (and copy) every crew member.
pub fn crew_subject(business: &str, month: Month) -> String {
    format!("Your {} statement from {business}", month.long_name())
}

/// The summary's subject, which the default search (`subject:"Crew Statement"`) finds.
pub fn summary_subject(business: &str, month: Month) -> String {
    format!("Crew Statement {}: {business}", month.long_name())
}

/// Builds and sends the month's statements. Workbooks are kept in `dir`
/// (`<crew id>.xlsx`, `summary.xlsx`); a dry run's messages go to `dir/dry-run/`.
pub async fn send(
    store: &dyn Store,
    mailer: &dyn Mailer,
    cfg: &StatementsConfig,
    month: Month,
    opts: Options,
    dir: &Path,
    now: DateTime<Utc>,
) -> Result<Outcome, StatementsError> {
    let charters = store.list_charters_in_month(month).await?;
    let crew = store.list_crew().await?;
    let (sts, unknown) = statements(&charters, &crew, cfg.leftover);
    let mut out = Outcome {
        month: month.to_string(),
        dry_run: opts.dry_run,
        tips: sts.iter().map(Statement::total).sum(),
        dir: dir.to_path_buf(),
        ..Outcome::default()
    };
    for (id, n) in unknown {
        out.problems.push(format!(
            "crew `{id}` sailed {n} charter(s) in {} but is not in the crew list, so gets no statement; add them (`jada crew import`) and run again",
            month.long_name()
        ));
    }
    let done: BTreeSet<String> = if opts.resend {
        BTreeSet::new()
    } else {
        store.list_statements(month).await?.into_iter().map(|s| s.key).collect()
    };
    let dry = EmlOutbox {
        dir: dir.join("dry-run"),
    };
    let mailer: &dyn Mailer = if opts.dry_run { &dry } else { mailer };

    for st in &sts {
        let bytes = workbook::crew(st, month, &cfg.business).map_err(|e| write_err(dir, e))?;
        keep(dir, &format!("{}.xlsx", st.crew_id), &bytes).await?;
        let key = format!("crew:{}", st.crew_id);
        if done.contains(&key) {
            out.already_sent.push(key);
            continue;
        }
        let mail = Mail {
            from: cfg.sender.clone(),
            to: vec![st.email.clone()],
            cc: cfg.audit_cc.iter().cloned().collect(),
            subject: crew_subject(&cfg.business, month),
            body: crew_body(st, month, &cfg.business),
            attachments: vec![Attachment {
                filename: format!("Statement {} {}.xlsx", month.long_name(), st.name),
                content_type: XLSX.into(),
                bytes,
            }],
        };
        deliver(store, mailer, &mail, month, vec![key], opts, now, &mut out).await?;
    }

    let summary = workbook::summary(&sts, month, &cfg.business).map_err(|e| write_err(dir, e))?;
    keep(dir, "summary.xlsx", &summary).await?;
    let recipients = summary_recipients(cfg, &mut out).await?;
    if recipients.is_empty() {
        out.notes.push(format!(
            "the summary has no recipients, so it is not sent: list them in [statements] recipients (it is kept in {})",
            dir.join("summary.xlsx").display()
        ));
    }
    let (waiting, sent): (Vec<String>, Vec<String>) =
        recipients.into_iter().partition(|r| !done.contains(&summary_key(r)));
    out.already_sent.extend(sent.iter().map(|r| summary_key(r)));
    for chunk in waiting.chunks(MAX_RECIPIENTS) {
        let mail = Mail {
            from: cfg.sender.clone(),
            to: chunk.to_vec(),
            subject: summary_subject(&cfg.business, month),
            body: summary_body(&sts, month, &cfg.business),
            attachments: vec![Attachment {
                filename: format!("Crew Statement {}.xlsx", month.long_name()),
                content_type: XLSX.into(),
                bytes: summary.clone(),
            }],
            ..Mail::default()
        };
        let keys = chunk.iter().map(|r| summary_key(r)).collect();
        deliver(store, mailer, &mail, month, keys, opts, now, &mut out).await?;
    }
    Ok(out)
}

fn summary_key(address: &str) -> String {
    format!("summary:{}", address.to_lowercase())
}

fn write_err(dir: &Path, e: impl std::fmt::Display) -> StatementsError {
    StatementsError::Write {
        path: dir.display().to_string(),
        detail: e.to_string(),
    }
}

/// Keeps a copy of a workbook in the month's statements folder.
async fn keep(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StatementsError> {
    let (dir, file, bytes) = (dir.to_path_buf(), dir.join(name), bytes.to_vec());
    tokio::task::spawn_blocking(move || {
        jada_google::secret_files::create_private_dir_all(&dir).map_err(|e| write_err(&dir, e))?;
        jada_google::secret_files::write_private_atomic(&file, &bytes).map_err(|e| write_err(&file, e))
    })
    .await
    .map_err(|e| write_err(Path::new("statements"), e))?
}

/// Sends one message and records it under each key; a refusal is noted, not fatal, so
/// the other statements still go out (and a re-run retries just this one).
#[allow(clippy::too_many_arguments)]
async fn deliver(
    store: &dyn Store,
    mailer: &dyn Mailer,
    mail: &Mail,
    month: Month,
    keys: Vec<String>,
    opts: Options,
    now: DateTime<Utc>,
    out: &mut Outcome,
) -> Result<(), StatementsError> {
    let what = if keys.len() == 1 && keys[0].starts_with("crew:") {
        keys[0].clone()
    } else {
        "summary".to_string()
    };
    match mailer.send(mail).await {
        Ok(message) => {
            if !opts.dry_run {
                let recipient = mail.to.iter().chain(&mail.cc).cloned().collect::<Vec<_>>().join(", ");
                for key in keys {
                    let sent = SentStatement {
                        month,
                        key,
                        recipient: recipient.clone(),
                        message_id: message.clone(),
                        sent_at: now,
                    };
                    store.record_statement(&sent).await?;
                }
            }
            out.sent.push(Sent {
                what,
                to: mail.to.clone(),
                cc: mail.cc.clone(),
                message,
            });
        }
        Err(e) => {
            out.operator_needed |= e.recovery() == Recovery::Operator;
            out.failed.push(format!("{what} to {}: {e}", mail.to.join(", ")))
        }
    }
    Ok(())
}

/// The configured recipients plus the To and Cc addresses of earlier summaries (found
/// by the Gmail search), without the sender, each once.
async fn summary_recipients(cfg: &StatementsConfig, out: &mut Outcome) -> Result<Vec<String>, StatementsError> {
    let mut seen = BTreeSet::from([cfg.sender.to_lowercase()]);
    let mut all = Vec::new();
    for r in &cfg.recipients {
        if seen.insert(r.to_lowercase()) {
            all.push(r.clone());
        }
    }
    if let Some(s) = &cfg.search {
        for address in search(s).await? {
            if seen.insert(address.to_lowercase()) {
                out.found_by_search.push(address.clone());
                all.push(address);
            }
        }
    }
    Ok(all)
}

/// Addresses in the To and Cc headers of the messages the search finds.
async fn search(s: &Search) -> Result<Vec<String>, StatementsError> {
    let err = |source: jada_google::client::GoogleError| StatementsError::Search {
        query: s.query.clone(),
        source,
    };
    let mut found = Vec::new();
    for id in s.client.gmail_search(&s.query).await.map_err(err)? {
        let headers = s.client.gmail_headers(&id, &["To", "Cc"]).await.map_err(err)?;
        for (_, value) in headers {
            match value.parse::<Mailboxes>() {
                Ok(list) => found.extend(list.into_iter().map(|m| m.email.to_string())),
                Err(e) => {
                    tracing::warn!(message = %id, header = %value, error = %e, "an earlier statement has an address that does not parse; skipped")
                }
            }
        }
    }
    Ok(found)
}

fn crew_body(st: &Statement, month: Month, business: &str) -> String {
    format!(
        "Hello {},\n\nAttached is your statement for {}: {} charter(s), {} as captain and {} as crew.\nYour share of the tips: {}.\n\nIf anything looks wrong, reply to this message.\n\n{business}\n",
        st.name,
        month.long_name(),
        st.lines.len(),
        st.count(Role::Captain),
        st.count(Role::Crew),
        st.total()
    )
}

fn summary_body(sts: &[Statement], month: Month, business: &str) -> String {
    let mut body = format!("Crew statements for {}, {business}.\n\n", month.long_name());
    for st in sts {
        body.push_str(&format!(
            "{}: {} charter(s), tips {}\n",
            st.name,
            st.lines.len(),
            st.total()
        ));
    }
    let total: jada_core::Cents = sts.iter().map(|s| s.total()).sum();
    body.push_str(&format!("\nTotal tips shared: {total}. The workbook is attached.\n"));
    body
}
