//! The office's access to the web pages and the booking API: sign-in by an emailed
//! magic link (purpose "admin", 15 minutes, single use) that becomes a session cookie,
//! and booking-API keys. Only hashes of session secrets and keys are stored.

use chrono::{DateTime, Duration, Utc};
use jada_core::link::Purpose;
use jada_core::{Email, Event};
use jada_store::{ApiKey, Session, Store, StoreError};
use sha2::{Digest, Sha256};

use crate::dispatch::Links;
use crate::mail::{Mail, MailError, Mailer};

/// A sign-in link works this long.
pub const LINK_LIFETIME: i64 = 15;

/// Hex of SHA-256: how secrets are looked up without being stored.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn is_user(users: &[String], email: &str) -> bool {
    users.iter().any(|u| u.eq_ignore_ascii_case(email.trim()))
}

/// Queues a sign-in link for `email` if it is an office user (the outbox mails it, see
/// [`SignInMailer`]); says nothing either way, so the form cannot be used to learn who is
/// one. Returns whether a link was queued (for logs).
pub async fn request_link(
    store: &dyn Store,
    users: &[String],
    email: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if !is_user(users, email) {
        tracing::info!("a sign-in link was asked for an address that is not an office user");
        return Ok(false);
    }
    let Ok(email) = Email::parse(email) else {
        return Ok(false);
    };
    store.enqueue_event(&Event::SignInRequested { email }, now).await?;
    Ok(true)
}

/// A sign-in link for `email`, made now: it works once, for [`LINK_LIFETIME`] minutes.
/// The one way a link is made, mailed or printed (`jada office link`).
pub fn sign_in_link(links: &Links, email: &Email, now: DateTime<Utc>) -> String {
    let token = links.token(email.as_str(), Purpose::Admin, now);
    format!("{}/office/auth/{token}", links.public_url)
}

/// Whether `email` may sign in (`[office] users`), as the sign-in form checks it.
pub fn may_sign_in(users: &[String], email: &str) -> bool {
    is_user(users, email)
}

/// Mails a sign-in link (made now, valid for [`LINK_LIFETIME`] minutes) to `email`.
pub async fn send_link(
    links: &Links,
    mailer: &dyn Mailer,
    sender: &str,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<String, MailError> {
    let url = sign_in_link(links, email, now);
    let mail = Mail {
        from: sender.to_string(),
        to: vec![email.to_string()],
        subject: "Your jada sign-in link".into(),
        body: format!(
            "Open this link to sign in to jada (it works once, for {LINK_LIFETIME} minutes):\n{url}\n\nIf you did not ask to sign in, ignore this message.\n"
        ),
        ..Mail::default()
    };
    mailer.send(&mail).await
}

/// The outbox consumer of `office.sign_in`: sends each requested link. A mail that
/// fails is retried with backoff and then parked as a dead letter, which alerts the
/// operator; the visitor has long been told "check your mail".
pub struct SignInMailer {
    pub dispatcher: std::sync::Arc<crate::dispatch::Dispatcher>,
    pub mailer: std::sync::Arc<dyn Mailer>,
    pub sender: String,
    pub clock: std::sync::Arc<dyn jada_core::Clock>,
}

#[async_trait::async_trait]
impl crate::events::EventHandler for SignInMailer {
    async fn handle_batch(&self, events: &[Event]) -> Result<(), crate::events::HandlerError> {
        for e in events {
            if let Event::SignInRequested { email } = e {
                send_link(
                    &self.dispatcher.links,
                    self.mailer.as_ref(),
                    &self.sender,
                    email,
                    self.clock.now(),
                )
                .await
                .map_err(|e| {
                    let why = format!("cannot mail a sign-in link: {e}");
                    if jada_core::Fault::needs_reauth(&e).is_some() {
                        crate::events::HandlerError::Blocked(why)
                    } else {
                        crate::events::HandlerError::Retry(why)
                    }
                })?;
            }
        }
        Ok(())
    }
}

/// Why a sign-in link was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("this sign-in link is not valid")]
    Invalid,
    #[error("this sign-in link has expired (they work for {LINK_LIFETIME} minutes)")]
    Expired,
    #[error("this sign-in link was used already (each works once)")]
    Used,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new session: the cookie's secret (given to the browser only) and its record.
pub struct NewSession {
    pub secret: String,
    pub session: Session,
}

/// Redeems a sign-in link for a session of `hours`.
pub async fn redeem(
    store: &dyn Store,
    links: &Links,
    users: &[String],
    token: &str,
    hours: i64,
    now: DateTime<Utc>,
) -> Result<NewSession, SignInError> {
    let claims = links.verify(token, now).map_err(|_| SignInError::Invalid)?;
    if claims.purpose != Purpose::Admin || !is_user(users, &claims.subject) {
        return Err(SignInError::Invalid);
    }
    if claims.older_than(Duration::minutes(LINK_LIFETIME), now) {
        return Err(SignInError::Expired);
    }
    let nonce = hex::encode(claims.nonce);
    if !store.use_link_nonce(&nonce, now).await? {
        return Err(SignInError::Used);
    }
    let secret = random_hex();
    let session = Session {
        token_hash: digest(&secret),
        email: claims.subject,
        created_at: now,
        expires_at: now + Duration::hours(hours),
    };
    store.create_session(&session).await?;
    Ok(NewSession { secret, session })
}

/// The live session for a cookie's secret, while its person is still one of `users`:
/// checked on every request, so someone removed from `[office] users` is out at their
/// next click (their session is deleted then), whatever they signed in with before.
pub async fn session(
    store: &dyn Store,
    users: &[String],
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Option<Session>, StoreError> {
    if secret.len() != 64 {
        return Ok(None);
    }
    let hash = digest(secret);
    match store.get_session(&hash, now).await? {
        Some(s) if is_user(users, &s.email) => Ok(Some(s)),
        Some(s) => {
            tracing::info!(email = %s.email, "a session of someone no longer an office user was refused and ended");
            store.delete_session(&hash).await?;
            Ok(None)
        }
        None => Ok(None),
    }
}

/// The CSRF token for a session's forms: derived from its secret, so it needs no storage
/// and a page from another site cannot know it.
pub fn csrf_token(secret: &str) -> String {
    digest(&format!("csrf:{secret}"))
}

/// Makes a booking-API key named `name`; returns the key, which is shown once.
pub async fn create_api_key(
    store: &dyn Store,
    name: &str,
    mcp_read_only: bool,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let key = format!("jada_{}", random_hex());
    store
        .create_api_key(&ApiKey {
            name: name.to_string(),
            key_hash: digest(&key),
            created_at: now,
            revoked_at: None,
            mcp_read_only,
        })
        .await?;
    Ok(key)
}

/// The live (not revoked) key a bearer token names.
pub async fn check_api_key(store: &dyn Store, key: &str) -> Result<Option<ApiKey>, StoreError> {
    if !key.starts_with("jada_") {
        return Ok(None);
    }
    Ok(store
        .find_api_key(&digest(key))
        .await?
        .filter(|k| k.revoked_at.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jada_store::sqlite::SqliteStore;
    use jada_store::AccessStore;

    #[tokio::test]
    async fn a_sign_in_link_works_once_for_fifteen_minutes_and_only_for_users() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("jada.db")).unwrap();
        let now: DateTime<Utc> = "2024-05-01T10:00:00Z".parse().unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let links = Links::load_or_create(&dir.path().join("keys.json"), "http://x", now).unwrap();
        let users = vec!["Office@Example.com".to_string()];
        let outbox = crate::mail::EmlOutbox {
            dir: dir.path().join("outbox"),
        };
        use jada_store::OutboxStore;
        assert!(!request_link(&store, &users, "stranger@example.com", now).await.unwrap());
        assert!(request_link(&store, &users, "office@example.com", now).await.unwrap());
        let queued = store.list_events(jada_store::EventStatus::Pending, 10).await.unwrap();
        assert_eq!(queued.len(), 1, "only the user's link is queued");
        let email = Email::parse("office@example.com").unwrap();
        send_link(&links, &outbox, "jada@example.com", &email, now)
            .await
            .unwrap();
        assert_eq!(std::fs::read_dir(dir.path().join("outbox")).unwrap().count(), 1);

        let token = links.token("office@example.com", Purpose::Admin, now);
        let late = now + Duration::minutes(16);
        assert!(matches!(
            redeem(&store, &links, &users, &token, 12, late).await,
            Err(SignInError::Expired)
        ));
        let s = redeem(&store, &links, &users, &token, 12, now + Duration::minutes(5))
            .await
            .unwrap();
        assert!(matches!(
            redeem(&store, &links, &users, &token, 12, now).await,
            Err(SignInError::Used)
        ));
        let found = session(&store, &users, &s.secret, now).await.unwrap().unwrap();
        assert_eq!(found.email, "office@example.com");
        // Someone taken off the list is out, and their session with them.
        assert!(session(&store, &[], &s.secret, now).await.unwrap().is_none());
        assert!(session(&store, &users, &s.secret, now).await.unwrap().is_none());
        let s = redeem(
            &store,
            &links,
            &users,
            &links.token("office@example.com", Purpose::Admin, now),
            12,
            now,
        )
        .await
        .unwrap();
        assert!(session(&store, &users, &s.secret, now + Duration::hours(13))
            .await
            .unwrap()
            .is_none());
        // A crew link is not a sign-in link; a user removed from the list cannot sign in.
        let crew = links.token("ann", Purpose::Schedule, now);
        assert!(matches!(
            redeem(&store, &links, &users, &crew, 12, now).await,
            Err(SignInError::Invalid)
        ));
        let other = links.token("office@example.com", Purpose::Admin, now);
        assert!(matches!(
            redeem(&store, &links, &[], &other, 12, now).await,
            Err(SignInError::Invalid)
        ));
    }

    #[tokio::test]
    async fn api_keys_are_stored_hashed_and_revocable() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("jada.db")).unwrap();
        let now = Utc::now();
        let key = create_api_key(&store, "site", false, now).await.unwrap();
        assert!(store
            .list_api_keys()
            .await
            .unwrap()
            .iter()
            .all(|k| k.key_hash != key && !k.key_hash.contains(&key[5..])));
        assert_eq!(check_api_key(&store, &key).await.unwrap().unwrap().name, "site");
        assert!(check_api_key(&store, "jada_nope").await.unwrap().is_none());
        store.revoke_api_key("site", now).await.unwrap();
        assert!(check_api_key(&store, &key).await.unwrap().is_none());
    }
}
