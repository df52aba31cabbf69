//! The port sheet: a Google Sheet of bookings the office and the marina read. A charter
//! change reaches it within seconds (the outbox hands every pending change at once to
//! [`PortSheet::sync`]: one read, one `values.batchUpdate`, at most one `values.append`),
//! and a scheduled [`PortSheet::reconcile`] diffs the whole tab against the store as the
//! safety net, recording the drift it found.
//!
//! jada owns the mapped columns only: office columns are never written, rows are never
//! reordered or deleted (a cancelled charter gets its status updated), new charters are
//! appended, columns are found by header name, and a missing header row is created.

mod columns;
mod plan;

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use jada_core::{CharterId, Event, Fault, Recovery};
use jada_google::client::{GoogleClient, GoogleError};
use jada_google::sheets::a1;
use jada_store::{Store, StoreError};
use serde::Serialize;

pub use columns::{Columns, Field};
pub use plan::{Plan, View};

use crate::events::{EventHandler, HandlerError};

/// `[jobs.port-sheet]`.
#[derive(Debug, Clone)]
pub struct PortSheetConfig {
    pub spreadsheet_id: String,
    pub tab: String,
    pub credential: String,
    pub columns: Columns,
    /// The reconcile covers charters dated from this many days ago on (default 30).
    pub window_days: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Google(#[from] GoogleError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the port sheet's tab `{tab}` has no column `{header}` (for {field}): add that header to row 1, or change [jobs.port-sheet.columns] in jada.toml")]
    MissingColumn {
        tab: String,
        header: String,
        field: &'static str,
    },
}

impl Fault for SyncError {
    fn recovery(&self) -> Recovery {
        match self {
            SyncError::Google(e) => e.recovery(),
            SyncError::Store(e) => e.recovery(),
            SyncError::MissingColumn { .. } => Recovery::Operator,
        }
    }

    fn needs_reauth(&self) -> Option<&str> {
        match self {
            SyncError::Google(e) => e.needs_reauth(),
            _ => None,
        }
    }
}

/// What a sync or reconcile did (or, dry, would do).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SyncReport {
    pub header_written: bool,
    pub rows_updated: usize,
    pub cells_updated: usize,
    pub rows_appended: usize,
    /// Human lines: what differed, row by row (for `--dry-run` and run summaries).
    pub changes: Vec<String>,
}

impl SyncReport {
    pub fn summary(&self) -> String {
        format!(
            "{} row(s) updated ({} cells), {} appended{}",
            self.rows_updated,
            self.cells_updated,
            self.rows_appended,
            if self.header_written {
                ", header row written"
            } else {
                ""
            }
        )
    }
}

pub struct PortSheet {
    pub cfg: PortSheetConfig,
    pub client: GoogleClient,
    pub store: Arc<dyn Store>,
}

impl PortSheet {
    /// Reads the tab (creating it if missing): one request.
    pub async fn view(&self) -> Result<View, SyncError> {
        let id = &self.cfg.spreadsheet_id;
        let whole = a1::tab(&self.cfg.tab);
        let grid = match self.client.batch_get(id, std::slice::from_ref(&whole)).await {
            Ok(mut g) => g.pop().unwrap_or_default(),
            // Sheets answers 400 for a range on a tab that does not exist. Whether that is
            // the cause is asked of the spreadsheet (its tabs), not read from the message.
            Err(e @ GoogleError::Rejected { .. }) => {
                if self.client.tabs(id).await?.iter().any(|t| t.title == self.cfg.tab) {
                    return Err(e.into());
                }
                tracing::info!(tab = %self.cfg.tab, "the port sheet's tab is missing; adding it");
                self.client.add_tab(id, &self.cfg.tab).await?;
                vec![]
            }
            Err(e) => return Err(e.into()),
        };
        View::read(&self.cfg.tab, &self.cfg.columns, grid)
    }

    /// Writes the changed charters: the event path.
    pub async fn sync(&self, ids: &[CharterId]) -> Result<SyncReport, SyncError> {
        let view = self.view().await?;
        let charters = self.store.get_charters(ids).await?;
        let plan = Plan::make(&self.cfg, &view, &charters);
        self.apply(plan).await
    }

    /// Diffs the whole tab against the store (charters from `window_days` ago on) and
    /// writes only the differences; with `dry_run`, writes nothing.
    pub async fn reconcile(&self, today: NaiveDate, dry_run: bool) -> Result<SyncReport, SyncError> {
        let view = self.view().await?;
        let from = today - chrono::Duration::days(self.cfg.window_days);
        let to = today + chrono::Duration::days(3660);
        let charters = self.store.list_charters_between(from, to).await?;
        let plan = Plan::make(&self.cfg, &view, &charters);
        if dry_run {
            return Ok(plan.report());
        }
        self.apply(plan).await
    }

    async fn apply(&self, plan: Plan) -> Result<SyncReport, SyncError> {
        let report = plan.report();
        let id = &self.cfg.spreadsheet_id;
        self.client.batch_update(id, &plan.updates).await?;
        self.client.append(id, &plan.append_range, &plan.appends).await?;
        Ok(report)
    }
}

/// The outbox handler for `charter.changed`: every pending change in one sync.
pub struct PortSheetHandler(pub Arc<PortSheet>);

#[async_trait]
impl EventHandler for PortSheetHandler {
    async fn handle_batch(&self, events: &[Event]) -> Result<(), HandlerError> {
        let mut seen = HashSet::new();
        let ids: Vec<CharterId> = events
            .iter()
            .filter_map(|e| match e {
                Event::CharterChanged { charter_id, .. } => Some(*charter_id),
                _ => None,
            })
            .filter(|id| seen.insert(*id))
            .collect();
        match self.0.sync(&ids).await {
            Ok(r) => {
                tracing::info!(changes = ids.len(), summary = %r.summary(), "port sheet synced");
                Ok(())
            }
            Err(e) if !e.is_retryable() => Err(HandlerError::Blocked(e.to_string())),
            Err(e) => Err(HandlerError::Retry(e.to_string())),
        }
    }
}
