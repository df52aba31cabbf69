//! The schema, as an ordered list of migrations (tracked in SQLite's `user_version`).
//! Append new migrations; never edit one that has shipped.

use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};

const MIGRATIONS: &[M<'static>] = &[
    M::up(
        r#"
CREATE TABLE charters (
    charter_id         TEXT PRIMARY KEY,
    created_at         TEXT NOT NULL,
    charter_date       TEXT NOT NULL,
    month              TEXT NOT NULL,   -- YYYY-MM: the month index
    start_time         TEXT NOT NULL,
    end_time           TEXT NOT NULL,
    vessel_name        TEXT NOT NULL,
    guest_name         TEXT NOT NULL,
    guest_count        INTEGER NOT NULL,
    captain_assigned   TEXT,
    crew_assigned      TEXT NOT NULL,   -- crew ids joined by ';'
    reportable_revenue INTEGER NOT NULL,
    tips               INTEGER NOT NULL,
    status             TEXT NOT NULL,
    version            INTEGER NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX charters_by_month ON charters(month, charter_date, start_time);
CREATE INDEX charters_by_date ON charters(charter_date, start_time);

CREATE TABLE crew (
    crew_id           TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    email             TEXT NOT NULL UNIQUE,
    phone             TEXT,
    captain_certified INTEGER NOT NULL,
    active            INTEGER NOT NULL
);
CREATE TABLE crew_availability (
    crew_id TEXT NOT NULL REFERENCES crew(crew_id) ON DELETE CASCADE,
    date    TEXT NOT NULL,
    PRIMARY KEY (crew_id, date)
) WITHOUT ROWID;
CREATE INDEX availability_by_date ON crew_availability(date);

CREATE TABLE chat_messages (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    charter_id TEXT NOT NULL REFERENCES charters(charter_id),
    posted_at  TEXT NOT NULL,
    author     TEXT NOT NULL,   -- JSON
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX chat_by_charter ON chat_messages(charter_id, posted_at, seq);

CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT NOT NULL UNIQUE,
    topic           TEXT NOT NULL,
    payload         TEXT NOT NULL,   -- JSON of jada_core::Event
    created_at      TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    claimed_until   TEXT,
    last_error      TEXT,
    finished_at     TEXT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at, seq);

CREATE TABLE job_runs (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      TEXT NOT NULL UNIQUE,
    job         TEXT NOT NULL,
    trigger     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT NOT NULL,
    error       TEXT,
    summary     TEXT
);
CREATE INDEX runs_by_job ON job_runs(job, seq);
CREATE INDEX runs_by_outcome ON job_runs(outcome, job, seq);
"#,
    ),
    M::up(
        r#"
CREATE TABLE credential_states (
    name  TEXT PRIMARY KEY,
    state TEXT NOT NULL   -- JSON of jada_core::CredentialState; holds no secret
);
"#,
    ),
    M::up(
        r#"
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE alerts (
    key    TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    record TEXT NOT NULL   -- JSON of jada_store::AlertRecord
);
"#,
    ),
    M::up(
        r#"
CREATE TABLE statements (
    month      TEXT NOT NULL,   -- YYYY-MM
    key        TEXT NOT NULL,   -- crew:<id> or summary:<address>
    recipient  TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sent_at    TEXT NOT NULL,
    PRIMARY KEY (month, key)
);
"#,
    ),
    M::up(
        r#"
CREATE TABLE offers (
    offer_id    TEXT PRIMARY KEY,
    charter_id  TEXT NOT NULL REFERENCES charters(charter_id),
    crew_id     TEXT NOT NULL,
    seat        TEXT NOT NULL,   -- captain | crew
    status      TEXT NOT NULL,   -- offered | accepted | declined | expired | withdrawn
    offered_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    answered_at TEXT
);
CREATE INDEX offers_by_charter ON offers(charter_id, offered_at);
CREATE INDEX offers_open_by_deadline ON offers(status, expires_at);
CREATE INDEX offers_by_crew ON offers(crew_id, status);
CREATE TABLE dispatches (
    charter_id TEXT PRIMARY KEY REFERENCES charters(charter_id),
    status     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX dispatches_by_status ON dispatches(status);
"#,
    ),
    M::up(
        r#"
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,   -- SHA-256 of the cookie's secret
    email      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE used_links (
    nonce   TEXT PRIMARY KEY,
    used_at TEXT NOT NULL
);
CREATE TABLE api_keys (
    name       TEXT PRIMARY KEY,
    key_hash   TEXT NOT NULL UNIQUE,   -- SHA-256 of the key
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"#,
    ),
    // Why a run failed (whether retrying can help, and which credential needs re-auth)
    // and how many attempts it took.
    M::up(
        r#"
ALTER TABLE job_runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE job_runs ADD COLUMN recovery TEXT;
ALTER TABLE job_runs ADD COLUMN needs_reauth TEXT;
"#,
    ),
    // Tasks, and agent sessions with their transcripts and tool calls.
    M::up(
        r#"
CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    status      TEXT NOT NULL,
    source      TEXT NOT NULL,
    source_ref  TEXT,
    charter_id  TEXT,
    assignee    TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX tasks_by_status ON tasks (status, id);
CREATE TABLE task_notes (
    task_id  INTEGER NOT NULL REFERENCES tasks (id),
    seq      INTEGER NOT NULL,
    at       TEXT NOT NULL,
    author   TEXT NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
);
CREATE TABLE agent_sessions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    playbook        TEXT NOT NULL,
    input           TEXT NOT NULL,
    input_key       TEXT NOT NULL UNIQUE,
    outcome         TEXT,            -- NULL while running
    turns           INTEGER NOT NULL DEFAULT 0,
    max_turns       INTEGER NOT NULL,
    input_tokens    INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    cost_micro_usd  INTEGER NOT NULL DEFAULT 0,
    handoff         TEXT,
    error           TEXT,
    owner           TEXT,
    started_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX agent_sessions_running ON agent_sessions (outcome) WHERE outcome IS NULL;
CREATE TABLE agent_messages (
    session_id  INTEGER NOT NULL REFERENCES agent_sessions (id),
    seq         INTEGER NOT NULL,
    message     TEXT NOT NULL,      -- JSON: jada_core::agent::Message
    at          TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE TABLE agent_tool_calls (
    session_id   INTEGER NOT NULL REFERENCES agent_sessions (id),
    tool_use_id  TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    name         TEXT NOT NULL,
    input        TEXT NOT NULL,
    state        TEXT NOT NULL,
    result       TEXT,
    is_error     INTEGER NOT NULL DEFAULT 0,
    started_at   TEXT NOT NULL,
    PRIMARY KEY (session_id, tool_use_id)
);
CREATE TABLE agent_approvals (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id    INTEGER NOT NULL REFERENCES agent_sessions (id),
    tool_use_id   TEXT NOT NULL,
    tool          TEXT NOT NULL,
    arguments     TEXT NOT NULL,
    args_hash     TEXT NOT NULL,
    state         TEXT NOT NULL,
    reason        TEXT,
    decided_by    TEXT,
    requested_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    decided_at    TEXT,
    UNIQUE (session_id, tool_use_id)
);
CREATE TABLE job_checks (
    job  TEXT PRIMARY KEY,
    at   TEXT NOT NULL
);
"#,
    ),
    // Documents every daemon on the store shares (e.g. the sealed link-signing keys).
    M::up(
        r#"
CREATE TABLE shared_docs (
    name   TEXT PRIMARY KEY,
    value  BLOB NOT NULL
);
"#,
    ),
    // Agent sessions: prompt-cache tokens and compactions per session; each playbook's
    // spend per business day and its hourly counters (sessions started and ended, turns,
    // tokens, cost), each added to in the transaction that did it.
    M::up(
        r#"
ALTER TABLE agent_sessions ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent_sessions ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent_sessions ADD COLUMN compactions INTEGER NOT NULL DEFAULT 0;
CREATE TABLE agent_hours (
    hour                TEXT NOT NULL,   -- YYYY-MM-DDTHH, UTC
    playbook            TEXT NOT NULL,
    started             INTEGER NOT NULL DEFAULT 0,
    turns               INTEGER NOT NULL DEFAULT 0,
    input_tokens        INTEGER NOT NULL DEFAULT 0,
    output_tokens       INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens   INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens  INTEGER NOT NULL DEFAULT 0,
    cost_micro_usd      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, playbook)
);
CREATE TABLE agent_hour_endings (
    hour      TEXT NOT NULL,
    playbook  TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (hour, playbook, outcome)
);
CREATE TABLE agent_spend (
    playbook        TEXT NOT NULL,
    day             TEXT NOT NULL,   -- YYYY-MM-DD in the business's time zone
    cost_micro_usd  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (playbook, day)
);
"#,
    ),
    // API keys made for an MCP client that may only read (`jada api-key create --mcp-read-only`).
    M::up("ALTER TABLE api_keys ADD COLUMN mcp_read_only INTEGER NOT NULL DEFAULT 0;"),
];

pub(super) fn migrate(conn: &mut Connection) -> Result<(), rusqlite_migration::Error> {
    Migrations::from_slice(MIGRATIONS).to_latest(conn)
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(rusqlite_migration::Migrations::from_slice(super::MIGRATIONS)
            .validate()
            .is_ok());
    }
}
