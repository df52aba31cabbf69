//! The README's examples work as written, together: its crew and charter CSV blocks
//! import one after the other with nothing rejected, and book dates in the future.

mod common;
use common::*;

/// The fenced ```csv blocks of the README, in order.
fn csv_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    readme
        .split("```csv\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().to_string())
        .collect()
}

#[test]
fn the_readme_examples_import_together_into_the_future() {
    let blocks = csv_blocks();
    let crew = blocks
        .iter()
        .find(|b| b.starts_with("crew_id,"))
        .expect("a crew example");
    let charters = blocks
        .iter()
        .find(|b| b.starts_with("charter_id,"))
        .expect("a charters example");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    jada(d).arg("init").assert().success();
    std::fs::write(d.join("crew.csv"), crew).unwrap();
    std::fs::write(d.join("charters.csv"), charters).unwrap();
    jada(d).args(["crew", "import", "crew.csv"]).assert().success();
    let out = jada(d)
        .args(["charters", "import", "charters.csv", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["created"], charters.lines().count() - 1);
    // Every date is still ahead (the examples stay usable for years).
    let today = chrono::Utc::now().date_naive();
    let out = jada(d)
        .args(["charters", "list", "--month", "2031-05", "--json"])
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for c in listed.as_array().unwrap() {
        let date: chrono::NaiveDate = c["charter_date"].as_str().unwrap().parse().unwrap();
        assert!(date > today, "{date} is not in the future");
    }
}

/// The README runs jada with a bare `cargo run`: that needs the workspace's default
/// members to hold exactly one binary, jada's (the emulators have binaries too).
#[test]
fn a_bare_cargo_run_runs_jada() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let defaults: Vec<&str> = meta["workspace_default_members"]
        .as_array()
        .expect("default-members in Cargo.toml")
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let bins: Vec<&str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| defaults.contains(&p["id"].as_str().unwrap()))
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"))
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(bins, ["jada"]);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    assert!(readme.contains("cargo run --release -- demo"));
}
