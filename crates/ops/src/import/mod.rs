//! Importing files of charters or crew. A file is read into rows against a column
//! [`Schema`]; each row becomes a domain value or a list of [`Rejection`]s that name its
//! line, column, value and reason. Good rows are saved, bad rows are reported, and the
//! caller turns any rejection into a non-zero exit. With `strict`, one bad row rejects
//! the file and nothing is written.

mod charters;
mod crew;
mod table;

use std::fmt;
use std::path::Path;

use jada_core::CharterId;
use serde::Serialize;

pub use charters::{import_charters, CharterContext, CHARTER_COLUMNS};
pub use crew::{import_crew, CREW_COLUMNS};
pub use table::{Column, Row, Schema};

/// The two file formats an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    /// The format named by a file's extension.
    pub fn from_path(path: &Path) -> Result<Format, ImportError> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("json") => Ok(Format::Json),
            _ => Err(ImportError::UnknownFormat {
                file: path.display().to_string(),
            }),
        }
    }
}

/// Where a row came from: a line of a CSV file, or the n-th record (from 1) of a JSON array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Line(u64),
    Record(usize),
    /// Not from a file (demo data, an API call).
    Generated,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Record(n) => write!(f, "record {n}"),
            Location::Generated => f.write_str("generated row"),
        }
    }
}

/// One reason a row was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub location: Location,
    /// The column at fault, when one is.
    pub column: Option<&'static str>,
    /// The value as it stood in the file.
    pub value: Option<String>,
    pub reason: String,
    /// Set when the row lost a race with another writer, so callers (the booking API's
    /// 409, the office form) can tell a conflict from a bad cell by type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Conflict>,
}

/// A write refused because of what another writer did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Conflict {
    /// The charter changed since the caller read it.
    Stale {
        charter_id: CharterId,
        your_version: u64,
        current_version: u64,
    },
    /// A create named an id that exists.
    Exists { charter_id: CharterId },
    /// The charter would overlap another of its vessel (the one named).
    Overlap {
        charter_id: CharterId,
        other: Box<jada_core::Charter>,
        turnaround_minutes: i64,
    },
}

impl Conflict {
    /// The store's refusal, when it is a conflict.
    pub fn of(e: &jada_store::StoreError) -> Option<Conflict> {
        match e {
            jada_store::StoreError::StaleVersion { id, expected, actual } => Some(Conflict::Stale {
                charter_id: *id,
                your_version: *expected,
                current_version: *actual,
            }),
            jada_store::StoreError::CharterExists(id) => Some(Conflict::Exists { charter_id: *id }),
            jada_store::StoreError::Overlap {
                id,
                other,
                turnaround_minutes,
            } => Some(Conflict::Overlap {
                charter_id: *id,
                other: other.clone(),
                turnaround_minutes: *turnaround_minutes,
            }),
            _ => None,
        }
    }
}

/// Said as the store says it: one wording for a conflict, wherever it is found.
impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = match self {
            Conflict::Stale {
                charter_id,
                your_version,
                current_version,
            } => jada_store::StoreError::StaleVersion {
                id: *charter_id,
                expected: *your_version,
                actual: *current_version,
            },
            Conflict::Exists { charter_id } => jada_store::StoreError::CharterExists(*charter_id),
            Conflict::Overlap {
                charter_id,
                other,
                turnaround_minutes,
            } => jada_store::StoreError::Overlap {
                id: *charter_id,
                other: other.clone(),
                turnaround_minutes: *turnaround_minutes,
            },
        };
        e.fmt(f)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.location)?;
        if let Some(c) = self.column {
            write!(f, ", column {c}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Data rows read from the file.
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    /// Rows identical to what the store already held (re-imports are idempotent).
    pub unchanged: usize,
    /// Every rejected cell or row; a row may have several.
    pub rejected: Vec<Rejection>,
}

impl ImportReport {
    /// How many rows were rejected (a row with three bad cells counts once).
    pub fn rejected_rows(&self) -> usize {
        let mut locs: Vec<Location> = self.rejected.iter().map(|r| r.location).collect();
        locs.dedup();
        locs.len()
    }
}

/// Progress of a long import, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// An import that could not proceed at all. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot tell the format of {file} from its extension: pass --format csv or --format json")]
    UnknownFormat { file: String },
    #[error("{file} is not a {format} file: {why}")]
    NotThisFormat {
        file: String,
        format: &'static str,
        why: String,
    },
    #[error("{file} does not have the columns of a {what} file: {why}. Expected a header row like:\n  {expected}")]
    Header {
        file: String,
        what: &'static str,
        why: String,
        expected: String,
    },
    #[error("{file}: {} row(s) rejected and --strict is set, so nothing was imported:\n{}", .report.rejected_rows(), list(&.report.rejected))]
    Strict { file: String, report: ImportReport },
    #[error(transparent)]
    Store(#[from] jada_store::StoreError),
}

fn list(rejections: &[Rejection]) -> String {
    let mut s: Vec<String> = rejections.iter().take(20).map(|r| format!("  {r}")).collect();
    if rejections.len() > 20 {
        s.push(format!("  ... and {} more", rejections.len() - 20));
    }
    s.join("\n")
}

/// Parses one cell, recording a rejection against the row when it does not parse.
pub(crate) fn cell<T>(
    errors: &mut Vec<Rejection>,
    row: &Row,
    column: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    let value = row.get(column)?;
    match parse(value) {
        Ok(v) => Some(v),
        Err(reason) => {
            errors.push(Rejection {
                conflict: None,
                location: row.location,
                column: Some(column),
                value: Some(value.to_string()),
                reason,
            });
            None
        }
    }
}

/// Parses a cell that must not be blank, recording a rejection when it is blank or bad.
pub(crate) fn required<T>(
    errors: &mut Vec<Rejection>,
    row: &Row,
    column: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    if row.get(column).is_none() {
        errors.push(Rejection {
            conflict: None,
            location: row.location,
            column: Some(column),
            value: None,
            reason: format!("{column} is required and is blank"),
        });
        return None;
    }
    cell(errors, row, column, parse)
}
