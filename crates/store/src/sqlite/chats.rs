//! Charter chat threads in SQLite.

use async_trait::async_trait;
use jada_core::{CharterId, ChatKind, ChatMessage};
use rusqlite::{params, OptionalExtension};

use super::{corrupt, parse_ts, ts, SqliteStore};
use crate::{ChatStore, Result, StoreError};

#[async_trait]
impl ChatStore for SqliteStore {
    async fn append_chat(&self, message: &ChatMessage) -> Result<()> {
        let m = message.clone();
        self.call(move |conn| {
            let exists = conn
                .query_row(
                    "SELECT 1 FROM charters WHERE charter_id = ?1",
                    [m.charter_id.to_string()],
                    |_| Ok(()),
                )
                .optional()?;
            if exists.is_none() {
                return Err(StoreError::CharterNotFound(m.charter_id));
            }
            insert_chat(conn, &m)
        })
        .await
    }

    async fn list_chat(&self, charter: CharterId) -> Result<Vec<ChatMessage>> {
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT message_id, posted_at, author, kind, body FROM chat_messages WHERE charter_id = ?1 ORDER BY posted_at, seq",
            )?;
            let rows = stmt.query_map([charter.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?))
            })?;
            rows.map(|row| {
                let (id, posted_at, author, kind, body) = row?;
                Ok(ChatMessage {
                    message_id: id.parse().map_err(|_| corrupt("chat message", format!("id `{id}`")))?,
                    charter_id: charter,
                    posted_at: parse_ts("chat posted_at", &posted_at)?,
                    author: serde_json::from_str(&author).map_err(|e| corrupt("chat message", format!("{id}: author: {e}")))?,
                    kind: serde_json::from_value::<ChatKind>(serde_json::Value::String(kind.clone()))
                        .map_err(|_| corrupt("chat message", format!("{id}: kind `{kind}`")))?,
                    body,
                })
            })
            .collect()
        })
        .await
    }
}

/// Appends a chat message inside the caller's transaction.
pub(super) fn insert_chat(conn: &rusqlite::Connection, m: &ChatMessage) -> Result<()> {
    let author = serde_json::to_string(&m.author).map_err(|e| StoreError::Backend(Box::new(e)))?;
    conn.prepare_cached(
        "INSERT INTO chat_messages (message_id, charter_id, posted_at, author, kind, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![m.message_id.to_string(), m.charter_id.to_string(), ts(m.posted_at), author, m.kind.as_str(), m.body])?;
    Ok(())
}
