//! Crew statements, end to end: messages read back with Python's `email` package and
//! their workbooks with openpyxl; sends recorded once; Gmail through the emulator.

mod common;
use common::run_python;

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime, Utc};
use jada_core::tips::Leftover;
use jada_core::{Cents, Charter, CharterId, CharterStatus, CrewId, CrewMember, Email, Month};
use jada_google::client::GoogleClient;
use jada_ops::mail::{EmlOutbox, GmailMailer};
use jada_ops::statements::{send, Options, Search, StatementsConfig};
use jada_store::sqlite::SqliteStore;
use jada_store::{CharterStore, CrewStore, StatementStore};
use serde_json::Value;

/// Each message as Python's `email` sees it, with its xlsx attachment opened by openpyxl.
fn inspect(files: &[PathBuf]) -> Vec<Value> {
    let script = r#"
import email, email.policy, io, json, sys, openpyxl
out = []
for p in sys.argv[1:]:
    m = email.message_from_bytes(open(p, "rb").read(), policy=email.policy.default)
    msg = {"subject": m["Subject"], "from": m["From"], "to": [a.addr_spec for a in m["To"].addresses],
           "cc": [a.addr_spec for a in m["Cc"].addresses] if m["Cc"] else [],
           "body": m.get_body(preferencelist=("plain",)).get_content(), "attachments": []}
    for part in m.iter_attachments():
        a = {"filename": part.get_filename(), "type": part.get_content_type()}
        data = part.get_payload(decode=True)
        wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
        ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        a.update({"sheets": wb.sheetnames, "freeze": ws.freeze_panes, "title": rows[0][0],
                  "header": rows[4], "data": [r for r in rows[5:-1]], "total": rows[-1]})
        msg["attachments"].append(a)
    out.append(msg)
print(json.dumps(out, default=str))
"#;
    serde_json::from_value(run_python(script, files)).unwrap()
}

fn member(id: &str, name: &str) -> CrewMember {
    CrewMember {
        crew_id: CrewId::parse(id).unwrap(),
        name: name.into(),
        email: Email::parse(&format!("{id}@crew.example.com")).unwrap(),
        phone: None,
        captain_certified: true,
        available_dates: Default::default(),
        active: true,
    }
}

fn charter(n: u128, day: u32, tips: i64, status: CharterStatus, captain: &str, crew: &[&str]) -> Charter {
    Charter {
        charter_id: CharterId::from_uuid(uuid::Uuid::from_u128(0x5000 + n)),
        created_at: Utc::now(),
        charter_date: NaiveDate::from_ymd_opt(2024, 5, day).unwrap(),
        start_time: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        end_time: NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
        vessel_name: "Marlin".into(),
        guest_name: format!("Guest {n}"),
        guest_count: 4,
        captain_assigned: Some(CrewId::parse(captain).unwrap()),
        crew_assigned: crew.iter().map(|c| CrewId::parse(c).unwrap()).collect(),
        reportable_revenue: Cents(80_000),
        tips: Cents(tips),
        status,
        version: 0,
    }
}

/// Ana (captain twice), Björn (crew twice, a UTF-8 name), Cleo (crew once); a cancelled
/// charter that must not count, and a June charter that belongs to another month.
async fn business(dir: &Path) -> SqliteStore {
    let store = SqliteStore::open(dir.join("jada.db")).unwrap();
    for m in [
        member("ana", "Ana Marsh"),
        member("bjorn", "Björn Øster"),
        member("cleo", "Cleo Park"),
    ] {
        store.upsert_crew(&m).await.unwrap();
    }
    let mut june = charter(9, 1, 5_000, CharterStatus::Completed, "ana", &["cleo"]);
    june.charter_date = NaiveDate::from_ymd_opt(2024, 6, 2).unwrap();
    for c in [
        charter(1, 3, 10_001, CharterStatus::Completed, "ana", &["bjorn", "cleo"]),
        charter(2, 10, 4_000, CharterStatus::Confirmed, "ana", &["bjorn"]),
        charter(3, 12, 90_000, CharterStatus::Cancelled, "cleo", &["bjorn"]),
        june,
    ] {
        store.create_charter(c, vec![], Utc::now()).await.unwrap();
    }
    store
}

fn config(recipients: &[&str]) -> StatementsConfig {
    StatementsConfig {
        business: "Blue Water Charters".into(),
        sender: "office@bluewater.example.com".into(),
        audit_cc: Some("audit@bluewater.example.com".into()),
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        search: None,
        leftover: Leftover::Captain,
    }
}

fn emls(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "eml"));
    v.sort();
    v
}

fn may() -> Month {
    Month::parse("2024-05").unwrap()
}

#[tokio::test]
async fn statements_are_proper_mime_sent_once_and_resendable() {
    let dir = tempfile::tempdir().unwrap();
    let store = business(dir.path()).await;
    let outbox = EmlOutbox {
        dir: dir.path().join("outbox"),
    };
    let cfg = config(&["owner@bluewater.example.com"]);
    let folder = dir.path().join("statements/2024-05");
    let now: chrono::DateTime<Utc> = "2024-06-01T14:00:00Z".parse().unwrap();

    let first = send(&store, &outbox, &cfg, may(), Options::default(), &folder, now)
        .await
        .unwrap();
    assert!(first.ok(), "{first:?}");
    assert_eq!(first.sent.len(), 4, "three crew and one summary: {first:?}");
    let messages = inspect(&emls(&outbox.dir));
    assert_eq!(messages.len(), 4);

    let crew: Vec<&Value> = messages
        .iter()
        .filter(|m| m["subject"].as_str().unwrap().starts_with("Your May 2024"))
        .collect();
    assert_eq!(crew.len(), 3);
    for m in &crew {
        assert_eq!(m["cc"], serde_json::json!(["audit@bluewater.example.com"]), "{m}");
        assert_eq!(m["from"], "office@bluewater.example.com");
        let a = &m["attachments"][0];
        assert_eq!(
            a["type"],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        assert_eq!(a["sheets"], serde_json::json!(["May 2024"]));
        assert_eq!(a["freeze"], "A6");
        assert_eq!(
            a["header"],
            serde_json::json!([
                "Date",
                "Charter ID",
                "Vessel",
                "Role",
                "Guests",
                "Charter tips",
                "Your share"
            ])
        );
    }
    // Ana: captain on 3 May (10,001 / 3 = 33.33 + 0.02 left over) and 10 May (40.00 / 2).
    let ana = crew
        .iter()
        .find(|m| m["to"] == serde_json::json!(["ana@crew.example.com"]))
        .unwrap();
    let a = &ana["attachments"][0];
    assert_eq!(a["filename"], "Statement May 2024 Ana Marsh.xlsx");
    assert_eq!(a["data"].as_array().unwrap().len(), 2);
    assert_eq!(a["data"][0][3], "Captain");
    assert_eq!(a["data"][0][6].as_f64(), Some(33.35));
    assert_eq!(a["total"][6].as_f64(), Some(53.35));
    assert!(ana["body"].as_str().unwrap().contains("$53.35"), "{}", ana["body"]);
    // A UTF-8 name survives the attachment's file name and the workbook.
    let bjorn = crew
        .iter()
        .find(|m| m["to"] == serde_json::json!(["bjorn@crew.example.com"]))
        .unwrap();
    assert_eq!(
        bjorn["attachments"][0]["filename"],
        "Statement May 2024 Björn Øster.xlsx"
    );
    assert_eq!(bjorn["attachments"][0]["total"][6].as_f64(), Some(53.33));

    let summary = messages
        .iter()
        .find(|m| m["subject"] == "Crew Statement May 2024: Blue Water Charters")
        .unwrap();
    assert_eq!(summary["to"], serde_json::json!(["owner@bluewater.example.com"]));
    let s = &summary["attachments"][0];
    assert_eq!(s["data"].as_array().unwrap().len(), 3);
    // Every cent of the month's (non-cancelled) tips is shared out: 100.01 + 40.00.
    assert_eq!(s["total"][5].as_f64(), Some(140.01));
    assert!(folder.join("summary.xlsx").exists() && folder.join("ana.xlsx").exists());

    // A re-run sends nothing new.
    let again = send(&store, &outbox, &cfg, may(), Options::default(), &folder, now)
        .await
        .unwrap();
    assert!(again.sent.is_empty(), "{again:?}");
    assert_eq!(again.already_sent.len(), 4);
    assert_eq!(emls(&outbox.dir).len(), 4);
    assert_eq!(store.list_statements(may()).await.unwrap().len(), 4);

    // A new recipient gets the summary on the next run; nobody else hears twice.
    let cfg2 = config(&["owner@bluewater.example.com", "bookkeeper@bluewater.example.com"]);
    let more = send(&store, &outbox, &cfg2, may(), Options::default(), &folder, now)
        .await
        .unwrap();
    assert_eq!(more.sent.len(), 1);
    assert_eq!(more.sent[0].to, vec!["bookkeeper@bluewater.example.com"]);

    // A dry run writes the messages elsewhere and records nothing.
    let later = now + chrono::Duration::hours(1);
    let dry = send(
        &store,
        &outbox,
        &cfg2,
        may(),
        Options {
            dry_run: true,
            resend: true,
        },
        &folder,
        later,
    )
    .await
    .unwrap();
    assert_eq!(dry.sent.len(), 4);
    assert_eq!(emls(&folder.join("dry-run")).len(), 4);
    assert_eq!(emls(&outbox.dir).len(), 5);
    let recorded = store.list_statements(may()).await.unwrap();
    assert_eq!(recorded.len(), 5);
    assert!(recorded.iter().all(|s| s.sent_at == now), "a dry run records nothing");

    // --resend sends everything again.
    let resent = send(
        &store,
        &outbox,
        &cfg2,
        may(),
        Options {
            dry_run: false,
            resend: true,
        },
        &folder,
        now,
    )
    .await
    .unwrap();
    assert_eq!(resent.sent.len(), 4);
    assert_eq!(emls(&outbox.dir).len(), 9);
}

#[tokio::test]
async fn a_charter_with_unknown_crew_is_reported_and_the_rest_still_go() {
    let dir = tempfile::tempdir().unwrap();
    let store = business(dir.path()).await;
    store
        .create_charter(
            charter(4, 20, 3_000, CharterStatus::Completed, "ana", &["zed"]),
            vec![],
            Utc::now(),
        )
        .await
        .unwrap();
    let outbox = EmlOutbox {
        dir: dir.path().join("outbox"),
    };
    let out = send(
        &store,
        &outbox,
        &config(&["owner@bluewater.example.com"]),
        may(),
        Options::default(),
        &dir.path().join("st"),
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(!out.ok());
    assert!(
        out.problems[0].contains("`zed`") && out.problems[0].contains("jada crew import"),
        "{:?}",
        out.problems
    );
    assert_eq!(out.sent.len(), 4);
}

async fn gmail_client(emu: &google_emulator::EmulatorHandle, dir: &Path, user: &str) -> GoogleClient {
    let scopes = [
        "https://www.googleapis.com/auth/gmail.send",
        "https://www.googleapis.com/auth/gmail.readonly",
    ];
    let account = format!("mailer-{}@jada-test.iam.gserviceaccount.com", rand_suffix());
    let mut c = common::client(emu, dir, &account, &scopes, Some(user)).await;
    c.backoff = std::time::Duration::from_millis(200);
    c.attempts = 10;
    c
}

#[tokio::test]
async fn gmail_sends_within_its_rate_limit_and_finds_earlier_recipients() {
    let emu = google_emulator::spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = business(dir.path()).await;
    let office = "office@bluewater.example.com";
    // Earlier summaries, in Sent: their To and Cc are this month's extra recipients.
    let earlier = format!(
        "From: {office}\r\nTo: \"Pat Owner\" <pat@bluewater.example.com>, dana@accounts.example.com\r\nCc: lee@bluewater.example.com\r\nSubject: Crew Statement April 2024: Blue Water Charters\r\n\r\nsee attached\r\n"
    );
    emu.seed_gmail(office, earlier.as_bytes(), &["SENT"], 20);
    let too_old = format!("From: {office}\r\nTo: gone@example.com\r\nSubject: Crew Statement June 2023\r\n\r\nold\r\n");
    emu.seed_gmail(office, too_old.as_bytes(), &["SENT"], 400);
    let unrelated = format!("From: {office}\r\nTo: guest@example.com\r\nSubject: Your booking\r\n\r\nhi\r\n");
    emu.seed_gmail(office, unrelated.as_bytes(), &["SENT"], 3);
    let seeded = emu.gmail_messages(office).len();

    let client = gmail_client(&emu, dir.path(), office).await;
    let search_client = gmail_client(&emu, dir.path(), office).await;
    let mailer = GmailMailer { client };
    // 150 configured recipients: the summary needs two messages of at most 100.
    let many: Vec<String> = (0..150).map(|i| format!("partner{i}@example.com")).collect();
    let mut cfg = config(&[]);
    cfg.recipients = many.clone();
    cfg.search = Some(Search {
        client: search_client,
        query: r#"subject:"Crew Statement" in:sent newer_than:120d"#.into(),
    });
    // Two sends a second: the burst of five is answered 429 and waited out.
    emu.set_gmail_sends_per_second(2);
    let folder = dir.path().join("statements");
    let out = send(&store, &mailer, &cfg, may(), Options::default(), &folder, Utc::now())
        .await
        .unwrap();
    assert!(out.ok(), "{out:?}");
    assert_eq!(
        out.found_by_search,
        vec![
            "pat@bluewater.example.com",
            "dana@accounts.example.com",
            "lee@bluewater.example.com"
        ]
    );
    assert!(emu.calls("gmail.rate_limited") > 0, "the burst met the rate limit");

    let sent: Vec<_> = emu.gmail_messages(office).into_iter().skip(seeded).collect();
    assert_eq!(
        sent.len(),
        3 + 2,
        "three crew statements and the summary in two messages"
    );
    let files: Vec<PathBuf> = sent
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let p = dir.path().join(format!("sent-{i}.eml"));
            std::fs::write(&p, &m.raw).unwrap();
            p
        })
        .collect();
    let parsed = inspect(&files);
    let mut summary_to: Vec<String> = vec![];
    for m in &parsed {
        let n = m["to"].as_array().unwrap().len() + m["cc"].as_array().unwrap().len();
        assert!(n <= 100, "{n} recipients in one message");
        if m["subject"].as_str().unwrap().starts_with("Crew Statement") {
            summary_to.extend(
                m["to"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string()),
            );
        } else {
            assert_eq!(m["cc"], serde_json::json!(["audit@bluewater.example.com"]));
        }
    }
    summary_to.sort();
    let mut expected = many.clone();
    expected.extend(
        [
            "pat@bluewater.example.com",
            "dana@accounts.example.com",
            "lee@bluewater.example.com",
        ]
        .map(String::from),
    );
    expected.sort();
    assert_eq!(summary_to, expected, "every recipient exactly once");

    // Re-running the month sends nothing.
    let again = send(&store, &mailer, &cfg, may(), Options::default(), &folder, Utc::now())
        .await
        .unwrap();
    assert!(again.sent.is_empty(), "{again:?}");
    assert_eq!(emu.gmail_messages(office).len(), seeded + 5);
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
