//! Dispatch through the crew pages, end to end: `jada serve`, `jada dispatch
//! assign-captain`, offers in the .eml outbox, and headless Chromium (Debian's
//! `chromium` driven through `chromedriver`) clicking Accept.

mod common;
use common::*;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use predicates::str::contains;

fn business(d: &Path, port: u16, fanout: u32, rate: u32) {
    charter_business(
        d,
        port,
        &format!("[dispatch]\nfanout = {fanout}\nrate_limit_per_minute = {rate}\ncontact = \"office@bluewater.example.com\"\n"),
    );
}

fn link_for(d: &Path, who: &str) -> String {
    mailed_link(d, who, "/c/")
}

fn start(d: &Path, port: u16, log: Stdio) -> Running {
    let listen = format!("127.0.0.1:{port}");
    let (child, _) = serve_with(d, &["--listen", &listen], &[("JADA_LOG", "jada_server=debug")], log);
    Running(child)
}

fn offer_status(d: &Path, crew: &str) -> String {
    let out = jada(d)
        .args(["dispatch", "explain", CHARTER, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["offers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["crew_id"] == crew)
        .map(|o| o["status"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn crew_pages_are_safe_to_open_refuse_forged_posts_and_keep_tokens_out_of_logs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    business(d, port, 1, 1000);
    let log = d.join("serve.log");
    let _serve = start(d, port, Stdio::from(std::fs::File::create(&log).unwrap()));
    jada(d)
        .args(["dispatch", "assign-captain", CHARTER, "cap"])
        .assert()
        .success()
        .stdout(contains("offers sent to: ann"));
    let link = link_for(d, "ann");
    let http = reqwest::blocking::Client::new();

    // Opening the link (twice, as a mail scanner and then the person) changes nothing.
    for _ in 0..2 {
        let r = http.get(&link).send().unwrap();
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'"));
        assert!(h["set-cookie"].to_str().unwrap().contains("HttpOnly; SameSite=Strict"));
        let page = r.text().unwrap();
        assert!(
            page.contains("Marlin") && page.contains("Accept") && page.contains("Decline"),
            "{page}"
        );
    }
    assert_eq!(offer_status(d, "ann"), "offered");

    // A POST without the CSRF cookie and field is refused and records nothing.
    let r = http
        .post(format!("{link}/accept"))
        .form(&[("csrf", "guess")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().unwrap().contains("not recorded"));
    assert_eq!(offer_status(d, "ann"), "offered");

    // A tampered or truncated link gets a plain page, the same whatever was changed.
    let mut forged = link.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [
        forged,
        link[..link.len() - 10].to_string(),
        format!("http://127.0.0.1:{port}/c/not-a-token"),
    ] {
        let r = http.get(&bad).send().unwrap();
        assert_eq!(r.status(), 404, "{bad}");
        let page = r.text().unwrap();
        assert!(
            page.contains("This link is not valid") && page.contains("office@bluewater.example.com"),
            "{page}"
        );
        for leak in ["panicked", "Error", "ann", "crew id"] {
            assert!(!page.contains(leak), "`{leak}` in {page}");
        }
    }

    // ann's schedule link (made by hand) shows her open offer, linked to its own page.
    let out = jada(d).args(["dispatch", "link", "ann"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let schedule = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(
        schedule.starts_with(&format!("http://127.0.0.1:{port}/c/")),
        "{schedule}"
    );
    let page = http.get(&schedule).send().unwrap().text().unwrap();
    assert!(page.contains("Your schedule") && page.contains("Open offers"), "{page}");
    assert!(
        page.contains("Marlin") && page.contains("href=\"/c/"),
        "the open offer is listed: {page}"
    );
    jada(d).args(["dispatch", "link", "nobody"]).assert().code(2);

    // The log has the requests, with the token redacted.
    let token = link.rsplit('/').next().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("/c/[token]"), "{text}");
    assert!(!text.contains(token), "a token reached the log");
}

#[test]
fn token_pages_are_rate_limited_per_client() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    business(d, port, 1, 60);
    let _serve = start(d, port, Stdio::null());
    let http = reqwest::blocking::Client::new();
    let url = format!("http://127.0.0.1:{port}/c/guessing");
    let codes: Vec<u16> = (0..30)
        .map(|_| http.get(&url).send().unwrap().status().as_u16())
        .collect();
    assert!(codes.contains(&404), "{codes:?}");
    let limited = codes.iter().filter(|c| **c == 429).count();
    assert!(limited >= 20, "60 a minute in bursts of 6: {codes:?}");
    // The health endpoints are not token pages.
    assert_eq!(
        http.get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .unwrap()
            .status(),
        200
    );
}

/// Clicks Accept on the offer page and returns the heading of the page that follows.
async fn accept_and_read_heading(c: &fantoccini::Client) -> String {
    use fantoccini::Locator;
    c.find(Locator::Css("button.accept"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        // Mid-navigation the old heading may vanish under us: just look again.
        if let Ok(e) = c.find(Locator::Css("h1")).await {
            if let Ok(h1) = e.text().await {
                if h1 != "A seat for you?" {
                    return h1;
                }
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the answer page did not load"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crew_member_accepts_in_a_browser_and_the_next_click_finds_the_seat_taken() {
    use fantoccini::Locator;

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let port = free_port();
    // Two offers out for the one seat: ann and bob both get a link.
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || business(&d2, port, 2, 1000))
        .await
        .unwrap();
    let _serve = start(&d, port, Stdio::null());
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        jada(&d2)
            .args(["dispatch", "assign-captain", CHARTER, "cap"])
            .assert()
            .success()
            .stdout(contains("offers sent to: ann, bob"));
    })
    .await
    .unwrap();
    let (ann, bob) = (link_for(&d, "ann"), link_for(&d, "bob"));
    let (_driver, driver_url) = tokio::task::spawn_blocking(chromedriver).await.unwrap();

    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver_url, profile.path(), 420, 900).await;

    // bob opens his offer first and leaves the tab open.
    c.goto(&bob).await.unwrap();
    let bob_tab = c.window().await.unwrap();
    // ann opens hers in another tab and accepts.
    let ann_tab = c.new_window(true).await.unwrap();
    c.switch_to_window(ann_tab.handle).await.unwrap();
    c.goto(&ann).await.unwrap();
    let page = c.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Marlin") && page.contains("Cora Captain") && !page.contains("Ada Guest"),
        "{page}"
    );
    let h1 = accept_and_read_heading(&c).await;
    assert_eq!(h1, "Confirmed: you're on board");
    std::fs::write(artefact("crew-offer-accepted.png"), c.screenshot().await.unwrap()).unwrap();

    // The store has ann aboard.
    let d2 = d.clone();
    let shown = tokio::task::spawn_blocking(move || {
        let out = jada(&d2)
            .args(["charters", "show", CHARTER, "--json"])
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(shown["charter"]["crew_assigned"], serde_json::json!(["ann"]), "{shown}");

    // bob clicks Accept on the page he opened before: the seat is taken.
    c.switch_to_window(bob_tab).await.unwrap();
    let h1 = accept_and_read_heading(&c).await;
    assert_eq!(h1, "This seat is taken");
    std::fs::write(artefact("crew-offer-seat-taken.png"), c.screenshot().await.unwrap()).unwrap();
    c.close().await.unwrap();

    let d2 = d.clone();
    let status = tokio::task::spawn_blocking(move || offer_status(&d2, "bob"))
        .await
        .unwrap();
    assert_eq!(status, "withdrawn");
}

#[test]
fn behind_a_proxy_each_forwarded_client_has_its_own_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    business(d, port, 1, 60);
    let listen = format!("127.0.0.1:{port}");
    let (child, _) = serve_with(
        d,
        &["--listen", &listen],
        &[("JADA_SERVER__BEHIND_PROXY", "true")],
        Stdio::null(),
    );
    let _serve = Running(child);
    let http = reqwest::blocking::Client::new();
    let url = format!("http://127.0.0.1:{port}/c/guessing");
    let get = |ip: &str| {
        http.get(&url)
            .header("x-forwarded-for", format!("203.0.113.9, {ip}"))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    // Thirty clients behind the proxy, one request each: nobody is limited.
    let spread: Vec<u16> = (1..=30).map(|i| get(&format!("198.51.100.{i}"))).collect();
    assert!(spread.iter().all(|c| *c == 404), "{spread:?}");
    // One client guessing thirty times is.
    let one: Vec<u16> = (0..30).map(|_| get("198.51.100.200")).collect();
    assert!(one.iter().filter(|c| **c == 429).count() >= 20, "{one:?}");
}
