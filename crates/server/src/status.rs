//! One picture of the daemon's health, served at `/api/status` and shown by
//! `jada doctor`: jobs (last run, last success, next run, failing, stale), credentials,
//! outbox and dead letters, firing alerts, free disk. [`StatusReport::findings`] turns it
//! into what is wrong and what to do about each.

use std::path::Path;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use jada_core::{Charter, CredentialState, Fleet};
use jada_store::{AlertRecord, AlertStatus, EventStatus, JobRun, Store, StoreError};
use serde::{Deserialize, Serialize};

use crate::alerts::{self, Condition};
use crate::jobs::Registry;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DaemonInfo {
    pub started_at: DateTime<Utc>,
    pub pid: u32,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobStatus {
    pub name: String,
    pub schedule: String,
    pub enabled: bool,
    pub last_run: Option<JobRun>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// The last time the job ran at all, quiet checks that found nothing included.
    #[serde(default)]
    pub last_checked: Option<DateTime<Utc>>,
    pub next_run: Option<DateTime<Utc>>,
    pub failing: bool,
    pub stale: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusReport {
    pub generated_at: DateTime<Utc>,
    /// `None` when the report was made without a running daemon.
    pub daemon: Option<DaemonInfo>,
    pub jobs: Vec<JobStatus>,
    pub credentials: Vec<CredentialState>,
    pub outbox_pending: u64,
    pub dead_letters: u64,
    pub alerts_firing: Vec<AlertRecord>,
    /// Everything wrong right now, as the alert rules see it.
    pub conditions: Vec<ConditionView>,
    pub data_dir: String,
    pub disk_free_bytes: Option<u64>,
    /// Agent sessions of the last 24 hours, per playbook.
    #[serde(default)]
    pub agent: Vec<jada_ops::agent::PlaybookFigures>,
    /// Tool calls waiting for a person's approval.
    #[serde(default)]
    pub approvals_waiting: u64,
    /// Log lines this process could not write since it started.
    #[serde(default)]
    pub log_write_failures: u64,
    /// The business time zone (IANA name), in which the findings show instants.
    #[serde(default)]
    pub zone: Option<String>,
    /// Pairs of charters, from today on, that book one vessel twice (written before jada
    /// refused it, or by other tools). Filled by [`StatusSource::full_report`] and the
    /// local report, not for `/metrics`.
    #[serde(default)]
    pub overlaps: Vec<[Charter; 2]>,
    /// The data directory's permission bits (it should be 0700).
    #[serde(default)]
    pub data_dir_mode: Option<u32>,
    /// With `[backup]`: the target and the last backup and verified one.
    #[serde(default)]
    pub backup: Option<jada_backup::Status>,
    /// On DynamoDB: whether point-in-time recovery is on for each table (`None`: the
    /// endpoint does not say). Filled by doctor, which asks DynamoDB itself.
    #[serde(default)]
    pub point_in_time_recovery: Vec<(String, Option<bool>)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConditionView {
    pub key: String,
    pub summary: String,
}

/// One line of `jada doctor`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Finding {
    pub ok: bool,
    pub what: String,
    pub fix: Option<String>,
}

impl Finding {
    /// Not a fault, but a person's to do (shown apart on the office's Today page).
    pub fn needs_a_person(&self) -> bool {
        self.what.ends_with(APPROVALS_WAITING)
    }
}

/// Everything that goes into a report.
pub struct Inputs<'a> {
    pub store: &'a dyn Store,
    pub registry: &'a Registry,
    pub credentials: Vec<CredentialState>,
    pub zone: Tz,
    pub daemon: Option<DaemonInfo>,
    pub now: DateTime<Utc>,
    pub data_dir: &'a Path,
    pub backups: Option<&'a jada_backup::Backups>,
}

/// The running daemon's report, for every area that shows it (`/api/status`,
/// `/metrics`, the office's Today and Automation pages).
pub struct StatusSource {
    pub store: std::sync::Arc<dyn Store>,
    pub tokens: std::sync::Arc<jada_google::auth::TokenService>,
    pub registry: Registry,
    pub clock: std::sync::Arc<dyn jada_core::Clock>,
    pub zone: Tz,
    pub started_at: DateTime<Utc>,
    pub data_dir: std::path::PathBuf,
    /// The fleet, for the vessels' turnarounds when looking for double bookings.
    pub fleet: Fleet,
    pub backups: Option<std::sync::Arc<jada_backup::Backups>>,
}

/// How far ahead the report looks for a vessel booked twice.
const OVERLAPS_AHEAD_DAYS: i64 = 366;

/// Pairs of charters from today (in `zone`) to a year ahead that book one vessel twice:
/// the rule of `jada charters check`, for doctor and the office's Today page.
pub async fn overlaps(
    store: &dyn Store,
    fleet: &Fleet,
    zone: Tz,
    now: DateTime<Utc>,
) -> Result<Vec<[Charter; 2]>, StoreError> {
    let today = now.with_timezone(&zone).date_naive();
    let charters = store
        .list_charters_between(today, today + chrono::Duration::days(OVERLAPS_AHEAD_DAYS))
        .await?;
    let turnarounds = jada_store::Turnarounds::of_fleet(fleet);
    Ok(jada_ops::charters::overlaps_among(&charters, &turnarounds)
        .into_iter()
        .map(|(a, b)| [a, b])
        .collect())
}

impl StatusSource {
    /// The report with what costs a longer read (a year of charters, for double bookings):
    /// for `/api/status` (doctor) and the office, not for every `/metrics` scrape.
    pub async fn full_report(&self) -> Result<StatusReport, StoreError> {
        let mut r = self.report().await?;
        r.overlaps = overlaps(self.store.as_ref(), &self.fleet, self.zone, r.generated_at).await?;
        Ok(r)
    }

    pub async fn report(&self) -> Result<StatusReport, StoreError> {
        let credentials = jada_ops::auth::status(&self.tokens, self.store.as_ref()).await?;
        collect(Inputs {
            store: self.store.as_ref(),
            registry: &self.registry,
            credentials,
            zone: self.zone,
            daemon: Some(DaemonInfo {
                started_at: self.started_at,
                pid: std::process::id(),
                version: env!("CARGO_PKG_VERSION").into(),
            }),
            now: self.clock.now(),
            data_dir: &self.data_dir,
            backups: self.backups.as_deref(),
        })
        .await
    }
}

pub async fn collect(i: Inputs<'_>) -> Result<StatusReport, StoreError> {
    let started_at = i.daemon.as_ref().map(|d| d.started_at).unwrap_or(i.now);
    let specs: Vec<_> = i.registry.specs().collect();
    let conditions: Vec<Condition> = alerts::conditions(i.store, &specs, &i.credentials, started_at, i.now).await?;
    let checks = i.store.last_checks().await?;
    let mut jobs = Vec::new();
    for spec in &specs {
        let last_run = i.store.recent_runs(Some(&spec.name), 1).await?.into_iter().next();
        let last_success_at = i.store.last_success(&spec.name).await?.and_then(|r| r.finished_at);
        let checked = checks.iter().find(|(j, _)| j == &spec.name).map(|(_, t)| *t);
        let last_checked = checked.max(last_run.as_ref().and_then(|r| r.finished_at.or(Some(r.started_at))));
        jobs.push(JobStatus {
            name: spec.name.clone(),
            schedule: spec.schedule.to_string(),
            enabled: spec.enabled,
            last_run,
            last_success_at,
            last_checked,
            next_run: if spec.enabled {
                spec.schedule.next_after(i.now, i.zone)
            } else {
                None
            },
            failing: conditions.iter().any(|c| c.key == format!("job-failing:{}", spec.name)),
            stale: conditions.iter().any(|c| c.key == format!("job-stale:{}", spec.name)),
        });
    }
    let alerts_firing = i
        .store
        .list_alerts()
        .await?
        .into_iter()
        .filter(|a| a.status == AlertStatus::Firing)
        .collect();
    Ok(StatusReport {
        generated_at: i.now,
        daemon: i.daemon,
        jobs,
        credentials: i.credentials,
        outbox_pending: i.store.count_events(EventStatus::Pending).await?,
        dead_letters: i.store.count_events(EventStatus::Dead).await?,
        alerts_firing,
        conditions: conditions
            .into_iter()
            .map(|c| ConditionView {
                key: c.key,
                summary: c.summary,
            })
            .collect(),
        data_dir: i.data_dir.display().to_string(),
        disk_free_bytes: free_disk(i.data_dir),
        agent: jada_ops::agent::figures(i.store, i.now - chrono::Duration::hours(24)).await?,
        approvals_waiting: i
            .store
            .list_approvals(&[jada_core::agent::ApprovalState::Pending], 1_000)
            .await?
            .iter()
            .filter(|a| a.state_at(i.now) == jada_core::agent::ApprovalState::Pending)
            .count() as u64,
        log_write_failures: crate::metrics::log_failures(),
        zone: Some(i.zone.name().to_string()),
        overlaps: Vec::new(),
        data_dir_mode: std::fs::metadata(i.data_dir)
            .ok()
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777),
        backup: i.backups.map(|b| b.status()),
        point_in_time_recovery: Vec::new(),
    })
}

/// How the approvals finding ends: not a fault (doctor stays healthy), but something a
/// person must do, which the office's Today page lists under "Waiting for a person".
const APPROVALS_WAITING: &str = "waiting for approval";

/// Below this, the database and reports may soon fail to write.
const LOW_DISK: u64 = 512 * 1024 * 1024;

impl JobStatus {
    /// How the job last went, as people read it: "last success 12:04 UTC", "last checked
    /// 12:04 UTC, nothing to do" for a quiet job with nothing to do, or "never ran".
    pub fn last_said(&self, show: &dyn Fn(DateTime<Utc>) -> String) -> String {
        let at = |t: &DateTime<Utc>| show(*t);
        match (&self.last_success_at, &self.last_checked) {
            (Some(s), Some(c)) if c > s => format!("last success {}, last checked {}", at(s), at(c)),
            (Some(s), _) => format!("last success {}", at(s)),
            (None, Some(c)) if self.last_run.is_none() => format!("last checked {}, nothing to do", at(c)),
            (None, Some(c)) => format!("never succeeded (last ran {})", at(c)),
            (None, None) => "never ran".into(),
        }
    }
}

impl StatusReport {
    /// An instant as the findings say it: in the business zone with its abbreviation
    /// ("Jul 4, 18:49 PDT"), UTC for a report from a daemon that did not say its zone.
    pub fn show(&self, t: DateTime<Utc>) -> String {
        match self
            .zone
            .as_deref()
            .and_then(|z| jada_core::BusinessZone::parse(z).ok())
        {
            Some(zone) => zone.show(t, chrono::Datelike::year(&zone.date_of(self.generated_at))),
            None => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }

    /// What is healthy and what is not, each with what to do.
    pub fn findings(&self) -> Vec<Finding> {
        let mut f = Vec::new();
        match &self.daemon {
            Some(d) => f.push(Finding {
                ok: true,
                what: format!(
                    "daemon up since {} (pid {}, version {})",
                    self.show(d.started_at),
                    d.pid,
                    d.version
                ),
                fix: None,
            }),
            None => f.push(Finding {
                ok: false,
                what: "the daemon is not running (or not reachable)".into(),
                fix: Some(
                    "start it: `systemctl start jada` (or `jada serve`); `journalctl -u jada` shows why it stopped"
                        .into(),
                ),
            }),
        }
        for j in &self.jobs {
            let last = j.last_said(&|t| self.show(t));
            if !j.failing && !j.stale {
                f.push(Finding {
                    ok: true,
                    what: format!("job `{}`: {last}", j.name),
                    fix: None,
                });
            }
        }
        for c in &self.conditions {
            f.push(Finding {
                ok: false,
                what: c.summary.clone(),
                fix: Some(fix_for(&c.key)),
            });
        }
        for c in self
            .credentials
            .iter()
            .filter(|c| !c.needs_reauth && c.last_error.is_none())
        {
            let expiry = match c.expires_at {
                Some(t) if t > self.generated_at => format!("token expires in {}", alerts::age(t - self.generated_at)),
                Some(_) => "token expired; refreshed on next use".into(),
                None => "no token fetched yet".into(),
            };
            f.push(Finding {
                ok: true,
                what: format!("credential `{}` ({}) healthy, {expiry}", c.name, c.account),
                fix: None,
            });
        }
        f.push(Finding {
            ok: true,
            what: format!(
                "outbox: {} pending, {} dead letters",
                self.outbox_pending, self.dead_letters
            ),
            fix: None,
        });
        for p in &self.agent {
            let total: u64 = p.sessions.values().sum();
            let outcomes: Vec<String> = p.sessions.iter().map(|(o, n)| format!("{n} {o}")).collect();
            f.push(Finding {
                ok: true,
                what: format!(
                    "agent `{}`: {} in the last 24 h ({}), {}, ${:.2}",
                    p.playbook,
                    jada_core::text::count(total as usize, "session", "sessions"),
                    outcomes.join(", "),
                    jada_core::text::count(p.turns as usize, "turn", "turns"),
                    p.cost_usd
                ),
                fix: None,
            });
        }
        if self.log_write_failures > 0 {
            f.push(Finding {
                ok: false,
                what: format!(
                    "{} log line(s) could not be written and were dropped",
                    self.log_write_failures
                ),
                fix: Some(
                    "check where the daemon's stderr goes: a full disk or a stalled journald (`journalctl --disk-usage`, `df`)"
                        .into(),
                ),
            });
        }
        for [a, b] in &self.overlaps {
            let slot = |c: &Charter| {
                format!(
                    "{}–{} ({}, {})",
                    c.start_time.format("%H:%M"),
                    c.end_time.format("%H:%M"),
                    c.guest_name,
                    c.charter_id
                )
            };
            f.push(Finding {
                ok: false,
                what: format!(
                    "{} is booked twice on {}: {} and {}",
                    a.vessel_name,
                    a.charter_date,
                    slot(a),
                    slot(b)
                ),
                fix: Some("cancel or move one of them (`jada charters check` lists every double booking)".into()),
            });
        }
        if self.approvals_waiting > 0 {
            f.push(Finding {
                ok: true,
                what: format!(
                    "{} {APPROVALS_WAITING}",
                    jada_core::text::count(self.approvals_waiting as usize, "agent tool call", "agent tool calls")
                ),
                fix: None,
            });
        }
        if let Some(mode) = self.data_dir_mode.filter(|m| m & 0o077 != 0) {
            f.push(Finding {
                ok: false,
                what: format!(
                    "the data directory {} is open to other users (mode {mode:o}): it holds the crew's contacts and live sign-in links",
                    self.data_dir
                ),
                fix: Some(format!("`chmod 700 {}`", self.data_dir)),
            });
        }
        if let Some(b) = &self.backup {
            f.push(self.backup_finding(b));
            if b.state.key_shown_at.is_none() {
                f.push(Finding {
                    ok: false,
                    what: "the backup key (secrets/backup-key) has never been shown: if its only copy is on this machine, a dead disk takes every archive's key with it".into(),
                    fix: Some("run `jada backup key --show` and keep what it prints off this machine".into()),
                });
            }
        }
        if !self.point_in_time_recovery.is_empty() {
            f.push(self.pitr_finding());
        }
        if let Some(free) = self.disk_free_bytes {
            let what = format!("{} free in {}", jada_core::text::bytes(free), self.data_dir);
            let low = free < LOW_DISK;
            f.push(Finding {
                ok: !low,
                what,
                fix: low.then(|| "free disk space: old reports and journal logs are the usual culprits".into()),
            });
        }
        f
    }

    /// Point-in-time recovery on the DynamoDB tables: on DynamoDB it is what covers the time
    /// between backups, so a table without it is said with how to turn it on.
    fn pitr_finding(&self) -> Finding {
        let on: Vec<&str> = self
            .point_in_time_recovery
            .iter()
            .filter(|(_, on)| *on == Some(true))
            .map(|(t, _)| t.as_str())
            .collect();
        let off: Vec<&str> = self
            .point_in_time_recovery
            .iter()
            .filter(|(_, on)| *on != Some(true))
            .map(|(t, _)| t.as_str())
            .collect();
        let mut what = String::from("DynamoDB point-in-time recovery:");
        if !on.is_empty() {
            what += &format!(" on for {}", on.join(", "));
        }
        if !off.is_empty() {
            what += &format!("{} off for {}", if on.is_empty() { "" } else { ";" }, off.join(", "));
        }
        Finding {
            ok: true,
            what,
            fix: (!off.is_empty()).then(|| {
                format!(
                    "turn it on (it is what restores the time between backups): `aws dynamodb update-continuous-backups --table-name {} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true`, for each",
                    off[0]
                )
            }),
        }
    }

    /// "backups: last verified ..." (a backup that fails or goes stale is its job's finding).
    fn backup_finding(&self, b: &jada_backup::Status) -> Finding {
        match &b.state.last_verified {
            Some(v) => Finding {
                ok: true,
                what: format!(
                    "backups: last verified backup {}, {} ago, at {}",
                    self.show(v.at),
                    alerts::age(self.generated_at - v.at),
                    b.target
                ),
                fix: None,
            },
            None => Finding {
                ok: false,
                what: format!("backups: none verified yet at {}", b.target),
                fix: Some("run `jada backup now` (the daemon's `backup` job runs on [backup] schedule)".into()),
            },
        }
    }

    pub fn healthy(&self) -> bool {
        self.findings().iter().all(|f| f.ok)
    }
}

fn fix_for(key: &str) -> String {
    let (kind, name) = key.split_once(':').unwrap_or((key, ""));
    match kind {
        "credential-reauth" => format!("run `jada auth login {name}`"),
        "credential-expiring" => format!("run `jada auth check {name}` to see why refreshing fails"),
        "dead-letters" => "see `jada dlq list`, fix the cause, then `jada dlq retry --all`".into(),
        "agent-turn-limit" => format!(
            "read the handoff notes (`jada agent sessions`) and carry each on with `jada agent resume ID`; raise `max_turns` under [agent.playbooks.{name}] if the work needs more"
        ),
        "agent-provider" => "fix what the error says (for a refused key: `api_key_file` or `api_key_env` under [agent]), then `jada agent resume ID`".into(),
        "agent-budget" => format!("raise `session_budget_usd` or `daily_budget_usd` under [agent.playbooks.{name}], or wait for tomorrow"),
        "agent-abandoned" => format!("`jada agent resume {name}`"),
        "agent-approval" => "`jada agent approvals`, then `jada agent approve ID` or `jada agent deny ID --reason ...`".into(),
        // The job's own error (in the summary) names the cause and, usually, the fix.
        "job-failing" => {
            format!("do what the error says (`jada jobs history {name}` has it), then `jada jobs run {name}`")
        }
        _ => format!("see `jada jobs history {name}`, then `jada jobs run {name}` once the cause is fixed"),
    }
}

#[cfg(unix)]
fn free_disk(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we pass; `c` is a valid C string.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut s) };
    (rc == 0).then(|| s.f_bavail as u64 * s.f_frsize as u64)
}

#[cfg(not(unix))]
fn free_disk(_dir: &Path) -> Option<u64> {
    None
}
