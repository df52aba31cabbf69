//! Job runs, quiet-job checks, credential states, leases, alerts and statement sends in
//! `jada-ops`. Runs carry the daemon instance that runs them, so a restarting daemon
//! abandons only its own; a lease is a conditional write with a fencing number.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jada_core::{CredentialState, Month};
use jada_store::{
    AlertRecord, AlertStatus, AlertStore, CredentialStateStore, JobRun, JobRunStore, LeaseStore, Result, RunEnd,
    RunOutcome, SentStatement, StatementStore, StoreError, Trigger,
};
use uuid::Uuid;

use crate::docs::{Change, Index, Query};
use crate::records::{run_pk, seq, CheckDoc, LeaseDoc, RunDoc};
use crate::wire::{conditional, n, s};
use crate::DynamoStore;

const ABANDONED: &str = "the process running this job stopped before it finished";

#[async_trait]
impl JobRunStore for DynamoStore {
    async fn start_run(&self, job: &str, trigger: Trigger, now: DateTime<Utc>) -> Result<JobRun> {
        let run = JobRun::started(job, trigger, now);
        let doc = RunDoc {
            run: run.clone(),
            owner: self.instance.clone(),
            seq: seq(),
        };
        self.put_doc(&doc, Some("")).await?;
        Ok(run)
    }

    async fn finish_run(&self, run_id: Uuid, end: &RunEnd, now: DateTime<Utc>) -> Result<JobRun> {
        self.change::<RunDoc, Option<JobRun>, _>(&run_pk(run_id), "RUN", |cur| match cur {
            Some(mut d) if d.run.outcome == RunOutcome::Running => {
                let r = &mut d.run;
                r.outcome = end.outcome;
                r.summary = end.summary.clone();
                r.error = end.error.clone();
                r.finished_at = Some(now);
                r.attempts = end.attempts;
                r.recovery = end.recovery;
                r.needs_reauth = end.needs_reauth.clone();
                let run = r.clone();
                Ok(Change::Write(d, Some(run)))
            }
            _ => Ok(Change::Keep(None)),
        })
        .await?
        .ok_or_else(|| StoreError::NoSuchRecord {
            what: "job run",
            id: run_id.to_string(),
            why: "is not running",
        })
    }

    async fn abandon_running_runs(&self, now: DateTime<Utc>) -> Result<u64> {
        // Only this daemon's: another daemon's running jobs are alive (or their leases
        // will expire and their next run says so).
        let q = Query::on(Index::Gsi(3), format!("RUNNING#{}", self.instance));
        let mut n = 0;
        for d in self.query_values::<RunDoc>(&q).await? {
            let abandoned = self
                .change::<RunDoc, bool, _>(&run_pk(d.run.run_id), "RUN", |cur| match cur {
                    Some(mut d) if d.run.outcome == RunOutcome::Running => {
                        d.run.outcome = RunOutcome::Abandoned;
                        d.run.finished_at = Some(now);
                        d.run.error = Some(ABANDONED.into());
                        Ok(Change::Write(d, true))
                    }
                    _ => Ok(Change::Keep(false)),
                })
                .await?;
            n += u64::from(abandoned);
        }
        Ok(n)
    }

    async fn last_success(&self, job: &str) -> Result<Option<JobRun>> {
        let q = Query::on(Index::Gsi(3), format!("RUNOK#{job}")).newest_first().limit(1);
        Ok(self.query_values::<RunDoc>(&q).await?.pop().map(|d| d.run))
    }

    async fn recent_runs(&self, job: Option<&str>, limit: usize) -> Result<Vec<JobRun>> {
        let q = match job {
            Some(job) => Query::on(Index::Gsi(1), format!("RUNS#{job}")),
            None => Query::on(Index::Gsi(2), "RUNS"),
        };
        let q = q.newest_first().limit(limit);
        Ok(self
            .query_values::<RunDoc>(&q)
            .await?
            .into_iter()
            .map(|d| d.run)
            .collect())
    }

    async fn record_check(&self, job: &str, at: DateTime<Utc>) -> Result<()> {
        self.put_doc(&CheckDoc { job: job.into(), at }, None).await?;
        Ok(())
    }

    async fn last_checks(&self) -> Result<Vec<(String, DateTime<Utc>)>> {
        let checks = self.query_values::<CheckDoc>(&Query::on(Index::Table, "CHECK")).await?;
        Ok(checks.into_iter().map(|c| (c.job, c.at)).collect())
    }
}

#[async_trait]
impl CredentialStateStore for DynamoStore {
    async fn put_credential_state(&self, state: &CredentialState) -> Result<()> {
        self.put_doc(state, None).await?;
        Ok(())
    }

    async fn get_credential_state(&self, name: &str) -> Result<Option<CredentialState>> {
        Ok(self.get_doc::<CredentialState>("CRED", name).await?.map(|d| d.value))
    }

    async fn list_credential_states(&self) -> Result<Vec<CredentialState>> {
        self.query_values(&Query::on(Index::Table, "CRED")).await
    }
}

#[async_trait]
impl LeaseStore for DynamoStore {
    /// One conditional `UpdateItem`: the lease is taken if it is free, expired, or
    /// already `owner`'s (a renewal). `owner` and `until_us` are top-level attributes so
    /// the condition can read them; the fencing number goes up on every take or renewal.
    /// The daemon's polling jobs take and give back leases every second: one request
    /// each way, not a read and a write.
    async fn try_acquire_lease(&self, name: &str, owner: &str, now: DateTime<Utc>, ttl: Duration) -> Result<bool> {
        let until = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let doc = LeaseDoc {
            name: name.into(),
            owner: owner.into(),
            until,
        };
        let json = serde_json::to_string(&doc).map_err(|e| StoreError::Corrupt {
            what: "lease",
            detail: format!("cannot encode it: {e}"),
        })?;
        let res = self
            .client
            .update_item()
            .table_name(&self.tables.ops)
            .key("pk", s("LEASE"))
            .key("sk", s(name))
            .update_expression("SET doc = :doc, tok = :tok, #owner = :me, until_us = :until ADD fence :one")
            .condition_expression("attribute_not_exists(pk) OR until_us <= :now OR #owner = :me")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":doc", s(json))
            .expression_attribute_values(":tok", s(crate::wire::token()))
            .expression_attribute_values(":me", s(owner))
            .expression_attribute_values(":until", n(until.timestamp_micros()))
            .expression_attribute_values(":now", n(now.timestamp_micros()))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        conditional(res, self.ops_op("UpdateItem"))
    }

    /// One `DeleteItem`, only while `owner` holds it (a lost race means someone took it
    /// over: then it is not ours to drop).
    async fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.tables.ops)
            .key("pk", s("LEASE"))
            .key("sk", s(name))
            .condition_expression("#owner = :me")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":me", s(owner))
            .send()
            .await;
        conditional(res, self.ops_op("DeleteItem")).map(|_| ())
    }

    async fn list_leases(&self) -> Result<Vec<(String, String, DateTime<Utc>)>> {
        let leases = self.query_values::<LeaseDoc>(&Query::on(Index::Table, "LEASE")).await?;
        Ok(leases.into_iter().map(|l| (l.name, l.owner, l.until)).collect())
    }
}

#[async_trait]
impl AlertStore for DynamoStore {
    async fn get_alert(&self, key: &str) -> Result<Option<AlertRecord>> {
        Ok(self.get_doc::<AlertRecord>("ALERT", key).await?.map(|d| d.value))
    }

    async fn put_alert(&self, alert: &AlertRecord) -> Result<()> {
        self.put_doc(alert, None).await?;
        Ok(())
    }

    async fn list_alerts(&self) -> Result<Vec<AlertRecord>> {
        let mut alerts = self
            .query_values::<AlertRecord>(&Query::on(Index::Table, "ALERT"))
            .await?;
        alerts.sort_by(|a, b| {
            (a.status == AlertStatus::Resolved, &a.key).cmp(&(b.status == AlertStatus::Resolved, &b.key))
        });
        Ok(alerts)
    }
}

#[async_trait]
impl StatementStore for DynamoStore {
    async fn record_statement(&self, sent: &SentStatement) -> Result<()> {
        self.put_doc(sent, None).await?;
        Ok(())
    }

    async fn list_statements(&self, month: Month) -> Result<Vec<SentStatement>> {
        self.query_values(&Query::on(Index::Table, format!("STMT#{month}")))
            .await
    }
}
