//! The statements as xlsx: a crew member's own (one tab: their charters, role, share of
//! tips, totals) and the office's summary (one row per person). Totals are SUM formulas
//! with their results cached, as in the revenue report.

use chrono::Datelike;
use jada_core::{Cents, Month};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Formula, Workbook, Worksheet, XlsxError};

use super::build::{Role, Statement};

const CREW_HEADER: [(&str, f64); 7] = [
    ("Date", 12.0),
    ("Charter ID", 38.0),
    ("Vessel", 14.0),
    ("Role", 9.0),
    ("Guests", 8.0),
    ("Charter tips", 13.0),
    ("Your share", 13.0),
];
const SUMMARY_HEADER: [(&str, f64); 6] = [
    ("Crew", 24.0),
    ("Email", 30.0),
    ("Charters", 10.0),
    ("As captain", 11.0),
    ("As crew", 9.0),
    ("Tips share", 13.0),
];
/// The table starts below the title block.
const TABLE_ROW: u32 = 4;

struct Formats {
    bold: Format,
    title: Format,
    money: Format,
    total_money: Format,
    date: Format,
}

fn formats() -> Formats {
    Formats {
        bold: Format::new().set_bold(),
        title: Format::new().set_bold().set_font_size(14),
        money: Format::new().set_num_format("$#,##0.00"),
        total_money: Format::new().set_num_format("$#,##0.00").set_bold(),
        date: Format::new().set_num_format("yyyy-mm-dd").set_align(FormatAlign::Left),
    }
}

/// The title block and the table header, frozen below it.
fn start(
    ws: &mut Worksheet,
    f: &Formats,
    title: &str,
    sub: &[String],
    header: &[(&str, f64)],
) -> Result<(), XlsxError> {
    ws.write_string_with_format(0, 0, title, &f.title)?;
    for (i, line) in sub.iter().enumerate() {
        ws.write_string(1 + i as u32, 0, line)?;
    }
    for (j, (name, width)) in header.iter().enumerate() {
        ws.write_string_with_format(TABLE_ROW, j as u16, *name, &f.bold)?;
        ws.set_column_width(j as u16, *width)?;
    }
    ws.set_freeze_panes(TABLE_ROW + 1, 0)?;
    crate::report::print_setup(ws, TABLE_ROW)
}

/// `=SUM(col first:last)` with its result cached.
fn total(ws: &mut Worksheet, f: &Formats, row: u32, col: u16, rows: u32, sum: Cents) -> Result<(), XlsxError> {
    let letters = jada_google::sheets::a1::col(usize::from(col));
    let (first, last) = (TABLE_ROW + 2, (TABLE_ROW + 1 + rows).max(TABLE_ROW + 2));
    let formula = Formula::new(format!("=SUM({letters}{first}:{letters}{last})")).set_result(sum.dollars().to_string());
    ws.write_formula_with_format(row, col, formula, &f.total_money)?;
    Ok(())
}

/// A crew member's statement for the month.
pub fn crew(st: &Statement, month: Month, business: &str) -> Result<Vec<u8>, XlsxError> {
    let f = formats();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(month.long_name())?;
    let sub = [
        format!("{} ({})", st.name, st.crew_id),
        format!("{}: {} charters", month.long_name(), st.lines.len()),
    ];
    start(ws, &f, &format!("{business}: crew statement"), &sub, &CREW_HEADER)?;
    for (i, l) in st.lines.iter().enumerate() {
        let r = TABLE_ROW + 1 + i as u32;
        let d = ExcelDateTime::from_ymd(l.date.year() as u16, l.date.month() as u8, l.date.day() as u8)?;
        ws.write_datetime_with_format(r, 0, d, &f.date)?;
        ws.write_string(r, 1, l.charter_id.to_string())?;
        ws.write_string(r, 2, &l.vessel)?;
        ws.write_string(r, 3, l.role.as_str())?;
        ws.write_number(r, 4, l.guests)?;
        ws.write_number_with_format(r, 5, l.charter_tips.dollars(), &f.money)?;
        ws.write_number_with_format(r, 6, l.share.dollars(), &f.money)?;
    }
    let row = TABLE_ROW + 1 + st.lines.len() as u32;
    ws.write_string_with_format(row, 0, "Total", &f.bold)?;
    total(ws, &f, row, 6, st.lines.len() as u32, st.total())?;
    wb.save_to_buffer()
}

/// The office's summary: everyone who sailed, their charters and tip shares.
pub fn summary(sts: &[Statement], month: Month, business: &str) -> Result<Vec<u8>, XlsxError> {
    let f = formats();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(month.long_name())?;
    let sub = [format!("{}: {} crew sailed", month.long_name(), sts.len())];
    start(
        ws,
        &f,
        &format!("{business}: crew statement summary"),
        &sub,
        &SUMMARY_HEADER,
    )?;
    for (i, st) in sts.iter().enumerate() {
        let r = TABLE_ROW + 1 + i as u32;
        ws.write_string(r, 0, &st.name)?;
        ws.write_string(r, 1, &st.email)?;
        ws.write_number(r, 2, st.lines.len() as u32)?;
        ws.write_number(r, 3, st.count(Role::Captain) as u32)?;
        ws.write_number(r, 4, st.count(Role::Crew) as u32)?;
        ws.write_number_with_format(r, 5, st.total().dollars(), &f.money)?;
    }
    let row = TABLE_ROW + 1 + sts.len() as u32;
    ws.write_string_with_format(row, 0, "Total", &f.bold)?;
    let sum = sts.iter().map(|s| s.total()).sum();
    total(ws, &f, row, 5, sts.len() as u32, sum)?;
    wb.save_to_buffer()
}
