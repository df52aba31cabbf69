//! Reading the tab into a [`View`] and deciding the writes ([`Plan`]): pure functions,
//! tested without any server.

use std::collections::HashMap;

use jada_core::{Charter, CharterId};
use jada_google::sheets::a1;

use super::{Columns, Field, PortSheetConfig, SyncError, SyncReport};

/// The tab as read: where each mapped column is, and each charter's row.
#[derive(Debug, Clone)]
pub struct View {
    /// The header row is missing (empty tab): the plan writes one.
    pub header_missing: bool,
    pub col_of: HashMap<Field, usize>,
    /// 0-based row index and the row's cells, by charter id.
    pub rows: HashMap<CharterId, (usize, Vec<String>)>,
    pub row_count: usize,
}

impl View {
    pub fn read(tab: &str, columns: &Columns, grid: Vec<Vec<String>>) -> Result<View, SyncError> {
        let header_missing = grid.first().is_none_or(|h| h.iter().all(|c| c.trim().is_empty()));
        let col_of: HashMap<Field, usize> = if header_missing {
            columns.0.iter().enumerate().map(|(i, (_, f))| (*f, i)).collect()
        } else {
            let header: Vec<String> = grid[0].iter().map(|h| h.trim().to_lowercase()).collect();
            let mut m = HashMap::new();
            for (name, field) in &columns.0 {
                let i = header
                    .iter()
                    .position(|h| *h == name.trim().to_lowercase())
                    .ok_or_else(|| SyncError::MissingColumn {
                        tab: tab.to_string(),
                        header: name.clone(),
                        field: field.name(),
                    })?;
                m.insert(*field, i);
            }
            m
        };
        let key = col_of[&Field::CharterId];
        let mut rows = HashMap::new();
        for (i, row) in grid.iter().enumerate().skip(usize::from(!header_missing)) {
            // Rows without a charter id are the office's (notes, totals): left alone.
            if let Some(id) = row.get(key).and_then(|c| CharterId::parse(c).ok()) {
                rows.entry(id).or_insert((i, row.clone()));
            }
        }
        Ok(View {
            header_missing,
            col_of,
            rows,
            row_count: grid.len(),
        })
    }
}

/// The writes a sync makes: one batchUpdate (`updates`) and one append (`appends`).
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub updates: Vec<(String, Vec<Vec<String>>)>,
    pub appends: Vec<Vec<String>>,
    pub append_range: String,
    pub header_written: bool,
    pub rows_updated: usize,
    pub cells_updated: usize,
    pub changes: Vec<String>,
}

impl Plan {
    pub fn make(cfg: &PortSheetConfig, view: &View, charters: &[Charter]) -> Plan {
        let tab = &cfg.tab;
        let width = view.col_of.values().max().map_or(1, |m| m + 1);
        let mut plan = Plan {
            append_range: format!("{}!A1:{}", a1::tab(tab), a1::col(width - 1)),
            ..Plan::default()
        };
        if view.header_missing {
            let header: Vec<String> = cfg.columns.0.iter().map(|(h, _)| h.clone()).collect();
            plan.updates.push((format!("{}!A1", a1::tab(tab)), vec![header]));
            plan.header_written = true;
        }
        for c in charters {
            match view.rows.get(&c.charter_id) {
                Some((row, cells)) => plan.update_row(cfg, view, *row, cells, c),
                None => {
                    let mut cells = vec![String::new(); width];
                    for (field, col) in &view.col_of {
                        cells[*col] = field.render(c);
                    }
                    plan.changes.push(format!(
                        "add {} ({} {}, {})",
                        c.charter_id, c.charter_date, c.vessel_name, c.guest_name
                    ));
                    plan.appends.push(cells);
                }
            }
        }
        plan
    }

    /// Writes the mapped cells that differ, as runs of adjacent columns, so cells between
    /// them (the office's) are never written.
    fn update_row(&mut self, cfg: &PortSheetConfig, view: &View, row: usize, cells: &[String], c: &Charter) {
        let mut dirty: Vec<(usize, String, Field)> = view
            .col_of
            .iter()
            .map(|(f, col)| (*col, f.render(c), *f))
            .filter(|(col, want, _)| cells.get(*col).map(String::as_str).unwrap_or("") != want)
            .collect();
        if dirty.is_empty() {
            return;
        }
        dirty.sort_by_key(|(col, _, _)| *col);
        let what: Vec<String> = dirty
            .iter()
            .map(|(_, want, f)| format!("{}={want}", cfg.columns.header(*f).unwrap_or(f.name())))
            .collect();
        self.changes.push(format!(
            "change {} (row {}): {}",
            c.charter_id,
            row + 1,
            what.join(", ")
        ));
        self.rows_updated += 1;
        self.cells_updated += dirty.len();
        let mut run: Vec<(usize, String)> = Vec::new();
        for (col, want, _) in dirty {
            if run.last().is_some_and(|(last, _)| *last + 1 != col) {
                self.push_run(&cfg.tab, row, std::mem::take(&mut run));
            }
            run.push((col, want));
        }
        self.push_run(&cfg.tab, row, run);
    }

    fn push_run(&mut self, tab: &str, row: usize, run: Vec<(usize, String)>) {
        if let Some((first, _)) = run.first() {
            self.updates.push((
                a1::cell(tab, row, *first),
                vec![run.into_iter().map(|(_, v)| v).collect()],
            ));
        }
    }

    pub fn report(&self) -> SyncReport {
        SyncReport {
            header_written: self.header_written,
            rows_updated: self.rows_updated,
            cells_updated: self.cells_updated,
            rows_appended: self.appends.len(),
            changes: self.changes.clone(),
        }
    }
}
