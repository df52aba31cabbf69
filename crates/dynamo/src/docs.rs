//! jada's own records in one table (`jada-ops`): each record is one item holding its
//! JSON (`doc`), its key (`pk`, `sk`), the index keys its access patterns need
//! (`gsi1pk`/`gsi1sk` .. `gsi3pk`/`gsi3sk`, present only when the record belongs in that
//! index: sparse indexes), an optional TTL (`expires`, epoch seconds) and a write token
//! (`tok`, fresh on every write).
//!
//! Every change is conditional on the token read (`tok = :old`): optimistic concurrency,
//! so a change is one atomic operation whoever else writes. A write that was applied but
//! whose answer was lost comes back, on the SDK's retry, as a failed condition; the item's
//! token then equals the one we wrote, and that counts as success.

use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, Select, TransactWriteItem};
use jada_store::{Result, StoreError};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::wire::{drain, each_page, failure, get_n, get_s, n, s, token, values, Item, Op};
use crate::DynamoStore;

/// A record's place in the table and its indexes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Place {
    pub pk: String,
    pub sk: String,
    /// Up to three (partition, sort) index keys; `None` leaves the record out of that index.
    pub gsi: [Option<(String, String)>; 3],
    /// When DynamoDB may delete it (epoch seconds). Deletion runs late (and never on a
    /// local test server), so readers still compare the record's own expiry with "now".
    pub expires: Option<i64>,
}

impl Place {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Place {
        Place {
            pk: pk.into(),
            sk: sk.into(),
            ..Place::default()
        }
    }

    pub fn gsi(mut self, i: usize, pk: impl Into<String>, sk: impl Into<String>) -> Place {
        self.gsi[i - 1] = Some((pk.into(), sk.into()));
        self
    }

    pub fn expires(mut self, at: chrono::DateTime<chrono::Utc>) -> Place {
        self.expires = Some(at.timestamp());
        self
    }
}

/// A kind of record kept in `jada-ops`.
pub(crate) trait Record: Serialize + DeserializeOwned + Send + Sync {
    /// What it is, for messages ("outbox event").
    const WHAT: &'static str;
    fn place(&self) -> Place;
}

/// A record as read, with the token a change must name.
#[derive(Debug, Clone)]
pub(crate) struct Doc<T> {
    pub value: T,
    pub tok: String,
}

/// What a change does with the record it read.
pub(crate) enum Change<T, R> {
    Write(T, R),
    Keep(R),
}

/// Which index a query reads, and its key attribute names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Index {
    Table,
    Gsi(usize),
}

impl Index {
    fn names(&self) -> (String, String, Option<String>) {
        match self {
            Index::Table => ("pk".into(), "sk".into(), None),
            Index::Gsi(i) => (format!("gsi{i}pk"), format!("gsi{i}sk"), Some(format!("gsi{i}"))),
        }
    }
}

/// A query on one partition of the table or an index.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub index: Index,
    pub pk: String,
    pub sk: Sk,
    pub newest_first: bool,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) enum Sk {
    Any,
    Prefix(String),
    AtMost(String),
    AtLeast(String),
}

impl Query {
    pub fn on(index: Index, pk: impl Into<String>) -> Query {
        Query {
            index,
            pk: pk.into(),
            sk: Sk::Any,
            newest_first: false,
            limit: None,
        }
    }

    pub fn sk(mut self, sk: Sk) -> Query {
        self.sk = sk;
        self
    }

    pub fn newest_first(mut self) -> Query {
        self.newest_first = true;
        self
    }

    pub fn limit(mut self, limit: usize) -> Query {
        self.limit = Some(limit);
        self
    }
}

/// The attempts at an optimistic change before giving up as busy (each lost race means
/// someone else changed the record in between; 20 in a row is contention, not bad luck).
const CHANGE_ATTEMPTS: u32 = 20;

impl DynamoStore {
    pub(crate) fn ops_op(&self, action: &'static str) -> Op<'_> {
        Op::new(action, &self.tables.ops)
    }

    /// The item for a record, with a fresh write token.
    pub(crate) fn doc_item<T: Record>(&self, value: &T) -> Result<(Item, String)> {
        let place = value.place();
        let doc = serde_json::to_string(value).map_err(|e| StoreError::Corrupt {
            what: T::WHAT,
            detail: format!("cannot encode it: {e}"),
        })?;
        let tok = token();
        let mut item = values([
            ("pk", s(place.pk)),
            ("sk", s(place.sk)),
            ("doc", s(doc)),
            ("tok", s(tok.clone())),
        ]);
        for (i, g) in place.gsi.into_iter().enumerate() {
            if let Some((pk, sk)) = g {
                item.insert(format!("gsi{}pk", i + 1), s(pk));
                item.insert(format!("gsi{}sk", i + 1), s(sk));
            }
        }
        if let Some(at) = place.expires {
            item.insert("expires".into(), n(at));
        }
        Ok((item, tok))
    }

    pub(crate) fn read_doc<T: Record>(&self, item: &Item) -> Result<Option<Doc<T>>> {
        let key = || {
            format!(
                "{}/{}",
                get_s(item, "pk").unwrap_or("?"),
                get_s(item, "sk").unwrap_or("?")
            )
        };
        let doc = get_s(item, "doc").ok_or_else(|| StoreError::Corrupt {
            what: T::WHAT,
            detail: format!("item {} has no `doc` attribute", key()),
        })?;
        let value = serde_json::from_str(doc).map_err(|e| StoreError::Corrupt {
            what: T::WHAT,
            detail: format!("item {}: {e}", key()),
        })?;
        Ok(Some(Doc {
            value,
            tok: get_s(item, "tok").unwrap_or_default().to_string(),
        }))
    }

    /// A record by its key (a strongly consistent read).
    pub(crate) async fn get_doc<T: Record>(&self, pk: &str, sk: &str) -> Result<Option<Doc<T>>> {
        match self.get_doc_raw(pk, sk).await? {
            Some(item) => self.read_doc(&item),
            None => Ok(None),
        }
    }

    /// An item of `jada-ops` by its key, as stored.
    pub(crate) async fn get_doc_raw(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.ops)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failure(self.ops_op("GetItem"), e))?;
        Ok(out.item().cloned())
    }

    /// Writes a record: `None` replaces whatever is there; `Some("")` only if nothing
    /// is; `Some(tok)` only if the stored token is `tok`. `false` when the condition failed.
    pub(crate) async fn put_doc<T: Record>(&self, value: &T, expect: Option<&str>) -> Result<bool> {
        let (item, tok) = self.doc_item(value)?;
        crate::wire::fits(crate::wire::item_size(&item), || format!("the {}", T::WHAT))?;
        let mut req = self
            .client
            .put_item()
            .table_name(&self.tables.ops)
            .set_item(Some(item))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        match expect {
            None => {}
            Some("") => req = req.condition_expression("attribute_not_exists(pk)"),
            Some(old) => {
                req = req
                    .condition_expression("tok = :old")
                    .expression_attribute_values(":old", s(old))
            }
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    // Our own write, applied before a retry: the stored token is ours.
                    Ok(c.item().and_then(|i| get_s(i, "tok")) == Some(tok.as_str()))
                }
                _ => Err(failure(self.ops_op("PutItem"), e)),
            },
        }
    }

    /// Reads a record, lets `f` decide, and writes the result only if nobody wrote in
    /// between; on a lost race it reads again and asks `f` again.
    pub(crate) async fn change<T, R, F>(&self, pk: &str, sk: &str, mut f: F) -> Result<R>
    where
        T: Record,
        F: FnMut(Option<T>) -> Result<Change<T, R>>,
    {
        for attempt in 0..CHANGE_ATTEMPTS {
            let current = self.get_doc::<T>(pk, sk).await?;
            let expect = current.as_ref().map(|d| d.tok.clone()).unwrap_or_default();
            match f(current.map(|d| d.value))? {
                Change::Keep(r) => return Ok(r),
                Change::Write(next, r) => {
                    if self.put_doc(&next, Some(&expect)).await? {
                        return Ok(r);
                    }
                }
            }
            tokio::time::sleep(contention_pause(attempt)).await;
        }
        Err(busy(T::WHAT, pk))
    }

    /// Every record a query finds, following `LastEvaluatedKey` to the end (or the limit).
    pub(crate) async fn query_docs<T: Record>(&self, q: &Query) -> Result<Vec<Doc<T>>> {
        let items = self.query_items(q).await?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            if let Some(d) = self.read_doc(item)? {
                out.push(d);
            }
        }
        Ok(out)
    }

    pub(crate) async fn query_values<T: Record>(&self, q: &Query) -> Result<Vec<T>> {
        Ok(self.query_docs(q).await?.into_iter().map(|d| d.value).collect())
    }

    pub(crate) async fn query_items(&self, q: &Query) -> Result<Vec<Item>> {
        let (_, _, index) = q.index.names();
        let mut pages = self.keyed(q).into_paginator();
        if let Some(limit) = q.limit {
            pages = pages.page_size(limit.clamp(1, 1000) as i32);
        }
        drain(
            pages.items().send(),
            q.limit,
            self.ops_op("Query").on_index(index.as_deref()),
        )
        .await
    }

    /// A query's request: its partition, its sort-key condition, its order.
    fn keyed(&self, q: &Query) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let (pk_name, sk_name, index) = q.index.names();
        let req = self
            .client
            .query()
            .table_name(&self.tables.ops)
            .set_index_name(index)
            .expression_attribute_names("#pk", &pk_name)
            .expression_attribute_values(":pk", s(&q.pk))
            .scan_index_forward(!q.newest_first)
            .consistent_read(q.index == Index::Table);
        match &q.sk {
            Sk::Any => req.key_condition_expression("#pk = :pk"),
            Sk::Prefix(p) => req
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :sk)")
                .expression_attribute_names("#sk", &sk_name)
                .expression_attribute_values(":sk", s(p)),
            Sk::AtMost(p) => req
                .key_condition_expression("#pk = :pk AND #sk <= :sk")
                .expression_attribute_names("#sk", &sk_name)
                .expression_attribute_values(":sk", s(p)),
            Sk::AtLeast(p) => req
                .key_condition_expression("#pk = :pk AND #sk >= :sk")
                .expression_attribute_names("#sk", &sk_name)
                .expression_attribute_values(":sk", s(p)),
        }
    }

    /// Every item of a table whose `pk` starts with `prefix` (or all), following pages.
    pub(crate) async fn scan(&self, table: &str, prefix: Option<&str>) -> Result<Vec<Item>> {
        let mut req = self.client.scan().table_name(table).consistent_read(true);
        if let Some(p) = prefix {
            req = req
                .filter_expression("begins_with(pk, :p)")
                .expression_attribute_values(":p", s(p));
        }
        drain(req.into_paginator().items().send(), None, Op::new("Scan", table)).await
    }

    /// How many records a query finds, counted by DynamoDB (`Select = COUNT`): the same
    /// partition, sort-key condition and limit as [`Self::query_items`] would read.
    pub(crate) async fn count(&self, q: &Query) -> Result<u64> {
        let (_, _, index) = q.index.names();
        let mut total = 0u64;
        let pages = self.keyed(q).select(Select::Count).into_paginator().send();
        each_page(pages, self.ops_op("Query").on_index(index.as_deref()), |page| {
            total += page.count().max(0) as u64;
        })
        .await?;
        Ok(q.limit.map_or(total, |l| total.min(l as u64)))
    }

    /// Deletes a record by key, whatever it holds.
    pub(crate) async fn delete_doc(&self, pk: &str, sk: &str) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.tables.ops)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .send()
            .await
            .map_err(|e| failure(self.ops_op("DeleteItem"), e))?;
        Ok(())
    }

    /// Takes the next number of a sequence (tasks, agent sessions, approvals): 1, 2, 3...
    pub(crate) async fn next_number(&self, name: &str) -> Result<u64> {
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.ops)
            .key("pk", s("COUNTER"))
            .key("sk", s(name))
            .update_expression("ADD #n :one")
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| failure(self.ops_op("UpdateItem"), e))?;
        out.attributes()
            .and_then(|a| get_n(a, "n"))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| StoreError::Corrupt {
                what: "counter",
                detail: format!("COUNTER/{name} did not come back as a number"),
            })
    }
}

/// Pieces of a `TransactWriteItems` on jada's own records.
pub(crate) struct Tx<'a> {
    store: &'a DynamoStore,
    pub items: Vec<TransactWriteItem>,
}

impl<'a> Tx<'a> {
    pub fn new(store: &'a DynamoStore) -> Tx<'a> {
        Tx { store, items: vec![] }
    }

    /// Puts a record: unconditionally (`None`), only if new (`Some("")`), or only if its
    /// token is still `tok`.
    pub fn put<T: Record>(&mut self, value: &T, expect: Option<&str>) -> Result<&mut Self> {
        let (item, _) = self.store.doc_item(value)?;
        let mut put = Put::builder().table_name(&self.store.tables.ops).set_item(Some(item));
        match expect {
            None => {}
            Some("") => put = put.condition_expression("attribute_not_exists(pk)"),
            Some(old) => {
                put = put
                    .condition_expression("tok = :old")
                    .expression_attribute_values(":old", s(old))
            }
        }
        self.items.push(
            TransactWriteItem::builder()
                .put(put.build().map_err(crate::wire::built)?)
                .build(),
        );
        Ok(self)
    }

    pub fn push(&mut self, item: TransactWriteItem) -> &mut Self {
        self.items.push(item);
        self
    }

    /// Runs it. `Ok(None)` when it committed; `Ok(Some(codes))` when a condition or a
    /// conflicting transaction cancelled it (one code per item, "None" for the fine ones).
    pub async fn commit(self) -> Result<Option<Vec<String>>> {
        self.store.transact(self.items).await
    }
}

impl DynamoStore {
    /// `TransactWriteItems` with a client request token (an SDK retry of an applied
    /// transaction is then a no-op, not a failed condition). Conflicts with another
    /// transaction are retried here; a failed condition is returned as the codes.
    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Option<Vec<String>>> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        if items.len() > 100 {
            return Err(StoreError::Setup(format!(
                "jada built a transaction of {} items, over DynamoDB's limit of 100: a bug in jada; please report it",
                items.len()
            )));
        }
        let pieces: Vec<Piece> = items.iter().map(Piece::of).collect();
        check_pieces(&pieces)?;
        let mut tables: Vec<String> = pieces.iter().map(|p| p.table.clone()).collect();
        tables.sort();
        tables.dedup();
        let op = Op::across("TransactWriteItems", &tables);
        let request_token = token();
        for attempt in 0..CHANGE_ATTEMPTS {
            let res = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&request_token)
                .send()
                .await;
            match res {
                Ok(_) => return Ok(None),
                Err(e) => match e.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                        let reasons = c.cancellation_reasons();
                        let codes: Vec<String> =
                            reasons.iter().map(|r| r.code().unwrap_or("None").to_string()).collect();
                        if codes.iter().any(|c| c == "ConditionalCheckFailed") {
                            return Ok(Some(codes));
                        }
                        let passing = |c: &str| {
                            matches!(
                                c,
                                "None" | "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
                            )
                        };
                        if let Some((i, r)) = reasons
                            .iter()
                            .enumerate()
                            .find(|(_, r)| !passing(r.code().unwrap_or("None")))
                        {
                            let table = pieces.get(i).map(|p| p.table.as_str()).unwrap_or("?");
                            return Err(StoreError::Setup(format!(
                                "DynamoDB refused a transaction's write to table `{table}` ({}: {})",
                                r.code().unwrap_or_default(),
                                r.message().unwrap_or("no message")
                            )));
                        }
                    }
                    Some(TransactWriteItemsError::TransactionInProgressException(_)) => {}
                    _ => return Err(failure(op, e)),
                },
            }
            tokio::time::sleep(contention_pause(attempt)).await;
        }
        Err(busy("transaction on", &tables.join(", ")))
    }
}

/// One piece of a transaction as DynamoDB will judge it: its table, its key and its size.
struct Piece {
    table: String,
    key: String,
    size: usize,
}

impl Piece {
    fn of(t: &TransactWriteItem) -> Piece {
        use crate::wire::item_size;
        let empty = Item::new();
        // A Put's size is its item; an Update's at least its key and new values.
        let (table, key, size) = if let Some(p) = t.put() {
            (p.table_name(), p.item(), item_size(p.item()))
        } else if let Some(u) = t.update() {
            let values = u.expression_attribute_values().unwrap_or(&empty);
            (u.table_name(), u.key(), item_size(u.key()) + item_size(values))
        } else if let Some(d) = t.delete() {
            (d.table_name(), d.key(), item_size(d.key()))
        } else if let Some(c) = t.condition_check() {
            (c.table_name(), c.key(), item_size(c.key()))
        } else {
            ("?", &empty, 0)
        };
        // A Put names its whole item: its key is among the key attributes jada's tables use.
        let mut parts: Vec<String> = ["pk", "sk", "charter_id", "created_at", "crew_id"]
            .iter()
            .filter_map(|k| key.get(*k).map(|v| format!("{k}={v:?}")))
            .collect();
        parts.sort();
        Piece {
            table: table.to_string(),
            key: parts.join(" "),
            size,
        }
    }
}

/// What DynamoDB would refuse in a transaction whatever the data: an item over its size
/// limit (a record too big: the caller's to shorten), or one item named twice (jada's bug).
fn check_pieces(pieces: &[Piece]) -> Result<()> {
    for p in pieces {
        crate::wire::fits(p.size, || format!("an item of table `{}`", p.table))?;
    }
    let mut seen = std::collections::HashSet::new();
    for p in pieces {
        if !seen.insert((&p.table, &p.key)) {
            return Err(StoreError::Setup(format!(
                "jada built a transaction naming one item of `{}` twice ({}), which DynamoDB refuses: a bug in \
                 jada; please report it",
                p.table, p.key
            )));
        }
    }
    Ok(())
}

/// Waits between lost races: short, growing, jittered so racers spread out.
pub(crate) fn contention_pause(attempt: u32) -> Duration {
    let backoff = jada_core::Backoff::new(Duration::from_millis(5), Duration::from_millis(200));
    backoff.delay(attempt, rand::random::<f64>(), None)
}

fn busy(what: &str, key: &str) -> StoreError {
    StoreError::Backend(
        format!("{what} {key} kept changing under {CHANGE_ATTEMPTS} attempts to update it; try again").into(),
    )
}
