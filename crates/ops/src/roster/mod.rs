//! Crew availability: the crew's shared spreadsheet (in Drive, found by file id or by
//! folder path and name) read into the roster that dispatch uses.
//!
//! [`RosterSync::run`] reads every tab first (a failed or partial read writes nothing),
//! matches people by email, else by normalised name, and replaces each matched person's
//! available dates inside the synced window only (history outside it is kept). Cells that
//! cannot be read are reported by position while the good ones apply. A sync that would
//! shrink the known availability by more than `max_removal_share` stops unless forced, so
//! an emptied or renamed tab cannot wipe the roster.

pub mod dates;
pub mod sheet;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::NaiveDate;
use jada_core::crew::normalise_name;
use jada_core::{CrewId, CrewMember, Fault, Recovery};
use jada_google::client::{GoogleClient, GoogleError};
use jada_google::sheets::a1;
use jada_store::{Store, StoreError};
use serde::Serialize;

pub use sheet::BadCell;

/// Where the sheet is.
#[derive(Debug, Clone)]
pub enum Source {
    FileId(String),
    Path { folder_path: String, name: String },
}

/// What to do with a name the roster does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownCrew {
    Report,
    Create,
}

/// `[jobs.roster-sync]`.
#[derive(Debug, Clone)]
pub struct RosterConfig {
    pub source: Source,
    pub credential: String,
    /// The synced window: from today for this many days (default 365).
    pub window_days: i64,
    pub unknown_crew: UnknownCrew,
    /// Refuse (without `--force`) to shrink the known availability by more than this share (default 0.5).
    pub max_removal_share: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error(transparent)]
    Google(#[from] GoogleError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("this sync would remove {removed} of the {known} known available days in the window and add {added}, leaving {share:.0}% fewer: a tab may have been emptied or renamed. Check the sheet; if it is right, run `jada roster sync --force`")]
    OverRemoval {
        removed: usize,
        added: usize,
        known: usize,
        share: f64,
    },
}

impl Fault for RosterError {
    fn recovery(&self) -> Recovery {
        match self {
            RosterError::Google(e) => e.recovery(),
            RosterError::Store(e) => e.recovery(),
            RosterError::OverRemoval { .. } => Recovery::Operator,
        }
    }

    fn needs_reauth(&self) -> Option<&str> {
        match self {
            RosterError::Google(e) => e.needs_reauth(),
            _ => None,
        }
    }
}

/// One person's change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CrewChange {
    pub crew_id: String,
    pub name: String,
    pub added: usize,
    pub removed: usize,
    /// Email, phone or certification updated from the roster tab.
    pub details: Vec<String>,
    #[serde(skip)]
    member: Option<CrewMember>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RosterReport {
    pub changes: Vec<CrewChange>,
    /// Names in the sheet that match nobody on the roster (reported, or created).
    pub unknown: Vec<String>,
    pub created: Vec<String>,
    pub bad_cells: Vec<BadCell>,
    pub removed: usize,
    pub known: usize,
    pub applied: bool,
}

impl RosterReport {
    /// How much smaller the known availability in the window would be (0.0 to 1.0): the
    /// guard against an emptied or renamed tab. Replacing dates is not shrinking.
    pub fn shrink(&self) -> f64 {
        let added: usize = self.changes.iter().map(|c| c.added).sum();
        let after = (self.known + added).saturating_sub(self.removed);
        if self.known == 0 || after >= self.known {
            0.0
        } else {
            (self.known - after) as f64 / self.known as f64
        }
    }

    pub fn summary(&self) -> String {
        let added: usize = self.changes.iter().map(|c| c.added).sum();
        format!(
            "{} crew updated (+{added}/-{} days), {} unreadable cell(s), {} unknown name(s), {} created",
            self.changes.len(),
            self.removed,
            self.bad_cells.len(),
            self.unknown.len(),
            self.created.len()
        )
    }
}

pub struct RosterSync {
    pub cfg: RosterConfig,
    pub client: GoogleClient,
    pub store: Arc<dyn Store>,
}

impl RosterSync {
    /// Reads the sheet and, unless `dry_run`, writes the roster.
    pub async fn run(&self, today: NaiveDate, dry_run: bool, force: bool) -> Result<RosterReport, RosterError> {
        let tabs = self.read().await?;
        apply_tabs(&self.cfg, self.store.as_ref(), &tabs, today, dry_run, force).await
    }

    /// Every tab, in two requests (tabs, then one batchGet), before anything is written.
    async fn read(&self) -> Result<Vec<(String, Vec<Vec<serde_json::Value>>)>, RosterError> {
        let id = match &self.cfg.source {
            Source::FileId(id) => id.clone(),
            Source::Path { folder_path, name } => self.client.find_spreadsheet(folder_path, name).await?.id,
        };
        let titles: Vec<String> = self.client.tabs(&id).await?.into_iter().map(|t| t.title).collect();
        let ranges: Vec<String> = titles.iter().map(|t| a1::tab(t)).collect();
        let grids = self.client.batch_get_typed(&id, &ranges).await?;
        Ok(titles.into_iter().zip(grids).collect())
    }
}

/// Everything after the read: parse the tabs, plan, check the guard, write. Separate so
/// the benchmark measures the work without the network.
pub async fn apply_tabs(
    cfg: &RosterConfig,
    store: &dyn Store,
    tabs: &[(String, Vec<Vec<serde_json::Value>>)],
    today: NaiveDate,
    dry_run: bool,
    force: bool,
) -> Result<RosterReport, RosterError> {
    let parsed = sheet::parse(tabs, today);
    let window = (today, today + chrono::Duration::days(cfg.window_days));
    let crew = store.list_crew().await?;
    let mut report = plan(cfg, &parsed, &crew, window);
    report.bad_cells = parsed.bad;
    if dry_run {
        return Ok(report);
    }
    let shrink = report.shrink();
    if shrink > cfg.max_removal_share && !force {
        let added = report.changes.iter().map(|c| c.added).sum();
        return Err(RosterError::OverRemoval {
            removed: report.removed,
            added,
            known: report.known,
            share: shrink * 100.0,
        });
    }
    for c in &report.changes {
        if let Some(m) = &c.member {
            store.upsert_crew(m).await?;
        }
    }
    report.applied = true;
    Ok(report)
}

/// Decides each person's new availability (pure: no I/O).
fn plan(
    cfg: &RosterConfig,
    parsed: &sheet::Parsed,
    crew: &[CrewMember],
    (from, to): (NaiveDate, NaiveDate),
) -> RosterReport {
    let in_window = |d: &NaiveDate| *d >= from && *d <= to;
    let mut report = RosterReport {
        known: crew
            .iter()
            .map(|m| m.available_dates.iter().filter(|d| in_window(d)).count())
            .sum(),
        ..Default::default()
    };
    let mut taken: BTreeSet<String> = crew.iter().map(|m| m.crew_id.to_string()).collect();
    for entry in parsed.people.values() {
        let found = entry
            .email
            .as_ref()
            .and_then(|e| crew.iter().find(|m| &m.email == e))
            .or_else(|| {
                crew.iter()
                    .find(|m| normalise_name(&m.name) == normalise_name(&entry.name))
            });
        let mut member = match (found, cfg.unknown_crew, &entry.email) {
            (Some(m), _, _) => m.clone(),
            (None, UnknownCrew::Create, Some(email)) => {
                let id = unique_id(&entry.name, &mut taken);
                report.created.push(format!("{} ({id})", entry.name));
                CrewMember {
                    crew_id: id,
                    name: entry.name.clone(),
                    email: email.clone(),
                    phone: None,
                    captain_certified: false,
                    available_dates: BTreeSet::new(),
                    active: true,
                }
            }
            (None, _, _) => {
                report.unknown.push(entry.name.clone());
                continue;
            }
        };
        let mut details = Vec::new();
        if normalise_name(&member.name) != normalise_name(&entry.name) {
            // Matched by email under another name: the sheet's spelling is the person's own.
            details.push(format!("name {}", entry.name));
            member.name = entry.name.clone();
        }
        if let Some(e) = entry.email.as_ref().filter(|e| **e != member.email) {
            details.push(format!("email {e}"));
            member.email = e.clone();
        }
        if let Some(p) = entry.phone.as_ref().filter(|p| member.phone.as_ref() != Some(*p)) {
            details.push(format!("phone {p}"));
            member.phone = Some(p.clone());
        }
        if let Some(c) = entry.captain.filter(|c| *c != member.captain_certified) {
            details.push(if c {
                "captain-certified".into()
            } else {
                "no longer captain-certified".into()
            });
            member.captain_certified = c;
        }
        let (mut added, mut removed) = (0, 0);
        if entry.listed {
            let new: BTreeSet<NaiveDate> = entry
                .available
                .difference(&entry.unavailable)
                .copied()
                .filter(in_window)
                .collect();
            let old: BTreeSet<NaiveDate> = member.available_dates.iter().copied().filter(in_window).collect();
            added = new.difference(&old).count();
            removed = old.difference(&new).count();
            member.available_dates.retain(|d| !in_window(d));
            member.available_dates.extend(new);
        }
        report.removed += removed;
        if added + removed > 0 || !details.is_empty() || found.is_none() {
            report.changes.push(CrewChange {
                crew_id: member.crew_id.to_string(),
                name: member.name.clone(),
                added,
                removed,
                details,
                member: Some(member),
            });
        }
    }
    report
}

/// `Ana María` -> `ana-maria`, made unique among `taken`.
fn unique_id(name: &str, taken: &mut BTreeSet<String>) -> CrewId {
    let base: String = normalise_name(name)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let base = if base.is_empty() {
        "crew".to_string()
    } else {
        base.chars().take(56).collect()
    };
    let mut id = base.clone();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(id.clone());
    CrewId::parse(&id).expect("built from letters, digits and dashes")
}
