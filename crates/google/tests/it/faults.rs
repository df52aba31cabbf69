//! The fault matrix: every way a token request fails ends in the right state with an
//! explicit error, and none is silent.

use std::time::Duration;

use google_emulator::Fault;
use jada_google::auth::AuthError;
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn a_revoked_refresh_token_needs_reauth_and_stops_asking() {
    let mut env = TestEnv::new().await;
    let file = env.add_user("office", &[SHEETS]);
    let svc = env.service();
    svc.get("office", &[SHEETS]).await.unwrap();
    env.emu.revoke_refresh_token(file["refresh_token"].as_str().unwrap());
    env.emu.expire_access_tokens();
    env.advance(3600);

    let err = svc.get("office", &[SHEETS]).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "credential `office` needs re-auth: run `jada auth login office` (Google said: invalid_grant: Token has been expired or revoked. (HTTP 400))"
    );
    let calls = env.emu.calls("token");
    for _ in 0..20 {
        let again = svc.get("office", &[SHEETS]).await.unwrap_err();
        assert_eq!(
            again.to_string(),
            err.to_string(),
            "every caller gets the same explicit error"
        );
    }
    assert_eq!(
        env.emu.calls("token"),
        calls,
        "no retry storm: a refused credential is not asked again"
    );
    let state = env.sink.last("office");
    assert!(state.needs_reauth);
    assert_eq!(state.health(env.clock_now()), "needs-reauth");
    assert!(state
        .last_error
        .as_deref()
        .unwrap()
        .contains("Token has been expired or revoked."));

    // The operator logs in again: a new file unblocks the credential.
    std::thread::sleep(Duration::from_millis(20));
    let client = env.emu.create_oauth_client();
    write_private(
        &env.secrets().join("office.json"),
        &env.emu.create_authorized_user(&client, &[SHEETS]),
    );
    svc.get("office", &[SHEETS]).await.unwrap();
    let state = env.sink.last("office");
    assert!(
        !state.needs_reauth && state.last_error.is_none(),
        "recovered: {state:?}"
    );
}

#[tokio::test]
async fn an_invalid_client_needs_reauth() {
    let mut env = TestEnv::new().await;
    let mut file = env.add_user("office", &[SHEETS]);
    file["client_secret"] = Value::String("GOCSPX-wrong".into());
    write_private(&env.secrets().join("office.json"), &file);
    let err = env.service().get("office", &[SHEETS]).await.unwrap_err();
    assert!(matches!(err, AuthError::NeedsReauth { .. }), "{err}");
    assert!(
        err.to_string().contains("invalid_client: Unauthorized (HTTP 401)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_deleted_service_account_key_needs_a_new_key() {
    let mut env = TestEnv::new().await;
    env.add_service_account("sync", &[SHEETS]);
    env.emu
        .delete_service_account_key("sync@jada-test.iam.gserviceaccount.com");
    let err = env.service().get("sync", &[SHEETS]).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "credential `sync` needs re-auth: Google refused the key of sync@jada-test.iam.gserviceaccount.com"
        ),
        "{msg}"
    );
    assert!(msg.contains("Invalid JWT Signature."), "{msg}");
}

#[tokio::test]
async fn a_bare_401_needs_reauth_and_a_403_is_refused_without_retries() {
    let mut env = TestEnv::new().await;
    env.add_service_account("sync", &[SHEETS]);
    let svc = env.service();
    env.emu.fail_next(1, Fault::Status(401));
    assert!(matches!(
        svc.get("sync", &[SHEETS]).await.unwrap_err(),
        AuthError::NeedsReauth { .. }
    ));

    let mut env = TestEnv::new().await;
    env.add_service_account("sync", &[SHEETS]);
    let svc = env.service();
    env.emu.fail_next(5, Fault::Status(403));
    let err = svc.get("sync", &[SHEETS]).await.unwrap_err();
    assert!(matches!(err, AuthError::Refused { .. }), "{err}");
    assert_eq!(env.emu.calls("token"), 1, "a 403 is not retried");
    svc.get("sync", &[SHEETS]).await.unwrap_err();
    assert_eq!(env.emu.calls("token"), 1, "and not asked again for a minute");
    env.advance(61);
    assert!(svc.get("sync", &[SHEETS]).await.is_err());
    assert_eq!(env.emu.calls("token"), 2, "after the cool-down it is tried again");
}

#[tokio::test]
async fn transient_statuses_are_retried_with_backoff() {
    for status in [429, 500, 503] {
        let mut env = TestEnv::new().await;
        env.add_service_account("sync", &[SHEETS]);
        let svc = env.service();
        env.emu.fail_next(2, Fault::Status(status));
        svc.get("sync", &[SHEETS])
            .await
            .unwrap_or_else(|e| panic!("{status}: the third attempt succeeds: {e}"));
        assert_eq!(env.emu.calls("token"), 3, "{status}");
        assert!(env.sink.last("sync").last_error.is_none());

        env.emu.expire_access_tokens();
        env.advance(3600);
        env.emu.fail_next(3, Fault::Status(status));
        let err = svc.get("sync", &[SHEETS]).await.unwrap_err();
        assert!(
            matches!(err, AuthError::Transient { attempts: 3, .. }),
            "{status}: {err}"
        );
        assert!(err.to_string().contains(&format!("HTTP {status}")), "{err}");
        let state = env.sink.last("sync");
        assert!(
            !state.needs_reauth && state.last_error.is_some(),
            "{status}: recorded, not re-auth"
        );
        svc.get("sync", &[SHEETS]).await.unwrap();
        assert!(
            env.sink.last("sync").last_error.is_none(),
            "{status}: the next success clears it"
        );
    }
}

#[tokio::test]
async fn a_still_valid_token_is_served_while_google_is_down() {
    let mut env = TestEnv::new().await;
    env.add_service_account("sync", &[SHEETS]);
    let svc = env.service();
    let first = svc.get("sync", &[SHEETS]).await.unwrap();
    env.advance(3600 - 120); // inside the refresh-ahead window, still valid
    env.emu.fail_next(3, Fault::Status(503));
    let served = svc.get("sync", &[SHEETS]).await.unwrap();
    assert_eq!(served.secret(), first.secret(), "the cached token keeps being served");
    let state = env.sink.last("sync");
    assert!(
        state.last_error.as_deref().unwrap().contains("HTTP 503"),
        "and the failure is recorded"
    );
    assert_eq!(state.health(env.clock_now()), "degraded");
}

#[tokio::test]
async fn a_hanging_endpoint_times_out() {
    let mut env = TestEnv::new().await;
    env.opts.attempts = 1;
    env.opts.request_timeout = Duration::from_millis(300);
    env.add_service_account("sync", &[SHEETS]);
    env.emu.fail_next(1, Fault::Hang(Duration::from_secs(5)));
    let err = env.service().get("sync", &[SHEETS]).await.unwrap_err();
    assert!(matches!(err, AuthError::Transient { .. }), "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let mut env = TestEnv::new().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    env.opts.token_uri = format!("http://{closed}/token");
    env.add_service_account("sync", &[SHEETS]);
    let err = env.service().get("sync", &[SHEETS]).await.unwrap_err();
    assert!(matches!(err, AuthError::Transient { attempts: 3, .. }), "{err}");
    assert!(err.to_string().contains("connection failed"), "{err}");
}

#[tokio::test]
async fn malformed_json_is_transient() {
    let mut env = TestEnv::new().await;
    env.opts.attempts = 2;
    env.add_service_account("sync", &[SHEETS]);
    env.emu.fail_next(2, Fault::MalformedJson);
    let err = env.service().get("sync", &[SHEETS]).await.unwrap_err();
    assert!(err.to_string().contains("not JSON"), "{err}");
    assert!(
        !err.to_string().contains("ya29"),
        "the broken body is not echoed: {err}"
    );
}

#[tokio::test]
async fn clock_skew_says_check_the_clock() {
    let mut env = TestEnv::new().await;
    env.add_service_account("sync", &[SHEETS]);
    env.emu.set_clock_offset(-2 * 3600); // Google's clock is two hours behind ours
    let err = env.service().get("sync", &[SHEETS]).await.unwrap_err();
    assert!(matches!(err, AuthError::ClockSkew { .. }), "{err}");
    assert!(err.to_string().contains("clock is probably wrong"), "{err}");
    assert!(
        !env.sink.last("sync").needs_reauth,
        "a clock problem is not a re-auth problem"
    );
}

#[tokio::test]
async fn delegation_to_a_user_who_was_not_allowed_is_refused() {
    let mut env = TestEnv::new().await;
    env.add_service_account("mailer", &[SHEETS]);
    env.creds[0].subject = Some("office@example.com".into());
    let err = env.service().get("mailer", &[SHEETS]).await.unwrap_err();
    assert!(err.to_string().contains("unauthorized_client"), "{err}");
    env.emu
        .allow_delegation("mailer@jada-test.iam.gserviceaccount.com", "office@example.com");
    env.service().get("mailer", &[SHEETS]).await.unwrap();
}

impl TestEnv {
    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        jada_core::Clock::now(self.clock.as_ref())
    }
}
