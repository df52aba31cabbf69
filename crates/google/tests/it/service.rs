//! Caching, refresh ahead of expiry, single flight, scopes, probes, the background refresher.

use std::sync::Arc;

use jada_google::auth::{classify_api_refusal, AuthError};
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn tokens_are_cached_and_refreshed_ahead_of_expiry() {
    let mut env = TestEnv::new().await;
    env.add_service_account("sync", &[SHEETS, DRIVE]);
    let svc = env.service();
    let a = svc.get("sync", &[SHEETS]).await.unwrap();
    let b = svc.get("sync", &[DRIVE, SHEETS]).await.unwrap();
    assert_eq!(a.secret(), b.secret());
    assert_eq!(env.emu.calls("token"), 1, "served from cache");
    let state = env.sink.last("sync");
    assert_eq!(state.account, "sync@jada-test.iam.gserviceaccount.com");
    assert_eq!(state.expires_at, Some(a.expires_at()));

    env.advance(3600 - 6 * 60);
    svc.get("sync", &[SHEETS]).await.unwrap();
    assert_eq!(env.emu.calls("token"), 1, "six minutes left: still served");
    env.advance(2 * 60);
    let c = svc.get("sync", &[SHEETS]).await.unwrap();
    assert_eq!(
        env.emu.calls("token"),
        2,
        "four minutes left: refreshed ahead of expiry"
    );
    assert_ne!(c.secret(), a.secret());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_callers_on_an_expired_token_cause_one_request() {
    let mut env = TestEnv::new().await;
    env.add_service_account("sync", &[SHEETS]);
    let svc = Arc::new(env.service());
    svc.get("sync", &[SHEETS]).await.unwrap();
    env.advance(3600);
    let calls_before = env.emu.calls("token");
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let svc = Arc::clone(&svc);
            tokio::spawn(async move { svc.get("sync", &[SHEETS]).await.map(|t| t.secret().to_string()) })
        })
        .collect();
    let mut tokens = std::collections::HashSet::new();
    for t in tasks {
        tokens.insert(t.await.unwrap().unwrap());
    }
    assert_eq!(
        env.emu.calls("token") - calls_before,
        1,
        "exactly one refresh for 1,000 callers"
    );
    assert_eq!(tokens.len(), 1, "and all of them got its token");
}

#[tokio::test]
async fn scopes_must_be_configured() {
    let mut env = TestEnv::new().await;
    env.add_service_account("sync", &[SHEETS]);
    let svc = env.service();
    let err = svc.get("sync", &[SHEETS, DRIVE]).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "credential `sync` is not configured for scope `{DRIVE}`: add it to the credential's `scopes` in jada.toml"
        )
    );
    assert_eq!(env.emu.calls("token"), 0, "asked nobody");
    let err = svc.get("nobody", &[SHEETS]).await.unwrap_err();
    assert!(matches!(err, AuthError::UnknownCredential { .. }));
    assert!(err.to_string().contains("(configured: sync)"), "{err}");
}

#[tokio::test]
async fn an_api_refusing_a_scope_surfaces_as_a_scope_error() {
    let mut env = TestEnv::new().await;
    env.add_service_account("sync", &[SHEETS]);
    let token = env.service().get("sync", &[SHEETS]).await.unwrap();
    let http = reqwest::Client::new();
    let about = format!("{}/drive/v3/about", env.emu.base_url());
    let resp = http
        .get(&about)
        .header("Authorization", token.bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["errors"][0]["reason"], "insufficientPermissions");
    let err = classify_api_refusal("sync", 403, &body).unwrap();
    assert!(matches!(err, AuthError::InsufficientScope { .. }));
    assert!(
        err.to_string()
            .starts_with("credential `sync` lacks a scope this call needs"),
        "{err}"
    );

    let resp = http.get(&about).send().await.unwrap();
    assert_eq!(resp.status(), 401, "no token");
    assert!(resp.headers().contains_key("www-authenticate"));
    let resp = http
        .get(&about)
        .header("Authorization", "Bearer ya29.made-up")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "unknown token");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");

    let mut env = TestEnv::new().await;
    env.add_service_account("files", &[DRIVE]);
    let token = env.service().get("files", &[DRIVE]).await.unwrap();
    let about = format!("{}/drive/v3/about", env.emu.base_url());
    let body: Value = http
        .get(&about)
        .header("Authorization", token.bearer())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["user"]["emailAddress"], "files@jada-test.iam.gserviceaccount.com");
}

#[tokio::test]
async fn probes_compare_granted_scopes_with_configured_ones() {
    let mut env = TestEnv::new().await;
    env.add_service_account("sync", &[SHEETS, DRIVE]);
    let file = env.add_user("office", &[SHEETS]);
    let svc = env.service();
    let p = svc.probe("sync").await.unwrap();
    assert!(p.ok, "{p:?}");
    assert_eq!(p.granted, vec![SHEETS.to_string(), DRIVE.to_string()]);
    assert!(p.expires_in.unwrap() > 3500);
    assert_eq!(env.emu.calls("tokeninfo"), 1);
    let state = env.sink.last("sync");
    assert_eq!(state.last_probe_ok, Some(true));

    env.emu.revoke_refresh_token(file["refresh_token"].as_str().unwrap());
    let p = svc.probe("office").await.unwrap();
    assert!(!p.ok);
    assert!(p.problem.unwrap().contains("needs re-auth"));
    assert_eq!(env.sink.last("office").last_probe_ok, Some(false));
}

#[tokio::test]
async fn the_background_refresher_keeps_tokens_fresh() {
    let mut env = TestEnv::new().await;
    env.add_service_account("sync", &[SHEETS]);
    env.add_service_account("files", &[DRIVE]);
    let svc = env.service();
    let wait = svc.refresh_due().await;
    assert_eq!(env.emu.calls("token"), 2, "both fetched at start");
    assert_eq!(
        wait,
        std::time::Duration::from_secs(300),
        "it looks again at least every five minutes"
    );
    svc.refresh_due().await;
    assert_eq!(env.emu.calls("token"), 2, "nothing due yet");
    env.advance(56 * 60);
    svc.refresh_due().await;
    assert_eq!(
        env.emu.calls("token"),
        4,
        "both refreshed inside the window, before any caller asked"
    );

    // With short-lived tokens it wakes when the next one is due.
    env.emu.set_access_token_lifetime(7 * 60);
    env.advance(60 * 60);
    let wait = svc.refresh_due().await;
    assert_eq!(env.emu.calls("token"), 6);
    assert!(
        wait <= std::time::Duration::from_secs(120) && wait > std::time::Duration::from_secs(110),
        "{wait:?}"
    );
}

#[tokio::test]
async fn forced_refresh_asks_google_even_with_a_valid_token() {
    let mut env = TestEnv::new().await;
    env.add_service_account("sync", &[SHEETS]);
    let svc = env.service();
    let a = svc.get("sync", &[SHEETS]).await.unwrap();
    let b = svc.refresh("sync").await.unwrap();
    assert_ne!(a.secret(), b.secret());
    assert_eq!(env.emu.calls("token"), 2);
}
