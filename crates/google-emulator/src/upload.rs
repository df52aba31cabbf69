//! Drive uploads and sharing: `files.create` and `files.update` (multipart up to 5 MB,
//! resumable sessions above, with `Content-Range` chunks answered 308 until complete),
//! `files.get` (metadata, or `alt=media` for the content), `files.delete`,
//! `permissions.create`. `fields` selects what a file resource says, as Drive's does.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::bearer;
use crate::sheets::api_error;
use crate::state::{random, DriveFile, State};

const WRITE: &[&str] = &[
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
];
/// Google's limit for `uploadType=multipart`.
const MULTIPART_MAX: usize = 5 * 1024 * 1024;

type Q = Query<HashMap<String, String>>;

fn resource(f: &DriveFile) -> Value {
    json!({"kind": "drive#file", "id": f.id, "name": f.name, "mimeType": f.mime_type, "parents": f.parents, "size": f.content.len().to_string()})
}

/// Every field a file resource has, for `fields=`: with the checksum Drive computes from
/// the bytes it holds, and the app's properties.
pub fn full_resource(f: &DriveFile) -> Value {
    use md5::Digest;
    let mut v = resource(f);
    v["md5Checksum"] = json!(hex(&md5::Md5::digest(&f.content)));
    v["appProperties"] = json!(f.app_properties);
    v["createdTime"] = json!(f.created_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    v
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A resource cut to `fields` (`id,name,size`), or as it is without them.
pub fn select(full: Value, fields: Option<&str>, default: Value) -> Value {
    let Some(fields) = fields else { return default };
    let mut out = serde_json::Map::new();
    for f in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        if let Some(v) = full.get(f) {
            out.insert(f.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// Splits a multipart/related body into (metadata JSON, media bytes).
fn multipart(headers: &HeaderMap, body: &[u8]) -> Option<(Value, Vec<u8>)> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let boundary = ct.split("boundary=").nth(1)?.trim_matches('"');
    let delim = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(i) = find(rest, delim.as_bytes()) {
        let after = &rest[i + delim.len()..];
        if after.starts_with(b"--") {
            break;
        }
        let end = find(after, delim.as_bytes()).unwrap_or(after.len());
        parts.push(&after[..end]);
        rest = &after[end..];
    }
    let body_of = |p: &[u8]| -> Vec<u8> {
        let start = find(p, b"\r\n\r\n").map(|i| i + 4).unwrap_or(0);
        let mut b = p[start..].to_vec();
        if b.ends_with(b"\r\n") {
            b.truncate(b.len() - 2);
        }
        b
    };
    let meta: Value = serde_json::from_slice(&body_of(parts.first()?)).ok()?;
    Some((meta, body_of(parts.get(1)?)))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parents(meta: &Value) -> Vec<String> {
    meta["parents"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// Drive's answer to a write on a file or folder shared with the caller as a viewer.
fn refuse_read_only(state: &State, ids: &[String]) -> Option<Response> {
    let inner = state.lock();
    let id = ids.iter().find(|i| inner.read_only.contains(*i))?;
    let message = format!("The user does not have sufficient permissions for file {id}.");
    let body = json!({"error": {"code": 403, "message": message,
        "errors": [{"domain": "global", "reason": "insufficientFilePermissions", "message": message}]}});
    Some((StatusCode::FORBIDDEN, Json(body)).into_response())
}

fn store_new(state: &State, meta: &Value, content: Vec<u8>) -> DriveFile {
    let f = DriveFile {
        id: format!("1emuF{}", random(28)),
        name: meta["name"].as_str().unwrap_or("Untitled").into(),
        mime_type: meta["mimeType"].as_str().unwrap_or("application/octet-stream").into(),
        parents: meta["parents"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p.as_str().map(String::from)).collect())
            .unwrap_or_else(|| vec!["root".into()]),
        trashed: false,
        content,
        permissions: vec![],
        app_properties: meta["appProperties"]
            .as_object()
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
        created_time: state.now(),
    };
    state.lock().drive.push(f.clone());
    f
}

fn store_update(state: &State, id: &str, meta: &Value, content: Vec<u8>) -> Option<DriveFile> {
    let mut inner = state.lock();
    let f = inner.drive.iter_mut().find(|f| f.id == id)?;
    f.content = content;
    if let Some(n) = meta["name"].as_str() {
        f.name = n.into();
    }
    Some(f.clone())
}

/// `POST /upload/drive/v3/files?uploadType=multipart|resumable`
pub async fn create(AxState(state): AxState<Arc<State>>, headers: HeaderMap, Query(q): Q, body: Bytes) -> Response {
    start(state, headers, q, body, None).await
}

/// `PATCH /upload/drive/v3/files/{id}?uploadType=multipart|resumable`
pub async fn update(
    AxState(state): AxState<Arc<State>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Q,
    body: Bytes,
) -> Response {
    if !state.lock().drive.iter().any(|f| f.id == id) {
        return api_error(404, &format!("File not found: {id}."), "NOT_FOUND");
    }
    start(state, headers, q, body, Some(id)).await
}

async fn start(
    state: Arc<State>,
    headers: HeaderMap,
    q: HashMap<String, String>,
    body: Bytes,
    id: Option<String>,
) -> Response {
    state.count(if id.is_some() {
        "drive.files.update"
    } else {
        "drive.files.create"
    });
    if let Err(r) = bearer::check(&state, &headers, WRITE) {
        return r;
    }
    // The file updated, or the folders a new file goes into, must be writable.
    let target: Vec<String> = match (&id, q.get("uploadType").map(String::as_str)) {
        (Some(id), _) => vec![id.clone()],
        (None, Some("multipart")) => multipart(&headers, &body).map(|(m, _)| parents(&m)).unwrap_or_default(),
        (None, _) => parents(&serde_json::from_slice(&body).unwrap_or(json!({}))),
    };
    if let Some(r) = refuse_read_only(&state, &target) {
        return r;
    }
    match q.get("uploadType").map(String::as_str) {
        Some("multipart") => {
            let Some((meta, content)) = multipart(&headers, &body) else {
                return api_error(400, "Malformed multipart body.", "INVALID_ARGUMENT");
            };
            if content.len() > MULTIPART_MAX {
                return api_error(
                    413,
                    "Media larger than 5 MB must be uploaded with uploadType=resumable.",
                    "INVALID_ARGUMENT",
                );
            }
            let f = match &id {
                Some(id) => store_update(&state, id, &meta, content),
                None => Some(store_new(&state, &meta, content)),
            };
            f.map(|f| Json(resource(&f)).into_response())
                .unwrap_or_else(|| api_error(404, "File not found.", "NOT_FOUND"))
        }
        Some("resumable") => {
            let meta: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
            let upload_id = random(24);
            state
                .lock()
                .uploads
                .insert(upload_id.clone(), (id.clone(), meta, vec![]));
            let path = match &id {
                Some(id) => format!("/upload/drive/v3/files/{id}"),
                None => "/upload/drive/v3/files".into(),
            };
            let location = format!("{}{path}?uploadType=resumable&upload_id={upload_id}", state.base_url);
            (StatusCode::OK, [(header::LOCATION, location)]).into_response()
        }
        _ => api_error(400, "uploadType must be multipart or resumable.", "INVALID_ARGUMENT"),
    }
}

/// `PUT` to a resumable session: bytes, with `Content-Range: bytes a-b/total` for chunks.
pub async fn resume(AxState(state): AxState<Arc<State>>, headers: HeaderMap, Query(q): Q, body: Bytes) -> Response {
    chunk(state, headers, q, body).await
}

pub async fn resume_for(
    AxState(state): AxState<Arc<State>>,
    Path(_id): Path<String>,
    headers: HeaderMap,
    Query(q): Q,
    body: Bytes,
) -> Response {
    chunk(state, headers, q, body).await
}

async fn chunk(state: Arc<State>, headers: HeaderMap, q: HashMap<String, String>, body: Bytes) -> Response {
    state.count("drive.upload.chunk");
    hold_if_asked(&state).await;
    let Some(upload_id) = q.get("upload_id") else {
        return api_error(400, "upload_id is required.", "INVALID_ARGUMENT");
    };
    let total = headers
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.rsplit('/').next())
        .and_then(|t| t.parse::<usize>().ok());
    let (done, received) = {
        let mut inner = state.lock();
        let Some(session) = inner.uploads.get_mut(upload_id) else {
            return api_error(404, "No such upload session.", "NOT_FOUND");
        };
        session.2.extend_from_slice(&body);
        let received = session.2.len();
        (total.is_none_or(|t| received >= t), received)
    };
    if !done {
        return (
            StatusCode::PERMANENT_REDIRECT,
            [(header::RANGE, format!("bytes=0-{}", received - 1))],
        )
            .into_response();
    }
    let (id, meta, content) = state.lock().uploads.remove(upload_id).expect("checked above");
    let f = match id {
        Some(id) => store_update(&state, &id, &meta, content),
        None => Some(store_new(&state, &meta, content)),
    };
    f.map(|f| Json(resource(&f)).into_response())
        .unwrap_or_else(|| api_error(404, "File not found.", "NOT_FOUND"))
}

/// Holds a chunk that has arrived, when a test asked for uploads to stall mid-way, until
/// it releases them (counted as `drive.upload.held`).
async fn hold_if_asked(state: &State) {
    let due = match state.lock().hold_uploads_after.as_mut() {
        Some(0) => true,
        Some(n) => {
            *n -= 1;
            false
        }
        None => false,
    };
    if !due {
        return;
    }
    state.count("drive.upload.held");
    loop {
        // Registered before the check, so a release between the two is not missed.
        let released = state.uploads_released.notified();
        if state.lock().hold_uploads_after.is_none() {
            return;
        }
        released.await;
    }
}

/// `GET /drive/v3/files/{id}` (metadata) or with `alt=media` (the content).
pub async fn get(
    AxState(state): AxState<Arc<State>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    state.count("drive.files.get");
    if let Err(r) = bearer::check(&state, &headers, bearer::DRIVE_READ) {
        return r;
    }
    let Some(f) = state.lock().drive.iter().find(|f| f.id == id).cloned() else {
        return api_error(404, &format!("File not found: {id}."), "NOT_FOUND");
    };
    if q.get("alt").map(String::as_str) == Some("media") {
        return (StatusCode::OK, [(header::CONTENT_TYPE, f.mime_type.clone())], f.content).into_response();
    }
    Json(select(
        full_resource(&f),
        q.get("fields").map(String::as_str),
        resource(&f),
    ))
    .into_response()
}

/// `DELETE /drive/v3/files/{id}`: gone at once (not to the trash), 204.
pub async fn delete(AxState(state): AxState<Arc<State>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    state.count("drive.files.delete");
    if let Err(r) = bearer::check(&state, &headers, WRITE) {
        return r;
    }
    if let Some(r) = refuse_read_only(&state, std::slice::from_ref(&id)) {
        return r;
    }
    let mut inner = state.lock();
    let before = inner.drive.len();
    inner.drive.retain(|f| f.id != id);
    if inner.drive.len() == before {
        return api_error(404, &format!("File not found: {id}."), "NOT_FOUND");
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /drive/v3/files/{id}/permissions`: `{"type": "user", "role": "reader", "emailAddress": ...}`.
pub async fn share(
    AxState(state): AxState<Arc<State>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    state.count("drive.permissions.create");
    if let Err(r) = bearer::check(&state, &headers, WRITE) {
        return r;
    }
    let (Some(email), Some(role)) = (body["emailAddress"].as_str(), body["role"].as_str()) else {
        return api_error(400, "The permission type field is required.", "INVALID_ARGUMENT");
    };
    if let Some(r) = refuse_read_only(&state, std::slice::from_ref(&id)) {
        return r;
    }
    let mut inner = state.lock();
    let Some(f) = inner.drive.iter_mut().find(|f| f.id == id) else {
        return api_error(404, &format!("File not found: {id}."), "NOT_FOUND");
    };
    if !f.permissions.iter().any(|(e, _)| e == email) {
        f.permissions.push((email.to_string(), role.to_string()));
    }
    Json(json!({"kind": "drive#permission", "id": random(20), "type": body["type"].as_str().unwrap_or("user"), "role": role})).into_response()
}
