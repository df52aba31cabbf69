//! One backup archive: a tar of `manifest.json`, `jada.db` and the data directory's
//! irreplaceable files (by their paths in it), gzipped, then encrypted with age to the
//! backup key. Without jada: `age -d -i backup-key ARCHIVE | tar xz -C NEWDIR` gives a
//! data directory jada starts on.

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::background::Gentle;
use crate::snapshot::digest_file;
use crate::BackupError;

/// The manifest's format, refused when it is not this one.
pub const FORMAT: &str = "jada-backup/1";
const MANIFEST: &str = "manifest.json";
/// The database's path in the archive, as in a data directory.
pub const DATABASE: &str = "jada.db";
/// The configuration file's path in the archive (and in a restored directory).
pub const CONFIG: &str = "config/jada.toml";

/// What an archive holds, written first in it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub jada_version: String,
    /// Rows per table of the store at the moment of the snapshot.
    pub counts: BTreeMap<String, u64>,
    /// A digest of the business data (every row but the daemon's bookkeeping) and of every
    /// file: equal between two backups when nothing changed.
    pub fingerprint: String,
    /// Every file in the archive but this manifest, with its length and SHA-256.
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

impl Manifest {
    /// The manifest of a snapshot (`db`) and the files (`(path in archive, file)`).
    pub fn new(
        id: &str,
        at: DateTime<Utc>,
        counts: BTreeMap<String, u64>,
        content: &str,
        db: &Path,
        files: &[(String, PathBuf)],
    ) -> Result<Manifest, BackupError> {
        let (sha, bytes) = digest_file(db)?;
        let mut entries = vec![FileEntry {
            path: DATABASE.into(),
            bytes,
            sha256: sha,
        }];
        let mut fingerprint = Sha256::new();
        fingerprint.update(content.as_bytes());
        for (path, file) in files {
            let (sha256, bytes) = digest_file(file)?;
            fingerprint.update(path.as_bytes());
            fingerprint.update(sha256.as_bytes());
            entries.push(FileEntry {
                path: path.clone(),
                bytes,
                sha256,
            });
        }
        Ok(Manifest {
            format: FORMAT.into(),
            id: id.into(),
            created_at: at,
            jada_version: env!("CARGO_PKG_VERSION").into(),
            counts,
            fingerprint: hex::encode(fingerprint.finalize()),
            files: entries,
        })
    }
}

/// Writes the archive to `out` (a new file): returns its length and SHA-256.
pub fn write(
    out: &Path,
    manifest: &Manifest,
    db: &Path,
    files: &[(String, PathBuf)],
    recipient: &age::x25519::Recipient,
) -> Result<(u64, String), BackupError> {
    let io = |e| BackupError::io(out, e);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(io)?;
    let hashing = HashingWriter::new(BufWriter::new(file));
    let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
        .map_err(|e| BackupError::Damaged(format!("cannot encrypt to the backup key: {e}")))?;
    let encrypted = encryptor.wrap_output(hashing).map_err(io)?;
    let gz = flate2::write::GzEncoder::new(encrypted, flate2::Compression::default());
    let mut tar = tar::Builder::new(Gentle::new(gz));
    let json = serde_json::to_vec_pretty(manifest).expect("a manifest serialises");
    append_bytes(&mut tar, MANIFEST, &json, manifest.created_at).map_err(io)?;
    tar.append_path_with_name(db, DATABASE).map_err(io)?;
    for (path, file) in files {
        tar.append_path_with_name(file, path).map_err(io)?;
    }
    let gz = tar.into_inner().map_err(io)?.into_inner();
    let encrypted = gz.finish().map_err(io)?;
    let mut hashing = encrypted.finish().map_err(io)?;
    hashing.flush().map_err(io)?;
    let (inner, len, sha) = hashing.done();
    // Not synced: this is the scratch copy; the target syncs (or checks) its own.
    inner.into_inner().map_err(|e| io(e.into_error()))?;
    Ok((len, sha))
}

fn append_bytes<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    bytes: &[u8],
    at: DateTime<Utc>,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(at.timestamp().max(0) as u64);
    header.set_cksum();
    tar.append_data(&mut header, path, bytes)
}

/// Opens `archive` with the key into `into` (an empty private directory), checks every
/// file against the manifest, and returns the manifest. Nothing outside `into` is written.
/// `durable`: each file synced to disk (a restore), or left to the page cache (a scratch
/// directory that is checked and removed).
pub fn unpack(
    archive: &Path,
    identity: &age::x25519::Identity,
    into: &Path,
    durable: bool,
) -> Result<Manifest, BackupError> {
    let name = archive.display().to_string();
    let file = std::fs::File::open(archive).map_err(|e| BackupError::io(archive, e))?;
    let decryptor = age::Decryptor::new_buffered(BufReader::new(file)).map_err(|e| refused(&name, e))?;
    let plain = decryptor
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .map_err(|e| refused(&name, e))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(plain));
    let damaged = |why: String| BackupError::Damaged(format!("{name}: {why}"));
    let mut manifest: Option<Manifest> = None;
    let mut seen = BTreeMap::new();
    for entry in tar.entries().map_err(|e| damaged(read_error(e)))? {
        let mut entry = entry.map_err(|e| damaged(read_error(e)))?;
        let path = entry.path().map_err(|e| damaged(read_error(e)))?.into_owned();
        let rel = safe_path(&path).ok_or_else(|| damaged(format!("an unsafe path in it: {}", path.display())))?;
        if !entry.header().entry_type().is_file() {
            return Err(damaged(format!("{} is not a plain file", path.display())));
        }
        if rel == MANIFEST {
            let mut json = Vec::new();
            entry.read_to_end(&mut json).map_err(|e| damaged(read_error(e)))?;
            let m: Manifest =
                serde_json::from_slice(&json).map_err(|e| damaged(format!("its manifest is not readable: {e}")))?;
            if m.format != FORMAT {
                return Err(damaged(format!(
                    "its format is `{}`, and this jada reads `{FORMAT}`: restore it with the jada version that wrote it ({})",
                    m.format, m.jada_version
                )));
            }
            manifest = Some(m);
            continue;
        }
        let dest = into.join(&rel);
        if let Some(dir) = dest.parent() {
            jada_google::secret_files::create_private_dir_all(dir).map_err(|e| BackupError::io(dir, e))?;
        }
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&dest)
            .map_err(|e| BackupError::io(&dest, e))?;
        let mut hashing = HashingWriter::new(Gentle::new(&mut out));
        std::io::copy(&mut entry, &mut hashing).map_err(|e| damaged(read_error(e)))?;
        let (_, bytes, sha) = hashing.done();
        if durable {
            out.sync_all().map_err(|e| BackupError::io(&dest, e))?;
        }
        seen.insert(rel, (bytes, sha));
    }
    let manifest = manifest.ok_or_else(|| damaged("it has no manifest.json".into()))?;
    for f in &manifest.files {
        match seen.remove(&f.path) {
            Some((bytes, sha)) if bytes == f.bytes && sha == f.sha256 => {}
            Some(_) => return Err(damaged(format!("{} differs from its manifest entry", f.path))),
            None => return Err(damaged(format!("{} is missing from it", f.path))),
        }
    }
    if let Some(extra) = seen.keys().next() {
        return Err(damaged(format!("{extra} is in it but not in its manifest")));
    }
    Ok(manifest)
}

/// A path inside the archive as a relative path of normal parts, or `None`.
fn safe_path(path: &Path) -> Option<String> {
    let ok = path.components().all(|c| matches!(c, Component::Normal(_)));
    (ok && path.components().next().is_some()).then(|| path.to_string_lossy().into_owned())
}

/// Why age refused an archive, as the operator can act on it.
fn refused(name: &str, e: age::DecryptError) -> BackupError {
    match e {
        age::DecryptError::NoMatchingKeys => BackupError::WrongKey { archive: name.into() },
        age::DecryptError::Io(e) => BackupError::Damaged(format!("{name}: {}", read_error(e))),
        other => BackupError::Damaged(format!("{name}: not a readable age archive ({other})")),
    }
}

/// A read failure inside the encrypted stream: age reports a truncated or altered chunk as
/// an I/O error; say which it is.
fn read_error(e: std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "it is truncated (it ends before its last block)".into(),
        std::io::ErrorKind::InvalidData => format!("it was altered or is damaged ({e})"),
        _ => format!("cannot read it: {e}"),
    }
}

/// A writer that counts and hashes what passes through it.
struct HashingWriter<W> {
    inner: W,
    digest: Sha256,
    len: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            digest: Sha256::new(),
            len: 0,
        }
    }

    fn done(self) -> (W, u64, String) {
        (self.inner, self.len, hex::encode(self.digest.finalize()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digest.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
