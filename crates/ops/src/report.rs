//! The monthly revenue report: an xlsx workbook of the month's reportable charters (the
//! one rule in [`jada_core::revenue`]: booked, confirmed or completed, with revenue above
//! zero), with a `Template` tab and a tab named like `May 2024`, which is the one the
//! workbook opens on. A `Status` column is added when a listed charter is not yet
//! completed, so nothing on it looks more final than it is. Totals are SUM formulas with their results cached,
//! so viewers that do not recalculate still show the numbers. Column order follows the
//! previous month's report when one is in the reports folder, so months stay alike.

use std::path::{Path, PathBuf};

use chrono::Datelike;
use jada_core::revenue::{is_reportable, Totals};
use jada_core::{Cents, Charter, CharterStatus, Fault, Month, Recovery};
use jada_store::{Store, StoreError};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Formula, Workbook, Worksheet, XlsxError};
use serde::Serialize;

/// A report column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Date,
    CharterId,
    Vessel,
    Guest,
    Guests,
    Revenue,
    Tips,
    Captain,
    Crew,
    /// Only when a listed charter is not completed (see [`columns_for`]).
    Status,
}

impl Column {
    pub const DEFAULT: [Column; 9] = [
        Column::Date,
        Column::CharterId,
        Column::Vessel,
        Column::Guest,
        Column::Guests,
        Column::Revenue,
        Column::Tips,
        Column::Captain,
        Column::Crew,
    ];

    pub fn header(&self) -> &'static str {
        match self {
            Column::Date => "Date",
            Column::CharterId => "Charter ID",
            Column::Vessel => "Vessel",
            Column::Guest => "Guest",
            Column::Guests => "Guests",
            Column::Revenue => "Revenue",
            Column::Tips => "Tips",
            Column::Captain => "Captain",
            Column::Crew => "Crew",
            Column::Status => "Status",
        }
    }

    fn width(&self) -> f64 {
        match self {
            Column::CharterId => 38.0,
            Column::Guest | Column::Crew => 24.0,
            Column::Guests => 8.0,
            _ => 13.0,
        }
    }

    fn from_header(h: &str) -> Option<Column> {
        Column::DEFAULT
            .into_iter()
            .chain([Column::Status])
            .find(|c| c.header().eq_ignore_ascii_case(h.trim()))
    }
}

/// The columns of a report of `charters` in `order` (the default or last month's): a
/// `Status` column is appended when any of them is not completed yet.
pub fn columns_for(charters: &[Charter], order: &[Column]) -> Vec<Column> {
    let mut cols: Vec<Column> = order.iter().copied().filter(|c| *c != Column::Status).collect();
    if charters.iter().any(|c| c.status != CharterStatus::Completed) {
        cols.push(Column::Status);
    }
    cols
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the report {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: XlsxError,
    },
}

impl Fault for ReportError {
    fn recovery(&self) -> Recovery {
        match self {
            ReportError::Store(e) => e.recovery(),
            // A full or unwritable reports folder: worth another try once space is freed.
            ReportError::Write { .. } => Recovery::Retry,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct MonthlyReport {
    pub month: String,
    pub path: PathBuf,
    pub rows: usize,
    pub revenue: Cents,
    pub tips: Cents,
    /// Where the column order came from.
    pub column_order: String,
}

/// The file name a month's report gets in the reports folder.
pub fn file_name(month: Month) -> String {
    format!("revenue-{month}.xlsx")
}

/// Builds the month's report from one store query (the month index) and writes it to `out`.
/// The previous month's report, for the column order, is looked for in the reports folder,
/// then in the Drive folder of `drive` when given.
pub async fn monthly(
    store: &dyn Store,
    month: Month,
    reports_dir: &Path,
    out: &Path,
    drive: Option<&Publish>,
) -> Result<MonthlyReport, ReportError> {
    let charters: Vec<Charter> = store
        .list_charters_in_month(month)
        .await?
        .into_iter()
        .filter(is_reportable)
        .collect();
    let (order, column_order) = previous_order(month, reports_dir, drive).await;
    let order = columns_for(&charters, &order);
    let out_owned = out.to_path_buf();
    let totals = Totals::of(&charters);
    let written = tokio::task::spawn_blocking(move || write(&charters, month, &order, &out_owned)).await;
    let path = out.display().to_string();
    match written {
        Ok(r) => r.map_err(|source| ReportError::Write {
            path: path.clone(),
            source,
        })?,
        Err(e) => {
            return Err(ReportError::Write {
                path,
                source: XlsxError::IoError(std::io::Error::other(e)),
            })
        }
    }
    Ok(MonthlyReport {
        month: month.to_string(),
        path: out.to_path_buf(),
        rows: totals.reportable,
        revenue: totals.revenue,
        tips: totals.tips,
        column_order,
    })
}

/// The previous month's column order and where it came from ("the default" without one).
async fn previous_order(month: Month, reports_dir: &Path, drive: Option<&Publish>) -> (Vec<Column>, String) {
    let prev = month.prev();
    let local = reports_dir.join(file_name(prev));
    if let Ok(bytes) = std::fs::read(&local) {
        if let Some(o) = order_from(bytes, prev) {
            return (o, format!("as in {}", local.display()));
        }
    }
    if let Some(p) = drive {
        let found = p.client.find_in_folder(&p.folder_id, &file_name(prev)).await;
        match found {
            Ok(Some(f)) => match p.client.download(&f.id).await {
                Ok(bytes) => {
                    if let Some(o) = order_from(bytes, prev) {
                        return (o, format!("as in {} on Drive", file_name(prev)));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read last month's report from Drive; using the default column order")
                }
            },
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for last month's report on Drive; using the default column order")
            }
        }
    }
    (Column::DEFAULT.to_vec(), "the default".to_string())
}

/// A report's column order, if it has the month tab and every column.
fn order_from(bytes: Vec<u8>, month: Month) -> Option<Vec<Column>> {
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).ok()?;
    let range = wb.worksheet_range(&month.long_name()).ok()?;
    let header = range.rows().next()?;
    let order: Vec<Column> = header
        .iter()
        .filter_map(|c| Column::from_header(&c.to_string()))
        .filter(|c| *c != Column::Status)
        .collect();
    let complete = Column::DEFAULT.iter().all(|c| order.contains(c)) && order.len() == Column::DEFAULT.len();
    complete.then_some(order)
}

/// Writes the workbook. The month tab streams its rows (constant memory), so 100,000
/// charters fit in a few megabytes. `order` names every column written (see
/// [`columns_for`]); the totals are the rule's [`Totals`] of `charters`, which the caller
/// has already filtered.
pub fn write(charters: &[Charter], month: Month, order: &[Column], out: &Path) -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("$#,##0.00");
    let date = Format::new().set_num_format("yyyy-mm-dd").set_align(FormatAlign::Left);
    let total_money = Format::new().set_num_format("$#,##0.00").set_bold();
    let tab = month.long_name();
    let last = charters.len() as u32; // the data rows are 1..=last
    let col = |c: Column| {
        order
            .iter()
            .position(|x| *x == c)
            .expect("every column is in the order") as u16
    };

    let template = wb.add_worksheet();
    template.set_name("Template")?;
    header(template, order, &bold, &money, &date)?;

    let ws = wb.add_worksheet_with_constant_memory()?;
    ws.set_name(&tab)?;
    ws.set_active(true);
    header(ws, order, &bold, &money, &date)?;
    for (i, c) in charters.iter().enumerate() {
        let r = i as u32 + 1;
        for (j, column) in order.iter().enumerate() {
            let j = j as u16;
            match column {
                Column::Date => {
                    let d = ExcelDateTime::from_ymd(
                        c.charter_date.year() as u16,
                        c.charter_date.month() as u8,
                        c.charter_date.day() as u8,
                    )?;
                    ws.write_datetime_with_format(r, j, d, &date)?
                }
                Column::CharterId => ws.write_string(r, j, c.charter_id.to_string())?,
                Column::Vessel => ws.write_string(r, j, &c.vessel_name)?,
                Column::Guest => ws.write_string(r, j, &c.guest_name)?,
                Column::Guests => ws.write_number(r, j, c.guest_count)?,
                Column::Revenue => ws.write_number_with_format(r, j, c.reportable_revenue.dollars(), &money)?,
                Column::Tips => ws.write_number_with_format(r, j, c.tips.dollars(), &money)?,
                Column::Captain => {
                    ws.write_string(r, j, c.captain_assigned.as_ref().map(|x| x.as_str()).unwrap_or(""))?
                }
                Column::Crew => ws.write_string(
                    r,
                    j,
                    c.crew_assigned
                        .iter()
                        .map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                )?,
                Column::Status => ws.write_string(r, j, c.status.as_str())?,
            };
        }
    }
    // The totals row, below the data, with the sums cached.
    let total_row = last + 1;
    ws.write_string_with_format(total_row, 0, "Total", &bold)?;
    let mut names = Vec::new();
    let totals = Totals::of(charters);
    for (column, name, sum) in [
        (Column::Revenue, "Revenue", totals.revenue),
        (Column::Tips, "Tips", totals.tips),
    ] {
        let c = col(column);
        let letters = jada_google::sheets::a1::col(usize::from(c));
        let formula = Formula::new(format!("=SUM({name})")).set_result(format!("{}", sum.dollars()));
        ws.write_formula_with_format(total_row, c, formula, &total_money)?;
        let range = if last == 0 {
            format!("${letters}$2:${letters}$2")
        } else {
            format!("${letters}$2:${letters}${}", last + 1)
        };
        names.push((name, format!("='{}'!{range}", tab.replace('\'', "''"))));
    }
    ws.autofilter(0, 0, last.max(1), order.len() as u16 - 1)?;
    // The ranges the totals use, by name (after the sheet: the workbook is borrowed until then).
    for (name, range) in names {
        wb.define_name(name, &range)?;
    }
    // Private (0600 whatever the umask): a month's revenue per guest is the business's own.
    let bytes = wb.save_to_buffer()?;
    jada_google::secret_files::write_private_atomic(out, &bytes).map_err(XlsxError::IoError)
}

fn header(ws: &mut Worksheet, order: &[Column], bold: &Format, money: &Format, date: &Format) -> Result<(), XlsxError> {
    for (j, c) in order.iter().enumerate() {
        let j = j as u16;
        ws.write_string_with_format(0, j, c.header(), bold)?;
        match c {
            Column::Revenue | Column::Tips => ws.set_column_width(j, c.width())?.set_column_format(j, money)?,
            Column::Date => ws.set_column_width(j, c.width())?.set_column_format(j, date)?,
            _ => ws.set_column_width(j, c.width())?,
        };
    }
    ws.set_freeze_panes(1, 0)?;
    print_setup(ws, 0)
}

/// Printed as an office prints a list: landscape, one page wide (as many pages down as
/// it takes), the table's header row (`header_row`) on every page. The statements use it
/// too.
pub fn print_setup(ws: &mut Worksheet, header_row: u32) -> Result<(), XlsxError> {
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(header_row, header_row)?;
    Ok(())
}

/// Where a report is published on Drive, and with whom it is shared.
#[derive(Clone)]
pub struct Publish {
    pub client: jada_google::client::GoogleClient,
    pub folder_id: String,
    pub share: Vec<String>,
}

/// What publishing did.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    pub file_id: String,
    /// A file of that name was already there: its content was replaced (no duplicate).
    pub replaced: bool,
    pub shared_with: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("cannot read the report {path} to upload it: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Drive(#[from] jada_google::client::GoogleError),
}

impl Fault for PublishError {
    fn recovery(&self) -> Recovery {
        match self {
            PublishError::Read { .. } => Recovery::Retry,
            PublishError::Drive(e) => e.recovery(),
        }
    }

    fn needs_reauth(&self) -> Option<&str> {
        match self {
            PublishError::Drive(e) => e.needs_reauth(),
            _ => None,
        }
    }
}

/// Uploads the report into the Drive folder (multipart up to 5 MB, resumable above),
/// replacing last run's file for the same month, and shares it.
pub async fn publish(report: &MonthlyReport, p: &Publish) -> Result<Published, PublishError> {
    let bytes = tokio::fs::read(&report.path)
        .await
        .map_err(|source| PublishError::Read {
            path: report.path.display().to_string(),
            source,
        })?;
    let month = Month::parse(&report.month).expect("a report's month is valid");
    let (file, replaced) = p
        .client
        .upload(&p.folder_id, &file_name(month), jada_google::drive::XLSX, &bytes)
        .await?;
    for email in &p.share {
        p.client.share(&file.id, email, "reader").await?;
    }
    Ok(Published {
        file_id: file.id,
        replaced,
        shared_with: p.share.clone(),
    })
}
