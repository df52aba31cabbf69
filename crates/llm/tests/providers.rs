//! Both wire formats against the LLM emulator over HTTP: a tool round trip, retries that
//! honour the server, errors that say whether waiting helps, and the emulator refusing
//! what the real APIs refuse.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use jada_core::agent::{Block, Message, Role, StopReason};
use jada_core::{Backoff, Fault};
use jada_llm::{Client, LlmError, Provider, Reply, Request, Retry, Settings, ToolSpec};
use serde_json::{json, Value};

fn settings(emu: &llm_emulator::Emulator, provider: Provider, key: &str) -> Settings {
    Settings {
        provider,
        base_url: match provider {
            Provider::Anthropic => emu.base_url().to_string(),
            Provider::OpenAi => emu.openai_base_url(),
        },
        model: "test-model".into(),
        api_key: key.to_string().into(),
        timeout: Duration::from_secs(5),
        retry: Retry {
            attempts: 3,
            backoff: Backoff::new(Duration::from_millis(10), Duration::from_secs(2)),
        },
        max_response_bytes: jada_llm::DEFAULT_MAX_RESPONSE_BYTES,
        prompt_caching: true,
    }
}

fn client(emu: &llm_emulator::Emulator, provider: Provider) -> Client {
    Client::new(settings(emu, provider, llm_emulator::DEFAULT_KEY)).unwrap()
}

fn request(messages: Vec<Message>) -> Request {
    Request {
        system: "You work in a charter office.".into(),
        messages,
        tools: vec![ToolSpec {
            name: "get_charter".into(),
            description: "One charter by id".into(),
            input_schema: json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}),
        }],
        max_tokens: 512,
        allow_tools: true,
    }
}

async fn ask(c: &Client, r: &Request) -> Result<Reply, LlmError> {
    c.complete(r, &|_, _| {}).await
}

#[tokio::test]
async fn a_tool_round_trip_in_both_wire_formats() {
    for provider in [Provider::Anthropic, Provider::OpenAi] {
        let emu = llm_emulator::spawn().await;
        emu.script(json!({"name": "lookup", "turns": [
            {"text": "Let me look.", "tool_calls": [{"name": "get_charter", "input": {"id": "c-1"}}],
             "usage": {"input_tokens": 120, "output_tokens": 30}},
            {"text": "The charter is on July 4."}
        ]}));
        let c = client(&emu, provider);
        let mut messages = vec![Message::user_text("When is charter c-1?")];
        let first = ask(&c, &request(messages.clone())).await.unwrap();
        assert_eq!(first.stop, StopReason::ToolUse, "{provider:?}");
        assert_eq!((first.usage.input_tokens, first.usage.output_tokens), (120, 30));
        let (id, name, input) = first
            .message
            .tool_uses()
            .next()
            .map(|(i, n, v)| (i.to_string(), n.to_string(), v.clone()))
            .unwrap();
        assert_eq!((name.as_str(), input), ("get_charter", json!({"id": "c-1"})));
        assert_eq!(first.message.text(), "Let me look.");
        messages.push(first.message);
        messages.push(Message {
            role: Role::User,
            content: vec![Block::ToolResult {
                tool_use_id: id.clone(),
                content: "{\"date\": \"2026-07-04\"}".into(),
                is_error: false,
            }],
        });
        let second = ask(&c, &request(messages)).await.unwrap();
        assert_eq!(second.stop, StopReason::EndTurn);
        assert_eq!(second.message.text(), "The charter is on July 4.");

        // What went over the wire is the provider's own shape.
        let sent = emu.received();
        assert_eq!(sent.len(), 2);
        let body = &sent[1].body;
        match provider {
            Provider::Anthropic => {
                assert_eq!(body["messages"][2]["content"][0]["type"], "tool_result");
                assert_eq!(body["messages"][2]["content"][0]["tool_use_id"], id.as_str());
                assert_eq!(body["tool_choice"]["type"], "auto");
            }
            Provider::OpenAi => {
                assert_eq!(body["messages"][0]["role"], "system");
                let call = &body["messages"][2]["tool_calls"][0];
                assert!(
                    call["function"]["arguments"].is_string(),
                    "arguments travel as a JSON string"
                );
                assert_eq!(body["messages"][3]["role"], "tool");
                assert_eq!(body["messages"][3]["tool_call_id"], id.as_str());
            }
        }
    }
}

#[tokio::test]
async fn the_emulator_refuses_malformed_requests_as_the_apis_do() {
    let emu = llm_emulator::spawn().await;
    emu.script(json!({"name": "any", "turns": [{"text": "hi"}]}));
    let http = reqwest::Client::new();
    let anthropic = |body: Value, version: bool| {
        let mut r = http
            .post(format!("{}/v1/messages", emu.base_url()))
            .header("x-api-key", llm_emulator::DEFAULT_KEY)
            .json(&body);
        if version {
            r = r.header("anthropic-version", "2023-06-01");
        }
        r.send()
    };
    let ok = json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(anthropic(ok.clone(), true).await.unwrap().status(), 200);

    let refused = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["type"], "error", "{body}");
        (
            status,
            body["error"]["type"].as_str().unwrap().to_string(),
            body["error"]["message"].as_str().unwrap().to_string(),
        )
    };
    let (s, kind, msg) = refused(anthropic(ok.clone(), false).await.unwrap()).await;
    assert_eq!((s, kind.as_str()), (400, "invalid_request_error"));
    assert!(msg.contains("anthropic-version"));

    let mut no_max = ok.clone();
    no_max.as_object_mut().unwrap().remove("max_tokens");
    let (s, _, msg) = refused(anthropic(no_max, true).await.unwrap()).await;
    assert_eq!(s, 400);
    assert!(msg.contains("max_tokens"), "{msg}");

    let tool_use =
        json!({"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "t", "input": {}}]});
    let unanswered = json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "hi"}, tool_use, {"role": "user", "content": "go on"}]});
    let (s, _, msg) = refused(anthropic(unanswered, true).await.unwrap()).await;
    assert_eq!(s, 400);
    assert!(
        msg.contains("without `tool_result`") && msg.contains("toolu_1"),
        "{msg}"
    );

    let not_first = json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "hi"}, tool_use,
        {"role": "user", "content": [{"type": "text", "text": "here"}, {"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}]}]});
    let (s, _, msg) = refused(anthropic(not_first, true).await.unwrap()).await;
    assert_eq!(s, 400);
    assert!(msg.contains("must come first"), "{msg}");

    let unknown_id = json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "hi"}, tool_use,
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"},
                                     {"type": "tool_result", "tool_use_id": "toolu_9", "content": "y"}]}]});
    let (s, _, msg) = refused(anthropic(unknown_id, true).await.unwrap()).await;
    assert_eq!(s, 400);
    assert!(
        msg.contains("unexpected `tool_use_id`") && msg.contains("toolu_9"),
        "{msg}"
    );

    // OpenAI: a tool call without its tool message, and a tool message answering nothing.
    let openai = |body: Value| {
        http.post(format!("{}/chat/completions", emu.openai_base_url()))
            .bearer_auth(llm_emulator::DEFAULT_KEY)
            .json(&body)
            .send()
    };
    let call = json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "t", "arguments": "{}"}}]});
    let r = openai(
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}, call, {"role": "user", "content": "?"}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("call_1"), "{body}");
    let r = openai(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "call_7", "content": "x"}]})).await.unwrap();
    assert_eq!(r.status(), 400);
    let mut object_args = call.clone();
    object_args["tool_calls"][0]["function"]["arguments"] = json!({});
    let r = openai(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}, object_args, {"role": "tool", "tool_call_id": "call_1", "content": "x"}]})).await.unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .post(format!("{}/chat/completions", emu.openai_base_url()))
        .bearer_auth("wrong")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // What a transcript can hold that the APIs refuse, each with the provider's words.
    let empty_assistant = json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": []}, {"role": "user", "content": "go on"}]});
    let (s, _, msg) = refused(anthropic(empty_assistant, true).await.unwrap()).await;
    assert_eq!(s, 400);
    assert!(
        msg.contains("all messages must have non-empty content except for the optional final assistant message"),
        "{msg}"
    );
    let final_empty = json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": []}]});
    assert_eq!(
        anthropic(final_empty, true).await.unwrap().status(),
        200,
        "a final assistant message may be empty"
    );
    let empty_text = json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "hi"}]}]});
    let (_, _, msg) = refused(anthropic(empty_text, true).await.unwrap()).await;
    assert!(msg.contains("text content blocks must be non-empty"), "{msg}");
    let mark = json!({"type": "ephemeral"});
    let five: Vec<Value> = (0..5)
        .map(|i| json!({"type": "text", "text": format!("part {i}"), "cache_control": mark}))
        .collect();
    let too_many = json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": five}]});
    let (_, _, msg) = refused(anthropic(too_many, true).await.unwrap()).await;
    assert!(msg.contains("A maximum of 4 blocks with cache_control"), "{msg}");
    let r = openai(json!({"model": "o3-mini", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_parameter", "{body}");
    let r = openai(
        json!({"model": "o3-mini", "max_completion_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = openai(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": null}, {"role": "user", "content": "?"}]})).await.unwrap();
    assert_eq!(
        r.status(),
        400,
        "an assistant message with neither content nor tool calls"
    );
    emu.set_context_window(Some(5));
    let (_, _, msg) = refused(anthropic(ok.clone(), true).await.unwrap()).await;
    assert!(msg.starts_with("prompt is too long"), "{msg}");
    let r = openai(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "context_length_exceeded", "{body}");
}

#[tokio::test]
async fn the_client_sends_only_what_the_providers_accept_and_classifies_their_refusals() {
    let emu = llm_emulator::spawn().await;
    emu.script(json!({"name": "any", "turns": [{"text": "hi"}]}));
    // A reasoning model: the client sends max_completion_tokens, which it takes.
    let mut s = settings(&emu, Provider::OpenAi, llm_emulator::DEFAULT_KEY);
    s.model = "gpt-5-mini".into();
    let reply = Client::new(s)
        .unwrap()
        .complete(&request(vec![Message::user_text("hi")]), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(reply.message.text(), "hi");
    // A prompt over the window is its own kind of error, in both formats.
    emu.set_context_window(Some(5));
    for provider in [Provider::Anthropic, Provider::OpenAi] {
        let client = Client::new(settings(&emu, provider, llm_emulator::DEFAULT_KEY)).unwrap();
        let e = client
            .complete(&request(vec![Message::user_text("hi")]), &|_, _| {})
            .await
            .unwrap_err();
        assert!(matches!(e, LlmError::ContextTooLong { .. }), "{provider:?}: {e}");
    }
}

#[tokio::test]
async fn rate_limits_are_waited_out_as_the_server_asks() {
    let emu = llm_emulator::spawn().await;
    emu.script(json!({"name": "busy", "turns": [
        {"text": "ok", "faults": [{"status": 429, "retry_after": 1}, {"status": 529}]}
    ]}));
    let c = client(&emu, Provider::Anthropic);
    let retries = AtomicU32::new(0);
    let started = Instant::now();
    let reply = c
        .complete(&request(vec![Message::user_text("hi")]), &|_, _| {
            retries.fetch_add(1, Ordering::SeqCst);
        })
        .await
        .unwrap();
    assert_eq!(reply.message.text(), "ok");
    assert_eq!(retries.load(Ordering::SeqCst), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retry-after: 1 was honoured"
    );
    assert_eq!(
        emu.received().iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 529, 200]
    );
}

#[tokio::test]
async fn an_overload_storm_ends_as_a_retryable_error_after_the_bound() {
    let emu = llm_emulator::spawn().await;
    emu.script(json!({"name": "storm", "turns": [{"text": "ok", "faults": [{"status": 529, "times": 10}]}]}));
    let c = client(&emu, Provider::Anthropic);
    let e = ask(&c, &request(vec![Message::user_text("hi")])).await.unwrap_err();
    assert!(matches!(e, LlmError::Overloaded { status: 529, .. }), "{e}");
    assert!(e.is_retryable());
    assert_eq!(emu.received().len(), 3, "three attempts, then stop");
}

#[tokio::test]
async fn a_refused_key_stops_at_once_and_never_shows_the_key() {
    for provider in [Provider::Anthropic, Provider::OpenAi] {
        let emu = llm_emulator::spawn().await;
        emu.script(json!({"name": "any", "turns": [{"text": "hi"}]}));
        let secret = "sk-live-very-secret-1234";
        let c = Client::new(settings(&emu, provider, secret)).unwrap();
        let e = ask(&c, &request(vec![Message::user_text("hi")])).await.unwrap_err();
        assert!(matches!(e, LlmError::Auth { status: 401, .. }), "{e}");
        assert!(!e.is_retryable());
        assert_eq!(emu.received().len(), 1, "no retry of a refused key");
        let shown = format!("{e} {e:?} {c:?}");
        assert!(!shown.contains(secret), "{shown}");
        assert!(e.to_string().contains("api_key_file"), "says what to fix: {e}");
    }
}

#[tokio::test]
async fn a_cut_off_answer_is_retried_and_bad_arguments_reach_the_caller_as_text() {
    let emu = llm_emulator::spawn().await;
    emu.script(json!({"name": "cut", "turns": [
        {"text": "fine", "truncate": true}
    ]}));
    let c = client(&emu, Provider::OpenAi);
    let e = ask(&c, &request(vec![Message::user_text("hi")])).await.unwrap_err();
    assert!(matches!(e, LlmError::Malformed(_)), "{e}");
    assert_eq!(emu.received().len(), 3, "a cut-off answer may pass: retried");

    let emu = llm_emulator::spawn().await;
    emu.script(json!({"name": "raw", "turns": [
        {"tool_calls": [{"name": "get_charter", "raw_arguments": "{\"id\": "}]}
    ]}));
    let c = client(&emu, Provider::OpenAi);
    let reply = ask(&c, &request(vec![Message::user_text("hi")])).await.unwrap();
    let (_, _, input) = reply.message.tool_uses().next().unwrap();
    assert_eq!(
        input,
        &json!("{\"id\": "),
        "arguments that are not JSON are kept as they came"
    );
}

#[tokio::test]
async fn a_request_without_tools_gets_the_summary_not_a_tool_call() {
    let emu = llm_emulator::spawn().await;
    emu.script(
        json!({"name": "loop", "repeat_last": true, "summary": "Did 3 lookups; 2 remain.",
        "turns": [{"tool_calls": [{"name": "get_charter", "input": {"id": "x"}}]}]}),
    );
    for provider in [Provider::Anthropic, Provider::OpenAi] {
        let c = client(&emu, provider);
        let mut r = request(vec![Message::user_text("hi")]);
        r.allow_tools = false;
        let reply = ask(&c, &r).await.unwrap();
        assert_eq!(reply.stop, StopReason::EndTurn);
        assert_eq!(reply.message.text(), "Did 3 lookups; 2 remain.");
        let last = emu.received().pop().unwrap();
        match provider {
            Provider::Anthropic => assert_eq!(last.body["tool_choice"]["type"], "none"),
            Provider::OpenAi => assert_eq!(last.body["tool_choice"], "none"),
        }
    }
}
