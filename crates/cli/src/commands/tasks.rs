//! `jada tasks add|list|show|note|done|cancel`.

use jada_core::text::truncate;
use jada_core::{NewTask, Task, TaskNote, TaskSource, TaskStatus};

use crate::cli::{Global, TasksCommand};
use crate::commands::{load_app, Context};
use crate::output::{print_json, table};
use crate::Failure;

fn usage(e: impl std::fmt::Display) -> Failure {
    Failure::Usage(anyhow::anyhow!("{e}"))
}

pub async fn run(g: &Global, cmd: TasksCommand) -> Result<(), Failure> {
    let app = load_app(g)?;
    match cmd {
        TasksCommand::Add {
            title,
            body,
            charter,
            assignee,
            json,
        } => {
            let mut task = NewTask::new(&title, &body, TaskSource::Manual)
                .and_then(|t| t.assigned_to(assignee.as_deref()))
                .map_err(usage)?;
            if let Some(c) = charter {
                use jada_ops::charters::{named_charter, NamedCharterError};
                task.charter_id = match named_charter(app.store.as_ref(), &c).await {
                    Ok(id) => id,
                    Err(NamedCharterError::Invalid(e)) => return Err(usage(format!("--charter: {e}"))),
                    Err(NamedCharterError::Store(e)) => return Err(Failure::op(e)),
                };
            }
            let t = app
                .store
                .create_task(&task, app.clock.now())
                .await
                .map_err(Failure::op)?;
            if json {
                return Ok(print_json(&t)?);
            }
            say!("task {} added: {}", t.id, t.title);
            Ok(())
        }
        TasksCommand::List {
            status,
            all,
            limit,
            json,
        } => {
            let statuses = match (status, all) {
                (Some(s), _) => vec![TaskStatus::parse(&s).map_err(|e| usage(format!("--status: {e}")))?],
                (None, true) => vec![],
                (None, false) => vec![TaskStatus::Open, TaskStatus::InProgress, TaskStatus::Waiting],
            };
            let tasks = app.store.list_tasks(&statuses, limit).await.map_err(Failure::op)?;
            if json {
                return Ok(print_json(&tasks)?);
            }
            list(&app, &tasks);
            Ok(())
        }
        TasksCommand::Show { id, json } => {
            let t = find(&app, id).await?;
            if json {
                return Ok(print_json(&t)?);
            }
            show(&app, &t);
            Ok(())
        }
        TasksCommand::Note { id, note } => {
            let note = note_of(&app, &note)?;
            let t = app.store.add_task_note(id, &note).await.map_err(not_found)?;
            say!(
                "task {}: note added ({})",
                t.id,
                crate::output::count(t.notes.len(), "note", "notes")
            );
            Ok(())
        }
        TasksCommand::Done { id, note } => set(&app, id, TaskStatus::Done, &note).await,
        TasksCommand::Cancel { id, note } => set(&app, id, TaskStatus::Cancelled, &note).await,
    }
}

/// A missing task is the caller's mistake (exit 2), named with the fix; a closed one is
/// a refused operation (exit 1), saying why.
fn not_found(e: jada_store::StoreError) -> Failure {
    match e {
        jada_store::StoreError::NoSuchRecord { .. } => usage(e),
        other => Failure::op(other),
    }
}

fn note_of(app: &Context, body: &str) -> Result<TaskNote, Failure> {
    Ok(TaskNote {
        at: app.clock.now(),
        author: std::env::var("USER").unwrap_or_else(|_| "cli".into()),
        body: jada_core::task::note_body(body).map_err(usage)?,
    })
}

async fn set(app: &Context, id: u64, status: TaskStatus, note: &str) -> Result<(), Failure> {
    let note = note_of(app, note)?;
    let t = app.store.set_task_status(id, status, &note).await.map_err(not_found)?;
    say!("task {} is {}: {}", t.id, t.status, t.title);
    Ok(())
}

async fn find(app: &Context, id: u64) -> Result<Task, Failure> {
    app.store
        .get_task(id)
        .await
        .map_err(Failure::op)?
        .ok_or_else(|| usage(format!("there is no task {id}: `jada tasks list --all` lists them")))
}

fn list(app: &Context, tasks: &[Task]) {
    let mut t = table(&["id", "status", "title", "source", "assignee", "updated"]);
    for task in tasks {
        t.add_row(vec![
            task.id.to_string(),
            task.status.to_string(),
            truncate(&task.title, 70),
            task.source_ref.clone().unwrap_or_else(|| task.source.as_str().into()),
            task.assignee.clone().unwrap_or_default(),
            app.show_time(task.updated_at),
        ]);
    }
    if !tasks.is_empty() {
        say!("{t}");
    }
    say!("{} tasks", tasks.len());
}

fn show(app: &Context, t: &Task) {
    say!("task {}: {}", t.id, t.title);
    say!(
        "status: {}   source: {}",
        t.status,
        t.source_ref.as_deref().unwrap_or(t.source.as_str())
    );
    if let Some(c) = t.charter_id {
        say!("charter: {c}");
    }
    if let Some(a) = &t.assignee {
        say!("assignee: {a}");
    }
    say!(
        "created {}, updated {}",
        app.show_time(t.created_at),
        app.show_time(t.updated_at)
    );
    if !t.body.is_empty() {
        say!("\n{}", t.body);
    }
    for n in &t.notes {
        say!(
            "\n{} — {}:\n  {}",
            app.show_time(n.at),
            n.author,
            n.body.replace('\n', "\n  ")
        );
    }
}
