//! jada as an MCP client: playbooks calling the tools of other MCP servers
//! (`[agent.mcp.NAME]`), driven against the MCP reference test server
//! (`@modelcontextprotocol/server-everything` from npm, installed by scripts/test) over
//! stdio and streamable HTTP, with the model played by the LLM emulator over HTTP.
//! What is asserted is what the provider was sent, what the store recorded, and what an
//! operator's commands print.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// The reference server's entry point, installed by scripts/test.
fn everything() -> PathBuf {
    let path = std::env::var("MCP_EVERYTHING").map(PathBuf::from).unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../scripts/test-tools/node_modules/@modelcontextprotocol/server-everything/dist/index.js")
    });
    assert!(
        path.is_file(),
        "the MCP reference server is not installed at {}: run scripts/test (it runs `npm ci --prefix scripts/test-tools`)",
        path.display()
    );
    path
}

/// A business whose agent runs on `emu`, with `extra` appended to its configuration.
fn business(d: &Path, emu: &Emulator, extra: &str) {
    jada(d).arg("init").assert().success();
    std::fs::write(
        d.join("jada.toml"),
        format!(
            r#"[business]
name = "Blue Water"
[agent]
provider = "anthropic"
base_url = "{}"
model = "test-model"
api_key_file = "secrets/llm-key"
daily_budget_usd = 0
{extra}"#,
            emu.handle.base_url()
        ),
    )
    .unwrap();
    write_private(&secrets_dir(d).join("llm-key"), llm_emulator::DEFAULT_KEY);
}

fn json_of(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

fn run(d: &Path, playbook: &str, input: &str) -> (Option<i32>, Value) {
    let out = jada(d)
        .args(["agent", "run", playbook, "--input", input, "--json"])
        .output()
        .unwrap();
    assert!(
        !out.stdout.is_empty(),
        "no JSON from agent run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), json_of(&out.stdout))
}

fn shown(d: &Path, id: u64) -> Value {
    let out = jada(d)
        .args(["agent", "show", &id.to_string(), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    json_of(&out.stdout)
}

/// The tool calls a session recorded: (name, is_error, result).
fn calls(d: &Path, id: u64) -> Vec<(String, bool, String)> {
    shown(d, id)["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["is_error"].as_bool().unwrap(),
                c["result"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Runs `playbook` on `input`, which must complete; the tool calls it made.
fn completed(d: &Path, playbook: &str, input: &str) -> Vec<(String, bool, String)> {
    let (code, report) = run(d, playbook, input);
    assert_eq!(
        (code, report["outcome"].as_str()),
        (Some(0), Some("completed")),
        "{report}"
    );
    calls(d, report["session_id"].as_u64().unwrap())
}

/// The call of `tool` among `made`.
fn call<'a>(made: &'a [(String, bool, String)], tool: &str) -> &'a (String, bool, String) {
    made.iter()
        .find(|c| c.0 == tool)
        .unwrap_or_else(|| panic!("no call of {tool}: {made:?}"))
}

/// The tool names the provider was shown in a request.
fn offered(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .map(|t| t.iter().map(|t| t["name"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn a_playbook_calls_the_reference_servers_tools_over_stdio_trusted_at_once_and_the_rest_after_approval() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    business(
        d,
        &emu,
        &format!(
            r#"[agent.mcp.everything]
command = ["node", "{}", "stdio"]
trusted_tools = ["echo"]
[agent.playbooks.lookout]
instructions = "Use the tools you are given."
tools = ["list_tasks", "everything.echo", "everything.get-sum"]
"#,
            everything().display()
        ),
    );
    jada(d).args(["config", "check"]).assert().success();
    // What an operator checks first: the server answers, and which tools run unasked.
    let out = jada(d).args(["agent", "mcp", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let servers = json_of(&out.stdout);
    assert_eq!(
        (servers[0]["server"].as_str(), servers[0]["up"].as_bool()),
        (Some("everything"), Some(true))
    );
    let tool = |name: &str| {
        servers[0]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not listed: {servers}"))
    };
    assert_eq!(tool("everything.echo")["trusted_by"], json!(["lookout"]));
    assert_eq!(tool("everything.get-sum")["used_by"], json!(["lookout"]));
    assert_eq!(tool("everything.get-sum")["trusted_by"], json!([]));
    emu.handle.script(json!({"name": "lookout", "turns": [
        {"tool_calls": [
            {"name": "everything__echo", "input": {"message": "fair winds"}},
            {"name": "list_tasks", "input": {}},
            {"name": "everything__get-sum", "input": {"a": 2, "b": 3}}
        ]},
        {"text": "Echoed, listed and summed."}
    ]}));
    let (code, report) = run(d, "lookout", "check the instruments");
    assert_eq!(
        (code, report["outcome"].as_str()),
        (Some(1), Some("waiting_approval")),
        "{report}"
    );
    let id = report["session_id"].as_u64().unwrap();

    // The provider was shown the server's tools under names it takes, with the server's
    // own schema, next to jada's.
    let first = &emu.handle.received()[0].body;
    assert_eq!(
        offered(first),
        ["list_tasks", "everything__echo", "everything__get-sum"]
    );
    let echo = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "everything__echo")
        .unwrap();
    assert_eq!(
        echo["input_schema"]["properties"]["message"]["type"], "string",
        "{echo}"
    );

    // The trusted tool ran on the model's word and answered what the server said; the
    // other waits for a person, recorded under the playbook's name.
    let made = calls(d, id);
    let echo = call(&made, "everything.echo");
    assert!(!echo.1 && echo.2.contains("Echo: fair winds"), "{echo:?}");
    assert!(made.iter().any(|c| c.0 == "list_tasks" && !c.1));
    assert!(
        !made.iter().any(|c| c.0 == "everything.get-sum"),
        "ran before approval: {made:?}"
    );
    let out = jada(d).args(["agent", "approvals", "--json"]).output().unwrap();
    let pending = json_of(&out.stdout);
    assert_eq!(pending[0]["tool"], "everything.get-sum", "{pending}");
    assert_eq!(pending[0]["arguments"], json!({"a": 2, "b": 3}));
    let out = jada(d).args(["agent", "approvals"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("everything.get-sum"), "{text}");

    // Approved: it runs once, and the session completes with its answer.
    let out = jada(d).args(["agent", "approve", "1", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let decided = json_of(&out.stdout);
    assert_eq!(decided["session"]["outcome"], "completed", "{decided}");
    let made = calls(d, id);
    let sums: Vec<_> = made.iter().filter(|c| c.0 == "everything.get-sum").collect();
    assert_eq!(sums.len(), 1, "{made:?}");
    assert!(
        !sums[0].1 && sums[0].2.contains("The sum of 2 and 3 is 5"),
        "{:?}",
        sums[0]
    );
    let received = emu.handle.received();
    let results = received.last().unwrap().body["messages"].to_string();
    assert!(
        results.contains("The sum of 2 and 3 is 5"),
        "the model never saw the result"
    );
}

/// The reference server in streamable HTTP mode on a free loopback port.
struct HttpServer {
    child: std::process::Child,
    port: u16,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_server() -> HttpServer {
    let port = free_port();
    let loopback = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/loopback.mjs");
    let child = std::process::Command::new("node")
        .arg("--import")
        .arg(&loopback)
        .arg(everything())
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = HttpServer { child, port };
    poll("the reference server to listen", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    server
}

#[test]
fn a_playbook_calls_a_streamable_http_server_and_a_server_that_stops_answers_as_an_error() {
    let server = http_server();
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_private(&secrets_dir(d).join("tides-key"), "k-123");
    business(
        d,
        &emu,
        &format!(
            r#"[agent.mcp.tides]
url = "http://127.0.0.1:{}/mcp"
api_key_file = "secrets/tides-key"
[agent.playbooks.tides]
instructions = "Use the tools you are given."
tools = ["list_tasks", "tides.echo"]
trusted_tools = ["tides.echo"]
"#,
            server.port
        ),
    );
    let flood = "swell ".repeat(5_000);
    emu.handle
        .script(json!({"name": "tides", "match": "high water", "turns": [
            {"tool_calls": [
                {"name": "tides__echo", "input": {"message": "high water 14:20"}},
                {"name": "tides__echo", "input": {"message": flood}}
            ]},
            {"text": "Noted."}
        ]}));
    let made = completed(d, "tides", "when is high water");
    assert_eq!(made.len(), 2, "{made:?}");
    assert!(!made[0].1 && made[0].2.contains("Echo: high water 14:20"), "{made:?}");
    // A server's answer is bounded like jada's own tools' answers, saying what was cut.
    let long = &made[1].2;
    assert!(
        long.chars().count() < 16_100 && long.contains("[truncated: 14006 more characters]"),
        "{} characters: {}",
        long.chars().count(),
        &long[long.len() - 80..]
    );

    // The server stops: its tool answers as an error the model reads, jada's own tools in
    // the same turn still run, and the session completes.
    drop(server);
    emu.handle
        .script(json!({"name": "gone", "match": "low water", "turns": [
            {"tool_calls": [
                {"name": "tides__echo", "input": {"message": "low water"}},
                {"name": "list_tasks", "input": {}}
            ]},
            {"text": "The tide server is down; told the office."}
        ]}));
    let made = completed(d, "tides", "when is low water");
    let echo = call(&made, "tides.echo");
    assert!(echo.1, "a stopped server's tool answered as if it ran: {echo:?}");
    assert!(echo.2.contains("MCP server `tides`"), "{echo:?}");
    assert!(made.iter().any(|c| c.0 == "list_tasks" && !c.1), "{made:?}");
}

#[test]
fn a_server_that_will_not_start_raises_one_alert_and_never_holds_up_jadas_own_tools() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    business(
        d,
        &emu,
        r#"[agent.mcp.broken]
command = ["node", "-e", "console.error('no tide tables installed'); process.exit(3)"]
[agent.playbooks.watch]
instructions = "Use the tools you are given."
tools = ["list_tasks", "broken.lookup"]
"#,
    );
    emu.handle.script(json!({"name": "watch", "turns": [
        {"tool_calls": [
            {"name": "broken__lookup", "input": {}},
            {"name": "list_tasks", "input": {}}
        ]},
        {"text": "The lookup server is down."}
    ]}));
    let made = completed(d, "watch", "look it up");
    // A server that is down offers the model nothing; a call made anyway is an error
    // naming the server and what it said, and jada's own tool ran.
    assert_eq!(offered(&emu.handle.received()[0].body), ["list_tasks"]);
    let lookup = call(&made, "broken.lookup");
    assert!(lookup.1, "{lookup:?}");
    assert!(
        lookup.2.contains("`broken` is down") && lookup.2.contains("no tide tables installed"),
        "{lookup:?}"
    );
    assert!(made.iter().any(|c| c.0 == "list_tasks" && !c.1), "{made:?}");
    let out = jada(d).args(["agent", "mcp"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("down:") && shown.contains("no tide tables installed"),
        "{shown}"
    );

    // The daemon keeps trying it with a backoff, and raises one alert that says why.
    let (child, _url) = serve(d);
    let _daemon = Running(child);
    let alerts = poll("the MCP server's alert", Duration::from_secs(60), || {
        let out = jada(d).args(["alerts", "list", "--json"]).output().unwrap();
        let alerts = json_of(&out.stdout);
        let mine: Vec<Value> = alerts
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["key"] == "mcp-down:broken")
            .cloned()
            .collect();
        (!mine.is_empty()).then_some(mine)
    });
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let summary = alerts[0].to_string();
    assert!(summary.contains("no tide tables installed"), "{summary}");
}

#[test]
fn the_configuration_refuses_what_cannot_work_and_names_the_fix() {
    let emu = emulator();
    let cases = [
        (
            "[agent.playbooks.x]\ninstructions = \"i\"\ntools = [\"tides.forecast\"]\n",
            "add [agent.mcp.tides]",
        ),
        (
            "[agent.mcp.tides]\ncommand = [\"x\"]\nurl = \"http://127.0.0.1:1/mcp\"\n",
            "not both",
        ),
        ("[agent.mcp.tides]\n", "command = [\\\"program\\\""),
        ("[agent.mcp.tides]\nurl = \"ftp://x\"\n", "not an http:// or https:// URL"),
        (
            "[agent.mcp.tides]\ncommand = [\"x\"]\ntrusted_tools = [\"tides.forecast\"]\n",
            "not \\\"tides.forecast\\\"",
        ),
        (
            "[agent.mcp.tides]\ncommand = [\"x\"]\n[agent.playbooks.x]\ninstructions = \"i\"\ntools = [\"list_tasks\"]\ntrusted_tools = [\"list_tasks\"]\n",
            "jada's own tools need no trust",
        ),
    ];
    for (extra, fix) in cases {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        business(d, &emu, extra);
        let out = jada(d).args(["config", "check"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra}: {stderr}");
        assert!(stderr.contains(&fix.replace("\\\"", "\"")), "{extra}: {stderr}");
    }
}

#[test]
fn tools_a_server_adds_while_a_session_runs_are_offered_from_the_next_turn() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let python = std::env::var("OPENPYXL_PYTHON").unwrap_or_else(|_| "python3".into());
    let server = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_harbour_server.py");
    business(
        d,
        &emu,
        &format!(
            r#"[agent.mcp.harbour]
command = ["{python}", "{}"]
trusted_tools = ["unlock", "berth"]
[agent.playbooks.harbour]
instructions = "Use the tools you are given."
tools = ["harbour.unlock", "harbour.berth"]
"#,
            server.display()
        ),
    );
    emu.handle.script(json!({"name": "harbour", "turns": [
        {"tool_calls": [{"name": "harbour__unlock", "input": {}}]},
        {"tool_calls": [{"name": "harbour__berth", "input": {"boat": "Marlin"}}]},
        {"text": "Marlin has berth 7."}
    ]}));
    let made = completed(d, "harbour", "find Marlin a berth");
    let received = emu.handle.received();
    assert_eq!(offered(&received[0].body), ["harbour__unlock"]);
    // The server said its tools changed (notifications/tools/list_changed) when it
    // unlocked: the next request offers the new tool with the schema the server gave it.
    assert_eq!(offered(&received[1].body), ["harbour__unlock", "harbour__berth"]);
    let berth = received[1].body["tools"][1].clone();
    assert_eq!(berth["input_schema"]["required"], json!(["boat"]), "{berth}");
    assert!(
        made.iter()
            .any(|c| c.0 == "harbour.berth" && !c.1 && c.2.contains("Marlin: berth 7")),
        "{made:?}"
    );
}

#[test]
fn the_daemon_restarts_a_server_that_keeps_exiting_with_one_alert_that_resolves_once_it_holds() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A server whose first three starts live a second each, then stays up. It counts its
    // starts in the data directory (its working directory).
    business(
        d,
        &emu,
        &format!(
            r#"[agent.mcp.flaky]
command = ["sh", "-c", "echo start >> starts.log; if [ $(wc -l < starts.log) -le 3 ]; then exec timeout 1 node {e} stdio; else exec node {e} stdio; fi"]
[agent.playbooks.watch]
instructions = "Use the tools you are given."
tools = ["list_tasks", "flaky.echo"]
"#,
            e = everything().display()
        ),
    );
    let log_path = d.join("daemon.log");
    let (child, _url) = serve_with(
        d,
        &["--listen", "127.0.0.1:0"],
        &[("JADA_LOG", "info")],
        std::fs::File::create(&log_path).unwrap().into(),
    );
    let _daemon = Running(child);
    let starts = || {
        std::fs::read_to_string(d.join("jada-data/starts.log"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    let alert = |status: &str| {
        let out = jada(d).args(["alerts", "list", "--json"]).output().unwrap();
        json_of(&out.stdout)
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == "mcp-down:flaky" && a["status"] == status)
            .cloned()
    };
    // Restarted with a backoff until it holds; firing all the while.
    poll("the fourth start", Duration::from_secs(60), || {
        (starts() >= 4).then_some(())
    });
    let firing = alert("firing").expect("firing while it keeps exiting");
    assert!(firing["summary"].as_str().unwrap().contains("flaky"), "{firing}");
    // A minute after the start that holds, the one alert resolves.
    let resolved = poll("the alert to resolve", Duration::from_secs(120), || alert("resolved"));
    assert_eq!(starts(), 4, "it held: {resolved}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    let notices: Vec<&str> = log.lines().filter(|l| l.contains("alert=mcp-down:flaky")).collect();
    assert_eq!(notices.len(), 2, "one firing and one resolution: {notices:#?}");
}

#[test]
fn over_http_the_key_file_is_sent_as_a_bearer_token_and_a_refused_key_is_an_error_naming_it() {
    // The remote server is jada's own daemon (`POST /mcp`, API keys): the agent of one
    // office working through another's tools.
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    business(
        d,
        &emu,
        &format!(
            r#"[agent.mcp.office]
url = "http://127.0.0.1:{port}/mcp"
api_key_file = "secrets/office-key"
trusted_tools = ["list_tasks"]
[agent.mcp.locked]
url = "http://127.0.0.1:{port}/mcp"
api_key_file = "secrets/wrong-key"
trusted_tools = ["list_tasks"]
[agent.playbooks.remote]
instructions = "Use the tools you are given."
tools = ["office.list_tasks", "locked.list_tasks"]
"#
        ),
    );
    let out = jada(d).args(["api-key", "create", "fleet-agent"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    write_private(&secrets_dir(d).join("office-key"), &key);
    write_private(&secrets_dir(d).join("wrong-key"), "jada_not-a-key");
    jada(d).args(["tasks", "add", "Varnish the tiller"]).assert().success();
    let (child, _url) = serve_with(
        d,
        &["--listen", &format!("127.0.0.1:{port}")],
        &[],
        std::process::Stdio::null(),
    );
    let _daemon = Running(child);

    emu.handle.script(json!({"name": "remote", "turns": [
        {"tool_calls": [
            {"name": "office__list_tasks", "input": {}},
            {"name": "locked__list_tasks", "input": {}}
        ]},
        {"text": "Read the other office's tasks."}
    ]}));
    let made = completed(d, "remote", "what is open over there");
    let read = call(&made, "office.list_tasks");
    assert!(!read.1 && read.2.contains("Varnish the tiller"), "{read:?}");
    let refused = call(&made, "locked.list_tasks");
    assert!(refused.1, "{refused:?}");
    assert!(
        refused.2.contains("`locked` is down") && refused.2.to_lowercase().contains("auth"),
        "{refused:?}"
    );
    // The remote side recorded the call as its key's caller.
    let out = jada(d).args(["agent", "sessions", "--json"]).output().unwrap();
    let sessions = json_of(&out.stdout);
    assert!(
        sessions
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["playbook"] == "mcp:fleet-agent"),
        "{sessions}"
    );
}
