//! Tasks in `jada-ops`, numbered from a counter (`COUNTER/task`, `ADD 1`); a task's notes
//! live in its item. `gsi1` lists all tasks newest first, `gsi2` those of one status.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jada_core::{NewTask, Task, TaskNote, TaskStatus};
use jada_store::{Result, StoreError, TaskStore};

use crate::docs::{Change, Index, Query};
use crate::records::task_pk;
use crate::DynamoStore;

impl DynamoStore {
    async fn change_task(&self, id: u64, f: impl Fn(&mut Task) -> Result<()> + Send + Sync) -> Result<Task> {
        self.change::<Task, Task, _>(&task_pk(id), "TASK", |cur| {
            let mut task = cur.ok_or_else(|| StoreError::no_task(id))?;
            f(&mut task)?;
            Ok(Change::Write(task.clone(), task))
        })
        .await
    }
}

#[async_trait]
impl TaskStore for DynamoStore {
    async fn create_task(&self, task: &NewTask, now: DateTime<Utc>) -> Result<Task> {
        let t = Task {
            id: self.next_number("task").await?,
            title: task.title.clone(),
            body: task.body.clone(),
            status: TaskStatus::Open,
            source: task.source,
            source_ref: task.source_ref.clone(),
            charter_id: task.charter_id,
            assignee: task.assignee.clone(),
            created_at: now,
            updated_at: now,
            notes: vec![],
        };
        self.put_doc(&t, Some("")).await?;
        Ok(t)
    }

    async fn get_task(&self, id: u64) -> Result<Option<Task>> {
        Ok(self.get_doc::<Task>(&task_pk(id), "TASK").await?.map(|d| d.value))
    }

    async fn list_tasks(&self, statuses: &[TaskStatus], limit: usize) -> Result<Vec<Task>> {
        let mut tasks: Vec<Task> = if statuses.is_empty() {
            self.query_values(&Query::on(Index::Gsi(1), "TASKS").newest_first().limit(limit))
                .await?
        } else {
            let mut all = vec![];
            for s in statuses {
                let q = Query::on(Index::Gsi(2), format!("TASKS#{}", s.as_str()))
                    .newest_first()
                    .limit(limit);
                all.extend(self.query_values::<Task>(&q).await?);
            }
            all
        };
        tasks.sort_by_key(|t| std::cmp::Reverse(t.id));
        tasks.dedup_by_key(|t| t.id);
        tasks.truncate(limit);
        Ok(tasks)
    }

    async fn set_task_status(&self, id: u64, status: TaskStatus, note: &TaskNote) -> Result<Task> {
        self.change_task(id, |t| {
            if t.status.is_final() {
                return Err(StoreError::task_closed(id));
            }
            t.status = status;
            t.updated_at = note.at;
            t.notes.push(note.clone());
            Ok(())
        })
        .await
    }

    async fn add_task_note(&self, id: u64, note: &TaskNote) -> Result<Task> {
        self.change_task(id, |t| {
            t.updated_at = note.at;
            t.notes.push(note.clone());
            Ok(())
        })
        .await
    }
}
