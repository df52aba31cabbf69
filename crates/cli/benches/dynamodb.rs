//! DynamoDB and SQLite in one run: list a month (400 and 10,000 charters), accept an
//! offer, claim an outbox event — latency, DynamoDB requests per operation and their
//! estimated capacity units — idle daemons' traffic (1 and 3 on one set of tables) with
//! the p95 time from a booking to its outbox event being taken, and an estimated monthly
//! AWS bill for a season of ~1,000 charters on on-demand pricing.
//!
//!     cargo bench -p jada --bench dynamodb [-- daemons]
//!
//! DynamoDB here is the local test server (moto, serialised: scripts/test installs it):
//! its latencies are a Python process's, not AWS's; the request counts and sizes are
//! jada's own and the same against AWS. Capacity units are estimated from the request
//! and response sizes by DynamoDB's rounding (a read unit per 4 KB returned, a write unit
//! per 1 KB sent, twice that in a transaction): upper estimates.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveDate, NaiveTime, Utc};
use jada_core::{
    Cents, Charter, CharterId, CharterStatus, ChatAuthor, ChatKind, ChatMessage, CrewId, Event, Month, Offer,
    OfferStatus, SeatKind,
};
use jada_dynamo::stats::OpStats;
use jada_dynamo::DynamoStore;
use jada_store::sqlite::SqliteStore;
use jada_store::{CharterStore, OutboxStore, Store};
use jada_testkit::dynamo::{fresh_store, server, AWS_ENV};

/// On-demand prices, us-east-1 (USD): per million write / read request units, per GB-month.
const WRITE_PER_M: f64 = 0.625;
const READ_PER_M: f64 = 0.125;

fn charter(day: NaiveDate, i: u32) -> Charter {
    Charter {
        charter_id: CharterId::from_uuid(uuid::Uuid::new_v4()),
        created_at: Utc::now(),
        charter_date: day,
        start_time: NaiveTime::from_hms_opt(8 + i % 8, 0, 0).unwrap(),
        end_time: NaiveTime::from_hms_opt(10 + i % 8, 30, 0).unwrap(),
        vessel_name: "Marlin".into(),
        guest_name: format!("Guest {i}"),
        guest_count: 6,
        captain_assigned: Some(CrewId::parse("cap-1").unwrap()),
        crew_assigned: vec![],
        reportable_revenue: Cents(125_050),
        tips: Cents(10_000),
        status: CharterStatus::Booked,
        version: 0,
    }
}

fn month_of(n: u32) -> Vec<Charter> {
    let first = NaiveDate::from_ymd_opt(2031, 7, 1).unwrap();
    (0..n)
        .map(|i| charter(first + Days::days((i % 31) as i64), i))
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The requests (and their bytes) between two snapshots.
fn delta(before: &BTreeMap<String, OpStats>, after: &BTreeMap<String, OpStats>) -> BTreeMap<String, OpStats> {
    after
        .iter()
        .map(|(op, a)| {
            let b = before.get(op).copied().unwrap_or_default();
            let d = OpStats {
                requests: a.requests - b.requests,
                bytes_sent: a.bytes_sent - b.bytes_sent,
                bytes_received: a.bytes_received - b.bytes_received,
            };
            (op.clone(), d)
        })
        .filter(|(_, d)| d.requests > 0)
        .collect()
}

/// Estimated (read units, write units) of some requests.
fn units(ops: &BTreeMap<String, OpStats>) -> (f64, f64) {
    let (mut read, mut write) = (0.0, 0.0);
    for (op, s) in ops {
        let per = |bytes: u64, unit: f64| (bytes as f64 / s.requests as f64 / unit).ceil().max(1.0) * s.requests as f64;
        match op.as_str() {
            "GetItem" | "Query" | "Scan" | "DescribeTable" => read += per(s.bytes_received, 4096.0),
            "TransactWriteItems" => write += 2.0 * per(s.bytes_sent, 1024.0),
            "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" => write += per(s.bytes_sent, 1024.0),
            _ => {}
        }
    }
    (read, write)
}

fn describe(ops: &BTreeMap<String, OpStats>, per: u64) -> String {
    let list: Vec<String> = ops
        .iter()
        .map(|(op, s)| format!("{} {op}", s.requests as f64 / per as f64))
        .collect();
    let (r, w) = units(ops);
    format!(
        "{} (~{:.1} RRU, {:.1} WRU)",
        list.join(" + "),
        r / per as f64,
        w / per as f64
    )
}

struct Line {
    what: String,
    sqlite: Duration,
    dynamo: Duration,
    requests: String,
    units: (f64, f64),
}

async fn time_month(s: &dyn Store, n: u32, runs: u64) -> Duration {
    let month = Month::parse("2031-07").unwrap();
    let mut t = vec![];
    for _ in 0..runs {
        let start = Instant::now();
        assert_eq!(s.list_charters_in_month(month).await.unwrap().len(), n as usize);
        t.push(start.elapsed());
    }
    median(t)
}

async fn list_month(n: u32, dynamo: &DynamoStore, sqlite: &SqliteStore) -> Line {
    let charters = month_of(n);
    dynamo.put_new_charters(&charters).await.unwrap();
    for chunk in charters.chunks(1000) {
        let writes = chunk
            .iter()
            .map(|c| jada_store::CharterWrite::Create {
                charter: c.clone(),
                events: vec![],
            })
            .collect();
        sqlite.write_charters(writes, Utc::now()).await.unwrap();
    }
    let runs = 5;
    let sq = time_month(sqlite, n, runs).await;
    let before = dynamo.request_stats();
    let dy = time_month(dynamo, n, runs).await;
    let ops = delta(&before, &dynamo.request_stats());
    let u = units(&ops);
    Line {
        what: format!("list a month of {n} charters"),
        sqlite: sq,
        dynamo: dy,
        requests: describe(&ops, runs),
        units: (u.0 / runs as f64, u.1 / runs as f64),
    }
}

fn note(c: &Charter, body: &str) -> ChatMessage {
    ChatMessage {
        message_id: uuid::Uuid::new_v4(),
        charter_id: c.charter_id,
        posted_at: Utc::now(),
        author: ChatAuthor::System,
        kind: ChatKind::Offer,
        body: body.into(),
    }
}

/// An open offer on a charter with 3 other charters that day: (offer, charter).
async fn offer_on(s: &dyn Store, i: u32) -> (uuid::Uuid, Charter) {
    let day = NaiveDate::from_ymd_opt(2032, 1, 1).unwrap() + Days::days(i as i64);
    let mut first = None;
    for k in 0..4 {
        let made = s.create_charter(charter(day, k * 2), vec![], Utc::now()).await.unwrap();
        first.get_or_insert(made);
    }
    let c = first.unwrap();
    let now = Utc::now();
    let offer = Offer {
        offer_id: uuid::Uuid::new_v4(),
        charter_id: c.charter_id,
        crew_id: CrewId::parse(&format!("deck-{i}")).unwrap(),
        seat: SeatKind::Crew,
        status: OfferStatus::Offered,
        offered_at: now,
        expires_at: now + Days::hours(2),
        answered_at: None,
    };
    s.create_offer(&offer, &note(&c, "offered")).await.unwrap();
    (offer.offer_id, c)
}

async fn accept_once(s: &dyn Store, offer: uuid::Uuid, c: &Charter) -> Duration {
    let start = Instant::now();
    let got = s
        .accept_offer(offer, Utc::now(), 2, &note(c, "accepted"))
        .await
        .unwrap();
    let took = start.elapsed();
    assert!(matches!(got, jada_store::Acceptance::Accepted(_)), "{got:?}");
    took
}

async fn accept(dynamo: &DynamoStore, sqlite: &SqliteStore) -> Line {
    let runs = 20;
    let mut sq = vec![];
    for i in 0..runs {
        let (offer, c) = offer_on(sqlite, i).await;
        sq.push(accept_once(sqlite, offer, &c).await);
    }
    let (mut dy, mut ops) = (vec![], BTreeMap::new());
    for i in 0..runs {
        let (offer, c) = offer_on(dynamo, 100 + i).await;
        let before = dynamo.request_stats();
        dy.push(accept_once(dynamo, offer, &c).await);
        ops = delta(&before, &dynamo.request_stats());
    }
    Line {
        what: "accept an offer (3 other charters that day)".into(),
        sqlite: median(sq),
        dynamo: median(dy),
        requests: describe(&ops, 1),
        units: units(&ops),
    }
}

async fn claim_once(s: &dyn Store, ev: &Event) -> Duration {
    s.enqueue_event(ev, Utc::now()).await.unwrap();
    let start = Instant::now();
    let got = s
        .claim_due_events(Utc::now(), Duration::from_secs(60), 10)
        .await
        .unwrap();
    let took = start.elapsed();
    assert_eq!(got.len(), 1);
    s.ack_event(got[0].event_id, Utc::now()).await.unwrap();
    took
}

async fn claim(dynamo: &DynamoStore, sqlite: &SqliteStore) -> Line {
    let runs = 30u64;
    let ev = Event::CharterChanged {
        charter_id: CharterId::from_uuid(uuid::Uuid::new_v4()),
        version: 1,
    };
    let mut sq = vec![];
    for _ in 0..runs {
        sq.push(claim_once(sqlite, &ev).await);
    }
    let mut dy = vec![];
    let mut claim_ops = BTreeMap::new();
    for _ in 0..runs {
        dynamo.enqueue_event(&ev, Utc::now()).await.unwrap();
        let before = dynamo.request_stats();
        let start = Instant::now();
        let got = dynamo
            .claim_due_events(Utc::now(), Duration::from_secs(60), 10)
            .await
            .unwrap();
        dy.push(start.elapsed());
        claim_ops = delta(&before, &dynamo.request_stats());
        dynamo.ack_event(got[0].event_id, Utc::now()).await.unwrap();
    }
    Line {
        what: "claim an outbox event".into(),
        sqlite: median(sq),
        dynamo: median(dy),
        requests: describe(&claim_ops, 1),
        units: units(&claim_ops),
    }
}

/// `n` daemons on the same tables (`jada serve`, each its own data directory and
/// instance id, one store key): each one's address.
struct Daemons {
    children: Vec<std::process::Child>,
    urls: Vec<String>,
    dirs: Vec<tempfile::TempDir>,
}

impl Drop for Daemons {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn start_daemons(tables: &jada_dynamo::Tables, n: usize) -> Daemons {
    let mut d = Daemons {
        children: vec![],
        urls: vec![],
        dirs: vec![],
    };
    for i in 0..n {
        let dir = tempfile::tempdir().unwrap();
        let toml = format!(
            "[store]\nbackend = \"dynamodb\"\nregion = \"us-east-1\"\nendpoint_url = \"{}\"\ninstance_id = \"bench-{i}\"\n[store.tables]\ncharters = \"{}\"\ncrew = \"{}\"\nchats = \"{}\"\nops = \"{}\"\n[[vessels]]\nname = \"Marlin\"\ncrew = [{{ max_guests = 12, crew = 2 }}]\n",
            server().endpoint, tables.charters, tables.crew, tables.chats, tables.ops
        );
        std::fs::write(dir.path().join("jada.toml"), toml).unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_jada"))
            .current_dir(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .envs(AWS_ENV)
            .env("JADA_STORE_KEY", "11".repeat(32))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = lines
            .find_map(|l| l.ok().filter(|l| l.starts_with("jada is running at ")))
            .expect("ready");
        std::thread::spawn(move || for _ in lines {});
        let url = ready["jada is running at ".len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        d.urls.push(url);
        d.children.push(child);
        d.dirs.push(dir);
    }
    d
}

fn server_stats() -> BTreeMap<String, f64> {
    let url = format!("{}/_stats", server().endpoint);
    let out = std::process::Command::new(jada_testkit::python())
        .args([
            "-c",
            "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())",
            &url,
        ])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Requests a minute per operation the daemons send while nothing happens (their polls).
fn idle_traffic(seconds: u64) -> BTreeMap<String, f64> {
    std::thread::sleep(Duration::from_secs(20)); // past start-up, and the outbox backed off
    let before = server_stats();
    std::thread::sleep(Duration::from_secs(seconds));
    let after = server_stats();
    after
        .iter()
        .map(|(op, n)| {
            (
                op.clone(),
                (n - before.get(op).copied().unwrap_or(0.0)) * 60.0 / seconds as f64,
            )
        })
        .filter(|(_, n)| *n > 0.0)
        .collect()
}

/// Bookings through the API of each daemon in turn, one every few seconds (the outboxes
/// idle between them): how long until an outbox takes each booking's event. The p95.
async fn event_latency(d: &Daemons, store: &DynamoStore, bookings: usize) -> Duration {
    let key = std::process::Command::new(env!("CARGO_BIN_EXE_jada"))
        .current_dir(d.dirs[0].path())
        .args(["api-key", "create", &format!("bench-{}", uuid::Uuid::new_v4().simple())])
        .envs(AWS_ENV)
        .env("JADA_STORE_KEY", "11".repeat(32))
        .output()
        .unwrap();
    let key = String::from_utf8(key.stdout).unwrap().trim().to_string();
    let http = reqwest::Client::new();
    let mut took = vec![];
    for i in 0..bookings {
        tokio::time::sleep(Duration::from_secs(4)).await;
        let url = &d.urls[i % d.urls.len()];
        let day = NaiveDate::from_ymd_opt(2032, 1, 1).unwrap() + Days::days(i as i64);
        let body = serde_json::json!({
            "charter_date": day.to_string(), "start_time": "09:00", "end_time": "12:00",
            "vessel_name": "Marlin", "guest_name": "Bench Guest", "guest_count": 4,
            "reportable_revenue": "100.00", "tips": "0"
        });
        let sent = Instant::now();
        let r = http
            .post(format!("{url}/api/charters"))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        let id: serde_json::Value = r.json().await.unwrap();
        let id = id["charter_id"].as_str().unwrap().to_string();
        loop {
            let taken = store
                .list_events(jada_store::EventStatus::Done, 10_000)
                .await
                .unwrap()
                .into_iter()
                .chain(
                    store
                        .list_events(jada_store::EventStatus::Pending, 10_000)
                        .await
                        .unwrap(),
                )
                .any(|e| e.attempts >= 1 && serde_json::to_string(&e.event).unwrap().contains(&id));
            if taken {
                took.push(sent.elapsed());
                break;
            }
            assert!(sent.elapsed() < Duration::from_secs(60), "event of {id} never taken");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    took.sort();
    took[(took.len() * 95).div_ceil(100) - 1]
}

/// Idle requests a minute and the monthly bill of `n` idle daemons, and the p95 event
/// latency with them.
async fn daemons_line(n: usize) -> (f64, f64, Duration) {
    let store = fresh_store().await;
    let d = start_daemons(store.tables(), n);
    let idle = idle_traffic(60);
    let per_minute: f64 = idle.values().sum();
    println!("  {n} daemon(s), idle, requests a minute by operation: {idle:?}");
    let reads = idle
        .iter()
        .filter(|(op, _)| {
            !op.contains("Put") && !op.contains("Update") && !op.contains("Transact") && !op.contains("Delete")
        })
        .map(|(_, n)| n)
        .sum::<f64>();
    let minutes = 30.0 * 24.0 * 60.0;
    let bill = (reads * minutes) / 1e6 * READ_PER_M + ((per_minute - reads) * minutes) / 1e6 * WRITE_PER_M;
    let p95 = event_latency(&d, &store, 20).await;
    (per_minute, bill, p95)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benchmarks; there is nothing to list here
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // `-- daemons`: only the idle daemons and the event latency (a minute or so each).
        let daemons_only = std::env::args().any(|a| a == "daemons");
        println!("\nIdle daemons on DynamoDB (60 s each), and the p95 time from a booking through a daemon's API to its outbox taking the event (20 bookings, 4 s apart):");
        println!("| daemons | requests a minute (all) | per daemon | monthly bill, on demand | p95 event latency |");
        println!("|---|---|---|---|---|");
        let mut one_bill = 0.0;
        for n in [1, 3] {
            let (per_minute, bill, p95) = daemons_line(n).await;
            println!(
                "| {n} | {per_minute:.0} | {:.1} | ${bill:.2} | {} |",
                per_minute / n as f64,
                ms(p95)
            );
            if n == 1 {
                one_bill = bill;
            }
        }
        if daemons_only {
            return;
        }
        let mut lines = vec![];
        for n in [400, 10_000] {
            let dir = tempfile::tempdir().unwrap();
            let sqlite = SqliteStore::open(dir.path().join("jada.db")).unwrap();
            let dynamo = fresh_store().await;
            lines.push(list_month(n, &dynamo, &sqlite).await);
        }
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(dir.path().join("jada.db")).unwrap();
        let dynamo = fresh_store().await;
        lines.push(accept(&dynamo, &sqlite).await);
        // A fresh pair for the outbox: accepting queued events of its own.
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(dir.path().join("jada.db")).unwrap();
        let dynamo = fresh_store().await;
        lines.push(claim(&dynamo, &sqlite).await);

        println!("\n| operation | SQLite | DynamoDB (local server) | ratio | DynamoDB requests per operation |");
        println!("|---|---|---|---|---|");
        for l in &lines {
            println!(
                "| {} | {} | {} | {:.1}x | {} |",
                l.what,
                ms(l.sqlite),
                ms(l.dynamo),
                l.dynamo.as_secs_f64() / l.sqlite.as_secs_f64(),
                l.requests
            );
        }

        // A season of ~1,000 charters over 8 months: ~125 a month; each is created and
        // changed ~4 times, offered ~4 seats (3 accepts), with ~6 chat notes, and the
        // office lists a month ~200 times a month.
        let month_list = &lines[0];
        let accept_line = &lines[2];
        let business_reads = 200.0 * month_list.units.0 + 125.0 * (3.0 * accept_line.units.0 + 5.0 * 2.0);
        let business_writes = 125.0 * (3.0 * accept_line.units.1 + 5.0 * 2.0 * 2.0 + 6.0 * 2.0);
        let cost = |r: f64, w: f64| r / 1e6 * READ_PER_M + w / 1e6 * WRITE_PER_M;
        println!(
            "\nEstimated monthly on-demand bill (us-east-1: ${WRITE_PER_M} per million write units, ${READ_PER_M} per million read units):"
        );
        println!("- one idle daemon's polls (outbox backing off to 15 s, dispatch every 30 s, leases): ${one_bill:.2}");
        println!(
            "- the business (125 charters a month, 200 month listings): ~{:.0} read units + ~{:.0} write units = ${:.4}",
            business_reads,
            business_writes,
            cost(business_reads, business_writes)
        );
        println!("- storage: well under 1 GB ($0.25 per GB-month)");
    });
}
