//! Leases and alert records in SQLite.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::{corrupt, ts, SqliteStore};
use crate::{AlertRecord, AlertStatus, AlertStore, LeaseStore, Result, StoreError};

#[async_trait]
impl LeaseStore for SqliteStore {
    async fn try_acquire_lease(&self, name: &str, owner: &str, now: DateTime<Utc>, ttl: Duration) -> Result<bool> {
        let until = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let (name, owner) = (name.to_string(), owner.to_string());
        self.call(move |conn| {
            // One statement: insert, or take over an expired lease, or renew our own.
            let n = conn.execute(
                "INSERT INTO leases (name, owner, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                 WHERE leases.expires_at <= ?4 OR leases.owner = excluded.owner",
                params![name, owner, ts(until), ts(now)],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.call(move |conn| {
            conn.execute(
                "DELETE FROM leases WHERE name = ?1 AND owner = ?2",
                params![name, owner],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_leases(&self) -> Result<Vec<(String, String, DateTime<Utc>)>> {
        self.call(move |conn| {
            let mut stmt = conn.prepare("SELECT name, owner, expires_at FROM leases ORDER BY name")?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })?;
            rows.map(|row| {
                let (name, owner, at) = row?;
                Ok((name, owner, super::parse_ts("lease expires_at", &at)?))
            })
            .collect()
        })
        .await
    }
}

#[async_trait]
impl AlertStore for SqliteStore {
    async fn get_alert(&self, key: &str) -> Result<Option<AlertRecord>> {
        let key = key.to_string();
        self.call(move |conn| {
            let json: Option<String> = conn
                .query_row("SELECT record FROM alerts WHERE key = ?1", [key], |r| r.get(0))
                .optional()?;
            json.map(|j| parse(&j)).transpose()
        })
        .await
    }

    async fn put_alert(&self, alert: &AlertRecord) -> Result<()> {
        let json = serde_json::to_string(alert).map_err(|e| StoreError::Backend(Box::new(e)))?;
        let (key, status) = (alert.key.clone(), status_str(alert.status));
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO alerts (key, status, record) VALUES (?1, ?2, ?3)
                 ON CONFLICT(key) DO UPDATE SET status = excluded.status, record = excluded.record",
                params![key, status, json],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_alerts(&self) -> Result<Vec<AlertRecord>> {
        self.call(|conn| {
            let mut stmt = conn.prepare_cached("SELECT record FROM alerts ORDER BY status = 'resolved', key")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.map(|j| parse(&j?)).collect()
        })
        .await
    }
}

fn status_str(s: AlertStatus) -> &'static str {
    match s {
        AlertStatus::Firing => "firing",
        AlertStatus::Resolved => "resolved",
    }
}

fn parse(json: &str) -> Result<AlertRecord> {
    serde_json::from_str(json).map_err(|e| corrupt("alert", e.to_string()))
}
