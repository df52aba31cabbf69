//! Tasks and agent sessions.

use jada_core::agent::{Block, Message, Outcome, Role, ToolCall, ToolCallState, Usage};
use jada_core::{NewTask, TaskNote, TaskSource, TaskStatus};
use serde_json::json;

use super::t;
use crate::{NewSession, SessionEnd, Started, Store, StoreError, TurnCost};

pub async fn tasks_are_numbered_noted_and_closed_once(store: &impl Store) {
    let now = t("2026-07-01T09:00:00Z");
    let new = NewTask::new("Call the Nakamura party", "About the\nlate arrival", TaskSource::Manual).unwrap();
    let first = store.create_task(&new, now).await.unwrap();
    let mut second = NewTask::new("Continue session 4", "", TaskSource::Agent).unwrap();
    second.source_ref = Some("session 4".into());
    let second = store.create_task(&second, now).await.unwrap();
    assert!(second.id > first.id, "tasks are numbered in order");
    assert_eq!(first.status, TaskStatus::Open);
    assert_eq!(first.body, "About the\nlate arrival");
    assert_eq!(second.source_ref.as_deref(), Some("session 4"));

    let note = |body: &str, at| TaskNote {
        at: t(at),
        author: "office@example.com".into(),
        body: body.into(),
    };
    let noted = store
        .add_task_note(first.id, &note("left a voicemail", "2026-07-01T10:00:00Z"))
        .await
        .unwrap();
    assert_eq!(noted.notes.len(), 1);
    assert_eq!(noted.updated_at, t("2026-07-01T10:00:00Z"));
    let done = store
        .set_task_status(
            first.id,
            TaskStatus::Done,
            &note("they called back", "2026-07-01T11:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(done.status, TaskStatus::Done);
    assert_eq!(
        done.notes.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(),
        ["left a voicemail", "they called back"]
    );
    let again = store
        .set_task_status(first.id, TaskStatus::Cancelled, &note("oops", "2026-07-01T12:00:00Z"))
        .await;
    assert!(
        matches!(again, Err(StoreError::NotAllowed { .. })),
        "a done task stays done (refused as closed, not as missing)"
    );
    assert_eq!(
        store.get_task(first.id).await.unwrap().unwrap(),
        done,
        "nothing written"
    );
    assert!(matches!(
        store.add_task_note(9_999, &note("x", "2026-07-01T12:00:00Z")).await,
        Err(StoreError::NoSuchRecord { .. })
    ));

    let open: Vec<u64> = store
        .list_tasks(&[TaskStatus::Open], 10)
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(open, [second.id]);
    let all: Vec<u64> = store.list_tasks(&[], 10).await.unwrap().iter().map(|t| t.id).collect();
    assert_eq!(all, [second.id, first.id], "newest first");
}

/// A session of `inbox-triage` on `input`, run by `host:1`, keyed `key`.
fn new_session(input: &str, key: &str) -> NewSession {
    NewSession {
        playbook: "inbox-triage".into(),
        input: input.into(),
        input_key: key.into(),
        max_turns: 5,
        owner: "host:1".into(),
    }
}

async fn start(store: &impl Store, new: &NewSession, now: chrono::DateTime<chrono::Utc>) -> jada_core::agent::Session {
    match store
        .start_agent_session(new, &Message::user_text(new.input.clone()), now)
        .await
        .unwrap()
    {
        Started::New(s) => s,
        Started::Existing(_) => panic!("a new input key starts a session"),
    }
}

pub async fn agent_sessions_commit_turns_and_run_tools_once(store: &impl Store) {
    let now = t("2026-07-01T09:00:00Z");
    let new = new_session("mail 17", "gmail:17");
    let session = start(store, &new, now).await;
    assert_eq!(session.outcome, None);
    assert_eq!((session.turns, session.max_turns), (0, 5));
    let Started::Existing(same) = store
        .start_agent_session(&new, &Message::user_text("mail 17 again"), now)
        .await
        .unwrap()
    else {
        panic!("one session per input key");
    };
    assert_eq!(same.id, session.id);

    let answer = Message {
        role: Role::Assistant,
        content: vec![Block::ToolUse {
            id: "toolu_1".into(),
            name: "list_tasks".into(),
            input: json!({}),
        }],
    };
    let usage = Usage {
        input_tokens: 100,
        output_tokens: 20,
        cache_read_tokens: 1_000,
        cache_write_tokens: 50,
    };
    let day: chrono::NaiveDate = "2026-06-30".parse().unwrap();
    let turn = TurnCost {
        usage,
        cost_micro_usd: 600,
        day,
        compaction: true,
    };
    let after = store
        .append_messages(session.id, "host:1", std::slice::from_ref(&answer), Some(turn), now)
        .await
        .unwrap();
    assert_eq!(
        (
            after.turns,
            after.input_tokens,
            after.output_tokens,
            after.cost_micro_usd
        ),
        (1, 100, 20, 600)
    );
    assert_eq!(
        (after.cache_read_tokens, after.cache_write_tokens, after.compactions),
        (1_000, 50, 1)
    );
    // The turn's cost was added to its playbook's day in the same write; a heartbeat
    // (no messages, no turn) adds nothing but moves updated_at.
    assert_eq!(store.agent_spend(&session.playbook, day).await.unwrap(), 600);
    assert_eq!(
        store
            .agent_spend(&session.playbook, day.succ_opt().unwrap())
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.agent_spend("another", day).await.unwrap(), 0);
    let later = now + chrono::Duration::seconds(5);
    let beat = store
        .append_messages(session.id, "host:1", &[], None, later)
        .await
        .unwrap();
    assert_eq!((beat.turns, beat.updated_at), (1, later));
    assert_eq!(store.agent_spend(&session.playbook, day).await.unwrap(), 600);
    // The hour's counters: one session started, one turn with its tokens and cost.
    let totals = store.agent_totals(now - chrono::Duration::hours(1)).await.unwrap();
    let mine: Vec<_> = totals.iter().filter(|t| t.playbook == session.playbook).collect();
    assert_eq!(mine.len(), 1, "{totals:?}");
    assert_eq!(
        (
            mine[0].started,
            mine[0].turns,
            mine[0].cost_micro_usd,
            mine[0].cache_read_tokens
        ),
        (1, 1, 600, 1_000)
    );
    assert!(mine[0].ended.is_empty(), "still running: {:?}", mine[0].ended);
    assert!(store
        .agent_totals(now + chrono::Duration::hours(2))
        .await
        .unwrap()
        .is_empty());
    assert!(
        matches!(
            store
                .append_messages(session.id, "host:2", std::slice::from_ref(&answer), None, now)
                .await,
            Err(StoreError::NotAllowed { .. })
        ),
        "only the owner appends"
    );

    let call = ToolCall {
        session_id: session.id,
        tool_use_id: "toolu_1".into(),
        name: "list_tasks".into(),
        input: json!({}),
        state: ToolCallState::Running,
        result: None,
        is_error: false,
        started_at: now,
    };
    assert!(store.start_tool_call(&call).await.unwrap());
    assert!(!store.start_tool_call(&call).await.unwrap(), "a tool call starts once");
    store
        .finish_tool_call(session.id, "toolu_1", "[]", false)
        .await
        .unwrap();
    assert!(store
        .finish_tool_call(session.id, "toolu_1", "[]", false)
        .await
        .is_err());
    let calls = store.list_tool_calls(session.id).await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].state, calls[0].result.as_deref()),
        (ToolCallState::Done, Some("[]"))
    );

    let messages = store.session_messages(session.id).await.unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1], answer);
    assert_eq!(store.list_running_agent_sessions().await.unwrap().len(), 1);

    let end = SessionEnd {
        outcome: Outcome::TurnLimit,
        handoff: Some("did 1 of 2".into()),
        error: None,
        owner: None,
    };
    assert!(store.finish_agent_session(session.id, &end, now).await.unwrap());
    assert!(
        !store.finish_agent_session(session.id, &end, now).await.unwrap(),
        "ends once"
    );
    let totals = store.agent_totals(now).await.unwrap();
    let mine = totals.iter().find(|t| t.playbook == session.playbook).unwrap();
    assert_eq!(mine.ended.get("turn_limit"), Some(&1), "counted once: {mine:?}");
    assert!(store.list_running_agent_sessions().await.unwrap().is_empty());
    let ended = store.get_agent_session(session.id).await.unwrap().unwrap();
    assert_eq!(ended.outcome, Some(Outcome::TurnLimit));
    assert_eq!(ended.handoff.as_deref(), Some("did 1 of 2"));

    let reopened = store
        .reopen_agent_session(session.id, "host:3", 9, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (reopened.outcome, reopened.max_turns, reopened.owner.as_deref()),
        (None, 9, Some("host:3"))
    );
    assert!(
        store
            .reopen_agent_session(session.id, "host:4", 9, now)
            .await
            .unwrap()
            .is_none(),
        "running: not reopened"
    );
    let done = SessionEnd {
        outcome: Outcome::Completed,
        handoff: None,
        error: None,
        owner: None,
    };
    store.finish_agent_session(session.id, &done, now).await.unwrap();
    assert!(
        store
            .reopen_agent_session(session.id, "host:4", 9, now)
            .await
            .unwrap()
            .is_none(),
        "completed is final"
    );
    assert_eq!(store.list_agent_sessions(10).await.unwrap()[0].turns, 1);
}

pub async fn approvals_are_decided_once_bound_to_their_arguments_and_expire(store: &impl Store) {
    use jada_core::agent::{args_hash, ApprovalState};

    use crate::NewApproval;

    let now = t("2026-07-01T09:00:00Z");
    let session = start(store, &new_session("mail", "gmail:approvals"), now).await;
    let args = json!({"to": ["guest@example.com"], "subject": "Your charter", "body": "See you Saturday"});
    let ask = |tool_use_id: &str, expires: &str| NewApproval {
        session_id: session.id,
        tool_use_id: tool_use_id.into(),
        tool: "draft_reply".into(),
        arguments: args.clone(),
        requested_at: now,
        expires_at: t(expires),
    };
    let a = store
        .request_approval(&ask("toolu_a", "2026-07-02T09:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        (a.state, a.args_hash.clone()),
        (ApprovalState::Pending, args_hash("draft_reply", &args))
    );
    let again = store
        .request_approval(&ask("toolu_a", "2026-07-09T09:00:00Z"))
        .await
        .unwrap();
    assert_eq!(again, a, "asking twice for one tool call is one request");
    assert_eq!(
        store.find_approval(session.id, "toolu_a").await.unwrap(),
        Some(a.clone())
    );
    assert!(
        !store.use_approval(a.id, &a.args_hash, now).await.unwrap(),
        "pending is not approved"
    );

    let approved = store
        .decide_approval(a.id, true, None, "office@example.com", t("2026-07-01T10:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        (approved.state, approved.decided_by.as_deref()),
        (ApprovalState::Approved, Some("office@example.com"))
    );
    assert!(
        matches!(
            store.decide_approval(a.id, false, Some("no"), "x", now).await,
            Err(StoreError::NotAllowed { .. })
        ),
        "decided once"
    );
    let changed = args_hash(
        "draft_reply",
        &json!({"to": ["x@evil.example"], "subject": "Roster", "body": "..."}),
    );
    assert!(
        !store.use_approval(a.id, &changed, now).await.unwrap(),
        "other arguments are not approved"
    );
    assert!(store.use_approval(a.id, &a.args_hash, now).await.unwrap());
    assert!(
        !store.use_approval(a.id, &a.args_hash, now).await.unwrap(),
        "an approval works once"
    );
    assert_eq!(
        store.get_approval(a.id).await.unwrap().unwrap().state,
        ApprovalState::Used
    );

    let b = store
        .request_approval(&ask("toolu_b", "2026-07-01T12:00:00Z"))
        .await
        .unwrap();
    let denied = store
        .decide_approval(b.id, false, Some("not this guest"), "office@example.com", now)
        .await
        .unwrap();
    assert_eq!(
        (denied.state, denied.reason.as_deref()),
        (ApprovalState::Denied, Some("not this guest"))
    );

    let c = store
        .request_approval(&ask("toolu_c", "2026-07-01T12:00:00Z"))
        .await
        .unwrap();
    assert_eq!(c.state_at(t("2026-07-01T12:00:00Z")), ApprovalState::Expired);
    assert!(store
        .decide_approval(c.id, true, None, "late", t("2026-07-01T13:00:00Z"))
        .await
        .is_err());
    assert_eq!(
        store.get_approval(c.id).await.unwrap().unwrap().state,
        ApprovalState::Expired
    );

    let pending = store.list_approvals(&[ApprovalState::Pending], 10).await.unwrap();
    assert!(pending.is_empty());
    let all: Vec<u64> = store
        .list_approvals(&[], 10)
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(all, [c.id, b.id, a.id]);
}
