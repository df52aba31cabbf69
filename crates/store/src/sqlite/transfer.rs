//! Export and import of a whole SQLite store (`jada store migrate`). Imports keep every
//! id, version and time, and replace rows with the same key: copying twice changes
//! nothing.

use async_trait::async_trait;
use chrono::Utc;
use jada_core::Month;
use rusqlite::{params, Connection};

use super::{parse_ts, ts, SqliteStore};
use crate::transfer::{Kind, Record, TransferStore};
use crate::{
    AccessStore, AlertStore, CredentialStateStore, CrewStore, JobRunStore, OfferStore, Result, SentStatement, Session,
    StatementStore, StoreError,
};

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(Box::new(e)))
}

#[async_trait]
impl TransferStore for SqliteStore {
    async fn export_raw(&self, kind: Kind) -> Result<Vec<Record>> {
        self.call(move |conn| match kind {
            Kind::Charters => {
                let sql = format!(
                    "SELECT {} FROM charters ORDER BY charter_date, start_time, charter_id",
                    super::charters::COLUMNS
                );
                Ok(super::charters::collect(conn, &sql, [])?
                    .into_iter()
                    .map(Record::Charter)
                    .collect())
            }
            Kind::Statements => statements(conn),
            Kind::Sessions => {
                let mut stmt = conn.prepare("SELECT token_hash, email, created_at, expires_at FROM sessions")?;
                let rows = stmt.query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })?;
                rows.map(|row| {
                    let (token_hash, email, created, expires) = row?;
                    Ok(Record::Session(Session {
                        token_hash,
                        email,
                        created_at: parse_ts("session created_at", &created)?,
                        expires_at: parse_ts("session expires_at", &expires)?,
                    }))
                })
                .collect()
            }
            Kind::Nonces => {
                let mut stmt = conn.prepare("SELECT nonce, used_at FROM used_links")?;
                let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
                rows.map(|row| {
                    let (nonce, at) = row?;
                    Ok(Record::Nonce(nonce, parse_ts("nonce used_at", &at)?))
                })
                .collect()
            }
            other => Err(StoreError::Backend(
                format!("{} are listed through the store's traits", other.label()).into(),
            )),
        })
        .await
    }

    async fn import(&self, records: &[Record]) -> Result<()> {
        // What the traits already write idempotently goes through them.
        let mut raw = vec![];
        for r in records {
            match r {
                Record::Crew(m) => self.upsert_crew(m).await?,
                Record::Check(job, at) => self.record_check(job, *at).await?,
                Record::Credential(c) => self.put_credential_state(c).await?,
                Record::Alert(a) => self.put_alert(a).await?,
                Record::Statement(s) => self.record_statement(s).await?,
                Record::Dispatch(d) => self.put_dispatch(d).await?,
                Record::Nonce(n, at) => {
                    self.use_link_nonce(n, *at).await?;
                }
                other => raw.push(other.clone()),
            }
        }
        self.call(move |conn| {
            let tx = super::write_tx(conn)?;
            for r in &raw {
                write(&tx, r)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

fn statements(conn: &Connection) -> Result<Vec<Record>> {
    let mut stmt =
        conn.prepare("SELECT month, key, recipient, message_id, sent_at FROM statements ORDER BY month, key")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    rows.map(|row| {
        let (month, key, recipient, message_id, at) = row?;
        Ok(Record::Statement(SentStatement {
            month: Month::parse(&month).map_err(|e| super::corrupt("statement month", e.0))?,
            key,
            recipient,
            message_id,
            sent_at: parse_ts("statement sent_at", &at)?,
        }))
    })
    .collect()
}

/// One record's rows, replacing what has its key.
fn write(conn: &Connection, r: &Record) -> Result<()> {
    match r {
        Record::Charter(c) => super::charters::put(conn, c, Utc::now())?,
        Record::Chat(m) => {
            conn.prepare_cached(
                "INSERT INTO chat_messages (message_id, charter_id, posted_at, author, kind, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(message_id) DO NOTHING",
            )?
            .execute(params![
                m.message_id.to_string(),
                m.charter_id.to_string(),
                ts(m.posted_at),
                json(&m.author)?,
                m.kind.as_str(),
                m.body
            ])?;
        }
        Record::Event(e) => {
            conn.prepare_cached(
                "INSERT INTO outbox (event_id, topic, payload, created_at, status, attempts, next_attempt_at, last_error, finished_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(event_id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
                    next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error, finished_at = excluded.finished_at",
            )?
            .execute(params![
                e.event_id.to_string(),
                e.event.topic(),
                json(&e.event)?,
                ts(e.created_at),
                e.status.as_str(),
                e.attempts,
                ts(e.next_attempt_at),
                e.last_error,
                e.finished_at.map(ts)
            ])?;
        }
        Record::Run(run) => {
            conn.prepare_cached(
                "INSERT INTO job_runs (run_id, job, trigger, started_at, finished_at, outcome, error, summary, attempts, recovery, needs_reauth)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT(run_id) DO UPDATE SET finished_at = excluded.finished_at, outcome = excluded.outcome,
                    error = excluded.error, summary = excluded.summary, attempts = excluded.attempts,
                    recovery = excluded.recovery, needs_reauth = excluded.needs_reauth",
            )?
            .execute(params![
                run.run_id.to_string(),
                run.job,
                run.trigger.as_str(),
                ts(run.started_at),
                run.finished_at.map(ts),
                run.outcome.as_str(),
                run.error,
                run.summary,
                run.attempts,
                run.recovery.map(|r| r.as_str()),
                run.needs_reauth
            ])?;
        }
        Record::Offer(o) => {
            conn.prepare_cached(&format!(
                "INSERT OR REPLACE INTO offers ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                super::offers::OFFER_COLUMNS
            ))?
            .execute(params![
                o.offer_id.to_string(),
                o.charter_id.to_string(),
                o.crew_id.as_str(),
                super::offers::seat_str(o.seat),
                super::offers::status_str(o.status),
                ts(o.offered_at),
                ts(o.expires_at),
                o.answered_at.map(ts)
            ])?;
        }
        Record::Session(s) => {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO sessions (token_hash, email, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![s.token_hash, s.email, ts(s.created_at), ts(s.expires_at)])?;
        }
        Record::ApiKey(k) => {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO api_keys (name, key_hash, created_at, revoked_at, mcp_read_only) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![k.name, k.key_hash, ts(k.created_at), k.revoked_at.map(ts), k.mcp_read_only])?;
        }
        Record::Task(t) => {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO tasks (id, title, body, status, source, source_ref, charter_id, assignee, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                t.id as i64,
                t.title,
                t.body,
                t.status.as_str(),
                t.source.as_str(),
                t.source_ref,
                t.charter_id.map(|c| c.to_string()),
                t.assignee,
                ts(t.created_at),
                ts(t.updated_at)
            ])?;
            conn.execute("DELETE FROM task_notes WHERE task_id = ?1", [t.id as i64])?;
            for (i, n) in t.notes.iter().enumerate() {
                conn.prepare_cached(
                    "INSERT INTO task_notes (task_id, seq, at, author, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![t.id as i64, i as i64 + 1, ts(n.at), n.author, n.body])?;
            }
        }
        Record::AgentSession(d) => {
            let s = &d.session;
            conn.prepare_cached(&format!(
                "INSERT OR REPLACE INTO agent_sessions ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                super::agents::COLUMNS
            ))?
            .execute(params![
                s.id as i64,
                s.playbook,
                s.input,
                s.input_key,
                s.outcome.map(|o| o.as_str()),
                s.turns,
                s.max_turns,
                s.input_tokens as i64,
                s.output_tokens as i64,
                s.cost_micro_usd as i64,
                s.handoff,
                s.error,
                s.owner,
                ts(s.started_at),
                ts(s.updated_at),
                s.cache_read_tokens as i64,
                s.cache_write_tokens as i64,
                s.compactions
            ])?;
            conn.execute("DELETE FROM agent_messages WHERE session_id = ?1", [s.id as i64])?;
            for (i, m) in d.messages.iter().enumerate() {
                conn.prepare_cached(
                    "INSERT INTO agent_messages (session_id, seq, message, at) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![s.id as i64, i as i64, json(m)?, ts(s.updated_at)])?;
            }
            conn.execute("DELETE FROM agent_tool_calls WHERE session_id = ?1", [s.id as i64])?;
            for (i, c) in d.tool_calls.iter().enumerate() {
                conn.prepare_cached(
                    "INSERT INTO agent_tool_calls (session_id, tool_use_id, seq, name, input, state, result, is_error, started_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?
                .execute(params![
                    s.id as i64,
                    c.tool_use_id,
                    i as i64,
                    c.name,
                    json(&c.input)?,
                    match c.state {
                        jada_core::agent::ToolCallState::Running => "running",
                        jada_core::agent::ToolCallState::Done => "done",
                    },
                    c.result,
                    c.is_error,
                    ts(c.started_at)
                ])?;
            }
        }
        Record::Approval(a) => {
            conn.prepare_cached(&format!(
                "INSERT OR REPLACE INTO agent_approvals ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                super::agents::APPROVAL_COLUMNS
            ))?
            .execute(params![
                a.id as i64,
                a.session_id as i64,
                a.tool_use_id,
                a.tool,
                json(&a.arguments)?,
                a.args_hash,
                a.state.as_str(),
                a.reason,
                a.decided_by,
                ts(a.requested_at),
                ts(a.expires_at),
                a.decided_at.map(ts)
            ])?;
        }
        Record::Shared(name, value) => {
            conn.prepare_cached("INSERT OR REPLACE INTO shared_docs (name, value) VALUES (?1, ?2)")?
                .execute(params![name, value])?;
        }
        // Written through the traits by `import`.
        Record::Crew(_)
        | Record::Check(..)
        | Record::Credential(_)
        | Record::Alert(_)
        | Record::Statement(_)
        | Record::Dispatch(_)
        | Record::Nonce(..) => {}
    }
    Ok(())
}
