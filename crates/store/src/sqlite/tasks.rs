//! Tasks and their notes in SQLite: `tasks` numbered by AUTOINCREMENT, `task_notes`
//! by (task, seq).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jada_core::{CharterId, NewTask, Task, TaskNote, TaskSource, TaskStatus};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::{corrupt, parse_ts, ts, where_in, write_tx, SqliteStore};
use crate::{Result, StoreError, TaskStore};

#[async_trait]
impl TaskStore for SqliteStore {
    async fn create_task(&self, task: &NewTask, now: DateTime<Utc>) -> Result<Task> {
        let t = task.clone();
        self.call(move |conn| {
            conn.prepare_cached("INSERT INTO tasks (title, body, status, source, source_ref, charter_id, assignee, created_at, updated_at)
                 VALUES (?1, ?2, 'open', ?3, ?4, ?5, ?6, ?7, ?7)")?.execute(params![
                    t.title,
                    t.body,
                    t.source.as_str(),
                    t.source_ref,
                    t.charter_id.map(|c| c.to_string()),
                    t.assignee,
                    ts(now)
                ],
            )?;
            let id = conn.last_insert_rowid() as u64;
            read_task(conn, id)?.ok_or_else(|| corrupt("task", "vanished after insert"))
        })
        .await
    }

    async fn get_task(&self, id: u64) -> Result<Option<Task>> {
        self.call(move |conn| read_task(conn, id)).await
    }

    async fn list_tasks(&self, statuses: &[TaskStatus], limit: usize) -> Result<Vec<Task>> {
        let statuses: Vec<&'static str> = statuses.iter().map(|s| s.as_str()).collect();
        self.call(move |conn| {
            let filter = where_in("status", statuses.len());
            let sql = format!("SELECT id FROM tasks {filter} ORDER BY id DESC LIMIT {limit}");
            let ids: Vec<i64> = conn
                .prepare(&sql)?
                .query_map(params_from_iter(statuses.iter()), |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids.into_iter()
                .filter_map(|id| read_task(conn, id as u64).transpose())
                .collect()
        })
        .await
    }

    async fn set_task_status(&self, id: u64, status: TaskStatus, note: &TaskNote) -> Result<Task> {
        let note = note.clone();
        self.call(move |conn| {
            let tx = write_tx(conn)?;
            let current: Option<String> = tx
                .query_row("SELECT status FROM tasks WHERE id = ?1", [id as i64], |r| r.get(0))
                .optional()?;
            let current = current.ok_or_else(|| StoreError::no_task(id))?;
            if TaskStatus::parse(&current)
                .map_err(|e| corrupt("task status", e.0))?
                .is_final()
            {
                return Err(StoreError::task_closed(id));
            }
            tx.prepare_cached("UPDATE tasks SET status = ?2, updated_at = ?3 WHERE id = ?1")?
                .execute(params![id as i64, status.as_str(), ts(note.at)])?;
            insert_note(&tx, id, &note)?;
            let task = read_task(&tx, id)?.ok_or_else(|| StoreError::no_task(id))?;
            tx.commit()?;
            Ok(task)
        })
        .await
    }

    async fn add_task_note(&self, id: u64, note: &TaskNote) -> Result<Task> {
        let note = note.clone();
        self.call(move |conn| {
            let tx = write_tx(conn)?;
            let n = tx
                .prepare_cached("UPDATE tasks SET updated_at = ?2 WHERE id = ?1")?
                .execute(params![id as i64, ts(note.at)])?;
            if n == 0 {
                return Err(StoreError::no_task(id));
            }
            insert_note(&tx, id, &note)?;
            let task = read_task(&tx, id)?.ok_or_else(|| StoreError::no_task(id))?;
            tx.commit()?;
            Ok(task)
        })
        .await
    }
}

fn insert_note(conn: &Connection, id: u64, note: &TaskNote) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "INSERT INTO task_notes (task_id, seq, at, author, body)
         VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM task_notes WHERE task_id = ?1), ?2, ?3, ?4)",
    )?
    .execute(params![id as i64, ts(note.at), note.author, note.body])
}

fn read_task(conn: &Connection, id: u64) -> Result<Option<Task>> {
    let row = conn
        .query_row(
            "SELECT title, body, status, source, source_ref, charter_id, assignee, created_at, updated_at
             FROM tasks WHERE id = ?1",
            [id as i64],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                ))
            },
        )
        .optional()?;
    let Some((title, body, status, source, source_ref, charter, assignee, created, updated)) = row else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached("SELECT at, author, body FROM task_notes WHERE task_id = ?1 ORDER BY seq")?;
    let notes = stmt
        .query_map([id as i64], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?
        .map(|row| {
            let (at, author, body) = row?;
            Ok(TaskNote {
                at: parse_ts("task note at", &at)?,
                author,
                body,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(Task {
        id,
        title,
        body,
        status: TaskStatus::parse(&status).map_err(|e| corrupt("task status", e.0))?,
        source: TaskSource::parse(&source).map_err(|e| corrupt("task source", e.0))?,
        source_ref,
        charter_id: charter
            .map(|c| CharterId::parse(&c))
            .transpose()
            .map_err(|e| corrupt("task charter", e.0))?,
        assignee,
        created_at: parse_ts("task created_at", &created)?,
        updated_at: parse_ts("task updated_at", &updated)?,
        notes,
    }))
}
