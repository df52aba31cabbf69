//! `jada statements` as a black box: to the .eml outbox (the embedded default) and
//! through the emulator's Gmail; messages read back with Python's `email` package.

mod common;
use common::*;

use std::path::Path;
use std::process::Command;

use predicates::prelude::*;
use predicates::str::contains;

/// (To, Cc, Subject, attachment filenames and types) of each message, by Python's `email`.
fn parse(raw: &[Vec<u8>], dir: &Path) -> Vec<serde_json::Value> {
    let files: Vec<String> = raw
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let p = dir.join(format!("m{i}.eml"));
            std::fs::write(&p, r).unwrap();
            p.display().to_string()
        })
        .collect();
    let script = r#"
import email, email.policy, json, sys
out = []
for p in sys.argv[1:]:
    m = email.message_from_bytes(open(p, "rb").read(), policy=email.policy.default)
    out.append({"to": [a.addr_spec for a in m["To"].addresses], "cc": [a.addr_spec for a in m["Cc"].addresses] if m["Cc"] else [],
                "subject": m["Subject"], "from_name": m["From"].addresses[0].display_name, "message_id": m["Message-ID"],
                "attachments": [[a.get_filename(), a.get_content_type()] for a in m.iter_attachments()]})
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(&files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn emls(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    paths.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "eml"));
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn statements_go_to_the_outbox_once_and_a_dry_run_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    jada(d).args(["demo", "--season", "2024"]).assert().success();
    std::fs::write(
        d.join("jada.toml"),
        "[business]\nname = \"Blue Water\"\n[statements]\naudit_cc = \"audit@example.com\"\nrecipients = [\"owner@example.com\"]\n",
    )
    .unwrap();
    let outbox = d.join("jada-data/outbox");
    jada(d)
        .args(["statements", "send", "--month", "2024-07", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would send").and(contains("owner@example.com")));
    assert!(emls(&outbox).is_empty(), "a dry run sends nothing");
    let dry = emls(&d.join("jada-data/statements/2024-07/dry-run"));
    assert!(dry.len() > 2, "the dry run wrote its messages");
    jada(d)
        .args(["statements", "list", "--month", "2024-07"])
        .assert()
        .success()
        .stdout(contains("no statements sent for July 2024"));

    jada(d)
        .args(["statements", "send", "--month", "2024-07"])
        .assert()
        .success()
        .stdout(contains(format!("sent {} message(s); 0 already sent", dry.len())));
    let sent = emls(&outbox);
    assert_eq!(sent.len(), dry.len());
    let parsed = parse(&sent, d);
    let summaries: Vec<_> = parsed
        .iter()
        .filter(|m| m["subject"] == "Crew Statement July 2024: Blue Water")
        .collect();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0]["to"], serde_json::json!(["owner@example.com"]));
    let mut ids = std::collections::BTreeSet::new();
    for m in &parsed {
        assert_eq!(m["from_name"], "Blue Water", "From carries the business's name: {m}");
        let id = m["message_id"].as_str().unwrap_or_default();
        assert!(id.starts_with('<') && id.ends_with('>') && id.contains('@'), "{m}");
        assert!(ids.insert(id.to_string()), "each message has its own Message-ID");
    }
    for m in parsed
        .iter()
        .filter(|m| m["subject"] == "Your July 2024 statement from Blue Water")
    {
        assert_eq!(m["cc"], serde_json::json!(["audit@example.com"]), "{m}");
        assert_eq!(
            m["attachments"][0][1],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
    }

    jada(d)
        .args(["statements", "send", "--month", "2024-07"])
        .assert()
        .success()
        .stdout(contains(format!("sent 0 message(s); {} already sent", dry.len())));
    assert_eq!(emls(&outbox).len(), sent.len(), "a re-run sends nothing new");
    jada(d)
        .args(["statements", "list", "--month", "2024-07"])
        .assert()
        .success()
        .stdout(contains("summary:owner@example.com"));
    jada(d)
        .args(["jobs", "list"])
        .assert()
        .success()
        .stdout(contains("crew-statements").and(contains("0 0 7 1 * *")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_are_sent_through_gmail_to_earlier_recipients_too() {
    let emu = google_emulator::spawn().await.unwrap();
    let sa = "mailer@jada-test.iam.gserviceaccount.com";
    let key = emu.create_service_account(sa);
    let office = "office@example.com";
    emu.allow_delegation(sa, office);
    emu.seed_gmail(
        office,
        b"From: office@example.com\r\nTo: partner@example.com\r\nCc: bookkeeper@example.com\r\nSubject: Crew Statement June 2024: Blue Water\r\n\r\nattached\r\n",
        &["SENT"],
        30,
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    jada(&d).args(["demo", "--season", "2024"]).assert().success();
    write_private(&secrets_dir(&d).join("mail.json"), &key.to_string());
    let base = format!(
        "[business]\nname = \"Blue Water\"\n[google]\ntoken_uri = \"{}\"\ngmail_url = \"{}\"\n[[credentials]]\nname = \"mail\"\nfile = \"secrets/mail.json\"\nsubject = \"{office}\"\nscopes = [\"https://www.googleapis.com/auth/gmail.send\", \"https://www.googleapis.com/auth/gmail.readonly\"]\n[statements]\naudit_cc = \"audit@example.com\"\nrecipients = [\"owner@example.com\"]\n",
        emu.token_uri(),
        emu.base_url()
    );
    std::fs::write(
        d.join("jada.toml"),
        format!("{base}[mail]\nmode = \"gmail\"\ncredential = \"mail\"\nsender = \"{office}\"\n"),
    )
    .unwrap();
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        jada(&d2)
            .args(["statements", "send", "--month", "2024-07"])
            .assert()
            .success()
            .stdout(contains(
                "summary recipients found in Gmail: partner@example.com, bookkeeper@example.com",
            ));
    })
    .await
    .unwrap();
    let sent: Vec<Vec<u8>> = emu.gmail_messages(office).into_iter().skip(1).map(|m| m.raw).collect();
    assert!(sent.len() > 2);
    assert!(
        emls(&d.join("jada-data/outbox")).is_empty(),
        "nothing went to the outbox"
    );
    let parsed = parse(&sent, &d);
    let summary = parsed
        .iter()
        .find(|m| m["subject"] == "Crew Statement July 2024: Blue Water")
        .unwrap();
    assert_eq!(
        summary["to"],
        serde_json::json!(["owner@example.com", "partner@example.com", "bookkeeper@example.com"])
    );
    assert_eq!(summary["attachments"][0][0], "Crew Statement July 2024.xlsx");

    // Gmail mode without a credential is a configuration error naming the key.
    std::fs::write(d.join("jada.toml"), format!("{base}[mail]\nmode = \"gmail\"\n")).unwrap();
    jada(&d)
        .args(["statements", "send", "--month", "2024-07"])
        .assert()
        .code(2)
        .stderr(contains("mail.credential"));
}
