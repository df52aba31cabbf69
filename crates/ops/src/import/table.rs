//! Reading a CSV or JSON file into rows of cells keyed by a fixed set of columns.
//! Whole-file problems (not text, not the format, wrong columns) stop the import before
//! anything is written; a problem in one row only rejects that row.

use std::collections::HashMap;

use serde_json::Value;

use super::{Format, ImportError, Location, Rejection};

/// A column a file may carry.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub required: bool,
    /// Other header names accepted for it (e.g. the DynamoDB attribute name).
    pub aliases: &'static [&'static str],
}

/// Shorthand for schema tables.
pub const fn col(name: &'static str, required: bool, aliases: &'static [&'static str]) -> Column {
    Column {
        name,
        required,
        aliases,
    }
}

/// The columns of one kind of file.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    pub what: &'static str,
    pub columns: &'static [Column],
}

impl Schema {
    fn index_of(&self, header: &str) -> Option<usize> {
        let h = normalise_header(header);
        self.columns
            .iter()
            .position(|c| c.name == h || c.aliases.contains(&h.as_str()))
    }

    pub fn header_line(&self) -> String {
        self.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(",")
    }
}

/// One data row: a cell per schema column (`None` when absent or blank).
#[derive(Debug, Clone)]
pub struct Row {
    pub location: Location,
    schema: Schema,
    cells: Vec<Option<String>>,
}

impl Row {
    /// The trimmed cell of a column; `None` when blank or absent.
    pub fn get(&self, column: &str) -> Option<&str> {
        let i = self.schema.columns.iter().position(|c| c.name == column)?;
        self.cells[i].as_deref().map(str::trim).filter(|s| !s.is_empty())
    }

    /// Whether the file carried this column for this row at all (blank counts as present).
    pub fn present(&self, column: &str) -> bool {
        self.schema
            .columns
            .iter()
            .position(|c| c.name == column)
            .is_some_and(|i| self.cells[i].is_some())
    }
}

/// `Charter Date` -> `charter_date`; a UTF-8 byte-order mark (Excel's CSV) is dropped.
fn normalise_header(h: &str) -> String {
    h.trim_start_matches('\u{feff}')
        .trim()
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

/// Reads the file into rows, or says why the file as a whole cannot be imported.
/// Rows that are malformed on their own come back as rejections.
pub fn read(
    bytes: &[u8],
    format: Format,
    schema: Schema,
    file: &str,
) -> Result<(Vec<Row>, Vec<Rejection>), ImportError> {
    let text = as_text(bytes, format, file)?;
    match format {
        Format::Csv => read_csv(text, schema, file),
        Format::Json => read_json(text, schema, file),
    }
}

fn as_text<'a>(bytes: &'a [u8], format: Format, file: &str) -> Result<&'a str, ImportError> {
    let fname = if format == Format::Csv { "CSV" } else { "JSON" };
    let not = |why: String| ImportError::NotThisFormat {
        file: file.to_string(),
        format: fname,
        why,
    };
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(not(
            "it is a zip archive, probably an Excel workbook: export the sheet as CSV and import that".into(),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        not(format!(
            "it is not UTF-8 text (byte {} is not); if it is a spreadsheet or another binary file, export it as CSV",
            e.valid_up_to()
        ))
    })?;
    if text.contains('\0') {
        return Err(not("it contains NUL bytes, so it is a binary file, not text".into()));
    }
    if text.trim().is_empty() {
        return Err(not("it is empty".into()));
    }
    Ok(text)
}

fn read_csv(text: &str, schema: Schema, file: &str) -> Result<(Vec<Row>, Vec<Rejection>), ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ImportError::NotThisFormat {
            file: file.into(),
            format: "CSV",
            why: e.to_string(),
        })?
        .clone();
    let positions = map_header(&headers.iter().collect::<Vec<_>>(), schema, file)?;
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                rejected.push(Rejection {
                    conflict: None,
                    location: Location::Line(line),
                    column: None,
                    value: None,
                    reason: format!("unreadable CSV: {e}"),
                });
                continue;
            }
        };
        let location = Location::Line(record.position().map(|p| p.line()).unwrap_or(0));
        if record.iter().all(|f| f.trim().is_empty()) {
            continue; // blank lines at the end of spreadsheet exports
        }
        if record.len() != headers.len() {
            rejected.push(Rejection {
                conflict: None,
                location,
                column: None,
                value: None,
                reason: format!(
                    "has {} fields but the header has {}; quote fields that contain commas",
                    record.len(),
                    headers.len()
                ),
            });
            continue;
        }
        let mut cells = vec![None; schema.columns.len()];
        for (field, pos) in record.iter().zip(&positions) {
            cells[*pos] = Some(field.to_string());
        }
        rows.push(Row {
            location,
            schema,
            cells,
        });
    }
    Ok((rows, rejected))
}

/// Maps each header to its schema column; refuses unknown, duplicate or missing columns,
/// because a misspelt column would otherwise be dropped without a word.
fn map_header(headers: &[&str], schema: Schema, file: &str) -> Result<Vec<usize>, ImportError> {
    let err = |why: String| ImportError::Header {
        file: file.into(),
        what: schema.what,
        why,
        expected: schema.header_line(),
    };
    let mut positions = Vec::new();
    let mut seen: HashMap<usize, &str> = HashMap::new();
    for h in headers {
        let i = schema
            .index_of(h)
            .ok_or_else(|| err(format!("unknown column `{}`", h.trim_start_matches('\u{feff}').trim())))?;
        if let Some(prev) = seen.insert(i, h) {
            return Err(err(format!(
                "columns `{prev}` and `{h}` both mean {}",
                schema.columns[i].name
            )));
        }
        positions.push(i);
    }
    let missing: Vec<&str> = schema
        .columns
        .iter()
        .enumerate()
        .filter(|(i, c)| c.required && !seen.contains_key(i))
        .map(|(_, c)| c.name)
        .collect();
    if !missing.is_empty() {
        return Err(err(format!("missing required column(s) {}", missing.join(", "))));
    }
    Ok(positions)
}

fn read_json(text: &str, schema: Schema, file: &str) -> Result<(Vec<Row>, Vec<Rejection>), ImportError> {
    let not = |why: String| ImportError::NotThisFormat {
        file: file.into(),
        format: "JSON",
        why,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| not(e.to_string()))?;
    let Value::Array(items) = value else {
        return Err(not(format!(
            "expected an array of {} objects, like [{{\"{}\": ...}}]",
            schema.what, schema.columns[0].name
        )));
    };
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    for (n, item) in items.into_iter().enumerate() {
        let location = Location::Record(n + 1);
        match json_row(item, schema) {
            Ok(cells) => rows.push(Row {
                location,
                schema,
                cells,
            }),
            Err(reason) => rejected.push(Rejection {
                conflict: None,
                location,
                column: None,
                value: None,
                reason,
            }),
        }
    }
    Ok((rows, rejected))
}

fn json_row(item: Value, schema: Schema) -> Result<Vec<Option<String>>, String> {
    let Value::Object(map) = item else {
        return Err(format!("is not an object with the {} columns", schema.what));
    };
    let mut cells = vec![None; schema.columns.len()];
    for (key, v) in map {
        let i = schema
            .index_of(&key)
            .ok_or_else(|| format!("unknown field `{key}`; expected {}", schema.header_line()))?;
        cells[i] = json_cell(v).map_err(|why| format!("field `{key}`: {why}"))?;
    }
    Ok(cells)
}

/// A JSON value as the text a CSV cell would hold. Lists join with `;`, as in CSV.
fn json_cell(v: Value) -> Result<Option<String>, String> {
    Ok(match v {
        Value::Null => Some(String::new()),
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let parts: Result<Vec<String>, String> = items
                .into_iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(format!("lists may hold strings, not {other}")),
                })
                .collect();
            Some(parts?.join(";"))
        }
        Value::Object(_) => return Err("expected a value, found an object".into()),
    })
}
