//! The `jada` binary as a black box: arguments in, exit code and output out, against a
//! real SQLite file in a temporary directory.

mod common;
use common::*;

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

const CREW: &str = "crew_id,name,email,phone,captain_certified,available_dates
ana-m,Ana Martínez,ana@example.com,,yes,2024-05-03
ben-o,Ben Okafor,ben@example.com,,no,2024-05-03;2024-05-04
";

const CHARTERS: &str = "charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue,tips,status,captain,crew
11111111-1111-4111-8111-111111111111,2024-05-03,09:00,12:00,Marlin,Ada Lovelace,6,\"1,234.50\",$150,booked,ana-m,ben-o
22222222-2222-4222-8222-222222222222,5/4/2024,13:00,16:00,Sea Lion,Grace Hopper,12,$980,,confirmed,,
";

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn json_list(dir: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let out = jada(dir).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_command_explains_itself() {
    let dir = tempfile::tempdir().unwrap();
    jada(dir.path())
        .arg("--help")
        .assert()
        .success()
        .stdout(contains("charters").and(contains("demo")).and(contains("--data-dir")));
    for cmd in [
        vec!["init"],
        vec!["charters", "import"],
        vec!["charters", "list"],
        vec!["charters", "show"],
        vec!["crew", "import"],
        vec!["crew", "list"],
        vec!["demo"],
        vec!["config", "show"],
        vec!["config", "check"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        jada(dir.path())
            .args(&args)
            .assert()
            .success()
            .stdout(contains("Usage: jada"));
    }
    jada(dir.path()).arg("no-such-command").assert().code(2);
}

#[cfg(unix)]
#[test]
fn init_writes_a_config_and_a_private_secrets_dir() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    jada(dir.path())
        .args(["init", "--data-dir", "data"])
        .assert()
        .success()
        .stdout(contains("wrote jada.toml"));
    let toml = std::fs::read_to_string(dir.path().join("jada.toml")).unwrap();
    assert!(toml.contains("data_dir = \"data\""), "{toml}");
    assert!(toml.contains("# The fleet."), "the file is commented");
    let mode = std::fs::metadata(dir.path().join("data/secrets"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
    for sub in ["outbox", "reports"] {
        assert!(dir.path().join("data").join(sub).is_dir());
    }
    // A configuration written first (by hand, or kept): init keeps it and makes the data
    // directory it names.
    std::fs::write(
        dir.path().join("jada.toml"),
        "data_dir = \"mine\"\n[business]\nname = \"Blue Water\"\n",
    )
    .unwrap();
    jada(dir.path())
        .arg("init")
        .assert()
        .success()
        .stdout(contains("kept").and(contains("--force")));
    assert!(dir.path().join("mine/jada.db").is_file() && dir.path().join("mine/secrets").is_dir());
    let kept = std::fs::read_to_string(dir.path().join("jada.toml")).unwrap();
    assert!(kept.contains("Blue Water"), "untouched: {kept}");
    // A broken one is named, and left alone.
    std::fs::write(dir.path().join("jada.toml"), "[buisness]\n").unwrap();
    jada(dir.path())
        .arg("init")
        .assert()
        .code(2)
        .stderr(contains("buisness"));
    jada(dir.path()).args(["init", "--force"]).assert().success();
    // The written file is a valid configuration.
    jada(dir.path())
        .args(["config", "check"])
        .assert()
        .success()
        .stdout(contains("configuration ok (from jada.toml"));
}

#[test]
fn demo_loads_a_business_that_lists_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    jada(dir.path())
        .args(["demo", "--seed", "7", "--season", "2024"])
        .assert()
        .success()
        .stdout(
            contains("3 vessels, 15 crew")
                .and(contains("charter id"))
                .and(contains("0 unchanged")),
        );
    let again = jada(dir.path())
        .args(["demo", "--seed", "7", "--season", "2024"])
        .output()
        .unwrap();
    let shown = String::from_utf8(again.stdout).unwrap();
    assert!(shown.contains("0 created, 0 updated"), "{shown}");
    // The charters shown are in the order of the day: date, then start time.
    let slots: Vec<(chrono::NaiveDate, String)> = shown
        .lines()
        .filter_map(|l| {
            let mut cells = l.split_whitespace();
            let (month, day, time) = (cells.next()?, cells.next()?, cells.next()?);
            let date = chrono::NaiveDate::parse_from_str(&format!("{month} {day} 2024"), "%b %d %Y").ok()?;
            Some((date, time.to_string()))
        })
        .collect();
    assert!(slots.len() > 5, "{shown}");
    assert!(slots.windows(2).all(|w| w[0] <= w[1]), "in order: {slots:?}");
    let july = json_list(dir.path(), &["charters", "list", "--month", "2024-07", "--json"]);
    assert!(july.len() > 20, "a busy July: {}", july.len());
    assert!(july
        .iter()
        .all(|c| c["charter_date"].as_str().unwrap().starts_with("2024-07")));
    assert!(
        july.iter().all(|c| c["reportable_revenue"].is_i64()),
        "JSON amounts are integer cents"
    );
    let crew = json_list(dir.path(), &["crew", "list", "--json"]);
    assert_eq!(crew.len(), 15);
    let available = json_list(dir.path(), &["crew", "list", "--available-on", "2024-07-04", "--json"]);
    assert!(!available.is_empty() && available.len() < 15);
    assert!(available.iter().all(|m| m["available_dates"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d == "2024-07-04")));
    let id = july[0]["charter_id"].as_str().unwrap();
    jada(dir.path())
        .args(["charters", "show", id])
        .assert()
        .success()
        .stdout(contains(id).and(contains("chat: no messages yet")));
    jada(dir.path())
        .args(["charters", "show", "not-a-uuid"])
        .assert()
        .code(2)
        .stderr(contains("expected a UUID"));
    jada(dir.path())
        .args(["charters", "show", "99999999-9999-4999-8999-999999999999"])
        .assert()
        .code(1)
        .stderr(contains("no charter"));
}

#[test]
fn import_reports_bad_rows_and_keeps_the_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let crew = write(dir.path(), "crew.csv", CREW);
    jada(dir.path())
        .args(["crew", "import"])
        .arg(&crew)
        .assert()
        .success()
        .stdout(contains("2 created"));
    let good = write(dir.path(), "charters.csv", CHARTERS);
    jada(dir.path())
        .args(["charters", "import"])
        .arg(&good)
        .assert()
        .success()
        .stdout(contains("2 charter rows read: 2 created"));
    jada(dir.path())
        .args(["charters", "import"])
        .arg(&good)
        .assert()
        .success()
        .stdout(contains("0 created, 0 updated, 2 unchanged"));

    let bad = format!("{CHARTERS}33333333-3333-4333-8333-333333333333,2024-05-05,09:00,12:00,Marlin,Bo,4,12.345,,,,\n");
    let bad = write(
        dir.path(),
        "more.csv",
        &bad.replace("Grace Hopper,12", "Grace Hopper,13"),
    );
    jada(dir.path())
        .args(["charters", "import"])
        .arg(&bad)
        .assert()
        .code(1)
        .stdout(contains("1 updated").and(contains("rejected line 4, column reportable_revenue: `12.345`")))
        .stderr(contains("1 row(s) of"));
    let may = json_list(dir.path(), &["charters", "list", "--month", "2024-05", "--json"]);
    assert_eq!(may.len(), 2, "the bad row was not imported");
    assert_eq!(may[1]["guest_count"], 13, "the good change was");

    let report = jada(dir.path())
        .args(["charters", "import", "--json"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(report.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["rejected"][0]["location"]["line"], 4);
    assert_eq!(report["rejected"][0]["column"], "reportable_revenue");
}

#[test]
fn strict_import_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    jada(dir.path())
        .args(["crew", "import"])
        .arg(write(dir.path(), "crew.csv", CREW))
        .assert()
        .success();
    let bad = write(dir.path(), "charters.csv", &CHARTERS.replace("5/4/2024", "5/44/2024"));
    jada(dir.path())
        .args(["charters", "import", "--strict"])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(contains("--strict is set, so nothing was imported").and(contains("line 3, column charter_date")));
    assert!(json_list(dir.path(), &["charters", "list", "--month", "2024-05", "--json"]).is_empty());
}

#[test]
fn a_file_that_is_not_csv_is_a_usage_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("boat.csv");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    jada(dir.path())
        .args(["charters", "import"])
        .arg(&png)
        .assert()
        .code(2)
        .stderr(contains("boat.csv is not a CSV file"));
    let txt = write(dir.path(), "notes.txt", "hello");
    jada(dir.path())
        .args(["charters", "import"])
        .arg(&txt)
        .assert()
        .code(2)
        .stderr(contains("pass --format csv or --format json"));
    jada(dir.path())
        .args(["charters", "import", "missing.csv"])
        .assert()
        .code(2)
        .stderr(contains("cannot read missing.csv"));
    assert!(json_list(dir.path(), &["charters", "list", "--month", "2024-05", "--json"]).is_empty());
}

#[test]
fn configuration_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "jada.toml",
        "[business]\nname = \"Sails\"\ncolour = \"blue\"\n",
    );
    jada(dir.path())
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(contains("business.colour").and(contains(
            "`colour` is not a known key here: the known ones are name, time_zone",
        )));
    write(dir.path(), "jada.toml", "[business]\ntime_zone = \"Mars/Base\"\n");
    jada(dir.path())
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(contains("business.time_zone").and(contains("IANA")));
    write(dir.path(), "jada.toml", "[alerts]\nremind_every = \"often\"\n");
    jada(dir.path())
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(contains("alerts.remind_every"));
    write(dir.path(), "jada.toml", "[[vessels]]\nname = \"Tern\"\ncrew = []\n");
    jada(dir.path())
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(contains("vessels").and(contains("no crew tiers")));
    std::fs::remove_file(dir.path().join("jada.toml")).unwrap();
    jada(dir.path())
        .args(["config", "check"])
        .env("JADA_SERVER__LISTEN", "nowhere")
        .assert()
        .code(2)
        .stderr(contains("server.listen"));
    jada(dir.path())
        .args(["config", "check", "--config", "elsewhere.toml"])
        .assert()
        .code(2)
        .stderr(contains("jada init --config elsewhere.toml"));
    jada(dir.path())
        .args(["config", "check"])
        .env("JADA_CONFIG", "gone.toml")
        .assert()
        .code(2)
        .stderr(contains("gone.toml does not exist"));
}

#[test]
fn environment_overrides_the_file_and_flags_override_both() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "jada.toml",
        "data_dir = \"from-file\"\n[business]\nname = \"File Sails\"\n",
    );
    let shown =
        |cmd: &mut Command| -> serde_json::Value { serde_json::from_slice(&cmd.output().unwrap().stdout).unwrap() };
    let c = shown(jada(dir.path()).args(["config", "show", "--json"]));
    assert_eq!(
        (c["business"]["name"].as_str(), c["data_dir"].as_str()),
        (Some("File Sails"), Some("from-file"))
    );
    let c = shown(
        jada(dir.path())
            .args(["config", "show", "--json"])
            .env("JADA_BUSINESS__NAME", "Env Sails")
            .env("JADA_DATA_DIR", "from-env"),
    );
    assert_eq!(
        (c["business"]["name"].as_str(), c["data_dir"].as_str()),
        (Some("Env Sails"), Some("from-env"))
    );
    let c = shown(
        jada(dir.path())
            .args(["config", "show", "--json", "--data-dir", "from-flag"])
            .env("JADA_DATA_DIR", "from-env"),
    );
    assert_eq!(c["data_dir"].as_str(), Some("from-flag"));
    assert_eq!(
        c["business"]["time_zone"].as_str(),
        Some("America/Los_Angeles"),
        "defaults fill the rest"
    );
}

#[test]
fn variables_read_elsewhere_are_not_configuration_keys() {
    let dir = tempfile::tempdir().unwrap();
    jada(dir.path())
        .args(["config", "check"])
        .env("JADA_ADMIN_TOKEN", "x")
        .env("JADA_LOG", "warn")
        .assert()
        .success();
    jada(dir.path())
        .args(["config", "check"])
        .env("JADA_COLOUR", "blue")
        .assert()
        .code(2)
        .stderr(contains("colour"));
}

#[test]
fn config_show_redacts_webhook_secrets() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "jada.toml",
        "[[alerts.webhook]]\nurl = \"https://hooks.slack.com/services/T000/B000/s3cr3tT0k3n\"\n",
    );
    jada(dir.path())
        .args(["config", "show"])
        .assert()
        .success()
        .stdout(contains("https://hooks.slack.com/<redacted>").and(contains("s3cr3tT0k3n").not()));
}

#[test]
fn a_misspelt_job_or_job_setting_is_refused_naming_the_nearest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("jada.toml"), "[jobs.port-shet]\nspreadsheet_id = \"1abc\"\n").unwrap();
    jada(d)
        .args(["config", "check"])
        .assert()
        .code(2)
        .stderr(contains("`[jobs.port-shet]`: no such job; did you mean `port-sheet`?"));
    jada(d)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .assert()
        .code(2)
        .stderr(contains("did you mean `port-sheet`?"));
    std::fs::write(
        d.join("jada.toml"),
        "[[credentials]]\nname = \"w\"\nfile = \"w.json\"\nscopes = [\"x\"]\n[jobs.port-sheet]\nspreadshet_id = \"1abc\"\ncredential = \"w\"\n",
    )
    .unwrap();
    jada(d).args(["config", "check"]).assert().code(2).stderr(contains(
        "invalid configuration key `jobs.port-sheet.spreadshet_id`: job `port-sheet` has no such setting; did you mean `spreadsheet_id`?",
    ));
    // A job of your own has a command, and then only the common settings.
    std::fs::write(
        d.join("jada.toml"),
        "[jobs.backup]\ncommand = [\"true\"]\nschedule = \"every 1h\"\n",
    )
    .unwrap();
    jada(d).args(["config", "check"]).assert().success();
}

#[test]
fn a_reading_command_without_a_data_directory_says_so_and_makes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for args in [
        vec!["charters", "list"],
        vec!["crew", "list"],
        vec!["jobs", "list"],
        vec!["report", "monthly", "--month", "2024-07"],
    ] {
        jada(d)
            .args(&args)
            .assert()
            .code(2)
            .stderr(contains("no jada data directory at ./jada-data").and(contains("jada init")));
    }
    assert!(!d.join("jada-data").exists(), "nothing was made");
    // `init` makes one; then the same commands answer.
    jada(d).args(["init"]).assert().success();
    jada(d).args(["charters", "list"]).assert().success();
}

#[test]
fn control_characters_huge_names_and_absurd_amounts_are_refused_at_import() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    jada(d).arg("init").assert().success();
    let long = "x".repeat(1_500_000);
    let csv = format!(
        "charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue,status\n\
         10000000-0000-4000-8000-000000000001,2031-07-12,10:00,13:00,Marlin,\"Ada \u{1b}[2J\",4,900,booked\n\
         10000000-0000-4000-8000-000000000002,2031-07-12,14:00,16:00,Marlin,{long},4,900,booked\n\
         10000000-0000-4000-8000-000000000003,2031-07-13,10:00,13:00,Marlin,Grace,4,92233720368547758.07,booked\n\
         10000000-0000-4000-8000-000000000004,2031-07-13,14:00,16:00,Marlin,Fine Guest,4,900,booked\n"
    );
    std::fs::write(d.join("c.csv"), csv).unwrap();
    let out = jada(d).args(["charters", "import", "c.csv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 created") && text.contains("3 rejected"), "{text}");
    assert!(text.contains("control character U+001B"), "{text}");
    assert!(text.contains("the limit is 200"), "{}", &text[..text.len().min(2000)]);
    assert!(
        text.contains("ceiling of $10,000,000.00"),
        "{}",
        &text[..text.len().min(2000)]
    );
    std::fs::write(
        d.join("crew.csv"),
        "crew_id,name,email,phone,captain_certified,available_dates\nana,\"Ana \u{202e}evil\",ana@example.com,,yes,\nbo,Bo,bo@example.com,\"555\u{7}\",no,\ncy,Cy,cy@example.com,,no,\n",
    )
    .unwrap();
    let out = jada(d).args(["crew", "import", "crew.csv"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 created") && text.contains("2 rejected"), "{text}");
    assert!(text.contains("U+202E") && text.contains("U+0007"), "{text}");
}

#[test]
fn a_loose_secrets_folder_is_refused_by_every_command_that_would_use_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init_with_a_captain(d);
    jada(d).args(["dispatch", "link", "cap"]).assert().success();
    let secrets = d.join("jada-data/secrets");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(secrets.join("link-keys.json"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let chmod_dir = "chmod 700";
    for args in [
        vec!["config", "check"],
        vec!["dispatch", "link", "cap"],
        vec!["doctor"],
        vec!["serve", "--listen", "127.0.0.1:0"],
    ] {
        let out = jada(d)
            .args(&args)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} went on with a loose secrets folder");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(chmod_dir), "{args:?}: {stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.contains("/c/"),
            "{args:?} printed a link signed with a loose key"
        );
    }
    let out = jada(d).args(["config", "check"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("link-keys.json"),
        "each loose file is named"
    );
    jada(d).args(["auth", "harden"]).assert().success();
    jada(d).args(["config", "check"]).assert().success();
    jada(d).args(["dispatch", "link", "cap"]).assert().success();
}

#[test]
fn logs_written_to_a_file_or_a_pipe_have_no_colour_codes_and_json_is_one_object_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = jada(dir.path()).env("JADA_LOG", "info").arg("init").output().unwrap();
    assert!(out.status.success());
    let log = String::from_utf8(out.stderr).unwrap();
    assert!(log.contains("Database migrated"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "no escape codes where no terminal reads them: {log:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = jada(dir.path())
        .env("JADA_LOG", "info")
        .env("JADA_LOG_FORMAT", "json")
        .arg("init")
        .output()
        .unwrap();
    assert!(out.status.success());
    let log = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "INFO" && l["fields"]["message"].as_str().is_some_and(|m| m.contains("migrated"))),
        "{log}"
    );

    let out = jada(dir.path())
        .env("JADA_LOG_FORMAT", "xml")
        .arg("init")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("use `text` (the default) or `json`"));
}

#[test]
fn store_check_on_the_embedded_default_says_it_is_sqlite_and_asks_no_one() {
    let dir = tempfile::tempdir().unwrap();
    jada(dir.path()).arg("init").assert().success();
    // No AWS: an endpoint nobody listens on would only be tried by a DynamoDB store.
    let out = jada(dir.path())
        .args(["store", "check"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("this store is SQLite") && text.contains("jada.db"),
        "{text}"
    );
    assert!(
        out.stderr.is_empty(),
        "no credential-chain warnings: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = jada(dir.path()).args(["store", "check", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["ok"].as_bool(), v["backend"].as_str()), (Some(true), Some("sqlite")));
}

#[test]
fn an_import_never_books_a_vessel_twice_and_names_the_charter_in_the_way() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    jada(d).arg("init").assert().success();
    std::fs::write(
        d.join("day.csv"),
        "charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue\n\
         10000000-0000-4000-8000-000000000001,2031-07-04,09:00,12:00,Marlin,Ana Early,4,800\n\
         10000000-0000-4000-8000-000000000002,2031-07-04,10:00,11:00,Marlin,Ben Inside,2,300\n\
         10000000-0000-4000-8000-000000000003,2031-07-04,12:00,14:00,Marlin,Cy Next,2,300\n\
         10000000-0000-4000-8000-000000000004,2031-07-04,10:00,11:00,Pelican,Di Other,2,300\n",
    )
    .unwrap();
    let out = jada(d).args(["charters", "import", "day.csv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(said.contains("3 created") && said.contains("1 rejected"), "{said}");
    assert!(
        said.contains("line 3")
            && said.contains("10000000-0000-4000-8000-000000000001")
            && said.contains("09:00–12:00")
            && said.contains("Ana Early"),
        "the line, and the charter in the way: {said}"
    );
    let july = json_list(d, &["charters", "list", "--month", "2031-07", "--json"]);
    assert_eq!(
        july.len(),
        3,
        "back to back and another vessel are bookings like any other"
    );
}

#[test]
fn charters_check_lists_overlaps_written_before_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    jada(d).arg("init").assert().success();
    std::fs::write(
        d.join("day.csv"),
        "charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue\n\
         10000000-0000-4000-8000-000000000001,2031-07-04,09:00,12:00,Marlin,Ana Early,4,800\n\
         10000000-0000-4000-8000-000000000002,2031-07-04,13:00,15:00,Marlin,Ben Later,2,300\n",
    )
    .unwrap();
    jada(d).args(["charters", "import", "day.csv"]).assert().success();
    jada(d)
        .args(["charters", "check", "--from", "2031-07-01", "--to", "2031-07-31"])
        .assert()
        .success()
        .stdout(contains("no vessel is booked twice at once"));
    // What the old scripts (or an older jada) could write: the same boat twice at 10:00.
    edit_db(
        d,
        "UPDATE charters SET start_time = '10:00:00', end_time = '11:00:00' WHERE guest_name = 'Ben Later'",
    );
    let out = jada(d)
        .args([
            "charters",
            "check",
            "--from",
            "2031-07-01",
            "--to",
            "2031-07-31",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let pairs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0]["charter"]["guest_name"], "Ana Early");
    assert_eq!(pairs[0]["overlaps"]["guest_name"], "Ben Later");
    let text = jada(d)
        .args(["charters", "check", "--from", "2031-07-01", "--to", "2031-07-31"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("1 overlap (cancel or move one of each"));
    // Reading them is never refused, and an update that keeps the slot goes through.
    let july = json_list(d, &["charters", "list", "--month", "2031-07", "--json"]);
    assert_eq!(july.len(), 2);
    std::fs::write(
        d.join("more.csv"),
        "charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue\n\
         10000000-0000-4000-8000-000000000002,2031-07-04,10:00,11:00,Marlin,Ben Later,3,300\n",
    )
    .unwrap();
    jada(d).args(["charters", "import", "more.csv"]).assert().success();
}

#[test]
fn a_demo_never_merges_into_another_business() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    jada(d)
        .args(["demo", "--seed", "7", "--season", "2024"])
        .assert()
        .success();
    let before = json_list(d, &["charters", "list", "--month", "2024-07", "--json"]).len();
    let out = jada(d)
        .args(["demo", "--seed", "8", "--season", "2024"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("merge two businesses") && err.contains("--data-dir"),
        "{err}"
    );
    assert_eq!(
        json_list(d, &["charters", "list", "--month", "2024-07", "--json"]).len(),
        before,
        "nothing written"
    );
    // The same demo again is still a no-op.
    jada(d)
        .args(["demo", "--seed", "7", "--season", "2024"])
        .assert()
        .success()
        .stdout(contains("0 created, 0 updated"));
}

/// The terminal's cancel and reinstate: the cancel says how to take it back, reinstate
/// brings the status back, and asking twice says there is nothing to reinstate.
#[test]
fn a_charter_cancelled_from_the_terminal_is_reinstated_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    charter_business(d, free_port(), "");
    let out = jada(d).args(["charters", "cancel", CHARTER]).assert().success();
    let said = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(said.contains(&format!("jada charters reinstate {CHARTER}")), "{said}");
    assert!(said.contains("within 72 hours"), "{said}");
    let out = jada(d)
        .args(["charters", "reinstate", CHARTER, "--json"])
        .assert()
        .success();
    let r: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(r["charter"]["status"], "booked", "{r}");
    let out = jada(d).args(["charters", "reinstate", CHARTER]).assert().code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("is booked, not cancelled: there is nothing to reinstate"),
        "{err}"
    );
    let out = jada(d).args(["charters", "show", CHARTER]).assert().success();
    let shown = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        shown.contains("(cli): back to booked (it was cancelled 0m ago)"),
        "{shown}"
    );
}

/// Tables for people fit 100 columns when printed to a file or a pipe: each row one line,
/// a long value shortened with `…`; `--json` keeps every value whole.
#[test]
fn cli_tables_fit_a_hundred_columns_and_json_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    jada(d).arg("demo").assert().success();
    let month = {
        let out = jada(d).args(["charters", "list", "--json"]).output().unwrap();
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        list[0]["charter_id"].as_str().unwrap().to_string()
    };
    let commands: [&[&str]; 8] = [
        &["charters", "list"],
        &["charters", "show", &month],
        &["crew", "list"],
        &["jobs", "list"],
        &["jobs", "history", "outbox"],
        &["dispatch", "explain", &month],
        &["agent", "playbooks"],
        &["auth", "status"],
    ];
    let mut shortened = 0;
    for args in commands {
        let out = jada(d).args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        for line in text.lines() {
            assert!(
                line.chars().count() <= 100,
                "`jada {}` prints {} columns:\n{line}",
                args.join(" "),
                line.chars().count()
            );
        }
        shortened += text.matches('…').count();
    }
    assert!(shortened > 0, "the demo has values too long for 100 columns");
    let out = jada(d).args(["crew", "list", "--json"]).output().unwrap();
    let crew: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(crew[0]["email"], "ana-m@crew.example.com", "whole in JSON");
}

/// Doctor names a double booking still ahead (written before jada refused them), with
/// both charters and what to do; reading it changes nothing.
#[test]
fn doctor_lists_a_vessel_booked_twice_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    jada(d).arg("init").assert().success();
    let day = (chrono::Utc::now() + chrono::Duration::days(30)).date_naive();
    std::fs::write(
        d.join("day.csv"),
        format!(
            "charter_id,charter_date,start_time,end_time,vessel_name,guest_name,guest_count,reportable_revenue\n\
             10000000-0000-4000-8000-000000000001,{day},09:00,12:00,Marlin,Ana Early,4,800\n\
             10000000-0000-4000-8000-000000000002,{day},13:00,15:00,Marlin,Ben Later,2,300\n"
        ),
    )
    .unwrap();
    jada(d).args(["charters", "import", "day.csv"]).assert().success();
    let doctor = || {
        let out = jada(d).args(["doctor", "--json"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["findings"].as_array().unwrap().clone()
    };
    let twice = |findings: &[serde_json::Value]| {
        findings
            .iter()
            .filter(|f| f["what"].as_str().unwrap().contains("booked twice"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(twice(&doctor()).is_empty());
    edit_db(
        d,
        "UPDATE charters SET start_time = '10:00:00', end_time = '11:00:00' WHERE guest_name = 'Ben Later'",
    );
    let found = twice(&doctor());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["ok"], false);
    let what = found[0]["what"].as_str().unwrap();
    assert_eq!(
        what,
        format!("Marlin is booked twice on {day}: 09:00–12:00 (Ana Early, 10000000-0000-4000-8000-000000000001) and 10:00–11:00 (Ben Later, 10000000-0000-4000-8000-000000000002)")
    );
    assert!(found[0]["fix"].as_str().unwrap().contains("jada charters check"));
}

/// Runs jada under `umask`, as a person's shell would.
fn jada_under(umask: &str, d: &Path, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(assert_cmd::cargo::cargo_bin("jada"))
        .args(args)
        .current_dir(d)
        .env_remove("JADA_DATA_DIR")
        .env_remove("JADA_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jada {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every path under `root` whose mode lets anyone but its owner in, with its mode.
fn open_to_others(root: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        let mode = std::fs::symlink_metadata(&p).unwrap().permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            out.push(format!("{:o} {}", mode, p.display()));
        }
        if p.is_dir() {
            todo.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        }
    }
    out.sort();
    out
}

/// Whatever the umask (000 lets everyone write, 022 everyone read), everything jada
/// writes is its user's alone: the configuration, the data directory and all in it — the
/// database and its WAL, mail in the outbox, reports, statements, the lock and
/// daemon.json of a running daemon.
#[test]
fn everything_jada_writes_is_private_whatever_the_umask() {
    for umask in ["000", "022"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        jada_under(umask, d, &["init"]);
        jada_under(umask, d, &["demo", "--season", "2024"]);
        jada_under(umask, d, &["report", "monthly", "--month", "2024-07"]);
        jada_under(umask, d, &["statements", "send", "--month", "2024-07", "--dry-run"]);
        jada_under(umask, d, &["statements", "send", "--month", "2024-07"]);
        jada_under(umask, d, &["api-key", "create", "site"]);
        // A running daemon: its lock, daemon.json and readiness probe.
        let mut serve = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask}; exec \"$0\" serve --listen 127.0.0.1:0"))
            .arg(assert_cmd::cargo::cargo_bin("jada"))
            .current_dir(d)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let ready = {
            use std::io::BufRead;
            let mut lines = std::io::BufReader::new(serve.stdout.take().unwrap()).lines();
            let ready = lines
                .by_ref()
                .map(|l| l.unwrap())
                .find(|l| l.starts_with("jada is running at "))
                .unwrap();
            std::thread::spawn(move || for _ in lines {});
            ready
        };
        let url = ready
            .trim_start_matches("jada is running at ")
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        let _daemon = Running(serve);
        assert_eq!(client().get(format!("{url}/readyz")).send().unwrap().status(), 200);
        poll("daemon.json", Duration::from_secs(10), || {
            d.join("jada-data/daemon.json").exists().then_some(())
        });
        let data = d.join("jada-data");
        for made in [
            "jada.db",
            "jada.db-wal",
            "daemon.lock",
            "daemon.json",
            "reports",
            "outbox",
            "statements",
        ] {
            assert!(data.join(made).exists(), "{made} under umask {umask}");
        }
        let mut open = open_to_others(&data);
        open.extend(open_to_others(&d.join("jada.toml")));
        assert!(
            open.is_empty(),
            "under umask {umask}, open to others:\n{}",
            open.join("\n")
        );
    }
}

/// What an older jada (or a hand copy) left open to others is made private when the
/// daemon starts, and by `jada auth harden`, each change said.
#[test]
fn files_an_older_jada_left_open_are_made_private_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    jada(d).args(["demo", "--season", "2024"]).assert().success();
    jada(d)
        .args(["report", "monthly", "--month", "2024-07"])
        .assert()
        .success();
    let data = d.join("jada-data");
    let loosen =
        |path: &Path, mode: u32| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    loosen(&data.join("jada.db"), 0o644);
    loosen(&data.join("reports"), 0o755);
    for e in std::fs::read_dir(data.join("reports")).unwrap() {
        loosen(&e.unwrap().path(), 0o666);
    }
    loosen(&data, 0o750);
    assert!(!open_to_others(&data).is_empty());
    let harden = jada(d)
        .args(["auth", "harden"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let said = String::from_utf8_lossy(&harden).to_string();
    assert!(said.contains("jada.db: 0644 -> 0600"), "{said}");
    assert!(open_to_others(&data).is_empty(), "{:?}", open_to_others(&data));

    // Again, and the daemon's start does the same.
    loosen(&data.join("jada.db"), 0o664);
    loosen(&data.join("reports"), 0o777);
    let (child, _url) = serve(d);
    let _daemon = Running(child);
    assert!(open_to_others(&data).is_empty(), "{:?}", open_to_others(&data));
}

/// A daemon.json someone planted (a pid that does not hold the lock, or a file others
/// may write) is not trusted: doctor sends no admin token there and reads the store,
/// and no link points at the planted address.
#[test]
fn a_planted_daemon_json_gets_no_token_and_no_link() {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    jada(d).arg("init").assert().success();
    jada(d).arg("demo").assert().success();
    // The admin token exists, as after a first start.
    let token = d.join("jada-data/secrets/admin-token");
    std::fs::write(&token, "a".repeat(64)).unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Someone else's listener, and a process holding the lock that is not the pid named.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let lock = d.join("jada-data/daemon.lock");
    let mut holder = std::process::Command::new("python3")
        .arg("-c")
        .arg("import fcntl, sys, time\nf = open(sys.argv[1], 'a')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)\n")
        .arg(&lock)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut held = [0u8; 4];
    holder.stdout.take().unwrap().read_exact(&mut held).unwrap();
    let holder = Running(holder);
    let json = d.join("jada-data/daemon.json");
    for (pid, mode) in [(1, 0o600), (holder.0.id(), 0o666)] {
        std::fs::write(
            &json,
            format!("{{\"pid\": {pid}, \"addr\": \"{addr}\", \"office_users\": [\"x@example.com\"]}}"),
        )
        .unwrap();
        std::fs::set_permissions(&json, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = jada(d).args(["doctor"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("the daemon is not running"),
            "read from the store instead: {text}"
        );
        let out = jada(d).args(["dispatch", "link", "ana-m"]).output().unwrap();
        let link = String::from_utf8_lossy(&out.stdout);
        assert!(!link.contains(&addr.to_string()), "{link}");
        assert!(
            listener.accept().is_err(),
            "nothing reached the planted address (pid {pid}, mode {mode:o})"
        );
    }
}

/// A configuration every user may write (they could add a `command` job that jada then
/// runs as its user) and a data directory every user may write in are refused at start,
/// naming the `chmod`; nothing runs.
#[test]
fn a_config_or_data_directory_anyone_may_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    jada(d).arg("init").assert().success();
    let toml = d.join("jada.toml");
    std::fs::write(
        &toml,
        "[jobs.pwn]\ncommand = [\"/bin/sh\", \"-c\", \"touch pwned\"]\nschedule = \"every 1h\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&toml, std::fs::Permissions::from_mode(0o666)).unwrap();
    for args in [&["config", "check"][..], &["jobs", "run", "pwn"], &["doctor"]] {
        let out = jada(d).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "jada {}", args.join(" "));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("every user may write it (mode 666)") && err.contains("chmod go-w"),
            "{err}"
        );
    }
    assert!(!d.join("pwned").exists());
    std::fs::set_permissions(&toml, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Where the test may give the file away (as root): `command` jobs from a file of
    // another user are refused, whatever its mode.
    if std::fs::metadata(d)
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap()
        == 0
    {
        std::os::unix::fs::chown(&toml, Some(65534), None).unwrap();
        let out = jada(d).args(["jobs", "run", "pwn"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("defines `command` jobs but belongs to uid 65534"), "{err}");
        std::os::unix::fs::chown(&toml, Some(0), None).unwrap();
    }
    assert!(!d.join("pwned").exists());
    jada(d).args(["config", "check"]).assert().success();
    let data = d.join("jada-data");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = jada(d).args(["charters", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing the data directory") && err.contains("chmod 700"),
        "{err}"
    );
    // Readable by others: it runs, and doctor says what to do.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = jada(d).args(["doctor", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["what"]
                .as_str()
                .unwrap()
                .contains("is open to other users (mode 755)")
        })
        .cloned()
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(found["ok"], false);
    assert!(found["fix"].as_str().unwrap().contains("chmod 700"));
}
