//! The token cache file, `unified-token.json`: one entry per credential, readable by
//! other programs on the host (with the same user) that want a token without asking
//! Google again. Written atomically and privately; a damaged file is reported and
//! rebuilt, never a crash.
//!
//! ```json
//! {"version": 1, "credentials": {"workspace": {"access_token": "ya29...", "token_type": "Bearer",
//!   "expires_at": "2024-05-03T17:00:00Z", "scopes": ["https://..."], "account": "sync@..."}}}
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::secret_files::write_private_atomic;

/// One cached token. (`Debug` is safe: `SecretString` prints as redacted.)
#[derive(Clone, Debug)]
pub struct CacheEntry {
    pub access_token: SecretString,
    pub expires_at: DateTime<Utc>,
    pub scopes: Vec<String>,
    pub account: String,
}

#[derive(Serialize, Deserialize)]
struct FileEntry {
    access_token: String,
    token_type: String,
    expires_at: DateTime<Utc>,
    scopes: Vec<String>,
    account: String,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    credentials: BTreeMap<String, FileEntry>,
}

/// Reads the cache. A missing file is an empty cache; a damaged one is an `Err` with a
/// description (never its contents), and the caller carries on with an empty cache.
pub fn read(path: &Path) -> Result<BTreeMap<String, CacheEntry>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let file: CacheFile = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "{} is damaged (line {}, column {}); it will be rebuilt",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    Ok(file
        .credentials
        .into_iter()
        .map(|(name, e)| {
            let entry = CacheEntry {
                access_token: SecretString::from(e.access_token),
                expires_at: e.expires_at,
                scopes: e.scopes,
                account: e.account,
            };
            (name, entry)
        })
        .collect())
}

/// Replaces one credential's entry, keeping the others (another process may own them).
pub fn write_entry(path: &Path, name: &str, entry: &CacheEntry) -> std::io::Result<()> {
    let mut entries = read(path).unwrap_or_default();
    entries.insert(name.to_string(), entry.clone());
    write_all(path, &entries)
}

/// Writes the whole cache.
pub fn write_all(path: &Path, entries: &BTreeMap<String, CacheEntry>) -> std::io::Result<()> {
    let file = CacheFile {
        version: 1,
        credentials: entries
            .iter()
            .map(|(name, e)| {
                let fe = FileEntry {
                    access_token: e.access_token.expose_secret().to_string(),
                    token_type: "Bearer".into(),
                    expires_at: e.expires_at,
                    scopes: e.scopes.clone(),
                    account: e.account.clone(),
                };
                (name.clone(), fe)
            })
            .collect(),
    };
    let bytes = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
    write_private_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(token: &str) -> CacheEntry {
        CacheEntry {
            access_token: SecretString::from(token.to_string()),
            expires_at: "2024-05-03T17:00:00Z".parse().unwrap(),
            scopes: vec!["s".into()],
            account: "a@example.com".into(),
        }
    }

    #[test]
    fn entries_merge_and_damage_is_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("unified-token.json");
        assert!(read(&p).unwrap().is_empty());
        write_entry(&p, "a", &entry("t1")).unwrap();
        write_entry(&p, "b", &entry("t2")).unwrap();
        let got = read(&p).unwrap();
        assert_eq!(got.keys().collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(got["b"].access_token.expose_secret(), "t2");

        std::fs::write(&p, "{\"version\": 1, \"credentials\": {\"a\": {\"access_tok").unwrap();
        let err = read(&p).unwrap_err();
        assert!(err.contains("damaged") && !err.contains("t1"), "{err}");
        write_entry(&p, "c", &entry("t3")).unwrap();
        assert_eq!(
            read(&p).unwrap().len(),
            1,
            "a damaged cache is rebuilt from what is known"
        );
    }
}
