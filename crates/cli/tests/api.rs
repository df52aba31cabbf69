//! The booking API against `jada serve`: keys, create, update, conflicts, field errors,
//! the OpenAPI document, and schemathesis (from PyPI) fuzzing it for server errors.

mod common;
use common::*;

use std::path::Path;
use std::process::Stdio;

use reqwest::blocking::Client;
use serde_json::{json, Value};

fn start(d: &Path) -> (Running, String) {
    std::fs::write(
        d.join("jada.toml"),
        "[[vessels]]\nname = \"Marlin\"\ncrew = [{ max_guests = 6, crew = 1 }, { max_guests = 12, crew = 2 }]\n",
    )
    .unwrap();
    std::fs::write(
        d.join("crew.csv"),
        "crew_id,name,email,phone,captain_certified,available_dates\ncap,Cora Captain,cap@example.com,,yes,2031-08-02\nann,Ann Deck,ann@example.com,,no,2031-08-02\n",
    )
    .unwrap();
    jada(d).args(["crew", "import", "crew.csv"]).assert().success();
    let (child, url) = serve_with(d, &["--listen", "127.0.0.1:0"], &[], Stdio::null());
    (Running(child), url)
}

fn key(d: &Path, name: &str) -> String {
    let out = jada(d).args(["api-key", "create", name]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn booking() -> Value {
    json!({
        "charter_date": "2031-08-02", "start_time": "09:00", "end_time": "12:00",
        "vessel_name": "Marlin", "guest_name": "Zoë Site", "guest_count": 4,
        "reportable_revenue": "1250.00", "tips": "0", "captain": "cap"
    })
}

#[test]
fn bookings_are_created_updated_and_refused_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, url) = start(d);
    let http = Client::new();
    let key = key(d, "booking-site");
    assert!(key.starts_with("jada_"));
    let auth = format!("Bearer {key}");

    // No key, a wrong key: 401, and nothing is written.
    let r = http
        .post(format!("{url}/api/charters"))
        .json(&booking())
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(format!("{url}/api/charters"))
        .header("authorization", "Bearer jada_0000")
        .json(&booking())
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);

    // Create.
    let r = http
        .post(format!("{url}/api/charters"))
        .header("authorization", &auth)
        .json(&booking())
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().unwrap();
    assert_eq!(created["version"], 1);
    assert_eq!(created["guest_name"], "Zoë Site");
    assert_eq!(created["reportable_revenue"], "1250.00");
    assert_eq!(created["captain"], "cap");
    let id = created["charter_id"].as_str().unwrap().to_string();
    let got: Value = http
        .get(format!("{url}/api/charters/{id}"))
        .header("authorization", &auth)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(got, created);
    let month: Value = http
        .get(format!("{url}/api/charters?month=2031-08"))
        .header("authorization", &auth)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(month.as_array().unwrap().len(), 1);
    // A captain set through the API starts dispatch: ann, free that day, is offered the seat.
    let explain = |d: &Path, id: &str| -> Value {
        let out = jada(d).args(["dispatch", "explain", id, "--json"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let ex = explain(d, &id);
    assert_eq!(ex["offers"][0]["crew_id"], "ann", "{ex}");
    assert_eq!(ex["offers"][0]["status"], "offered");
    assert_eq!(ex["dispatch"]["status"], "active");

    // The same id again is a conflict.
    let mut again = booking();
    again["charter_id"] = json!(id);
    let r = http
        .post(format!("{url}/api/charters"))
        .header("authorization", &auth)
        .json(&again)
        .send()
        .unwrap();
    assert_eq!(r.status(), 409);

    // Update with the version read; then the same stale version is refused.
    let change = json!({"version": 1, "guest_count": 8, "crew": ["ann"]});
    let r = http
        .put(format!("{url}/api/charters/{id}"))
        .header("authorization", &auth)
        .json(&change)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let updated: Value = r.json().unwrap();
    assert_eq!(
        (updated["version"].as_u64(), updated["guest_count"].as_u64()),
        (Some(2), Some(8))
    );
    assert_eq!(updated["crew"], json!(["ann"]));
    assert_eq!(updated["guest_name"], "Zoë Site", "fields left out keep their values");
    let r = http
        .put(format!("{url}/api/charters/{id}"))
        .header("authorization", &auth)
        .json(&change)
        .send()
        .unwrap();
    assert_eq!(r.status(), 409);
    let body: Value = r.json().unwrap();
    assert!(body["detail"].as_str().unwrap().contains("version 1"), "{body}");
    assert_eq!(
        (&body["code"], &body["your_version"], &body["current_version"]),
        (&json!("conflict"), &json!(1), &json!(2)),
        "a stale update names both versions: {body}"
    );

    // Invalid bodies: 422 naming the field.
    let cases = [
        (json!({"guest_count": "many"}), "guest_count"),
        (json!({"vessel_name": "Titanic"}), "vessel_name"),
        (json!({"charter_date": "2031-02-30"}), "charter_date"),
        (json!({"captain": "ann"}), "captain"),
        (json!({"reportable_revenue": "12.345"}), "reportable_revenue"),
        (json!({"color": "blue"}), "color"),
    ];
    for (patch, field) in cases {
        let mut b = booking();
        b.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        let r = http
            .post(format!("{url}/api/charters"))
            .header("authorization", &auth)
            .json(&b)
            .send()
            .unwrap();
        assert_eq!(r.status(), 422, "{field}");
        let e: Value = r.json().unwrap();
        assert_eq!(e["errors"][0]["field"], field, "{e}");
        assert!(!e["errors"][0]["reason"].as_str().unwrap().is_empty());
    }
    let mut missing = booking();
    missing.as_object_mut().unwrap().remove("guest_name");
    let r = http
        .post(format!("{url}/api/charters"))
        .header("authorization", &auth)
        .json(&missing)
        .send()
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().unwrap()["errors"][0]["field"], "guest_name");
    let r = http
        .post(format!("{url}/api/charters"))
        .header("authorization", &auth)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .get(format!("{url}/api/charters?month=August"))
        .header("authorization", &auth)
        .send()
        .unwrap();
    assert_eq!(r.status(), 422);
    let month: Value = http
        .get(format!("{url}/api/charters?month=2031-08"))
        .header("authorization", &auth)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(month.as_array().unwrap().len(), 1, "no refused booking was written");

    // The write published its change, like an import: the outbox holds the events.
    jada(d).args(["charters", "show", &id]).assert().success();

    // Removing the captain through the API stops dispatch.
    let r = http
        .put(format!("{url}/api/charters/{id}"))
        .header("authorization", &auth)
        .json(&json!({"version": 2, "captain": ""}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["captain"], Value::Null);
    assert_eq!(explain(d, &id)["dispatch"]["status"], "stopped");

    // A revoked key stops working at once.
    jada(d).args(["api-key", "revoke", "booking-site"]).assert().success();
    let r = http
        .get(format!("{url}/api/charters/{id}"))
        .header("authorization", &auth)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let listed = jada(d).args(["api-key", "list"]).output().unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains("booking-site") && !listed.contains(&key[5..]),
        "{listed}"
    );
}

#[test]
fn the_openapi_document_matches_the_handlers_and_fuzzing_finds_no_server_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, url) = start(d);
    let doc: Value = reqwest::blocking::get(format!("{url}/api/openapi.json"))
        .unwrap()
        .json()
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths["/api/charters"]["post"].is_object() && paths["/api/charters"]["get"].is_object());
    assert!(paths["/api/charters/{id}"]["put"].is_object() && paths["/api/charters/{id}"]["get"].is_object());
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");

    let key = key(d, "fuzz");
    let st = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/st");
    let out = std::process::Command::new(st)
        .args([
            "run",
            &format!("{url}/api/openapi.json"),
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "40",
            "--seed",
            "7",
            "--header",
            &format!("Authorization: Bearer {key}"),
        ])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run schemathesis ({st}): {e}; run scripts/test, which installs it in .venv")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis found a problem:\n{text}");
    assert!(text.contains("generated") && !text.contains(" 0 generated"), "{text}");
}

#[test]
fn tasks_are_created_noted_and_closed_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, url) = start(d);
    let key = key(d, "site");
    let http = Client::new();
    let auth = format!("Bearer {key}");
    let r = http
        .post(format!("{url}/api/tasks"))
        .header("authorization", &auth)
        .json(&json!({"title": "Call the Nakamura party", "body": "late arrival"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let t: Value = r.json().unwrap();
    assert_eq!(
        (t["id"].as_u64(), t["status"].as_str(), t["source_ref"].as_str()),
        (Some(1), Some("open"), Some("api key site"))
    );

    let r = http
        .post(format!("{url}/api/tasks"))
        .header("authorization", &auth)
        .json(&json!({"title": "Bad \u{1b}[2J"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 422);
    let e: Value = r.json().unwrap();
    assert_eq!(e["errors"][0]["field"], "title");

    let r = http
        .post(format!("{url}/api/tasks/1/notes"))
        .header("authorization", &auth)
        .json(&json!({"note": "left a voicemail"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!("{url}/api/tasks/1/status"))
        .header("authorization", &auth)
        .json(&json!({"status": "done", "note": "they called back"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().unwrap();
    assert_eq!(
        (t["status"].as_str(), t["notes"].as_array().unwrap().len()),
        (Some("done"), 2)
    );
    let r = http
        .post(format!("{url}/api/tasks/1/status"))
        .header("authorization", &auth)
        .json(&json!({"status": "open"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 409, "a closed task stays closed");
    let r = http
        .post(format!("{url}/api/tasks/99/status"))
        .header("authorization", &auth)
        .json(&json!({"status": "done"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    let open: Value = http
        .get(format!("{url}/api/tasks"))
        .header("authorization", &auth)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(open.as_array().unwrap().is_empty());
    let all: Value = http
        .get(format!("{url}/api/tasks?status=all"))
        .header("authorization", &auth)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 1);
    // The CLI reads the same tasks.
    let out = jada(d).args(["tasks", "show", "1", "--json"]).output().unwrap();
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli["status"], "done");
}

#[test]
fn money_may_be_a_json_number_read_exactly_never_through_a_float() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, url) = start(d);
    let key = key(d, "site");
    let http = Client::new();
    // The body is written as text: a JSON library in this test would itself round the
    // numbers through a float before jada saw them.
    let post = |revenue: &str, tips: &str| {
        let mut b = booking();
        b.as_object_mut().unwrap().remove("captain");
        b["reportable_revenue"] = json!("REVENUE");
        b["tips"] = json!("TIPS");
        let body = b.to_string().replace("\"REVENUE\"", revenue).replace("\"TIPS\"", tips);
        http.post(format!("{url}/api/charters"))
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap()
    };
    let r = post("1250.5", "12");
    assert_eq!(r.status(), 201);
    let c: Value = r.json().unwrap();
    assert_eq!(
        (c["reportable_revenue"].as_str(), c["tips"].as_str()),
        (Some("1250.50"), Some("12.00"))
    );
    for (bad, why) in [
        ("1250.505", "more than two decimals"),
        ("1234.5000000000001", "more than two decimals"),
        ("1e3", "expected dollars"),
        ("true", "expected dollars"),
        ("99999999999", "ceiling"),
    ] {
        let r = post(bad, "\"0\"");
        assert_eq!(r.status(), 422, "{bad}");
        let e: Value = r.json().unwrap();
        assert_eq!(e["errors"][0]["field"], "reportable_revenue", "{bad}: {e}");
        assert!(e["errors"][0]["reason"].as_str().unwrap().contains(why), "{bad}: {e}");
    }
}

#[test]
fn twenty_bookings_of_one_slot_at_once_make_one_charter_and_nineteen_409s() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, url) = start(d);
    let auth = format!("Bearer {}", key(d, "booking-site"));
    let slot = json!({
        "charter_date": "2031-09-10", "start_time": "10:00", "end_time": "12:00",
        "vessel_name": "Marlin", "guest_name": "Zoë Site", "guest_count": 4,
        "reportable_revenue": "1250.00", "tips": "0"
    });
    let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..20)
            .map(|_| {
                let (url, auth, body) = (&url, &auth, slot.clone());
                s.spawn(move || {
                    let r = Client::new()
                        .post(format!("{url}/api/charters"))
                        .header("authorization", auth)
                        .json(&body)
                        .send()
                        .unwrap();
                    (r.status().as_u16(), r.json::<Value>().unwrap())
                })
            })
            .collect();
        runs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let made: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 201).map(|(_, v)| v).collect();
    let refused: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 409).map(|(_, v)| v).collect();
    assert_eq!((made.len(), refused.len()), (1, 19), "{answers:?}");
    let winner = made[0]["charter_id"].as_str().unwrap();
    for r in &refused {
        assert_eq!(r["conflicts_with"]["charter_id"], winner, "{r}");
        assert_eq!(
            (
                r["conflicts_with"]["date"].as_str(),
                r["conflicts_with"]["start"].as_str(),
                r["conflicts_with"]["end"].as_str()
            ),
            (Some("2031-09-10"), Some("10:00"), Some("12:00"))
        );
        assert!(
            r["error"]
                .as_str()
                .unwrap()
                .contains("one vessel sails one charter at a time"),
            "{r}"
        );
    }
    // Back to back is a booking like any other.
    let mut next = slot.clone();
    next["start_time"] = json!("12:00");
    next["end_time"] = json!("14:00");
    let r = Client::new()
        .post(format!("{url}/api/charters"))
        .header("authorization", &auth)
        .json(&next)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
}

/// A cancel through the API is taken back through the API: the status returns, the slot
/// is claimed again (so a booking made meanwhile refuses it, naming itself), and a
/// charter that is not cancelled has nothing to reinstate.
#[test]
fn a_cancelled_booking_is_reinstated_unless_its_slot_was_taken_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, url) = start(d);
    let auth = format!("Bearer {}", key(d, "booking-site"));
    let http = Client::new();
    let send = |req: reqwest::blocking::RequestBuilder| {
        let r = req.header("authorization", &auth).send().unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    };
    let (s, made) = send(http.post(format!("{url}/api/charters")).json(&booking()));
    assert_eq!(s, 201, "{made}");
    let id = made["charter_id"].as_str().unwrap().to_string();
    let reinstate = || send(http.post(format!("{url}/api/charters/{id}/reinstate")));

    let (s, body) = reinstate();
    assert_eq!((s, body["code"].as_str()), (409, Some("not_cancelled")), "{body}");

    let cancel = |version: &Value| {
        let (s, body) = send(
            http.put(format!("{url}/api/charters/{id}"))
                .json(&json!({"version": version, "status": "cancelled"})),
        );
        assert_eq!(s, 200, "{body}");
    };
    cancel(&made["version"]);
    let (s, back) = reinstate();
    assert_eq!((s, back["status"].as_str()), (200, Some("booked")), "{back}");
    let story = jada(d).args(["charters", "show", &id]).output().unwrap();
    let story = String::from_utf8_lossy(&story.stdout).to_string();
    assert!(
        story.contains("reinstated by API key booking-site: back to booked"),
        "{story}"
    );

    // Cancelled again, and the slot booked by someone else meanwhile.
    cancel(&back["version"]);
    let (s, other) = send(http.post(format!("{url}/api/charters")).json(&booking()));
    assert_eq!(s, 201, "{other}");
    let (s, body) = reinstate();
    assert_eq!((s, body["code"].as_str()), (409, Some("overlap")), "{body}");
    assert_eq!(body["conflicts_with"]["charter_id"], other["charter_id"], "{body}");
    let (_, now) = send(http.get(format!("{url}/api/charters/{id}")));
    assert_eq!(now["status"], "cancelled");
}

/// Errors axum gives before a handler runs — a bad path parameter, a duplicate query
/// parameter, a body over the limit — answer the API's JSON like every other error.
#[test]
fn every_api_error_is_json_even_before_a_handler_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, url) = start(d);
    let auth = format!("Bearer {}", key(d, "site"));
    let http = Client::new();
    let answers = [
        http.get(format!("{url}/api/tasks/not-a-number")),
        http.get(format!("{url}/api/charters?month=2031-08&month=2031-09")),
        http.post(format!("{url}/api/charters"))
            .header("content-type", "application/json")
            .body(vec![b' '; 3 * 1024 * 1024]),
    ];
    for (req, status) in answers.into_iter().zip([400, 400, 413]) {
        let r = req.header("authorization", &auth).send().unwrap();
        assert_eq!(r.status().as_u16(), status);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{:?}",
            r.headers()
        );
        let body: Value = r.json().unwrap();
        assert!(
            body["code"].is_string() && !body["detail"].as_str().unwrap().is_empty(),
            "{body}"
        );
    }
}
