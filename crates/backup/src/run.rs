//! Taking a backup: snapshot, pack, store, verify, prune.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::state::LastBackup;
use crate::work::Work;
use crate::{archive, background, retention, snapshot, target, BackupError, Backups, Outcome, ID_FORMAT};

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
    crate::state::STATE_FILE,
    "outbox",
    "reports",
    // A restored configuration: the one jada runs with is archived under this name.
    archive::CONFIG,
];

impl Backups {
    /// Takes a backup (skipped when nothing changed since the last one, which must still
    /// be at the target), verifies it, then prunes by the retention policy.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<Outcome, BackupError> {
        let _lock = self.lock()?;
        let started = std::time::Instant::now();
        let work = Work::new(&self.data_dir)?;
        let (key, _) = self.key(now)?;
        let id = now.format(ID_FORMAT).to_string();
        let db = work.path().join(archive::DATABASE);
        let live = self.data_dir.join(archive::DATABASE);
        let (manifest, files) = {
            let (live, db, data_dir, id) = (live.clone(), db.clone(), self.data_dir.clone(), id.clone());
            let config = self.config_file.clone().filter(|f| f.is_file());
            background::run(move || {
                let snap = snapshot::take(&live, &db)?;
                let mut files = files_of(&data_dir)?;
                files.extend(config.map(|f| (archive::CONFIG.to_string(), f)));
                files.sort();
                let manifest = archive::Manifest::new(&id, now, snap.counts, &snap.content, &db, &files)?;
                Ok::<_, BackupError>((manifest, files))
            })
            .await?
        };
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "backup: snapshot taken");
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
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            bytes,
            "backup: archive packed"
        );
        self.target.put(&name, &file, bytes, &sha256).await?;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "backup: archive stored");
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
        work.remove().await;
        let verified = self.verify_locked(Some(&id), &key, now).await?;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "backup: verified");
        let pruned = self.prune().await?;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "backup: pruned");
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

    /// Removes what the retention policy does not keep.
    pub(crate) async fn prune(&self) -> Result<Vec<String>, BackupError> {
        let stored = self.target.list().await?;
        let keep = retention::keep(&stored, self.retention);
        let mut pruned = vec![];
        for s in stored.iter().filter(|s| !keep.contains(&s.id)) {
            self.target.delete(&s.name).await?;
            pruned.push(s.id.clone());
        }
        Ok(pruned)
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
