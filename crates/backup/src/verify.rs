//! Proving an archive: fetched back, checked against what was written, decrypted,
//! unpacked, integrity-checked and compared with its snapshot.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::state::LastVerified;
use crate::work::Work;
use crate::{archive, background, snapshot, BackupError, BackupKey, Backups, Stored, Verified};

impl Backups {
    /// Fetches an archive (the newest without `id`) back from the target, restores it into
    /// a temporary directory and compares it with its snapshot.
    pub async fn verify(&self, id: Option<&str>, key: &BackupKey, now: DateTime<Utc>) -> Result<Verified, BackupError> {
        let _lock = self.lock()?;
        self.verify_locked(id, key, now).await
    }

    pub(crate) async fn verify_locked(
        &self,
        id: Option<&str>,
        key: &BackupKey,
        now: DateTime<Utc>,
    ) -> Result<Verified, BackupError> {
        let work = Work::new(&self.data_dir)?;
        let stored = self.find(id).await?;
        let restored = work.path().join("restored");
        let manifest = self.fetch_and_unpack(&stored, key, &work, &restored, false).await?;
        work.remove().await;
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
    pub(crate) async fn find(&self, id: Option<&str>) -> Result<Stored, BackupError> {
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
    pub(crate) async fn fetch_and_unpack(
        &self,
        stored: &Stored,
        key: &BackupKey,
        work: &Work,
        into: &Path,
        durable: bool,
    ) -> Result<archive::Manifest, BackupError> {
        let file = work.path().join(&stored.name);
        let written = self.target.written(stored).await?;
        self.target.fetch(&stored.name, &file).await?;
        tracing::debug!(archive = %stored.name, "backup: archive fetched back");
        let identity = key.identity().clone();
        let (into, name) = (into.to_path_buf(), stored.name.clone());
        background::run(move || {
            if let Some(written) = &written {
                let (sha256, bytes) = snapshot::digest_file(&file)?;
                written.check(&name, bytes, &sha256)?;
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
