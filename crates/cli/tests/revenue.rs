//! One month's revenue and tips, read from every screen that shows them — the report,
//! the `charters list` footer, the office Revenue page, the crew statements and the
//! booking API — must be the same two numbers, and the right ones: cancelled, requested
//! and $0 (training) charters count nowhere.

mod common;
use common::*;

use std::process::Stdio;

use serde_json::Value;

const CREW: &str = "crew_id,name,email,phone,captain_certified,available_dates
cap,Cora Captain,cap@example.com,,yes,
ann,Ann Deck,ann@example.com,,no,
bob,Bob Deck,bob@example.com,,no,
";

/// Every kind of charter the rule must tell apart, in July 2024.
const CHARTERS: &str = "charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue,tips,status,captain,crew
10000000-0000-4000-8000-000000000001,2024-07-03,10:00,13:00,Marlin,Completed Guest,4,\"1,000.00\",100.01,completed,cap,ann
10000000-0000-4000-8000-000000000002,2024-07-04,10:00,13:00,Marlin,Confirmed Guest,5,2500.50,0,confirmed,cap,bob
10000000-0000-4000-8000-000000000003,2024-07-05,10:00,13:00,Marlin,Booked Guest,8,300,30,booked,cap,ann;bob
10000000-0000-4000-8000-000000000004,2024-07-06,10:00,13:00,Marlin,Cancelled Guest,4,5000,500,cancelled,,
10000000-0000-4000-8000-000000000005,2024-07-07,10:00,13:00,Marlin,Requested Guest,4,700,70,requested,,
10000000-0000-4000-8000-000000000006,2024-07-08,10:00,13:00,Marlin,Training Sail,0,0,0,completed,cap,ann
";

/// The rule's figures for the month above, in cents.
const REVENUE: i64 = 380_050;
const TIPS: i64 = 13_001;

fn dollars_to_cents(s: &str) -> i64 {
    let s = s.trim().trim_start_matches('$').replace(',', "");
    let (d, c) = s.split_once('.').unwrap_or((&s, "0"));
    d.parse::<i64>().unwrap() * 100 + format!("{c:0<2}").parse::<i64>().unwrap()
}

#[test]
fn one_month_gives_the_same_revenue_on_every_screen() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    std::fs::write(
        d.join("jada.toml"),
        format!(
            "[business]\nname = \"Blue Water\"\n[server]\npublic_url = \"http://127.0.0.1:{port}\"\n[office]\nusers = [\"office@bluewater.example.com\"]\n[[vessels]]\nname = \"Marlin\"\ncrew = [{{ max_guests = 6, crew = 1 }}, {{ max_guests = 12, crew = 2 }}]\n"
        ),
    )
    .unwrap();
    std::fs::write(d.join("crew.csv"), CREW).unwrap();
    std::fs::write(d.join("charters.csv"), CHARTERS).unwrap();
    jada(d).args(["crew", "import", "crew.csv"]).assert().success();
    jada(d).args(["charters", "import", "charters.csv"]).assert().success();
    // (screen, revenue if it shows one, tips), in cents.
    let mut seen: Vec<(&str, Option<i64>, i64)> = Vec::new();

    // 1. The report (its JSON, and the cached SUMs in the workbook via openpyxl).
    let out = jada(d)
        .args(["report", "monthly", "--month", "2024-07", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out: Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = &out["report"];
    assert_eq!(report["rows"], 3, "{report}");
    seen.push(("report", report["revenue"].as_i64(), report["tips"].as_i64().unwrap()));
    let script = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], data_only=True)  # the SUMs' cached results
ws = wb.active
rows = list(ws.iter_rows(values_only=True))
head = list(rows[0])
total = [r for r in rows if r[0] == "Total"][0]
print(json.dumps({"active": ws.title, "head": head, "statuses": [r[head.index("Status")] for r in rows[1:-1]],
                  "revenue": total[head.index("Revenue")], "tips": total[head.index("Tips")],
                  "landscape": ws.page_setup.orientation, "fit": ws.sheet_properties.pageSetUpPr.fitToPage,
                  # absent means 1, the OOXML default
                  "fit_width": ws.page_setup.fitToWidth or 1,
                  "fit_height": ws.page_setup.fitToHeight, "repeat": str(ws.print_title_rows)}))
"#;
    let py = std::env::var("OPENPYXL_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(py)
        .arg("-c")
        .arg(script)
        .arg(d.join(report["path"].as_str().unwrap()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let wb: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(wb["active"], "July 2024", "the workbook opens on the month: {wb}");
    assert_eq!(
        wb["statuses"],
        serde_json::json!(["completed", "confirmed", "booked"]),
        "{wb}"
    );
    assert_eq!(wb["landscape"], "landscape", "{wb}");
    assert_eq!(
        (wb["fit_width"].as_i64(), wb["fit_height"].as_i64()),
        (Some(1), Some(0)),
        "{wb}"
    );
    assert_eq!(wb["fit"], true, "{wb}");
    assert_eq!(wb["repeat"], "$1:$1", "{wb}");
    seen.push((
        "workbook",
        wb["revenue"].as_f64().map(|r| (r * 100.0).round() as i64),
        (wb["tips"].as_f64().unwrap() * 100.0).round() as i64,
    ));

    // 2. The `charters list` footer.
    let out = jada(d)
        .args(["charters", "list", "--month", "2024-07"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let footer = text.lines().last().unwrap();
    assert!(footer.starts_with("July 2024: 6 charters (3 reportable), "), "{footer}");
    // The report says the month's figures in the same words, from the same function.
    let out = jada(d)
        .args(["report", "monthly", "--month", "2024-07"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(said.lines().any(|l| l.starts_with(footer)), "{said} vs {footer}");
    // "... revenue $3,800.50, tips $130.01"
    let after = footer.split("revenue ").nth(1).unwrap();
    let (r, t) = after.split_once(", tips ").unwrap();
    seen.push(("charters list", Some(dollars_to_cents(r)), dollars_to_cents(t)));
    // `2024-7` is the same month.
    let short = jada(d)
        .args(["charters", "list", "--month", "2024-7"])
        .output()
        .unwrap();
    assert!(short.status.success(), "{}", String::from_utf8_lossy(&short.stderr));
    assert_eq!(String::from_utf8(short.stdout).unwrap().lines().last(), Some(footer));

    // 3. The crew statements (a dry run: nothing is sent).
    let out = jada(d)
        .args(["statements", "send", "--month", "2024-07", "--dry-run", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Statements share tips; they show no revenue.
    seen.push(("statements", None, st["tips"].as_i64().unwrap()));

    // 4. The office Revenue page and 5. the booking API, from the daemon.
    let key = String::from_utf8(jada(d).args(["api-key", "create", "site"]).output().unwrap().stdout).unwrap();
    let listen = format!("127.0.0.1:{port}");
    let (child, base) = serve_with(d, &["--listen", &listen], &[], Stdio::null());
    let _serve = Running(child);
    let http = client();
    let session = sign_in(&http, &base, d);
    let page = office_page(&http, &format!("{base}/office/revenue?year=2024"), &session);
    let row = page.split(">July 2024</td>").nth(1).expect("a July row");
    let cells: Vec<&str> = row
        .split("<td class=\"money\"")
        .skip(1)
        .take(2)
        .map(|c| c.split('>').nth(1).unwrap().split('<').next().unwrap())
        .collect();
    seen.push((
        "Revenue page",
        Some(dollars_to_cents(cells[0])),
        dollars_to_cents(cells[1]),
    ));

    let api_get = |path: &str| -> Value {
        http.get(format!("{base}{path}"))
            .header("authorization", format!("Bearer {}", key.trim()))
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let api = api_get("/api/revenue?month=2024-07");
    assert_eq!(
        (api["charters"].as_u64(), api["reportable"].as_u64()),
        (Some(6), Some(3)),
        "{api}"
    );
    seen.push((
        "API",
        Some(dollars_to_cents(api["revenue"].as_str().unwrap())),
        dollars_to_cents(api["tips"].as_str().unwrap()),
    ));
    let listed = api_get("/api/charters?month=2024-07");
    let flags: Vec<bool> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reportable"].as_bool().unwrap())
        .collect();
    assert_eq!(flags, [true, true, true, false, false, false]);

    assert_eq!(seen.len(), 6);
    for (screen, revenue, tips) in &seen {
        assert_eq!(*tips, TIPS, "{screen} disagrees on tips: {seen:?}");
        if let Some(r) = revenue {
            assert_eq!(*r, REVENUE, "{screen} disagrees on revenue: {seen:?}");
        }
    }
}
