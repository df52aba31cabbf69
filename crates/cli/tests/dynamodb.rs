//! jada on DynamoDB from the outside: `jada store check|create-tables`, the usual
//! commands on the business's tables, and two real `jada serve` processes sharing one
//! set of tables (each due run once, a killed daemon's job taken over within the lease
//! time, a link signed by one process verified by another daemon).
//!
//! Needs jada's `aws` feature (scripts/test builds every feature).
#![cfg(feature = "aws")]

mod common;
use common::*;

use std::path::Path;
use std::time::{Duration, Instant};

use jada_dynamo::{DynamoStore, Tables};
use jada_store::JobRunStore;
use jada_testkit::dynamo::{config, fresh_tables, server, AWS_ENV};
use serde_json::Value;

/// Every process of one business shares this store key (as operators copy it).
const STORE_KEY: &str = "5b0e4a6c1f2d3e4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9012345";

const VESSEL: &str =
    "[[vessels]]\nname = \"Marlin\"\ncrew = [{ max_guests = 6, crew = 1 }, { max_guests = 12, crew = 2 }]\n";

fn env() -> Vec<(&'static str, &'static str)> {
    let mut env = AWS_ENV.to_vec();
    env.push(("JADA_STORE_KEY", STORE_KEY));
    env
}

/// `jada` in `dir` with the AWS environment of the test server.
fn jada_aws(dir: &Path) -> assert_cmd::Command {
    let mut cmd = jada(dir);
    cmd.envs(env());
    cmd
}

/// `[store]` on the test server with `tables`, as daemon `instance`.
fn store_toml(tables: &Tables, instance: &str) -> String {
    format!(
        "[store]\nbackend = \"dynamodb\"\nregion = \"us-east-1\"\nendpoint_url = \"{}\"\ninstance_id = \"{instance}\"\n\
         [store.tables]\ncharters = \"{}\"\ncrew = \"{}\"\nchats = \"{}\"\nops = \"{}\"\n",
        server().endpoint,
        tables.charters,
        tables.crew,
        tables.chats,
        tables.ops
    )
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn create_tables(tables: &Tables) {
    block_on(async {
        DynamoStore::connect(&config(tables.clone()))
            .await
            .create_tables()
            .await
            .unwrap()
    });
}

/// The walk an operator makes on the business's account: a charters table with its own
/// `charter_date-index`, in provisioned mode, and month_index wanted. create-tables says
/// what it would do to the business's table and what it costs, makes only jada's parts
/// without --yes (exit 1, naming --yes), then the rest with it; check says which index
/// it reads through and where point-in-time recovery is off.
#[test]
fn create_tables_asks_before_changing_a_business_table_and_uses_its_index() {
    let d = tempfile::tempdir().unwrap();
    let tables = fresh_tables();
    jada_testkit::dynamo::boto3(serde_json::json!([["create_table", {
        "TableName": tables.charters,
        "KeySchema": [{"AttributeName": "charter_id", "KeyType": "HASH"}, {"AttributeName": "created_at", "KeyType": "RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName": "charter_id", "AttributeType": "S"},
            {"AttributeName": "created_at", "AttributeType": "S"},
            {"AttributeName": "charter_date", "AttributeType": "S"}],
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        "GlobalSecondaryIndexes": [{
            "IndexName": "charter_date-index",
            "KeySchema": [{"AttributeName": "charter_date", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}}]
    }]]));
    let toml = store_toml(&tables, "a").replace("[store.tables]", "month_index = true\n[store.tables]");
    std::fs::write(d.path().join("jada.toml"), toml).unwrap();

    let out = jada_aws(d.path()).args(["store", "create-tables"]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}{err}");
    assert!(
        said.contains(&format!(
            "add index `charter_month` (charter_month + charter_date) to `{}`",
            tables.charters
        )) && said.contains("online index build")
            && said.contains("[needs --yes]"),
        "{said}"
    );
    assert!(
        said.contains(&format!("created table `{}`", tables.ops)),
        "jada's own parts are made: {said}"
    );
    assert!(err.contains("--yes"), "{err}");
    assert!(
        !said.contains("add index `charter_date`"),
        "never a second date index: {said}"
    );
    println!("{said}{err}");

    let out = jada_aws(d.path())
        .args(["store", "create-tables", "--yes"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        said.contains(&format!("added index `charter_month` to `{}`", tables.charters)),
        "{said}"
    );

    let out = jada_aws(d.path()).args(["store", "check"]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        said.contains("reads:   days: charter_date-index, months: charter_month"),
        "{said}"
    );
    assert!(said.contains("warning: point-in-time recovery is off"), "{said}");
    println!("{said}");
}

#[test]
fn store_check_and_create_tables_then_every_command_works_on_dynamodb() {
    let d = tempfile::tempdir().unwrap();
    let tables = fresh_tables();
    std::fs::write(
        d.path().join("jada.toml"),
        format!("{}{VESSEL}", store_toml(&tables, "a")),
    )
    .unwrap();

    let out = jada_aws(d.path()).args(["store", "check", "--json"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "tables missing: exit 1 ({})",
        String::from_utf8_lossy(&out.stderr)
    );
    let check: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(check["ok"], false);
    let missing: Vec<&str> = check["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["exists"] == false)
        .map(|t| t["role"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["charters", "crew", "chats", "ops"]);

    let out = jada_aws(d.path()).args(["store", "create-tables"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("created table `{}`", tables.charters)), "{said}");
    jada_aws(d.path()).args(["store", "check"]).assert().success();
    let again = jada_aws(d.path()).args(["store", "create-tables"]).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to change"));

    // The usual commands, unchanged, on the business's tables.
    std::fs::write(
        d.path().join("crew.csv"),
        "crew_id,name,email,phone,captain_certified,available_dates\ncap,Cora Captain,cap@example.com,,yes,2031-07-12\nann,Ann Deck,ann@example.com,,no,2031-07-12\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("charters.csv"),
        format!("charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue,tips,status\n{CHARTER},2031-07-12,10:00,13:00,Marlin,Ada Guest,4,\"1,250.50\",100,booked\n"),
    )
    .unwrap();
    jada_aws(d.path())
        .args(["crew", "import", "crew.csv"])
        .assert()
        .success();
    jada_aws(d.path())
        .args(["charters", "import", "charters.csv"])
        .assert()
        .success();
    let list = jada_aws(d.path())
        .args(["charters", "list", "--month", "2031-07"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    assert!(text.contains("Ada Guest") && text.contains("$1,250.50"), "{text}");
    let crew = jada_aws(d.path())
        .args(["crew", "list", "--available-on", "2031-07-12"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&crew.stdout).contains("Cora Captain"));
    let show = jada_aws(d.path()).args(["charters", "show", CHARTER]).output().unwrap();
    assert!(show.status.success(), "{}", String::from_utf8_lossy(&show.stderr));
}

fn daemon_toml(tables: &Tables, instance: &str) -> String {
    format!(
        "{}[server]\njob_lease = \"3s\"\npublic_url = \"http://127.0.0.1:1\"\nshutdown_grace = \"1s\"\n\
         {VESSEL}\
         [jobs.tick]\nschedule = \"every 2s\"\ncommand = [\"true\"]\n\
         [jobs.long]\nschedule = \"every 3s\"\ntimeout = \"5m\"\ncommand = [\"sh\", \"-c\", \"echo {instance} >> ../long.log; exec sleep 60\"]\n",
        store_toml(tables, instance)
    )
}

fn serve_as(dir: &Path) -> (std::process::Child, String) {
    let (child, line) = serve_ready(dir, &["--listen", "127.0.0.1:0"], &env(), std::process::Stdio::null());
    // It says where the data is: the tables and the endpoint, not a jada.db.
    assert!(
        line.contains("(data: DynamoDB tables ") && line.contains(&format!("at {}", server().endpoint)),
        "{line}"
    );
    assert!(!line.contains("jada.db"), "{line}");
    let url = line
        .trim_start_matches("jada is running at ")
        .split_whitespace()
        .next()
        .unwrap();
    (child, url.to_string())
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

fn runners(root: &Path) -> Vec<String> {
    std::fs::read_to_string(root.join("long.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn two_daemons_run_each_due_run_once_and_take_over_from_a_killed_one() {
    let root = tempfile::tempdir().unwrap();
    let tables = fresh_tables();
    create_tables(&tables);
    let (da, db) = (root.path().join("a"), root.path().join("b"));
    for (dir, name) in [(&da, "a"), (&db, "b")] {
        std::fs::create_dir(dir).unwrap();
        std::fs::write(dir.join("jada.toml"), daemon_toml(&tables, name)).unwrap();
    }
    let (mut a, _url_a) = serve_as(&da);
    let (mut b, url_b) = serve_as(&db);
    let store = block_on(DynamoStore::connect(&config(tables.clone())));

    // A link signed by one process (here `jada dispatch link` in a's directory) is
    // verified by the other daemon: the keys are the store's, sealed with one store key.
    std::fs::write(
        da.join("crew.csv"),
        "crew_id,name,email,phone,captain_certified,available_dates\nann,Ann Deck,ann@example.com,,no,\n",
    )
    .unwrap();
    jada_aws(&da).args(["crew", "import", "crew.csv"]).assert().success();
    let link = jada_aws(&da).args(["dispatch", "link", "ann"]).output().unwrap();
    assert!(link.status.success(), "{}", String::from_utf8_lossy(&link.stderr));
    let link = String::from_utf8_lossy(&link.stdout).trim().to_string();
    let path = link.split_once("/c/").map(|(_, t)| format!("/c/{t}")).unwrap();
    let page = reqwest::blocking::get(format!("{url_b}{path}")).unwrap();
    assert_eq!(page.status(), 200, "daemon b verifies what a's keys signed");
    let body = page.text().unwrap();
    assert!(body.contains("Your schedule"), "{body}");
    let forged = reqwest::blocking::get(format!("{url_b}{path}x")).unwrap();
    assert_ne!(forged.status(), 200);

    // Both daemons schedule `tick` every 2 s; each due run happens once.
    std::thread::sleep(Duration::from_secs(7));
    let ticks = block_on(store.recent_runs(Some("tick"), 100)).unwrap();
    assert!(ticks.len() >= 3, "{} runs of tick", ticks.len());
    let mut starts: Vec<_> = ticks.iter().map(|r| r.started_at).collect();
    starts.sort();
    for pair in starts.windows(2) {
        assert!(
            pair[1] - pair[0] > chrono::Duration::milliseconds(1000),
            "two runs for one due time: {pair:?}"
        );
    }

    // `long` runs on one daemon (it never ends by itself); kill -9 that daemon, and the
    // other takes the job within the lease time (3 s) plus the next due time (3 s).
    let first = runners(root.path());
    assert_eq!(first.len(), 1, "one daemon runs long: {first:?}");
    let (victim, survivor_name) = if first[0] == "a" { (&mut a, "b") } else { (&mut b, "a") };
    victim.kill().unwrap();
    victim.wait().unwrap();
    let took = wait_for("the other daemon to take over `long`", Duration::from_secs(15), || {
        runners(root.path()).iter().any(|r| r == survivor_name)
    });
    assert!(took < Duration::from_secs(9), "took over after {took:?}");

    // The dead daemon's run stays `running` until that daemon restarts: a daemon
    // abandons only its own runs.
    let long = block_on(store.recent_runs(Some("long"), 10)).unwrap();
    assert_eq!(
        long.iter().filter(|r| r.outcome.as_str() == "running").count(),
        2,
        "{long:?}"
    );
    let victim_dir = if survivor_name == "b" { &da } else { &db };
    let (mut again, _) = serve_as(victim_dir);
    let long = block_on(store.recent_runs(Some("long"), 10)).unwrap();
    let outcomes: Vec<&str> = long.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "abandoned").count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&"running"),
        "the survivor's run is left alone: {outcomes:?}"
    );

    for child in [&mut a, &mut b, &mut again] {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::process::Command::new("pkill")
        .args(["-f", "exec sleep 60"])
        .status();
}

fn stdout(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_sqlite_business_migrates_to_dynamodb_and_back_and_a_second_copy_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let tables = fresh_tables();
    create_tables(&tables);
    let sqlite_toml = format!(
        "{}[server]\npublic_url = \"http://127.0.0.1:1\"\n{VESSEL}",
        store_toml(&tables, "a").replace("backend = \"dynamodb\"", "backend = \"sqlite\"")
    );
    std::fs::write(d.path().join("jada.toml"), &sqlite_toml).unwrap();
    charter_business_files(d.path());
    let p = d.path();
    jada_aws(p).args(["crew", "import", "crew.csv"]).assert().success();
    jada_aws(p)
        .args(["charters", "import", "charters.csv"])
        .assert()
        .success();
    jada_aws(p)
        .args(["dispatch", "assign-captain", CHARTER, "cap"])
        .assert()
        .success();
    jada_aws(p)
        .args(["tasks", "add", "Call the harbour master"])
        .assert()
        .success();
    jada_aws(p)
        .args(["api-key", "create", "booking-site"])
        .assert()
        .success();
    let screens = |p: &Path| {
        [
            stdout(jada_aws(p).args(["charters", "list", "--month", "2031-07", "--json"])),
            stdout(jada_aws(p).args(["charters", "show", CHARTER, "--json"])),
            stdout(jada_aws(p).args(["crew", "list", "--json"])),
            stdout(jada_aws(p).args(["tasks", "list", "--json"])),
            stdout(jada_aws(p).args(["dispatch", "explain", CHARTER, "--json"])),
            stdout(jada_aws(p).args(["api-key", "list"])),
        ]
    };
    let before = screens(p);
    stdout(jada_aws(p).args(["dispatch", "link", "ann"])); // makes the link keys

    let copy = |from: &str, to: &str| -> Value {
        serde_json::from_str(&stdout(
            jada_aws(p).args(["store", "migrate", "--from", from, "--to", to, "--json"]),
        ))
        .unwrap()
    };
    let first = copy("sqlite", "dynamodb");
    let counts = |v: &Value| -> Vec<(String, u64, u64)> {
        v["copied"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["kind"].as_str().unwrap().to_string(),
                    c["source"].as_u64().unwrap(),
                    c["destination"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let n = |v: &Value, kind: &str| counts(v).into_iter().find(|c| c.0 == kind).unwrap();
    assert_eq!(n(&first, "charters"), ("charters".into(), 1, 1));
    assert_eq!(n(&first, "crew members"), ("crew members".into(), 3, 3));
    assert!(
        n(&first, "offers").1 >= 1 && n(&first, "chat messages").1 >= 1,
        "{first}"
    );
    assert_eq!(n(&first, "tasks").2, 1);
    assert_eq!(first["link_keys"], "copied (sealed with the store key)");
    // Again: the same counts on both sides, nothing doubled.
    let second = copy("sqlite", "dynamodb");
    assert_eq!(counts(&first), counts(&second));

    // The same business on DynamoDB: every screen says the same, the old link verifies.
    std::fs::write(
        p.join("jada.toml"),
        sqlite_toml.replace("backend = \"sqlite\"", "backend = \"dynamodb\""),
    )
    .unwrap();
    assert_eq!(screens(p), before);
    let task = stdout(jada_aws(p).args(["tasks", "add", "Numbered after the copied one", "--json"]));
    assert_eq!(
        serde_json::from_str::<Value>(&task).unwrap()["id"],
        2,
        "counters follow the copy"
    );

    // And back, into a new SQLite file.
    let back = copy("dynamodb", &format!("sqlite:{}", p.join("back/jada.db").display()));
    assert_eq!(n(&back, "charters").2, 1);
    assert_eq!(n(&back, "tasks").2, 2);
    assert_eq!(back["link_keys"], "copied to the key file");
    assert_eq!(
        std::fs::read(p.join("back/secrets/link-keys.json")).unwrap(),
        std::fs::read(p.join("jada-data/secrets/link-keys.json")).unwrap(),
        "the same keys went there and back (sealed in DynamoDB)"
    );
}

#[test]
fn backup_now_on_dynamodb_asks_dynamodb_for_a_backup_of_each_table_and_list_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let tables = fresh_tables();
    create_tables(&tables);
    std::fs::write(dir.path().join("jada.toml"), store_toml(&tables, "b1")).unwrap();
    let made: Value = serde_json::from_str(&stdout(jada_aws(dir.path()).args(["backup", "now", "--json"]))).unwrap();
    let made = made["backups"].as_array().unwrap().clone();
    let names: Vec<&str> = made.iter().map(|b| b["table"].as_str().unwrap()).collect();
    assert_eq!(names, [&tables.charters, &tables.crew, &tables.chats, &tables.ops]);
    // DynamoDB's own listing (boto3) has them, by the names jada gave.
    let listed = jada_testkit::dynamo::boto3(serde_json::json!([["list_backups", {"TableName": tables.charters}]]));
    let summaries = listed[0]["BackupSummaries"].as_array().unwrap();
    assert_eq!(summaries.len(), 1, "{listed:?}");
    assert_eq!(summaries[0]["BackupName"], made[0]["name"]);
    let ours: Value = serde_json::from_str(&stdout(jada_aws(dir.path()).args(["backup", "list", "--json"]))).unwrap();
    assert_eq!(ours["backups"].as_array().unwrap().len(), 4);
    // Doctor says where point-in-time recovery is off, and how to turn it on.
    let out = jada_aws(dir.path())
        .args(["doctor", "--json"])
        .assert()
        .get_output()
        .stdout
        .clone();
    let doctor: Value = serde_json::from_slice(&out).unwrap();
    let pitr = doctor["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["what"]
                .as_str()
                .unwrap()
                .starts_with("DynamoDB point-in-time recovery:")
        })
        .unwrap_or_else(|| panic!("{doctor:#}"))
        .clone();
    assert!(pitr["what"].as_str().unwrap().contains(&tables.charters), "{pitr}");
    // What only a file backup has is refused with what to do instead.
    let refused = jada_aws(dir.path())
        .args(["backup", "restore", "x", "--to", "y"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(err.contains("restore-table-from-backup"), "{err}");
}
