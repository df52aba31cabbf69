//! The Sheets API v4 surface jada uses: `spreadsheets.get`, `spreadsheets.batchUpdate`
//! (addSheet), `values.get`, `values.batchGet`, `values.batchUpdate`, `values.append`,
//! with Google's per-user write quota (60 a minute, then 429) and permission checks.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::a1::{self, A1};
use crate::bearer;
use crate::state::{IssuedToken, Spreadsheet, State, Tab};

const READ: &[&str] = &[
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/spreadsheets.readonly",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.readonly",
    "https://www.googleapis.com/auth/drive.file",
];
const WRITE: &[&str] = &[
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
];

/// Google's API error body.
pub fn api_error(code: u16, message: &str, status: &str) -> Response {
    let http = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        http,
        Json(json!({"error": {"code": code, "message": message, "status": status}})),
    )
        .into_response()
}

enum Op<'a> {
    Get,
    BatchUpdate,
    ValuesGet(&'a str),
    BatchGet,
    ValuesBatchUpdate,
    Append(&'a str),
}

/// `ID`, `ID:batchUpdate`, `ID/values/RANGE`, `ID/values/RANGE:append`, `ID/values:batchGet`, ...
fn route(rest: &str) -> Option<(&str, Op<'_>)> {
    if let Some((id, tail)) = rest.split_once("/values") {
        return match tail {
            ":batchGet" => Some((id, Op::BatchGet)),
            ":batchUpdate" => Some((id, Op::ValuesBatchUpdate)),
            t => {
                let range = t.strip_prefix('/')?;
                match range.strip_suffix(":append") {
                    Some(r) => Some((id, Op::Append(r))),
                    None => Some((id, Op::ValuesGet(range))),
                }
            }
        };
    }
    match rest.strip_suffix(":batchUpdate") {
        Some(id) => Some((id, Op::BatchUpdate)),
        None => Some((rest, Op::Get)),
    }
}

pub async fn get(
    AxState(state): AxState<Arc<State>>,
    Path(rest): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some((id, op)) = route(&rest) else {
        return api_error(404, "Requested entity was not found.", "NOT_FOUND");
    };
    if let Some(status) = state.next_api_fault() {
        return api_error(status, "The service is currently unavailable.", "UNAVAILABLE");
    }
    let grant = match bearer::check(&state, &headers, READ) {
        Ok(g) => g,
        Err(r) => return r,
    };
    // Counted before the state is locked for reading (counting locks it too).
    state.count(match op {
        Op::Get => "sheets.get",
        Op::ValuesGet(_) => "sheets.values.get",
        Op::BatchGet => "sheets.values.batchGet",
        _ => "sheets.unknown",
    });
    match op {
        Op::Get => with_sheet(&state, id, &grant, |ss| {
            Ok(Json(spreadsheet_json(id, ss)).into_response())
        }),
        Op::ValuesGet(range) => with_sheet(&state, id, &grant, |ss| {
            let unformatted = q.get("valueRenderOption").map(String::as_str) == Some("UNFORMATTED_VALUE");
            Ok(Json(read_range(ss, range, unformatted)?).into_response())
        }),
        Op::BatchGet => with_sheet(&state, id, &grant, |ss| {
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
            let unformatted = pairs
                .iter()
                .any(|(k, v)| k == "valueRenderOption" && v == "UNFORMATTED_VALUE");
            let ranges: Result<Vec<Value>, Response> = pairs
                .iter()
                .filter(|(k, _)| k == "ranges")
                .map(|(_, r)| read_range(ss, r, unformatted))
                .collect();
            Ok(Json(json!({"spreadsheetId": id, "valueRanges": ranges?})).into_response())
        }),
        _ => api_error(404, "Requested entity was not found.", "NOT_FOUND"),
    }
}

pub async fn post(
    AxState(state): AxState<Arc<State>>,
    Path(rest): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    let Some((id, op)) = route(&rest) else {
        return api_error(404, "Requested entity was not found.", "NOT_FOUND");
    };
    if let Some(status) = state.next_api_fault() {
        return api_error(status, "The service is currently unavailable.", "UNAVAILABLE");
    }
    let grant = match bearer::check(&state, &headers, WRITE) {
        Ok(g) => g,
        Err(r) => return r,
    };
    if let Some(r) = over_quota(&state, &grant.account) {
        return r;
    }
    let mut inner = state.lock();
    let Some(ss) = inner.spreadsheets.get_mut(id) else {
        return api_error(404, "Requested entity was not found.", "NOT_FOUND");
    };
    if !ss.shared_with.is_empty() && !ss.shared_with.contains(&grant.account) {
        return api_error(403, "The caller does not have permission", "PERMISSION_DENIED");
    }
    let result = match op {
        Op::BatchUpdate => add_sheets(id, ss, &body),
        Op::ValuesBatchUpdate => batch_update(id, ss, &body),
        Op::Append(range) => append(id, ss, range, &q, &body),
        _ => Err(api_error(404, "Requested entity was not found.", "NOT_FOUND")),
    };
    let endpoint = match op {
        Op::BatchUpdate => "sheets.batchUpdate",
        Op::ValuesBatchUpdate => "sheets.values.batchUpdate",
        _ => "sheets.values.append",
    };
    drop(inner);
    state.count(endpoint);
    result.unwrap_or_else(|r| r)
}

fn with_sheet(
    state: &State,
    id: &str,
    grant: &IssuedToken,
    f: impl FnOnce(&Spreadsheet) -> Result<Response, Response>,
) -> Response {
    let inner = state.lock();
    let Some(ss) = inner.spreadsheets.get(id) else {
        return api_error(404, "Requested entity was not found.", "NOT_FOUND");
    };
    if !ss.shared_with.is_empty() && !ss.shared_with.contains(&grant.account) {
        return api_error(403, "The caller does not have permission", "PERMISSION_DENIED");
    }
    f(ss).unwrap_or_else(|r| r)
}

/// Google's quota: write requests per minute per user.
fn over_quota(state: &State, account: &str) -> Option<Response> {
    let now = state.now();
    let mut inner = state.lock();
    let quota = inner.sheets_write_quota;
    let log = inner.sheets_writes.entry(account.to_string()).or_default();
    while log.front().is_some_and(|t| now - *t >= chrono::Duration::seconds(60)) {
        log.pop_front();
    }
    if log.len() >= quota {
        drop(inner);
        state.count("sheets.quota_exceeded");
        let msg = "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute per user' of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'.";
        return Some(api_error(429, msg, "RESOURCE_EXHAUSTED"));
    }
    log.push_back(now);
    None
}

fn spreadsheet_json(id: &str, ss: &Spreadsheet) -> Value {
    let sheets: Vec<Value> = ss
        .tabs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let cols = t.rows.iter().map(Vec::len).max().unwrap_or(0).max(26);
            json!({"properties": {"sheetId": t.sheet_id, "title": t.title, "index": i, "sheetType": "GRID",
                "gridProperties": {"rowCount": t.rows.len().max(1000), "columnCount": cols}}})
        })
        .collect();
    json!({"spreadsheetId": id, "properties": {"title": ss.title}, "sheets": sheets,
        "spreadsheetUrl": format!("https://docs.google.com/spreadsheets/d/{id}/edit")})
}

/// Parses a range; a bare name that is also a cell reference (`Sheet1`) means the tab
/// when a tab of that name exists, as Google reads it.
fn resolve(ss: &Spreadsheet, range: &str) -> Result<A1, Response> {
    if !range.contains('!') && ss.tabs.iter().any(|t| t.title == range) {
        return Ok(A1 {
            tab: Some(range.to_string()),
            row0: 0,
            col0: 0,
            row1: None,
            col1: None,
        });
    }
    a1::parse(range).ok_or_else(|| bad_range(range))
}

fn tab_of<'a>(ss: &'a Spreadsheet, r: &A1) -> Result<&'a Tab, Response> {
    match &r.tab {
        None => ss.tabs.first().ok_or_else(|| bad_range("")),
        Some(t) => ss.tabs.iter().find(|x| &x.title == t).ok_or_else(|| bad_range(t)),
    }
}

fn bad_range(r: &str) -> Response {
    api_error(400, &format!("Unable to parse range: {r}"), "INVALID_ARGUMENT")
}

fn read_range(ss: &Spreadsheet, range: &str, unformatted: bool) -> Result<Value, Response> {
    let r = resolve(ss, range)?;
    let tab = tab_of(ss, &r)?;
    let last_row = r.row1.unwrap_or(usize::MAX).min(tab.rows.len().saturating_sub(1));
    let mut values: Vec<Value> = Vec::new();
    if r.row0 < tab.rows.len() {
        for row in &tab.rows[r.row0..=last_row] {
            let end = r.col1.map(|c| c + 1).unwrap_or(row.len()).min(row.len());
            let mut cells: Vec<Value> = if r.col0 < end {
                row[r.col0..end].iter().map(|v| render(v, unformatted)).collect()
            } else {
                vec![]
            };
            while cells.last().is_some_and(|v| v == "") {
                cells.pop();
            }
            values.push(Value::Array(cells));
        }
    }
    while values.last().is_some_and(|v| v.as_array().is_some_and(Vec::is_empty)) {
        values.pop();
    }
    let rows = tab.rows.len().max(1000);
    let width = tab.rows.iter().map(Vec::len).max().unwrap_or(1).max(26);
    let shown = a1::format(
        &tab.title,
        r.row0,
        r.col0,
        r.row1.unwrap_or(rows - 1),
        r.col1.unwrap_or(width - 1),
    );
    let mut out = json!({"range": shown, "majorDimension": "ROWS"});
    if !values.is_empty() {
        out["values"] = Value::Array(values);
    }
    Ok(out)
}

/// FORMATTED_VALUE renders every cell as a string; UNFORMATTED_VALUE keeps numbers.
fn render(v: &Value, unformatted: bool) -> Value {
    match v {
        Value::Number(n) if !unformatted => Value::String(n.to_string()),
        Value::Null => Value::String(String::new()),
        other => other.clone(),
    }
}

/// USER_ENTERED parses numbers as a person typing them would; RAW stores text as is.
fn input(v: &Value, user_entered: bool) -> Value {
    match v {
        Value::String(s) if user_entered => {
            if let Ok(n) = s.trim().parse::<i64>() {
                return Value::from(n);
            }
            s.trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .unwrap_or_else(|| v.clone())
        }
        Value::Null => Value::String(String::new()),
        Value::Bool(b) => Value::String(if *b { "TRUE" } else { "FALSE" }.into()),
        other => other.clone(),
    }
}

fn value_input(option: Option<&str>) -> Result<bool, Response> {
    match option {
        Some("RAW") => Ok(false),
        Some("USER_ENTERED") => Ok(true),
        Some(o) => Err(api_error(
            400,
            &format!("Invalid value at 'value_input_option' ({o})"),
            "INVALID_ARGUMENT",
        )),
        None => Err(api_error(
            400,
            "'valueInputOption' is required but not specified",
            "INVALID_ARGUMENT",
        )),
    }
}

/// Writes `values` at the range's top-left; returns (rows, cols, cells) written.
fn write(tab: &mut Tab, row0: usize, col0: usize, values: &[Value], user_entered: bool) -> (usize, usize, usize) {
    let (mut cols, mut cells) = (0, 0);
    for (i, row) in values.iter().enumerate() {
        let row = row.as_array().cloned().unwrap_or_default();
        let target = row0 + i;
        if tab.rows.len() <= target {
            tab.rows.resize(target + 1, vec![]);
        }
        let r = &mut tab.rows[target];
        if r.len() < col0 + row.len() {
            r.resize(col0 + row.len(), Value::String(String::new()));
        }
        for (j, v) in row.iter().enumerate() {
            r[col0 + j] = input(v, user_entered);
            cells += 1;
        }
        cols = cols.max(row.len());
    }
    (values.len(), cols, cells)
}

fn batch_update(id: &str, ss: &mut Spreadsheet, body: &Value) -> Result<Response, Response> {
    let user_entered = value_input(body.get("valueInputOption").and_then(Value::as_str))?;
    let data = body.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut responses = Vec::new();
    let (mut rows, mut cells) = (0, 0);
    for d in &data {
        let range = d.get("range").and_then(Value::as_str).unwrap_or("");
        let r = resolve(ss, range)?;
        let title = tab_of(ss, &r)?.title.clone();
        let tab = ss.tabs.iter_mut().find(|t| t.title == title).expect("found above");
        let values = d.get("values").and_then(Value::as_array).cloned().unwrap_or_default();
        let (nr, nc, n) = write(tab, r.row0, r.col0, &values, user_entered);
        rows += nr;
        cells += n;
        responses.push(json!({"spreadsheetId": id, "updatedRange": a1::format(&title, r.row0, r.col0, r.row0 + nr.max(1) - 1, r.col0 + nc.max(1) - 1),
            "updatedRows": nr, "updatedColumns": nc, "updatedCells": n}));
    }
    Ok(Json(
        json!({"spreadsheetId": id, "totalUpdatedRows": rows, "totalUpdatedCells": cells,
        "totalUpdatedSheets": responses.len().min(1), "responses": responses}),
    )
    .into_response())
}

fn append(
    id: &str,
    ss: &mut Spreadsheet,
    range: &str,
    q: &HashMap<String, String>,
    body: &Value,
) -> Result<Response, Response> {
    let user_entered = value_input(q.get("valueInputOption").map(String::as_str))?;
    let r = resolve(ss, range)?;
    let title = tab_of(ss, &r)?.title.clone();
    let tab = ss.tabs.iter_mut().find(|t| t.title == title).expect("found above");
    // The table ends at the last row with anything in the range's columns.
    let in_range = |row: &Vec<Value>| {
        row.iter()
            .enumerate()
            .any(|(c, v)| c >= r.col0 && r.col1.is_none_or(|e| c <= e) && v != "")
    };
    let last = tab.rows.iter().rposition(in_range);
    let start = last.map_or(r.row0, |l| l + 1);
    let values = body
        .get("values")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let (nr, nc, n) = write(tab, start, r.col0, &values, user_entered);
    let table = a1::format(&title, r.row0, r.col0, last.unwrap_or(r.row0), r.col0 + nc.max(1) - 1);
    Ok(Json(
        json!({"spreadsheetId": id, "tableRange": table, "updates": {"spreadsheetId": id,
        "updatedRange": a1::format(&title, start, r.col0, start + nr.max(1) - 1, r.col0 + nc.max(1) - 1),
        "updatedRows": nr, "updatedColumns": nc, "updatedCells": n}}),
    )
    .into_response())
}

fn add_sheets(id: &str, ss: &mut Spreadsheet, body: &Value) -> Result<Response, Response> {
    let mut replies = Vec::new();
    for (i, req) in body
        .get("requests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let Some(title) = req.pointer("/addSheet/properties/title").and_then(Value::as_str) else {
            return Err(api_error(
                400,
                &format!("Invalid requests[{i}]: only addSheet is emulated"),
                "INVALID_ARGUMENT",
            ));
        };
        if ss.tabs.iter().any(|t| t.title == title) {
            let msg = format!("Invalid requests[{i}].addSheet: A sheet with the name \"{title}\" already exists. Please enter another name.");
            return Err(api_error(400, &msg, "INVALID_ARGUMENT"));
        }
        let sheet_id = ss.tabs.iter().map(|t| t.sheet_id).max().unwrap_or(0) + 1;
        ss.tabs.push(Tab {
            sheet_id,
            title: title.to_string(),
            rows: vec![],
        });
        replies.push(
            json!({"addSheet": {"properties": {"sheetId": sheet_id, "title": title, "index": ss.tabs.len() - 1}}}),
        );
    }
    Ok(Json(json!({"spreadsheetId": id, "replies": replies})).into_response())
}
