//! The magic-link keys: `secrets/link-keys.json` (0600), made on first use. Rotating
//! keeps the old key verifying for a grace period, so links already sent keep working.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use jada_core::link::{self, Claims, KeyRing, LinkError, LinkKey, Purpose};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct StoredKey {
    id: String,
    /// Hex of 32 random bytes.
    secret: String,
    created_at: DateTime<Utc>,
    /// Set when rotated out: the key verifies until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verifies_until: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    current: StoredKey,
    #[serde(default)]
    previous: Vec<StoredKey>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read the link keys {path}: {detail}; restore it from backup, or move it away to make new keys (links already sent stop working)")]
    Read { path: String, detail: String },
    #[error("cannot write the link keys {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The keys (which also sign office sign-in links) are readable by other users.
    #[error(transparent)]
    Permissions(#[from] jada_google::secret_files::LoosePermissions),
}

/// Signs and verifies links with the ring from the key file.
#[derive(Debug, Clone)]
pub struct Links {
    pub ring: KeyRing,
    /// Links start with this (`[server] public_url`).
    pub public_url: String,
}

fn new_key(n: usize, now: DateTime<Utc>) -> StoredKey {
    StoredKey {
        id: format!("k{n}"),
        secret: hex::encode(rand::random::<[u8; 32]>()),
        created_at: now,
        verifies_until: None,
    }
}

fn read(path: &Path) -> Result<Option<KeyFile>, KeyFileError> {
    let err = |detail: String| KeyFileError::Read {
        path: path.display().to_string(),
        detail,
    };
    // Anyone who can read the keys can forge crew links and office sign-ins.
    jada_google::secret_files::check_secret(path)?;
    match std::fs::read(path) {
        Ok(bytes) => parse(&bytes, &path.display().to_string()).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(e.to_string())),
    }
}

fn parse(bytes: &[u8], origin: &str) -> Result<KeyFile, KeyFileError> {
    serde_json::from_slice(bytes).map_err(|e| KeyFileError::Read {
        path: origin.to_string(),
        detail: e.to_string(),
    })
}

fn text(f: &KeyFile) -> Vec<u8> {
    serde_json::to_vec_pretty(f).expect("key file serialises")
}

fn write(path: &Path, f: &KeyFile) -> Result<(), KeyFileError> {
    let bytes = text(f);
    jada_google::secret_files::write_private_atomic(path, &bytes).map_err(|source| KeyFileError::Write {
        path: path.display().to_string(),
        source,
    })
}

fn ring_of(f: &KeyFile, origin: &str) -> Result<KeyRing, KeyFileError> {
    let key = |k: &StoredKey| {
        hex::decode(&k.secret)
            .ok()
            .filter(|s| s.len() >= 32)
            .map(|secret| LinkKey {
                id: k.id.clone(),
                secret,
            })
            .ok_or_else(|| KeyFileError::Read {
                path: origin.to_string(),
                detail: format!("key `{}` is not 64 hex digits", k.id),
            })
    };
    Ok(KeyRing {
        current: key(&f.current)?,
        previous: f
            .previous
            .iter()
            .map(|k| Ok((key(k)?, k.verifies_until.unwrap_or(k.created_at))))
            .collect::<Result<_, KeyFileError>>()?,
    })
}

/// Makes a new current key; the old one verifies for `grace`; keys past their grace go.
fn rotate_in(f: &mut KeyFile, grace: Duration, now: DateTime<Utc>) -> String {
    let n = std::iter::once(&f.current)
        .chain(&f.previous)
        .filter_map(|k| k.id.strip_prefix('k').and_then(|n| n.parse::<usize>().ok()))
        .max()
        .unwrap_or(0)
        + 1;
    let mut old = std::mem::replace(&mut f.current, new_key(n, now));
    old.verifies_until = Some(now + grace);
    f.previous.retain(|k| k.verifies_until.is_some_and(|t| t > now));
    f.previous.push(old);
    f.current.id.clone()
}

/// The key file's path in a secrets directory.
pub fn key_file(secrets: &Path) -> PathBuf {
    secrets.join("link-keys.json")
}

impl Links {
    /// Loads the keys, making the file (0600) with a new key on first use.
    pub fn load_or_create(path: &Path, public_url: &str, now: DateTime<Utc>) -> Result<Links, KeyFileError> {
        let file = match read(path)? {
            Some(f) => f,
            None => {
                let f = KeyFile {
                    current: new_key(1, now),
                    previous: vec![],
                };
                write(path, &f)?;
                f
            }
        };
        Ok(Links {
            ring: ring_of(&file, &path.display().to_string())?,
            public_url: public_url.trim_end_matches('/').to_string(),
        })
    }

    /// A new ring of one key, as the text [`Links::from_text`] reads (for a ring kept
    /// elsewhere than a file: in the store, shared by several daemons).
    pub fn new_text(now: DateTime<Utc>) -> Vec<u8> {
        text(&KeyFile {
            current: new_key(1, now),
            previous: vec![],
        })
    }

    /// The links of a ring's text; `origin` names where it came from, for errors.
    pub fn from_text(bytes: &[u8], origin: &str, public_url: &str) -> Result<Links, KeyFileError> {
        Ok(Links {
            ring: ring_of(&parse(bytes, origin)?, origin)?,
            public_url: public_url.trim_end_matches('/').to_string(),
        })
    }

    /// A ring's text after [`Links::rotate`]'s change, and the new key's id.
    pub fn rotated_text(
        bytes: &[u8],
        origin: &str,
        grace: Duration,
        now: DateTime<Utc>,
    ) -> Result<(Vec<u8>, String), KeyFileError> {
        let mut f = parse(bytes, origin)?;
        let id = rotate_in(&mut f, grace, now);
        Ok((text(&f), id))
    }

    /// Makes a new current key; the old one verifies for `grace`, and keys whose grace
    /// has ended are dropped. Returns the new key's id.
    pub fn rotate(path: &Path, grace: Duration, now: DateTime<Utc>) -> Result<String, KeyFileError> {
        let Some(mut f) = read(path)? else {
            write(
                path,
                &KeyFile {
                    current: new_key(1, now),
                    previous: vec![],
                },
            )?;
            return Ok("k1".into());
        };
        let id = rotate_in(&mut f, grace, now);
        write(path, &f)?;
        Ok(id)
    }

    /// A token for `subject` and `purpose`, with a fresh random nonce.
    pub fn token(&self, subject: &str, purpose: Purpose, now: DateTime<Utc>) -> String {
        link::sign(&self.ring, subject, purpose, now, rand::random())
    }

    /// The crew page URL for a token.
    pub fn url(&self, token: &str) -> String {
        format!("{}/c/{token}", self.public_url)
    }

    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, LinkError> {
        link::verify(&self.ring, token, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn loose_keys_or_a_loose_directory_are_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        std::fs::create_dir(&secrets).unwrap();
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = key_file(&secrets);
        let now: DateTime<Utc> = "2024-06-01T00:00:00Z".parse().unwrap();
        Links::load_or_create(&path, "https://jada.example.com", now).unwrap();

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Links::load_or_create(&path, "https://jada.example.com", now)
            .err()
            .unwrap();
        assert!(matches!(err, KeyFileError::Permissions(_)), "{err}");
        assert!(
            err.to_string().contains(&format!("chmod 600 {}", path.display())),
            "{err}"
        );

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = Links::load_or_create(&path, "https://jada.example.com", now)
            .err()
            .unwrap();
        assert!(
            err.to_string().contains(&format!("chmod 700 {}", secrets.display())),
            "{err}"
        );
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(Links::load_or_create(&path, "https://jada.example.com", now).is_ok());
    }

    #[test]
    fn keys_are_made_once_private_and_rotate_with_grace() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = key_file(dir.path());
        let now: DateTime<Utc> = "2024-06-01T00:00:00Z".parse().unwrap();
        let a = Links::load_or_create(&path, "https://jada.example.com/", now).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let b = Links::load_or_create(&path, "https://jada.example.com", now).unwrap();
        assert_eq!(a.ring.current.secret, b.ring.current.secret, "made once");
        let token = a.token("ana-m", Purpose::Schedule, now);
        assert!(a.url(&token).starts_with("https://jada.example.com/c/"));

        assert_eq!(Links::rotate(&path, Duration::days(7), now).unwrap(), "k2");
        let c = Links::load_or_create(&path, "https://x", now).unwrap();
        assert_eq!(c.verify(&token, now + Duration::days(6)).unwrap().key_id, "k1");
        assert_eq!(c.verify(&token, now + Duration::days(7)), Err(LinkError::Retired));
        // A third rotation after the grace drops k1 altogether.
        Links::rotate(&path, Duration::days(7), now + Duration::days(8)).unwrap();
        let d = Links::load_or_create(&path, "https://x", now).unwrap();
        assert_eq!(d.ring.current.id, "k3");
        assert_eq!(d.ring.previous.len(), 1);

        std::fs::write(&path, "{").unwrap();
        let err = Links::load_or_create(&path, "https://x", now).unwrap_err().to_string();
        assert!(err.contains("link-keys.json") && err.contains("restore it"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{",
            "a damaged file is left for the operator"
        );
    }
}
