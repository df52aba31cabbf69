//! What jada needs of its four tables, how to check the live ones against it, and how to
//! create what is missing (`jada store check`, `jada store create-tables`). Creating
//! never changes what exists: a missing index is added, a table with the wrong key is
//! reported, never replaced.

use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexDescription, GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, PointInTimeRecoveryStatus, Projection, ProjectionType, ProvisionedThroughput,
    ScalarAttributeType, TableDescription, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use jada_store::{Result, StoreError};
use serde::Serialize;

use crate::wire::{failure, Op};
use crate::{DynamoStore, DATE_INDEX, MONTH_INDEX};

/// An index jada reads through. It is found on the live table by its partition key,
/// whatever its name (the business's `charter_date-index` is the date index), unless a
/// name is configured; `name` is what jada calls one it creates.
#[derive(Debug, Clone)]
pub(crate) struct IndexSpec {
    pub name: String,
    /// Named in the configuration ([store.tables] date_index): only that one will do.
    pub configured: bool,
    pub hash: &'static str,
    pub range: Option<&'static str>,
    /// Without it jada cannot work (the date index, jada-ops' three); the month index is
    /// wanted only with [store] month_index = true.
    pub required: bool,
}

impl IndexSpec {
    fn named(name: &str, hash: &'static str, range: Option<&'static str>) -> IndexSpec {
        IndexSpec {
            name: name.to_string(),
            configured: false,
            hash,
            range,
            required: true,
        }
    }

    /// The live index that serves this one: the configured name, else jada's own name,
    /// else the first whose partition key is `hash`.
    pub(crate) fn find<'d>(&self, d: &'d TableDescription) -> Option<&'d GlobalSecondaryIndexDescription> {
        let gsis = d.global_secondary_indexes();
        let by_name = gsis.iter().find(|g| g.index_name() == Some(self.name.as_str()));
        if self.configured {
            return by_name;
        }
        by_name.or_else(|| gsis.iter().find(|g| index_hash(g) == Some(self.hash)))
    }

    fn describe_key(&self) -> String {
        format!(
            "{}{}",
            self.hash,
            self.range.map(|r| format!(" + {r}")).unwrap_or_default()
        )
    }
}

fn index_hash(g: &GlobalSecondaryIndexDescription) -> Option<&str> {
    g.key_schema()
        .iter()
        .find(|k| *k.key_type() == KeyType::Hash)
        .map(|k| k.attribute_name())
}

/// One table as jada needs it.
#[derive(Debug, Clone)]
struct Spec {
    role: &'static str,
    name: String,
    key: (&'static str, Option<&'static str>),
    indexes: Vec<IndexSpec>,
    ttl: Option<&'static str>,
    /// jada's own table: jada may change it without asking (`--yes` is for the
    /// business's tables), and turns point-in-time recovery on for it.
    own: bool,
}

impl DynamoStore {
    /// The date index as configured, or as jada names one it creates.
    pub(crate) fn date_index_spec(&self) -> IndexSpec {
        match &self.tables.date_index {
            Some(name) => IndexSpec {
                configured: true,
                ..IndexSpec::named(name, "charter_date", None)
            },
            None => IndexSpec::named(DATE_INDEX, "charter_date", None),
        }
    }

    pub(crate) fn month_index_spec(&self) -> IndexSpec {
        IndexSpec {
            required: self.month_index_wanted,
            ..IndexSpec::named(MONTH_INDEX, "charter_month", Some("charter_date"))
        }
    }
}

fn specs(store: &DynamoStore) -> Vec<Spec> {
    let t = &store.tables;
    vec![
        Spec {
            role: "charters",
            name: t.charters.clone(),
            key: ("charter_id", Some("created_at")),
            indexes: vec![store.date_index_spec(), store.month_index_spec()],
            ttl: None,
            own: false,
        },
        Spec {
            role: "crew",
            name: t.crew.clone(),
            key: ("crew_id", None),
            indexes: vec![],
            ttl: None,
            own: false,
        },
        Spec {
            role: "chats",
            name: t.chats.clone(),
            key: ("charter_id", Some("created_at")),
            indexes: vec![],
            ttl: None,
            own: false,
        },
        Spec {
            role: "ops",
            name: t.ops.clone(),
            key: ("pk", Some("sk")),
            indexes: vec![
                IndexSpec::named("gsi1", "gsi1pk", Some("gsi1sk")),
                IndexSpec::named("gsi2", "gsi2pk", Some("gsi2sk")),
                IndexSpec::named("gsi3", "gsi3pk", Some("gsi3sk")),
            ],
            ttl: Some("expires"),
            own: true,
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
    /// What is not needed but an operator should know (point-in-time recovery off).
    pub warnings: Vec<String>,
    /// The indexes jada reads through, as `purpose: index name` (e.g. `days: charter_date-index`).
    pub indexes: Vec<String>,
    /// Whether point-in-time recovery is on (`None`: the table is missing, or the
    /// endpoint cannot say).
    pub point_in_time_recovery: Option<bool>,
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

/// One change `jada store create-tables` would make.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub table: String,
    /// What it does and what it costs, in a sentence.
    pub says: String,
    /// It changes a table jada did not create (a business table): asked for with `--yes`.
    pub changes_business_table: bool,
    #[serde(skip)]
    change: Change,
}

#[derive(Debug, Clone)]
enum Change {
    CreateTable(Box<Spec>),
    /// The index, and the throughput it carries (`None` on an on-demand table), decided
    /// from the description the plan read and said.
    AddIndex {
        index: IndexSpec,
        capacity: Option<(i64, i64)>,
    },
    Wait,
    BackfillMonth,
    Ttl(&'static str),
    Pitr,
}

/// How a wait for DynamoDB is going: the table, what it waits for, and since when.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub table: String,
    pub status: String,
    pub elapsed: Duration,
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

/// Whether an index's items carry every attribute jada reads from a charter.
fn projection_problem(g: &GlobalSecondaryIndexDescription) -> Option<String> {
    let p = g.projection()?;
    match p.projection_type() {
        Some(ProjectionType::All) | None => None,
        Some(ProjectionType::Include) => {
            let have = p.non_key_attributes();
            let lacking: Vec<&str> = crate::charters::OWNED
                .iter()
                .copied()
                .filter(|a| *a != "charter_date" && !have.iter().any(|h| h == a))
                .collect();
            (!lacking.is_empty()).then(|| format!("projects only some attributes (lacking {})", lacking.join(", ")))
        }
        Some(other) => Some(format!("projects {} only", other.as_str())),
    }
}

impl DynamoStore {
    pub(crate) async fn describe(&self, table: &str) -> Result<Option<TableDescription>> {
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

    /// Whether point-in-time recovery is on for each table jada uses (`None`: the endpoint
    /// does not offer it), for doctor.
    pub async fn point_in_time_recovery(&self) -> Result<Vec<(String, Option<bool>)>> {
        let t = &self.tables;
        let mut out = vec![];
        for table in [&t.charters, &t.crew, &t.chats, &t.ops] {
            out.push((table.clone(), self.pitr(table).await?));
        }
        Ok(out)
    }

    /// Whether point-in-time recovery is on. `None` when the endpoint does not offer
    /// continuous backups (a local test server may not).
    async fn pitr(&self, table: &str) -> Result<Option<bool>> {
        match self.client.describe_continuous_backups().table_name(table).send().await {
            Ok(out) => Ok(Some(
                out.continuous_backups_description()
                    .and_then(|d| d.point_in_time_recovery_description())
                    .and_then(|p| p.point_in_time_recovery_status())
                    == Some(&PointInTimeRecoveryStatus::Enabled),
            )),
            Err(e) if e.code() == Some("UnknownOperationException") => Ok(None),
            Err(e) => Err(failure(Op::new("DescribeContinuousBackups", table), e)),
        }
    }

    /// Whether the endpoint runs transactions, asked with one that writes nothing (a
    /// `ConditionCheck` that an item which is never written does not exist). `Some`: what
    /// is missing, for the check.
    async fn probe_transactions(&self, table: &str) -> Result<Option<String>> {
        use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem};
        let check = ConditionCheck::builder()
            .table_name(table)
            .key("pk", crate::wire::s("PROBE"))
            .key("sk", crate::wire::s("transactions"))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(crate::wire::built)?;
        let res = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(check).build())
            .send()
            .await;
        match res {
            Ok(_) => Ok(None),
            Err(e) if e.code() == Some("TransactionCanceledException") => Ok(None),
            Err(e) if e.code() == Some("UnknownOperationException") => Ok(Some(format!(
                "DynamoDB transactions: {}",
                failure(Op::new("TransactWriteItems", table), e)
            ))),
            Err(e) => Err(failure(Op::new("TransactWriteItems", table), e)),
        }
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
            warnings: vec![],
            indexes: vec![],
            point_in_time_recovery: None,
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
        for ix in &spec.indexes {
            self.check_index(&d, ix, &mut c);
        }
        let unreadable = self.unreadable_items(spec.role, &spec.name).await?;
        c.unreadable_count = unreadable.len();
        c.unreadable = unreadable.into_iter().take(50).collect();
        if spec.role == "charters" && self.month_index_wanted {
            let lacking = self.count_lacking_month().await?;
            if lacking > 0 {
                c.missing.push(format!(
                    "charter_month on {lacking} charters (written by a program that does not set it): with \
                     [store] month_index = true they are missing from every month; `jada store create-tables \
                     --yes` fills it, or turn month_index off"
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
        if spec.own {
            if let Some(lack) = self.probe_transactions(&spec.name).await? {
                c.missing.push(lack);
            }
        }
        c.point_in_time_recovery = self.pitr(&spec.name).await?;
        match c.point_in_time_recovery {
            Some(true) => {}
            Some(false) => c.warnings.push(format!(
                "point-in-time recovery is off: a mistaken write or delete cannot be undone. Turn it on: \
                 {}",
                if spec.own {
                    "`jada store create-tables`".to_string()
                } else {
                    format!(
                        "aws dynamodb update-continuous-backups --table-name {} \
                         --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
                        spec.name
                    )
                }
            )),
            None => c
                .notes
                .push("this endpoint cannot say whether point-in-time recovery is on".into()),
        }
        Ok(c)
    }

    /// Which live index serves `ix`, in what state, and what it lacks.
    fn check_index(&self, d: &TableDescription, ix: &IndexSpec, c: &mut TableCheck) {
        let purpose = match ix.hash {
            "charter_date" => "days",
            "charter_month" => "months",
            other => other,
        };
        match ix.find(d) {
            None if !ix.required => c.notes.push(format!(
                "no index on `{}`: months are read with one query per day (an index on {} is used only \
                 with [store] month_index = true)",
                ix.hash,
                ix.describe_key()
            )),
            None if ix.configured => c.missing.push(format!(
                "the global secondary index `{}` named by [store.tables] date_index: no index of that name; \
                 name the index whose partition key is {}, or remove date_index to let jada find it",
                ix.name, ix.hash
            )),
            None => c.missing.push(format!(
                "a global secondary index on {} (`jada store create-tables{}` adds `{}`)",
                ix.describe_key(),
                if c.role == "ops" { "" } else { " --yes" },
                ix.name
            )),
            Some(g) => {
                let name = g.index_name().unwrap_or_default();
                if index_hash(g) != Some(ix.hash) {
                    c.wrong.push(format!("the index `{name}` is not keyed by {}", ix.hash));
                }
                if let Some(p) = projection_problem(g).filter(|_| c.role == "charters") {
                    c.wrong.push(format!(
                        "the index `{name}` {p}: jada reads whole charters from it and needs ProjectionType ALL"
                    ));
                }
                let status = g.index_status().map(|s| s.as_str()).unwrap_or("ACTIVE");
                if status != "ACTIVE" {
                    c.notes.push(format!(
                        "the index `{name}` is {status}: `jada store create-tables` waits for it"
                    ));
                }
                c.indexes.push(format!("{purpose}: {name}"));
            }
        }
    }

    /// What `create-tables` would change, in order, each with its cost. Changes nothing.
    pub async fn plan(&self) -> Result<Vec<Step>> {
        let mut steps = vec![];
        for spec in specs(self) {
            let step = |says: String, change: Change| Step {
                table: spec.name.clone(),
                says,
                changes_business_table: !spec.own && !matches!(change, Change::Wait | Change::CreateTable(_)),
                change,
            };
            let Some(d) = self.describe(&spec.name).await? else {
                steps.push(step(
                    format!("create table `{}` (on demand)", spec.name),
                    Change::CreateTable(Box::new(spec.clone())),
                ));
                if let Some(attr) = spec.ttl {
                    steps.push(step(
                        format!("turn on time to live (`{attr}`) on `{}`", spec.name),
                        Change::Ttl(attr),
                    ));
                }
                if spec.own {
                    steps.push(step(
                        format!("turn on point-in-time recovery on `{}`", spec.name),
                        Change::Pitr,
                    ));
                }
                continue;
            };
            let mut adding = false;
            for ix in spec.indexes.iter().filter(|ix| ix.required && ix.find(&d).is_none()) {
                if ix.configured {
                    // A configured name that does not exist is the operator's to fix,
                    // not a reason to build a second index (`store check` says so).
                    continue;
                }
                adding = true;
                let capacity = self.index_capacity(&d);
                steps.push(step(
                    index_says(&d, &spec.name, ix, capacity),
                    Change::AddIndex {
                        index: ix.clone(),
                        capacity,
                    },
                ));
            }
            let building = d
                .global_secondary_indexes()
                .iter()
                .any(|g| g.index_status().is_some_and(|s| s.as_str() != "ACTIVE"));
            if building && !adding {
                steps.push(step(
                    format!("wait for the indexes of `{}` being built", spec.name),
                    Change::Wait,
                ));
            }
            if spec.role == "charters" && self.month_index_wanted {
                let lacking = self.count_lacking_month().await?;
                if lacking > 0 {
                    steps.push(step(
                        format!(
                            "set charter_month on {lacking} charters of `{}` that lack it ({lacking} writes)",
                            spec.name
                        ),
                        Change::BackfillMonth,
                    ));
                }
            }
            if let Some(attr) = spec.ttl {
                if self.ttl_attribute(&spec.name).await?.as_deref() != Some(attr) {
                    steps.push(step(
                        format!("turn on time to live (`{attr}`) on `{}`", spec.name),
                        Change::Ttl(attr),
                    ));
                }
            }
            if spec.own && self.pitr(&spec.name).await? == Some(false) {
                steps.push(step(
                    format!("turn on point-in-time recovery on `{}`", spec.name),
                    Change::Pitr,
                ));
            }
        }
        Ok(steps)
    }

    /// Makes one planned change, waiting for what DynamoDB builds in the background (an
    /// index, a table) and saying how the wait goes. Leaving during a wait is safe: the
    /// build goes on, and the next `create-tables` waits for it.
    pub async fn apply(&self, step: &Step, waiting: &(dyn Fn(&Waiting) + Send + Sync)) -> Result<String> {
        match &step.change {
            Change::CreateTable(spec) => {
                self.create_table(spec).await?;
                self.wait_active(&spec.name, waiting).await?;
                Ok(format!("created table `{}`", spec.name))
            }
            Change::AddIndex { index, capacity } => {
                self.add_index(&step.table, index, *capacity).await?;
                self.wait_active(&step.table, waiting).await?;
                Ok(format!("added index `{}` to `{}`", index.name, step.table))
            }
            Change::Wait => {
                self.wait_active(&step.table, waiting).await?;
                Ok(format!("the indexes of `{}` are ACTIVE", step.table))
            }
            Change::BackfillMonth => {
                let n = self.backfill_charter_month().await?;
                Ok(format!("set charter_month on {n} charters that lacked it"))
            }
            Change::Ttl(attr) => {
                self.client
                    .update_time_to_live()
                    .table_name(&step.table)
                    .time_to_live_specification(
                        TimeToLiveSpecification::builder()
                            .enabled(true)
                            .attribute_name(*attr)
                            .build()
                            .map_err(crate::wire::built)?,
                    )
                    .send()
                    .await
                    .map_err(|e| failure(Op::new("UpdateTimeToLive", &step.table), e))?;
                Ok(format!("turned on time to live (`{attr}`) on `{}`", step.table))
            }
            Change::Pitr => {
                let res = self
                    .client
                    .update_continuous_backups()
                    .table_name(&step.table)
                    .point_in_time_recovery_specification(
                        PointInTimeRecoverySpecification::builder()
                            .point_in_time_recovery_enabled(true)
                            .build()
                            .map_err(crate::wire::built)?,
                    )
                    .send()
                    .await;
                match res {
                    Ok(_) => Ok(format!("turned on point-in-time recovery on `{}`", step.table)),
                    Err(e) if e.code() == Some("UnknownOperationException") => Ok(format!(
                        "this endpoint has no point-in-time recovery; `{}` is left without it",
                        step.table
                    )),
                    Err(e) => Err(failure(Op::new("UpdateContinuousBackups", &step.table), e)),
                }
            }
        }
    }

    /// Makes every planned change, business tables included, without asking: for tests
    /// and fresh tables. `jada store create-tables` plans, asks, then applies.
    pub async fn create_tables(&self) -> Result<Vec<String>> {
        let mut done = vec![];
        for step in self.plan().await? {
            done.push(self.apply(&step, &|_| {}).await?);
        }
        Ok(done)
    }

    /// How many charters lack `charter_month` (a `Scan` counting them).
    async fn count_lacking_month(&self) -> Result<u64> {
        let table = &self.tables.charters;
        let pages = self
            .client
            .scan()
            .table_name(table)
            .filter_expression("attribute_not_exists(charter_month)")
            .select(aws_sdk_dynamodb::types::Select::Count)
            .into_paginator()
            .send();
        let mut n = 0u64;
        crate::wire::each_page(pages, Op::new("Scan", table), |page| n += page.count().max(0) as u64).await?;
        Ok(n)
    }

    /// Sets `charter_month` on charters that lack it (the old scripts do not write it), so
    /// the month index finds them. Returns how many it set.
    pub async fn backfill_charter_month(&self) -> Result<u64> {
        let table = &self.tables.charters;
        let lacking = self
            .client
            .scan()
            .table_name(table)
            .filter_expression("attribute_not_exists(charter_month) AND attribute_exists(charter_date)")
            .projection_expression("charter_id, created_at, charter_date")
            .into_paginator();
        let items = crate::wire::drain(lacking.items().send(), None, Op::new("Scan", table)).await?;
        let mut n = 0;
        for item in &items {
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
        Ok(n)
    }

    async fn create_table(&self, spec: &Spec) -> Result<()> {
        let mut attrs = vec![spec.key.0];
        attrs.extend(spec.key.1);
        for ix in &spec.indexes {
            attrs.push(ix.hash);
            attrs.extend(ix.range.iter());
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
            req = req.attribute_definitions(attribute(a)?);
        }
        // A new table gets every index (building one over no items costs nothing).
        for ix in &spec.indexes {
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&ix.name)
                    .set_key_schema(Some(keys(ix.hash, ix.range)?))
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()
                    .map_err(crate::wire::built)?,
            );
        }
        req.send()
            .await
            .map_err(|e| failure(Op::new("CreateTable", &spec.name), e))?;
        Ok(())
    }

    /// Adds an index to a live table. DynamoDB's rule: on a provisioned table a new index
    /// must have its own throughput ([store] index_read_capacity / index_write_capacity,
    /// default the table's own); on an on-demand table it must have none.
    async fn add_index(&self, table: &str, ix: &IndexSpec, capacity: Option<(i64, i64)>) -> Result<()> {
        let mut defs = vec![attribute(ix.hash)?];
        if let Some(r) = ix.range {
            defs.push(attribute(r)?);
        }
        let mut create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(&ix.name)
            .set_key_schema(Some(keys(ix.hash, ix.range)?))
            .projection(Projection::builder().projection_type(ProjectionType::All).build());
        if let Some((read, write)) = capacity {
            create = create.provisioned_throughput(
                ProvisionedThroughput::builder()
                    .read_capacity_units(read)
                    .write_capacity_units(write)
                    .build()
                    .map_err(crate::wire::built)?,
            );
        }
        self.client
            .update_table()
            .table_name(table)
            .set_attribute_definitions(Some(defs))
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder()
                    .create(create.build().map_err(crate::wire::built)?)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| failure(Op::new("UpdateTable", table), e))?;
        Ok(())
    }

    /// The throughput a new index of this table needs: `None` on an on-demand table.
    fn index_capacity(&self, d: &TableDescription) -> Option<(i64, i64)> {
        if billing_mode(d) != BillingMode::Provisioned {
            return None;
        }
        let own = d.provisioned_throughput();
        let table_read = own.and_then(|p| p.read_capacity_units()).unwrap_or(1).max(1);
        let table_write = own.and_then(|p| p.write_capacity_units()).unwrap_or(1).max(1);
        Some((
            self.index_capacity.0.map_or(table_read, |r| r as i64),
            self.index_capacity.1.map_or(table_write, |w| w as i64),
        ))
    }

    /// Waits for a table and its indexes to be ACTIVE, as long as it takes (an index
    /// over a big table builds for hours), saying every few seconds how it goes.
    async fn wait_active(&self, table: &str, waiting: &(dyn Fn(&Waiting) + Send + Sync)) -> Result<()> {
        let started = std::time::Instant::now();
        loop {
            let Some(d) = self.describe(table).await? else {
                return Err(StoreError::Setup(format!(
                    "table `{table}` is gone while jada waited for it; look at it in the AWS console"
                )));
            };
            let pending: Vec<String> = d
                .global_secondary_indexes()
                .iter()
                .filter(|g| g.index_status().is_some_and(|s| s.as_str() != "ACTIVE"))
                .map(|g| {
                    format!(
                        "index `{}` {}{}",
                        g.index_name().unwrap_or_default(),
                        g.index_status().map(|s| s.as_str()).unwrap_or_default(),
                        if g.backfilling() == Some(true) {
                            " (backfilling)"
                        } else {
                            ""
                        }
                    )
                })
                .collect();
            let table_ready = d.table_status() == Some(&TableStatus::Active);
            if table_ready && pending.is_empty() {
                return Ok(());
            }
            let mut status = pending;
            if !table_ready {
                status.insert(
                    0,
                    format!("table {}", d.table_status().map(|s| s.as_str()).unwrap_or("?")),
                );
            }
            waiting(&Waiting {
                table: table.to_string(),
                status: status.join(", "),
                elapsed: started.elapsed(),
            });
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}

/// What adding an index to a live table costs, in words an operator can weigh.
fn index_says(d: &TableDescription, table: &str, ix: &IndexSpec, capacity: Option<(i64, i64)>) -> String {
    let items = d.item_count().unwrap_or(0);
    let mb = d.table_size_bytes().unwrap_or(0) as f64 / 1e6;
    let mode = match capacity {
        Some((read, write)) => format!(
            "the table is provisioned: the index gets {read} read and {write} write capacity units of its own \
             ([store] index_read_capacity, index_write_capacity; default the table's)"
        ),
        None => "the table is on demand: the build's writes are billed as writes".to_string(),
    };
    format!(
        "add index `{}` ({}) to `{table}`: an online index build over about {items} items ({mb:.1} MB, \
         DynamoDB's figures, updated every six hours or so); the table stays usable, the build reads it all \
         and can take hours on a large table; {mode}",
        ix.name,
        ix.describe_key()
    )
}

fn billing_mode(d: &TableDescription) -> BillingMode {
    d.billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .cloned()
        // Tables made before on-demand existed have no summary: provisioned.
        .unwrap_or(BillingMode::Provisioned)
}

fn attribute(name: &str) -> Result<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(crate::wire::built)
}

fn keys(hash: &str, range: Option<&str>) -> Result<Vec<KeySchemaElement>> {
    let mut out = vec![KeySchemaElement::builder()
        .attribute_name(hash)
        .key_type(KeyType::Hash)
        .build()
        .map_err(crate::wire::built)?];
    if let Some(r) = range {
        out.push(
            KeySchemaElement::builder()
                .attribute_name(r)
                .key_type(KeyType::Range)
                .build()
                .map_err(crate::wire::built)?,
        );
    }
    Ok(out)
}
