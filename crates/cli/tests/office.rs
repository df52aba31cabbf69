//! The office pages against `jada serve`: sign-in by the emailed link, sessions, CSRF,
//! no secrets on pages, and a browser (headless Chromium) working through Today, a
//! charter's dispatch and a dead letter.

mod common;
use common::*;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const OFFICE: &str = "[office]\nusers = [\"office@bluewater.example.com\"]\n";

/// Parks the import's first event as a dead letter (as if the sheet had refused it
/// every time), before the daemon starts.
fn park_a_dead_letter(d: &Path) {
    edit_db(
        d,
        "UPDATE outbox SET status = 'dead', attempts = 8, last_error = 'port sheet: HTTP 503 (test)', finished_at = created_at WHERE seq = (SELECT min(seq) FROM outbox)",
    );
}

/// The charter business with the office, its daemon, and a signed-in session: (daemon,
/// base URL, client, session cookie).
fn signed_in_office(d: &Path) -> (Running, String, reqwest::blocking::Client, String) {
    let port = free_port();
    charter_business(d, port, OFFICE);
    let serve = start(d, port);
    let base = format!("http://127.0.0.1:{port}");
    let http = client();
    let session = sign_in(&http, &base, d);
    (serve, base, http, session)
}

fn start(d: &Path, port: u16) -> Running {
    let listen = format!("127.0.0.1:{port}");
    let (child, _) = serve_with(d, &["--listen", &listen], &[], Stdio::null());
    Running(child)
}

#[test]
fn admin_paths_need_a_session_posts_need_csrf_and_pages_show_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    charter_business(d, port, OFFICE);
    let api_key = String::from_utf8(jada(d).args(["api-key", "create", "site"]).output().unwrap().stdout).unwrap();
    let _serve = start(d, port);
    let base = format!("http://127.0.0.1:{port}");
    let http = client();

    let pages = [
        "/office".to_string(),
        "/office/charters".into(),
        "/office/charters/new".into(),
        format!("/office/charters/{CHARTER}"),
        format!("/office/charters/{CHARTER}/edit"),
        format!("/office/charters/{CHARTER}/cancel"),
        "/office/crew".into(),
        "/office/crew/ann".into(),
        "/office/automation".into(),
        "/office/revenue".into(),
    ];
    for p in &pages {
        let r = http.get(format!("{base}{p}")).send().unwrap();
        assert_eq!(r.status(), 303, "{p}");
        assert!(
            r.headers()["location"].to_str().unwrap().starts_with("/office/sign-in"),
            "{p}"
        );
    }
    for p in [
        format!("/office/charters/{CHARTER}/cancel"),
        "/office/jobs/outbox/run".into(),
        "/office/sign-out".into(),
    ] {
        let r = http.post(format!("{base}{p}")).form(&[("csrf", "x")]).send().unwrap();
        assert_eq!(r.status(), 303, "{p} without a session");
    }

    let session = sign_in(&http, &base, d);
    // A POST without the CSRF token is refused and changes nothing.
    let r = http
        .post(format!("{base}/office/charters/{CHARTER}/cancel"))
        .header("cookie", &session)
        .form(&[("csrf", "forged")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let shown = jada(d).args(["charters", "show", CHARTER, "--json"]).output().unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["charter"]["status"], "booked");

    // Every page renders for a signed-in user, and none shows a secret.
    let secrets_dir = d.join("jada-data/secrets");
    let link_keys: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(secrets_dir.join("link-keys.json")).unwrap()).unwrap();
    let mut secrets = vec![
        api_key.trim().to_string(),
        session.split('=').nth(1).unwrap().to_string(),
        link_keys["current"]["secret"].as_str().unwrap().to_string(),
    ];
    if let Ok(t) = std::fs::read_to_string(secrets_dir.join("admin-token")) {
        secrets.push(t.trim().to_string());
    }
    for p in &pages {
        let r = http
            .get(format!("{base}{p}"))
            .header("cookie", &session)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{p}");
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        let body = r.text().unwrap();
        for s in &secrets {
            assert!(!body.contains(s.as_str()), "{p} shows a secret");
        }
    }
    let revenue = http
        .get(format!("{base}/office/revenue?year=2031"))
        .header("cookie", &session)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        revenue.contains("<svg") && revenue.contains("Revenue") && revenue.contains("$900.00"),
        "the chart and the month's revenue"
    );

    // Signing out ends the session on the server.
    let page = http
        .get(format!("{base}/office"))
        .header("cookie", &session)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let r = http
        .post(format!("{base}/office/sign-out"))
        .header("cookie", &session)
        .form(&[("csrf", hidden_csrf(&page).as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = http
        .get(format!("{base}/office"))
        .header("cookie", &session)
        .send()
        .unwrap();
    assert_eq!(r.status(), 303, "the old cookie no longer works");
}

/// Waits until the page's `h1` reads `want` (the previous page may still be showing).
async fn heading(c: &fantoccini::Client, want: &str) {
    let started = Instant::now();
    loop {
        if let Ok(e) = c.find(fantoccini::Locator::Css("h1")).await {
            if let Ok(t) = e.text().await {
                if t.starts_with(want) {
                    return;
                }
            }
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no page headed `{want}`");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn click(c: &fantoccini::Client, css: &str) {
    c.find(fantoccini::Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_signs_in_assigns_a_captain_and_retries_a_dead_letter_in_a_browser() {
    use fantoccini::Locator;

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let port = free_port();
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        charter_business(&d2, port, OFFICE);
        park_a_dead_letter(&d2);
    })
    .await
    .unwrap();
    let _serve = start(&d, port);
    let base = format!("http://127.0.0.1:{port}");
    let (_driver, driver_url) = tokio::task::spawn_blocking(chromedriver).await.unwrap();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver_url, profile.path(), 900, 1100).await;

    // Not signed in: the office sends us to sign in; we ask for a link.
    c.goto(&format!("{base}/office")).await.unwrap();
    heading(&c, "Sign in to jada").await;
    c.find(Locator::Css("#email"))
        .await
        .unwrap()
        .send_keys("office@bluewater.example.com")
        .await
        .unwrap();
    click(&c, "form button").await;
    heading(&c, "Check your mail").await;

    // The link from the .eml outbox, then the button, then Today.
    let d2 = d.clone();
    let link = tokio::task::spawn_blocking(move || mailed_link(&d2, "office@", "/office/auth/"))
        .await
        .unwrap();
    c.goto(&link).await.unwrap();
    heading(&c, "Sign in to jada").await;
    click(&c, "form button").await;
    heading(&c, "Today").await;
    let today = c.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    assert!(today.contains("dead letter"), "Today names the parked event: {today}");
    std::fs::write(artefact("office-today.png"), c.screenshot().await.unwrap()).unwrap();

    // The charter page: assign the captain; the first offer appears in the timeline.
    c.goto(&format!("{base}/office/charters/{CHARTER}")).await.unwrap();
    heading(&c, "Marlin").await;
    click(&c, "section.actions form button").await;
    let started = Instant::now();
    let timeline = loop {
        let t = match c.find(Locator::Css("#offers")).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if t.contains("ann") {
            break t;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no offer in the timeline");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(timeline.contains("offered"), "{timeline}");
    let notice = c.find(Locator::Css("p.notice")).await.unwrap().text().await.unwrap();
    assert!(notice.contains("Captain cap assigned"), "{notice}");
    std::fs::write(artefact("office-charter-dispatch.png"), c.screenshot().await.unwrap()).unwrap();

    // Automation: retry the dead letter.
    c.goto(&format!("{base}/office/automation")).await.unwrap();
    heading(&c, "Automation").await;
    click(&c, "#dead button").await;
    let started = Instant::now();
    loop {
        if let Ok(e) = c.find(Locator::Css("p.notice")).await {
            if e.text().await.unwrap_or_default().contains("queued again") {
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no notice after retrying");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::fs::write(artefact("office-automation-retried.png"), c.screenshot().await.unwrap()).unwrap();

    // A 390 px phone: no page scrolls sideways (wide tables scroll in their own box).
    c.set_window_size(390, 844).await.unwrap();
    for page in [
        "/office",
        "/office/charters",
        &format!("/office/charters/{CHARTER}"),
        "/office/crew",
        "/office/automation",
        "/office/revenue",
        "/office/tasks",
        "/office/agent",
    ] {
        c.goto(&format!("{base}{page}")).await.unwrap();
        let widths = c
            .execute(
                "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]",
                vec![],
            )
            .await
            .unwrap();
        let (scroll, client) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
        assert!(
            scroll <= client,
            "{page} scrolls sideways on a phone: {scroll} > {client}"
        );
    }
    std::fs::write(artefact("office-revenue-phone.png"), c.screenshot().await.unwrap()).unwrap();
    c.close().await.unwrap();

    let d2 = d.clone();
    let dlq = tokio::task::spawn_blocking(move || jada(&d2).args(["dlq", "list"]).output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&dlq.stdout);
    assert!(
        !text.contains("HTTP 503 (test)"),
        "the dead letter left the queue: {text}"
    );
}

#[test]
fn sign_in_tokens_never_reach_a_debug_log() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    charter_business(d, port, OFFICE);
    let log = d.join("serve.log");
    let listen = format!("127.0.0.1:{port}");
    let (child, base) = serve_with(
        d,
        &["--listen", &listen],
        &[("JADA_LOG", "debug")],
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    let _serve = Running(child);
    let http = client();
    sign_in(&http, &base, d);
    let link = mailed_link(d, "office@", "/office/auth/");
    let token = link.rsplit('/').next().unwrap().to_string();
    assert!(token.len() > 20, "{link}");
    std::thread::sleep(Duration::from_millis(200));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("/office/auth/[token]"),
        "the sign-in requests are logged, redacted: {text}"
    );
    assert!(!text.contains(&token), "a sign-in token reached the log");
}

#[test]
fn a_finished_charter_offers_no_dispatch_or_cancel_and_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    charter_business(d, port, OFFICE);
    let done = "7b2e1d4c-5a6f-4b8e-9d0c-1e2f3a4b5c6d";
    std::fs::write(
        d.join("done.csv"),
        format!("charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue,status,captain\n{done},2024-07-12,10:00,13:00,Marlin,Past Guest,4,900,completed,cap\n"),
    )
    .unwrap();
    jada(d).args(["charters", "import", "done.csv"]).assert().success();
    let _serve = start(d, port);
    let base = format!("http://127.0.0.1:{port}");
    let http = client();
    let session = sign_in(&http, &base, d);
    let get = |path: &str| office_page(&http, &format!("{base}{path}"), &session);

    let page = get(&format!("/office/charters/{done}"));
    for gone in ["Assign captain and dispatch", "Restart dispatch", "Cancel charter"] {
        assert!(!page.contains(gone), "`{gone}` on a completed charter");
    }
    assert!(page.contains("Edit booking"));
    let open = get(&format!("/office/charters/{CHARTER}"));
    assert!(open.contains("Cancel charter") && open.contains("Assign captain and dispatch"));
    assert!(get(&format!("/office/charters/{done}/cancel")).contains("there is nothing to cancel"));

    // Posted anyway (a stale page, a hand-made request): refused, nothing changes.
    let csrf = hidden_csrf(&open);
    for action in ["cancel", "dispatch", "captain"] {
        let r = http
            .post(format!("{base}/office/charters/{done}/{action}"))
            .header("cookie", &session)
            .form(&[("csrf", csrf.as_str()), ("crew", "cap")])
            .send()
            .unwrap();
        assert_eq!(r.status(), 303, "{action}");
        let back = r.headers()["location"].to_str().unwrap().to_string();
        assert!(back.contains("error="), "{action}: {back}");
        assert!(get(&back).contains("This charter is completed"), "{action}");
    }
    let out = jada(d).args(["charters", "show", done, "--json"]).output().unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["charter"]["status"], "completed");
    assert_eq!(shown["charter"]["version"], 1, "untouched");
}

#[test]
fn a_stale_booking_form_is_refused_with_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, base, http, session) = signed_in_office(d);
    let form = office_page(&http, &format!("{base}/office/charters/{CHARTER}/edit"), &session);
    assert!(form.contains("name=\"version\" value=\"1\""), "{form}");
    // Someone else changes the booking meanwhile (an import: version 2).
    std::fs::write(
        d.join("change.csv"),
        format!("charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue\n{CHARTER},2031-07-12,10:00,13:00,Marlin,Ada Changed,4,900\n"),
    )
    .unwrap();
    jada(d).args(["charters", "import", "change.csv"]).assert().success();
    let r = http
        .post(format!("{base}/office/charters/{CHARTER}"))
        .header("cookie", &session)
        .form(&[
            ("csrf", hidden_csrf(&form).as_str()),
            ("version", "1"),
            ("guest_name", "Ada From The Form"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 409);
    let page = r.text().unwrap();
    assert!(
        page.contains("was changed by someone else (your copy is version 1, the store has version 2)"),
        "{page}"
    );
    let out = jada(d).args(["charters", "show", CHARTER, "--json"]).output().unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        shown["charter"]["guest_name"], "Ada Changed",
        "the other change is kept"
    );
}

#[test]
fn sign_in_answers_the_same_to_everyone_is_rate_limited_and_queues_its_mail() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    charter_business(d, port, OFFICE);
    let listen = format!("127.0.0.1:{port}");
    let (child, base) = serve_with(d, &["--listen", &listen], &[], Stdio::null());
    let _serve = Running(child);
    let http = client();
    let ask = |email: &str| {
        let r = http.get(format!("{base}/office/sign-in")).send().unwrap();
        let pre = cookie_of(&r, "jada_pre").unwrap();
        let csrf = hidden_csrf(&r.text().unwrap());
        let r = http
            .post(format!("{base}/office/sign-in"))
            .header("cookie", &pre)
            .form(&[("csrf", csrf.as_str()), ("email", email)])
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    // Mail is broken (the outbox folder is a file): the visitor is not told.
    let outbox = d.join("jada-data/outbox");
    let _ = std::fs::remove_dir_all(&outbox);
    std::fs::write(&outbox, "not a folder").unwrap();
    let user = ask("office@bluewater.example.com");
    let stranger = ask("stranger@example.com");
    assert_eq!(user, stranger, "the same answer whoever asks, whatever mail does");
    assert_eq!(user.0, 200);
    // Mail works again: the queued link goes out. The daemon tried it at once (its
    // outbox runs on its own writes) and failed, so it goes with the retry: the outbox's
    // first backoff is 10 s with jitter, 5 to 15 s.
    std::fs::remove_file(&outbox).unwrap();
    std::fs::create_dir(&outbox).unwrap();
    let link = mailed_link_within(d, "office@", "/office/auth/", 0, std::time::Duration::from_secs(25));
    assert!(link.contains("/office/auth/"));

    // A flood from one client: 10 a minute, then 429; one address gets at most 3 links.
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(ask("office@bluewater.example.com").0);
    }
    assert!(statuses[..8].iter().all(|s| *s == 200), "{statuses:?}");
    assert!(statuses.iter().filter(|s| **s == 429).count() >= 20, "{statuses:?}");
    std::thread::sleep(Duration::from_secs(3));
    let links = count_links(d, "office@", "/office/auth/");
    assert!(links <= 3, "{links} links mailed to one address");
}

#[test]
fn the_first_sign_in_comes_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    charter_business(d, port, OFFICE);
    // Not an office user: refused, naming the fix; nothing printed to open.
    let out = jada(d)
        .args(["office", "link", "stranger@example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[office] users"));
    assert!(out.stdout.is_empty());

    let _serve = start(d, port);
    let out = jada(d)
        .args(["office", "link", "Office@BlueWater.example.com", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let url = v["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("http://127.0.0.1:{port}/office/auth/")),
        "{url}"
    );
    assert_eq!(v["email"], "office@bluewater.example.com");
    let http = client();
    let session = redeem_link(&http, url);
    let today = office_page(&http, &format!("http://127.0.0.1:{port}/office"), &session);
    assert!(today.contains("<h1>Today</h1>"), "signed in: {today}");
    // Plain output: the link alone on stdout, to copy or pipe.
    let out = jada(d)
        .args(["office", "link", "office@bluewater.example.com"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.trim().starts_with("http://127.0.0.1:"));
}

#[test]
fn a_booking_form_error_names_the_field_as_the_form_labels_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, base, http, session) = signed_in_office(d);
    let page = office_page(&http, &format!("{base}/office/charters/new"), &session);
    let csrf = hidden_csrf(&page);
    let r = http
        .post(format!("{base}/office/charters"))
        .header("cookie", &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("charter_date", "2031-08-09"),
            ("start_time", "10:00"),
            ("end_time", "12:00"),
            ("vessel_name", "Marlin"),
            ("guest_name", "Ada"),
            ("guest_count", "4"),
            ("reportable_revenue", "lots"),
            ("tips", "0"),
            ("status", "booked"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().unwrap();
    let errors = page
        .split("<ul class=\"bad\">")
        .nth(1)
        .and_then(|s| s.split("</ul>").next())
        .unwrap_or_default();
    assert!(errors.contains("Revenue"), "{errors}");
    assert!(!errors.contains("reportable_revenue"), "no internal names: {errors}");
}

/// The office form refuses a booking on top of another of its vessel, naming the charter
/// in the way, and keeps what was typed; back to back is a booking like any other.
#[test]
fn the_booking_form_refuses_a_vessel_already_out_then() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, base, http, session) = signed_in_office(d);
    let page = office_page(&http, &format!("{base}/office/charters/new"), &session);
    let csrf = hidden_csrf(&page);
    let book = |start: &str, end: &str| {
        http.post(format!("{base}/office/charters"))
            .header("cookie", &session)
            .form(&[
                ("csrf", csrf.as_str()),
                ("charter_date", "2031-07-12"),
                ("start_time", start),
                ("end_time", end),
                ("vessel_name", "marlin"),
                ("guest_name", "Second Guest"),
                ("guest_count", "2"),
                ("reportable_revenue", "500"),
                ("status", "booked"),
            ])
            .send()
            .unwrap()
    };
    // On top of Ada Guest's 10:00-13:00 Marlin charter.
    let r = book("12:00", "14:00");
    assert_eq!(r.status(), 422);
    let page = r.text().unwrap();
    assert!(
        page.contains(CHARTER) && page.contains("Ada Guest") && page.contains("one vessel sails one charter at a time"),
        "{page}"
    );
    assert!(page.contains("value=\"Second Guest\""), "what was typed is kept");
    let list = |d: &Path| {
        let out = jada(d)
            .args(["charters", "list", "--month", "2031-07", "--json"])
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(list(d), 1, "nothing added");
    assert_eq!(book("13:00", "15:00").status(), 303, "back to back");
    assert_eq!(list(d), 2);
}

#[test]
fn a_charter_already_booking_its_vessel_twice_says_so_on_its_page() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A second charter the old scripts wrote on top of the first (10:00-13:00 Marlin).
    std::fs::write(
        d.join("later.csv"),
        "charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue\n7b2e0f3a-0000-4000-8000-000000000001,2031-07-12,14:00,15:00,Marlin,Bea Late,2,300\n",
    )
    .unwrap();
    let (_serve, base, http, session) = signed_in_office(d);
    jada(d).args(["charters", "import", "later.csv"]).assert().success();
    let page = office_page(&http, &format!("{base}/office/charters/{CHARTER}"), &session);
    assert!(!page.contains("books Marlin twice"), "not yet: {page}");
    edit_db(
        d,
        "UPDATE charters SET start_time = '12:00:00' WHERE guest_name = 'Bea Late'",
    );
    let page = office_page(&http, &format!("{base}/office/charters/{CHARTER}"), &session);
    assert!(
        page.contains("This charter books Marlin twice") && page.contains("Bea Late"),
        "{page}"
    );
}

/// Cancel is a link to a page that says what will happen; only its own button cancels.
/// Reinstate then brings back the status, the crew offer and tells the crew.
#[test]
fn cancel_asks_first_and_reinstate_brings_the_charter_and_its_offers_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, base, http, session) = signed_in_office(d);
    jada(d)
        .args(["dispatch", "assign-captain", CHARTER, "cap"])
        .assert()
        .success();
    let get = |path: &str| office_page(&http, &format!("{base}{path}"), &session);
    let post = |path: &str, form: &[(&str, &str)]| office_post(&http, &format!("{base}{path}"), &session, form);
    let status = || {
        let out = jada(d).args(["charters", "show", CHARTER, "--json"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["charter"]["status"].as_str().unwrap().to_string()
    };
    let page = get(&format!("/office/charters/{CHARTER}"));
    let confirm = format!("/office/charters/{CHARTER}/cancel");
    // Cancel is a plain link, in a section of its own away from Edit.
    assert!(
        page.contains(&format!("<a class=\"button danger\" href=\"{confirm}\">")),
        "{page}"
    );
    let zones: Vec<&str> = page.split("<section").collect();
    assert!(zones
        .iter()
        .any(|z| z.contains("Edit booking") && !z.contains("Cancel charter")));
    let csrf = hidden_csrf(&page);

    // A bare POST (an old page's button) only leads to the confirmation.
    assert_eq!(post(&confirm, &[("csrf", &csrf)]), confirm);
    assert_eq!(status(), "booked");
    let ask = get(&confirm);
    for says in [
        "Cancel this charter?",
        "Ada Guest",
        "Open crew offers are withdrawn: Ann Deck (ann).",
        "These crew are told by mail: Cora Captain (cap), Ann Deck (ann).",
        "You can reinstate it for 72 hours",
    ] {
        assert!(ask.contains(says), "`{says}` missing from\n{ask}");
    }
    let version = ask
        .split("name=\"version\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let done = post(&confirm, &[("csrf", &csrf), ("version", &version), ("confirm", "yes")]);
    assert!(done.contains("done="), "{done}");
    assert_eq!(status(), "cancelled");
    assert_eq!(count_links(d, "ann", "/c/"), 1, "no new offer while cancelled");
    let subjects = mailed_subjects(d);
    for who in ["cap@", "ann@"] {
        assert!(
            subjects
                .iter()
                .any(|(to, s)| to.starts_with(who) && s.starts_with("Cancelled: Marlin")),
            "{who}: {subjects:?}"
        );
    }

    // Reinstated from the charter page: booked again, Ann asked again, the crew told.
    let page = get(&format!("/office/charters/{CHARTER}"));
    assert!(
        page.contains("Reinstate charter") && page.contains("it goes back to booked"),
        "{page}"
    );
    let done = post(&format!("/office/charters/{CHARTER}/reinstate"), &[("csrf", &csrf)]);
    assert!(done.contains("done="), "{done}");
    assert_eq!(status(), "booked");
    assert_eq!(count_links(d, "ann", "/c/"), 2, "the withdrawn offer is made again");
    assert!(mailed_subjects(d)
        .iter()
        .any(|(to, s)| to.starts_with("cap@") && s.starts_with("Back on: Marlin")));
    let page = get(&format!("/office/charters/{CHARTER}"));
    assert!(
        page.contains("reinstated by office@bluewater.example.com: back to booked"),
        "{page}"
    );
    assert!(!page.contains("Reinstate charter"));
}

/// Every word, date, time, status and amount on an office page that the browser broke
/// across lines (a word whose characters sit on more than one line), and every amount in
/// a table cell that is not right-aligned. A compound word may wrap after its hyphen or
/// slash ("crew-" / "statements") as print does, but never between digits ("2026-" /
/// "12-01", "09:00–" / "12:00"). Transcripts (`pre`) and form fields wrap by design and are
/// left out.
const UNREADABLE: &str = r#"
const out = [];
const main = document.querySelector('main');
const lineOf = (node, i) => {
  const r = document.createRange();
  r.setStart(node, i);
  r.setEnd(node, i + 1);
  const rects = Array.from(r.getClientRects()).filter(x => x.width > 0);
  return rects.length ? Math.round(rects[0].bottom) : null;
};
// Whether every line break inside the word at [start, end) of `node` is a fair one.
const fairBreaks = (node, start, end) => {
  const t = node.textContent;
  let prev = lineOf(node, start);
  for (let i = start + 1; i < end; i++) {
    const line = lineOf(node, i);
    if (line === null || prev === null || line === prev) { prev = line ?? prev; continue; }
    const before = t[i - 1], after = t[i];
    const digits = /[0-9]/.test(t[i - 2] || '') && /[0-9]/.test(after);
    if (!/[-\/\u2010-\u2014]/.test(before) || digits) return false;
    prev = line;
  }
  return true;
};
const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
let n;
while ((n = walker.nextNode())) {
  const el = n.parentElement;
  if (el.closest('pre, textarea, select, option, script, style, svg')) continue;
  const re = /\S+/g;
  let m;
  while ((m = re.exec(n.textContent))) {
    const r = document.createRange();
    r.setStart(n, m.index);
    r.setEnd(n, m.index + m[0].length);
    const lines = new Set(Array.from(r.getClientRects()).filter(x => x.width > 0).map(x => Math.round(x.bottom)));
    if (lines.size > 1 && !fairBreaks(n, m.index, m.index + m[0].length)) {
      out.push(`"${m[0]}" broken over ${lines.size} lines in <${el.tagName.toLowerCase()}>`);
    }
  }
}
for (const td of main.querySelectorAll('td')) {
  const t = td.textContent.trim();
  if (/^-?\$[0-9,]+\.[0-9]+$/.test(t) && getComputedStyle(td).textAlign !== 'right') {
    out.push(`amount ${t} is not right-aligned`);
  }
}
// No table hides a column past its right edge (where an amount or a button is cut off).
for (const t of main.querySelectorAll('table')) {
  if (t.scrollWidth > t.clientWidth + 1) out.push(`a table is wider than the screen (${t.scrollWidth} > ${t.clientWidth}): its right columns are cut off`);
}
return out;
"#;

/// The office a new business sees after `jada serve --demo` (a season of charters, 15
/// crew, three agent sessions), read by Chromium at a 390 px phone and a 1280 px desktop:
/// on every page, every word and amount reads whole and money lines up on the right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_office_page_reads_whole_on_a_phone_and_a_desktop() {
    use fantoccini::Locator;

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let port = free_port();
    std::fs::write(
        d.join("jada.toml"),
        format!("[server]\npublic_url = \"http://127.0.0.1:{port}\"\n{OFFICE}"),
    )
    .unwrap();
    let listen = format!("127.0.0.1:{port}");
    let (child, base) = serve_with(&d, &["--demo", "--listen", &listen], &[], Stdio::null());
    let _serve = Running(child);
    let d2 = d.clone();
    let (link, charter) = tokio::task::spawn_blocking(move || {
        let out = jada(&d2)
            .args(["office", "link", "office@bluewater.example.com"])
            .output()
            .unwrap();
        let link = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let out = jada(&d2).args(["charters", "list", "--json"]).output().unwrap();
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // A charter with the most on its page: crew aboard, and a long guest name.
        let charter = list
            .as_array()
            .unwrap()
            .iter()
            .max_by_key(|c| {
                (
                    c["crew_assigned"].as_array().map_or(0, Vec::len),
                    c["guest_name"].as_str().unwrap().len(),
                )
            })
            .map(|c| c["charter_id"].as_str().unwrap().to_string())
            .expect("the demo has charters this month");
        (link, charter)
    })
    .await
    .unwrap();
    let (_driver, driver_url) = tokio::task::spawn_blocking(chromedriver).await.unwrap();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver_url, profile.path(), 1280, 900).await;
    c.goto(&link).await.unwrap();
    heading(&c, "Sign in to jada").await;
    click(&c, "form button").await;
    heading(&c, "Today").await;

    let pages = [
        "/office".to_string(),
        "/office/charters".into(),
        "/office/charters/new".into(),
        format!("/office/charters/{charter}"),
        format!("/office/charters/{charter}/edit"),
        format!("/office/charters/{charter}/cancel"),
        "/office/crew".into(),
        "/office/crew/c01".into(),
        "/office/automation".into(),
        "/office/revenue".into(),
        "/office/tasks".into(),
        "/office/agent".into(),
        "/office/agent/sessions/1".into(),
        "/office/agent/sessions/2".into(),
    ];
    let mut unreadable = Vec::new();
    for (width, height) in [(390, 844), (1280, 900)] {
        c.set_window_size(width, height).await.unwrap();
        for page in &pages {
            c.goto(&format!("{base}{page}")).await.unwrap();
            c.find(Locator::Css("main h1")).await.unwrap();
            let found = c.execute(UNREADABLE, vec![]).await.unwrap();
            for f in found.as_array().unwrap() {
                unreadable.push(format!("{width} px {page}: {}", f.as_str().unwrap()));
            }
            let widths = c
                .execute(
                    "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]",
                    vec![],
                )
                .await
                .unwrap();
            let (scroll, client) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
            if scroll > client {
                unreadable.push(format!(
                    "{width} px {page}: the page scrolls sideways ({scroll} > {client})"
                ));
            }
            let name: String = page.trim_start_matches('/').replace('/', "-");
            let shot = artefact(&format!("readable-{width}-{name}.png"));
            std::fs::write(shot, c.screenshot().await.unwrap()).unwrap();
        }
    }
    // An empty table is not shown as bare headers: the credentials section says what to do.
    c.goto(&format!("{base}/office/automation")).await.unwrap();
    let text = c.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    assert!(
        text.contains("None yet: a credential appears here once jada auth login NAME"),
        "{text}"
    );
    assert!(!text.contains("Token expires"), "{text}");
    c.close().await.unwrap();
    assert!(
        unreadable.is_empty(),
        "{} problems:\n{}",
        unreadable.len(),
        unreadable.join("\n")
    );
}

/// A task added from a charter's page names that charter; any task takes a note; a charter
/// that does not exist is refused, and nothing is added.
#[test]
fn office_tasks_name_a_charter_and_take_notes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, base, http, session) = signed_in_office(d);
    let get = |path: &str| office_page(&http, &format!("{base}{path}"), &session);
    let post = |path: &str, form: &[(&str, &str)]| office_post(&http, &format!("{base}{path}"), &session, form);
    let charter_page = get(&format!("/office/charters/{CHARTER}"));
    let add = format!("/office/tasks?charter={CHARTER}#title");
    assert!(charter_page.contains(&add), "a link to add a task for this charter");
    let form = get(&format!("/office/tasks?charter={CHARTER}"));
    assert!(
        form.contains(&format!("value=\"{CHARTER}\"")),
        "the charter is filled in"
    );
    let csrf = hidden_csrf(&form);

    let bad = post(
        "/office/tasks",
        &[
            ("csrf", &csrf),
            ("title", "Ghost"),
            ("charter", "10000000-0000-4000-8000-00000000dead"),
        ],
    );
    assert!(get(&bad).contains("Not added: charter: there is no charter"), "{bad}");
    post(
        "/office/tasks",
        &[
            ("csrf", &csrf),
            ("title", "Bring the birthday cake aboard"),
            ("charter", CHARTER),
        ],
    );
    post(
        "/office/tasks/1/notes",
        &[("csrf", &csrf), ("note", "Cake ordered for 09:30")],
    );
    let empty = post("/office/tasks/1/notes", &[("csrf", &csrf), ("note", "  ")]);
    assert!(get(&empty).contains("Note not added"), "{empty}");

    let out = jada(d).args(["tasks", "show", "1", "--json"]).output().unwrap();
    let task: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(task["title"], "Bring the birthday cake aboard");
    assert_eq!(task["charter_id"], CHARTER);
    let notes = task["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{task}");
    assert_eq!(
        (notes[0]["author"].as_str(), notes[0]["body"].as_str()),
        (Some("office@bluewater.example.com"), Some("Cake ordered for 09:30"))
    );
    let out = jada(d).args(["tasks", "list", "--json"]).output().unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Someone removed from `[office] users` is out at their next request, even with a
/// session they signed in with before (checked per request, not only at sign-in).
#[test]
fn a_person_removed_from_the_office_users_loses_their_session() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (serve, base, http, session) = signed_in_office(d);
    let page = office_page(&http, &format!("{base}/office/charters/{CHARTER}"), &session);
    let csrf = hidden_csrf(&page);
    drop(serve);
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let toml = std::fs::read_to_string(d.join("jada.toml")).unwrap();
    std::fs::write(
        d.join("jada.toml"),
        toml.replace("office@bluewater.example.com", "skipper@bluewater.example.com"),
    )
    .unwrap();
    let _serve = start(d, port);
    let r = http
        .get(format!("{base}/office"))
        .header("cookie", &session)
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/office/sign-in"));
    let r = http
        .post(format!("{base}/office/charters/{CHARTER}/dispatch"))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/office/sign-in"));
    // The refused POST changed nothing.
    let out = jada(d).args(["charters", "show", CHARTER, "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["charter"]["version"], 1, "nothing changed");
}

/// The same without a restart: the daemon follows jada.toml's `[office] users` while it
/// runs, so the removed person's next request after the edit is refused.
#[test]
fn a_person_removed_from_the_office_users_while_the_daemon_runs_is_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, base, http, session) = signed_in_office(d);
    let status = || {
        http.get(format!("{base}/office"))
            .header("cookie", &session)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(status(), 200);
    let toml = std::fs::read_to_string(d.join("jada.toml")).unwrap();
    // A broken edit first: the daemon keeps the list it had.
    std::fs::write(
        d.join("jada.toml"),
        format!(
            "{toml}
[office
"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("jada.toml"),
        toml.replace("office@bluewater.example.com", "skipper@bluewater.example.com"),
    )
    .unwrap();
    poll("the removed person refused", Duration::from_secs(15), || {
        (status() == 303).then_some(())
    });
}

/// A page shows a notice only when the daemon made it: text put in a link (`?done=...`)
/// that someone sends to the office is not shown as if jada had said it.
#[test]
fn a_notice_in_a_link_shows_only_when_jada_made_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_serve, base, http, session) = signed_in_office(d);
    let forged = office_page(
        &http,
        &format!("{base}/office/charters/{CHARTER}?done=Payment+failed%3A+call+555-0100&error=Re-enter+your+card"),
        &session,
    );
    assert!(!forged.contains("Payment failed") && !forged.contains("Re-enter your card"));
    assert!(!forged.contains("<p class=\"notice\">") && !forged.contains("<p class=\"bad\">"));
    let csrf = hidden_csrf(&forged);
    let r = http
        .post(format!("{base}/office/charters/{CHARTER}/captain"))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str()), ("crew", "cap")])
        .send()
        .unwrap();
    let back = r.headers()["location"].to_str().unwrap().to_string();
    assert!(back.contains("sig="), "{back}");
    assert!(office_page(&http, &format!("{base}{back}"), &session).contains("Captain cap assigned"));
    // The same message with another signature, or reworded under the real one, is not shown.
    let tampered = back.replace("Captain+cap", "Captain+bob");
    assert!(back != tampered);
    assert!(!office_page(&http, &format!("{base}{tampered}"), &session).contains("<p class=\"notice\">"));
}
