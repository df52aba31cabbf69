//! Files that hold secrets — credential files, the token cache, the link-signing keys,
//! the admin token, the LLM key — and the one permission rule for them: written
//! atomically with mode 0600 in a 0700 directory (the rule every file jada writes in its
//! data directory follows too: mail, reports, statements, daemon.json, whatever the umask), and checked the way OpenSSH checks keys
//! before they are trusted ([`check_secret`]); a loose one is refused with the `chmod`
//! that fixes it.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A secret file or directory that is not private enough to trust.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refusing to use {path}: {problem}; run `{fix}` (or `jada auth harden`)")]
pub struct LoosePermissions {
    pub path: PathBuf,
    pub problem: String,
    pub fix: String,
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a
/// mix, even if the process is killed mid-write: a temporary file in the same directory
/// (mode 0600), fsync, rename over the target, fsync of the directory.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp.{}.{}", std::process::id(), rand::random::<u32>()));
    let result = (|| {
        let mut f = private_options().open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Creates `dir` and any missing parents as 0700 (explicitly: whatever the umask). An
/// existing directory is left as it is (the checks say when it is too open).
pub fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Removes temporary files that [`write_private_atomic`] left for `path` when a writer
/// was killed mid-write, if older than `age` (a live writer's file is younger).
pub fn remove_stale_temps(path: &Path, age: std::time::Duration) {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let prefix = format!(".{name}.tmp.");
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|e| e > age);
        if stale && entry.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn private_options() -> std::fs::OpenOptions {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o
}

/// Checks that a file holding secrets is readable by its owner only, and owned by the
/// user jada runs as.
pub fn check_private_file(path: &Path) -> Result<(), LoosePermissions> {
    check(path, 0o600, "chmod 600")
}

/// The rule every secret jada reads is held to: its directory open to its owner only
/// (0700) and the file readable by its owner only (0600), both owned by the user jada
/// runs as.
pub fn check_secret(path: &Path) -> Result<(), LoosePermissions> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        check_private_dir(dir)?;
    }
    check_private_file(path)
}

/// Checks that a directory holding secrets is open to its owner only.
pub fn check_private_dir(path: &Path) -> Result<(), LoosePermissions> {
    check(path, 0o700, "chmod 700")
}

#[cfg(unix)]
fn check(path: &Path, _wanted: u32, chmod: &str) -> Result<(), LoosePermissions> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(()); // a missing file is reported by whoever needs it, with its own words
    };
    let mode = meta.mode() & 0o777;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(LoosePermissions {
            path: path.to_path_buf(),
            problem: format!(
                "it is owned by uid {}, not by the user jada runs as (uid {me})",
                meta.uid()
            ),
            fix: format!("chown {me} {}", path.display()),
        });
    }
    if mode & 0o077 != 0 {
        return Err(LoosePermissions {
            path: path.to_path_buf(),
            problem: format!("it is mode {mode:04o}, open to other users"),
            fix: format!("{chmod} {}", path.display()),
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check(_path: &Path, _wanted: u32, _chmod: &str) -> Result<(), LoosePermissions> {
    Ok(())
}

/// Makes a secrets directory 0700 and every file in it 0600. Returns what it changed.
pub fn harden(dir: &Path, extra_files: &[PathBuf]) -> std::io::Result<Vec<String>> {
    let mut changed = Vec::new();
    set_mode(dir, 0o700, &mut changed)?;
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir)? {
            let p = entry?.path();
            if p.is_file() {
                set_mode(&p, 0o600, &mut changed)?;
            }
        }
    }
    for f in extra_files {
        set_mode(f, 0o600, &mut changed)?;
    }
    Ok(changed)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32, changed: &mut Vec<String>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    let old = meta.permissions().mode() & 0o777;
    if old != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        changed.push(format!("{}: {old:04o} -> {mode:04o}", path.display()));
    }
    Ok(())
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32, _changed: &mut Vec<String>) -> std::io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn loose_files_are_refused_with_the_chmod_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("key.json");
        std::fs::write(&f, "{}").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = check_private_file(&f).unwrap_err();
        assert_eq!(err.fix, format!("chmod 600 {}", f.display()));
        assert!(err.to_string().contains("mode 0644"), "{err}");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(check_private_dir(dir.path())
            .unwrap_err()
            .to_string()
            .contains("chmod 700"));

        let changed = harden(dir.path(), &[]).unwrap();
        assert_eq!(changed.len(), 2, "{changed:?}");
        assert!(check_private_file(&f).is_ok());
        assert!(check_private_dir(dir.path()).is_ok());
    }

    #[test]
    fn atomic_writes_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("cache.json");
        write_private_atomic(&f, b"one").unwrap();
        write_private_atomic(&f, b"two").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file is left behind"
        );
    }
}
