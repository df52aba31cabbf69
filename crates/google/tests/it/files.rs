//! The token cache file and the permissions of secrets.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use jada_google::auth::cache_file::{self, CacheEntry};
use jada_google::auth::AuthError;
use rand::Rng;
use secrecy::SecretString;

use crate::support::*;

#[tokio::test]
async fn tokens_are_shared_through_a_private_cache_file() {
    let mut env = TestEnv::new().await;
    env.add_service_account("sync", &[SHEETS]);
    let token = env.service().get("sync", &[SHEETS]).await.unwrap();
    let path = env.secrets().join("unified-token.json");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        json["credentials"]["sync"]["access_token"],
        token.secret(),
        "other programs can read it"
    );
    assert_eq!(json["credentials"]["sync"]["token_type"], "Bearer");

    // A second process (a fresh service) starts from the file: no request.
    let again = env.service().get("sync", &[SHEETS]).await.unwrap();
    assert_eq!(again.secret(), token.secret());
    assert_eq!(env.emu.calls("token"), 1);
}

#[tokio::test]
async fn a_damaged_cache_file_is_rebuilt_not_fatal() {
    let mut env = TestEnv::new().await;
    env.add_service_account("sync", &[SHEETS]);
    let path = env.secrets().join("unified-token.json");
    std::fs::write(&path, "{\"version\": 1, \"credentials\": {\"sync\": {\"access_to").unwrap();
    let token = env.service().get("sync", &[SHEETS]).await.unwrap();
    let rebuilt = cache_file::read(&path).expect("the file parses again");
    assert_eq!(rebuilt.len(), 1);
    assert!(token.expires_at() > env.clock_now());
}

#[tokio::test]
async fn loose_permissions_are_refused_with_the_fix() {
    let mut env = TestEnv::new().await;
    let path = env.secrets().join("sync.json");
    env.add_service_account("sync", &[SHEETS]);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = env.service().get("sync", &[SHEETS]).await.unwrap_err();
    assert!(matches!(err, AuthError::Permissions { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("run `chmod 600 {}`", path.display())),
        "{err}"
    );
    assert_eq!(env.emu.calls("token"), 0, "a loose key is never sent anywhere");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(env.secrets(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = env.service().get("sync", &[SHEETS]).await.unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("run `chmod 700 {}`", env.secrets().display())),
        "{err}"
    );

    let changed = jada_google::secret_files::harden(&env.secrets(), &[]).unwrap();
    assert!(!changed.is_empty());
    env.service().get("sync", &[SHEETS]).await.unwrap();
}

#[tokio::test]
async fn a_credential_file_that_is_not_a_key_is_named_without_its_contents() {
    let mut env = TestEnv::new().await;
    let file = serde_json::json!({"type": "external_account", "secret": "hunter2-do-not-print"});
    env.add("odd", &file, &[SHEETS]);
    let err = env.service().get("odd", &[SHEETS]).await.unwrap_err();
    assert!(err.to_string().contains("is a `external_account` credential"), "{err}");
    assert!(!err.to_string().contains("hunter2"));
    std::fs::write(env.secrets().join("odd.json"), "{ not json").unwrap();
    let err = env.service().get("odd", &[SHEETS]).await.unwrap_err();
    assert!(
        err.to_string().contains("is not valid JSON (line 1, column 3)"),
        "{err}"
    );
}

const WRITER_ENV: &str = "JADA_TEST_TOKEN_WRITER";

/// Not a test of its own: the child process of the SIGKILL test. It rewrites the cache
/// file as fast as it can until it is killed.
#[test]
fn token_writer_child() {
    let Ok(path) = std::env::var(WRITER_ENV) else { return };
    let entry = |i: u64| CacheEntry {
        access_token: SecretString::from(format!("ya29.child-{i}-{}", "x".repeat(200))),
        expires_at: chrono::Utc::now(),
        scopes: vec![SHEETS.into(), DRIVE.into()],
        account: format!("writer-{i}@example.com"),
    };
    for i in 0.. {
        let entries = (0..100).map(|n| (format!("cred-{n}"), entry(i))).collect();
        cache_file::write_all(std::path::Path::new(&path), &entries).unwrap();
    }
}

#[test]
fn the_cache_file_always_parses_when_its_writer_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unified-token.json");
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rng();
    let mut killed_after_a_write = 0;
    for round in 0..200 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "files::token_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER_ENV, &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(5..40)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if path.exists() {
            killed_after_a_write += 1;
            let entries = cache_file::read(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert_eq!(entries.len(), 100, "round {round}: a whole file, never a part");
        }
    }
    assert!(
        killed_after_a_write > 150,
        "most kills landed after the first write ({killed_after_a_write})"
    );
}
