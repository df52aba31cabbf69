//! Job run history in SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use uuid::Uuid;

use super::{corrupt, parse_ts, ts, SqliteStore};
use crate::{JobRun, JobRunStore, Result, RunEnd, RunOutcome, StoreError, Trigger};

const COLUMNS: &str =
    "run_id, job, trigger, started_at, finished_at, outcome, error, summary, attempts, recovery, needs_reauth";

#[async_trait]
impl JobRunStore for SqliteStore {
    async fn start_run(&self, job: &str, trigger: Trigger, now: DateTime<Utc>) -> Result<JobRun> {
        let run = JobRun::started(job, trigger, now);
        let r = run.clone();
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO job_runs (run_id, job, trigger, started_at, outcome) VALUES (?1, ?2, ?3, ?4, 'running')",
                params![r.run_id.to_string(), r.job, r.trigger.as_str(), ts(r.started_at)],
            )?;
            Ok(())
        })
        .await?;
        Ok(run)
    }

    async fn finish_run(&self, run_id: Uuid, end: &RunEnd, now: DateTime<Utc>) -> Result<JobRun> {
        let end = end.clone();
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE job_runs SET outcome = ?2, summary = ?3, error = ?4, finished_at = ?5,
                    attempts = ?6, recovery = ?7, needs_reauth = ?8
                 WHERE run_id = ?1 AND outcome = 'running'",
                params![
                    run_id.to_string(),
                    end.outcome.as_str(),
                    end.summary,
                    end.error,
                    ts(now),
                    end.attempts,
                    end.recovery.map(|r| r.as_str()),
                    end.needs_reauth
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NoSuchRecord {
                    what: "job run",
                    id: run_id.to_string(),
                    why: "is not running",
                });
            }
            let sql = format!("SELECT {COLUMNS} FROM job_runs WHERE run_id = ?1");
            conn.query_row(&sql, [run_id.to_string()], read_row)?
        })
        .await
    }

    async fn abandon_running_runs(&self, now: DateTime<Utc>) -> Result<u64> {
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE job_runs SET outcome = 'abandoned', finished_at = ?1,
                    error = 'the process running this job stopped before it finished' WHERE outcome = 'running'",
                [ts(now)],
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn last_success(&self, job: &str) -> Result<Option<JobRun>> {
        let job = job.to_string();
        self.call(move |conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM job_runs WHERE outcome = 'succeeded' AND job = ?1 ORDER BY seq DESC LIMIT 1"
            );
            conn.query_row(&sql, [job], read_row).optional()?.transpose()
        })
        .await
    }

    async fn record_check(&self, job: &str, at: DateTime<Utc>) -> Result<()> {
        let job = job.to_string();
        self.call(move |conn| {
            conn.prepare_cached(
                "INSERT INTO job_checks (job, at) VALUES (?1, ?2) ON CONFLICT(job) DO UPDATE SET at = excluded.at",
            )?
            .execute(params![job, ts(at)])?;
            Ok(())
        })
        .await
    }

    async fn last_checks(&self) -> Result<Vec<(String, DateTime<Utc>)>> {
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT job, at FROM job_checks ORDER BY job")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            rows.map(|row| {
                let (job, at) = row?;
                Ok((job, parse_ts("job check at", &at)?))
            })
            .collect()
        })
        .await
    }

    async fn recent_runs(&self, job: Option<&str>, limit: usize) -> Result<Vec<JobRun>> {
        let job = job.map(str::to_string);
        self.call(move |conn| match job {
            Some(job) => {
                let sql = format!("SELECT {COLUMNS} FROM job_runs WHERE job = ?1 ORDER BY seq DESC LIMIT ?2");
                read_all(conn, &sql, params![job, limit as i64])
            }
            None => {
                let sql = format!("SELECT {COLUMNS} FROM job_runs ORDER BY seq DESC LIMIT ?1");
                read_all(conn, &sql, params![limit as i64])
            }
        })
        .await
    }
}

fn read_all<P: rusqlite::Params>(conn: &Connection, sql: &str, p: P) -> Result<Vec<JobRun>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(p, read_row)?;
    rows.map(|r| r?).collect()
}

fn read_row(r: &Row) -> rusqlite::Result<Result<JobRun>> {
    let id: String = r.get(0)?;
    let job: String = r.get(1)?;
    let trigger: String = r.get(2)?;
    let started: String = r.get(3)?;
    let finished: Option<String> = r.get(4)?;
    let outcome: String = r.get(5)?;
    let (error, summary) = (r.get(6)?, r.get(7)?);
    let (attempts, recovery, needs_reauth): (u32, Option<String>, Option<String>) = (r.get(8)?, r.get(9)?, r.get(10)?);
    Ok((|| {
        Ok(JobRun {
            run_id: id.parse().map_err(|_| corrupt("job run", format!("id `{id}`")))?,
            job,
            trigger: Trigger::parse(&trigger)
                .ok_or_else(|| corrupt("job run", format!("{id}: trigger `{trigger}`")))?,
            started_at: parse_ts("job run started_at", &started)?,
            finished_at: finished
                .as_deref()
                .map(|f| parse_ts("job run finished_at", f))
                .transpose()?,
            outcome: RunOutcome::parse(&outcome)
                .ok_or_else(|| corrupt("job run", format!("{id}: outcome `{outcome}`")))?,
            error,
            summary,
            attempts,
            recovery: recovery
                .map(|x| {
                    jada_core::Recovery::parse(&x).ok_or_else(|| corrupt("job run", format!("{id}: recovery `{x}`")))
                })
                .transpose()?,
            needs_reauth,
        })
    })())
}
