//! Alerts that fire once. [`conditions`] says what is wrong now (each as a keyed
//! [`Condition`]); [`AlertEngine::reconcile`] compares that with the recorded alert
//! states and notifies on a change (firing, resolved) and as a reminder every
//! `remind_every` while firing. An 18-hour outage of a 30-minute job is one alert, a few
//! reminders and one recovery, not 36 messages.

pub mod agent;
#[cfg(feature = "aws")]
pub mod aws;
pub mod sinks;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jada_core::CredentialState;
use jada_store::{AlertRecord, AlertStatus, DispatchStatus, EventStatus, RunOutcome, Store, StoreError};

use crate::jobs::JobSpec;
pub use sinks::{AlertSink, LogSink, MailSink, SinkError, WebhookSink};

/// What the AWS sections of `[alerts]` add: sinks for alerts, and run logs for failed runs
/// (CloudWatch takes both).
#[derive(Default)]
pub struct AwsSinks {
    pub alerts: Vec<Arc<dyn AlertSink>>,
    pub run_logs: Vec<Arc<dyn crate::delivery::RunLog>>,
}

/// Something wrong right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Stable identity: `job-failing:NAME`, `job-stale:NAME`, `credential-reauth:NAME`,
    /// `credential-expiring:NAME`, `dead-letters`, `unable-to-crew:CHARTER`.
    pub key: String,
    /// What is wrong and what to do, in one line.
    pub summary: String,
    /// For a failing job: the credential whose refusal is the cause (from the run's
    /// typed error), so the two fold into one alert.
    pub because_of: Option<String>,
}

impl Condition {
    pub fn new(key: String, summary: String) -> Condition {
        Condition {
            key,
            summary,
            because_of: None,
        }
    }
}

/// Evaluates every rule.
pub async fn conditions(
    store: &dyn Store,
    jobs: &[&JobSpec],
    credentials: &[CredentialState],
    started_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<Condition>, StoreError> {
    let mut out = Vec::new();
    for spec in jobs.iter().filter(|s| s.enabled) {
        let name = &spec.name;
        if let Some(last) = store.recent_runs(Some(name), 1).await?.into_iter().next() {
            if matches!(last.outcome, RunOutcome::Failed | RunOutcome::Abandoned) {
                let why = last.error.unwrap_or_else(|| last.outcome.to_string());
                let fix = match last.recovery {
                    Some(jada_core::Recovery::Operator) => " (retrying will not help: it needs you)",
                    _ => "",
                };
                // The run's typed cause, unless that credential has refreshed since
                // (then the job only needs another run).
                let because_of = last.needs_reauth.filter(|cred| {
                    !credentials
                        .iter()
                        .any(|c| &c.name == cred && !c.needs_reauth && c.last_refresh > last.finished_at)
                });
                out.push(Condition {
                    key: format!("job-failing:{name}"),
                    summary: format!("job `{name}` is failing: {why}{fix}"),
                    because_of,
                });
            }
        }
        if let Some(window) = spec.stale_after {
            let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
            let last_ok = store.last_success(name).await?.and_then(|r| r.finished_at);
            let since = last_ok.unwrap_or(started_at);
            if now - since > window {
                let what = match last_ok {
                    Some(t) => format!(
                        "has not succeeded since {} ({} ago)",
                        t.format("%Y-%m-%d %H:%M UTC"),
                        age(now - t)
                    ),
                    None => format!(
                        "has not succeeded since the daemon started {} ago",
                        age(now - started_at)
                    ),
                };
                out.push(Condition::new(
                    format!("job-stale:{name}"),
                    format!(
                        "job `{name}` {what}; it should every {}: see `jada jobs history {name}`",
                        age(window)
                    ),
                ));
            }
        }
    }
    for c in credentials {
        if c.needs_reauth {
            out.push(Condition::new(
                format!("credential-reauth:{}", c.name),
                format!(
                    "credential `{}` needs re-auth: run `jada auth login {}`",
                    c.name, c.name
                ),
            ));
        } else if let (Some(exp), Some(err)) = (c.expires_at, &c.last_error) {
            if exp - now < chrono::Duration::minutes(10) {
                out.push(Condition::new(
                    format!("credential-expiring:{}", c.name),
                    format!(
                        "credential `{}`: its token expires {} and refreshing fails: {err}",
                        c.name,
                        when(exp, now)
                    ),
                ));
            }
        }
    }
    fold_into_credentials(&mut out);
    // Dispatch ran out of people for a charter still to come: the office must act.
    for d in store.list_dispatches(DispatchStatus::Exhausted).await? {
        let Some(c) = store.get_charter(d.charter_id).await? else {
            continue;
        };
        if c.status != jada_core::CharterStatus::Cancelled
            && c.charter_date >= (now - chrono::Duration::days(1)).date_naive()
        {
            out.push(Condition::new(
                format!("unable-to-crew:{}", c.charter_id),
                format!(
                    "charter {} on {} ({}, {}): {}; add crew by hand, or restart dispatch with `jada dispatch assign-captain {} CAPTAIN` (see `jada dispatch explain {}`)",
                    c.charter_id, c.charter_date, c.vessel_name, c.guest_name, d.detail, c.charter_id, c.charter_id
                ),
            ));
        }
    }
    out.extend(agent::conditions(store, now).await?);
    let dead = store.count_events(EventStatus::Dead).await?;
    if dead > 0 {
        out.push(Condition::new(
            "dead-letters".into(),
            format!("{dead} event(s) parked as dead letters: see `jada dlq list`, fix the cause, then `jada dlq retry --all`"),
        ));
    }
    Ok(out)
}

/// One cause, one alert: a job failing only because a credential needs re-auth is
/// reported inside that credential's alert (which names the job), not beside it.
fn fold_into_credentials(out: &mut Vec<Condition>) {
    // A run that met the refusal may be recorded a moment before the credential's own
    // state says so: the run's typed cause is enough for the credential's alert.
    let mut reauth: Vec<String> = out.iter().filter_map(|c| c.because_of.clone()).collect();
    reauth.sort();
    reauth.dedup();
    for cred in &reauth {
        let key = format!("credential-reauth:{cred}");
        if !out.iter().any(|c| c.key == key) {
            out.push(Condition::new(
                key,
                format!("credential `{cred}` needs re-auth: run `jada auth login {cred}`"),
            ));
        }
    }
    for cred in reauth {
        let caused = |c: &Condition| c.because_of.as_deref() == Some(cred.as_str());
        let jobs: Vec<String> = out
            .iter()
            .filter(|c| caused(c))
            .filter_map(|c| c.key.strip_prefix("job-failing:").map(str::to_string))
            .collect();
        if jobs.is_empty() {
            continue;
        }
        out.retain(|c| !caused(c));
        if let Some(c) = out.iter_mut().find(|c| c.key == format!("credential-reauth:{cred}")) {
            c.summary = format!("{} (jobs failing because of it: {})", c.summary, jobs.join(", "));
        }
    }
}

fn when(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if t <= now {
        format!("expired {} ago", age(now - t))
    } else {
        format!("in {}", age(t - now))
    }
}

pub use jada_core::text::age;

/// What a notification says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Firing,
    Reminder,
    Resolved,
}

/// One message to the sinks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub key: String,
    pub kind: NoticeKind,
    pub summary: String,
    pub since: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

impl Notification {
    /// The line a person reads (Slack's `text`, the mail subject).
    pub fn text(&self) -> String {
        let lasted = age(self.at - self.since);
        match self.kind {
            NoticeKind::Firing => format!("ALERT: {}", self.summary),
            NoticeKind::Reminder => format!("STILL FAILING for {lasted}: {}", self.summary),
            NoticeKind::Resolved => format!("RESOLVED after {lasted}: {}", self.summary),
        }
    }
}

pub struct AlertEngine {
    pub store: Arc<dyn Store>,
    pub sinks: Vec<Arc<dyn AlertSink>>,
    pub remind_every: Duration,
}

impl AlertEngine {
    /// Brings the recorded alerts in line with `now_firing`, notifying each change and
    /// each due reminder. Returns what was sent.
    pub async fn reconcile(
        &self,
        now_firing: &[Condition],
        now: DateTime<Utc>,
    ) -> Result<Vec<Notification>, StoreError> {
        let mut sent = Vec::new();
        let remind = chrono::Duration::from_std(self.remind_every).unwrap_or(chrono::Duration::MAX);
        for c in now_firing {
            let notice = match self.store.get_alert(&c.key).await? {
                Some(a) if a.status == AlertStatus::Firing => {
                    let due = a.last_notified.is_none_or(|t| now - t >= remind);
                    let mut a = AlertRecord {
                        summary: c.summary.clone(),
                        ..a
                    };
                    let notice = due.then(|| {
                        a.last_notified = Some(now);
                        a.notifications += 1;
                        Notification {
                            key: c.key.clone(),
                            kind: NoticeKind::Reminder,
                            summary: c.summary.clone(),
                            since: a.since,
                            at: now,
                        }
                    });
                    self.store.put_alert(&a).await?;
                    notice
                }
                _ => {
                    let a = AlertRecord {
                        key: c.key.clone(),
                        status: AlertStatus::Firing,
                        summary: c.summary.clone(),
                        since: now,
                        last_notified: Some(now),
                        notifications: 1,
                    };
                    self.store.put_alert(&a).await?;
                    Some(Notification {
                        key: c.key.clone(),
                        kind: NoticeKind::Firing,
                        summary: c.summary.clone(),
                        since: now,
                        at: now,
                    })
                }
            };
            sent.extend(notice);
        }
        for a in self.store.list_alerts().await? {
            if a.status == AlertStatus::Firing && !now_firing.iter().any(|c| c.key == a.key) {
                let n = Notification {
                    key: a.key.clone(),
                    kind: NoticeKind::Resolved,
                    summary: a.summary.clone(),
                    since: a.since,
                    at: now,
                };
                self.store
                    .put_alert(&AlertRecord {
                        status: AlertStatus::Resolved,
                        since: now,
                        last_notified: Some(now),
                        ..a
                    })
                    .await?;
                sent.push(n);
            }
        }
        for n in &sent {
            for sink in &self.sinks {
                if let Err(e) = sink.send(n).await {
                    tracing::error!(sink = sink.name(), alert = %n.key, error = %e, "cannot deliver an alert");
                }
            }
        }
        Ok(sent)
    }
}
