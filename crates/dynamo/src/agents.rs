//! Agent sessions in `jada-ops`. A session's item (`AGENT#<id>/META`) shares its
//! partition with its transcript (`MSG#<n>`), its tool calls (`CALL#<tool use id>`) and
//! its approval requests (`APPROVAL#<tool use id>`), so a session reads in one query.
//! A turn is one transaction: the session's counters (on its write token, only while it
//! runs as its owner) and the new messages.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::{DateTime, NaiveDate, Utc};
use jada_core::agent::{args_hash, Approval, ApprovalState, Message, NotDecidable, Session, ToolCall, ToolCallState};
use jada_store::{
    hour_of, turn_counters, AgentStore, AgentTotals, NewApproval, NewSession, Result, SessionEnd, Started, StoreError,
    TurnCost,
};

use crate::docs::{contention_pause, Change, Index, Query, Sk, Tx};
use crate::records::{agent_pk, approval_pk, seq, ApprovalClaimDoc, CallDoc, InputKeyDoc, MessageDoc, SessionDoc};
use crate::wire::{get_n, n, s};
use crate::DynamoStore;

const ATTEMPTS: u32 = 20;

impl DynamoStore {
    async fn session_doc(&self, id: u64) -> Result<Option<crate::docs::Doc<SessionDoc>>> {
        self.get_doc::<SessionDoc>(&agent_pk(id), "META").await
    }

    async fn session_by_key(&self, key: &str) -> Result<Option<Session>> {
        let Some(claim) = self.get_doc::<InputKeyDoc>(&format!("AGENTKEY#{key}"), "KEY").await? else {
            return Ok(None);
        };
        Ok(self.session_doc(claim.value.session_id).await?.map(|d| d.value.session))
    }

    async fn approval_by_call(&self, session: u64, tool_use_id: &str) -> Result<Option<Approval>> {
        let claim = self
            .get_doc::<ApprovalClaimDoc>(&agent_pk(session), &format!("APPROVAL#{tool_use_id}"))
            .await?;
        match claim {
            Some(c) => self.get_approval(c.value.approval_id).await,
            None => Ok(None),
        }
    }

    /// One try at appending a turn: `Ok(None)` when another write came in between.
    async fn try_append(
        &self,
        id: u64,
        owner: &str,
        messages: &[Message],
        turn: Option<TurnCost>,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>> {
        let doc = self.session_doc(id).await?.ok_or_else(|| StoreError::no_session(id))?;
        let mut d = doc.value;
        if d.session.outcome.is_some() || d.session.owner.as_deref() != Some(owner) {
            return Err(StoreError::session_not_running(id));
        }
        if let Some(t) = turn {
            let u = t.usage;
            d.session.turns += 1;
            d.session.input_tokens += u.input_tokens;
            d.session.output_tokens += u.output_tokens;
            d.session.cache_read_tokens += u.cache_read_tokens;
            d.session.cache_write_tokens += u.cache_write_tokens;
            d.session.compactions += u32::from(t.compaction);
            d.session.cost_micro_usd += t.cost_micro_usd;
        }
        d.session.updated_at = now;
        let mut tx = Tx::new(self);
        for m in messages {
            d.messages += 1;
            tx.put(
                &MessageDoc {
                    session_id: id,
                    n: d.messages,
                    message: m.clone(),
                },
                Some(""),
            )?;
        }
        tx.put(&d, Some(&doc.tok))?;
        if let Some(t) = turn {
            tx.push(self.spend_add(&d.session.playbook, t.day, t.cost_micro_usd)?);
            tx.push(self.counters(&d.session.playbook, now, &turn_counters(&t))?);
        }
        Ok(tx.commit().await?.is_none().then_some(d.session))
    }

    /// Adds to a playbook's counters of the hour of `at` (`AGENTHOURS` / `<hour>#<playbook>`,
    /// one attribute per counter, ADDed), as a piece of a transaction.
    fn counters(&self, playbook: &str, at: DateTime<Utc>, counters: &[(&str, u64)]) -> Result<TransactWriteItem> {
        let mut expr = Vec::new();
        let mut update = Update::builder()
            .table_name(&self.tables.ops)
            .key("pk", s("AGENTHOURS"))
            .key("sk", s(format!("{}#{playbook}", hour_of(at))));
        for (i, (key, n)) in counters.iter().enumerate() {
            expr.push(format!("#c{i} :c{i}"));
            update = update
                .expression_attribute_names(format!("#c{i}"), *key)
                .expression_attribute_values(format!(":c{i}"), crate::wire::n(*n));
        }
        let update = update
            .update_expression(format!("SET #pb = :pb ADD {}", expr.join(", ")))
            .expression_attribute_names("#pb", "playbook")
            .expression_attribute_values(":pb", s(playbook))
            .build()
            .map_err(crate::wire::built)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Adds to a playbook's spend of one day (`SPEND#<playbook>` / `<day>`, `cost` ADDed),
    /// as a piece of the turn's transaction.
    fn spend_add(&self, playbook: &str, day: NaiveDate, micro_usd: u64) -> Result<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.tables.ops)
            .key("pk", s(format!("SPEND#{playbook}")))
            .key("sk", s(day.to_string()))
            .update_expression("ADD #c :c")
            .expression_attribute_names("#c", "cost")
            .expression_attribute_values(":c", n(micro_usd))
            .build()
            .map_err(crate::wire::built)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    async fn change_session<R: Send>(
        &self,
        id: u64,
        f: impl FnMut(Option<SessionDoc>) -> Result<Change<SessionDoc, R>> + Send,
    ) -> Result<R> {
        self.change::<SessionDoc, R, _>(&agent_pk(id), "META", f).await
    }
}

#[async_trait]
impl AgentStore for DynamoStore {
    async fn start_agent_session(&self, new: &NewSession, first: &Message, now: DateTime<Utc>) -> Result<Started> {
        if let Some(s) = self.session_by_key(&new.input_key).await? {
            return Ok(Started::Existing(s));
        }
        let id = self.next_number("session").await?;
        let session = Session {
            id,
            playbook: new.playbook.clone(),
            input: new.input.clone(),
            input_key: new.input_key.clone(),
            outcome: None,
            turns: 0,
            max_turns: new.max_turns,
            input_tokens: 0,
            output_tokens: 0,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            compactions: 0,
            cost_micro_usd: 0,
            handoff: None,
            error: None,
            owner: Some(new.owner.clone()),
            started_at: now,
            updated_at: now,
        };
        let mut tx = Tx::new(self);
        tx.put(
            &InputKeyDoc {
                input_key: new.input_key.clone(),
                session_id: id,
            },
            Some(""),
        )?;
        tx.put(
            &SessionDoc {
                session: session.clone(),
                messages: 1,
            },
            Some(""),
        )?;
        tx.put(
            &MessageDoc {
                session_id: id,
                n: 1,
                message: first.clone(),
            },
            Some(""),
        )?;
        tx.push(self.counters(&session.playbook, now, &[("started", 1)])?);
        if tx.commit().await?.is_none() {
            return Ok(Started::New(session));
        }
        // Another process started a session for this input first: that one stands.
        match self.session_by_key(&new.input_key).await? {
            Some(s) => Ok(Started::Existing(s)),
            None => Err(StoreError::Backend(
                format!("starting a session for `{}` raced and lost; try again", new.input_key).into(),
            )),
        }
    }

    async fn get_agent_session(&self, id: u64) -> Result<Option<Session>> {
        Ok(self.session_doc(id).await?.map(|d| d.value.session))
    }

    async fn list_agent_sessions(&self, limit: usize) -> Result<Vec<Session>> {
        let q = Query::on(Index::Gsi(1), "AGENTS").newest_first().limit(limit);
        Ok(self
            .query_values::<SessionDoc>(&q)
            .await?
            .into_iter()
            .map(|d| d.session)
            .collect())
    }

    async fn agent_spend(&self, playbook: &str, day: NaiveDate) -> Result<u64> {
        let item = self.get_doc_raw(&format!("SPEND#{playbook}"), &day.to_string()).await?;
        Ok(item
            .as_ref()
            .and_then(|i| get_n(i, "cost"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    async fn agent_totals(&self, since: DateTime<Utc>) -> Result<Vec<AgentTotals>> {
        let q = Query::on(Index::Table, "AGENTHOURS").sk(Sk::AtLeast(hour_of(since)));
        let mut by: std::collections::BTreeMap<String, AgentTotals> = Default::default();
        for item in self.query_items(&q).await? {
            let Some(playbook) = crate::wire::get_s(&item, "playbook") else {
                continue;
            };
            let t = by.entry(playbook.to_string()).or_insert_with(|| AgentTotals {
                playbook: playbook.to_string(),
                ..Default::default()
            });
            for (key, v) in &item {
                if let Some(n) = v.as_n().ok().and_then(|n| n.parse::<u64>().ok()) {
                    t.add(key, n);
                }
            }
        }
        Ok(by.into_values().collect())
    }

    async fn list_running_agent_sessions(&self) -> Result<Vec<Session>> {
        let q = Query::on(Index::Gsi(2), "AGENTS#RUNNING");
        Ok(self
            .query_values::<SessionDoc>(&q)
            .await?
            .into_iter()
            .map(|d| d.session)
            .filter(|s| s.outcome.is_none())
            .collect())
    }

    async fn session_messages(&self, id: u64) -> Result<Vec<Message>> {
        let q = Query::on(Index::Table, agent_pk(id)).sk(Sk::Prefix("MSG#".into()));
        Ok(self
            .query_values::<MessageDoc>(&q)
            .await?
            .into_iter()
            .map(|m| m.message)
            .collect())
    }

    async fn append_messages(
        &self,
        id: u64,
        owner: &str,
        messages: &[Message],
        turn: Option<TurnCost>,
        now: DateTime<Utc>,
    ) -> Result<Session> {
        for attempt in 0..ATTEMPTS {
            if let Some(s) = self.try_append(id, owner, messages, turn, now).await? {
                return Ok(s);
            }
            tokio::time::sleep(contention_pause(attempt)).await;
        }
        Err(StoreError::Backend(
            format!("agent session {id} kept changing while appending to it; try again").into(),
        ))
    }

    async fn start_tool_call(&self, call: &ToolCall) -> Result<bool> {
        let mut call = call.clone();
        call.state = ToolCallState::Running;
        self.put_doc(&CallDoc { call, seq: seq() }, Some("")).await
    }

    async fn finish_tool_call(&self, session: u64, tool_use_id: &str, result: &str, is_error: bool) -> Result<()> {
        let done = self
            .change::<CallDoc, bool, _>(&agent_pk(session), &format!("CALL#{tool_use_id}"), |cur| match cur {
                Some(mut c) if c.call.state == ToolCallState::Running => {
                    c.call.state = ToolCallState::Done;
                    c.call.result = Some(result.to_string());
                    c.call.is_error = is_error;
                    Ok(Change::Write(c, true))
                }
                _ => Ok(Change::Keep(false)),
            })
            .await?;
        done.then_some(()).ok_or_else(|| StoreError::NotAllowed {
            what: "tool call",
            id: format!("{session}/{tool_use_id}"),
            why: "is not running",
        })
    }

    async fn list_tool_calls(&self, session: u64) -> Result<Vec<ToolCall>> {
        let q = Query::on(Index::Table, agent_pk(session)).sk(Sk::Prefix("CALL#".into()));
        let mut calls = self.query_values::<CallDoc>(&q).await?;
        calls.sort_by(|a, b| a.seq.cmp(&b.seq));
        Ok(calls.into_iter().map(|c| c.call).collect())
    }

    async fn finish_agent_session(&self, id: u64, end: &SessionEnd, now: DateTime<Utc>) -> Result<bool> {
        let mut playbook = None;
        let ended = self
            .change_session(id, |cur| match cur {
                Some(mut d)
                    if d.session.outcome.is_none()
                        && end.owner.as_ref().is_none_or(|o| d.session.owner.as_ref() == Some(o)) =>
                {
                    d.session.outcome = Some(end.outcome);
                    d.session.handoff = end.handoff.clone();
                    d.session.error = end.error.clone();
                    d.session.owner = None;
                    d.session.updated_at = now;
                    playbook = Some(d.session.playbook.clone());
                    Ok(Change::Write(d, true))
                }
                _ => Ok(Change::Keep(false)),
            })
            .await?;
        // The hour's counters: a second request (a crash between the two loses one
        // ending from the figures, never a session's state).
        if let (true, Some(playbook)) = (ended, playbook) {
            let key = format!("ended:{}", end.outcome.as_str());
            let Some(update) = self.counters(&playbook, now, &[(key.as_str(), 1)])?.update else {
                return Ok(true);
            };
            let mut req = self
                .client
                .update_item()
                .table_name(update.table_name())
                .set_key(Some(update.key().clone()))
                .update_expression(update.update_expression());
            req = req
                .set_expression_attribute_names(update.expression_attribute_names().cloned())
                .set_expression_attribute_values(update.expression_attribute_values().cloned());
            if let Err(e) = req.send().await {
                tracing::warn!(session = id, error = %crate::wire::failure(self.ops_op("UpdateItem"), e), "cannot count an agent session's ending");
            }
        }
        Ok(ended)
    }

    async fn request_approval(&self, a: &NewApproval) -> Result<Approval> {
        if let Some(existing) = self.approval_by_call(a.session_id, &a.tool_use_id).await? {
            return Ok(existing);
        }
        let approval = Approval {
            id: self.next_number("approval").await?,
            session_id: a.session_id,
            tool_use_id: a.tool_use_id.clone(),
            tool: a.tool.clone(),
            arguments: a.arguments.clone(),
            args_hash: args_hash(&a.tool, &a.arguments),
            state: ApprovalState::Pending,
            reason: None,
            decided_by: None,
            requested_at: a.requested_at,
            expires_at: a.expires_at,
            decided_at: None,
        };
        let claim = ApprovalClaimDoc {
            session_id: a.session_id,
            tool_use_id: a.tool_use_id.clone(),
            approval_id: approval.id,
        };
        let mut tx = Tx::new(self);
        tx.put(&claim, Some(""))?;
        tx.put(&approval, Some(""))?;
        if tx.commit().await?.is_none() {
            return Ok(approval);
        }
        self.approval_by_call(a.session_id, &a.tool_use_id)
            .await?
            .ok_or_else(|| StoreError::Backend("an approval request raced and lost; try again".into()))
    }

    async fn get_approval(&self, id: u64) -> Result<Option<Approval>> {
        Ok(self
            .get_doc::<Approval>(&approval_pk(id), "APPROVAL")
            .await?
            .map(|d| d.value))
    }

    async fn find_approval(&self, session: u64, tool_use_id: &str) -> Result<Option<Approval>> {
        self.approval_by_call(session, tool_use_id).await
    }

    async fn list_approvals(&self, states: &[ApprovalState], limit: usize) -> Result<Vec<Approval>> {
        let mut out: Vec<Approval> = if states.is_empty() {
            self.query_values(&Query::on(Index::Gsi(1), "APPROVALS").newest_first().limit(limit))
                .await?
        } else {
            let mut all = vec![];
            for s in states {
                let q = Query::on(Index::Gsi(2), format!("APPROVALS#{}", s.as_str()))
                    .newest_first()
                    .limit(limit);
                all.extend(self.query_values::<Approval>(&q).await?);
            }
            all
        };
        out.sort_by_key(|a| std::cmp::Reverse(a.id));
        out.dedup_by_key(|a| a.id);
        out.truncate(limit);
        Ok(out)
    }

    async fn decide_approval(
        &self,
        id: u64,
        approve: bool,
        reason: Option<&str>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Approval> {
        self.change::<Approval, Result<Approval>, _>(&approval_pk(id), "APPROVAL", |cur| {
            let a =
                cur.ok_or_else(|| StoreError::no_approval(id, "does not exist: `jada agent approvals` lists them"))?;
            match a.decided(approve, reason, by, now) {
                Ok(d) => Ok(Change::Write(d.clone(), Ok(d))),
                // Expired while pending: it is stored as expired, and refused.
                Err(NotDecidable::Expired) if a.state == ApprovalState::Pending => {
                    let expired = Approval {
                        state: ApprovalState::Expired,
                        ..a
                    };
                    Ok(Change::Write(
                        expired,
                        Err(StoreError::not_decidable(id, NotDecidable::Expired)),
                    ))
                }
                Err(why) => Ok(Change::Keep(Err(StoreError::not_decidable(id, why)))),
            }
        })
        .await?
    }

    async fn use_approval(&self, id: u64, args_hash: &str, now: DateTime<Utc>) -> Result<bool> {
        self.change::<Approval, bool, _>(&approval_pk(id), "APPROVAL", |cur| {
            Ok(match cur.and_then(|a| a.spent(args_hash, now)) {
                Some(used) => Change::Write(used, true),
                None => Change::Keep(false),
            })
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
        self.change_session(id, |cur| match cur {
            Some(mut d) if d.session.outcome.is_some_and(|o| o.is_resumable()) => {
                d.session.outcome = None;
                d.session.error = None;
                d.session.owner = Some(owner.to_string());
                d.session.max_turns = max_turns;
                d.session.updated_at = now;
                let s = d.session.clone();
                Ok(Change::Write(d, Some(s)))
            }
            _ => Ok(Change::Keep(None)),
        })
        .await
    }
}
