//! jada's backups of the embedded store. A backup is an online snapshot of `jada.db`
//! (taken while jada runs and writes: [`snapshot`]) and the data directory's
//! irreplaceable files (`secrets/`, the statements as sent, playbook files), in one
//! gzipped tar encrypted with age to the backup key ([`archive`], [`key`]), stored at a
//! [`target`] complete or not at all, then **fetched back, decrypted, restored into a
//! temporary directory, integrity-checked and compared with the counts and content taken
//! at the snapshot** before it counts as verified. Old archives are pruned
//! ([`retention`]) only after a newer one is verified.

pub mod archive;
pub(crate) mod background;
pub mod key;
pub mod retention;
pub mod snapshot;
mod state;
pub mod target;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use key::BackupKey;
pub use retention::Retention;
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
}

/// Files of the data directory that are never in an archive: the database (copied by
/// its snapshot), what belongs to the running process, and what jada rebuilds.
const NOT_BACKED_UP: &[&str] = &[
    "jada.db",
    "jada.db-wal",
    "jada.db-shm",
    "jada.db-journal",
    "daemon.lock",
    "daemon.json",
    "backup.lock",
    state::STATE_FILE,
    "outbox",
    "reports",
];

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
        })
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

    /// Takes a backup (skipped when nothing changed since the last one, which must still
    /// be at the target), verifies it, then prunes by the retention policy.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<Outcome, BackupError> {
        let _lock = self.lock()?;
        let work = Work::new(&self.data_dir)?;
        let (key, _) = self.key(now)?;
        let id = now.format(ID_FORMAT).to_string();
        let db = work.path().join(archive::DATABASE);
        let live = self.data_dir.join(archive::DATABASE);
        let (manifest, files) = {
            let (live, db, data_dir, id) = (live.clone(), db.clone(), self.data_dir.clone(), id.clone());
            background::run(move || {
                let snap = snapshot::take(&live, &db)?;
                let files = files_of(&data_dir)?;
                let manifest = archive::Manifest::new(&id, now, snap.counts, &snap.content, &db, &files)?;
                Ok::<_, BackupError>((manifest, files))
            })
            .await?
        };
        let records = manifest.counts.values().sum();
        let database_bytes = manifest.files[0].bytes;
        let mut state = self.state();
        let stored = self.target.list().await?;
        if let Some(last) = state.last_backup.as_ref().filter(|l| {
            l.fingerprint == manifest.fingerprint && l.target == self.target() && stored.iter().any(|s| s.id == l.id)
        }) {
            let outcome = Outcome {
                id: last.id.clone(),
                target: self.target(),
                made: false,
                bytes: last.bytes,
                database_bytes,
                records,
                verified: None,
                pruned: vec![],
            };
            state.last_success_at = Some(now);
            state.save(&self.data_dir)?;
            return Ok(outcome);
        }
        if stored.iter().any(|s| s.id == id) {
            return Err(BackupError::Refused(format!(
                "a backup {id} is already at {}: wait a second and run it again",
                self.target()
            )));
        }
        let name = target::name_of(&id);
        let file = work.path().join(&name);
        let (bytes, sha256) = {
            let (file, db, recipient, m) = (file.clone(), db.clone(), key.recipient(), manifest.clone());
            background::run(move || archive::write(&file, &m, &db, &files, &recipient)).await?
        };
        self.target.put(&name, &file, bytes, &sha256).await?;
        state.last_backup = Some(LastBackup {
            id: id.clone(),
            at: now,
            target: self.target(),
            bytes,
            sha256,
            fingerprint: manifest.fingerprint.clone(),
        });
        state.last_success_at = Some(now);
        state.save(&self.data_dir)?;
        drop(work);
        let verified = self.verify_locked(Some(&id), &key, now).await?;
        let pruned = self.prune().await?;
        Ok(Outcome {
            id,
            target: self.target(),
            made: true,
            bytes,
            database_bytes,
            records,
            verified: Some(verified),
            pruned,
        })
    }

    /// Fetches an archive (the newest without `id`) back from the target, restores it into
    /// a temporary directory and compares it with its snapshot.
    pub async fn verify(&self, id: Option<&str>, key: &BackupKey, now: DateTime<Utc>) -> Result<Verified, BackupError> {
        let _lock = self.lock()?;
        self.verify_locked(id, key, now).await
    }

    async fn verify_locked(
        &self,
        id: Option<&str>,
        key: &BackupKey,
        now: DateTime<Utc>,
    ) -> Result<Verified, BackupError> {
        let work = Work::new(&self.data_dir)?;
        let stored = self.find(id).await?;
        let restored = work.path().join("restored");
        let manifest = self.fetch_and_unpack(&stored, key, &work, &restored, false).await?;
        let verified = Verified {
            id: stored.id.clone(),
            at: now,
            records: manifest.counts.values().sum(),
            files: manifest.files.len(),
            counts: manifest.counts,
        };
        let mut state = self.state();
        state.last_verified = Some(LastVerified {
            id: stored.id,
            at: now,
            target: self.target(),
        });
        state.save(&self.data_dir)?;
        Ok(verified)
    }

    /// One archive at the target, by id, or the newest.
    async fn find(&self, id: Option<&str>) -> Result<Stored, BackupError> {
        let stored = self.target.list().await?;
        match id {
            Some(id) => stored
                .into_iter()
                .find(|s| s.id == id)
                .ok_or_else(|| BackupError::NotFound {
                    id: id.into(),
                    target: self.target(),
                }),
            None => stored.into_iter().next().ok_or_else(|| BackupError::NotFound {
                id: "(newest)".into(),
                target: self.target(),
            }),
        }
    }

    /// Fetches `stored` into `work`, unpacks it into `into` (synced when `durable`) and
    /// checks the database there against the manifest: integrity, rows per table, content.
    async fn fetch_and_unpack(
        &self,
        stored: &Stored,
        key: &BackupKey,
        work: &Work,
        into: &Path,
        durable: bool,
    ) -> Result<archive::Manifest, BackupError> {
        let file = work.path().join(&stored.name);
        self.target.fetch(&stored.name, &file).await?;
        let identity = key.identity().clone();
        let (into, stored) = (into.to_path_buf(), stored.clone());
        background::run(move || {
            if let Some(written) = &stored.written {
                let (sha256, bytes) = snapshot::digest_file(&file)?;
                written.check(&stored.name, bytes, &sha256)?;
            }
            jada_google::secret_files::create_private_dir_all(&into).map_err(|e| BackupError::io(&into, e))?;
            let manifest = archive::unpack(&file, &identity, &into, durable)?;
            let (counts, content) = snapshot::check(&into.join(archive::DATABASE))?;
            if counts != manifest.counts {
                return Err(BackupError::Damaged(format!(
                    "{}: the restored database's rows per table ({}) differ from the snapshot's ({})",
                    manifest.id,
                    show_counts(&counts),
                    show_counts(&manifest.counts)
                )));
            }
            if !manifest.fingerprint.is_empty() && content_of(&manifest, &content) != manifest.fingerprint {
                return Err(BackupError::Damaged(format!(
                    "{}: the restored data differs from the snapshot's (same rows per table, other content)",
                    manifest.id
                )));
            }
            Ok(manifest)
        })
        .await
    }

    /// Removes what the retention policy does not keep.
    async fn prune(&self) -> Result<Vec<String>, BackupError> {
        let stored = self.target.list().await?;
        let keep = retention::keep(&stored, self.retention);
        let mut pruned = vec![];
        for s in stored.iter().filter(|s| !keep.contains(&s.id)) {
            self.target.delete(&s.name).await?;
            pruned.push(s.id.clone());
        }
        Ok(pruned)
    }

    /// The archives at the target, newest first.
    pub async fn list(&self) -> Result<Vec<Stored>, BackupError> {
        self.target.list().await
    }

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

    /// One backup of a data directory at a time (the daemon's job and `jada backup now`).
    fn lock(&self) -> Result<std::fs::File, BackupError> {
        let path = self.data_dir.join("backup.lock");
        try_lock(&path)?.ok_or_else(|| BackupError::Busy {
            lock: path.display().to_string(),
        })
    }
}

/// Opens `path` (made if missing) and takes its `flock` without waiting: `None` while
/// another process holds it. The lock goes with the process, however it ends.
fn try_lock(path: &Path) -> Result<Option<std::fs::File>, BackupError> {
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

/// A backup run in one line, for the job's summary and `jada backup now`.
pub fn summary(out: &Outcome) -> String {
    if !out.made {
        return format!(
            "nothing changed since backup {} at {}, which stays the newest",
            out.id, out.target
        );
    }
    let mut s = format!(
        "backup {} to {}: {} ({} records; database {}); restored and compared with its snapshot",
        out.id,
        out.target,
        jada_core::text::bytes(out.bytes),
        out.records,
        jada_core::text::bytes(out.database_bytes)
    );
    if !out.pruned.is_empty() {
        s += &format!("; pruned {} older", out.pruned.len());
    }
    s
}

/// The fingerprint of a restored archive: its content digest and its files, as
/// [`archive::Manifest::new`] made it.
fn content_of(manifest: &archive::Manifest, content: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut f = Sha256::new();
    f.update(content.as_bytes());
    for e in manifest.files.iter().filter(|e| e.path != archive::DATABASE) {
        f.update(e.path.as_bytes());
        f.update(e.sha256.as_bytes());
    }
    hex::encode(f.finalize())
}

fn show_counts(counts: &BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(t, n)| format!("{t} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
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

/// The data directory's files that go in an archive, as (path in it, file), sorted.
fn files_of(data_dir: &Path) -> Result<Vec<(String, PathBuf)>, BackupError> {
    let mut out = vec![];
    let mut stack = vec![data_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).map_err(|e| BackupError::io(&dir, e))? {
            let e = e.map_err(|e| BackupError::io(&dir, e))?;
            let path = e.path();
            let rel = path.strip_prefix(data_dir).expect("under the data directory");
            let rel_text = rel.to_string_lossy().into_owned();
            let name = e.file_name().to_string_lossy().into_owned();
            // Dot files are temporaries (atomic writes, work directories).
            if name.starts_with('.') || NOT_BACKED_UP.contains(&rel_text.as_str()) || rel_text == "secrets/backup-key" {
                continue;
            }
            let kind = e.file_type().map_err(|e| BackupError::io(&path, e))?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                out.push((rel_text, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A private scratch directory under a data directory, removed when dropped (and, when
/// a killed backup left one, by the next).
struct Work {
    dir: PathBuf,
}

impl Work {
    fn new(under: &Path) -> Result<Work, BackupError> {
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

    fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
