//! What several daemons on one store must share: the link-signing keys. On SQLite they
//! stay in `secrets/link-keys.json`; on DynamoDB they live in the store (shared document
//! `link-keys`), sealed with the store key (AES-256-GCM) so the table never holds them in
//! the clear. The store key comes from `JADA_STORE_KEY` (64 hex digits) or
//! `secrets/store-key` (0600, made on first use): every daemon needs the same one.

use std::future::Future;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use jada_ops::dispatch::links::Links;
use jada_store::Store;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

use crate::AppError;

/// The shared document holding the link keys.
pub const LINK_KEYS: &str = "link-keys";

/// What sealed text starts with (a version, so the format can change).
const MAGIC: &[u8] = b"jada-sealed-1:";

/// The key that seals what daemons share through the store.
pub struct StoreKey {
    key: LessSafeKey,
    /// Where it came from, for messages.
    origin: String,
}

fn shared_error(detail: String) -> AppError {
    AppError::Shared(detail)
}

impl StoreKey {
    /// `JADA_STORE_KEY`, else `secrets/store-key` (made, 0600, when missing).
    pub fn load(secrets: &Path) -> Result<StoreKey, AppError> {
        if let Ok(hex_key) = std::env::var("JADA_STORE_KEY") {
            return StoreKey::from_hex(hex_key.trim(), "JADA_STORE_KEY");
        }
        let path = key_path(secrets);
        if !path.exists() {
            let fresh = hex::encode(rand::random::<[u8; 32]>());
            jada_google::secret_files::write_private_atomic(&path, fresh.as_bytes())
                .map_err(|e| shared_error(format!("cannot write the store key {}: {e}", path.display())))?;
        }
        jada_google::secret_files::check_secret(&path).map_err(|e| shared_error(e.to_string()))?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| shared_error(format!("cannot read the store key {}: {e}", path.display())))?;
        StoreKey::from_hex(text.trim(), &path.display().to_string())
    }

    fn from_hex(text: &str, origin: &str) -> Result<StoreKey, AppError> {
        let bytes = hex::decode(text)
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| shared_error(format!("the store key in {origin} is not 64 hex digits")))?;
        let key = UnboundKey::new(&AES_256_GCM, &bytes).expect("a 32-byte AES-256 key");
        Ok(StoreKey {
            key: LessSafeKey::new(key),
            origin: origin.to_string(),
        })
    }

    /// `plain`, encrypted and authenticated, bound to `name` (a sealed document cannot
    /// be passed off as another).
    pub fn seal(&self, name: &str, plain: &[u8]) -> Vec<u8> {
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let mut body = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(name.as_bytes()),
                &mut body,
            )
            .expect("sealing fits in memory");
        [MAGIC, &nonce_bytes, &body].concat()
    }

    /// The plain text of a sealed `name`; an error that says which key to use when it
    /// was sealed with another.
    pub fn open(&self, name: &str, sealed: &[u8]) -> Result<Vec<u8>, AppError> {
        let refused = || {
            shared_error(format!(
                "the `{name}` kept in the store cannot be opened with the store key from {}: every daemon \
                 on one store needs the same key (copy secrets/store-key from the first daemon, or set \
                 JADA_STORE_KEY to it)",
                self.origin
            ))
        };
        let rest = sealed.strip_prefix(MAGIC).ok_or_else(refused)?;
        if rest.len() < NONCE_LEN {
            return Err(refused());
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(name.as_bytes()), &mut body)
            .map_err(|_| refused())?;
        Ok(plain.to_vec())
    }
}

/// The store key's file in a secrets directory.
pub fn key_path(secrets: &Path) -> PathBuf {
    secrets.join("store-key")
}

/// The link keys kept in the store: read, or made once (the first daemon to get there
/// wins; the others read what it wrote).
pub async fn load_links(
    store: &dyn Store,
    key: &StoreKey,
    public_url: &str,
    now: DateTime<Utc>,
) -> Result<Links, AppError> {
    for _ in 0..5 {
        if let Some(sealed) = store.get_shared(LINK_KEYS).await? {
            let text = key.open(LINK_KEYS, &sealed)?;
            return Ok(Links::from_text(&text, "the store's link keys", public_url)?);
        }
        store
            .swap_shared(LINK_KEYS, None, &key.seal(LINK_KEYS, &Links::new_text(now)))
            .await?;
    }
    Err(shared_error(
        "the link keys in the store kept changing while reading them; try again".into(),
    ))
}

/// Rotates the link keys kept in the store; returns the new key's id.
pub async fn rotate_links(
    store: &dyn Store,
    key: &StoreKey,
    grace: Duration,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    for _ in 0..5 {
        let Some(sealed) = store.get_shared(LINK_KEYS).await? else {
            load_links(store, key, "", now).await?;
            continue;
        };
        let text = key.open(LINK_KEYS, &sealed)?;
        let (next, id) = Links::rotated_text(&text, "the store's link keys", grace, now)?;
        if store
            .swap_shared(LINK_KEYS, Some(&sealed), &key.seal(LINK_KEYS, &next))
            .await?
        {
            return Ok(id);
        }
    }
    Err(shared_error(
        "the link keys in the store kept changing while rotating them; try again".into(),
    ))
}

/// Runs a future to its end from synchronous code that may or may not be inside a
/// runtime: on the current runtime's worker when it has several (so its connections
/// stay with that runtime), else on a thread of its own with its own runtime.
pub fn block_on<F>(fut: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(|| h.block_on(fut)),
        _ => std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for one call")
                    .block_on(fut)
            })
            .join()
            .expect("the call's thread")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_only_with_its_key_and_name() {
        let dir = tempfile::tempdir().unwrap();
        let a = StoreKey::from_hex(&"11".repeat(32), "a").unwrap();
        let b = StoreKey::from_hex(&"22".repeat(32), "b").unwrap();
        let sealed = a.seal("link-keys", b"secret ring");
        assert!(
            !sealed.windows(6).any(|w| w == b"secret"),
            "no plain text in the sealed bytes"
        );
        assert_eq!(a.open("link-keys", &sealed).unwrap(), b"secret ring");
        let err = b.open("link-keys", &sealed).err().unwrap().to_string();
        assert!(err.contains("same key") && err.contains("JADA_STORE_KEY"), "{err}");
        assert!(a.open("other", &sealed).is_err(), "bound to its name");
        assert!(StoreKey::from_hex("abc", "x").is_err());
        // Made on first use, 0600, and the same key the next time.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let k1 = StoreKey::load(dir.path()).unwrap();
        let k2 = StoreKey::load(dir.path()).unwrap();
        assert_eq!(k2.open("n", &k1.seal("n", b"x")).unwrap(), b"x");
        let mode = std::fs::metadata(key_path(dir.path())).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
