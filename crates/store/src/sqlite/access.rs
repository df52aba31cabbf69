//! Office sessions, used sign-in links and booking-API keys in SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::{parse_ts, ts, SqliteStore};
use crate::{AccessStore, ApiKey, Result, Session, StoreError};

type KeyRow = (String, String, String, Option<String>, bool);

const KEY_COLUMNS: &str = "name, key_hash, created_at, revoked_at, mcp_read_only";

fn read_key(r: &rusqlite::Row) -> rusqlite::Result<KeyRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_key((name, key_hash, created, revoked, mcp_read_only): KeyRow) -> Result<ApiKey> {
    Ok(ApiKey {
        name,
        key_hash,
        created_at: parse_ts("api key created_at", &created)?,
        revoked_at: revoked.map(|r| parse_ts("api key revoked_at", &r)).transpose()?,
        mcp_read_only,
    })
}

#[async_trait]
impl AccessStore for SqliteStore {
    async fn create_session(&self, s: &Session) -> Result<()> {
        let s = s.clone();
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO sessions (token_hash, email, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![s.token_hash, s.email, ts(s.created_at), ts(s.expires_at)],
            )?;
            // Expired sessions are of no use to anyone: sweep them while here.
            conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [ts(s.created_at)])?;
            Ok(())
        })
        .await
    }

    async fn get_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        let hash = token_hash.to_string();
        self.call(move |conn| {
            let row: Option<(String, String, String)> = conn
                .prepare_cached(
                    "SELECT email, created_at, expires_at FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
                )?
                .query_row(params![hash, ts(now)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            row.map(|(email, created, expires)| {
                Ok(Session {
                    token_hash: hash.clone(),
                    email,
                    created_at: parse_ts("session created_at", &created)?,
                    expires_at: parse_ts("session expires_at", &expires)?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let hash = token_hash.to_string();
        self.call(move |conn| {
            conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [hash])?;
            Ok(())
        })
        .await
    }

    async fn use_link_nonce(&self, nonce: &str, now: DateTime<Utc>) -> Result<bool> {
        let nonce = nonce.to_string();
        self.call(move |conn| {
            let n = conn.execute(
                "INSERT INTO used_links (nonce, used_at) VALUES (?1, ?2) ON CONFLICT(nonce) DO NOTHING",
                params![nonce, ts(now)],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn create_api_key(&self, key: &ApiKey) -> Result<()> {
        let k = key.clone();
        self.call(move |conn| {
            let taken = conn
                .query_row("SELECT 1 FROM api_keys WHERE name = ?1", [&k.name], |_| Ok(()))
                .optional()?;
            if taken.is_some() {
                return Err(StoreError::ApiKeyExists(k.name));
            }
            conn.execute(
                "INSERT INTO api_keys (name, key_hash, created_at, revoked_at, mcp_read_only) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![k.name, k.key_hash, ts(k.created_at), k.revoked_at.map(ts), k.mcp_read_only],
            )?;
            Ok(())
        })
        .await
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let hash = key_hash.to_string();
        self.call(move |conn| {
            conn.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?1"))?
                .query_row([hash], read_key)
                .optional()?
                .map(to_key)
                .transpose()
        })
        .await
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY name"))?;
            let rows = stmt.query_map([], read_key)?;
            rows.map(|r| to_key(r?)).collect()
        })
        .await
    }

    async fn revoke_api_key(&self, name: &str, now: DateTime<Utc>) -> Result<bool> {
        let name = name.to_string();
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE api_keys SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
                params![name, ts(now)],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn get_shared(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let name = name.to_string();
        self.call(move |conn| {
            Ok(conn
                .prepare_cached("SELECT value FROM shared_docs WHERE name = ?1")?
                .query_row([name], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    async fn swap_shared(&self, name: &str, expected: Option<&[u8]>, value: &[u8]) -> Result<bool> {
        let (name, expected, value) = (name.to_string(), expected.map(<[u8]>::to_vec), value.to_vec());
        self.call(move |conn| {
            let tx = super::write_tx(conn)?;
            let current: Option<Vec<u8>> = tx
                .prepare_cached("SELECT value FROM shared_docs WHERE name = ?1")?
                .query_row([&name], |r| r.get(0))
                .optional()?;
            if current != expected {
                return Ok(false);
            }
            tx.prepare_cached(
                "INSERT INTO shared_docs (name, value) VALUES (?1, ?2)
                 ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![name, value])?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }
}
