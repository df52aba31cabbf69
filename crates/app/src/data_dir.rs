//! The data directory's layout (the operator's contract): `jada.db`, `secrets/` (0700),
//! `outbox/` (mail as .eml), `reports/`, `statements/<YYYY-MM>/` (the crew statements sent).

use std::path::{Path, PathBuf};

/// Held by the one `jada serve` of a data directory (an exclusive `flock` on
/// `daemon.lock`, released by the kernel when the process ends, however it ends).
#[derive(Debug)]
pub struct DaemonLock {
    _file: std::fs::File,
    /// `daemon.json`, written once the daemon listens, removed when the lock is dropped.
    announced: std::cell::OnceCell<PathBuf>,
}

impl DaemonLock {
    /// Tells the CLI where this daemon listens: `daemon.json` (`pid`, `addr`, and the
    /// `office_users` it lets sign in, which `serve --demo` widens) in the data directory,
    /// trusted only while the lock is held.
    pub fn announce(&self, dir: &DataDir, addr: std::net::SocketAddr, office_users: &[String]) -> std::io::Result<()> {
        let path = dir.root.join("daemon.json");
        let body =
            serde_json::json!({"pid": std::process::id(), "addr": addr.to_string(), "office_users": office_users});
        jada_google::secret_files::write_private_atomic(&path, body.to_string().as_bytes())?;
        let _ = self.announced.set(path);
        Ok(())
    }
}

impl Drop for DaemonLock {
    fn drop(&mut self) {
        if let Some(p) = self.announced.get() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Why a `daemon.json` is not to be trusted, if it is not: see [`DataDir::running_daemon`].
fn trusted(lock: &std::fs::File, json: &Path, pid: u32) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid cannot fail and touches no memory.
    let me = unsafe { libc::geteuid() };
    let lock_meta = lock.metadata().map_err(|e| format!("daemon.lock: {e}"))?;
    for (what, m) in [
        ("daemon.lock", lock_meta.clone()),
        (
            "daemon.json",
            std::fs::metadata(json).map_err(|e| format!("daemon.json: {e}"))?,
        ),
    ] {
        if m.uid() != me {
            return Err(format!("{what} belongs to uid {}, not to this user ({me})", m.uid()));
        }
        if m.mode() & 0o022 != 0 {
            return Err(format!("{what} is writable by others (mode {:o})", m.mode() & 0o777));
        }
    }
    let holder = lock_holder(lock_meta.ino()).ok_or("no process holds daemon.lock in /proc/locks")?;
    if holder != pid {
        return Err(format!("daemon.json names pid {pid}, but pid {holder} holds the lock"));
    }
    let owner = std::fs::metadata(format!("/proc/{pid}"))
        .map_err(|e| format!("pid {pid}: {e}"))?
        .uid();
    if owner != me {
        return Err(format!("pid {pid} runs as uid {owner}, not as this user ({me})"));
    }
    Ok(())
}

/// The pid holding the flock on the file with inode `ino`, from `/proc/locks`
/// (`1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF`).
fn lock_holder(ino: u64) -> Option<u32> {
    let text = std::fs::read_to_string("/proc/locks").ok()?;
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (kind, pid, dev_ino) = (f.get(1)?, f.get(4)?, f.get(5)?);
        let file_ino: u64 = dev_ino.rsplit(':').next()?.parse().ok()?;
        (*kind == "FLOCK" && file_ino == ino)
            .then(|| pid.parse().ok())
            .flatten()
    })
}

/// The daemon running on a data directory, as it announced itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningDaemon {
    pub pid: u32,
    pub addr: std::net::SocketAddr,
    /// Who it lets sign in to the office pages.
    pub office_users: Vec<String>,
}

impl RunningDaemon {
    /// Its URL, reached through loopback when it listens on every address.
    pub fn url(&self) -> String {
        local_url(self.addr)
    }
}

/// The URL a local client reaches a listen address at: a wildcard address through
/// loopback.
pub fn local_url(listen: std::net::SocketAddr) -> String {
    let addr = if listen.ip().is_unspecified() {
        std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), listen.port())
    } else {
        listen
    };
    format!("http://{addr}")
}

/// Another daemon holds the data directory.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another `jada serve` is already running on the data directory {dir}{pid}: two daemons on one SQLite file would run every job twice; stop it first, or give this one its own --data-dir")]
    Taken { dir: String, pid: String },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

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

    /// Takes the data directory for this daemon, or says which process has it. The
    /// lock file keeps the holder's pid, for the message.
    pub fn lock_daemon(&self) -> Result<DaemonLock, LockError> {
        use std::io::{Read, Seek, Write};
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::io::AsRawFd;
        let path = self.root.join("daemon.lock");
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        // Private (0600 whatever the umask): a lock others could open, they could hold.
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a file descriptor we own; it cannot corrupt memory.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let mut held = String::new();
            let _ = file.read_to_string(&mut held);
            let pid = held.trim();
            return Err(LockError::Taken {
                dir: self.root.display().to_string(),
                pid: if pid.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {pid})")
                },
            });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(DaemonLock {
            _file: file,
            announced: std::cell::OnceCell::new(),
        })
    }

    /// Refuses a data directory every user may write in (they could plant a database, a
    /// daemon.json, mail to be sent), naming the `chmod`; one others may read is said in
    /// the log (the database holds the crew's phones, the outbox live sign-in links).
    pub fn check_private(&self) -> Result<(), String> {
        use std::os::unix::fs::MetadataExt;
        let Ok(m) = std::fs::metadata(&self.root) else {
            return Ok(());
        };
        let mode = m.mode() & 0o777;
        let dir = self.root.display();
        if mode & 0o002 != 0 {
            return Err(format!(
                "refusing the data directory {dir}: every user may write in it (mode {mode:o}); run `chmod 700 {dir}`"
            ));
        }
        if mode & 0o064 != 0 {
            tracing::warn!(
                "the data directory {dir} is open to others (mode {mode:o}): it holds the crew's contacts and live sign-in links; run `chmod 700 {dir}`"
            );
        }
        Ok(())
    }

    /// Takes group and other bits off everything in the data directory that this user
    /// owns (the owner's bits are kept: 0755 -> 0700, 0644 -> 0600):
    /// what an older jada or another tool wrote under a loose umask. Files jada writes
    /// today are private already. Symbolic links, other users' files and `secrets/` (a loose
    /// secret is refused by every command that reads it, for a person to look at) are
    /// left alone.
    /// Returns what it changed (`path: 0644 -> 0600`).
    pub fn tighten(&self) -> std::io::Result<Vec<String>> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        let mut changed = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(path) = stack.pop() {
            let meta = std::fs::symlink_metadata(&path)?;
            // A loose secret is refused, not quietly mended: it may have been read, and the
            // person who runs jada must know (`jada auth harden` after looking).
            if meta.file_type().is_symlink() || meta.uid() != me || path == self.secrets() {
                continue;
            }
            let old = meta.mode() & 0o777;
            let new = old & 0o700;
            if old != new {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(new))?;
                changed.push(format!("{}: {old:04o} -> {new:04o}", path.display()));
            }
            if meta.is_dir() {
                for entry in std::fs::read_dir(&path)? {
                    stack.push(entry?.path());
                }
            }
        }
        changed.sort();
        Ok(changed)
    }

    /// The daemon running here, if one holds the lock and said where it listens.
    pub fn running_daemon(&self) -> Option<RunningDaemon> {
        use std::os::unix::io::AsRawFd;
        let lock = std::fs::File::open(self.root.join("daemon.lock")).ok()?;
        // SAFETY: flock on a file descriptor we own. A shared lock we can take means no
        // daemon holds the exclusive one (and ours is released when `lock` is dropped).
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0 {
            return None;
        }
        let json = self.root.join("daemon.json");
        let text = std::fs::read_to_string(&json).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let pid = v["pid"].as_u64()? as u32;
        // Trusted only when it cannot have been planted: the lock and daemon.json are this
        // user's and private, and the process holding the lock is the pid named, running
        // as this user. Anything else gets no admin token and no link.
        if let Err(why) = trusted(&lock, &json, pid) {
            tracing::warn!(data_dir = %self.root.display(), %why, "not trusting this data directory's daemon.json");
            return None;
        }
        Some(RunningDaemon {
            pid,
            addr: v["addr"].as_str()?.parse().ok()?,
            office_users: v["office_users"]
                .as_array()
                .map(|a| a.iter().filter_map(|u| u.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
        })
    }

    /// Creates the directory and its parts if missing. A new `secrets/` is made 0700;
    /// an existing one is left as it is (checking it is the token service's job).
    pub fn ensure(&self) -> Result<(), DataDirError> {
        let err = |dir: &Path| {
            let path = dir.display().to_string();
            move |source| DataDirError { path, source }
        };
        // Every part private (0700), explicitly rather than through the umask: the
        // database holds the crew's phones and the outbox live sign-in links.
        for dir in [self.root.clone(), self.outbox(), self.reports(), self.secrets()] {
            jada_google::secret_files::create_private_dir_all(&dir).map_err(err(&dir))?;
        }
        Ok(())
    }
}
