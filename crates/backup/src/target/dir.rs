//! `dir:/PATH`: another disk or a mounted share. Written as `.NAME.partial`, synced, read
//! back and compared, then renamed (atomic within the directory) and the directory synced.
//! Beside each archive, `NAME.json` records its length and SHA-256 as written.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;

use super::{id_of, Stored, Target, Written};
use crate::snapshot::digest_file;
use crate::BackupError;

/// A partial file older than this is a dead backup's: removed by the next one.
const STALE_PARTIAL: Duration = Duration::from_secs(3600);

pub struct DirTarget {
    dir: PathBuf,
}

impl DirTarget {
    pub fn new(dir: PathBuf) -> DirTarget {
        DirTarget { dir }
    }

    fn unreachable(&self, e: std::io::Error) -> BackupError {
        BackupError::Target {
            target: self.describe(),
            why: e.to_string(),
            retry: true,
        }
    }

    /// Removes what an interrupted backup left (only partial files, and only old ones:
    /// a backup writing now from another process keeps its own).
    fn clean_partials(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_PARTIAL);
            if name.starts_with(".jada-") && name.contains(".partial") && old {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[async_trait]
impl Target for DirTarget {
    fn describe(&self) -> String {
        format!("dir:{}", self.dir.display())
    }

    async fn put(&self, name: &str, file: &Path, bytes: u64, sha256: &str) -> Result<(), BackupError> {
        let (dir, name, file, sha256) = (
            self.dir.clone(),
            name.to_string(),
            file.to_path_buf(),
            sha256.to_string(),
        );
        let me = DirTarget { dir: dir.clone() };
        crate::background::run(move || {
            if !dir.is_dir() {
                return Err(BackupError::Target {
                    target: me.describe(),
                    why: "no such directory (is the disk or share mounted?)".into(),
                    retry: true,
                });
            }
            me.clean_partials();
            let partial = dir.join(format!(".{name}.partial"));
            let _ = std::fs::remove_file(&partial);
            std::fs::copy(&file, &partial).map_err(|e| me.unreachable(e))?;
            // Encrypted, yet nobody else's business on a shared disk.
            std::fs::set_permissions(&partial, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .map_err(|e| me.unreachable(e))?;
            std::fs::File::open(&partial)
                .and_then(|f| f.sync_all())
                .map_err(|e| me.unreachable(e))?;
            let (got_sha, got_len) = digest_file(&partial)?;
            if got_len != bytes || got_sha != sha256 {
                let _ = std::fs::remove_file(&partial);
                return Err(BackupError::Target {
                    target: me.describe(),
                    why: format!(
                        "the copy reads back as {got_len} bytes (sha256 {got_sha}), not the {bytes} written: the disk may be failing"
                    ),
                    retry: true,
                });
            }
            // The record first: an archive is never listed without it.
            let written = serde_json::to_vec(&Written { bytes, sha256 }).expect("serialises");
            let record = dir.join(format!("{name}.json"));
            std::fs::write(dir.join(format!(".{name}.json.partial")), &written)
                .and_then(|_| std::fs::rename(dir.join(format!(".{name}.json.partial")), &record))
                .map_err(|e| me.unreachable(e))?;
            std::fs::rename(&partial, dir.join(&name)).map_err(|e| me.unreachable(e))?;
            sync_dir(&dir).map_err(|e| me.unreachable(e))
        })
        .await
    }

    async fn list(&self) -> Result<Vec<Stored>, BackupError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| self.unreachable(e))?;
        let mut out = vec![];
        for e in entries {
            let e = e.map_err(|e| self.unreachable(e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((id, created_at)) = id_of(&name) else {
                continue;
            };
            let bytes = e.metadata().map_err(|e| self.unreachable(e))?.len();
            let written = std::fs::read(self.dir.join(format!("{name}.json")))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            out.push(Stored {
                id,
                name,
                created_at,
                bytes,
                written,
            });
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        Ok(out)
    }

    async fn fetch(&self, name: &str, to: &Path) -> Result<(), BackupError> {
        let from = self.dir.join(name);
        if !from.exists() {
            return Err(BackupError::NotFound {
                id: name.into(),
                target: self.describe(),
            });
        }
        let (to, me) = (to.to_path_buf(), DirTarget { dir: self.dir.clone() });
        crate::background::run(move || std::fs::copy(&from, &to).map(|_| ()).map_err(|e| me.unreachable(e))).await
    }

    async fn delete(&self, name: &str) -> Result<(), BackupError> {
        std::fs::remove_file(self.dir.join(name)).map_err(|e| self.unreachable(e))?;
        let _ = std::fs::remove_file(self.dir.join(format!("{name}.json")));
        Ok(())
    }
}
