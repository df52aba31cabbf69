//! The office's web access in `jada-ops`: sessions (with a TTL), used sign-in link
//! nonces (a conditional put: a link works once), and booking-API keys (the name is
//! claimed in the same transaction as the key, so names stay unique).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jada_store::{AccessStore, ApiKey, Result, Session, StoreError};

use crate::docs::{Change, Index, Query, Tx};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::records::{KeyNameDoc, NonceDoc, SharedDoc};
use crate::DynamoStore;

#[async_trait]
impl AccessStore for DynamoStore {
    async fn create_session(&self, session: &Session) -> Result<()> {
        self.put_doc(session, None).await?;
        Ok(())
    }

    async fn get_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        Ok(self
            .get_doc::<Session>(&format!("SESSION#{token_hash}"), "SESSION")
            .await?
            .map(|d| d.value)
            .filter(|s| s.expires_at > now))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.delete_doc(&format!("SESSION#{token_hash}"), "SESSION").await
    }

    async fn use_link_nonce(&self, nonce: &str, now: DateTime<Utc>) -> Result<bool> {
        let doc = NonceDoc {
            nonce: nonce.into(),
            used_at: now,
        };
        self.put_doc(&doc, Some("")).await
    }

    async fn create_api_key(&self, key: &ApiKey) -> Result<()> {
        let claim = KeyNameDoc {
            name: key.name.clone(),
            key_hash: key.key_hash.clone(),
        };
        let mut tx = Tx::new(self);
        tx.put(&claim, Some(""))?;
        tx.put(key, Some(""))?;
        match tx.commit().await? {
            None => Ok(()),
            Some(_) => Err(StoreError::ApiKeyExists(key.name.clone())),
        }
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        Ok(self
            .get_doc::<ApiKey>(&format!("APIKEY#{key_hash}"), "APIKEY")
            .await?
            .map(|d| d.value))
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        self.query_values(&Query::on(Index::Gsi(1), "APIKEYS")).await
    }

    async fn revoke_api_key(&self, name: &str, now: DateTime<Utc>) -> Result<bool> {
        let Some(claim) = self
            .get_doc::<KeyNameDoc>(&format!("APIKEYNAME#{name}"), "APIKEYNAME")
            .await?
        else {
            return Ok(false);
        };
        self.change::<ApiKey, bool, _>(&format!("APIKEY#{}", claim.value.key_hash), "APIKEY", |cur| match cur {
            Some(mut k) if k.revoked_at.is_none() => {
                k.revoked_at = Some(now);
                Ok(Change::Write(k, true))
            }
            _ => Ok(Change::Keep(false)),
        })
        .await
    }

    async fn get_shared(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match self.get_doc::<SharedDoc>("SHARED", name).await? {
            Some(d) => decode(&d.value.value).map(Some),
            None => Ok(None),
        }
    }

    async fn swap_shared(&self, name: &str, expected: Option<&[u8]>, value: &[u8]) -> Result<bool> {
        let current = self.get_doc::<SharedDoc>("SHARED", name).await?;
        let (stored, tok) = match &current {
            Some(d) => (Some(decode(&d.value.value)?), d.tok.as_str()),
            None => (None, ""),
        };
        if stored.as_deref() != expected {
            return Ok(false);
        }
        let doc = SharedDoc {
            name: name.into(),
            value: BASE64.encode(value),
        };
        self.put_doc(&doc, Some(tok)).await
    }
}

fn decode(text: &str) -> Result<Vec<u8>> {
    BASE64.decode(text).map_err(|e| StoreError::Corrupt {
        what: "shared document",
        detail: e.to_string(),
    })
}
