//! jada as an MCP server, driven by the official Python MCP SDK's client (`mcp` on
//! PyPI, installed by scripts/test) over both transports — `jada mcp` on stdio and the
//! daemon's `POST /mcp` — in both the 2026-07-28 protocol (server/discover) and the
//! initialize handshake of earlier versions. Every answer asserted here is what the
//! SDK parsed off the wire.

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};

const OFFICE: &str = "[office]\nusers = [\"office@bluewater.example.com\"]\n";

fn python() -> String {
    std::env::var("OPENPYXL_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// One client connection of the SDK: `transport` then the command; its JSON answer.
fn sdk(transport: &[String], command: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_client.py");
    let out = std::process::Command::new(python())
        .arg(script)
        .args(transport)
        .args(command)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the MCP SDK's client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn stdio(d: &Path, extra: &[&str]) -> Vec<String> {
    let mut t = vec![
        "--stdio".to_string(),
        d.display().to_string(),
        "--jada".to_string(),
        assert_cmd::cargo::cargo_bin("jada").display().to_string(),
    ];
    t.extend(extra.iter().map(|s| s.to_string()));
    t
}

fn http(url: &str, key: &str, mode: &str) -> Vec<String> {
    ["--http", &format!("{url}/mcp"), "--key", key, "--mode", mode]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// A tool call's answer: (is_error, text).
fn call(t: &[String], tool: &str, args: Value) -> (bool, String) {
    let r = sdk(t, &["call", tool, &args.to_string()]);
    assert!(r.get("failed").is_none(), "{r}");
    (
        r["is_error"].as_bool().unwrap(),
        r["text"].as_str().unwrap().to_string(),
    )
}

fn names(tools: &Value) -> Vec<String> {
    tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

fn tool_calls(d: &Path, session: u64) -> Vec<Value> {
    let out = jada(d)
        .args(["agent", "show", &session.to_string(), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["tool_calls"].as_array().unwrap().clone()
}

fn captain(d: &Path) -> Value {
    let out = jada(d).args(["charters", "show", CHARTER, "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["charter"]["captain_assigned"].clone()
}

/// The session an approval belongs to, as `jada agent approvals --all --json` says.
fn session_of(d: &Path, approval: u64) -> u64 {
    let out = jada(d)
        .args(["agent", "approvals", "--all", "--json"])
        .output()
        .unwrap();
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = all.as_array().unwrap().iter().find(|a| a["id"] == approval).unwrap();
    a["session_id"].as_u64().unwrap()
}

fn approval_of(text: &str) -> u64 {
    let v: Value = serde_json::from_str(text).unwrap();
    assert_eq!(v["state"], "pending", "{v}");
    v["approval"].as_u64().unwrap()
}

/// `jada mcp` on stdio: the tool table with its schemas, a read, a bad argument, an office
/// write, the resources, and an outbound call that runs once only after a person approves.
#[test]
fn stdio_serves_the_tool_table_and_outbound_calls_wait_for_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    charter_business(d, free_port(), "");
    let t = stdio(d, &["--name", "desk"]);

    // Both protocol generations list the same tools: the agent's table and get_approval.
    let modern = sdk(&t, &["tools"]);
    assert_eq!(modern["protocol"], "2026-07-28");
    let legacy_t: Vec<String> = t.iter().cloned().chain(["--mode".into(), "legacy".into()]).collect();
    let legacy = sdk(&legacy_t, &["tools"]);
    assert_ne!(legacy["protocol"], "2026-07-28", "the handshake era: {legacy}");
    let listed = names(&modern);
    assert_eq!(listed, names(&legacy));
    let mut expected: Vec<String> = jada_ops::agent::tools::names().iter().map(|s| s.to_string()).collect();
    expected.push("get_approval".into());
    assert_eq!(listed, expected);
    for tool in modern["tools"].as_array().unwrap() {
        assert_eq!(tool["input_schema"]["type"], "object", "{tool}");
        let table = jada_ops::agent::tools::tool(tool["name"].as_str().unwrap());
        if let Some(table) = table {
            assert_eq!(tool["input_schema"], table.input_schema(), "the table's own schema");
            let reads = table.effect == jada_ops::agent::tools::Effect::Reads;
            assert_eq!(tool["read_only"], reads, "{tool}");
        }
    }

    // A read answers at once; a bad argument is a tool error naming it.
    let (err, text) = call(&t, "list_day", json!({"date": "2031-07-12"}));
    assert!(!err && text.contains(CHARTER), "{text}");
    let (err, text) = call(&t, "list_day", json!({"day": "2031-07-12"}));
    assert!(err && text.contains("unknown field `day`"), "{text}");
    let (err, text) = call(&t, "send_fax", json!({}));
    assert!(err && text.contains("no tool `send_fax`"), "{text}");

    // An office write runs on the caller's word and is the office's record.
    let (err, _) = call(&t, "create_task", json!({"title": "Re-splice the Marlin's jib sheet"}));
    assert!(!err);
    let tasks = jada(d).args(["tasks", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&tasks.stdout).contains("Re-splice the Marlin's jib sheet"));

    // Resources: the charter with its chat, today's schedule, the open tasks.
    let res = sdk(&t, &["resources"]);
    assert_eq!(res["resources"], json!(["jada://today", "jada://tasks/open"]));
    assert_eq!(res["templates"], json!(["jada://charter/{charter_id}"]));
    let charter = sdk(&t, &["read", &format!("jada://charter/{CHARTER}")]);
    let charter: Value = serde_json::from_str(charter["text"].as_str().unwrap()).unwrap();
    assert_eq!(charter["charter"]["guest_name"], "Ada Guest");
    assert!(charter["chat"].is_object(), "{charter}");
    let tasks = sdk(&t, &["read", "jada://tasks/open"]);
    assert!(tasks["text"].as_str().unwrap().contains("jib sheet"));
    let missing = sdk(&t, &["read", "jada://charter/not-a-charter"]);
    assert!(
        missing["error"].as_str().unwrap().contains("not a charter id"),
        "{missing}"
    );

    // An outbound call answers with an approval request and changes nothing.
    let (err, text) = call(&t, "assign_captain", json!({"charter_id": CHARTER, "crew_id": "cap"}));
    assert!(!err, "{text}");
    let id = approval_of(&text);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(
        v["would"]
            .as_str()
            .unwrap()
            .contains("make Cora Captain the captain of Marlin on 2031-07-12"),
        "{v}"
    );
    assert_eq!(captain(d), Value::Null, "nothing ran before the decision");
    let (_, again) = call(&t, "get_approval", json!({"approval": id}));
    assert_eq!(approval_of(&again), id);
    // The CLI lists it like an agent's; approving it runs it, once.
    let listed = jada(d).args(["agent", "approvals"]).output().unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("assign_captain"));
    jada(d).args(["agent", "approve", &id.to_string()]).assert().success();
    assert_eq!(captain(d), "cap");
    let (err, first) = call(&t, "get_approval", json!({"approval": id}));
    let (_, second) = call(&t, "get_approval", json!({"approval": id}));
    assert!(!err && first == second, "{first} / {second}");
    // Every call is the session's record; the approved one ran exactly once.
    let sessions = jada(d).args(["agent", "sessions"]).output().unwrap();
    assert!(String::from_utf8_lossy(&sessions.stdout).contains("mcp:desk"));
    let calls = tool_calls(d, session_of(d, id));
    let ran: Vec<&Value> = calls.iter().filter(|c| c["name"] == "assign_captain").collect();
    assert_eq!(ran.len(), 1, "{calls:?}");
    assert_eq!(ran[0]["state"], "done");
    assert!(calls.iter().any(|c| c["name"] == "create_task"));
    assert!(calls.iter().any(|c| c["name"] == "list_day" && c["is_error"] == true));

    // A second request denied is refused with the reason; none runs.
    let (_, text) = call(
        &t,
        "draft_reply",
        json!({"to": ["ada@example.com"], "subject": "Your charter", "body": "See you at 10."}),
    );
    let id = approval_of(&text);
    jada(d)
        .args([
            "agent",
            "deny",
            &id.to_string(),
            "--reason",
            "the guest asked for a call, not mail",
        ])
        .assert()
        .success();
    let (err, text) = call(&t, "get_approval", json!({"approval": id}));
    assert!(err && text.contains("the guest asked for a call, not mail"), "{text}");
    assert!(mailed_subjects(d).iter().all(|(_, s)| s != "Your charter"));

    // A read-only caller sees only the reads, and is refused the rest as unknown.
    let ro = stdio(d, &["--name", "reader", "--read-only"]);
    let listed = names(&sdk(&ro, &["tools"]));
    assert!(listed.contains(&"list_day".to_string()) && !listed.contains(&"create_task".to_string()));
    assert!(!listed.contains(&"get_approval".to_string()) && !listed.contains(&"draft_reply".to_string()));
    let (err, text) = call(&ro, "assign_captain", json!({"charter_id": CHARTER, "crew_id": "ann"}));
    assert!(err && text.contains("no tool `assign_captain`"), "{text}");
}

/// `POST /mcp` on the daemon: only with a live API key; a read-only key reads; an
/// approval asked over HTTP is decided in the office and runs once; an expired one is
/// refused.
#[test]
fn http_needs_a_key_and_approvals_are_decided_in_the_office() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    charter_business(d, port, OFFICE);
    let key = |name: &str, extra: &[&str]| {
        let out = jada(d).args(["api-key", "create", name]).args(extra).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let full = key("desk-assistant", &[]);
    let reader = key("phone-assistant", &["--mcp-read-only"]);
    let listed = jada(d).args(["api-key", "list", "--json"]).output().unwrap();
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[1]["name"], "phone-assistant");
    assert_eq!(listed[1]["mcp_read_only"], true);
    let listen = format!("127.0.0.1:{port}");
    let (child, url) = serve_with(d, &["--listen", &listen], &[], std::process::Stdio::null());
    let _daemon = Running(child);

    // No key, or a wrong one: the API's 401, before any MCP exchange.
    let raw = client();
    for auth in [None, Some("Bearer jada_0000")] {
        let mut req = raw
            .post(format!("{url}/mcp"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.text().unwrap().contains("jada api-key create"));
    }
    let refused = sdk(&http(&url, "jada_wrong", "auto"), &["tools"]);
    assert!(refused.get("failed").is_some(), "the SDK is refused: {refused}");

    // A read-only key: the reads only, over both protocol generations; the booking API
    // lets it read, not write.
    for mode in ["auto", "legacy"] {
        let t = http(&url, &reader, mode);
        let listed = names(&sdk(&t, &["tools"]));
        assert!(listed.contains(&"get_charter".to_string()) && !listed.contains(&"assign_captain".to_string()));
        let (err, text) = call(&t, "get_charter", json!({"charter_id": CHARTER}));
        assert!(!err && text.contains("Ada Guest"), "{text}");
    }
    let r = raw
        .get(format!("{url}/api/charters?month=2031-07"))
        .bearer_auth(&reader)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = raw
        .post(format!("{url}/api/tasks"))
        .bearer_auth(&reader)
        .json(&json!({"title": "x"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().unwrap().contains("--mcp-read-only"));

    // The full key asks; the office shows the request with what it would do.
    let t = http(&url, &full, "auto");
    let (err, text) = call(&t, "assign_captain", json!({"charter_id": CHARTER, "crew_id": "cap"}));
    assert!(!err, "{text}");
    let id = approval_of(&text);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["decide_at"], format!("{url}/office/agent#approval-{id}"));
    let http_client = client();
    let session = sign_in(&http_client, &url, d);
    let page = office_page(&http_client, &format!("{url}/office/agent"), &session);
    assert!(
        page.contains(&format!(
            "Approval {id}: make Cora Captain the captain of Marlin on 2031-07-12"
        )),
        "{page}"
    );
    assert!(page.contains("mcp:desk-assistant"));
    let csrf = hidden_csrf(&page);
    let back = office_post(
        &http_client,
        &format!("{url}/office/agent/approvals/{id}/approve"),
        &session,
        &[("csrf", &csrf)],
    );
    let notice = office_page(&http_client, &format!("{url}{back}"), &session);
    assert!(notice.contains("ran once"), "{notice}");
    assert_eq!(captain(d), "cap", "approved in the office: it ran at the decision");
    let (err, result) = call(&t, "get_approval", json!({"approval": id}));
    assert!(!err && result.contains("cap"), "{result}");
    // Deciding again is refused; the call does not run twice.
    let r = http_client
        .post(format!("{url}/office/agent/approvals/{id}/approve"))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    let ran = tool_calls(d, session_of(d, id));
    assert_eq!(ran.iter().filter(|c| c["name"] == "assign_captain").count(), 1);

    // With the daemon running, the CLI decides through its admin API: a denial there is
    // what the assistant reads.
    let (_, text) = call(
        &t,
        "draft_reply",
        json!({"to": ["ada@example.com"], "subject": "Dock change", "body": "Dock B."}),
    );
    let id = approval_of(&text);
    let denied = jada(d)
        .args([
            "agent",
            "deny",
            &id.to_string(),
            "--reason",
            "the dock has not changed",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(denied.status.success(), "{}", String::from_utf8_lossy(&denied.stderr));
    let denied: Value = serde_json::from_slice(&denied.stdout).unwrap();
    assert_eq!(denied["approval"]["state"], "denied");
    let (err, text) = call(&t, "get_approval", json!({"approval": id}));
    assert!(err && text.contains("the dock has not changed"), "{text}");

    // A request nobody decides in time expires: refused, never run.
    let (_, text) = call(
        &t,
        "draft_reply",
        json!({"to": ["ada@example.com"], "subject": "Weather", "body": "Calm seas."}),
    );
    let id = approval_of(&text);
    edit_db(
        d,
        &format!("UPDATE agent_approvals SET expires_at = '2020-01-01T00:00:00Z' WHERE id = {id}"),
    );
    let (err, text) = call(&t, "get_approval", json!({"approval": id}));
    assert!(err && text.contains("expired"), "{text}");
    assert!(mailed_subjects(d).iter().all(|(_, s)| s != "Weather"));
    // Another key cannot read this key's approvals.
    let (err, text) = call(&http(&url, &reader, "auto"), "get_approval", json!({"approval": id}));
    assert!(err && text.contains("no tool `get_approval`"), "{text}");
}
