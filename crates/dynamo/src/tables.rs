//! What jada needs of its four tables, how to check the live ones against it, and how to
//! create what is missing (`jada store check`, `jada store create-tables`). Creating
//! never changes what exists: a missing index is added, a table with the wrong key is
//! reported, never replaced.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
    TableDescription, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use jada_store::{Result, StoreError};
use serde::Serialize;

use crate::wire::{failure, Op};
use crate::{DynamoStore, DATE_INDEX, MONTH_INDEX};

/// One table as jada needs it.
#[derive(Debug, Clone)]
struct Spec {
    role: &'static str,
    name: String,
    key: (&'static str, Option<&'static str>),
    indexes: Vec<(&'static str, &'static str, Option<&'static str>)>,
    ttl: Option<&'static str>,
}

fn specs(store: &DynamoStore) -> Vec<Spec> {
    let t = &store.tables;
    vec![
        Spec {
            role: "charters",
            name: t.charters.clone(),
            key: ("charter_id", Some("created_at")),
            indexes: vec![
                (DATE_INDEX, "charter_date", None),
                (MONTH_INDEX, "charter_month", Some("charter_date")),
            ],
            ttl: None,
        },
        Spec {
            role: "crew",
            name: t.crew.clone(),
            key: ("crew_id", None),
            indexes: vec![],
            ttl: None,
        },
        Spec {
            role: "chats",
            name: t.chats.clone(),
            key: ("charter_id", Some("created_at")),
            indexes: vec![],
            ttl: None,
        },
        Spec {
            role: "ops",
            name: t.ops.clone(),
            key: ("pk", Some("sk")),
            indexes: vec![
                ("gsi1", "gsi1pk", Some("gsi1sk")),
                ("gsi2", "gsi2pk", Some("gsi2sk")),
                ("gsi3", "gsi3pk", Some("gsi3sk")),
            ],
            ttl: Some("expires"),
        },
    ]
}

/// What `jada store check` found for one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableCheck {
    /// `charters`, `crew`, `chats` or `ops` (the `[store.tables]` key).
    pub role: String,
    pub table: String,
    pub exists: bool,
    /// What jada needs and the table lacks, each with how to add it.
    pub missing: Vec<String>,
    /// What is there but not as jada needs it (cannot be fixed by creating).
    pub wrong: Vec<String>,
    /// Optional things jada would use (the month index): absent is fine, slower.
    pub notes: Vec<String>,
    /// Items jada cannot read (by key and attribute): skipped by every listing until
    /// they are fixed. At most 50 are listed; `unreadable_count` has them all.
    pub unreadable: Vec<String>,
    pub unreadable_count: usize,
}

/// The whole check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub ok: bool,
    pub tables: Vec<TableCheck>,
}

fn key_schema(d: &TableDescription) -> (Option<String>, Option<String>) {
    let find = |kt: KeyType| {
        d.key_schema()
            .iter()
            .find(|k| *k.key_type() == kt)
            .map(|k| k.attribute_name().to_string())
    };
    (find(KeyType::Hash), find(KeyType::Range))
}

impl DynamoStore {
    async fn describe(&self, table: &str) -> Result<Option<TableDescription>> {
        match self.client.describe_table().table_name(table).send().await {
            Ok(out) => Ok(out.table().cloned()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(failure(Op::new("DescribeTable", table), e)),
        }
    }

    async fn ttl_attribute(&self, table: &str) -> Result<Option<String>> {
        let out = self
            .client
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(|e| failure(Op::new("DescribeTimeToLive", table), e))?;
        Ok(out.time_to_live_description().and_then(|d| {
            matches!(
                d.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled) | Some(TimeToLiveStatus::Enabling)
            )
            .then(|| d.attribute_name().unwrap_or_default().to_string())
        }))
    }

    /// Every item of a business table that jada cannot read, by key and attribute.
    async fn unreadable_items(&self, role: &str, table: &str) -> Result<Vec<String>> {
        let today = self.today();
        let read: fn(&crate::wire::Item, chrono::NaiveDate) -> Option<String> = match role {
            "charters" => |i, today| crate::charters::read_charter(i, today).err().map(|u| u.to_string()),
            "crew" => |i, _| crate::crew::read_member(i).err(),
            "chats" => |i, _| crate::chats::read_message(i).err(),
            _ => return Ok(vec![]),
        };
        Ok(self
            .scan(table, None)
            .await?
            .iter()
            .filter_map(|item| read(item, today))
            .collect())
    }

    /// Compares the live tables with what jada needs. Changes nothing.
    pub async fn check(&self) -> Result<Check> {
        let mut tables = vec![];
        for spec in specs(self) {
            tables.push(self.check_one(&spec).await?);
        }
        let ok = tables
            .iter()
            .all(|t| t.exists && t.missing.is_empty() && t.wrong.is_empty());
        Ok(Check { ok, tables })
    }

    async fn check_one(&self, spec: &Spec) -> Result<TableCheck> {
        let mut c = TableCheck {
            role: spec.role.into(),
            table: spec.name.clone(),
            exists: false,
            missing: vec![],
            wrong: vec![],
            notes: vec![],
            unreadable: vec![],
            unreadable_count: 0,
        };
        let Some(d) = self.describe(&spec.name).await? else {
            c.missing.push(format!(
                "the table itself: `jada store create-tables` creates it, or set [store.tables] {} to the \
                 existing table's name",
                spec.role
            ));
            return Ok(c);
        };
        c.exists = true;
        let (hash, range) = key_schema(&d);
        let (want_hash, want_range) = spec.key;
        if hash.as_deref() != Some(want_hash) || range.as_deref() != want_range {
            c.wrong.push(format!(
                "its key is {} + {}; jada needs {} + {}",
                hash.unwrap_or_default(),
                range.unwrap_or_else(|| "(none)".into()),
                want_hash,
                want_range.unwrap_or("(none)")
            ));
        }
        for (name, ih, ir) in &spec.indexes {
            let found = d
                .global_secondary_indexes()
                .iter()
                .find(|g| g.index_name() == Some(*name));
            match found {
                None if *name == MONTH_INDEX && !self.month_index_wanted => c.notes.push(format!(
                    "no `{MONTH_INDEX}` index: months are read with one query per day on `{DATE_INDEX}` \
                     (the index is used only with [store] month_index = true)"
                )),
                None => c.missing.push(format!(
                    "the global secondary index `{name}` ({ih}{}): `jada store create-tables` adds it",
                    ir.map(|r| format!(" + {r}")).unwrap_or_default()
                )),
                Some(g) => {
                    let hash = g.key_schema().iter().find(|k| *k.key_type() == KeyType::Hash);
                    if hash.map(|k| k.attribute_name()) != Some(*ih) {
                        c.wrong.push(format!("the index `{name}` is not keyed by {ih}"));
                    }
                }
            }
        }
        let unreadable = self.unreadable_items(spec.role, &spec.name).await?;
        c.unreadable_count = unreadable.len();
        c.unreadable = unreadable.into_iter().take(50).collect();
        if spec.role == "charters" && self.month_index_wanted {
            let lacking = self.count_lacking_month().await?;
            if lacking > 0 {
                c.missing.push(format!(
                    "charter_month on {lacking} charters (written by a program that does not set it): with \
                     [store] month_index = true they are missing from every month; `jada store create-tables` \
                     fills it, or turn month_index off"
                ));
            }
        }
        if let Some(attr) = spec.ttl {
            if self.ttl_attribute(&spec.name).await?.as_deref() != Some(attr) {
                c.missing.push(format!(
                    "time to live on `{attr}` (expired sign-in sessions are deleted by DynamoDB): \
                     `jada store create-tables` turns it on"
                ));
            }
        }
        Ok(c)
    }

    /// Creates the tables, indexes and TTL jada needs and does not find; leaves everything
    /// that exists as it is. Returns what it did, one line each.
    pub async fn create_tables(&self) -> Result<Vec<String>> {
        let mut done = vec![];
        for spec in specs(self) {
            match self.describe(&spec.name).await? {
                None => {
                    self.create_table(&spec).await?;
                    done.push(format!("created table `{}`", spec.name));
                }
                Some(d) => {
                    for (name, ih, ir) in &spec.indexes {
                        if !d
                            .global_secondary_indexes()
                            .iter()
                            .any(|g| g.index_name() == Some(*name))
                        {
                            self.add_index(&spec.name, name, ih, *ir).await?;
                            done.push(format!("added index `{name}` to `{}`", spec.name));
                        }
                    }
                }
            }
            if spec.role == "charters" {
                let n = self.backfill_charter_month().await?;
                if n > 0 {
                    done.push(format!("set charter_month on {n} charters that lacked it"));
                }
            }
            if let Some(attr) = spec.ttl {
                if self.ttl_attribute(&spec.name).await?.as_deref() != Some(attr) {
                    self.client
                        .update_time_to_live()
                        .table_name(&spec.name)
                        .time_to_live_specification(
                            TimeToLiveSpecification::builder()
                                .enabled(true)
                                .attribute_name(attr)
                                .build()
                                .map_err(built)?,
                        )
                        .send()
                        .await
                        .map_err(|e| failure(Op::new("UpdateTimeToLive", &spec.name), e))?;
                    done.push(format!("turned on time to live (`{attr}`) on `{}`", spec.name));
                }
            }
        }
        Ok(done)
    }

    /// How many charters lack `charter_month` (a `Scan` counting them).
    async fn count_lacking_month(&self) -> Result<u64> {
        let table = &self.tables.charters;
        let mut start = None;
        let mut n = 0u64;
        loop {
            let page = self
                .client
                .scan()
                .table_name(table)
                .filter_expression("attribute_not_exists(charter_month)")
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| failure(Op::new("Scan", table), e))?;
            n += page.count().max(0) as u64;
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(n);
            }
        }
    }

    /// Sets `charter_month` on charters that lack it (the old scripts do not write it), so
    /// the month index finds them. Returns how many it set.
    pub async fn backfill_charter_month(&self) -> Result<u64> {
        let table = &self.tables.charters;
        let mut start = None;
        let mut n = 0;
        loop {
            let page = self
                .client
                .scan()
                .table_name(table)
                .filter_expression("attribute_not_exists(charter_month) AND attribute_exists(charter_date)")
                .projection_expression("charter_id, created_at, charter_date")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| failure(Op::new("Scan", table), e))?;
            for item in page.items() {
                let date = crate::wire::get_s(item, "charter_date").unwrap_or_default();
                let Some(month) = date.get(..7).filter(|m| m.len() == 7) else {
                    continue;
                };
                let res = self
                    .client
                    .update_item()
                    .table_name(table)
                    .key("charter_id", item["charter_id"].clone())
                    .key("created_at", item["created_at"].clone())
                    .update_expression("SET charter_month = :m")
                    .condition_expression("charter_date = :d")
                    .expression_attribute_values(":m", crate::wire::s(month))
                    .expression_attribute_values(":d", crate::wire::s(date))
                    .send()
                    .await;
                // A refused condition: changed meanwhile (jada wrote it, with its month).
                if crate::wire::conditional(res, Op::new("UpdateItem", table))? {
                    n += 1;
                }
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(n);
            }
        }
    }

    async fn create_table(&self, spec: &Spec) -> Result<()> {
        let mut attrs = vec![spec.key.0];
        attrs.extend(spec.key.1);
        for (_, h, r) in &spec.indexes {
            attrs.push(h);
            attrs.extend(r.iter());
        }
        attrs.sort_unstable();
        attrs.dedup();
        let mut req = self
            .client
            .create_table()
            .table_name(&spec.name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(keys(spec.key.0, spec.key.1)?));
        for a in attrs {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(a)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(built)?,
            );
        }
        for (name, h, r) in &spec.indexes {
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(*name)
                    .set_key_schema(Some(keys(h, *r)?))
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()
                    .map_err(built)?,
            );
        }
        req.send()
            .await
            .map_err(|e| failure(Op::new("CreateTable", &spec.name), e))?;
        self.wait_active(&spec.name).await
    }

    async fn add_index(&self, table: &str, name: &str, hash: &str, range: Option<&str>) -> Result<()> {
        let mut defs = vec![AttributeDefinition::builder()
            .attribute_name(hash)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(built)?];
        if let Some(r) = range {
            defs.push(
                AttributeDefinition::builder()
                    .attribute_name(r)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(built)?,
            );
        }
        let create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(name)
            .set_key_schema(Some(keys(hash, range)?))
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(built)?;
        self.client
            .update_table()
            .table_name(table)
            .set_attribute_definitions(Some(defs))
            .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().create(create).build())
            .send()
            .await
            .map_err(|e| failure(Op::new("UpdateTable", table), e))?;
        self.wait_active(table).await
    }

    /// Waits (up to 10 minutes) for a table and its indexes to be ACTIVE.
    async fn wait_active(&self, table: &str) -> Result<()> {
        for _ in 0..600 {
            if let Some(d) = self.describe(table).await? {
                let indexes_ready = d
                    .global_secondary_indexes()
                    .iter()
                    .all(|g| g.index_status().is_none_or(|s| s.as_str() == "ACTIVE"));
                if d.table_status() == Some(&TableStatus::Active) && indexes_ready {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Err(StoreError::Backend(
            format!("table `{table}` did not become ACTIVE within 10 minutes; look at it in the AWS console").into(),
        ))
    }
}

/// Whether `table` has the global secondary index `index`.
pub(crate) async fn has_index(store: &DynamoStore, table: &str, index: &str) -> Result<bool> {
    Ok(store.describe(table).await?.is_some_and(|d| {
        d.global_secondary_indexes()
            .iter()
            .any(|g| g.index_name() == Some(index))
    }))
}

fn keys(hash: &str, range: Option<&str>) -> Result<Vec<KeySchemaElement>> {
    let mut out = vec![KeySchemaElement::builder()
        .attribute_name(hash)
        .key_type(KeyType::Hash)
        .build()
        .map_err(built)?];
    if let Some(r) = range {
        out.push(
            KeySchemaElement::builder()
                .attribute_name(r)
                .key_type(KeyType::Range)
                .build()
                .map_err(built)?,
        );
    }
    Ok(out)
}

fn built(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Backend(format!("building a DynamoDB request: {e}").into())
}
