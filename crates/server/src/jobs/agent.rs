//! Agent sessions the daemon starts by itself: each enabled playbook with a `schedule` is
//! a job `agent:NAME`, and the `agent` job (every minute) starts a session for each new
//! input of a playbook's `trigger` — one session per input, however often it is seen —
//! and carries on sessions waiting on approvals none of which is pending any more (all
//! decided or expired), so no session waits on nothing. Each session runs under the
//! job's cancellation token: a timeout or a shutdown ends it `cancelled`.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jada_core::agent::Outcome;
use jada_core::{ChatAuthor, Clock, TaskNote, TaskSource, TaskStatus};
use jada_google::client::GoogleClient;
use jada_ops::agent::playbook::Trigger;
use jada_ops::agent::{Agent, Playbook, Report};
use jada_store::Store;
use tokio_util::sync::CancellationToken;

use super::{Job, JobError, JobOutput};

/// The daemon's agent and the playbooks it knows: what carries a session on after a
/// decision, from the office, the admin API or the agent job.
#[derive(Clone)]
pub struct AgentDesk {
    pub agent: Agent,
    pub playbooks: Vec<Playbook>,
}

impl AgentDesk {
    pub fn playbook(&self, name: &str) -> Option<Playbook> {
        self.playbooks.iter().find(|p| p.name == name).cloned()
    }

    /// Why a session cannot be carried on here, if it cannot: its playbook is not
    /// configured in this daemon.
    pub fn cannot_carry_on(&self, session: u64, playbook: &str) -> Option<String> {
        self.playbook(playbook).is_none().then(|| {
            format!(
                "session {session} cannot carry on here: its playbook `{playbook}` is not configured in this daemon's jada.toml; add [agent.playbooks.{playbook}] and restart, or run `jada agent resume {session}` where it is configured"
            )
        })
    }
}

/// At most this many new sessions per playbook per minute: a flood of mail waits its turn.
const MAX_NEW_PER_TICK: usize = 5;

/// One scheduled session of a playbook.
pub struct PlaybookJob {
    pub agent: Agent,
    pub playbook: Playbook,
    pub clock: Arc<dyn Clock>,
}

#[async_trait]
impl Job for PlaybookJob {
    async fn run(&self, cancel: CancellationToken) -> Result<JobOutput, JobError> {
        let now = self.clock.now();
        // One session per scheduled minute, even if two daemons or a retry ask twice.
        let key = format!("schedule:{}:{}", self.playbook.name, now.format("%Y-%m-%dT%H:%M"));
        let input = format!(
            "Scheduled run of `{}` at {} UTC.",
            self.playbook.name,
            now.format("%Y-%m-%d %H:%M")
        );
        let r = self
            .agent
            .with_cancel(cancel)
            .run(&self.playbook, &input, Some(key), None)
            .await?;
        // How it ended is the agent alerts' business; the job ran.
        Ok(JobOutput::done(summary(&r)))
    }
}

fn summary(r: &Report) -> String {
    let outcome = Outcome::label(r.outcome);
    format!("session {}: {outcome} after {} turns", r.session_id, r.turns)
}

/// Starts sessions for new trigger inputs, and carries on sessions whose approvals expired.
pub struct TriggersJob {
    pub agent: Agent,
    pub playbooks: Vec<Playbook>,
    pub store: Arc<dyn Store>,
    pub gmail: Option<GoogleClient>,
    pub clock: Arc<dyn Clock>,
}

/// One input a trigger found: its key (one session per key) and the session's input.
struct Input {
    key: String,
    text: String,
    task: Option<u64>,
}

#[async_trait]
impl Job for TriggersJob {
    async fn run(&self, cancel: CancellationToken) -> Result<JobOutput, JobError> {
        let agent = self.agent.with_cancel(cancel.clone());
        let mut done = Vec::new();
        for pb in self.playbooks.iter().filter(|p| p.enabled) {
            let Some(trigger) = &pb.trigger else { continue };
            let inputs = self.inputs(pb, trigger).await?;
            let mut started = 0;
            for input in inputs {
                if started == MAX_NEW_PER_TICK || cancel.is_cancelled() {
                    break;
                }
                let r = match agent.run(pb, &input.text, Some(input.key.clone()), None).await {
                    Ok(r) => r,
                    // At its cap: the rest wait for the next minute.
                    Err(jada_ops::agent::AgentError::Busy { .. }) => break,
                    Err(e) => return Err(e.into()),
                };
                if r.existing {
                    continue;
                }
                started += 1;
                if let Some(task) = input.task {
                    self.note_task(task, &r).await?;
                }
                done.push(format!("{} {}", pb.name, summary(&r)));
            }
        }
        done.extend(self.continue_unblocked(&agent).await?);
        if done.is_empty() {
            return Ok(JobOutput::idle());
        }
        Ok(JobOutput::done(done.join("; ")))
    }
}

impl TriggersJob {
    async fn inputs(&self, pb: &Playbook, trigger: &Trigger) -> Result<Vec<Input>, JobError> {
        let now = self.clock.now();
        Ok(match trigger {
            Trigger::Task => {
                let me = format!("agent:{}", pb.name);
                self.store
                    .list_tasks(&[TaskStatus::Open], 500)
                    .await?
                    .into_iter()
                    .rev()
                    .filter(|t| t.assignee.as_deref() == Some(me.as_str()))
                    // An agent's own task never starts a session: text a model read
                    // (an injected mail) must not be able to start more work.
                    .filter(|t| t.source != TaskSource::Agent)
                    .map(|t| Input {
                        key: format!("task:{}", t.id),
                        text: format!("Task {}: {}\n\n{}", t.id, t.title, t.body),
                        task: Some(t.id),
                    })
                    .collect()
            }
            Trigger::Chat => self.chat_inputs(now).await?,
            Trigger::Gmail(query) => {
                let Some(gmail) = &self.gmail else {
                    return Err(JobError::operator(format!(
                        "playbook `{}` is triggered by mail, but no mailbox is connected: set [mail] mode = \"gmail\" and its credential",
                        pb.name
                    )));
                };
                let mut out = Vec::new();
                for id in gmail.gmail_search(query).await?.into_iter().take(50) {
                    let headers = gmail.gmail_headers(&id, &["From", "Subject", "Date"]).await?;
                    let lines: Vec<String> = headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                    out.push(Input {
                        key: format!("gmail:{id}"),
                        text: format!(
                            "New mail (id {id}):\n{}\n\nRead it with read_mail (message_id \"{id}\").",
                            lines.join("\n")
                        ),
                        task: None,
                    });
                }
                out.reverse(); // oldest first
                out
            }
        })
    }

    /// Messages of the last day from crew or the office (not jada's own steps, not an
    /// agent's notes), on charters from yesterday to two months ahead.
    async fn chat_inputs(&self, now: DateTime<Utc>) -> Result<Vec<Input>, JobError> {
        let today = now.date_naive();
        let charters = self
            .store
            .list_charters_between(today - chrono::Duration::days(1), today + chrono::Duration::days(60))
            .await?;
        let mut out = Vec::new();
        for c in charters {
            for m in self.store.list_chat(c.charter_id).await? {
                let from = match &m.author {
                    ChatAuthor::System => continue,
                    ChatAuthor::Operator(who) if who.starts_with("agent:") => continue,
                    ChatAuthor::Operator(who) => who.clone(),
                    ChatAuthor::Crew(id) => format!("crew {id}"),
                };
                if now - m.posted_at > chrono::Duration::days(1) {
                    continue;
                }
                out.push(Input {
                    key: format!("chat:{}", m.message_id),
                    text: format!(
                        "New chat message on charter {} ({} {}, {}) from {from}:\n{}",
                        c.charter_id, c.charter_date, c.start_time, c.vessel_name, m.body
                    ),
                    task: None,
                });
            }
        }
        Ok(out)
    }

    async fn note_task(&self, task: u64, r: &Report) -> Result<(), JobError> {
        let note = TaskNote {
            at: self.clock.now(),
            author: format!("agent:{}", r.playbook),
            body: match &r.handoff {
                Some(h) => format!("{}\n\n{h}", summary(r)),
                None => summary(r),
            },
        };
        if r.outcome == Some(Outcome::Completed) {
            self.store.set_task_status(task, TaskStatus::Done, &note).await?;
        } else {
            self.store.add_task_note(task, &note).await?;
        }
        Ok(())
    }

    /// Sessions waiting on approvals none of which is pending (decided while nobody
    /// could carry them on, or expired) carry on. A session another process carries on
    /// first is not an error; one whose playbook is not configured here is skipped.
    async fn continue_unblocked(&self, agent: &Agent) -> Result<Vec<String>, JobError> {
        let desk = AgentDesk {
            agent: agent.clone(),
            playbooks: self.playbooks.clone(),
        };
        let pb_of = |name: &str| desk.playbook(name);
        let mut out = Vec::new();
        let mut cannot = Vec::new();
        for s in agent.unblocked_sessions(1_000).await? {
            if let Some(why) = desk.cannot_carry_on(s.id, &s.playbook) {
                cannot.push(why);
                continue;
            }
            let r = agent.continue_waiting(&pb_of, s.id).await?;
            out.push(format!("carried on: {}", summary(&r)));
        }
        // A session nobody here can carry on is a failure a person must see (the run
        // fails, and its alert says which and why), after the rest was done.
        if !cannot.is_empty() {
            return Err(JobError::operator(format!(
                "{}{}",
                cannot.join("; "),
                if out.is_empty() {
                    String::new()
                } else {
                    format!(" (and {})", out.join("; "))
                }
            )));
        }
        Ok(out)
    }
}
