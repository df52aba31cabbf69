//! Agent sessions in SQLite: `agent_sessions` (one row per session, its counters and
//! outcome), `agent_messages` (the transcript, one JSON message per row) and
//! `agent_tool_calls` (each call marked running before it runs, then its answer).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use jada_core::agent::{
    args_hash, Approval, ApprovalState, Message, NotDecidable, Outcome, Session, ToolCall, ToolCallState, Usage,
};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{corrupt, parse_ts, ts, where_in, write_tx, SqliteStore};
use crate::{
    hour_of, turn_counters, AgentStore, AgentTotals, NewApproval, NewSession, Result, SessionEnd, Started, StoreError,
    TurnCost,
};

pub(super) const COLUMNS: &str =
    "id, playbook, input, input_key, outcome, turns, max_turns, input_tokens, output_tokens,
    cost_micro_usd, handoff, error, owner, started_at, updated_at, cache_read_tokens, cache_write_tokens,
    compactions";

#[async_trait]
impl AgentStore for SqliteStore {
    async fn start_agent_session(&self, new: &NewSession, first: &Message, now: DateTime<Utc>) -> Result<Started> {
        let new = new.clone();
        let first = json(first)?;
        self.call(move |conn| {
            let tx = write_tx(conn)?;
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM agent_sessions WHERE input_key = ?1",
                    [&new.input_key],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = existing {
                return Ok(Started::Existing(
                    read(&tx, id as u64)?.ok_or_else(|| StoreError::no_session(id as u64))?,
                ));
            }
            tx.prepare_cached(
                "INSERT INTO agent_sessions (playbook, input, input_key, max_turns, owner, started_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            )?
            .execute(params![
                new.playbook,
                new.input,
                new.input_key,
                new.max_turns,
                new.owner,
                ts(now)
            ])?;
            let id = tx.last_insert_rowid() as u64;
            insert_message(&tx, id, &first, now)?;
            count(&tx, &new.playbook, now, &[("started", 1)])?;
            let session = read(&tx, id)?.ok_or_else(|| StoreError::no_session(id))?;
            tx.commit()?;
            Ok(Started::New(session))
        })
        .await
    }

    async fn get_agent_session(&self, id: u64) -> Result<Option<Session>> {
        self.call(move |conn| read(conn, id)).await
    }

    async fn list_agent_sessions(&self, limit: usize) -> Result<Vec<Session>> {
        self.call(move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM agent_sessions ORDER BY id DESC LIMIT {limit}");
            collect(conn, &sql)
        })
        .await
    }

    async fn list_running_agent_sessions(&self) -> Result<Vec<Session>> {
        self.call(move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM agent_sessions WHERE outcome IS NULL ORDER BY id");
            collect(conn, &sql)
        })
        .await
    }

    async fn session_messages(&self, id: u64) -> Result<Vec<Message>> {
        self.call(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT message FROM agent_messages WHERE session_id = ?1 ORDER BY seq")?;
            let rows = stmt.query_map([id as i64], |r| r.get::<_, String>(0))?;
            rows.map(|m| serde_json::from_str(&m?).map_err(|e| corrupt("agent message", e.to_string())))
                .collect()
        })
        .await
    }

    async fn append_messages(
        &self,
        id: u64,
        owner: &str,
        messages: &[Message],
        turn: Option<TurnCost>,
        now: DateTime<Utc>,
    ) -> Result<Session> {
        let messages = messages.iter().map(json).collect::<Result<Vec<_>>>()?;
        let owner = owner.to_string();
        self.call(move |conn| {
            let tx = write_tx(conn)?;
            let t = turn.unwrap_or(TurnCost {
                usage: Usage::default(),
                cost_micro_usd: 0,
                day: now.date_naive(),
                compaction: false,
            });
            let n = tx
                .prepare_cached(
                    "UPDATE agent_sessions SET turns = turns + ?3, input_tokens = input_tokens + ?4,
                    output_tokens = output_tokens + ?5, cost_micro_usd = cost_micro_usd + ?6, updated_at = ?7,
                    cache_read_tokens = cache_read_tokens + ?8, cache_write_tokens = cache_write_tokens + ?9,
                    compactions = compactions + ?10
                 WHERE id = ?1 AND owner = ?2 AND outcome IS NULL",
                )?
                .execute(params![
                    id as i64,
                    owner,
                    i64::from(turn.is_some()),
                    t.usage.input_tokens as i64,
                    t.usage.output_tokens as i64,
                    t.cost_micro_usd as i64,
                    ts(now),
                    t.usage.cache_read_tokens as i64,
                    t.usage.cache_write_tokens as i64,
                    i64::from(t.compaction),
                ])?;
            if n == 0 {
                return Err(StoreError::session_not_running(id));
            }
            for m in &messages {
                insert_message(&tx, id, m, now)?;
            }
            let session = read(&tx, id)?.ok_or_else(|| StoreError::no_session(id))?;
            if let Some(t) = &turn {
                tx.prepare_cached(
                    "INSERT INTO agent_spend (playbook, day, cost_micro_usd) VALUES (?1, ?2, ?3)
                     ON CONFLICT (playbook, day) DO UPDATE SET cost_micro_usd = cost_micro_usd + excluded.cost_micro_usd",
                )?
                .execute(params![session.playbook, t.day.to_string(), t.cost_micro_usd as i64])?;
                count(&tx, &session.playbook, now, &turn_counters(t))?;
            }
            tx.commit()?;
            Ok(session)
        })
        .await
    }

    async fn agent_spend(&self, playbook: &str, day: NaiveDate) -> Result<u64> {
        let playbook = playbook.to_string();
        self.call(move |conn| {
            let spent: Option<i64> = conn
                .prepare_cached("SELECT cost_micro_usd FROM agent_spend WHERE playbook = ?1 AND day = ?2")?
                .query_row(params![playbook, day.to_string()], |r| r.get(0))
                .optional()?;
            Ok(spent.unwrap_or(0) as u64)
        })
        .await
    }

    async fn agent_totals(&self, since: DateTime<Utc>) -> Result<Vec<AgentTotals>> {
        self.call(move |conn| {
            let hour = hour_of(since);
            let mut by: std::collections::BTreeMap<String, AgentTotals> = Default::default();
            let mut stmt = conn.prepare_cached(
                "SELECT playbook, SUM(started), SUM(turns), SUM(input_tokens), SUM(output_tokens),
                        SUM(cache_read_tokens), SUM(cache_write_tokens), SUM(cost_micro_usd)
                 FROM agent_hours WHERE hour >= ?1 GROUP BY playbook",
            )?;
            let rows = stmt.query_map([&hour], |r| {
                let mut n = [0u64; 7];
                for (i, v) in n.iter_mut().enumerate() {
                    *v = r.get::<_, i64>(i + 1)?.max(0) as u64;
                }
                Ok((r.get::<_, String>(0)?, n))
            })?;
            for row in rows {
                let (playbook, n) = row?;
                let t = by.entry(playbook.clone()).or_insert_with(|| AgentTotals {
                    playbook,
                    ..Default::default()
                });
                for (key, v) in HOUR_COLUMNS.iter().zip(n) {
                    t.add(key, v);
                }
            }
            let mut stmt = conn.prepare_cached(
                "SELECT playbook, outcome, SUM(n) FROM agent_hour_endings WHERE hour >= ?1 GROUP BY playbook, outcome",
            )?;
            let rows = stmt.query_map([&hour], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
            })?;
            for row in rows {
                let (playbook, outcome, n) = row?;
                let t = by.entry(playbook.clone()).or_insert_with(|| AgentTotals {
                    playbook,
                    ..Default::default()
                });
                t.add(&format!("ended:{outcome}"), n.max(0) as u64);
            }
            Ok(by.into_values().collect())
        })
        .await
    }

    async fn start_tool_call(&self, call: &ToolCall) -> Result<bool> {
        let c = call.clone();
        let input = serde_json::to_string(&c.input).map_err(|e| corrupt("tool input", e.to_string()))?;
        self.call(move |conn| {
            let n = conn
                .prepare_cached(
                    "INSERT INTO agent_tool_calls (session_id, tool_use_id, seq, name, input, state, started_at)
                 SELECT ?1, ?2, (SELECT COUNT(*) FROM agent_tool_calls WHERE session_id = ?1), ?3, ?4, 'running', ?5
                 WHERE NOT EXISTS (SELECT 1 FROM agent_tool_calls WHERE session_id = ?1 AND tool_use_id = ?2)",
                )?
                .execute(params![
                    c.session_id as i64,
                    c.tool_use_id,
                    c.name,
                    input,
                    ts(c.started_at)
                ])?;
            Ok(n == 1)
        })
        .await
    }

    async fn finish_tool_call(&self, session: u64, tool_use_id: &str, result: &str, is_error: bool) -> Result<()> {
        let (tool_use_id, result) = (tool_use_id.to_string(), result.to_string());
        self.call(move |conn| {
            let n = conn
                .prepare_cached(
                    "UPDATE agent_tool_calls SET state = 'done', result = ?3, is_error = ?4
                 WHERE session_id = ?1 AND tool_use_id = ?2 AND state = 'running'",
                )?
                .execute(params![session as i64, tool_use_id, result, is_error])?;
            if n == 0 {
                return Err(StoreError::NotAllowed {
                    what: "tool call",
                    id: format!("{session}/{tool_use_id}"),
                    why: "is not running",
                });
            }
            Ok(())
        })
        .await
    }

    async fn list_tool_calls(&self, session: u64) -> Result<Vec<ToolCall>> {
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT tool_use_id, name, input, state, result, is_error, started_at
                 FROM agent_tool_calls WHERE session_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([session as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, bool>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })?;
            rows.map(|row| {
                let (tool_use_id, name, input, state, result, is_error, at) = row?;
                Ok(ToolCall {
                    session_id: session,
                    tool_use_id,
                    name,
                    input: serde_json::from_str(&input).map_err(|e| corrupt("tool input", e.to_string()))?,
                    state: match state.as_str() {
                        "running" => ToolCallState::Running,
                        "done" => ToolCallState::Done,
                        other => return Err(corrupt("tool call state", other.to_string())),
                    },
                    result,
                    is_error,
                    started_at: parse_ts("tool call started_at", &at)?,
                })
            })
            .collect()
        })
        .await
    }

    async fn finish_agent_session(&self, id: u64, end: &SessionEnd, now: DateTime<Utc>) -> Result<bool> {
        let end = end.clone();
        self.call(move |conn| {
            let tx = write_tx(conn)?;
            let n = tx
                .prepare_cached(
                    "UPDATE agent_sessions SET outcome = ?2, handoff = ?3, error = ?4, owner = NULL, updated_at = ?5
                 WHERE id = ?1 AND outcome IS NULL AND (?6 IS NULL OR owner = ?6)",
                )?
                .execute(params![
                    id as i64,
                    end.outcome.as_str(),
                    end.handoff,
                    end.error,
                    ts(now),
                    end.owner
                ])?;
            if n == 1 {
                let playbook: String =
                    tx.query_row("SELECT playbook FROM agent_sessions WHERE id = ?1", [id as i64], |r| {
                        r.get(0)
                    })?;
                count(&tx, &playbook, now, &[(&format!("ended:{}", end.outcome.as_str()), 1)])?;
            }
            tx.commit()?;
            Ok(n == 1)
        })
        .await
    }

    async fn request_approval(&self, a: &NewApproval) -> Result<Approval> {
        let a = a.clone();
        let arguments =
            serde_json::to_string(&a.arguments).map_err(|e| corrupt("approval arguments", e.to_string()))?;
        let hash = args_hash(&a.tool, &a.arguments);
        self.call(move |conn| {
            let tx = write_tx(conn)?;
            tx.prepare_cached("INSERT INTO agent_approvals (session_id, tool_use_id, tool, arguments, args_hash, state, requested_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)
                 ON CONFLICT (session_id, tool_use_id) DO NOTHING")?.execute(params![a.session_id as i64, a.tool_use_id, a.tool, arguments, hash, ts(a.requested_at), ts(a.expires_at)],
            )?;
            let approval = read_approval(
                &tx,
                "session_id = ?1 AND tool_use_id = ?2",
                params![a.session_id as i64, a.tool_use_id],
            )?
            .ok_or_else(|| corrupt("approval", "vanished after insert"))?;
            tx.commit()?;
            Ok(approval)
        })
        .await
    }

    async fn get_approval(&self, id: u64) -> Result<Option<Approval>> {
        self.call(move |conn| read_approval(conn, "id = ?1", [id as i64])).await
    }

    async fn find_approval(&self, session: u64, tool_use_id: &str) -> Result<Option<Approval>> {
        let tool_use_id = tool_use_id.to_string();
        self.call(move |conn| {
            read_approval(
                conn,
                "session_id = ?1 AND tool_use_id = ?2",
                params![session as i64, tool_use_id],
            )
        })
        .await
    }

    async fn list_approvals(&self, states: &[ApprovalState], limit: usize) -> Result<Vec<Approval>> {
        let states: Vec<&'static str> = states.iter().map(|s| s.as_str()).collect();
        self.call(move |conn| {
            let filter = where_in("state", states.len());
            let sql = format!("SELECT {APPROVAL_COLUMNS} FROM agent_approvals {filter} ORDER BY id DESC LIMIT {limit}");
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(states.iter()), |r| Ok(approval_row(r)))?;
            rows.map(|r| r?).collect()
        })
        .await
    }

    async fn decide_approval(
        &self,
        id: u64,
        approve: bool,
        reason: Option<&str>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Approval> {
        let (reason, by) = (reason.map(str::to_string), by.to_string());
        self.call(move |conn| {
            let tx = write_tx(conn)?;
            let current = read_approval(&tx, "id = ?1", [id as i64])?
                .ok_or_else(|| StoreError::no_approval(id, "does not exist: `jada agent approvals` lists them"))?;
            let decided = match current.decided(approve, reason.as_deref(), &by, now) {
                Ok(d) => d,
                Err(why) => {
                    if why == NotDecidable::Expired {
                        tx.prepare_cached(
                            "UPDATE agent_approvals SET state = 'expired' WHERE id = ?1 AND state = 'pending'",
                        )?
                        .execute([id as i64])?;
                        tx.commit()?;
                    }
                    return Err(StoreError::not_decidable(id, why));
                }
            };
            tx.prepare_cached(
                "UPDATE agent_approvals SET state = ?2, reason = ?3, decided_by = ?4, decided_at = ?5 WHERE id = ?1",
            )?
            .execute(params![
                id as i64,
                decided.state.as_str(),
                decided.reason,
                decided.decided_by,
                decided.decided_at.map(ts)
            ])?;
            let approval =
                read_approval(&tx, "id = ?1", [id as i64])?.ok_or_else(|| StoreError::no_approval(id, "vanished"))?;
            tx.commit()?;
            Ok(approval)
        })
        .await
    }

    async fn use_approval(&self, id: u64, args_hash: &str, now: DateTime<Utc>) -> Result<bool> {
        let hash = args_hash.to_string();
        self.call(move |conn| {
            let n = conn
                .prepare_cached(
                    "UPDATE agent_approvals SET state = 'used', decided_at = COALESCE(decided_at, ?3)
                 WHERE id = ?1 AND state = 'approved' AND args_hash = ?2",
                )?
                .execute(params![id as i64, hash, ts(now)])?;
            Ok(n == 1)
        })
        .await
    }

    async fn reopen_agent_session(
        &self,
        id: u64,
        owner: &str,
        max_turns: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>> {
        let owner = owner.to_string();
        self.call(move |conn| {
            let tx = write_tx(conn)?;
            let Some(session) = read(&tx, id)? else {
                return Ok(None);
            };
            if !session.outcome.is_some_and(|o| o.is_resumable()) {
                return Ok(None);
            }
            tx.prepare_cached(
                "UPDATE agent_sessions SET outcome = NULL, error = NULL, owner = ?2, max_turns = ?3, updated_at = ?4
                 WHERE id = ?1",
            )?
            .execute(params![id as i64, owner, max_turns, ts(now)])?;
            let session = read(&tx, id)?;
            tx.commit()?;
            Ok(session)
        })
        .await
    }
}

/// Adds to a playbook's counters of the hour of `at`: one row per hour and playbook,
/// one statement however many counters (a turn's write stays small); an ending (a key
/// `ended:OUTCOME`) is a row of its own.
fn count(conn: &Connection, playbook: &str, at: DateTime<Utc>, counters: &[(&str, u64)]) -> rusqlite::Result<()> {
    let hour = hour_of(at);
    let mut row = [0i64; 7];
    for (key, n) in counters {
        if let Some(outcome) = key.strip_prefix("ended:") {
            conn.prepare_cached(
                "INSERT INTO agent_hour_endings (hour, playbook, outcome, n) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (hour, playbook, outcome) DO UPDATE SET n = n + excluded.n",
            )?
            .execute(params![hour, playbook, outcome, *n as i64])?;
            continue;
        }
        if let Some(i) = HOUR_COLUMNS.iter().position(|c| c == key) {
            row[i] += *n as i64;
        }
    }
    if row.iter().any(|n| *n != 0) {
        conn.prepare_cached(
            "INSERT INTO agent_hours (hour, playbook, started, turns, input_tokens, output_tokens,
                 cache_read_tokens, cache_write_tokens, cost_micro_usd) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (hour, playbook) DO UPDATE SET started = started + excluded.started,
                 turns = turns + excluded.turns, input_tokens = input_tokens + excluded.input_tokens,
                 output_tokens = output_tokens + excluded.output_tokens,
                 cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
                 cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
                 cost_micro_usd = cost_micro_usd + excluded.cost_micro_usd",
        )?
        .execute(params![
            hour, playbook, row[0], row[1], row[2], row[3], row[4], row[5], row[6]
        ])?;
    }
    Ok(())
}

/// The hourly counters' columns, in `agent_hours` order (and the names `AgentTotals::add` takes).
const HOUR_COLUMNS: [&str; 7] = [
    "started",
    "turns",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_micro_usd",
];

fn json(m: &Message) -> Result<String> {
    serde_json::to_string(m).map_err(|e| corrupt("agent message", e.to_string()))
}

fn insert_message(conn: &Connection, id: u64, message: &str, now: DateTime<Utc>) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "INSERT INTO agent_messages (session_id, seq, message, at)
         VALUES (?1, (SELECT COUNT(*) FROM agent_messages WHERE session_id = ?1), ?2, ?3)",
    )?
    .execute(params![id as i64, message, ts(now)])
}

fn read(conn: &Connection, id: u64) -> Result<Option<Session>> {
    let sql = format!("SELECT {COLUMNS} FROM agent_sessions WHERE id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id as i64], |r| Ok(row(r)))
        .optional()?
        .transpose()
}

fn collect(conn: &Connection, sql: &str) -> Result<Vec<Session>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], |r| Ok(row(r)))?;
    rows.map(|r| r?).collect()
}

fn row(r: &Row<'_>) -> Result<Session> {
    let outcome: Option<String> = r.get(4)?;
    Ok(Session {
        id: r.get::<_, i64>(0)? as u64,
        playbook: r.get(1)?,
        input: r.get(2)?,
        input_key: r.get(3)?,
        outcome: outcome
            .map(|o| Outcome::parse(&o))
            .transpose()
            .map_err(|e| corrupt("session outcome", e.0))?,
        turns: r.get(5)?,
        max_turns: r.get(6)?,
        input_tokens: r.get::<_, i64>(7)? as u64,
        output_tokens: r.get::<_, i64>(8)? as u64,
        cost_micro_usd: r.get::<_, i64>(9)? as u64,
        handoff: r.get(10)?,
        error: r.get(11)?,
        owner: r.get(12)?,
        started_at: parse_ts("session started_at", &r.get::<_, String>(13)?)?,
        updated_at: parse_ts("session updated_at", &r.get::<_, String>(14)?)?,
        cache_read_tokens: r.get::<_, i64>(15)? as u64,
        cache_write_tokens: r.get::<_, i64>(16)? as u64,
        compactions: r.get(17)?,
    })
}

pub(super) const APPROVAL_COLUMNS: &str =
    "id, session_id, tool_use_id, tool, arguments, args_hash, state, reason, decided_by,
    requested_at, expires_at, decided_at";

fn approval_row(r: &Row<'_>) -> Result<Approval> {
    let arguments: String = r.get(4)?;
    let state: String = r.get(6)?;
    let decided_at: Option<String> = r.get(11)?;
    Ok(Approval {
        id: r.get::<_, i64>(0)? as u64,
        session_id: r.get::<_, i64>(1)? as u64,
        tool_use_id: r.get(2)?,
        tool: r.get(3)?,
        arguments: serde_json::from_str(&arguments).map_err(|e| corrupt("approval arguments", e.to_string()))?,
        args_hash: r.get(5)?,
        state: ApprovalState::parse(&state).map_err(|e| corrupt("approval state", e.0))?,
        reason: r.get(7)?,
        decided_by: r.get(8)?,
        requested_at: parse_ts("approval requested_at", &r.get::<_, String>(9)?)?,
        expires_at: parse_ts("approval expires_at", &r.get::<_, String>(10)?)?,
        decided_at: decided_at.map(|d| parse_ts("approval decided_at", &d)).transpose()?,
    })
}

fn read_approval(conn: &Connection, sql_where: &str, params: impl rusqlite::Params) -> Result<Option<Approval>> {
    let sql = format!("SELECT {APPROVAL_COLUMNS} FROM agent_approvals WHERE {sql_where}");
    conn.prepare_cached(&sql)?
        .query_row(params, |r| Ok(approval_row(r)))
        .optional()?
        .transpose()
}
