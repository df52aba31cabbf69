//! The emulator refuses what Google refuses, with Google's words.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";

async fn post(url: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = reqwest::Client::new().post(url).form(form).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn jwt(key: &Value, claims: Value) -> String {
    let key = EncodingKey::from_rsa_pem(key["private_key"].as_str().unwrap().as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap()
}

async fn exchange(emu: &google_emulator::EmulatorHandle, assertion: &str) -> (u16, Value) {
    post(
        &emu.token_uri(),
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ],
    )
    .await
}

#[tokio::test]
async fn service_account_assertions_are_verified() {
    let emu = google_emulator::spawn().await.unwrap();
    let key = emu.create_service_account("sa@test.iam.gserviceaccount.com");
    let other = emu.create_service_account("other@test.iam.gserviceaccount.com");
    let now = chrono::Utc::now().timestamp();
    let claims = |aud: &str, iat: i64, exp: i64| json!({"iss": "sa@test.iam.gserviceaccount.com", "scope": SCOPE, "aud": aud, "iat": iat, "exp": exp});
    let uri = emu.token_uri();

    let (status, body) = exchange(&emu, &jwt(&key, claims(&uri, now, now + 3600))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();

    let resp = reqwest::get(format!("{}?access_token={token}", emu.tokeninfo_url()))
        .await
        .unwrap();
    let info: Value = resp.json().await.unwrap();
    assert_eq!(info["scope"], SCOPE);
    assert!(
        info["expires_in"].as_str().unwrap().parse::<i64>().unwrap() > 3590,
        "numbers as strings, as Google sends them"
    );

    let cases = [
        (jwt(&other, claims(&uri, now, now + 3600)), "Invalid JWT Signature."),
        (
            jwt(&key, claims("https://elsewhere/token", now, now + 3600)),
            "Invalid JWT: Failed audience check.",
        ),
        (
            jwt(&key, claims(&uri, now, now + 7200)),
            "Invalid JWT: Token must be a short-lived token (60 minutes)",
        ),
        (
            jwt(&key, claims(&uri, now + 600, now + 1200)),
            "in a reasonable timeframe",
        ),
        (
            jwt(&key, claims(&uri, now - 7200, now - 3600)),
            "Check your iat and exp values",
        ),
        ("not.a.jwt".to_string(), "Invalid JWT: Malformed JWT."),
    ];
    for (assertion, expected) in cases {
        let (status, body) = exchange(&emu, &assertion).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{expected}: {body}"
        );
        assert!(body["error_description"].as_str().unwrap().contains(expected), "{body}");
    }
    let unknown =
        json!({"iss": "ghost@test.iam.gserviceaccount.com", "scope": SCOPE, "aud": uri, "iat": now, "exp": now + 60});
    let (_, body) = exchange(&emu, &jwt(&key, unknown)).await;
    assert_eq!(body["error_description"], "Invalid grant: account not found");
    let no_scope = json!({"iss": "sa@test.iam.gserviceaccount.com", "aud": uri, "iat": now, "exp": now + 60});
    let (status, body) = exchange(&emu, &jwt(&key, no_scope)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")));
    let (status, body) = post(&uri, &[("grant_type", "password")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));
    assert_eq!(emu.calls("token"), 10);
}

#[tokio::test]
async fn the_code_flow_checks_pkce_and_the_client() {
    let emu = google_emulator::spawn().await.unwrap();
    let (id, secret) = emu.create_oauth_client();
    let verifier = "a-verifier-of-enough-length-0123456789-abcdefghijklmnop";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let redirect = "http://127.0.0.1:9/cb";
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let consent = |client_id: &str| {
        format!(
            "{}?client_id={client_id}&redirect_uri={redirect}&response_type=code&scope={SCOPE}&code_challenge={challenge}&code_challenge_method=S256&state=xyz",
            emu.auth_uri()
        )
    };
    let resp = client.get(consent(&id)).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "xyz");
    let code = q["code"].clone();

    let form = |code: &str, verifier: &str, secret: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.to_string()),
            ("client_id", id.clone()),
            ("client_secret", secret.to_string()),
            ("redirect_uri", redirect.to_string()),
            ("code_verifier", verifier.to_string()),
        ]
    };
    let send = |f: Vec<(&'static str, String)>| {
        let uri = emu.token_uri();
        async move {
            let resp = reqwest::Client::new().post(uri).form(&f).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = send(form(&code, verifier, "GOCSPX-wrong")).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let (status, body) = send(form(&code, "a-different-verifier", &secret)).await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some("Invalid code verifier."))
    );
    assert_eq!(
        send(form(&code, verifier, &secret)).await.0,
        400,
        "a code is single use, even after a failed exchange"
    );

    let resp = client.get(consent(&id)).send().await.unwrap();
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (status, body) = send(form(&code, verifier, &secret)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].as_str().unwrap().starts_with("1//"));

    assert_eq!(client.get(consent("nobody")).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn the_control_api_shapes_answers_over_http() {
    let emu = google_emulator::spawn().await.unwrap();
    let http = reqwest::Client::new();
    let base = emu.base_url().to_string();
    let r = http
        .post(format!("{base}/emulator/faults"))
        .json(&json!({"kind": "status", "status": 503, "count": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    for _ in 0..2 {
        assert_eq!(post(&emu.token_uri(), &[("grant_type", "refresh_token")]).await.0, 503);
    }
    assert_eq!(
        post(&emu.token_uri(), &[("grant_type", "refresh_token")]).await.0,
        401,
        "faults are used up"
    );
    let calls: Value = http
        .get(format!("{base}/emulator/calls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls["token"], 3);
    let r = http
        .post(format!("{base}/emulator/faults"))
        .json(&json!({"kind": "sideways"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (id, secret) = emu.create_oauth_client();
    let user = emu.create_authorized_user(&(id.clone(), secret.clone()), &[SCOPE]);
    let rt = user["refresh_token"].as_str().unwrap();
    let r = http
        .post(format!("{base}/emulator/revoke"))
        .json(&json!({"refresh_token": rt}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (status, body) = post(
        &emu.token_uri(),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("refresh_token", rt),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some("Token has been expired or revoked."))
    );
}
