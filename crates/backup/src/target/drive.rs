//! `drive:FOLDER_ID`: a Google Drive folder the business already uses, through `[backup]
//! credential`. An archive is one new file (resumable upload above 5 MB): Drive shows a
//! file only once its last byte has arrived, so an upload cut off leaves nothing to list.
//! The file carries its length and SHA-256 as `appProperties`; before the archive counts,
//! Drive's own MD5 of what it holds is compared with the MD5 of what was sent.

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;
use jada_core::Fault;
use jada_google::client::{GoogleClient, GoogleError};
use md5::Digest;
use serde_json::Value;

use super::{id_of, Stored, Target, Written};
use crate::BackupError;

const FIELDS: &str = "id,name,size,md5Checksum,appProperties";

pub struct DriveTarget {
    folder: String,
    client: GoogleClient,
}

impl DriveTarget {
    pub fn new(folder: &str, client: GoogleClient) -> DriveTarget {
        DriveTarget {
            folder: folder.into(),
            client,
        }
    }

    fn failed(&self, e: GoogleError) -> BackupError {
        BackupError::Target {
            target: self.describe(),
            retry: e.is_retryable(),
            why: e.to_string(),
        }
    }

    /// The archive's Drive file id, by name.
    async fn file_id(&self, name: &str) -> Result<String, BackupError> {
        match self.client.find_in_folder(&self.folder, name).await {
            Ok(Some(f)) => Ok(f.id),
            Ok(None) => Err(BackupError::NotFound {
                id: name.into(),
                target: self.describe(),
            }),
            Err(e) => Err(self.failed(e)),
        }
    }
}

/// What a file's `appProperties` say was written.
fn written(file: &Value) -> Option<Written> {
    let p = &file["appProperties"];
    Some(Written {
        bytes: p["bytes"].as_str()?.parse().ok()?,
        sha256: p["sha256"].as_str()?.to_string(),
    })
}

#[async_trait]
impl Target for DriveTarget {
    fn describe(&self) -> String {
        format!("drive:{}", self.folder)
    }

    async fn put(&self, name: &str, file: &Path, bytes: u64, sha256: &str) -> Result<(), BackupError> {
        let path = file.to_path_buf();
        let (content, md5) = crate::background::run(move || {
            let content = std::fs::read(&path).map_err(|e| BackupError::io(&path, e))?;
            let md5 = hex::encode(md5::Md5::digest(&content));
            Ok::<_, BackupError>((content, md5))
        })
        .await?;
        let props = BTreeMap::from([
            ("bytes".to_string(), bytes.to_string()),
            ("sha256".to_string(), sha256.to_string()),
        ]);
        let made = self
            .client
            .create_file(&self.folder, name, "application/octet-stream", &content, &props)
            .await
            .map_err(|e| self.failed(e))?;
        let id = made["id"].as_str().unwrap_or_default().to_string();
        let held = self.client.file_fields(&id, FIELDS).await.map_err(|e| self.failed(e))?;
        let size: Option<u64> = held["size"].as_str().and_then(|s| s.parse().ok());
        if size != Some(bytes) || held["md5Checksum"].as_str() != Some(md5.as_str()) {
            let _ = self.client.delete_file(&id).await;
            return Err(BackupError::Target {
                target: self.describe(),
                why: format!(
                    "{name} reads back from Drive as {size:?} bytes with MD5 {}, not the {bytes} bytes (MD5 {md5}) sent",
                    held["md5Checksum"]
                ),
                retry: true,
            });
        }
        Ok(())
    }

    async fn list(&self) -> Result<Vec<Stored>, BackupError> {
        let files = self
            .client
            .list_folder(&self.folder, FIELDS)
            .await
            .map_err(|e| self.failed(e))?;
        let mut out = vec![];
        for f in &files {
            let Some(name) = f["name"].as_str() else { continue };
            let Some((id, created_at)) = id_of(name) else { continue };
            out.push(Stored {
                id,
                name: name.to_string(),
                created_at,
                bytes: f["size"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0),
                written: written(f),
            });
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        Ok(out)
    }

    async fn fetch(&self, name: &str, to: &Path) -> Result<(), BackupError> {
        let id = self.file_id(name).await?;
        let bytes = self.client.download(&id).await.map_err(|e| self.failed(e))?;
        tokio::fs::write(to, bytes).await.map_err(|e| BackupError::io(to, e))
    }

    async fn delete(&self, name: &str) -> Result<(), BackupError> {
        let id = self.file_id(name).await?;
        self.client.delete_file(&id).await.map_err(|e| self.failed(e))
    }
}
