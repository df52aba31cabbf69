//! Saving charters: a batch of drafts becomes creates, updates (with the version the
//! store holds) and no-ops, each written with its `charter.changed` outbox event. Import,
//! demo, and later the API and admin pages all save through here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jada_core::{Charter, CharterId, CharterStatus, Event};
use jada_store::{CharterWrite, Store};

use crate::cancellation;
use crate::import::{Conflict, ImportReport, Location, Progress, Rejection};

/// A charter as the caller wants it stored, and where it came from.
#[derive(Debug, Clone)]
pub struct Draft {
    pub location: Location,
    pub charter: Charter,
}

/// What saving a batch will do, decided before anything is written.
#[derive(Debug, Default)]
pub struct Plan {
    pub writes: Vec<(Location, CharterWrite)>,
    pub unchanged: usize,
    pub rejected: Vec<Rejection>,
    /// The charters these writes cancel, as they are now (see `crate::cancellation`).
    pub cancels: HashMap<CharterId, Charter>,
}

/// How many writes go to the store at once: large enough to amortise a transaction,
/// small enough to report progress and hold the write lock briefly.
const CHUNK: usize = 5_000;

/// The stored charters among `ids`, by id.
pub async fn existing(
    store: &dyn Store,
    ids: &[CharterId],
) -> Result<HashMap<CharterId, Charter>, jada_store::StoreError> {
    Ok(store
        .get_charters(ids)
        .await?
        .into_iter()
        .map(|c| (c.charter_id, c))
        .collect())
}

/// Decides each draft against what is stored: create, update, unchanged, or rejected
/// (a rule broken, or a status change the lifecycle forbids).
pub fn plan(existing: &HashMap<CharterId, Charter>, drafts: Vec<Draft>) -> Plan {
    let mut plan = Plan::default();
    for Draft { location, charter } in drafts {
        let reject = |reason: String, column| Rejection {
            conflict: None,
            location,
            column,
            value: None,
            reason,
        };
        if let Err(e) = charter.validate() {
            plan.rejected.push(reject(e.to_string(), None));
            continue;
        }
        match existing.get(&charter.charter_id) {
            None => {
                let events = vec![Event::CharterChanged {
                    charter_id: charter.charter_id,
                    version: 1,
                }];
                plan.writes.push((location, CharterWrite::Create { charter, events }));
            }
            Some(old) if old.same_booking(&charter) => plan.unchanged += 1,
            Some(old) => {
                if let Err(e) = old.check_change(&charter) {
                    let mut r = reject(format!("charter {}: {e}", charter.charter_id), Some("status"));
                    r.value = Some(charter.status.to_string());
                    plan.rejected.push(r);
                    continue;
                }
                let events = vec![Event::CharterChanged {
                    charter_id: charter.charter_id,
                    version: old.version + 1,
                }];
                if charter.status == CharterStatus::Cancelled && old.status != CharterStatus::Cancelled {
                    plan.cancels.insert(charter.charter_id, old.clone());
                }
                plan.writes.push((
                    location,
                    CharterWrite::Update {
                        charter,
                        expected_version: old.version,
                        events,
                    },
                ));
            }
        }
    }
    plan
}

/// Writes a plan in chunks. A write the store refuses (someone changed the charter
/// meanwhile) becomes a rejection; the rest are written.
pub async fn apply(
    store: &dyn Store,
    plan: Plan,
    now: DateTime<Utc>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ImportReport, jada_store::StoreError> {
    let mut report = ImportReport {
        unchanged: plan.unchanged,
        rejected: plan.rejected,
        ..Default::default()
    };
    let total = plan.writes.len();
    let mut done = 0;
    let mut writes = plan.writes.into_iter().peekable();
    while writes.peek().is_some() {
        let (locations, batch): (Vec<Location>, Vec<CharterWrite>) = writes.by_ref().take(CHUNK).unzip();
        let kinds: Vec<bool> = batch.iter().map(|w| matches!(w, CharterWrite::Create { .. })).collect();
        done += batch.len();
        let cancels = snapshots(store, &plan.cancels, &batch, now).await?;
        let results = store.write_charters(batch, now).await?;
        for ((result, location), created) in results.into_iter().zip(locations).zip(kinds) {
            match result {
                Ok(_) if created => report.created += 1,
                Ok(c) => {
                    report.updated += 1;
                    if let Some(before) = cancels.get(&c.charter_id) {
                        remember(store, before).await;
                    }
                }
                Err(e) => report.rejected.push(Rejection {
                    conflict: Conflict::of(&e),
                    location,
                    column: None,
                    value: None,
                    reason: e.to_string(),
                }),
            }
        }
        progress(Progress { done, total });
    }
    report.rejected.sort_by_key(|r| r.location);
    Ok(report)
}

/// What each charter of `batch` that the write cancels was just before it.
async fn snapshots(
    store: &dyn Store,
    cancels: &HashMap<CharterId, Charter>,
    batch: &[CharterWrite],
    now: DateTime<Utc>,
) -> Result<HashMap<CharterId, cancellation::Cancellation>, jada_store::StoreError> {
    let mut out = HashMap::new();
    for w in batch {
        if let CharterWrite::Update { charter, .. } = w {
            if let Some(old) = cancels.get(&charter.charter_id) {
                out.insert(charter.charter_id, cancellation::snapshot(store, old, now).await?);
            }
        }
    }
    Ok(out)
}

/// Keeps a cancellation. The cancel itself is written already: failing to keep what it
/// changed only means it cannot be reinstated, which the log says (and reinstate says why).
async fn remember(store: &dyn Store, c: &cancellation::Cancellation) {
    if let Err(e) = cancellation::remember(store, c).await {
        tracing::error!(charter = %c.charter_id, error = %e, "cancelled, but what it changed was not kept: it cannot be reinstated");
    }
}

/// Plans and applies drafts that need no further checks (demo data, a single API write).
pub async fn save(
    store: &dyn Store,
    drafts: Vec<Draft>,
    now: DateTime<Utc>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ImportReport, jada_store::StoreError> {
    let ids: Vec<CharterId> = drafts.iter().map(|d| d.charter.charter_id).collect();
    let rows = drafts.len();
    let plan = plan(&existing(store, &ids).await?, drafts);
    let mut report = apply(store, plan, now, progress).await?;
    report.rows = rows;
    Ok(report)
}

/// Pairs of `charters` that have one vessel at sea twice at once (charters written before
/// the store refused it, or by the old scripts): each pair once, earlier first.
pub fn overlaps_among(charters: &[Charter], turnarounds: &jada_store::Turnarounds) -> Vec<(Charter, Charter)> {
    let mut sorted: Vec<&Charter> = charters.iter().filter(|c| c.holds_vessel()).collect();
    sorted.sort_by_key(|c| (c.charter_date, c.start_time, c.charter_id));
    let mut out = Vec::new();
    for (i, a) in sorted.iter().enumerate() {
        for b in sorted[i + 1..].iter().take_while(|b| b.charter_date == a.charter_date) {
            if turnarounds.first_overlap(a, std::slice::from_ref(*b)).is_some() {
                out.push(((*a).clone(), (*b).clone()));
            }
        }
    }
    out
}

/// Why a charter named by a person (a task's charter) was not taken.
#[derive(Debug, thiserror::Error)]
pub enum NamedCharterError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] jada_store::StoreError),
}

/// The charter a person named by its id (blank: none), checked to exist: the one check
/// for a task's charter from the CLI, the API and the office.
pub async fn named_charter(store: &dyn Store, text: &str) -> Result<Option<CharterId>, NamedCharterError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let id = CharterId::parse(text).map_err(|e| NamedCharterError::Invalid(e.0))?;
    match store.get_charter(id).await? {
        Some(_) => Ok(Some(id)),
        None => Err(NamedCharterError::Invalid(format!("there is no charter {id}"))),
    }
}
