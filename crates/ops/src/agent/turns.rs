//! The loop: until an outcome, answer the last turn's tool calls, ask the model for the
//! next turn, commit it. [`Agent::drive`] is the one way into it, and ends the session
//! whatever path leaves it.

use std::future::Future;
use std::sync::Arc;

use jada_core::agent::{Block, Message, Outcome, Role, Session, StopReason, ToolCall, ToolCallState};
use jada_core::{Clock, NewTask, TaskSource};
use jada_llm::{LlmError, Request};
use jada_store::{SessionEnd, Store, StoreError, TurnCost};

use super::approvals::Gate;
use super::context::{self, Measure};
use super::playbook::MAX_CALLS_PER_TURN;
use super::{Agent, AgentError, Playbook, Report, ToolOutput, Toolbox, CONTINUE_PROMPT, HANDOFF_PROMPT, RULES};

/// Why the loop stopped without an outcome of its own.
pub(super) enum Stop {
    /// The agent's cancellation token fired: the session ends `cancelled`.
    Cancelled,
    /// The session is no longer this process's to run (swept, or taken up elsewhere):
    /// nothing more is written to it.
    Taken,
    /// An error of jada's own: the session ends `failed` with it.
    Failed(AgentError),
}

impl From<AgentError> for Stop {
    fn from(e: AgentError) -> Stop {
        match e {
            AgentError::Store(StoreError::NotAllowed {
                what: "agent session", ..
            }) => Stop::Taken,
            e => Stop::Failed(e),
        }
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Stop {
        Stop::from(AgentError::from(e))
    }
}

/// What answering the last turn's tool calls came to.
enum Answered {
    /// The last message asked for no tools.
    Nothing,
    /// Every call answered: the user message carrying the results.
    Results(Message),
    /// Some calls wait for a person's approval.
    Waiting(Vec<jada_core::agent::Approval>),
}

/// A session this process is driving: if the future driving it is dropped before it
/// ends (a job timeout that gave up waiting, a runtime shutting down), the session is
/// ended `cancelled` from a task of its own, so it never stays "running".
struct Unfinished {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    owner: String,
    id: u64,
    armed: bool,
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // the daemon's sweep ends it by its heartbeat
        };
        let (store, clock, owner, id) = (
            Arc::clone(&self.store),
            Arc::clone(&self.clock),
            self.owner.clone(),
            self.id,
        );
        runtime.spawn(async move {
            let end = SessionEnd {
                outcome: Outcome::Cancelled,
                handoff: None,
                error: Some(format!(
                    "the work running it was stopped (a timeout or a shutdown); `jada agent resume {id}` carries on"
                )),
                owner: Some(owner),
            };
            if let Err(e) = store.finish_agent_session(id, &end, clock.now()).await {
                tracing::warn!(session = id, error = %e, "cannot end a stopped agent session; the sweep will");
            }
        });
    }
}

impl Agent {
    /// Runs the loop on `session` and ends it, whatever path leaves the loop: an outcome
    /// of its own, `cancelled` when the agent's token fires, `failed` on an error of
    /// jada's (returned too), `cancelled` from a drop guard when the future is dropped.
    pub(super) async fn drive(&self, pb: &Playbook, session: Session) -> Result<Report, AgentError> {
        let id = session.id;
        let mut guard = Unfinished {
            store: Arc::clone(&self.store),
            clock: Arc::clone(&self.clock),
            owner: self.owner.clone(),
            id,
            armed: true,
        };
        let turns = session.turns;
        let result = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(Stop::Cancelled),
            r = self.turns(pb, session) => r,
        };
        guard.armed = false;
        match result {
            Ok(report) => Ok(report),
            Err(Stop::Taken) => self.report(id).await,
            Err(Stop::Cancelled) => {
                let current = self.store.get_agent_session(id).await?.map_or(turns, |s| s.turns);
                let why = format!("stopped (a shutdown, a timeout or a signal) after {current} turns; `jada agent resume {id}` carries on");
                self.end_id(id, Outcome::Cancelled, None, Some(why), None).await
            }
            Err(Stop::Failed(e)) => {
                let why = jada_core::text::truncate(&e.to_string(), 2_000);
                match self.end_id(id, Outcome::Failed, None, Some(why), None).await {
                    Ok(_) => {}
                    Err(end) => {
                        tracing::error!(session = id, error = %end, "cannot record that an agent session failed; the sweep will end it")
                    }
                }
                Err(e)
            }
        }
    }

    /// Waits for `work` while the session's heartbeat moves; stops when the agent is
    /// cancelled or the session is no longer this process's.
    pub(super) async fn alive<T>(&self, id: u64, work: impl Future<Output = T>) -> Result<T, Stop> {
        let beat = async {
            let mut tick = tokio::time::interval(self.heartbeat);
            tick.tick().await;
            loop {
                tick.tick().await;
                match self.store.append_messages(id, &self.owner, &[], None, self.now()).await {
                    Ok(_) => {}
                    Err(StoreError::NotAllowed { .. }) => return Stop::Taken,
                    Err(e) => tracing::warn!(session = id, error = %e, "cannot record the session's heartbeat"),
                }
            }
        };
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(Stop::Cancelled),
            out = work => Ok(out),
            stop = beat => Err(stop),
        }
    }

    /// The turns themselves. The transcript is read once and kept in step with the store.
    async fn turns(&self, pb: &Playbook, mut session: Session) -> Result<Report, Stop> {
        let id = session.id;
        let mut transcript = self.store.session_messages(id).await?;
        // Taken up again after the model's own last words (a handoff note, an answer
        // whose session was not closed before a crash): say so, or the next request
        // would ask the model to go on with its own message.
        let ends_with_words = transcript
            .last()
            .is_some_and(|m| m.role == Role::Assistant && m.tool_uses().next().is_none());
        if ends_with_words {
            let resumed = Message::user_text(CONTINUE_PROMPT);
            session = self
                .store
                .append_messages(id, &self.owner, std::slice::from_ref(&resumed), None, self.now())
                .await?;
            transcript.push(resumed);
        }
        let mut tools = self.toolbox.specs(&pb.tools).await;
        // Another server's tools can change while a session runs (tools/list_changed):
        // such a playbook's list is asked again before each turn.
        let tools_may_change = pb.tools.iter().any(|t| super::tools::is_external(t));
        let system = format!(
            "{}\n\n{RULES}\n\n{}",
            pb.instructions.trim(),
            self.business.briefing(self.now())
        );
        let mut measure = Measure::default();
        // A compaction is made at most once between two model turns (a context that is
        // still too big after one is ended `truncated`, not compacted forever).
        let mut just_compacted = false;
        // A context-length refusal compacts once; a second one means the bound is set
        // above the model's window: the session ends `truncated`, saying so.
        let mut refused_before = false;
        loop {
            match self.answer_tool_calls(pb, &session, transcript.last()).await? {
                Answered::Nothing => {}
                Answered::Results(results) => {
                    session = self
                        .store
                        .append_messages(id, &self.owner, std::slice::from_ref(&results), None, self.now())
                        .await?;
                    transcript.push(results);
                }
                Answered::Waiting(approvals) => {
                    let list: Vec<String> = approvals
                        .iter()
                        .map(|a| format!("approval {} ({})", a.id, a.tool))
                        .collect();
                    let why = format!(
                        "waiting for {}: `jada agent approve ID` or `jada agent deny ID --reason ...`",
                        list.join(", ")
                    );
                    let report = self
                        .end(&session, Outcome::WaitingApproval, None, Some(why), None)
                        .await?;
                    // A person who decided while this turn was ending saw the session
                    // running and left it to this process: carry on now, or it would
                    // wait on nothing.
                    if !self.all_decided(&approvals).await? {
                        return Ok(report);
                    }
                    let more = session.max_turns.max(session.turns + 1);
                    match self
                        .store
                        .reopen_agent_session(id, &self.owner, more, self.now())
                        .await?
                    {
                        Some(s) => session = s,
                        None => return Ok(report),
                    }
                    continue;
                }
            }
            if let Some(why) = self.over_budget(pb, &session).await? {
                return Ok(self
                    .end(&session, Outcome::BudgetExhausted, None, Some(why), None)
                    .await?);
            }
            let last_turn = session.turns + 1 >= session.max_turns;
            if tools_may_change && session.turns > 0 {
                tools = self.toolbox.specs(&pb.tools).await;
            }
            let mut new_messages = Vec::new();
            if last_turn {
                new_messages.push(Message::user_text(HANDOFF_PROMPT));
            }
            let request = Request {
                system: system.clone(),
                messages: context::request_messages(&transcript)
                    .into_iter()
                    .chain(new_messages.iter().cloned())
                    .collect(),
                tools: tools.clone(),
                max_tokens: pb.max_output_tokens,
                allow_tools: !last_turn,
            };
            let compact_now = !last_turn && !just_compacted && measure.near(pb, &system, &transcript);
            let reply = if compact_now {
                Err(None)
            } else {
                let on_retry = |attempt: u32, e: &LlmError| {
                    tracing::warn!(session = id, attempt, error = %e, "model request failed; retrying");
                };
                self.alive(id, self.llm.complete(&request, &on_retry))
                    .await?
                    .map_err(Some)
            };
            let reply = match reply {
                Ok(r) => r,
                // Near the bound, or refused as too long once: compact, then go on.
                Err(e @ (None | Some(LlmError::ContextTooLong { .. })))
                    if !(last_turn || just_compacted || (e.is_some() && refused_before)) =>
                {
                    refused_before |= e.is_some();
                    match self
                        .compact(pb, &session, &mut transcript, &request, e.is_some())
                        .await?
                    {
                        Ok(s) => session = s,
                        Err(e) => {
                            return Ok(self
                                .end(&session, Outcome::ProviderError, None, Some(e.to_string()), None)
                                .await?)
                        }
                    }
                    measure.reset();
                    just_compacted = true;
                    continue;
                }
                Err(Some(e @ LlmError::ContextTooLong { .. })) => {
                    let why = format!(
                        "{e}; compacting once did not keep it under the model's window: lower max_context_tokens ({}) below the window, or split the task",
                        pb.max_context_tokens
                    );
                    return Ok(self.end(&session, Outcome::Truncated, None, Some(why), None).await?);
                }
                Err(e) => {
                    let why = e.map_or_else(|| "no request was made".to_string(), |e| e.to_string());
                    return Ok(self
                        .end(&session, Outcome::ProviderError, None, Some(why), None)
                        .await?);
                }
            };
            just_compacted = false;
            let turn_cost = TurnCost {
                usage: reply.usage,
                cost_micro_usd: self.price.map_or(0, |p| p.cost_micro_usd(reply.usage)),
                day: self.business.zone.date_of(self.now()),
                compaction: false,
            };
            let cut_off = matches!(
                reply.stop,
                StopReason::MaxTokens | StopReason::ModelContextWindowExceeded
            );
            if cut_off {
                // A call cut off mid-arguments is answered, never run (not even on resume).
                for (tool_use_id, name, input) in reply.message.tool_uses() {
                    let out = ToolOutput::error(format!(
                        "this `{name}` call was cut off at the output limit and was not run; make it again, shorter"
                    ));
                    self.record(id, tool_use_id, name, input, &out).await?;
                }
            }
            new_messages.push(reply.message.clone());
            session = self
                .store
                .append_messages(id, &self.owner, &new_messages, Some(turn_cost), self.now())
                .await?;
            transcript.extend(new_messages);
            measure.counted(reply.usage, transcript.len());

            let wants_tools = reply.message.tool_uses().next().is_some();
            match reply.stop {
                _ if cut_off => {
                    let why = format!(
                        "the model's answer was cut off ({}; max_output_tokens is {}): raise it, or shorten the task",
                        reply.stop.as_str(),
                        pb.max_output_tokens
                    );
                    return Ok(self.end(&session, Outcome::Truncated, None, Some(why), None).await?);
                }
                StopReason::Refusal => {
                    let why = "the model refused to continue".to_string();
                    return Ok(self.end(&session, Outcome::Refused, None, Some(why), None).await?);
                }
                _ if last_turn => return Ok(self.hand_off(pb, &session, reply.message.text()).await?),
                StopReason::PauseTurn => continue,
                _ if wants_tools => continue,
                _ => return Ok(self.end(&session, Outcome::Completed, None, None, None).await?),
            }
        }
    }

    /// Answers the tool calls of `last` (when it is an assistant turn that made some),
    /// running each call at most once across crashes and resumes. Outbound calls run
    /// only with an approval of their exact arguments; calls past the turn's or the
    /// session's cap are answered with an error and never run.
    async fn answer_tool_calls(
        &self,
        pb: &Playbook,
        session: &Session,
        last: Option<&Message>,
    ) -> Result<Answered, Stop> {
        let Some(last) = last.filter(|m| m.role == Role::Assistant && m.tool_uses().next().is_some()) else {
            return Ok(Answered::Nothing);
        };
        let known = self.store.list_tool_calls(session.id).await?;
        let mut made = known.len();
        let mut content = Vec::new();
        let mut waiting = Vec::new();
        for (n, (tool_use_id, name, input)) in last.tool_uses().enumerate() {
            // Another server's tool comes back under the name the provider was shown.
            let name = super::tools::external::named(name, &pb.tools);
            let out = match known.iter().find(|c| c.tool_use_id == tool_use_id) {
                Some(c) if c.state == ToolCallState::Done => ToolOutput {
                    content: c.result.clone().unwrap_or_default(),
                    is_error: c.is_error,
                },
                Some(_) => self.interrupted(session.id, tool_use_id, name).await?,
                None if n >= MAX_CALLS_PER_TURN || made >= pb.max_tool_calls as usize => {
                    let out = ToolOutput::error(format!(
                        "refused: at most {MAX_CALLS_PER_TURN} tool calls in one turn and {} in one session (max_tool_calls); this `{name}` was not run",
                        pb.max_tool_calls
                    ));
                    self.record(session.id, tool_use_id, name, input, &out).await?;
                    made += 1;
                    out
                }
                None if Toolbox::needs_approval(name, &pb.trusted_tools) => {
                    made += 1;
                    match self.gate(pb, session, tool_use_id, name, input).await? {
                        Gate::Run => self.run_once(pb, session, tool_use_id, name, input).await?,
                        Gate::Spent => self.interrupted(session.id, tool_use_id, name).await?,
                        Gate::Answered(out) => out,
                        Gate::Waiting(pending) => {
                            waiting.push(pending);
                            continue;
                        }
                    }
                }
                None => {
                    made += 1;
                    self.run_once(pb, session, tool_use_id, name, input).await?
                }
            };
            content.push(Block::ToolResult {
                tool_use_id: tool_use_id.to_string(),
                content: out.content,
                is_error: out.is_error,
            });
        }
        if !waiting.is_empty() {
            return Ok(Answered::Waiting(waiting));
        }
        Ok(Answered::Results(Message {
            role: Role::User,
            content,
        }))
    }

    /// Runs one call, recorded as started first so it can never run twice. The session's
    /// heartbeat moves while it runs; cancelling stops it (it is then "interrupted").
    pub(super) async fn run_once(
        &self,
        pb: &Playbook,
        session: &Session,
        tool_use_id: &str,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<ToolOutput, Stop> {
        let author = format!("agent:{} (session {})", pb.name, session.id);
        if !self
            .store
            .start_tool_call(&self.call(session.id, tool_use_id, name, input))
            .await?
        {
            return Ok(self.interrupted(session.id, tool_use_id, name).await?);
        }
        let out = self
            .alive(
                session.id,
                self.toolbox.run(name, input, &pb.tools, &author, self.now()),
            )
            .await?;
        self.store
            .finish_tool_call(session.id, tool_use_id, &out.content, out.is_error)
            .await?;
        Ok(out)
    }

    /// Records a call answered without running it (refused, denied, expired, cut off).
    pub(super) async fn record(
        &self,
        session: u64,
        tool_use_id: &str,
        name: &str,
        input: &serde_json::Value,
        out: &ToolOutput,
    ) -> Result<(), AgentError> {
        if self
            .store
            .start_tool_call(&self.call(session, tool_use_id, name, input))
            .await?
        {
            self.store
                .finish_tool_call(session, tool_use_id, &out.content, out.is_error)
                .await?;
        }
        Ok(())
    }

    fn call(&self, session: u64, tool_use_id: &str, name: &str, input: &serde_json::Value) -> ToolCall {
        ToolCall::starting(session, tool_use_id, name, input, self.now())
    }

    /// A call that was running when its process died: it may or may not have taken
    /// effect, so it is not run again and the model is told to check.
    async fn interrupted(&self, session: u64, tool_use_id: &str, name: &str) -> Result<ToolOutput, AgentError> {
        let out = ToolOutput::error(format!(
            "`{name}` was interrupted by a restart and may or may not have taken effect; check (e.g. list_tasks) before trying it again"
        ));
        match self
            .store
            .finish_tool_call(session, tool_use_id, &out.content, true)
            .await
        {
            Ok(()) | Err(StoreError::NotAllowed { .. }) => Ok(out),
            Err(e) => Err(e.into()),
        }
    }

    /// Ends a session at its turn limit with the model's note and a task to continue.
    /// The note is the model's text: characters the text rules refuse are shown escaped,
    /// so a hostile note can neither fail the handoff nor reach a terminal raw.
    async fn hand_off(&self, pb: &Playbook, s: &Session, note: String) -> Result<Report, AgentError> {
        let note = if note.trim().is_empty() {
            "(the model wrote no handoff note; read the transcript with `jada agent show`)".to_string()
        } else {
            jada_core::text::printable(&note).into_owned()
        };
        let title = format!("Continue agent session {} ({})", s.id, pb.name);
        let body = format!(
            "Session {} stopped at its limit of {} turns. Its note:\n\n{}\n\nTo continue: jada agent resume {}",
            s.id,
            s.max_turns,
            jada_core::text::truncate(&note, jada_core::task::BODY_MAX - 500),
            s.id
        );
        let mut task = NewTask::new(&title, &body, TaskSource::Agent).map_err(|e| StoreError::Corrupt {
            what: "handoff task",
            detail: e.0,
        })?;
        task.source_ref = Some(format!("session {}", s.id));
        let task = self.store.create_task(&task, self.now()).await?;
        self.end(s, Outcome::TurnLimit, Some(note), None, Some(task.id)).await
    }

    pub(super) async fn end(
        &self,
        s: &Session,
        outcome: Outcome,
        handoff: Option<String>,
        error: Option<String>,
        follow_up: Option<u64>,
    ) -> Result<Report, AgentError> {
        self.end_id(s.id, outcome, handoff, error, follow_up).await
    }

    /// Records how this process's session ended (a session another process has taken
    /// up since is left alone) and reports it as the store now holds it.
    async fn end_id(
        &self,
        id: u64,
        outcome: Outcome,
        handoff: Option<String>,
        error: Option<String>,
        follow_up: Option<u64>,
    ) -> Result<Report, AgentError> {
        let end = SessionEnd {
            outcome,
            handoff,
            error,
            owner: Some(self.owner.clone()),
        };
        if self.store.finish_agent_session(id, &end, self.now()).await? && outcome != Outcome::Completed {
            let why = end.error.as_deref().unwrap_or("");
            tracing::warn!(session = id, %outcome, error = why, "agent session did not complete");
        }
        let mut report = self.report(id).await?;
        report.follow_up_task = follow_up;
        Ok(report)
    }

    /// The session as the store holds it.
    pub(super) async fn report(&self, id: u64) -> Result<Report, AgentError> {
        let s = self
            .store
            .get_agent_session(id)
            .await?
            .ok_or(AgentError::NoSession(id))?;
        Ok(Report::of(&s, None, false))
    }
}
