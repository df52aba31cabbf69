//! Magic links: signed tokens in the URLs sent to crew (an offer, their schedule) and
//! office users (sign-in). A token is seven base64url segments joined by dots:
//!
//! ```text
//! version . key id . subject . issued-at . purpose . nonce . HMAC-SHA256(the six before)
//! ```
//!
//! The MAC covers the encoded text, so changing any byte of any segment breaks it; the
//! key id lets keys rotate (the previous key keeps verifying for a grace period). Checks
//! are constant time (`hmac`'s `verify_slice`). How long a token lives depends on its
//! purpose, so [`verify`] checks the signature and the key, and the caller checks the
//! age or the offer's deadline. The random nonce comes from the caller: this crate does
//! no I/O.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

const VERSION: &str = "1";

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Answer this offer.
    Offer(Uuid),
    /// The crew member's own schedule page.
    Schedule,
    /// An office user's sign-in.
    Admin,
}

impl Purpose {
    fn encode(&self) -> String {
        match self {
            Purpose::Offer(id) => format!("offer:{id}"),
            Purpose::Schedule => "schedule".into(),
            Purpose::Admin => "admin".into(),
        }
    }

    fn decode(s: &str) -> Option<Purpose> {
        match s {
            "schedule" => Some(Purpose::Schedule),
            "admin" => Some(Purpose::Admin),
            _ => s
                .strip_prefix("offer:")
                .and_then(|id| Uuid::parse_str(id).ok())
                .map(Purpose::Offer),
        }
    }
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// A crew id, or an office user's email.
    pub subject: String,
    pub issued_at: DateTime<Utc>,
    pub purpose: Purpose,
    pub nonce: [u8; 16],
    /// The key that signed it.
    pub key_id: String,
}

impl Claims {
    /// Whether the token is older than `max_age` at `now`.
    pub fn older_than(&self, max_age: Duration, now: DateTime<Utc>) -> bool {
        now - self.issued_at > max_age
    }
}

/// A signing key.
#[derive(Clone)]
pub struct LinkKey {
    pub id: String,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkKey").field("id", &self.id).finish_non_exhaustive()
    }
}

/// The current key and the retired ones still inside their grace period.
#[derive(Debug, Clone)]
pub struct KeyRing {
    pub current: LinkKey,
    /// Retired keys and when they stop verifying.
    pub previous: Vec<(LinkKey, DateTime<Utc>)>,
}

/// Why a token was refused. The page shown for each never says whether a crew id exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is damaged or incomplete")]
    Malformed,
    #[error("the link was not made by this office, or was altered")]
    Tampered,
    #[error("the link was signed with a key that has been retired")]
    Retired,
}

fn mac(key: &LinkKey, signed: &str) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(&key.secret).expect("HMAC takes any key length");
    m.update(signed.as_bytes());
    m
}

/// Makes a token with the ring's current key.
pub fn sign(ring: &KeyRing, subject: &str, purpose: Purpose, issued_at: DateTime<Utc>, nonce: [u8; 16]) -> String {
    let key = &ring.current;
    let parts = [
        B64.encode(VERSION),
        B64.encode(&key.id),
        B64.encode(subject),
        B64.encode(issued_at.timestamp().to_string()),
        B64.encode(purpose.encode()),
        B64.encode(nonce),
    ];
    let signed = parts.join(".");
    let tag = mac(key, &signed).finalize().into_bytes();
    format!("{signed}.{}", B64.encode(tag))
}

/// Checks a token's form, key and signature (in constant time) and returns its claims.
pub fn verify(ring: &KeyRing, token: &str, now: DateTime<Utc>) -> Result<Claims, LinkError> {
    let segments: Vec<&str> = token.split('.').collect();
    let [version, kid, subject, iat, purpose, nonce, tag] = segments[..] else {
        return Err(LinkError::Malformed);
    };
    let text = |s: &str| -> Result<String, LinkError> {
        let bytes = B64.decode(s).map_err(|_| LinkError::Malformed)?;
        String::from_utf8(bytes).map_err(|_| LinkError::Malformed)
    };
    if text(version)? != VERSION {
        return Err(LinkError::Malformed);
    }
    let key_id = text(kid)?;
    let key = if ring.current.id == key_id {
        &ring.current
    } else {
        match ring.previous.iter().find(|(k, _)| k.id == key_id) {
            Some((k, until)) if now < *until => k,
            Some(_) => return Err(LinkError::Retired),
            None => return Err(LinkError::Tampered),
        }
    };
    let tag = B64.decode(tag).map_err(|_| LinkError::Malformed)?;
    let signed_len = token.len() - segments[6].len() - 1;
    mac(key, &token[..signed_len])
        .verify_slice(&tag)
        .map_err(|_| LinkError::Tampered)?;
    // Signed by us: what follows can only fail for a token we made with a bug.
    let issued = text(iat)?.parse::<i64>().map_err(|_| LinkError::Malformed)?;
    Ok(Claims {
        subject: text(subject)?,
        issued_at: Utc.timestamp_opt(issued, 0).single().ok_or(LinkError::Malformed)?,
        purpose: Purpose::decode(&text(purpose)?).ok_or(LinkError::Malformed)?,
        nonce: B64
            .decode(nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or(LinkError::Malformed)?,
        key_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing {
            current: LinkKey {
                id: "k2".into(),
                secret: vec![7; 32],
            },
            previous: vec![(
                LinkKey {
                    id: "k1".into(),
                    secret: vec![9; 32],
                },
                t("2024-06-10T00:00:00Z"),
            )],
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn token() -> String {
        let offer = Uuid::from_u128(42);
        sign(
            &ring(),
            "ana-m",
            Purpose::Offer(offer),
            t("2024-06-01T10:00:00Z"),
            [3; 16],
        )
    }

    #[test]
    fn a_token_round_trips() {
        let c = verify(&ring(), &token(), t("2024-06-01T11:00:00Z")).unwrap();
        assert_eq!(c.subject, "ana-m");
        assert_eq!(c.purpose, Purpose::Offer(Uuid::from_u128(42)));
        assert_eq!(c.issued_at, t("2024-06-01T10:00:00Z"));
        assert_eq!(c.key_id, "k2");
        assert!(!c.older_than(Duration::hours(2), t("2024-06-01T11:00:00Z")));
        assert!(c.older_than(Duration::hours(2), t("2024-06-01T12:00:01Z")));
        assert!(token()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
    }

    #[test]
    fn every_single_byte_change_and_every_truncation_is_refused() {
        let good = token();
        let now = t("2024-06-01T11:00:00Z");
        let bytes = good.as_bytes();
        for i in 0..bytes.len() {
            for b in 0u8..=255 {
                if b == bytes[i] {
                    continue;
                }
                let mut changed = bytes.to_vec();
                changed[i] = b;
                let Ok(s) = String::from_utf8(changed) else { continue };
                assert!(verify(&ring(), &s, now).is_err(), "byte {i} -> {b} accepted: {s}");
            }
        }
        for n in 0..bytes.len() {
            assert!(verify(&ring(), &good[..n], now).is_err(), "truncated to {n} accepted");
        }
        assert!(verify(&ring(), &format!("{good}x"), now).is_err());
        assert!(verify(&ring(), &format!("{good}.x"), now).is_err());
    }

    #[test]
    fn an_old_key_verifies_during_its_grace_period_only() {
        let old = KeyRing {
            current: ring().previous[0].0.clone(),
            previous: vec![],
        };
        let token = sign(&old, "ana-m", Purpose::Schedule, t("2024-06-01T00:00:00Z"), [1; 16]);
        assert_eq!(verify(&ring(), &token, t("2024-06-09T23:59:59Z")).unwrap().key_id, "k1");
        assert_eq!(
            verify(&ring(), &token, t("2024-06-10T00:00:00Z")),
            Err(LinkError::Retired)
        );
        let unknown = KeyRing {
            current: LinkKey {
                id: "k9".into(),
                secret: vec![1; 32],
            },
            previous: vec![],
        };
        let forged = sign(&unknown, "ana-m", Purpose::Admin, t("2024-06-01T00:00:00Z"), [1; 16]);
        assert_eq!(
            verify(&ring(), &forged, t("2024-06-02T00:00:00Z")),
            Err(LinkError::Tampered)
        );
        // The right key id with the wrong secret.
        let wrong = KeyRing {
            current: LinkKey {
                id: "k2".into(),
                secret: vec![8; 32],
            },
            previous: vec![],
        };
        let forged = sign(&wrong, "ana-m", Purpose::Admin, t("2024-06-01T00:00:00Z"), [1; 16]);
        assert_eq!(
            verify(&ring(), &forged, t("2024-06-02T00:00:00Z")),
            Err(LinkError::Tampered)
        );
    }
}
