//! Printing: tables for people, JSON for scripts, a progress bar that appears only on a
//! terminal and only when an import takes more than a moment.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use comfy_table::{ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jada_ops::import::{ImportReport, Progress};
use serde::Serialize;

/// The widest a table is printed: a terminal narrower than this is used as it is; a
/// file or a pipe gets this (scripts wanting every character use `--json`).
pub const TABLE_COLUMNS: usize = 100;

/// A value is never shortened below this many characters.
const SHORTEST: usize = 10;

/// A column no wider than this is never shortened (dates, times, amounts, statuses).
const KEEP_WHOLE: usize = 16;

/// A table for people: at most [`TABLE_COLUMNS`] wide (or the terminal's width), each row
/// one line. When the rows are too wide, the widest columns are shortened (with `…`) to a
/// common width and the narrow ones (dates, times, amounts, statuses) stay whole; so do
/// the columns marked [`CliTable::whole`] (ids a person copies).
pub struct CliTable {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    whole: Vec<usize>,
}

pub fn table(header: &[&str]) -> CliTable {
    CliTable {
        header: header.iter().map(|h| h.to_string()).collect(),
        rows: Vec::new(),
        whole: Vec::new(),
    }
}

impl CliTable {
    pub fn add_row<T: ToString>(&mut self, row: Vec<T>) -> &mut Self {
        // Cells carry names, guests and errors from outside: never a control character.
        let printable = |c: &T| jada_core::text::printable(&c.to_string()).into_owned();
        self.rows.push(row.iter().map(printable).collect());
        self
    }

    /// Never shorten these columns (by position): the table may then be wider.
    pub fn whole(&mut self, columns: &[usize]) -> &mut Self {
        self.whole.extend_from_slice(columns);
        self
    }

    /// Whether every value of column `i` is an amount or a count (right-aligned, so
    /// amounts line up on their decimal point).
    fn is_numeric(&self, i: usize) -> bool {
        let number = |s: &str| {
            let s = s.trim().trim_start_matches('-').trim_start_matches('$');
            !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '.')
        };
        let mut cells = self
            .rows
            .iter()
            .filter_map(|r| r.get(i))
            .filter(|c| !c.trim().is_empty())
            .peekable();
        cells.peek().is_some() && cells.all(|c| number(c))
    }

    /// Each column's width cap (`None`: whole), so the content fits `budget` characters.
    fn caps(&self, budget: usize) -> Vec<Option<usize>> {
        let width = |s: &str| s.chars().count();
        let widths: Vec<usize> = (0..self.header.len())
            .map(|i| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| width(c))
                    .chain([width(&self.header[i])])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        if widths.iter().sum::<usize>() <= budget {
            return vec![None; widths.len()];
        }
        // Narrow columns (dates, times, amounts, statuses) and those marked whole are
        // never shortened; the others share what is left, the widest shortened first, none
        // below its header or SHORTEST.
        let keep = |i: usize| self.whole.contains(&i) || widths[i] <= KEEP_WHOLE;
        let floor = |i: usize| width(&self.header[i]).max(SHORTEST);
        let fits = |cap: usize| -> bool {
            let used: usize = widths
                .iter()
                .enumerate()
                .map(|(i, w)| if keep(i) { *w } else { (*w).min(cap.max(floor(i))) })
                .sum();
            used <= budget
        };
        let widest = widths.iter().copied().max().unwrap_or(0);
        let cap = (SHORTEST..=widest).rev().find(|c| fits(*c)).unwrap_or(SHORTEST);
        widths
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let c = cap.max(floor(i));
                (!keep(i) && *w > c).then_some(c)
            })
            .collect()
    }
}

impl std::fmt::Display for CliTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use comfy_table::{ColumnConstraint, Width};
        let terminal = if std::io::stdout().is_terminal() {
            crossterm_width()
        } else {
            None
        };
        let total = terminal.map_or(TABLE_COLUMNS, |w| w.min(TABLE_COLUMNS));
        // One space between columns, none at the edges.
        let budget = total.saturating_sub(self.header.len().saturating_sub(1));
        let caps = self.caps(budget);
        let mut t = Table::new();
        t.load_preset(TABLE_STYLE)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_truncation_indicator("…")
            .set_header(self.header.iter().enumerate().map(|(i, h)| {
                let cell = comfy_table::Cell::new(jada_core::text::printable(h));
                if self.is_numeric(i) {
                    cell.set_alignment(comfy_table::CellAlignment::Right)
                } else {
                    cell
                }
            }));
        for r in &self.rows {
            let mut row = comfy_table::Row::from(r.clone());
            row.max_height(1);
            t.add_row(row);
        }
        let last = caps.len().saturating_sub(1);
        for (i, cap) in caps.iter().enumerate() {
            let numeric = self.is_numeric(i);
            let Some(col) = t.column_mut(i) else { continue };
            if numeric {
                col.set_cell_alignment(comfy_table::CellAlignment::Right);
            }
            col.set_padding((0, u16::from(i != last)));
            match cap {
                Some(c) => col.set_constraint(ColumnConstraint::Absolute(Width::Fixed(
                    *c as u16 + u16::from(i != last),
                ))),
                None => col.set_constraint(ColumnConstraint::ContentWidth),
            };
        }
        let text = t.to_string();
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        f.write_str(&lines.join("\n"))
    }
}

/// No borders, a rule under the header (columns are one space apart by padding).
const TABLE_STYLE: &str = "     ─             ";

/// The terminal's width, when stdout is one.
fn crossterm_width() -> Option<usize> {
    Table::new().width().map(usize::from)
}

pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A progress bar shown on stderr once work has run for half a second, if stderr is a terminal.
pub struct ProgressReporter {
    started: Instant,
    label: &'static str,
    bar: Mutex<Option<ProgressBar>>,
}

impl ProgressReporter {
    pub fn new(label: &'static str) -> Self {
        ProgressReporter {
            started: Instant::now(),
            label,
            bar: Mutex::new(None),
        }
    }

    pub fn update(&self, p: Progress) {
        if self.started.elapsed() < Duration::from_millis(500) || !std::io::stderr().is_terminal() {
            return;
        }
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bar.get_or_insert_with(|| {
            let b = ProgressBar::with_draw_target(Some(p.total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})") {
                b.set_style(style.progress_chars("=> "));
            }
            b.set_message(self.label);
            b
        });
        bar.set_position(p.done as u64);
    }

    pub fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}

/// Prints an import report: one summary line, then every rejection.
pub fn print_report(file: &str, what: &str, report: &ImportReport) {
    println!(
        "{file}: {} {what} rows read: {} created, {} updated, {} unchanged, {} rejected",
        report.rows,
        report.created,
        report.updated,
        report.unchanged,
        report.rejected_rows()
    );
    for r in &report.rejected {
        match &r.value {
            Some(v) => println!("  rejected {r} (value: {v:?})"),
            None => println!("  rejected {r}"),
        }
    }
}

pub use jada_core::text::count;
