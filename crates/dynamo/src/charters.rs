//! Charters in the business's `crew-dispatch` table, as its scripts wrote them.
//!
//! Key: `charter_id` (S) + `created_at` (S, ISO 8601). jada owns the attributes in
//! [`OWNED`] and changes only those (`UpdateItem`), so attributes it does not know survive.
//! Attributes the old scripts never wrote read as documented defaults ([`DEFAULTS`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use futures::{StreamExt, TryStreamExt};
use jada_core::{Cents, Charter, CharterId, CharterStatus, CrewId, Event, Month};
use jada_store::{CharterStore, CharterWrite, Result, StoreError};

use crate::docs::Tx;
use crate::records::{seq, EventDoc};
use crate::wire::{drain, failure, get_n, get_s, n, parse_ts, s, ts, Item, Op};
use crate::DynamoStore;

/// The documented defaults for attributes the old scripts never wrote.
pub const DEFAULTS: &str = "status: booked, or completed once charter_date has passed; start_time 09:00; \
     end_time 12:00; guest_name \"(not recorded)\"; crew_assigned none; reportable_revenue and tips $0.00; \
     version 1";

/// The attributes jada writes (all others are left as they are).
pub const OWNED: &[&str] = &[
    "charter_date",
    "charter_month",
    "vessel_name",
    "captain_assigned",
    "crew_assigned",
    "guest_count",
    "reportable_revenue",
    "tips",
    "status",
    "start_time",
    "end_time",
    "guest_name",
    "version",
];

/// How many queries jada keeps in flight at once (a month without the month index is
/// one query per day).
const IN_FLIGHT: usize = 8;

/// An item that cannot be read as a charter: which one, which attribute, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub key: String,
    pub attribute: &'static str,
    pub why: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "item {}: attribute `{}` {}", self.key, self.attribute, self.why)
    }
}

/// Reads an item of `crew-dispatch`; `today` decides the default status of old items.
pub fn read_charter(item: &Item, today: NaiveDate) -> std::result::Result<Charter, Unreadable> {
    let id_text = get_s(item, "charter_id").unwrap_or("?");
    let created_text = get_s(item, "created_at").unwrap_or("?");
    let key = format!("charter_id={id_text} created_at={created_text}");
    let bad = |attribute: &'static str, why: String| Unreadable {
        key: key.clone(),
        attribute,
        why,
    };
    let text = |name: &'static str| get_s(item, name).ok_or_else(|| bad(name, "is missing (or not a string)".into()));
    let charter_id = CharterId::parse(text("charter_id")?).map_err(|e| bad("charter_id", e.0))?;
    let created_at =
        parse_ts(text("created_at")?).ok_or_else(|| bad("created_at", "is not an ISO 8601 instant".into()))?;
    let charter_date: NaiveDate = text("charter_date")?
        .parse()
        .map_err(|_| bad("charter_date", "is not a date (YYYY-MM-DD)".into()))?;
    let time = |name: &'static str, default: (u32, u32)| match get_s(item, name) {
        None => Ok(NaiveTime::from_hms_opt(default.0, default.1, 0).expect("a valid default time")),
        Some(t) => NaiveTime::parse_from_str(t, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M:%S"))
            .map_err(|_| bad(name, format!("`{t}` is not a time (HH:MM)"))),
    };
    let money = |name: &'static str| match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(Cents::ZERO),
        // A Number is a decimal string: parsed as decimal, never through f64.
        Some(AttributeValue::N(v)) => Cents::parse_dollars(v).map_err(|e| bad(name, e.0)),
        Some(_) => Err(bad(name, "is not a number".into())),
    };
    let guest_count = get_n(item, "guest_count")
        .ok_or_else(|| bad("guest_count", "is missing (or not a number)".into()))?
        .parse::<u32>()
        .map_err(|_| bad("guest_count", "is not a whole number of guests".into()))?;
    let captain_assigned = match get_s(item, "captain_assigned") {
        None | Some("") => None,
        Some(c) => Some(CrewId::parse(c).map_err(|e| bad("captain_assigned", e.0))?),
    };
    let crew_assigned = match item.get("crew_assigned") {
        None | Some(AttributeValue::Null(_)) => vec![],
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| match v {
                AttributeValue::S(c) => CrewId::parse(c).map_err(|e| bad("crew_assigned", e.0)),
                _ => Err(bad("crew_assigned", "holds something other than crew ids".into())),
            })
            .collect::<std::result::Result<_, _>>()?,
        Some(AttributeValue::Ss(set)) => set
            .iter()
            .map(|c| CrewId::parse(c).map_err(|e| bad("crew_assigned", e.0)))
            .collect::<std::result::Result<_, _>>()?,
        Some(_) => return Err(bad("crew_assigned", "is not a list of crew ids".into())),
    };
    let status = match get_s(item, "status") {
        Some(st) => CharterStatus::parse(st).map_err(|e| bad("status", e.0))?,
        None if charter_date < today => CharterStatus::Completed,
        None => CharterStatus::Booked,
    };
    let version = match get_n(item, "version") {
        None => 1,
        Some(v) => v
            .parse()
            .map_err(|_| bad("version", format!("`{v}` is not a version number")))?,
    };
    Ok(Charter {
        charter_id,
        created_at,
        charter_date,
        start_time: time("start_time", (9, 0))?,
        end_time: time("end_time", (12, 0))?,
        vessel_name: text("vessel_name")?.to_string(),
        guest_name: get_s(item, "guest_name").unwrap_or("(not recorded)").to_string(),
        guest_count,
        captain_assigned,
        crew_assigned,
        reportable_revenue: money("reportable_revenue")?,
        tips: money("tips")?,
        status,
        version,
    })
}

/// `SET` of every attribute jada owns (and `REMOVE captain_assigned` when there is none).
/// Every attribute goes by a name placeholder (`#status`): several are reserved words.
fn owned_update(c: &Charter) -> (String, Item, std::collections::HashMap<String, String>) {
    let mut v = crate::wire::values([
        (":charter_date", s(c.charter_date.to_string())),
        (":charter_month", s(Month::of(c.charter_date).to_string())),
        (":vessel_name", s(&c.vessel_name)),
        (
            ":crew_assigned",
            AttributeValue::L(c.crew_assigned.iter().map(|m| s(m.as_str())).collect()),
        ),
        (":guest_count", n(c.guest_count)),
        (":reportable_revenue", n(c.reportable_revenue.dollars_string())),
        (":tips", n(c.tips.dollars_string())),
        (":status", s(c.status.as_str())),
        (":start_time", s(c.start_time.format("%H:%M").to_string())),
        (":end_time", s(c.end_time.format("%H:%M").to_string())),
        (":guest_name", s(&c.guest_name)),
        (":version", n(c.version)),
    ]);
    let mut sets: Vec<String> = OWNED
        .iter()
        .filter(|a| **a != "captain_assigned")
        .map(|a| format!("#{a} = :{a}"))
        .collect();
    let names = OWNED.iter().map(|a| (format!("#{a}"), a.to_string())).collect();
    let mut expr = String::new();
    match &c.captain_assigned {
        Some(cap) => {
            v.insert(":captain_assigned".into(), s(cap.as_str()));
            sets.push("#captain_assigned = :captain_assigned".into());
            expr.push_str(&format!("SET {}", sets.join(", ")));
        }
        None => expr.push_str(&format!("SET {} REMOVE #captain_assigned", sets.join(", "))),
    }
    (expr, v, names)
}

/// A new charter's whole item (keys and every attribute jada owns).
fn new_item(c: &Charter) -> Item {
    let (_, vals, _) = owned_update(c);
    let mut item: Item = vals
        .into_iter()
        .map(|(k, v)| (k.trim_start_matches(':').to_string(), v))
        .collect();
    item.insert("charter_id".into(), s(c.charter_id.to_string()));
    item.insert("created_at".into(), s(ts(c.created_at)));
    item
}

/// The stored item of a charter: its sort key as stored, and the charter.
struct Current {
    created_at: String,
    charter: Charter,
}

impl DynamoStore {
    pub(crate) fn charters_op(&self, action: &'static str) -> Op<'_> {
        Op::new(action, &self.tables.charters)
    }

    /// The charter's item: the newest one when the old scripts left several under one id.
    async fn current_charter(&self, id: CharterId) -> Result<Option<Current>> {
        let out = self
            .client
            .query()
            .table_name(&self.tables.charters)
            .key_condition_expression("charter_id = :id")
            .expression_attribute_values(":id", s(id.to_string()))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failure(self.charters_op("Query"), e))?;
        let Some(item) = out.items().first() else {
            return Ok(None);
        };
        let charter = read_charter(item, self.today()).map_err(|u| StoreError::Corrupt {
            what: "charter",
            detail: u.to_string(),
        })?;
        Ok(Some(Current {
            created_at: get_s(item, "created_at").unwrap_or_default().to_string(),
            charter,
        }))
    }

    /// The transaction item that writes a charter's owned attributes, on condition: a
    /// new charter (`None`) or the version the writer read.
    pub(crate) fn charter_update(
        &self,
        charter: &Charter,
        created_at: &str,
        expected_version: Option<u64>,
    ) -> Result<TransactWriteItem> {
        let cond = match expected_version {
            None => "attribute_not_exists(charter_id)".to_string(),
            Some(1) => {
                "attribute_exists(charter_id) AND (#version = :expected OR attribute_not_exists(#version))".into()
            }
            Some(_) => "attribute_exists(charter_id) AND #version = :expected".into(),
        };
        self.owned_write(charter, created_at, Some((cond, expected_version)))
    }

    /// The transaction item that writes a charter's owned attributes whatever is stored
    /// (a copy from another store: `jada store migrate`).
    pub(crate) fn charter_overwrite(&self, charter: &Charter, created_at: &str) -> Result<TransactWriteItem> {
        self.owned_write(charter, created_at, None)
    }

    fn owned_write(
        &self,
        charter: &Charter,
        created_at: &str,
        condition: Option<(String, Option<u64>)>,
    ) -> Result<TransactWriteItem> {
        let (expr, mut vals, names) = owned_update(charter);
        let mut update = Update::builder()
            .table_name(&self.tables.charters)
            .key("charter_id", s(charter.charter_id.to_string()))
            .key("created_at", s(created_at))
            .update_expression(expr)
            .set_expression_attribute_names(Some(names));
        if let Some((cond, expected)) = condition {
            if let Some(v) = expected {
                vals.insert(":expected".into(), n(v));
            }
            update = update.condition_expression(cond);
        }
        let update = update
            .set_expression_attribute_values(Some(vals))
            .build()
            .map_err(crate::wire::built)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    async fn write_one(&self, write: CharterWrite, now: DateTime<Utc>) -> Result<Charter> {
        // A write that lost the race for its vessel's day to another writer is decided
        // again from what the store then holds (the other charter may now overlap it).
        for attempt in 0..SLOT_ATTEMPTS {
            match self.try_write_one(write.clone(), now).await? {
                Some(result) => return result,
                None => tokio::time::sleep(crate::docs::contention_pause(attempt)).await,
            }
        }
        Err(StoreError::Backend(
            format!(
                "charter {} kept meeting other writes to its vessel's day; try again",
                write.charter().charter_id
            )
            .into(),
        ))
    }

    /// One attempt: the version rules, the overlap rule against the day's charters read
    /// under the vessel-day item's version, then one transaction [charter, events,
    /// vessel-day item]. `None`: the vessel-day moved meanwhile; decide again.
    async fn try_write_one(&self, write: CharterWrite, now: DateTime<Utc>) -> Result<Option<Result<Charter>>> {
        let (mut charter, expected, events) = match write {
            CharterWrite::Create { charter, events } => (charter, None, events),
            CharterWrite::Update {
                charter,
                expected_version,
                events,
            } => (charter, Some(expected_version), events),
        };
        let id = charter.charter_id;
        let current = self.current_charter(id).await?;
        let created_at = match (expected, &current) {
            (None, Some(_)) => return Ok(Some(Err(StoreError::CharterExists(id)))),
            (Some(_), None) => return Ok(Some(Err(StoreError::CharterNotFound(id)))),
            (Some(e), Some(cur)) if e != cur.charter.version => {
                return Ok(Some(Err(StoreError::StaleVersion {
                    id,
                    expected: e,
                    actual: cur.charter.version,
                })))
            }
            (None, None) => {
                charter.version = 1;
                ts(charter.created_at)
            }
            (Some(e), Some(cur)) => {
                charter.created_at = cur.charter.created_at;
                charter.version = e + 1;
                cur.created_at.clone()
            }
        };
        let mut tx = Tx::new(self);
        // One vessel, one charter at a time. An update that keeps where and when the
        // charter sails is not checked again (an old overlap can still be crewed).
        let moves = current.as_ref().is_none_or(|cur| !charter.keeps_slot_of(&cur.charter));
        if charter.holds_vessel() && moves {
            let slot = slot_key(&charter);
            let seen = self.slot_version(&slot).await?;
            let today = self.today();
            let same_day: Vec<Charter> = self
                .charter_items_on(charter.charter_date)
                .await?
                .iter()
                .filter_map(|item| read_charter(item, today).ok())
                .collect();
            if let Some(other) = self.turnarounds.first_overlap(&charter, &same_day) {
                return Ok(Some(Err(self.turnarounds.refusal(&charter, other))));
            }
            tx.push(self.slot_claim(&slot, seen)?);
        }
        if expected.is_none() {
            // The table's key is (charter_id, created_at): its own condition guards one
            // sort key only, so two creates of one id at different times would both
            // land. The id's claim item makes the second one fail.
            tx.push(self.id_claim(id)?);
        }
        tx.push(self.charter_update(&charter, &created_at, expected)?);
        for event in events {
            tx.put(&new_event(event, now), Some(""))?;
        }
        match tx.commit().await? {
            None => Ok(Some(Ok(charter))),
            // Someone wrote between our read and our write: say what the store has now,
            // or, when it was the vessel's day that moved, decide again.
            Some(_) => match (self.current_charter(id).await?, expected) {
                (None, Some(_)) => Ok(Some(Err(StoreError::CharterNotFound(id)))),
                (None, None) => Ok(None),
                (Some(_), None) => Ok(Some(Err(StoreError::CharterExists(id)))),
                (Some(cur), Some(e)) if cur.charter.version != e => Ok(Some(Err(StoreError::StaleVersion {
                    id,
                    expected: e,
                    actual: cur.charter.version,
                }))),
                (Some(_), Some(_)) => Ok(None),
            },
        }
    }

    /// The version of a vessel-day item (`SLOT` / `<vessel>#<date>` in jada-ops), 0 when
    /// none was written yet.
    async fn slot_version(&self, slot: &str) -> Result<u64> {
        let item = self.get_doc_raw("SLOT", slot).await?;
        Ok(item
            .as_ref()
            .and_then(|i| crate::wire::get_n(i, "v"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// The transaction piece that claims a vessel's day: its version moves from `seen`
    /// to `seen + 1`, so two writers who read the same day cannot both commit.
    fn slot_claim(&self, slot: &str, seen: u64) -> Result<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.tables.ops)
            .key("pk", s("SLOT"))
            .key("sk", s(slot))
            .update_expression("SET #v = :next")
            .expression_attribute_names("#v", "v")
            .expression_attribute_values(":next", n(seen + 1));
        let update = if seen == 0 {
            update.condition_expression("attribute_not_exists(#v)")
        } else {
            update
                .condition_expression("#v = :seen")
                .expression_attribute_values(":seen", n(seen))
        };
        let update = update.build().map_err(crate::wire::built)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The transaction piece that claims a charter id (`CHARTER` / `<id>` in jada-ops),
    /// once: a second create of the id, whatever its `created_at`, fails its condition.
    fn id_claim(&self, id: CharterId) -> Result<TransactWriteItem> {
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.tables.ops)
            .item("pk", s("CHARTER"))
            .item("sk", s(id.to_string()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(crate::wire::built)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Writes charters that are not in the table yet, 25 to a `BatchWriteItem`, retrying
    /// what DynamoDB leaves unprocessed (with backoff) until all are written. For bulk
    /// copies (`jada store migrate`) and seeding: it checks nothing and writes no events.
    pub async fn put_new_charters(&self, charters: &[Charter]) -> Result<()> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        for chunk in charters.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|c| {
                    let put = PutRequest::builder()
                        .set_item(Some(new_item(c)))
                        .build()
                        .map_err(crate::wire::built)?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_>>()?;
            for attempt in 0.. {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.tables.charters, pending)
                    .send()
                    .await
                    .map_err(|e| failure(self.charters_op("BatchWriteItem"), e))?;
                pending = out
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.tables.charters))
                    .cloned()
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt >= 10 {
                    return Err(StoreError::Backend(
                        format!(
                            "DynamoDB left {} charters unprocessed after 10 retries (throttled); run the copy again",
                            pending.len()
                        )
                        .into(),
                    ));
                }
                tokio::time::sleep(crate::docs::contention_pause(attempt)).await;
            }
        }
        Ok(())
    }

    /// A charter with its stored sort key (what a write's key must name).
    pub(crate) async fn current_charter_item(&self, id: CharterId) -> Result<Option<(String, Charter)>> {
        Ok(self.current_charter(id).await?.map(|c| (c.created_at, c.charter)))
    }

    /// One day's charters from the `charter_date` index (the old scripts' way).
    pub(crate) async fn charter_items_on(&self, day: NaiveDate) -> Result<Vec<Item>> {
        let index = self.date_index().await;
        self.query_charters(&index, "charter_date", day.to_string()).await
    }

    async fn query_charters(&self, index: &str, attr: &str, value: String) -> Result<Vec<Item>> {
        let pages = self
            .client
            .query()
            .table_name(&self.tables.charters)
            .index_name(index)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", attr)
            .expression_attribute_values(":v", s(&value))
            .into_paginator();
        drain(
            pages.items().send(),
            None,
            self.charters_op("Query").on_index(Some(index)),
        )
        .await
    }

    /// Charters dated `from..=to`: one query per day, [`IN_FLIGHT`] at a time (or one per
    /// month on the month index).
    async fn charters_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Charter>> {
        let items: Vec<Item> = if let Some(index) = self.month_index().await {
            let months: Vec<Month> = months(from, to);
            futures::stream::iter(months)
                .map(|m| self.query_charters(&index, "charter_month", m.to_string()))
                .buffer_unordered(IN_FLIGHT)
                .try_concat()
                .await?
        } else {
            let days: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
            // The index looked up once for the range, not once a day.
            let index = self.date_index().await;
            futures::stream::iter(days)
                .map(|d| self.query_charters(&index, "charter_date", d.to_string()))
                .buffer_unordered(IN_FLIGHT)
                .try_concat()
                .await?
        };
        let today = self.today();
        // One charter per id (the newest item, as `get_charter` reads it).
        let mut by_id: BTreeMap<CharterId, Charter> = BTreeMap::new();
        for item in &items {
            match read_charter(item, today) {
                Ok(c) if c.charter_date >= from && c.charter_date <= to => {
                    let keep = by_id.get(&c.charter_id).is_none_or(|o| o.created_at < c.created_at);
                    if keep {
                        by_id.insert(c.charter_id, c);
                    }
                }
                Ok(_) => {}
                // The rest of the month still lists; the bad item is named for the operator
                // (and `jada store check` lists every one).
                Err(u) => tracing::warn!(table = %self.tables.charters, "skipped an unreadable charter: {u}"),
            }
        }
        let mut out: Vec<Charter> = by_id.into_values().collect();
        out.sort_by(|a, b| {
            (a.charter_date, a.start_time, a.charter_id.to_string()).cmp(&(
                b.charter_date,
                b.start_time,
                b.charter_id.to_string(),
            ))
        });
        Ok(out)
    }
}

fn months(from: NaiveDate, to: NaiveDate) -> Vec<Month> {
    let mut out = vec![];
    let mut m = Month::of(from);
    while m.first_day() <= to {
        out.push(m);
        m = m.next();
    }
    out
}

/// A new outbox event, due at once.
/// How often a charter write is decided again after losing its vessel's day to another.
const SLOT_ATTEMPTS: u32 = 20;

/// A vessel's day, as the item that serialises writes to it is keyed.
fn slot_key(c: &Charter) -> String {
    format!("{}#{}", jada_core::vessel::vessel_key(&c.vessel_name), c.charter_date)
}

pub(crate) fn new_event(event: Event, now: DateTime<Utc>) -> EventDoc {
    EventDoc {
        event: jada_store::OutboxEvent {
            event_id: uuid::Uuid::new_v4(),
            event,
            created_at: now,
            status: jada_store::EventStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            finished_at: None,
        },
        seq: seq(),
        claimed_until: None,
    }
}

#[async_trait]
impl CharterStore for DynamoStore {
    async fn write_charters(&self, writes: Vec<CharterWrite>, now: DateTime<Utc>) -> Result<Vec<Result<Charter>>> {
        // Each write is its own transaction (a charter and its events); they are
        // independent, so a refused one does not stop the rest. Several in flight, unless
        // one charter is written twice: then in order, as given.
        let ids: std::collections::HashSet<CharterId> = writes.iter().map(|w| w.charter().charter_id).collect();
        let in_flight = if ids.len() == writes.len() { IN_FLIGHT } else { 1 };
        let queues = writes.iter().any(|w| w.has_events());
        let results: Vec<Result<Charter>> = futures::stream::iter(writes)
            .map(|w| self.write_one(w, now))
            .buffered(in_flight)
            .collect()
            .await;
        if queues && results.iter().any(|r| r.is_ok()) {
            self.events.ring();
        }
        Ok(results)
    }

    async fn get_charter(&self, id: CharterId) -> Result<Option<Charter>> {
        Ok(self.current_charter(id).await?.map(|c| c.charter))
    }

    async fn get_charters(&self, ids: &[CharterId]) -> Result<Vec<Charter>> {
        let found: Vec<Option<Charter>> = futures::stream::iter(ids.iter().copied())
            .map(|id| self.get_charter(id))
            .buffer_unordered(IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn list_charters_in_month(&self, month: Month) -> Result<Vec<Charter>> {
        self.charters_between(month.first_day(), month.last_day()).await
    }

    async fn list_charters_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Charter>> {
        self.charters_between(from, to).await
    }
}
