//! Credential health records in SQLite, one JSON document per credential.

use async_trait::async_trait;
use jada_core::CredentialState;
use rusqlite::{params, OptionalExtension};

use super::{corrupt, SqliteStore};
use crate::{CredentialStateStore, Result, StoreError};

#[async_trait]
impl CredentialStateStore for SqliteStore {
    async fn put_credential_state(&self, state: &CredentialState) -> Result<()> {
        let json = serde_json::to_string(state).map_err(|e| StoreError::Backend(Box::new(e)))?;
        let name = state.name.clone();
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO credential_states (name, state) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET state = excluded.state",
                params![name, json],
            )?;
            Ok(())
        })
        .await
    }

    async fn get_credential_state(&self, name: &str) -> Result<Option<CredentialState>> {
        let name = name.to_string();
        self.call(move |conn| {
            let json: Option<String> = conn
                .query_row("SELECT state FROM credential_states WHERE name = ?1", [&name], |r| {
                    r.get(0)
                })
                .optional()?;
            json.map(|j| parse(&j)).transpose()
        })
        .await
    }

    async fn list_credential_states(&self) -> Result<Vec<CredentialState>> {
        self.call(|conn| {
            let mut stmt = conn.prepare_cached("SELECT state FROM credential_states ORDER BY name")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.map(|j| parse(&j?)).collect()
        })
        .await
    }
}

fn parse(json: &str) -> Result<CredentialState> {
    serde_json::from_str(json).map_err(|e| corrupt("credential state", e.to_string()))
}
