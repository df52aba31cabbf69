//! Secrets never reach a log line, a Debug print or an error message.

use std::io::Write;
use std::sync::{Arc, Mutex};

use google_emulator::Fault;
use jada_google::auth::CredentialFile;

use crate::support::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_secret_reaches_logs_debug_output_or_errors() {
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut env = TestEnv::new().await;
    let key = env.add_service_account("sync", &[SHEETS]);
    let user = env.add_user("office", &[SHEETS]);
    let svc = env.service();
    let mut printed = String::new();
    let mut tokens = vec![];

    // A full run: tokens, a refresh through transient failures, a probe, a revocation.
    tokens.push(svc.get("sync", &[SHEETS]).await.unwrap());
    tokens.push(svc.get("office", &[SHEETS]).await.unwrap());
    env.emu.fail_next(2, Fault::Status(503));
    tokens.push(svc.refresh("sync").await.unwrap());
    printed += &format!("{:?}\n", svc.probe("sync").await.unwrap());
    env.emu.revoke_refresh_token(user["refresh_token"].as_str().unwrap());
    env.emu.fail_next(1, Fault::MalformedJson);
    printed += &format!(
        "{}\n{:?}\n",
        svc.refresh("office").await.unwrap_err(),
        svc.refresh("office").await.unwrap_err()
    );
    for t in &tokens {
        printed += &format!("{t:?}\n");
    }
    printed += &format!(
        "{:?}\n",
        CredentialFile::load("sync", &env.secrets().join("sync.json")).unwrap()
    );
    printed += &format!(
        "{:?}\n",
        CredentialFile::load("office", &env.secrets().join("office.json")).unwrap()
    );
    printed += &format!("{:?}\n", svc.states());

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("credential failing"), "the run was logged: {logs}");
    let key_pem = key["private_key"].as_str().unwrap();
    let key_line = key_pem.lines().nth(5).unwrap();
    let mut secrets: Vec<(&str, String)> = vec![
        ("private key", key_line.to_string()),
        ("refresh token", user["refresh_token"].as_str().unwrap().to_string()),
        ("client secret", user["client_secret"].as_str().unwrap().to_string()),
    ];
    for t in &tokens {
        secrets.push(("access token", t.secret().to_string()));
    }
    for (what, secret) in &secrets {
        assert!(!logs.contains(secret.as_str()), "a {what} reached the logs");
        assert!(
            !printed.contains(secret.as_str()),
            "a {what} reached Debug output or an error:\n{printed}"
        );
    }
    assert!(printed.contains("<redacted>") && printed.contains("secrets redacted"));
}
