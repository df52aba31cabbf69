//! jada's backups of the embedded store. A backup is an online snapshot of `jada.db`
//! (taken while jada runs and writes: [`snapshot`]) and the data directory's
//! irreplaceable files (`secrets/`, the statements as sent, playbook files), in one
//! gzipped tar encrypted with age to the backup key ([`archive`], [`key`]), stored at a
//! [`target`] complete or not at all, then **fetched back, decrypted, restored into a
//! temporary directory, integrity-checked and compared with the counts and content taken
//! at the snapshot** before it counts as verified. Old archives are pruned
//! ([`retention`]) only after a newer one is verified.
//!
//! [`Backups`] is here; its work is in `run` (take a backup, prune), `verify` (prove an
//! archive), `restore` (into a directory jada runs on) and `work` (scratch directories
//! and the locks).

pub mod archive;
pub(crate) mod background;
pub mod key;
mod restore;
pub mod retention;
mod run;
pub mod snapshot;
mod state;
pub mod target;
mod verify;
mod work;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use key::BackupKey;
pub use retention::Retention;
pub use run::summary;
pub use state::{BackupState, LastBackup, LastVerified};
pub use target::{Stored, Target};

/// An archive's id: the UTC second it was taken (`20261203T140000Z`).
pub const ID_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// `[backup]` in jada.toml.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `dir:/PATH`, `s3://BUCKET/PREFIX` (with the `aws` build feature) or
    /// `drive:FOLDER_ID` (with `credential`).
    pub target: String,
    /// When the `backup` job runs (default: hourly, on the hour).
    #[serde(default = "hourly")]
    pub schedule: String,
    /// When the newest archive is verified again on its own (`backup-verify`); every
    /// backup is verified as it is made whatever this says.
    #[serde(default)]
    pub verify_schedule: Option<String>,
    #[serde(default = "default_hourly")]
    pub keep_hourly: usize,
    #[serde(default = "default_daily")]
    pub keep_daily: usize,
    #[serde(default = "default_monthly")]
    pub keep_monthly: usize,
    /// For a Drive target: the credential to upload with.
    #[serde(default)]
    pub credential: Option<String>,
    /// For an S3 target.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

fn hourly() -> String {
    "0 0 * * * *".into()
}
fn default_hourly() -> usize {
    Retention::default().hourly
}
fn default_daily() -> usize {
    Retention::default().daily
}
fn default_monthly() -> usize {
    Retention::default().monthly
}

impl Settings {
    pub fn retention(&self) -> Retention {
        Retention {
            hourly: self.keep_hourly,
            daily: self.keep_daily,
            monthly: self.keep_monthly,
        }
    }
}

/// What went wrong, and whether trying again later can help.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the database {path}: {why}")]
    Database { path: String, why: String },
    #[error("the backup key {path}: {why}")]
    Key { path: String, why: String },
    #[error("{archive} was not encrypted to this backup key: give the key it was made with (--key FILE; `jada backup key` on the machine that made it shows its public half)")]
    WrongKey { archive: String },
    #[error("{0}")]
    Damaged(String),
    #[error("the backup target {target}: {why}")]
    Target { target: String, why: String, retry: bool },
    #[error("there is no backup {id} at {target} (`jada backup list` shows what there is)")]
    NotFound { id: String, target: String },
    #[error("another backup of this data directory is running (pid in {lock}); this one did nothing")]
    Busy { lock: String },
    #[error("{0}")]
    Refused(String),
}

impl BackupError {
    pub fn io(path: &Path, source: std::io::Error) -> BackupError {
        BackupError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Whether the same call may succeed later without anyone changing anything: an
/// unreachable target or a busy database may pass; a wrong key or a damaged archive not.
impl jada_core::Fault for BackupError {
    fn recovery(&self) -> jada_core::Recovery {
        let retry = match self {
            BackupError::Target { retry, .. } => *retry,
            BackupError::Busy { .. } | BackupError::Database { .. } => true,
            _ => false,
        };
        if retry {
            jada_core::Recovery::Retry
        } else {
            jada_core::Recovery::Operator
        }
    }
}

/// What a backup run did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The newest archive (the one just made, or the last one when nothing changed).
    pub id: String,
    pub target: String,
    /// False when nothing changed since the last backup, which still holds.
    pub made: bool,
    pub bytes: u64,
    pub database_bytes: u64,
    pub records: u64,
    pub verified: Option<Verified>,
    /// Archives removed by the retention policy.
    pub pruned: Vec<String>,
}

/// A verified archive: restored and compared with its snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub id: String,
    pub at: DateTime<Utc>,
    pub records: u64,
    pub files: usize,
    pub counts: BTreeMap<String, u64>,
}

/// Where backups go and how the last ones went.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub target: String,
    #[serde(flatten)]
    pub state: BackupState,
}

/// The backups of one data directory to one target.
pub struct Backups {
    target: Box<dyn Target>,
    data_dir: PathBuf,
    retention: Retention,
    /// The configuration file, archived as [`archive::CONFIG`].
    config_file: Option<PathBuf>,
}

impl Backups {
    /// The backups `settings` configure; `google`: the client of `[backup] credential`
    /// (a Drive target needs it).
    pub fn new(
        settings: &Settings,
        data_dir: &Path,
        google: Option<jada_google::client::GoogleClient>,
    ) -> Result<Backups, String> {
        Ok(Backups {
            target: target::parse(settings, google)?,
            data_dir: data_dir.to_path_buf(),
            retention: settings.retention(),
            config_file: None,
        })
    }

    /// Takes the configuration file in every archive too (as `config/jada.toml`): a new
    /// machine gets the business's settings back with its data.
    pub fn with_config_file(mut self, file: Option<PathBuf>) -> Backups {
        self.config_file = file;
        self
    }

    /// Backups to another target (`--from`), e.g. on a new machine.
    pub fn with_target(mut self, target: Box<dyn Target>) -> Backups {
        self.target = target;
        self
    }

    pub fn target(&self) -> String {
        self.target.describe()
    }

    fn secrets(&self) -> PathBuf {
        self.data_dir.join("secrets")
    }

    /// What the last runs recorded (for doctor, the metrics and the Automation page).
    pub fn state(&self) -> BackupState {
        BackupState::load(&self.data_dir)
    }

    /// The target and what the last runs recorded, as the status report carries it.
    pub fn status(&self) -> Status {
        Status {
            target: self.target(),
            state: self.state(),
        }
    }

    /// The key, made on first use.
    pub fn key(&self, now: DateTime<Utc>) -> Result<(BackupKey, bool), BackupError> {
        BackupKey::load_or_create(&self.secrets(), now)
    }

    /// Records that a person was shown the key (doctor stops asking).
    pub fn key_shown(&self, now: DateTime<Utc>) -> Result<(), BackupError> {
        let mut state = self.state();
        state.key_shown_at = Some(now);
        state.save(&self.data_dir)
    }

    /// The key archives were made with, for reading them (never made here: a new key opens
    /// no archive).
    pub fn existing_key(&self) -> Result<BackupKey, BackupError> {
        let path = self.secrets().join(key::KEY_FILE);
        jada_google::secret_files::check_secret(&path).map_err(|e| BackupError::Key {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        BackupKey::load(&path)
    }

    /// The archives at the target, newest first.
    pub async fn list(&self) -> Result<Vec<Stored>, BackupError> {
        self.target.list().await
    }
}
