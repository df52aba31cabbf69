//! A DynamoDB-compatible server for tests: `scripts/dynamodb-test-server.py` (moto's
//! server, with requests serialised and DynamoDB's limits enforced; see its header), one
//! per test binary, on 127.0.0.1. Each test takes tables of its own, so tests in one
//! binary run in parallel without seeing each other's data.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use jada_dynamo::{DynamoConfig, DynamoStore, Tables};

/// The running server. It exits when this process does (its stdin closes).
pub struct DynamoServer {
    pub endpoint: String,
    _child: Mutex<Child>,
}

/// The environment a process needs to reach the test server through the standard AWS
/// credential chain (static keys in the environment; no instance metadata lookups).
pub const AWS_ENV: [(&str, &str); 4] = [
    ("AWS_ACCESS_KEY_ID", "jada-test"),
    ("AWS_SECRET_ACCESS_KEY", "jada-test-secret"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// The server for this test binary, started on first use.
pub fn server() -> &'static DynamoServer {
    static SERVER: OnceLock<DynamoServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        for (k, v) in AWS_ENV {
            // Set once, before any client reads the chain, in the thread that starts it.
            std::env::set_var(k, v);
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/dynamodb-test-server.py");
        let mut child = Command::new(crate::python())
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the DynamoDB test server with {}: {e}; run scripts/test, which installs moto in .venv", crate::python()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("the DynamoDB test server's first line");
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the DynamoDB test server said `{line}` (run scripts/test to install moto)"))
            .to_string();
        DynamoServer {
            endpoint: format!("http://127.0.0.1:{port}"),
            _child: Mutex::new(child),
        }
    })
}

/// Table names no other test uses (the business's names, with a unique prefix).
pub fn fresh_tables() -> Tables {
    static N: AtomicU32 = AtomicU32::new(0);
    let p = format!("t{}-{}-", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let d = jada_app::config::StoreTables::default();
    Tables {
        charters: format!("{p}{}", d.charters),
        crew: format!("{p}{}", d.crew),
        chats: format!("{p}{}", d.chats),
        ops: format!("{p}{}", d.ops),
        date_index: None,
    }
}

/// The configuration of a store on the test server with these tables.
pub fn config(tables: Tables) -> DynamoConfig {
    DynamoConfig {
        region: Some("us-east-1".into()),
        endpoint_url: Some(server().endpoint.clone()),
        tables,
        instance: Some("test-instance".into()),
        month_index: false,
        index_read_capacity: None,
        index_write_capacity: None,
    }
}

/// A store on fresh tables, created as `jada store create-tables` would.
pub async fn fresh_store() -> DynamoStore {
    let store = DynamoStore::connect(&config(fresh_tables())).await;
    store.create_tables().await.expect("create the test tables");
    store
}

/// Runs boto3 against the test server, as the business's scripts (and an operator's
/// console) do: `ops` is a list of (operation, kwargs) pairs for the low-level client;
/// answers the JSON of each answer (Decimals and dates as strings). A refusal fails the
/// test with boto3's words.
pub fn boto3(ops: serde_json::Value) -> Vec<serde_json::Value> {
    let script = r#"
import json, sys, boto3
from decimal import Decimal
c = boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="x", aws_secret_access_key="y")
out = []
for op, kwargs in json.load(open(sys.argv[2])):
    r = getattr(c, op)(**kwargs)
    r.pop("ResponseMetadata", None)
    out.append(r)
print(json.dumps(out, default=str))
"#;
    // Through a file: a batch of big items is more than one argument may hold (128 KiB).
    let file = tempfile::NamedTempFile::new().expect("a temporary file for boto3's requests");
    std::fs::write(file.path(), ops.to_string()).expect("write boto3's requests");
    let out = crate::run_python(script, [server().endpoint.as_str(), &file.path().display().to_string()]);
    out.as_array().expect("a list of answers").clone()
}

/// Sends one request with boto3 that the server must refuse: answers DynamoDB's error
/// code and message (the test fails if it was accepted).
pub fn boto3_refusal(op: &str, kwargs: serde_json::Value) -> (String, String) {
    let script = r#"
import json, sys, boto3, botocore
c = boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="x", aws_secret_access_key="y")
try:
    getattr(c, sys.argv[2])(**json.loads(sys.argv[3]))
    print(json.dumps(None))
except botocore.exceptions.ClientError as e:
    print(json.dumps([e.response["Error"]["Code"], e.response["Error"]["Message"]]))
"#;
    let out = crate::run_python(script, [server().endpoint.clone(), op.to_string(), kwargs.to_string()]);
    let pair = out
        .as_array()
        .unwrap_or_else(|| panic!("{op} {kwargs} was accepted; DynamoDB refuses it"));
    (
        pair[0].as_str().unwrap_or_default().to_string(),
        pair[1].as_str().unwrap_or_default().to_string(),
    )
}

/// Asks the server to fail the next `count` requests of `operation` (e.g. `PutItem`) on
/// `table` with DynamoDB's `error` (e.g. `ProvisionedThroughputExceededException`).
pub fn inject_fault(operation: &str, table: &str, error: &str, count: u32) {
    post_fault(&format!(
        r#"{{"target": "{operation}", "table": "{table}", "error": "{error}", "count": {count}}}"#
    ));
}

/// Asks the server to apply the next `count` `operation` requests on `table` and then
/// answer 500, as if the answer were lost on its way back (the client retries).
pub fn inject_lost_answer(operation: &str, table: &str, count: u32) {
    post_fault(&format!(
        r#"{{"target": "{operation}", "table": "{table}", "lost": 1, "count": {count}}}"#
    ));
}

/// Makes every index of `table` lag `ms` behind writes: an item written less than `ms`
/// ago is missing from index queries (DynamoDB's GSIs are eventually consistent).
pub fn lag_indexes(table: &str, ms: u64) {
    post_fault(&format!(r#"{{"gsi_lag_ms": {ms}, "table": "{table}"}}"#));
}

/// Asks the server to answer the next `count` BatchWriteItem requests with every item
/// unprocessed.
pub fn inject_unprocessed(count: u32) {
    post_fault(&format!(
        r#"{{"target": "BatchWriteItem", "unprocessed": 1, "count": {count}}}"#
    ));
}

fn post_fault(body: &str) {
    let url = format!("{}/_faults", server().endpoint);
    let out = Command::new(crate::python())
        .arg("-c")
        .arg("import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method='POST'))")
        .arg(url)
        .arg(body)
        .output()
        .expect("run python to post a fault");
    assert!(
        out.status.success(),
        "posting a fault failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
