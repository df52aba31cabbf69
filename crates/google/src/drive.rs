//! Drive `files.list`, for finding a file by folder path and name ("JADA Business" ->
//! "Crew" -> the availability sheet), uploads, downloads and sharing, on [`GoogleClient`]'s
//! one request path; errors name Drive, the file or folder, and the credential.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::client::{enc, json_of, Api, GoogleClient, GoogleError};

const READ_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.readonly",
    "https://www.googleapis.com/auth/drive.file",
];

pub const FOLDER: &str = "application/vnd.google-apps.folder";
pub const SPREADSHEET: &str = "application/vnd.google-apps.spreadsheet";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Google's limit for a multipart upload; larger files go resumable.
pub const MULTIPART_MAX: usize = 5 * 1024 * 1024;
/// Resumable chunk size (a multiple of 256 KiB, as Drive requires).
const CHUNK: usize = 4 * 1024 * 1024;
const WRITE_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveFile {
    pub id: String,
    pub name: String,
    pub mime_type: String,
}

/// Quotes a value for a Drive query.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl GoogleClient {
    /// `files.list` with a query. `drive_url` is `[google] drive_url`.
    pub async fn drive_list(&self, q: &str) -> Result<Vec<DriveFile>, GoogleError> {
        let url = format!(
            "{}/drive/v3/files?q={}&fields=files(id,name,mimeType)&pageSize=1000",
            self.urls().drive,
            enc(q)
        );
        let v = self
            .call(
                Api::Drive,
                "files.list",
                crate::sheets::DRIVE_SCOPES,
                Method::GET,
                url,
                None,
            )
            .await?;
        Ok(v["files"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| DriveFile {
                        id: f["id"].as_str().unwrap_or("").into(),
                        name: f["name"].as_str().unwrap_or("").into(),
                        mime_type: f["mimeType"].as_str().unwrap_or("").into(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Uploads `bytes` as `name` into `folder_id`, replacing the content of a file of that
    /// name already there instead of making a duplicate. Returns the file and whether it
    /// replaced one.
    pub async fn upload(
        &self,
        folder_id: &str,
        name: &str,
        mime: &str,
        bytes: &[u8],
    ) -> Result<(DriveFile, bool), GoogleError> {
        let q = format!(
            "{} in parents and name = {} and trashed = false",
            lit(folder_id),
            lit(name)
        );
        let existing = self.drive_list(&q).await?.into_iter().next();
        let base = format!("{}/upload/drive/v3/files", self.urls().drive);
        let (method, url, meta) = match &existing {
            Some(f) => (Method::PATCH, format!("{base}/{}", enc(&f.id)), json!({"name": name})),
            None => (
                Method::POST,
                base,
                json!({"name": name, "mimeType": mime, "parents": [folder_id]}),
            ),
        };
        let resource = match &existing {
            Some(f) => format!("file {} (`{name}`)", f.id),
            None => format!("folder {folder_id} (uploading `{name}`)"),
        };
        let v = if bytes.len() <= MULTIPART_MAX {
            self.multipart(method, &url, &meta, mime, bytes, &resource).await?
        } else {
            self.resumable(method, &url, &meta, mime, bytes, &resource).await?
        };
        let file = DriveFile {
            id: v["id"].as_str().unwrap_or("").into(),
            name: v["name"].as_str().unwrap_or(name).into(),
            mime_type: mime.into(),
        };
        Ok((file, existing.is_some()))
    }

    async fn multipart(
        &self,
        method: Method,
        url: &str,
        meta: &Value,
        mime: &str,
        bytes: &[u8],
        resource: &str,
    ) -> Result<Value, GoogleError> {
        let boundary = format!("jada-{}", rand::random::<u64>());
        let mut body = format!("--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{meta}\r\n--{boundary}\r\nContent-Type: {mime}\r\n\r\n").into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--").as_bytes());
        let url = format!("{url}?uploadType=multipart");
        let ct = format!("multipart/related; boundary={boundary}");
        let (_, _, v) = self
            .send(Api::Drive, resource, WRITE_SCOPES, |http, token| {
                http.request(method.clone(), &url)
                    .bearer_auth(token)
                    .header("Content-Type", &ct)
                    .body(body.clone())
            })
            .await?;
        Ok(json_of(&v))
    }

    async fn resumable(
        &self,
        method: Method,
        url: &str,
        meta: &Value,
        mime: &str,
        bytes: &[u8],
        resource: &str,
    ) -> Result<Value, GoogleError> {
        let start = format!("{url}?uploadType=resumable");
        let (_, headers, _) = self
            .send(Api::Drive, resource, WRITE_SCOPES, |http, token| {
                http.request(method.clone(), &start)
                    .bearer_auth(token)
                    .header("X-Upload-Content-Type", mime)
                    .json(meta)
            })
            .await?;
        let session = headers
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| GoogleError::Rejected {
                api: Api::Drive,
                resource: resource.into(),
                credential: self.credential().into(),
                detail: "Drive started no upload session (no Location header)".into(),
            })?;
        let total = bytes.len();
        let mut sent = 0;
        loop {
            let end = (sent + CHUNK).min(total);
            let range = format!("bytes {}-{}/{total}", sent, end - 1);
            let chunk = bytes[sent..end].to_vec();
            let (status, _, v) = self
                .send(Api::Drive, resource, WRITE_SCOPES, |http, token| {
                    http.put(&session)
                        .bearer_auth(token)
                        .header("Content-Range", &range)
                        .body(chunk.clone())
                })
                .await?;
            if status != StatusCode::PERMANENT_REDIRECT {
                return Ok(json_of(&v));
            }
            sent = end;
        }
    }

    /// A new file in `folder_id` (never replacing one of that name), with the app's
    /// private `appProperties`: multipart up to 5 MB, resumable above. Drive shows it only
    /// once its last byte has arrived. Answers the new file's resource.
    pub async fn create_file(
        &self,
        folder_id: &str,
        name: &str,
        mime: &str,
        bytes: &[u8],
        app_properties: &std::collections::BTreeMap<String, String>,
    ) -> Result<Value, GoogleError> {
        let url = format!("{}/upload/drive/v3/files", self.urls().drive);
        let meta = json!({"name": name, "mimeType": mime, "parents": [folder_id], "appProperties": app_properties});
        let resource = format!("folder {folder_id} (uploading `{name}`)");
        if bytes.len() <= MULTIPART_MAX {
            self.multipart(Method::POST, &url, &meta, mime, bytes, &resource).await
        } else {
            self.resumable(Method::POST, &url, &meta, mime, bytes, &resource).await
        }
    }

    /// A file's metadata, `fields` as Drive takes them (`id,size,md5Checksum`).
    pub async fn file_fields(&self, file_id: &str, fields: &str) -> Result<Value, GoogleError> {
        let url = format!(
            "{}/drive/v3/files/{}?fields={}",
            self.urls().drive,
            enc(file_id),
            enc(fields)
        );
        self.call(
            Api::Drive,
            &format!("file {file_id}"),
            READ_SCOPES,
            Method::GET,
            url,
            None,
        )
        .await
    }

    /// Every file in a folder (not in the trash), each with `fields`, page after page.
    pub async fn list_folder(&self, folder_id: &str, fields: &str) -> Result<Vec<Value>, GoogleError> {
        let q = format!("{} in parents and trashed = false", lit(folder_id));
        let mut out = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut url = format!(
                "{}/drive/v3/files?q={}&fields={}&pageSize=1000",
                self.urls().drive,
                enc(&q),
                enc(&format!("nextPageToken,files({fields})"))
            );
            if let Some(p) = &page {
                url += &format!("&pageToken={}", enc(p));
            }
            let v = self
                .call(
                    Api::Drive,
                    &format!("folder {folder_id}"),
                    READ_SCOPES,
                    Method::GET,
                    url,
                    None,
                )
                .await?;
            out.extend(v["files"].as_array().cloned().unwrap_or_default());
            match v["nextPageToken"].as_str() {
                Some(p) => page = Some(p.to_string()),
                None => return Ok(out),
            }
        }
    }

    /// Deletes a file for good (not to the trash).
    pub async fn delete_file(&self, file_id: &str) -> Result<(), GoogleError> {
        let url = format!("{}/drive/v3/files/{}", self.urls().drive, enc(file_id));
        let resource = format!("file {file_id}");
        self.send(Api::Drive, &resource, WRITE_SCOPES, |http, token| {
            http.delete(&url).bearer_auth(token)
        })
        .await
        .map(|_| ())
    }

    /// A file's content (`files.get?alt=media`).
    pub async fn download(&self, file_id: &str) -> Result<Vec<u8>, GoogleError> {
        let url = format!("{}/drive/v3/files/{}?alt=media", self.urls().drive, enc(file_id));
        let resource = format!("file {file_id}");
        let (_, _, bytes) = self
            .send(Api::Drive, &resource, READ_SCOPES, |http, token| {
                http.get(&url).bearer_auth(token)
            })
            .await?;
        Ok(bytes)
    }

    /// Finds a file by name in a folder.
    pub async fn find_in_folder(&self, folder_id: &str, name: &str) -> Result<Option<DriveFile>, GoogleError> {
        let q = format!(
            "{} in parents and name = {} and trashed = false",
            lit(folder_id),
            lit(name)
        );
        Ok(self.drive_list(&q).await?.into_iter().next())
    }

    /// Shares a file with someone (`role`: "reader" or "writer"), without Drive's own email.
    pub async fn share(&self, file_id: &str, email: &str, role: &str) -> Result<(), GoogleError> {
        let url = format!(
            "{}/drive/v3/files/{}/permissions?sendNotificationEmail=false",
            self.urls().drive,
            enc(file_id)
        );
        let body = json!({"type": "user", "role": role, "emailAddress": email});
        let resource = format!("file {file_id} (sharing with {email})");
        self.call(Api::Drive, &resource, WRITE_SCOPES, Method::POST, url, Some(body))
            .await
            .map(|_| ())
    }

    /// Finds a spreadsheet by folder path (`JADA Business/Crew`) and name, from My Drive.
    /// Errors name the part of the path that was not found.
    pub async fn find_spreadsheet(&self, folder_path: &str, name: &str) -> Result<DriveFile, GoogleError> {
        let mut parent = "root".to_string();
        for part in folder_path.split('/').map(str::trim).filter(|p| !p.is_empty()) {
            let q = format!(
                "{} in parents and name = {} and mimeType = {} and trashed = false",
                lit(&parent),
                lit(part),
                lit(FOLDER)
            );
            let found = self.drive_list(&q).await?;
            parent = found
                .into_iter()
                .next()
                .map(|f| f.id)
                .ok_or_else(|| GoogleError::NotFound {
                    api: Api::Drive,
                    resource: format!("folder `{part}` of the path `{folder_path}`"),
                    credential: self.credential().into(),
                })?;
        }
        let q = format!(
            "{} in parents and name = {} and mimeType = {} and trashed = false",
            lit(&parent),
            lit(name),
            lit(SPREADSHEET)
        );
        self.drive_list(&q)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| GoogleError::NotFound {
                api: Api::Drive,
                resource: format!("spreadsheet `{name}` in `{folder_path}`"),
                credential: self.credential().into(),
            })
    }
}
