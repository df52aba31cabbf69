//! Restoring an archive into a directory jada then runs on.

use std::path::Path;

use chrono::Utc;

use crate::state::BackupState;
use crate::work::{try_lock, Work};
use crate::{archive, key, BackupError, BackupKey, Backups, Verified};

impl Backups {
    /// Restores an archive into `to` (empty, or any directory with `force`; never the data
    /// directory of a running daemon): unpacked and checked beside it first, then moved
    /// into place, so a wrong key or a damaged archive changes nothing there.
    pub async fn restore(&self, id: &str, to: &Path, key: &BackupKey, force: bool) -> Result<Verified, BackupError> {
        let occupied = std::fs::read_dir(to).map(|mut d| d.next().is_some()).unwrap_or(false);
        if occupied && !force {
            return Err(BackupError::Refused(format!(
                "{} is not empty: restore into a new directory, or add --force to replace the files the backup has there",
                to.display()
            )));
        }
        jada_google::secret_files::create_private_dir_all(to).map_err(|e| BackupError::io(to, e))?;
        let _daemon = hold_daemon_lock(to)?;
        let stored = self.find(Some(id)).await?;
        let work = Work::new(to)?;
        let staged = work.path().join("restored");
        let manifest = self.fetch_and_unpack(&stored, key, &work, &staged, true).await?;
        // Checked: now into place. A database replaced loses its old journal files, which
        // would otherwise be replayed over it.
        for suffix in ["-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(to.join(format!("{}{suffix}", archive::DATABASE)));
        }
        for f in &manifest.files {
            let dest = to.join(&f.path);
            if let Some(dir) = dest.parent() {
                jada_google::secret_files::create_private_dir_all(dir).map_err(|e| BackupError::io(dir, e))?;
            }
            std::fs::rename(staged.join(&f.path), &dest).map_err(|e| BackupError::io(&dest, e))?;
        }
        // The person restoring holds the key: this directory's doctor need not ask for it.
        BackupState {
            key_shown_at: Some(Utc::now()),
            ..BackupState::default()
        }
        .save(to)?;
        // The restored jada goes on backing up with the same key.
        let secrets = to.join("secrets");
        let key_copy = secrets.join(key::KEY_FILE);
        if !key_copy.exists() {
            jada_google::secret_files::create_private_dir_all(&secrets).map_err(|e| BackupError::io(&secrets, e))?;
            let text = std::fs::read(key.path()).map_err(|e| BackupError::io(key.path(), e))?;
            jada_google::secret_files::write_private_atomic(&key_copy, &text)
                .map_err(|e| BackupError::io(&key_copy, e))?;
        }
        Ok(Verified {
            id: manifest.id,
            at: Utc::now(),
            records: manifest.counts.values().sum(),
            files: manifest.files.len(),
            counts: manifest.counts,
        })
    }
}

/// Takes the data directory's daemon lock for the restore (the same `flock` a daemon
/// takes): refused while a daemon runs there, and no daemon starts mid-restore.
fn hold_daemon_lock(dir: &Path) -> Result<std::fs::File, BackupError> {
    let path = dir.join("daemon.lock");
    try_lock(&path)?.ok_or_else(|| {
        let pid = std::fs::read_to_string(&path).unwrap_or_default();
        BackupError::Refused(format!(
            "a jada daemon (pid {}) is running on {}: stop it before restoring into its data directory, or restore into a new directory",
            pid.trim(),
            dir.display()
        ))
    })
}
