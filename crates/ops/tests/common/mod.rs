//! Helpers shared by the ops tests, on top of `jada-testkit`.
#![allow(dead_code)] // each test binary uses a different subset

pub mod agent;

#[allow(unused_imports)] // not every test binary reads files back
pub use jada_testkit::{python, run_python};

/// A Google client for credential "workspace": a new service account `account` on the
/// emulator (acting as `subject` when given, with delegation allowed), its key file
/// written 0600 in `dir`, and a token service for `scopes`.
pub async fn client(
    emu: &google_emulator::EmulatorHandle,
    dir: &std::path::Path,
    account: &str,
    scopes: &[&str],
    subject: Option<&str>,
) -> jada_google::client::GoogleClient {
    let cred = jada_testkit::service_account(emu, dir, "workspace", account, scopes, subject);
    jada_testkit::google_client(emu, jada_testkit::token_service(emu, vec![cred]), "workspace")
}
