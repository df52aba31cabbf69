//! Export and import of the whole store (`jada store migrate`). Imports keep ids,
//! versions and times, and overwrite what has the same key (or skip what is there), so
//! copying twice changes nothing; the counters are raised to the highest id copied.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use jada_core::CharterId;
use jada_store::transfer::{Kind, Record, TransferStore};
use jada_store::{
    AccessStore, AlertStore, ChatStore, CredentialStateStore, CrewStore, JobRunStore, OfferStore, Result,
    StatementStore, StoreError,
};

use crate::charters::read_charter;
use crate::docs::{Doc, Tx};
use crate::records::{
    ApprovalClaimDoc, CallDoc, EventDoc, InputKeyDoc, KeyNameDoc, MessageDoc, NonceDoc, RunDoc, SessionDoc, SharedDoc,
};
use crate::wire::{conditional, n, s, ts};
use crate::DynamoStore;

/// A sequence number from an instant (for records copied in, which have no insertion
/// order of their own here).
fn seq_of(t: chrono::DateTime<chrono::Utc>) -> String {
    format!("{:020}", t.timestamp_micros().max(0))
}

impl DynamoStore {
    async fn scan_docs<T: crate::docs::Record>(&self, prefix: &str) -> Result<Vec<T>> {
        let mut out = vec![];
        for item in self.scan(&self.tables.ops, Some(prefix)).await? {
            if let Some(Doc { value, .. }) = self.read_doc::<T>(&item)? {
                out.push(value);
            }
        }
        Ok(out)
    }

    /// Raises a counter to at least `at_least`, so new records number after copied ones.
    async fn raise_counter(&self, name: &str, at_least: u64) -> Result<()> {
        let res = self
            .client
            .update_item()
            .table_name(&self.tables.ops)
            .key("pk", s("COUNTER"))
            .key("sk", s(name))
            .update_expression("SET #n = :v")
            .condition_expression("attribute_not_exists(#n) OR #n < :v")
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":v", n(at_least))
            .send()
            .await;
        // A refused condition: the counter is past it already.
        conditional(res, self.ops_op("UpdateItem")).map(|_| ())
    }

    async fn import_charter(&self, c: &jada_core::Charter) -> Result<()> {
        // Keep the sort key an item already has (the old scripts' text), else the charter's.
        let created = match self.current_charter_item(c.charter_id).await? {
            Some((created, _)) => created,
            None => ts(c.created_at),
        };
        let mut tx = Tx::new(self);
        tx.push(self.charter_overwrite(c, &created)?);
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl TransferStore for DynamoStore {
    async fn export_raw(&self, kind: Kind) -> Result<Vec<Record>> {
        Ok(match kind {
            Kind::Charters => {
                let today = self.today();
                let mut newest: HashMap<CharterId, jada_core::Charter> = HashMap::new();
                for item in self.scan(&self.tables.charters, None).await? {
                    match read_charter(&item, today) {
                        Ok(c) => {
                            if newest.get(&c.charter_id).is_none_or(|o| o.created_at < c.created_at) {
                                newest.insert(c.charter_id, c);
                            }
                        }
                        Err(u) => tracing::warn!("not copied, unreadable: {u}"),
                    }
                }
                let mut all: Vec<_> = newest.into_values().collect();
                all.sort_by_key(|c| (c.charter_date, c.start_time, c.charter_id.to_string()));
                all.into_iter().map(Record::Charter).collect()
            }
            Kind::Statements => self
                .scan_docs::<jada_store::SentStatement>("STMT#")
                .await?
                .into_iter()
                .map(Record::Statement)
                .collect(),
            Kind::Sessions => self
                .scan_docs::<jada_store::Session>("SESSION#")
                .await?
                .into_iter()
                .map(Record::Session)
                .collect(),
            Kind::Nonces => self
                .scan_docs::<NonceDoc>("NONCE#")
                .await?
                .into_iter()
                .map(|d| Record::Nonce(d.nonce, d.used_at))
                .collect(),
            other => {
                return Err(StoreError::Backend(
                    format!("{} are listed through the store's traits", other.label()).into(),
                ))
            }
        })
    }

    async fn import(&self, records: &[Record]) -> Result<()> {
        let mut chats_seen: HashMap<CharterId, HashSet<uuid::Uuid>> = HashMap::new();
        let mut highest: HashMap<&'static str, u64> = HashMap::new();
        // Charters not in the table yet go in batches of 25; the others are updated in
        // place (their other attributes kept).
        let mut new = vec![];
        for r in records {
            if let Record::Charter(c) = r {
                if self.current_charter_item(c.charter_id).await?.is_none() {
                    new.push(c.clone());
                }
            }
        }
        self.put_new_charters(&new).await?;
        let fresh: HashSet<CharterId> = new.iter().map(|c| c.charter_id).collect();
        for r in records {
            match r {
                Record::Charter(c) if fresh.contains(&c.charter_id) => {}
                Record::Charter(c) => self.import_charter(c).await?,
                Record::Crew(m) => self.upsert_crew(m).await?,
                Record::Chat(m) => {
                    let seen = match chats_seen.entry(m.charter_id) {
                        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            let have = self.list_chat(m.charter_id).await?;
                            e.insert(have.into_iter().map(|m| m.message_id).collect())
                        }
                    };
                    if seen.insert(m.message_id) {
                        let mut tx = Tx::new(self);
                        tx.push(self.chat_put(m)?);
                        tx.commit().await?;
                    }
                }
                Record::Event(e) => {
                    let doc = EventDoc {
                        event: e.clone(),
                        seq: seq_of(e.created_at),
                        claimed_until: None,
                    };
                    self.put_doc(&doc, None).await?;
                }
                Record::Run(run) => {
                    let doc = RunDoc {
                        run: run.clone(),
                        owner: self.instance.clone(),
                        seq: seq_of(run.started_at),
                    };
                    self.put_doc(&doc, None).await?;
                }
                Record::Check(job, at) => self.record_check(job, *at).await?,
                Record::Credential(c) => self.put_credential_state(c).await?,
                Record::Alert(a) => self.put_alert(a).await?,
                Record::Statement(st) => self.record_statement(st).await?,
                Record::Offer(o) => {
                    self.put_doc(o, None).await?;
                }
                Record::Dispatch(d) => self.put_dispatch(d).await?,
                Record::Session(se) => {
                    self.put_doc(se, None).await?;
                }
                Record::Nonce(nonce, at) => {
                    self.use_link_nonce(nonce, *at).await?;
                }
                Record::ApiKey(k) => {
                    let claim = KeyNameDoc {
                        name: k.name.clone(),
                        key_hash: k.key_hash.clone(),
                    };
                    self.put_doc(&claim, None).await?;
                    self.put_doc(k, None).await?;
                }
                Record::Task(t) => {
                    self.put_doc(t, None).await?;
                    let h = highest.entry("task").or_default();
                    *h = (*h).max(t.id);
                }
                Record::AgentSession(d) => {
                    let id = d.session.id;
                    let claim = InputKeyDoc {
                        input_key: d.session.input_key.clone(),
                        session_id: id,
                    };
                    self.put_doc(&claim, None).await?;
                    for (i, m) in d.messages.iter().enumerate() {
                        let doc = MessageDoc {
                            session_id: id,
                            n: i as u64 + 1,
                            message: m.clone(),
                        };
                        self.put_doc(&doc, None).await?;
                    }
                    for (i, c) in d.tool_calls.iter().enumerate() {
                        let doc = CallDoc {
                            call: c.clone(),
                            seq: format!("{i:020}"),
                        };
                        self.put_doc(&doc, None).await?;
                    }
                    let doc = SessionDoc {
                        session: d.session.clone(),
                        messages: d.messages.len() as u64,
                    };
                    self.put_doc(&doc, None).await?;
                    let h = highest.entry("session").or_default();
                    *h = (*h).max(id);
                }
                Record::Approval(a) => {
                    let claim = ApprovalClaimDoc {
                        session_id: a.session_id,
                        tool_use_id: a.tool_use_id.clone(),
                        approval_id: a.id,
                    };
                    self.put_doc(&claim, None).await?;
                    self.put_doc(a, None).await?;
                    let h = highest.entry("approval").or_default();
                    *h = (*h).max(a.id);
                }
                Record::Shared(name, value) => {
                    use base64::Engine;
                    let doc = SharedDoc {
                        name: name.clone(),
                        value: base64::engine::general_purpose::STANDARD.encode(value),
                    };
                    self.put_doc(&doc, None).await?;
                }
            }
        }
        for (name, max) in highest {
            self.raise_counter(name, max).await?;
        }
        Ok(())
    }
}
