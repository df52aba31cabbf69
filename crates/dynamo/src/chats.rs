//! Chat threads in the business's `charter-chats` table: one item per message, key
//! `charter_id` (S) + `created_at` (S, ISO 8601), with `author` and `body` (S).
//!
//! jada also writes `message_id`, `kind` and `author_kind`/`author_id` (who exactly
//! wrote it). A message the old scripts wrote reads as a note by an office user named by
//! its `author`. Two messages in the same microsecond get `created_at` `...Z#<order>`, so
//! the key stays unique and the thread keeps the order they were appended in.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use jada_core::{CharterId, ChatAuthor, ChatKind, ChatMessage, CrewId};
use jada_store::{CharterStore, ChatStore, Result, StoreError};

use crate::docs::Tx;
use crate::records::seq;
use crate::wire::{get_s, parse_ts, s, ts, Item, Op};
use crate::DynamoStore;

fn kind_of(s: &str) -> Option<ChatKind> {
    [ChatKind::Offer, ChatKind::Reply, ChatKind::Note, ChatKind::Status]
        .into_iter()
        .find(|k| k.as_str() == s)
}

pub(crate) fn read_message(item: &Item) -> std::result::Result<ChatMessage, String> {
    let id = get_s(item, "charter_id").unwrap_or("?");
    let created = get_s(item, "created_at").unwrap_or("?");
    let bad = |attr: &str, why: &str| format!("charter_id={id} created_at={created}: attribute `{attr}` {why}");
    let charter_id = CharterId::parse(id).map_err(|e| bad("charter_id", &e.0))?;
    // Our own tie-breaker follows a `#`; the instant is before it.
    let instant = created.split('#').next().unwrap_or(created);
    let posted_at = parse_ts(instant).ok_or_else(|| bad("created_at", "is not an ISO 8601 instant"))?;
    let author_text = get_s(item, "author").unwrap_or("unknown");
    let author = match (get_s(item, "author_kind"), get_s(item, "author_id")) {
        (Some("system"), _) => ChatAuthor::System,
        (Some("crew"), Some(c)) => ChatAuthor::Crew(CrewId::parse(c).map_err(|e| bad("author_id", &e.0))?),
        (Some("operator"), Some(who)) => ChatAuthor::Operator(who.to_string()),
        _ => ChatAuthor::Operator(author_text.to_string()),
    };
    let message_id = get_s(item, "message_id")
        .and_then(|m| uuid::Uuid::parse_str(m).ok())
        // An old message has no id of ours: derive a stable one from its key.
        .unwrap_or_else(|| uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("{id}/{created}").as_bytes()));
    Ok(ChatMessage {
        message_id,
        charter_id,
        posted_at,
        author,
        kind: get_s(item, "kind").and_then(kind_of).unwrap_or(ChatKind::Note),
        body: get_s(item, "body").unwrap_or_default().to_string(),
    })
}

impl DynamoStore {
    fn chats_op(&self, action: &'static str) -> Op<'_> {
        Op::new(action, &self.tables.chats)
    }

    /// The transaction item that appends a message (never over an existing one).
    pub(crate) fn chat_put(&self, m: &ChatMessage) -> Result<TransactWriteItem> {
        let (kind, author_id) = match &m.author {
            ChatAuthor::System => ("system", None),
            ChatAuthor::Crew(c) => ("crew", Some(c.as_str().to_string())),
            ChatAuthor::Operator(who) => ("operator", Some(who.clone())),
        };
        let mut put = Put::builder()
            .table_name(&self.tables.chats)
            .item("charter_id", s(m.charter_id.to_string()))
            .item("created_at", s(format!("{}#{}", ts(m.posted_at), seq())))
            .item("author", s(m.author.to_string()))
            .item("body", s(&m.body))
            .item("message_id", s(m.message_id.to_string()))
            .item("kind", s(m.kind.as_str()))
            .item("author_kind", s(kind))
            .condition_expression("attribute_not_exists(created_at)");
        if let Some(a) = author_id {
            put = put.item("author_id", s(a));
        }
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(crate::wire::built)?)
            .build())
    }
}

#[async_trait]
impl ChatStore for DynamoStore {
    async fn append_chat(&self, message: &ChatMessage) -> Result<()> {
        if self.get_charter(message.charter_id).await?.is_none() {
            return Err(StoreError::CharterNotFound(message.charter_id));
        }
        let mut tx = Tx::new(self);
        tx.push(self.chat_put(message)?);
        match tx.commit().await? {
            None => Ok(()),
            Some(codes) => Err(StoreError::Backend(
                format!("a chat message's key was taken ({}); try again", codes.join(", ")).into(),
            )),
        }
    }

    async fn list_chat(&self, charter: CharterId) -> Result<Vec<ChatMessage>> {
        let pages = self
            .client
            .query()
            .table_name(&self.tables.chats)
            .key_condition_expression("charter_id = :id")
            .expression_attribute_values(":id", s(charter.to_string()))
            .consistent_read(true)
            .into_paginator();
        let mut out = Vec::new();
        for item in crate::wire::drain(pages.items().send(), None, self.chats_op("Query")).await? {
            match read_message(&item) {
                Ok(m) => out.push((get_s(&item, "created_at").unwrap_or_default().to_string(), m)),
                Err(why) => tracing::warn!(table = %self.tables.chats, "skipped an unreadable chat message: {why}"),
            }
        }
        // By instant, then by key (the old scripts' text formats vary; the instant decides).
        out.sort_by(|(ka, a), (kb, b)| (a.posted_at, ka).cmp(&(b.posted_at, kb)));
        Ok(out.into_iter().map(|(_, m)| m).collect())
    }
}
