//! Drive `files.list` with the `q` operators jada uses: `'ID' in parents`, `name = '...'`,
//! `mimeType = '...'`, `trashed = false|true`, joined by `and`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State as AxState};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::bearer::{self, DRIVE_READ};
use crate::sheets::api_error;
use crate::state::{DriveFile, State};

pub const FOLDER: &str = "application/vnd.google-apps.folder";
pub const SPREADSHEET: &str = "application/vnd.google-apps.spreadsheet";

/// One `field op 'value'` term of a query.
#[derive(Debug, PartialEq)]
enum Term {
    InParents(String),
    Name(String),
    MimeType(String),
    Trashed(bool),
}

fn parse_q(q: &str) -> Result<Vec<Term>, String> {
    let mut terms = Vec::new();
    for raw in split_and(q) {
        let t = raw.trim();
        let quoted = |s: &str| -> Option<String> {
            let s = s.trim();
            s.strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .map(|s| s.replace("\\'", "'"))
        };
        if let Some(v) = t.strip_suffix(" in parents").and_then(quoted) {
            terms.push(Term::InParents(v));
        } else if let Some(v) = t.strip_prefix("name =").and_then(quoted) {
            terms.push(Term::Name(v));
        } else if let Some(v) = t.strip_prefix("mimeType =").and_then(quoted) {
            terms.push(Term::MimeType(v));
        } else if let Some(v) = t.strip_prefix("trashed =") {
            terms.push(Term::Trashed(v.trim() == "true"));
        } else {
            return Err(format!("Invalid Value: unsupported query term `{t}`"));
        }
    }
    Ok(terms)
}

/// Splits on ` and ` outside quotes (`\'` escapes a quote inside one).
fn split_and(q: &str) -> Vec<&str> {
    let (b, mut parts, mut start, mut quoted, mut i) = (q.as_bytes(), Vec::new(), 0, false, 0);
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'\'' => quoted = !quoted,
            _ if !quoted && q[i..].starts_with(" and ") => {
                parts.push(&q[start..i]);
                i += 5;
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&q[start..]);
    parts
}

fn matches(f: &DriveFile, terms: &[Term]) -> bool {
    terms.iter().all(|t| match t {
        Term::InParents(p) => f.parents.contains(p),
        Term::Name(n) => &f.name == n,
        Term::MimeType(m) => &f.mime_type == m,
        Term::Trashed(b) => f.trashed == *b,
    })
}

pub async fn list(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    state.count("drive.files.list");
    if let Some(status) = state.next_api_fault() {
        return api_error(status, "The service is currently unavailable.", "UNAVAILABLE");
    }
    if let Err(r) = bearer::check(&state, &headers, DRIVE_READ) {
        return r;
    }
    let terms = match parse_q(p.get("q").map(String::as_str).unwrap_or("")) {
        Ok(t) => t,
        Err(e) => return api_error(400, &e, "INVALID_ARGUMENT"),
    };
    // `fields=files(id,name,size),nextPageToken` picks each file's fields.
    let fields = p.get("fields").and_then(|f| {
        f.split_once("files(")
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(inner, _)| inner.to_string())
    });
    let inner = state.lock();
    let files: Vec<_> = inner
        .drive
        .iter()
        .filter(|f| matches(f, &terms))
        .map(|f| {
            let default = json!({"kind": "drive#file", "id": f.id, "name": f.name, "mimeType": f.mime_type});
            crate::upload::select(crate::upload::full_resource(f), fields.as_deref(), default)
        })
        .collect();
    Json(json!({"kind": "drive#fileList", "incompleteSearch": false, "files": files})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        let t = parse_q("'root' in parents and name = 'JADA Business' and mimeType = 'application/vnd.google-apps.folder' and trashed = false").unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!(t[1], Term::Name("JADA Business".into()));
        assert_eq!(
            parse_q("name = 'Crew and Staff'").unwrap(),
            vec![Term::Name("Crew and Staff".into())]
        );
        assert!(parse_q("fullText contains 'x'").is_err());
    }
}
