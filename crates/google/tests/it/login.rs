//! The installed-app login flow against the emulator's consent page.

use std::time::Duration;

use jada_google::auth::login::{login, LoginRequest};
use secrecy::SecretString;

use crate::support::*;

#[tokio::test]
async fn login_writes_an_authorized_user_file_that_works() {
    let mut env = TestEnv::new().await;
    let (client_id, client_secret) = env.emu.create_oauth_client();
    let out = env.secrets().join("office.json");
    let req = LoginRequest {
        credential: "office".into(),
        auth_uri: env.emu.auth_uri(),
        token_uri: env.emu.token_uri(),
        client_id,
        client_secret: SecretString::from(client_secret),
        scopes: vec![SHEETS.into()],
        timeout: Duration::from_secs(10),
    };
    // The "browser": follows the consent page's redirect to the loopback listener.
    let browser = |url: &str| {
        assert!(
            url.contains("code_challenge_method=S256") && url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
            "{url}"
        );
        let url = url.to_string();
        tokio::spawn(async move { reqwest::get(url).await.unwrap().text().await.unwrap() });
    };
    login(&req, &out, browser).await.unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(file["type"], "authorized_user");

    env.creds.push(jada_google::auth::CredentialConfig {
        name: "office".into(),
        file: out,
        scopes: vec![SHEETS.into()],
        subject: None,
        token_uri: None,
    });
    env.service()
        .get("office", &[SHEETS])
        .await
        .expect("the new file refreshes");
}

#[tokio::test]
async fn login_without_an_answer_times_out_clearly() {
    let env = TestEnv::new().await;
    let (client_id, client_secret) = env.emu.create_oauth_client();
    let req = LoginRequest {
        credential: "office".into(),
        auth_uri: env.emu.auth_uri(),
        token_uri: env.emu.token_uri(),
        client_id,
        client_secret: SecretString::from(client_secret),
        scopes: vec![SHEETS.into()],
        timeout: Duration::from_millis(200),
    };
    let err = login(&req, &env.secrets().join("office.json"), |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no answer from the browser"), "{err}");
    assert!(!env.secrets().join("office.json").exists(), "nothing written");
}
