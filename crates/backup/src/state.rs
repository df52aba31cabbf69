//! `backup-state.json` in the data directory: the last backup and the last verified one,
//! for doctor, the metrics and the Automation page. Written atomically, private.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::BackupError;

pub const STATE_FILE: &str = "backup-state.json";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BackupState {
    /// The newest archive this data directory made.
    pub last_backup: Option<LastBackup>,
    /// When a backup run last ended with the target holding the current data (a new
    /// archive, or nothing changed since the last).
    pub last_success_at: Option<DateTime<Utc>>,
    /// The newest archive restored and compared with its snapshot.
    pub last_verified: Option<LastVerified>,
    /// When the backup key was last shown to a person (`jada backup key`), or used by one
    /// to restore here: until then its only copy may be on this machine.
    #[serde(default)]
    pub key_shown_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastBackup {
    pub id: String,
    pub at: DateTime<Utc>,
    pub target: String,
    pub bytes: u64,
    pub sha256: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastVerified {
    pub id: String,
    pub at: DateTime<Utc>,
    pub target: String,
}

impl BackupState {
    /// The recorded state; none when there is no file or it cannot be read (the next
    /// backup then makes a new archive and writes it again).
    pub fn load(data_dir: &Path) -> BackupState {
        std::fs::read(data_dir.join(STATE_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, data_dir: &Path) -> Result<(), BackupError> {
        let path = data_dir.join(STATE_FILE);
        let json = serde_json::to_vec_pretty(self).expect("the state serialises");
        jada_google::secret_files::write_private_atomic(&path, &json).map_err(|e| BackupError::io(&path, e))
    }
}
