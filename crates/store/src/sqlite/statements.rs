//! Sent monthly statements in SQLite: one row per (month, key).

use async_trait::async_trait;
use jada_core::Month;
use rusqlite::params;

use super::{corrupt, parse_ts, ts, SqliteStore};
use crate::{Result, SentStatement, StatementStore};

#[async_trait]
impl StatementStore for SqliteStore {
    async fn record_statement(&self, sent: &SentStatement) -> Result<()> {
        let s = sent.clone();
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO statements (month, key, recipient, message_id, sent_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(month, key) DO UPDATE SET recipient = excluded.recipient,
                     message_id = excluded.message_id, sent_at = excluded.sent_at",
                params![s.month.to_string(), s.key, s.recipient, s.message_id, ts(s.sent_at)],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_statements(&self, month: Month) -> Result<Vec<SentStatement>> {
        self.call(move |conn| {
            let mut stmt = conn
                .prepare("SELECT key, recipient, message_id, sent_at FROM statements WHERE month = ?1 ORDER BY key")?;
            let rows = stmt.query_map([month.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?))
            })?;
            rows.map(|row| {
                let (key, recipient, message_id, at) = row?;
                if key.is_empty() {
                    return Err(corrupt("statement", "empty key"));
                }
                Ok(SentStatement {
                    month,
                    key,
                    recipient,
                    message_id,
                    sent_at: parse_ts("statement sent_at", &at)?,
                })
            })
            .collect()
        })
        .await
    }
}
