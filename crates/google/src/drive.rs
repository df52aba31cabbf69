//! Drive `files.list`, for finding a file by folder path and name ("JADA Business" ->
//! "Crew" -> the availability sheet). Calls go through the Sheets client's retrying
//! transport and the token service.

use reqwest::Method;

use crate::sheets::{enc, SheetsClient, SheetsError};

pub const FOLDER: &str = "application/vnd.google-apps.folder";
pub const SPREADSHEET: &str = "application/vnd.google-apps.spreadsheet";

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

impl SheetsClient {
    /// `files.list` with a query. `drive_url` is `[google] drive_url`.
    pub async fn drive_list(&self, drive_url: &str, q: &str) -> Result<Vec<DriveFile>, SheetsError> {
        let url = format!(
            "{}/drive/v3/files?q={}&fields=files(id,name,mimeType)&pageSize=1000",
            drive_url.trim_end_matches('/'),
            enc(q)
        );
        let v = self
            .call_scoped(Method::GET, url, None, "(Drive)", crate::sheets::DRIVE_SCOPES)
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

    /// Finds a spreadsheet by folder path (`JADA Business/Crew`) and name, from My Drive.
    /// Errors name the part of the path that was not found.
    pub async fn find_spreadsheet(
        &self,
        drive_url: &str,
        folder_path: &str,
        name: &str,
    ) -> Result<DriveFile, SheetsError> {
        let mut parent = "root".to_string();
        for part in folder_path.split('/').map(str::trim).filter(|p| !p.is_empty()) {
            let q = format!(
                "{} in parents and name = {} and mimeType = {} and trashed = false",
                lit(&parent),
                lit(part),
                lit(FOLDER)
            );
            let found = self.drive_list(drive_url, &q).await?;
            parent = found
                .into_iter()
                .next()
                .map(|f| f.id)
                .ok_or_else(|| SheetsError::Rejected {
                    spreadsheet: name.into(),
                    detail: format!(
                        "no folder `{part}` in Drive path `{folder_path}` visible to credential `{}`",
                        self.credential()
                    ),
                })?;
        }
        let q = format!(
            "{} in parents and name = {} and mimeType = {} and trashed = false",
            lit(&parent),
            lit(name),
            lit(SPREADSHEET)
        );
        self.drive_list(drive_url, &q)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| SheetsError::NotFound {
                spreadsheet: format!("`{name}` in `{folder_path}`"),
                credential: self.credential().into(),
            })
    }
}
