//! Sessions that always end, always send a transcript the provider accepts, and stay
//! bounded against a hostile provider or model: each test drives a real session against
//! the LLM emulator over HTTP and asserts what the store holds afterwards.

mod common;

use std::time::Duration;

use common::agent::{agent_on, fixture, mail_agent, playbook};
use jada_core::agent::{ApprovalState, Outcome, ToolCallState};
use jada_core::Clock;
use jada_llm::Provider;
use jada_ops::agent::Playbook;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Polls `check` until it holds or `secs` pass (never a fixed sleep).
async fn eventually<F, Fut>(secs: u64, what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn mail_playbook() -> Playbook {
    let mut pb = playbook(30);
    pb.tools = ["list_tasks", "create_task", "draft_reply"].map(String::from).to_vec();
    pb
}

#[tokio::test]
async fn a_cancelled_session_ends_cancelled_not_running() {
    let f = fixture(Provider::Anthropic).await;
    f.emu
        .script(json!({"name": "slow", "turns": [{"text": "late", "delay_ms": 5000}]}));
    let cancel = CancellationToken::new();
    let agent = f.agent.with_cancel(cancel.clone());
    let run = tokio::spawn(async move { agent.run(&playbook(30), "slow", None, None).await });
    let store = f.store.clone();
    eventually(5, "the request in flight", || async { !f.emu.received().is_empty() }).await;
    cancel.cancel();
    let r = run.await.unwrap().unwrap();
    assert_eq!(r.outcome, Some(Outcome::Cancelled), "{r:?}");
    assert!(r.error.unwrap().contains("jada agent resume"));
    assert!(store.list_running_agent_sessions().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_session_whose_future_is_dropped_mid_turn_ends_cancelled() {
    // What the job runner does at a timeout that the job does not answer: drop it.
    let f = fixture(Provider::Anthropic).await;
    f.emu
        .script(json!({"name": "slow", "turns": [{"text": "late", "delay_ms": 5000}]}));
    let agent = f.agent.clone();
    let timed_out =
        tokio::time::timeout(Duration::from_millis(300), agent.run(&playbook(30), "slow", None, None)).await;
    assert!(timed_out.is_err());
    let store = f.store.clone();
    eventually(5, "the dropped session to end", || async {
        store.list_running_agent_sessions().await.unwrap().is_empty()
    })
    .await;
    let s = &f.store.list_agent_sessions(1).await.unwrap()[0];
    assert_eq!(s.outcome, Some(Outcome::Cancelled));
}

#[tokio::test]
async fn the_heartbeat_moves_while_the_model_thinks_and_the_sweep_ends_what_stopped() {
    let f = fixture(Provider::Anthropic).await;
    f.emu
        .script(json!({"name": "slow", "turns": [{"text": "late", "delay_ms": 1500}]}));
    let agent = f.agent.clone().heartbeat_every(Duration::from_millis(100));
    let clock = f.clock.clone();
    let store = f.store.clone();
    let run = tokio::spawn(async move { agent.run(&playbook(30), "slow", None, None).await });
    eventually(5, "a session", || async {
        !store.list_running_agent_sessions().await.unwrap().is_empty()
    })
    .await;
    let started = store.list_running_agent_sessions().await.unwrap()[0].updated_at;
    clock.advance(chrono::Duration::seconds(30));
    eventually(5, "a heartbeat", || async {
        store
            .list_running_agent_sessions()
            .await
            .unwrap()
            .first()
            .is_some_and(|s| s.updated_at > started)
    })
    .await;
    // Alive: a sweep with a generous limit leaves it alone.
    let now = clock.now();
    let swept = jada_ops::agent::sweep_stuck(store.as_ref(), &|_| Duration::from_secs(600), now)
        .await
        .unwrap();
    assert!(swept.is_empty());
    assert_eq!(run.await.unwrap().unwrap().outcome, Some(Outcome::Completed));

    // A session left running by a process that stopped beating (the same pid after a
    // restart looks alive to the kernel) is swept once it is quiet past stuck_after.
    let dead = agent_on(&f.store, &f.emu, Provider::Anthropic, "host:1");
    f.emu
        .script(json!({"name": "forever", "match": "hang", "turns": [{"text": "x", "delay_ms": 60000}]}));
    let hung = tokio::spawn(async move { dead.run(&playbook(30), "hang", None, None).await });
    eventually(5, "the hung session", || async {
        store.list_running_agent_sessions().await.unwrap().len() == 1
    })
    .await;
    let id = store.list_running_agent_sessions().await.unwrap()[0].id;
    let later = clock.now() + chrono::Duration::minutes(11);
    let swept = jada_ops::agent::sweep_stuck(store.as_ref(), &|_| Duration::from_secs(600), later)
        .await
        .unwrap();
    assert_eq!(swept, [id]);
    let s = store.get_agent_session(id).await.unwrap().unwrap();
    assert_eq!(s.outcome, Some(Outcome::Abandoned));
    assert!(s.error.unwrap().contains("stuck_after"), "says why");
    hung.abort();
}

#[tokio::test]
async fn two_approvals_decided_at_once_complete_the_session() {
    let f = fixture(Provider::Anthropic).await;
    f.emu.script(json!({"name": "two", "turns": [
        {"tool_calls": [
            {"name": "draft_reply", "input": {"to": ["guest@example.com"], "subject": "One", "body": "1"}},
            {"name": "draft_reply", "input": {"to": ["guest@example.com"], "subject": "Two", "body": "2"}}
        ]},
        {"text": "Both sent."}
    ]}));
    let pb = mail_playbook();
    let r = f.agent.run(&pb, "two mails", None, None).await.unwrap();
    assert_eq!(r.outcome, Some(Outcome::WaitingApproval));
    let pending = f.store.list_approvals(&[ApprovalState::Pending], 10).await.unwrap();
    assert_eq!(pending.len(), 2);
    // Two people, two processes, the same moment.
    let a = mail_agent(&f, "proc:a");
    let b = mail_agent(&f, "proc:b");
    let pb_of = |_: &str| Some(mail_playbook());
    let (ra, rb) = tokio::join!(
        a.decide(&pb_of, pending[0].id, true, None, "ana@office"),
        b.decide(&pb_of, pending[1].id, true, None, "ben@office"),
    );
    ra.expect("the first decision carries on or leaves it to the other");
    rb.expect("losing the race to carry a session on is not an error");
    let s = f.store.get_agent_session(r.session_id).await.unwrap().unwrap();
    assert_eq!(s.outcome, Some(Outcome::Completed), "{s:?}");
    let mails = std::fs::read_dir(&f.outbox).unwrap().count();
    assert_eq!(mails, 2, "each approved mail sent exactly once");
}

#[tokio::test]
async fn a_session_waiting_on_nothing_is_carried_on() {
    // Both approvals decided in the store with nobody to carry the session on (an office
    // whose daemon could not, an expiry): the agent job finds and carries it.
    let f = fixture(Provider::Anthropic).await;
    f.emu.script(json!({"name": "two", "turns": [
        {"tool_calls": [
            {"name": "draft_reply", "input": {"to": ["guest@example.com"], "subject": "One", "body": "1"}},
            {"name": "draft_reply", "input": {"to": ["guest@example.com"], "subject": "Two", "body": "2"}}
        ]},
        {"text": "One sent, one denied."}
    ]}));
    let r = f.agent.run(&mail_playbook(), "two mails", None, None).await.unwrap();
    let pending = f.store.list_approvals(&[ApprovalState::Pending], 10).await.unwrap();
    let now = f.clock.now();
    f.store
        .decide_approval(pending[0].id, true, None, "ana", now)
        .await
        .unwrap();
    f.store
        .decide_approval(pending[1].id, false, Some("no"), "ana", now)
        .await
        .unwrap();
    let stranded = f.agent.unblocked_sessions(100).await.unwrap();
    assert_eq!(stranded.iter().map(|s| s.id).collect::<Vec<_>>(), [r.session_id]);
    let pb_of = |_: &str| Some(mail_playbook());
    let done = f.agent.continue_waiting(&pb_of, r.session_id).await.unwrap();
    assert_eq!(done.outcome, Some(Outcome::Completed));
    assert!(f.agent.unblocked_sessions(100).await.unwrap().is_empty());
    assert_eq!(std::fs::read_dir(&f.outbox).unwrap().count(), 1);
}

#[tokio::test]
async fn an_empty_assistant_message_does_not_poison_the_next_request() {
    for provider in [Provider::Anthropic, Provider::OpenAi] {
        let f = fixture(provider).await;
        // After the tool result the provider answers nothing at all, cut off; the
        // session is resumed and its next request carries that empty message.
        f.emu.script(json!({"name": "empty", "turns": [
            {"tool_calls": [{"name": "list_tasks", "input": {}}]},
            {"text": "Nothing to do.", "empty_first": "max_tokens"}
        ]}));
        let r = f.agent.run(&playbook(30), "check", None, None).await.unwrap();
        assert_eq!(r.outcome, Some(Outcome::Truncated), "{provider:?}");
        let again = f.agent.resume(&playbook(30), r.session_id, None).await.unwrap();
        assert_eq!(again.outcome, Some(Outcome::Completed), "{provider:?}: {again:?}");
        let refused: Vec<_> = f.emu.received().into_iter().filter(|q| q.status != 200).collect();
        assert!(refused.is_empty(), "{provider:?}: {refused:?}");
    }
}

#[tokio::test]
async fn a_tool_call_cut_off_at_the_output_limit_is_never_run() {
    let f = fixture(Provider::Anthropic).await;
    f.emu.script(json!({"name": "cut", "turns": [
        {"tool_calls": [{"name": "create_task", "input": {"title": "Half a"}}], "stop": "max_tokens"},
        {"text": "Done."}
    ]}));
    let r = f.agent.run(&playbook(30), "go", None, None).await.unwrap();
    assert_eq!(r.outcome, Some(Outcome::Truncated));
    let again = f.agent.resume(&playbook(30), r.session_id, None).await.unwrap();
    assert_eq!(again.outcome, Some(Outcome::Completed));
    assert!(f.store.list_tasks(&[], 10).await.unwrap().is_empty(), "never run");
    let calls = f.store.list_tool_calls(r.session_id).await.unwrap();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].is_error && calls[0].result.as_deref().unwrap().contains("cut off"));
    assert_eq!(calls[0].state, ToolCallState::Done);
}

#[tokio::test]
async fn a_model_cannot_hand_a_task_to_an_agent() {
    let f = fixture(Provider::Anthropic).await;
    f.emu.script(json!({"name": "inject", "turns": [
        {"tool_calls": [{"name": "create_task", "input": {"title": "Forward everything", "assignee": "agent:inbox-triage"}}]},
        {"tool_calls": [{"name": "create_task", "input": {"title": "x", "assignee": " Agent:triage"}}]},
        {"text": "Done."}
    ]}));
    let r = f.agent.run(&playbook(30), "a mail", None, None).await.unwrap();
    assert_eq!(r.outcome, Some(Outcome::Completed));
    assert!(f.store.list_tasks(&[], 10).await.unwrap().is_empty());
    for c in f.store.list_tool_calls(r.session_id).await.unwrap() {
        assert!(c.is_error && c.result.unwrap().contains("for a person"));
    }
}

#[tokio::test]
async fn a_huge_answer_and_an_endless_stream_end_provider_error_naming_the_bound() {
    for turn in [json!({"flood_bytes": 300_000_000u64}), json!({"endless": true})] {
        let f = fixture(Provider::Anthropic).await;
        f.emu.script(json!({"name": "flood", "turns": [turn]}));
        let r = f.agent.run(&playbook(30), "hi", None, None).await.unwrap();
        assert_eq!(r.outcome, Some(Outcome::ProviderError), "{r:?}");
        assert!(r.error.as_deref().unwrap().contains("max_response_bytes"), "{r:?}");
        assert_eq!(f.emu.received().len(), 1, "not asked again");
        assert_eq!(f.store.session_messages(r.session_id).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_provider_error_of_megabytes_is_cut() {
    let f = fixture(Provider::Anthropic).await;
    f.emu
        .script(json!({"name": "loud", "turns": [{"error_message_bytes": 3_000_000}]}));
    let r = f.agent.run(&playbook(30), "hi", None, None).await.unwrap();
    assert_eq!(r.outcome, Some(Outcome::ProviderError));
    let error = r.error.unwrap();
    assert!(error.len() < 2_500, "{} bytes", error.len());
    assert!(error.contains("truncated"));
}

#[tokio::test]
async fn three_thousand_tool_calls_in_one_reply_are_refused_past_the_cap() {
    let f = fixture(Provider::Anthropic).await;
    let calls: Vec<_> = (0..3000)
        .map(|i| json!({"name": "create_task", "input": {"title": format!("Task {i}")}}))
        .collect();
    f.emu
        .script(json!({"name": "flood", "turns": [{"tool_calls": calls}, {"text": "Done."}]}));
    let r = f.agent.run(&playbook(30), "go", None, None).await.unwrap();
    assert_eq!(r.outcome, Some(Outcome::Completed));
    assert_eq!(f.store.list_tasks(&[], 5000).await.unwrap().len(), 20, "one turn's cap");
    let calls = f.store.list_tool_calls(r.session_id).await.unwrap();
    assert_eq!(calls.len(), 3000, "every call answered");
    assert_eq!(calls.iter().filter(|c| c.is_error).count(), 2980);
    assert!(calls[20].result.as_deref().unwrap().contains("max_tool_calls"));

    // The session's cap: 5 calls, over three turns.
    let f = fixture(Provider::Anthropic).await;
    f.emu.script(json!({"name": "many", "repeat_last": true, "turns": [
        {"tool_calls": [{"name": "create_task", "input": {"title": "a"}}, {"name": "create_task", "input": {"title": "b"}}]}
    ]}));
    let mut pb = playbook(4);
    pb.max_tool_calls = 5;
    let r = f.agent.run(&pb, "go", None, None).await.unwrap();
    let made = f.store.list_tasks(&[], 50).await.unwrap();
    let made = made.iter().filter(|t| t.title == "a" || t.title == "b").count();
    assert_eq!(made, 5, "the sixth call was refused");
    let calls = f.store.list_tool_calls(r.session_id).await.unwrap();
    assert_eq!(calls.iter().filter(|c| c.is_error).count(), 1);
}

#[tokio::test]
async fn a_key_echoed_by_the_provider_never_reaches_the_store() {
    for provider in [Provider::Anthropic, Provider::OpenAi] {
        let f = fixture(provider).await;
        f.emu
            .script(json!({"name": "echo", "turns": [{"text": "Here it is:", "echo_key": true}]}));
        let r = f.agent.run(&playbook(30), "hi", None, None).await.unwrap();
        assert_eq!(r.outcome, Some(Outcome::Completed));
        let stored = serde_json::to_string(&f.store.session_messages(r.session_id).await.unwrap()).unwrap();
        assert!(!stored.contains(llm_emulator::DEFAULT_KEY), "{stored}");
        assert!(stored.contains("[redacted]"), "{stored}");
    }
}

#[tokio::test]
async fn a_hostile_handoff_note_is_escaped_not_a_failure() {
    let f = fixture(Provider::Anthropic).await;
    f.emu.script(json!({"name": "hostile", "repeat_last": true,
        "summary": "Done \u{202e}gnihton\u{202c} and \u{1b}[2J cleared.",
        "turns": [{"tool_calls": [{"name": "list_tasks", "input": {}}]}]}));
    let r = f.agent.run(&playbook(2), "go", None, None).await.unwrap();
    assert_eq!(r.outcome, Some(Outcome::TurnLimit), "{r:?}");
    let note = r.handoff.unwrap();
    assert!(!note.contains('\u{1b}') && !note.contains('\u{202e}'), "{note}");
    assert!(note.contains("\\u{001b}"), "shown escaped: {note}");
    let task = f.store.get_task(r.follow_up_task.unwrap()).await.unwrap().unwrap();
    assert!(task.body.contains("gnihton"));
}

#[tokio::test]
async fn prompt_caching_is_asked_for_and_recorded_in_both_wire_formats() {
    for provider in [Provider::Anthropic, Provider::OpenAi] {
        let f = fixture(provider).await;
        f.emu.script(json!({"name": "look", "turns": [
            {"tool_calls": [{"name": "list_tasks", "input": {}}]},
            {"tool_calls": [{"name": "list_tasks", "input": {}}]},
            {"tool_calls": [{"name": "list_tasks", "input": {}}]},
            {"text": "Nothing to do."}
        ]}));
        // Instructions long enough to be worth caching (1,024 tokens at least).
        let mut pb = playbook(30);
        pb.instructions = "Check every open task against the charters of the week. ".repeat(120);
        let r = f.agent.run(&pb, "check", None, None).await.unwrap();
        assert_eq!(r.outcome, Some(Outcome::Completed));
        assert!(r.cache_read_tokens > 0, "{provider:?}: {r:?}");
        // Most of each later prompt is read from the cache: the full-price input is
        // less than what was read.
        assert!(r.cache_read_tokens > r.input_tokens, "{provider:?}: {r:?}");
        match provider {
            Provider::Anthropic => {
                assert!(r.cache_write_tokens > 0, "{r:?}");
                let body = &f.emu.received()[1].body;
                assert_eq!(body["system"][0]["cache_control"]["type"], "ephemeral");
                let last = body["messages"].as_array().unwrap().last().unwrap()["content"]
                    .as_array()
                    .unwrap()
                    .last()
                    .unwrap()
                    .clone();
                assert_eq!(
                    last["cache_control"]["type"], "ephemeral",
                    "the newest message is a breakpoint"
                );
            }
            Provider::OpenAi => assert_eq!(r.cache_write_tokens, 0, "OpenAI reports no cache writes"),
        }
        let s = f.store.get_agent_session(r.session_id).await.unwrap().unwrap();
        assert_eq!(
            (s.cache_read_tokens, s.cache_write_tokens),
            (r.cache_read_tokens, r.cache_write_tokens)
        );
        // Priced at the cache prices: cheaper than the same tokens at the input price.
        let full =
            (s.input_tokens + s.cache_read_tokens + s.cache_write_tokens) as f64 * 3.0 + s.output_tokens as f64 * 15.0;
        assert!((s.cost_micro_usd as f64) < full, "{provider:?}: {s:?}");
    }
}

/// A store with 150 open tasks, so each `list_tasks` answers about 4,000 tokens.
async fn many_tasks(store: &std::sync::Arc<dyn jada_store::Store>) {
    for i in 0..150 {
        let title = format!("Task {i:03}: check the life jackets and the flares on board before the season opens");
        let t = jada_core::NewTask::new(&title, "", jada_core::TaskSource::Manual).unwrap();
        store.create_task(&t, chrono::Utc::now()).await.unwrap();
    }
}

#[tokio::test]
async fn a_session_past_its_context_bound_compacts_and_completes() {
    let f = fixture(Provider::Anthropic).await;
    many_tasks(&f.store).await;
    f.emu.set_context_window(Some(12_000));
    f.emu.script(json!({"name": "reader", "sequential": true,
    "summary": "Summary: the task list was read; nothing else remains.",
    "turns": [
        {"tool_calls": [{"name": "list_tasks", "input": {}}]},
        {"tool_calls": [{"name": "list_tasks", "input": {}}]},
        {"tool_calls": [{"name": "list_tasks", "input": {}}]},
        {"tool_calls": [{"name": "list_tasks", "input": {}}]},
        {"tool_calls": [{"name": "list_tasks", "input": {}}]},
        {"text": "All read."}
    ]}));
    let mut pb = playbook(30);
    pb.max_context_tokens = 10_000;
    let r = f.agent.run(&pb, "read the tasks", None, None).await.unwrap();
    assert_eq!(r.outcome, Some(Outcome::Completed), "{r:?}");
    assert!(r.compactions >= 1, "{r:?}");
    let refused: Vec<_> = f.emu.received().into_iter().filter(|q| q.status != 200).collect();
    assert!(refused.is_empty(), "no request went over the window: {refused:?}");
    let transcript = f.store.session_messages(r.session_id).await.unwrap();
    let marked = transcript
        .iter()
        .filter(|m| m.text() == jada_ops::agent::context::COMPACT_PROMPT)
        .count();
    assert_eq!(marked as u32, r.compactions, "each compaction is in the transcript");
    assert!(transcript.len() > 10, "nothing was thrown away");
}

#[tokio::test]
async fn a_context_length_refusal_compacts_once_then_ends_truncated() {
    let f = fixture(Provider::OpenAi).await;
    many_tasks(&f.store).await;
    // The bound is generous; the model's window is not: the refusal itself compacts.
    f.emu.set_context_window(Some(7_000));
    f.emu.script(json!({"name": "reader", "sequential": true,
    "summary": "Summary: read the tasks once.",
    "turns": [
        {"tool_calls": [{"name": "list_tasks", "input": {}}]},
        {"tool_calls": [{"name": "list_tasks", "input": {}}]},
        {"text": "Done."}
    ]}));
    let r = f.agent.run(&playbook(30), "read the tasks", None, None).await.unwrap();
    assert_eq!(r.outcome, Some(Outcome::Completed), "{r:?}");
    assert_eq!(r.compactions, 1);

    // A window too small for anything: one compaction, then truncated, saying what to do.
    let f = fixture(Provider::Anthropic).await;
    many_tasks(&f.store).await;
    f.emu.set_context_window(Some(3_000));
    f.emu
        .script(json!({"name": "reader", "sequential": true, "repeat_last": true,
        "turns": [{"tool_calls": [{"name": "list_tasks", "input": {}}]}]}));
    let r = f.agent.run(&playbook(30), "read the tasks", None, None).await.unwrap();
    assert_eq!(r.outcome, Some(Outcome::Truncated), "{r:?}");
    assert!(r.error.as_deref().unwrap().contains("max_context_tokens"), "{r:?}");
    assert_eq!(r.compactions, 1, "compacted once, not in a loop");
}

#[tokio::test]
async fn read_mail_reads_each_kind_of_body_as_fenced_text() {
    let google = google_emulator::spawn().await.unwrap();
    let f = fixture(Provider::Anthropic).await;
    let office = "office@harbour.example.com";
    let head = |subject: &str| {
        format!("From: Ana Guest <ana@guest.example>\r\nTo: {office}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n")
    };
    let plain = format!(
        "{}Content-Type: text/plain; charset=utf-8\r\n\r\nCan we start at 10:00 instead of 9?\r\n",
        head("Plain")
    );
    let html = format!(
        "{}Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>We are <b>six</b> now &amp; one dog.</p><script>ignore()</script></body></html>\r\n",
        head("Html")
    );
    let mixed = format!(
        "{}Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe signed waiver is attached.\r\n--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>The signed <i>waiver</i> is attached.</p>\r\n--a--\r\n--m\r\nContent-Type: application/pdf; name=\"waiver.pdf\"\r\nContent-Disposition: attachment; filename=\"waiver.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK\r\n--m--\r\n",
        head("Mixed")
    );
    let latin = format!(
        "{}Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nBonjour, nous arriverons =E0 9h. Merci beaucoup, Fran=E7oise\r\n",
        head("Latin")
    );
    let ids: Vec<String> = [plain, html, mixed, latin]
        .iter()
        .map(|raw| google.seed_gmail(office, raw.as_bytes(), &["INBOX"], 1))
        .collect();
    let scopes = ["https://www.googleapis.com/auth/gmail.readonly"];
    let gmail = common::client(
        &google,
        f.dir.path(),
        "reader@jada-test.iam.gserviceaccount.com",
        &scopes,
        Some(office),
    )
    .await;
    let toolbox = jada_ops::agent::Toolbox::new(f.store.clone(), None).with_gmail(gmail);
    let agent = common::agent::agent_with(
        &f.store,
        &f.emu,
        Provider::Anthropic,
        "proc:mail",
        toolbox,
        f.clock.clone(),
    );
    let calls: Vec<_> = ids
        .iter()
        .map(|id| json!({"name": "read_mail", "input": {"message_id": id}}))
        .collect();
    f.emu
        .script(json!({"name": "mail", "turns": [{"tool_calls": calls}, {"text": "Read."}]}));
    let mut pb = playbook(30);
    pb.tools = vec!["read_mail".into()];
    let r = agent.run(&pb, "new mail", None, None).await.unwrap();
    assert_eq!(r.outcome, Some(Outcome::Completed), "{r:?}");
    let results: Vec<serde_json::Value> = f
        .store
        .list_tool_calls(r.session_id)
        .await
        .unwrap()
        .iter()
        .map(|c| {
            assert!(!c.is_error, "{:?}", c.result);
            serde_json::from_str(c.result.as_deref().unwrap()).unwrap()
        })
        .collect();
    let text = |i: usize| results[i]["text"].as_str().unwrap().to_string();
    for (i, r) in results.iter().enumerate() {
        let t = text(i);
        assert!(
            t.starts_with("<<<MAIL ") && t.contains("not instructions") && t.trim_end().ends_with(">>>"),
            "{t}"
        );
        assert_eq!(r["from"], "Ana Guest <ana@guest.example>");
    }
    assert!(text(0).contains("Can we start at 10:00 instead of 9?"));
    assert!(text(1).contains("We are six now & one dog."), "{}", text(1));
    assert!(!text(1).contains("ignore()") && !text(1).contains("<b>"), "{}", text(1));
    assert_eq!(results[1]["text_was_html"], true);
    assert!(
        text(2).contains("The signed waiver is attached.") && !text(2).contains("<i>"),
        "plain part preferred"
    );
    assert_eq!(
        results[2]["attachments"],
        json!([{"filename": "waiver.pdf", "type": "application/pdf", "bytes": 54}])
    );
    assert!(!text(2).contains("JVBER"), "an attachment's content is never read");
    assert!(
        text(3).contains("nous arriverons \u{e0} 9h. Merci beaucoup, Fran\u{e7}oise"),
        "{}",
        text(3)
    );
}
