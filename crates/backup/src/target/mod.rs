//! Where archives go. A target shows an archive only once it is complete: it is written
//! under a temporary name, read back and compared (length and SHA-256), and only then
//! given its name. A half-written one (a kill -9 mid-upload) is never listed, and is
//! cleaned by the next backup.

mod dir;
mod drive;
#[cfg(feature = "aws")]
mod s3;

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use jada_google::client::GoogleClient;

pub use dir::DirTarget;
pub use drive::DriveTarget;

use crate::BackupError;

/// An archive at a target.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stored {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Its length at the target now.
    pub bytes: u64,
    /// What was written, as the target recorded it when the archive was stored (length
    /// and SHA-256), when its listing carries it: see [`Target::written`].
    pub written: Option<Written>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Written {
    pub bytes: u64,
    pub sha256: String,
}

impl Written {
    /// Checks a fetched copy (its length and SHA-256) against what was written.
    pub fn check(&self, name: &str, bytes: u64, sha256: &str) -> Result<(), BackupError> {
        if bytes < self.bytes {
            return Err(BackupError::Damaged(format!(
                "{name} is truncated: {bytes} of the {} bytes written",
                self.bytes
            )));
        }
        if bytes != self.bytes || sha256 != self.sha256 {
            return Err(BackupError::Damaged(format!(
                "{name} was altered or is damaged: its SHA-256 is not the one recorded when it was written"
            )));
        }
        Ok(())
    }
}

#[async_trait]
pub trait Target: Send + Sync {
    /// As the operator wrote it (`dir:/mnt/backup/jada`).
    fn describe(&self) -> String;

    /// Stores `file` as `name`, complete or not at all; `bytes` and `sha256` are what was
    /// written, checked against what the target holds before the name is given.
    async fn put(&self, name: &str, file: &Path, bytes: u64, sha256: &str) -> Result<(), BackupError>;

    /// The complete archives, newest first.
    async fn list(&self) -> Result<Vec<Stored>, BackupError>;

    /// What was written for an archive, as the target recorded it when storing it: a
    /// fetched copy that differs was truncated or altered since. What the listing carried,
    /// unless the target keeps it elsewhere (S3: each object's metadata, which a listing
    /// does not return, so only the archive being verified is asked).
    async fn written(&self, stored: &Stored) -> Result<Option<Written>, BackupError> {
        Ok(stored.written.clone())
    }

    /// Copies an archive into `to` (a new file).
    async fn fetch(&self, name: &str, to: &Path) -> Result<(), BackupError>;

    async fn delete(&self, name: &str) -> Result<(), BackupError>;
}

/// `[backup] target` (with the S3 settings), parsed; `google` is the client of `[backup]
/// credential`, which a Drive target needs.
pub fn parse(settings: &crate::Settings, google: Option<GoogleClient>) -> Result<Box<dyn Target>, String> {
    check(settings)?;
    let spec = settings.target.as_str();
    if let Some(rest) = spec.strip_prefix("s3://") {
        #[cfg(feature = "aws")]
        return Ok(Box::new(s3::S3Target::new(
            rest,
            settings.region.clone(),
            settings.endpoint_url.clone(),
        )?));
        #[cfg(not(feature = "aws"))]
        return Err(format!(
            "`s3://{rest}` needs jada's AWS parts: build it with `cargo build --release --features aws`"
        ));
    }
    if let Some(folder) = spec.strip_prefix("drive:") {
        let client = google.ok_or_else(|| format!("`{spec}` needs [backup] credential"))?;
        return Ok(Box::new(DriveTarget::new(folder, client)));
    }
    let path = spec.strip_prefix("dir:").expect("checked");
    Ok(Box::new(DirTarget::new(path.into())))
}

/// Whether `[backup] target` is a target jada knows, with what it needs.
pub fn check(settings: &crate::Settings) -> Result<(), String> {
    let spec = settings.target.as_str();
    match spec.split_once(':') {
        _ if spec.starts_with("s3://") => Ok(()),
        Some(("dir", path)) if path.starts_with('/') => Ok(()),
        Some(("dir", path)) => Err(format!(
            "`dir:{path}` is not an absolute path: give the directory as dir:/PATH (another disk, a mounted share)"
        )),
        Some(("drive", "")) => {
            Err("`drive:` needs the folder's id: drive:FOLDER_ID (the last part of the folder's address)".into())
        }
        Some(("drive", _)) if settings.credential.is_none() => Err(format!(
            "`{spec}` needs `credential`: the name of the Google credential that uploads to the folder"
        )),
        Some(("drive", _)) => Ok(()),
        _ => Err(format!(
            "`{spec}` is not a backup target: use dir:/PATH, s3://BUCKET/PREFIX or drive:FOLDER_ID"
        )),
    }
}

/// An archive's file name, from its id (the UTC second it was taken).
pub fn name_of(id: &str) -> String {
    format!("jada-{id}.tar.gz.age")
}

/// The id and time of an archive's file name, or `None` for any other file.
pub fn id_of(name: &str) -> Option<(String, DateTime<Utc>)> {
    let id = name.strip_prefix("jada-")?.strip_suffix(".tar.gz.age")?;
    let at = NaiveDateTime::parse_from_str(id, crate::ID_FORMAT).ok()?.and_utc();
    Some((id.to_string(), at))
}
