//! The Sheets API v4 calls jada uses: `spreadsheets.get` (tabs), `spreadsheets.batchUpdate`
//! (add a tab), `values.batchGet`, `values.batchUpdate`, `values.append`, on
//! [`GoogleClient`]: its one request path retries, refreshes and names the spreadsheet
//! and the credential in errors.

use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{enc, Api, GoogleClient, GoogleError};

pub const SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";

/// Scopes any one of which lets a token write a spreadsheet.
pub const WRITE_SCOPES: &[&str] = &[SCOPE, "https://www.googleapis.com/auth/drive"];
/// Scopes any one of which lets a token read a spreadsheet.
pub const READ_SCOPES: &[&str] = &[
    SCOPE,
    "https://www.googleapis.com/auth/spreadsheets.readonly",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.readonly",
];
/// Scopes any one of which lets a token list Drive files.
pub const DRIVE_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.readonly",
    "https://www.googleapis.com/auth/drive.metadata.readonly",
];

/// A tab of a spreadsheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TabInfo {
    pub sheet_id: i64,
    pub title: String,
}

impl GoogleClient {
    fn url(&self, id: &str, tail: &str) -> String {
        format!("{}/v4/spreadsheets/{}{tail}", self.urls().sheets, enc(id))
    }

    /// The spreadsheet's tabs, in order.
    pub async fn tabs(&self, id: &str) -> Result<Vec<TabInfo>, GoogleError> {
        let v = self
            .sheets_call(Method::GET, self.url(id, "?fields=sheets.properties"), None, id)
            .await?;
        Ok(v["sheets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| TabInfo {
                        sheet_id: s["properties"]["sheetId"].as_i64().unwrap_or(0),
                        title: s["properties"]["title"].as_str().unwrap_or("").to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Adds a tab.
    pub async fn add_tab(&self, id: &str, title: &str) -> Result<(), GoogleError> {
        let body = json!({"requests": [{"addSheet": {"properties": {"title": title}}}]});
        self.sheets_call(Method::POST, self.url(id, ":batchUpdate"), Some(body), id)
            .await
            .map(|_| ())
    }

    /// Reads one range (A1) as text (`values.get`).
    pub async fn get(&self, id: &str, range: &str) -> Result<Vec<Vec<String>>, GoogleError> {
        let v = self
            .sheets_call(Method::GET, self.url(id, &format!("/values/{}", enc(range))), None, id)
            .await?;
        Ok(grid(&v["values"]))
    }

    /// Reads ranges (A1) as text, one grid per range; rows and trailing cells Google
    /// omits as empty come back shorter, as Google sends them.
    pub async fn batch_get(&self, id: &str, ranges: &[String]) -> Result<Vec<Vec<Vec<String>>>, GoogleError> {
        let query: String = ranges
            .iter()
            .map(|r| format!("ranges={}", enc(r)))
            .collect::<Vec<_>>()
            .join("&");
        let v = self
            .sheets_call(
                Method::GET,
                self.url(id, &format!("/values:batchGet?{query}")),
                None,
                id,
            )
            .await?;
        let grids = v["valueRanges"].as_array().cloned().unwrap_or_default();
        Ok(grids.iter().map(|g| grid(&g["values"])).collect())
    }

    /// Reads ranges with their typed values: numbers as numbers and dates as Sheets
    /// serial numbers (days since 1899-12-30), text as text.
    pub async fn batch_get_typed(&self, id: &str, ranges: &[String]) -> Result<Vec<Vec<Vec<Value>>>, GoogleError> {
        let mut query: Vec<String> = ranges.iter().map(|r| format!("ranges={}", enc(r))).collect();
        query.push("valueRenderOption=UNFORMATTED_VALUE&dateTimeRenderOption=SERIAL_NUMBER".into());
        let v = self
            .sheets_call(
                Method::GET,
                self.url(id, &format!("/values:batchGet?{}", query.join("&"))),
                None,
                id,
            )
            .await?;
        let grids = v["valueRanges"].as_array().cloned().unwrap_or_default();
        Ok(grids
            .iter()
            .map(|g| {
                g["values"]
                    .as_array()
                    .map(|rows| rows.iter().map(|r| r.as_array().cloned().unwrap_or_default()).collect())
                    .unwrap_or_default()
            })
            .collect())
    }

    /// Writes cells, each `(range, rows)`, in one request. Returns the cells updated.
    pub async fn batch_update(&self, id: &str, data: &[(String, Vec<Vec<String>>)]) -> Result<u64, GoogleError> {
        if data.is_empty() {
            return Ok(0);
        }
        let data: Vec<Value> = data.iter().map(|(r, v)| json!({"range": r, "values": v})).collect();
        let body = json!({"valueInputOption": "RAW", "data": data});
        let v = self
            .sheets_call(Method::POST, self.url(id, "/values:batchUpdate"), Some(body), id)
            .await?;
        Ok(v["totalUpdatedCells"].as_u64().unwrap_or(0))
    }

    /// Appends rows after the table found in `range`, inserting rows.
    pub async fn append(&self, id: &str, range: &str, rows: &[Vec<String>]) -> Result<(), GoogleError> {
        if rows.is_empty() {
            return Ok(());
        }
        let tail = format!(
            "/values/{}:append?valueInputOption=RAW&insertDataOption=INSERT_ROWS",
            enc(range)
        );
        self.sheets_call(Method::POST, self.url(id, &tail), Some(json!({"values": rows})), id)
            .await
            .map(|_| ())
    }

    /// One Sheets call on spreadsheet `id`: reads with a read scope, writes with a write one.
    async fn sheets_call(
        &self,
        method: Method,
        url: String,
        body: Option<Value>,
        id: &str,
    ) -> Result<Value, GoogleError> {
        let scopes = if method == Method::GET {
            READ_SCOPES
        } else {
            WRITE_SCOPES
        };
        let resource = format!("spreadsheet {id}");
        self.call(Api::Sheets, &resource, scopes, method, url, body).await
    }
}

fn grid(v: &Value) -> Vec<Vec<String>> {
    v.as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    r.as_array()
                        .map(|c| {
                            c.iter()
                                .map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string()))
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A1 helpers for building ranges.
pub mod a1 {
    /// Column index (0-based) to letters: 0 -> A, 26 -> AA.
    pub fn col(mut c: usize) -> String {
        let mut s = Vec::new();
        loop {
            s.push(b'A' + (c % 26) as u8);
            if c < 26 {
                break;
            }
            c = c / 26 - 1;
        }
        s.reverse();
        String::from_utf8(s).expect("ASCII letters")
    }

    /// A tab name quoted for A1 (`'Port Sheet'`).
    pub fn tab(name: &str) -> String {
        format!("'{}'", name.replace('\'', "''"))
    }

    /// `'Tab'!C7` for a 0-based row and column.
    pub fn cell(tab_name: &str, row: usize, col_idx: usize) -> String {
        format!("{}!{}{}", tab(tab_name), col(col_idx), row + 1)
    }
}
