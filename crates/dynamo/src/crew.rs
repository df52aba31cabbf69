//! The crew roster in the business's `crew-roster` table (key `crew_id`).
//!
//! `available_dates` is a string set, absent when empty (DynamoDB has no empty set).
//! jada adds `active` (BOOL, default true). The roster is a few hundred items, so lists
//! and lookups by email read it whole (a `Scan`); an email is claimed in `jada-ops`
//! (`EMAIL#<address>`) in the same transaction as the write, so two members can never
//! take one address, even written at once from two daemons.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use chrono::NaiveDate;
use jada_core::{CrewId, CrewMember, Email};
use jada_store::{CrewStore, Result, StoreError};

use crate::docs::Tx;
use crate::wire::{conditional, failure, get_s, s, values, Item, Op};
use crate::DynamoStore;

pub(crate) fn read_member(item: &Item) -> std::result::Result<CrewMember, String> {
    let id = get_s(item, "crew_id").ok_or("has no crew_id")?;
    let bad = |attr: &str, why: String| format!("crew_id={id}: attribute `{attr}` {why}");
    let crew_id = CrewId::parse(id).map_err(|e| bad("crew_id", e.0))?;
    let email = get_s(item, "email").ok_or_else(|| bad("email", "is missing".into()))?;
    let available_dates = match item.get("available_dates") {
        None | Some(AttributeValue::Null(_)) => BTreeSet::new(),
        Some(AttributeValue::Ss(set)) => set
            .iter()
            .map(|d| {
                d.parse::<NaiveDate>()
                    .map_err(|_| bad("available_dates", format!("holds `{d}`, not a date")))
            })
            .collect::<std::result::Result<_, _>>()?,
        Some(AttributeValue::L(list)) => list
            .iter()
            .filter_map(|v| match v {
                AttributeValue::S(d) => Some(d),
                _ => None,
            })
            .map(|d| {
                d.parse::<NaiveDate>()
                    .map_err(|_| bad("available_dates", format!("holds `{d}`, not a date")))
            })
            .collect::<std::result::Result<_, _>>()?,
        Some(_) => return Err(bad("available_dates", "is not a set of dates".into())),
    };
    let flag = |name: &str, default: bool| match item.get(name) {
        Some(AttributeValue::Bool(b)) => *b,
        _ => default,
    };
    Ok(CrewMember {
        crew_id,
        name: get_s(item, "name").unwrap_or(id).to_string(),
        email: Email::parse(email).map_err(|e| bad("email", e.0))?,
        phone: get_s(item, "phone").filter(|p| !p.is_empty()).map(str::to_string),
        captain_certified: flag("captain_certified", false),
        available_dates,
        active: flag("active", true),
    })
}

/// Whether an expression names `#attr` (DynamoDB refuses unused name placeholders).
fn expr_uses(expr: &str, attr: &str) -> bool {
    expr.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '#'))
        .any(|w| w == format!("#{attr}"))
}

fn dates_value(dates: &BTreeSet<NaiveDate>) -> AttributeValue {
    AttributeValue::Ss(dates.iter().map(|d| d.to_string()).collect())
}

impl DynamoStore {
    fn crew_op(&self, action: &'static str) -> Op<'_> {
        Op::new(action, &self.tables.crew)
    }

    /// The whole roster (a consistent `Scan`: a few hundred items), by crew id.
    async fn roster(&self) -> Result<Vec<CrewMember>> {
        let mut out = Vec::new();
        for item in self.scan(&self.tables.crew, None).await? {
            match read_member(&item) {
                Ok(m) => out.push(m),
                Err(why) => tracing::warn!(table = %self.tables.crew, "skipped an unreadable crew member: {why}"),
            }
        }
        out.sort_by(|a, b| a.crew_id.cmp(&b.crew_id));
        Ok(out)
    }

    fn email_claim(&self, email: &Email, id: &CrewId) -> Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.tables.ops)
            .item("pk", s(format!("EMAIL#{}", email.as_str())))
            .item("sk", s("EMAIL"))
            .item("crew_id", s(id.as_str()))
            .condition_expression("attribute_not_exists(pk) OR crew_id = :me")
            .expression_attribute_values(":me", s(id.as_str()))
            .build()
            .map_err(crate::wire::built)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn email_release(&self, email: &Email, id: &CrewId) -> Result<TransactWriteItem> {
        let del = Delete::builder()
            .table_name(&self.tables.ops)
            .key("pk", s(format!("EMAIL#{}", email.as_str())))
            .key("sk", s("EMAIL"))
            .condition_expression("attribute_not_exists(pk) OR crew_id = :me")
            .expression_attribute_values(":me", s(id.as_str()))
            .build()
            .map_err(crate::wire::built)?;
        Ok(TransactWriteItem::builder().delete(del).build())
    }

    fn member_update(&self, m: &CrewMember) -> Result<TransactWriteItem> {
        let mut vals = values([
            (":name", s(&m.name)),
            (":email", s(m.email.as_str())),
            (":captain_certified", AttributeValue::Bool(m.captain_certified)),
            (":active", AttributeValue::Bool(m.active)),
        ]);
        let mut set = vec![
            "#name = :name",
            "#email = :email",
            "#captain_certified = :captain_certified",
            "#active = :active",
        ];
        let mut remove = vec![];
        match &m.phone {
            Some(p) => {
                vals.insert(":phone".into(), s(p));
                set.push("#phone = :phone");
            }
            None => remove.push("#phone"),
        }
        if m.available_dates.is_empty() {
            remove.push("#available_dates");
        } else {
            vals.insert(":dates".into(), dates_value(&m.available_dates));
            set.push("#available_dates = :dates");
        }
        let mut expr = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expr.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let update = Update::builder()
            .table_name(&self.tables.crew)
            .key("crew_id", s(m.crew_id.as_str()))
            .update_expression(&expr)
            .set_expression_attribute_names(Some(
                [
                    "name",
                    "email",
                    "phone",
                    "captain_certified",
                    "active",
                    "available_dates",
                ]
                .into_iter()
                .filter(|a| expr_uses(&expr, a))
                .map(|a| (format!("#{a}"), a.to_string()))
                .collect(),
            ))
            .set_expression_attribute_values(Some(vals))
            .build()
            .map_err(crate::wire::built)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

#[async_trait]
impl CrewStore for DynamoStore {
    async fn upsert_crew(&self, member: &CrewMember) -> Result<()> {
        // Members the old scripts wrote have no email claim: look at the roster too.
        let roster = self.roster().await?;
        if let Some(owner) = roster
            .iter()
            .find(|o| o.email == member.email && o.crew_id != member.crew_id)
        {
            return Err(StoreError::EmailTaken {
                email: member.email.clone(),
                owner: owner.crew_id.clone(),
            });
        }
        let previous = roster.iter().find(|o| o.crew_id == member.crew_id);
        let mut tx = Tx::new(self);
        tx.push(self.member_update(member)?);
        tx.push(self.email_claim(&member.email, &member.crew_id)?);
        if let Some(old) = previous.filter(|o| o.email != member.email) {
            tx.push(self.email_release(&old.email, &member.crew_id)?);
        }
        match tx.commit().await? {
            None => Ok(()),
            Some(_) => {
                let owner = self
                    .get_doc_raw(&format!("EMAIL#{}", member.email.as_str()), "EMAIL")
                    .await?
                    .and_then(|i| get_s(&i, "crew_id").and_then(|c| CrewId::parse(c).ok()));
                Err(StoreError::EmailTaken {
                    email: member.email.clone(),
                    owner: owner.unwrap_or_else(|| member.crew_id.clone()),
                })
            }
        }
    }

    async fn get_crew(&self, id: &CrewId) -> Result<Option<CrewMember>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.crew)
            .key("crew_id", s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failure(self.crew_op("GetItem"), e))?;
        out.item()
            .map(|i| {
                read_member(i).map_err(|why| StoreError::Corrupt {
                    what: "crew member",
                    detail: why,
                })
            })
            .transpose()
    }

    async fn get_crew_by_email(&self, email: &Email) -> Result<Option<CrewMember>> {
        Ok(self.roster().await?.into_iter().find(|m| m.email == *email))
    }

    async fn list_crew(&self) -> Result<Vec<CrewMember>> {
        self.roster().await
    }

    async fn set_availability(&self, id: &CrewId, dates: &BTreeSet<NaiveDate>) -> Result<()> {
        let req = self
            .client
            .update_item()
            .table_name(&self.tables.crew)
            .key("crew_id", s(id.as_str()))
            .condition_expression("attribute_exists(crew_id)");
        let req = if dates.is_empty() {
            req.update_expression("REMOVE available_dates")
        } else {
            req.update_expression("SET available_dates = :d")
                .expression_attribute_values(":d", dates_value(dates))
        };
        if conditional(req.send().await, self.crew_op("UpdateItem"))? {
            Ok(())
        } else {
            Err(StoreError::CrewNotFound(id.clone()))
        }
    }

    async fn list_crew_available_on(&self, date: NaiveDate) -> Result<Vec<CrewMember>> {
        Ok(self
            .roster()
            .await?
            .into_iter()
            .filter(|m| m.active && m.available_dates.contains(&date))
            .collect())
    }
}
