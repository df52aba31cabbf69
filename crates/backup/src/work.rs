//! Scratch directories and locks.

use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::{BackupError, Backups};

impl Backups {
    /// One backup of a data directory at a time (the daemon's job and `jada backup now`).
    pub(crate) fn lock(&self) -> Result<std::fs::File, BackupError> {
        let path = self.data_dir.join("backup.lock");
        try_lock(&path)?.ok_or_else(|| BackupError::Busy {
            lock: path.display().to_string(),
        })
    }
}

/// Opens `path` (made if missing) and takes its `flock` without waiting: `None` while
/// another process holds it. The lock goes with the process, however it ends.
pub(crate) fn try_lock(path: &Path) -> Result<Option<std::fs::File>, BackupError> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| BackupError::io(path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(BackupError::io(path, e)),
    }
}

/// A private scratch directory under a data directory, removed when dropped (and, when
/// a killed backup left one, by the next).
pub(crate) struct Work {
    dir: PathBuf,
}

impl Work {
    pub(crate) fn new(under: &Path) -> Result<Work, BackupError> {
        let root = under.join(".backup-work");
        let dir = root.join(format!(
            "{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or(0)
        ));
        // Leftovers of a killed process (this one holds the backup lock).
        if let Ok(entries) = std::fs::read_dir(&root) {
            for e in entries.flatten() {
                let pid = e.file_name().to_string_lossy().split('-').next().map(str::to_string);
                let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
                if !alive {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        jada_google::secret_files::create_private_dir_all(&dir).map_err(|e| BackupError::io(&dir, e))?;
        Ok(Work { dir })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }

    /// Removes the directory on the backup's own thread: unlinking two copies of the
    /// database is file-system work the daemon's runtime threads should not wait on.
    pub(crate) async fn remove(mut self) {
        let dir = std::mem::take(&mut self.dir);
        crate::background::run(move || {
            let _ = std::fs::remove_dir_all(&dir);
        })
        .await;
    }
}

impl Drop for Work {
    /// When the work ended early (an error): removed here.
    fn drop(&mut self) {
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
