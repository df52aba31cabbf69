//! Printing: tables for people, JSON for scripts, a progress bar that appears only on a
//! terminal and only when an import takes more than a moment.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jada_ops::import::{ImportReport, Progress};
use serde::Serialize;

/// The widest a table is printed: a terminal narrower than this is used as it is; a
/// file or a pipe gets this (scripts wanting every character use `--json`).
pub const TABLE_COLUMNS: u16 = 100;

/// A table for people: at most [`TABLE_COLUMNS`] wide (or the terminal's width), each row
/// one line, a value too long for its column shortened with `…`.
pub struct CliTable(Table);

pub fn table(header: &[&str]) -> CliTable {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_truncation_indicator("…")
        .set_header(header.to_vec());
    CliTable(t)
}

impl CliTable {
    pub fn add_row<T: Into<comfy_table::Row>>(&mut self, row: T) -> &mut Self {
        let mut row: comfy_table::Row = row.into();
        row.max_height(1);
        self.0.add_row(row);
        self
    }
}

impl std::fmt::Display for CliTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut t = self.0.clone();
        let terminal = if std::io::stdout().is_terminal() {
            t.width()
        } else {
            None
        };
        t.set_width(terminal.map_or(TABLE_COLUMNS, |w| w.min(TABLE_COLUMNS)));
        write!(f, "{t}")
    }
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

/// `n` things, singular or plural as English needs: "1 session", "3 sessions".
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
