//! On-demand backups of the tables jada uses (`jada backup now|list` on DynamoDB): DynamoDB
//! copies each table itself (`CreateBackup`); jada copies no data out. Point-in-time
//! recovery, which `jada store check` reports, covers the time between them.

use chrono::{DateTime, Utc};
use jada_store::StoreError;
use serde::Serialize;

use crate::wire::{failure, Op};
use crate::DynamoStore;

/// One on-demand backup of one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableBackup {
    pub table: String,
    pub name: String,
    pub arn: String,
    pub created_at: Option<DateTime<Utc>>,
    /// CREATING, AVAILABLE or DELETED.
    pub status: String,
    pub bytes: Option<i64>,
}

type Result<T> = std::result::Result<T, StoreError>;

fn time(t: Option<&aws_sdk_dynamodb::primitives::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

impl DynamoStore {
    /// The tables jada uses: the business's three and its own.
    fn backup_tables(&self) -> [&str; 4] {
        let t = &self.tables;
        [&t.charters, &t.crew, &t.chats, &t.ops]
    }

    /// Asks DynamoDB for an on-demand backup of each table, named `jada-TABLE-ID`.
    pub async fn create_backups(&self, id: &str) -> Result<Vec<TableBackup>> {
        let mut out = vec![];
        for table in self.backup_tables() {
            let name = format!("jada-{table}-{id}");
            let made = self
                .client
                .create_backup()
                .table_name(table)
                .backup_name(&name)
                .send()
                .await
                .map_err(|e| failure(Op::new("CreateBackup", table), e))?;
            let d = made.backup_details();
            out.push(TableBackup {
                table: table.to_string(),
                name,
                arn: d.map(|d| d.backup_arn().to_string()).unwrap_or_default(),
                created_at: time(d.map(|d| d.backup_creation_date_time())),
                status: d.map(|d| d.backup_status().as_str().to_string()).unwrap_or_default(),
                bytes: d.and_then(|d| d.backup_size_bytes()),
            });
        }
        Ok(out)
    }

    /// Every on-demand backup of the tables jada uses, newest first.
    pub async fn list_backups(&self) -> Result<Vec<TableBackup>> {
        let mut out = vec![];
        for table in self.backup_tables() {
            let mut start: Option<String> = None;
            loop {
                let page = self
                    .client
                    .list_backups()
                    .table_name(table)
                    .set_exclusive_start_backup_arn(start.take())
                    .send()
                    .await
                    .map_err(|e| failure(Op::new("ListBackups", table), e))?;
                for b in page.backup_summaries() {
                    out.push(TableBackup {
                        table: table.to_string(),
                        name: b.backup_name().unwrap_or_default().to_string(),
                        arn: b.backup_arn().unwrap_or_default().to_string(),
                        created_at: time(b.backup_creation_date_time()),
                        status: b.backup_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                        bytes: b.backup_size_bytes(),
                    });
                }
                match page.last_evaluated_backup_arn() {
                    Some(arn) => start = Some(arn.to_string()),
                    None => break,
                }
            }
        }
        out.sort_by_key(|b| std::cmp::Reverse(b.created_at));
        Ok(out)
    }
}
