//! The backup key: an age X25519 identity in `secrets/backup-key` (0600), in the format
//! `age-keygen` writes, so `age -d -i backup-key ARCHIVE` opens an archive without jada.
//! Archives are encrypted to its public half; the secret half must also be kept off the
//! machine (`jada backup key`), or a dead disk takes the only key with it.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use chrono::{DateTime, Utc};

use crate::BackupError;

/// The key's file name in `secrets/`.
pub const KEY_FILE: &str = "backup-key";

pub struct BackupKey {
    identity: age::x25519::Identity,
    path: PathBuf,
}

impl BackupKey {
    /// The key in `secrets`, made (0600) on first use.
    pub fn load_or_create(secrets: &Path, now: DateTime<Utc>) -> Result<(BackupKey, bool), BackupError> {
        let path = secrets.join(KEY_FILE);
        if path.exists() {
            jada_google::secret_files::check_secret(&path).map_err(|e| BackupError::Key {
                path: path.display().to_string(),
                why: e.to_string(),
            })?;
            return Ok((BackupKey::load(&path)?, false));
        }
        let identity = age::x25519::Identity::generate();
        let text = format!(
            "# jada backup key, created {}\n# public key: {}\n{}\n",
            now.format("%Y-%m-%dT%H:%M:%SZ"),
            identity.to_public(),
            identity.to_string().expose_secret()
        );
        jada_google::secret_files::create_private_dir_all(secrets).map_err(|e| BackupError::io(secrets, e))?;
        jada_google::secret_files::write_private_atomic(&path, text.as_bytes())
            .map_err(|e| BackupError::io(&path, e))?;
        Ok((BackupKey { identity, path }, true))
    }

    /// A key file as `age-keygen` writes it (comments, then `AGE-SECRET-KEY-1...`),
    /// readable by its owner only (`--key FILE` may sit anywhere; the data directory's
    /// own is held to secrets/' rule as well: [`BackupKey::load_or_create`]).
    pub fn load(path: &Path) -> Result<BackupKey, BackupError> {
        jada_google::secret_files::check_private_file(path).map_err(|e| BackupError::Key {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        let text = std::fs::read_to_string(path).map_err(|e| BackupError::io(path, e))?;
        let bad = |why: &str| BackupError::Key {
            path: path.display().to_string(),
            why: why.to_string(),
        };
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .ok_or_else(|| bad("no AGE-SECRET-KEY-1... line in it: is it an age identity file?"))?;
        let identity = age::x25519::Identity::from_str(line)
            .map_err(|_| bad("its AGE-SECRET-KEY-1... line is not a valid key"))?;
        Ok(BackupKey {
            identity,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The public half (`age1...`): what archives are encrypted to.
    pub fn recipient(&self) -> age::x25519::Recipient {
        self.identity.to_public()
    }

    pub fn identity(&self) -> &age::x25519::Identity {
        &self.identity
    }

    /// The secret half, for a person to keep off the machine.
    pub fn secret_text(&self) -> String {
        self.identity.to_string().expose_secret().to_string()
    }
}
