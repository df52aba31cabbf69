//! Helpers shared by the CLI's black-box tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// `jada` run in `dir`, with no JADA_* variables from the caller's environment.
pub fn jada(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("jada").unwrap();
    cmd.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("JADA_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// `jada init` in `d`, and a roster of one captain, `cap`.
pub fn init_with_a_captain(d: &Path) {
    jada(d).arg("init").assert().success();
    std::fs::write(
        d.join("crew.csv"),
        "crew_id,name,email,phone,captain_certified,available_dates\ncap,Cora Captain,cap@example.com,,yes,\n",
    )
    .unwrap();
    jada(d).args(["crew", "import", "crew.csv"]).assert().success();
}

/// Creates `<dir>/jada-data/secrets` with mode 0700 and returns it.
pub fn secrets_dir(dir: &Path) -> PathBuf {
    let secrets = dir.join("jada-data/secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o700)).unwrap();
    secrets
}

/// Writes a secret file (a credential) with mode 0600.
pub fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Starts `jada serve` in `dir` (with `args` after `serve`, e.g. `--listen`) and waits
/// until it says it is ready; returns the child and its URL. Its log goes to `log`.
pub fn serve_with(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    log: std::process::Stdio,
) -> (std::process::Child, String) {
    let (child, line) = serve_ready(dir, args, env, log);
    let url = line
        .trim_start_matches("jada is running at ")
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    (child, url)
}

/// `jada serve ARGS` in `dir`, and its "jada is running at ..." line, whole.
pub fn serve_ready(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    log: std::process::Stdio,
) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("jada"));
    cmd.current_dir(dir).arg("serve").args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("JADA_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.starts_with("jada is running at "))
        .expect("a ready line");
    std::thread::spawn(move || for _ in lines {});
    (child, line)
}

/// `jada serve --listen 127.0.0.1:0` with its log discarded.
pub fn serve(dir: &Path) -> (std::process::Child, String) {
    serve_with(dir, &["--listen", "127.0.0.1:0"], &[], std::process::Stdio::null())
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The charter of [`charter_business`].
pub const CHARTER: &str = "6a1f0c2e-4b7d-4e8a-9c3b-2d1e0f9a8b7c";

/// A business with one booked charter (4 guests on Marlin: one crew seat) on 2031-07-12,
/// a captain and two deckhands available that day, served at 127.0.0.1:`port`; `extra`
/// is appended to jada.toml.
pub fn charter_business(d: &Path, port: u16, extra: &str) {
    std::fs::write(
        d.join("jada.toml"),
        format!(
            "[business]\nname = \"Blue Water\"\n[server]\npublic_url = \"http://127.0.0.1:{port}\"\n[[vessels]]\nname = \"Marlin\"\ncrew = [{{ max_guests = 6, crew = 1 }}, {{ max_guests = 12, crew = 2 }}]\n{extra}"
        ),
    )
    .unwrap();
    charter_business_files(d);
    jada(d).args(["crew", "import", "crew.csv"]).assert().success();
    jada(d).args(["charters", "import", "charters.csv"]).assert().success();
}

/// crew.csv and charters.csv of [`charter_business`]: one booked charter (4 guests on
/// Marlin) on 2031-07-12, a captain and two deckhands available that day.
pub fn charter_business_files(d: &Path) {
    std::fs::write(
        d.join("crew.csv"),
        "crew_id,name,email,phone,captain_certified,available_dates\ncap,Cora Captain,cap@example.com,,yes,2031-07-12\nann,Ann Deck,ann@example.com,,no,2031-07-12\nbob,Bob Deck,bob@example.com,,no,2031-07-12\n",
    )
    .unwrap();
    std::fs::write(
        d.join("charters.csv"),
        format!("charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue,status\n{CHARTER},2031-07-12,10:00,13:00,Marlin,Ada Guest,4,900,booked\n"),
    )
    .unwrap();
}

/// Every message in the .eml outbox, oldest first, read by Python's `email`: its
/// recipients, its subject and the links in its plain body (decoded).
fn mailed(d: &Path) -> Vec<(Vec<String>, String, Vec<String>)> {
    let script = r#"
import email, email.policy, glob, json, re, sys
out = []
for p in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    m = email.message_from_bytes(open(p, "rb").read(), policy=email.policy.default)
    body = m.get_body(preferencelist=("plain",)).get_content()
    links = re.findall(r"http://\S+", body)
    out.append([[a.addr_spec for a in m["To"].addresses], str(m["Subject"]), links])
print(json.dumps(out))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(d.join("jada-data/outbox"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every (first recipient, link) in the .eml outbox, oldest first.
pub fn mailed_links(d: &Path) -> Vec<(String, String)> {
    mailed(d)
        .into_iter()
        .flat_map(|(to, _, links)| {
            let first = to.into_iter().next().unwrap_or_default();
            links.into_iter().map(move |l| (first.clone(), l))
        })
        .collect()
}

/// Every (recipient, subject) in the .eml outbox, oldest first.
pub fn mailed_subjects(d: &Path) -> Vec<(String, String)> {
    mailed(d)
        .into_iter()
        .flat_map(|(to, subject, _)| to.into_iter().map(move |a| (a, subject.clone())))
        .collect()
}

/// How many links containing `part` went to an address starting with `who`.
pub fn count_links(d: &Path, who: &str, part: &str) -> usize {
    mailed_links(d)
        .iter()
        .filter(|(to, l)| to.starts_with(who) && l.contains(part))
        .count()
}

/// The newest link containing `part` mailed to an address starting with `who`, waiting
/// (up to 10 s) until more than `after` such links were mailed: mail queued through the
/// outbox arrives a moment after the request.
pub fn mailed_link_after(d: &Path, who: &str, part: &str, after: usize) -> String {
    mailed_link_within(d, who, part, after, std::time::Duration::from_secs(10))
}

/// As [`mailed_link_after`], waiting up to `limit` (a mail that failed once comes with
/// its retry, 5 to 15 s later).
pub fn mailed_link_within(d: &Path, who: &str, part: &str, after: usize, limit: std::time::Duration) -> String {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let links = mailed_links(d);
        let matching: Vec<&(String, String)> = links
            .iter()
            .filter(|(to, l)| to.starts_with(who) && l.contains(part))
            .collect();
        if matching.len() > after {
            return matching.last().unwrap().1.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no new link with {part} mailed to {who}: {links:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The newest link containing `part` mailed to an address starting with `who`.
pub fn mailed_link(d: &Path, who: &str, part: &str) -> String {
    mailed_link_after(d, who, part, 0)
}

/// A child process killed when dropped.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver on a free port (killed when dropped) and its URL.
pub fn chromedriver() -> (Running, String) {
    use std::time::{Duration, Instant};
    let port = free_port();
    let child = std::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromedriver is needed for the browser tests: apt-get install chromium chromium-driver (scripts/test does this when run as root)");
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::blocking::get(format!("{url}/status")).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (Running(child), url)
}

/// A headless Chromium session (Debian's `chromium`) with its own profile directory,
/// started with the flags this machine's closed network needs.
pub async fn browser(driver_url: &str, profile: &Path, width: u32, height: u32) -> fantoccini::Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     format!("--window-size={width},{height}"), format!("--user-data-dir={}", profile.display())],
        }),
    );
    fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(driver_url)
        .await
        .expect("a Chromium session")
}

/// Where a browser test keeps its screenshots: target/tmp/artefacts/NAME.
pub fn artefact(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A blocking HTTP client that does not follow redirects (tests look at them).
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn cookie_of(r: &reqwest::blocking::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_string())
}

pub fn hidden_csrf(page: &str) -> String {
    let i = page.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    page[i..].split('"').next().unwrap().to_string()
}

/// Signs in to the office pages over plain HTTP as `office@bluewater.example.com` (who
/// must be in `[office] users`), as a browser would; returns the session cookie.
pub fn sign_in(http: &reqwest::blocking::Client, base: &str, d: &Path) -> String {
    let before = count_links(d, "office@", "/office/auth/");
    let r = http.get(format!("{base}/office/sign-in")).send().unwrap();
    let pre = cookie_of(&r, "jada_pre").unwrap();
    let csrf = hidden_csrf(&r.text().unwrap());
    let r = http
        .post(format!("{base}/office/sign-in"))
        .header("cookie", &pre)
        .form(&[("csrf", csrf.as_str()), ("email", "Office@BlueWater.example.com")])
        .send()
        .unwrap();
    assert!(r.text().unwrap().contains("Check your mail"));
    let link = mailed_link_after(d, "office@", "/office/auth/", before);
    redeem_link(http, &link)
}

/// Signs in with a sign-in link (mailed, or printed by `jada office link`) and returns the
/// session cookie; checks the link then works no more.
pub fn redeem_link(http: &reqwest::blocking::Client, link: &str) -> String {
    // Opening the link only shows a button.
    let r = http.get(link).send().unwrap();
    assert_eq!(r.status(), 200);
    let pre = cookie_of(&r, "jada_pre").unwrap();
    let csrf = hidden_csrf(&r.text().unwrap());
    let r = http
        .post(link)
        .header("cookie", &pre)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = cookie_of(&r, "jada_session").expect("a session cookie");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
    // The same link a second time is refused.
    let r = http
        .post(link)
        .header("cookie", &pre)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().unwrap().contains("used already"));
    session
}

/// An office page's HTML, as the signed-in `session` (a cookie from [`sign_in`]) sees it.
pub fn office_page(http: &reqwest::blocking::Client, url: &str, session: &str) -> String {
    http.get(url).header("cookie", session).send().unwrap().text().unwrap()
}

/// Posts a form to an office page with the session, as a browser would; the answer must
/// be the 303 back to a page, whose address is returned.
pub fn office_post(http: &reqwest::blocking::Client, url: &str, session: &str, form: &[(&str, &str)]) -> String {
    let r = http.post(url).header("cookie", session).form(form).send().unwrap();
    assert_eq!(r.status(), 303, "{url}");
    r.headers()["location"].to_str().unwrap().to_string()
}

/// Polls `f` until it gives a value, failing after `limit` (never a fixed sleep).
pub fn poll<T>(what: &str, limit: std::time::Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Runs one SQL statement on the data directory's database, as another tool (the old
/// scripts, a hand edit) would, behind jada's back.
pub fn edit_db(d: &Path, statement: &str) {
    let script = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.execute(sys.argv[2])\nc.commit()\n";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(d.join("jada-data/jada.db"))
        .arg(statement)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The LLM emulator, on a runtime of its own, for the `jada` processes a test starts.
pub struct Emulator {
    pub handle: llm_emulator::EmulatorHandle,
    _rt: tokio::runtime::Runtime,
}

pub fn emulator() -> Emulator {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let handle = rt.block_on(llm_emulator::spawn());
    Emulator { handle, _rt: rt }
}
