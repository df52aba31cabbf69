//! The data directory's layout (the operator's contract): `jada.db`, `secrets/` (0700),
//! `outbox/` (mail as .eml), `reports/`, `statements/<YYYY-MM>/` (the crew statements sent).

use std::path::{Path, PathBuf};

/// The data directory (or a part of it) could not be made.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot create the data directory {path}: {source}; pass --data-dir (or set JADA_DATA_DIR) to a writable folder"
)]
pub struct DataDirError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn db(&self) -> PathBuf {
        self.root.join("jada.db")
    }

    pub fn secrets(&self) -> PathBuf {
        self.root.join("secrets")
    }

    pub fn outbox(&self) -> PathBuf {
        self.root.join("outbox")
    }

    pub fn reports(&self) -> PathBuf {
        self.root.join("reports")
    }

    pub fn statements(&self) -> PathBuf {
        self.root.join("statements")
    }

    /// Creates the directory and its parts if missing. A new `secrets/` is made 0700;
    /// an existing one is left as it is (checking it is the token service's job).
    pub fn ensure(&self) -> Result<(), DataDirError> {
        let err = |dir: &Path| {
            let path = dir.display().to_string();
            move |source| DataDirError { path, source }
        };
        for dir in [self.root.clone(), self.outbox(), self.reports()] {
            std::fs::create_dir_all(&dir).map_err(err(&dir))?;
        }
        let secrets = self.secrets();
        if !secrets.exists() {
            create_private_dir(&secrets).map_err(err(&secrets))?;
        }
        Ok(())
    }
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(path)
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir(path)
}
