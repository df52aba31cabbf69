//! Office sessions, single-use links and API keys.

use super::t;
use crate::{ApiKey, Session, Store, StoreError};

pub async fn sessions_links_and_api_keys(s: &impl Store) {
    let now = t("2024-05-01T10:00:00Z");
    let session = Session {
        token_hash: "h1".into(),
        email: "office@example.com".into(),
        created_at: now,
        expires_at: t("2024-05-01T22:00:00Z"),
    };
    s.create_session(&session).await.unwrap();
    assert_eq!(s.get_session("h1", now).await.unwrap(), Some(session.clone()));
    assert_eq!(
        s.get_session("h1", t("2024-05-01T22:00:00Z")).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(s.get_session("nope", now).await.unwrap(), None);
    s.delete_session("h1").await.unwrap();
    assert_eq!(s.get_session("h1", now).await.unwrap(), None, "signed out");

    assert!(s.use_link_nonce("n1", now).await.unwrap());
    assert!(!s.use_link_nonce("n1", now).await.unwrap(), "a link works once");
    assert!(s.use_link_nonce("n2", now).await.unwrap());

    let key = ApiKey {
        name: "booking-site".into(),
        key_hash: "k1".into(),
        created_at: now,
        revoked_at: None,
        mcp_read_only: false,
    };
    s.create_api_key(&key).await.unwrap();
    // A read-only MCP key reads back as one (the scope is what limits its tools).
    let reader = ApiKey {
        name: "desk-assistant".into(),
        key_hash: "k3".into(),
        mcp_read_only: true,
        ..key.clone()
    };
    s.create_api_key(&reader).await.unwrap();
    assert_eq!(s.find_api_key("k3").await.unwrap(), Some(reader));
    assert!(
        matches!(s.create_api_key(&ApiKey { key_hash: "k2".into(), ..key.clone() }).await, Err(StoreError::ApiKeyExists(n)) if n == "booking-site")
    );
    assert_eq!(s.find_api_key("k1").await.unwrap(), Some(key.clone()));
    assert_eq!(s.find_api_key("k2").await.unwrap(), None);
    let later = t("2024-05-02T10:00:00Z");
    assert!(s.revoke_api_key("booking-site", later).await.unwrap());
    assert!(!s.revoke_api_key("booking-site", later).await.unwrap(), "revoked once");
    assert!(!s.revoke_api_key("nobody", later).await.unwrap());
    assert_eq!(s.find_api_key("k1").await.unwrap().unwrap().revoked_at, Some(later));
    assert_eq!(s.list_api_keys().await.unwrap().len(), 2);
}

pub async fn shared_documents_change_only_from_what_was_read(s: &impl Store) {
    assert_eq!(s.get_shared("link-keys").await.unwrap(), None);
    assert!(
        !s.swap_shared("link-keys", Some(b"old"), b"v1").await.unwrap(),
        "nothing to swap from"
    );
    assert!(s.swap_shared("link-keys", None, b"v1").await.unwrap());
    assert!(
        !s.swap_shared("link-keys", None, b"v1 again").await.unwrap(),
        "created once"
    );
    assert_eq!(s.get_shared("link-keys").await.unwrap().as_deref(), Some(&b"v1"[..]));
    assert!(!s.swap_shared("link-keys", Some(b"stale"), b"v2").await.unwrap());
    assert!(s.swap_shared("link-keys", Some(b"v1"), &[0, 255, 7]).await.unwrap());
    assert_eq!(
        s.get_shared("link-keys").await.unwrap(),
        Some(vec![0, 255, 7]),
        "bytes, not text"
    );
    assert_eq!(s.get_shared("other").await.unwrap(), None);
}
