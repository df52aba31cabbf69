//! The Sheets surface answers as Google does: A1 ranges, RAW/USER_ENTERED, append,
//! tabs, permissions and the per-user write quota.

use serde_json::{json, Value};

const SHEETS: &str = "https://www.googleapis.com/auth/spreadsheets";

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn new(emu: &google_emulator::EmulatorHandle, email: &str, scope: &str) -> Client {
        let key = emu.create_service_account(email);
        let now = chrono::Utc::now().timestamp();
        let claims = json!({"iss": email, "scope": scope, "aud": emu.token_uri(), "iat": now, "exp": now + 3600});
        let enc = jsonwebtoken::EncodingKey::from_rsa_pem(key["private_key"].as_str().unwrap().as_bytes()).unwrap();
        let jwt = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &enc,
        )
        .unwrap();
        let http = reqwest::Client::new();
        let resp: Value = http
            .post(emu.token_uri())
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", &jwt),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Client {
            http,
            base: emu.base_url().to_string(),
            token: resp["access_token"].as_str().unwrap().to_string(),
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}/v4/spreadsheets/{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v4/spreadsheets/{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

#[tokio::test]
async fn values_are_read_written_and_appended_by_a1_range() {
    let emu = google_emulator::spawn().await.unwrap();
    let c = Client::new(&emu, "sync@test.iam.gserviceaccount.com", SHEETS).await;
    let id = emu.create_spreadsheet("Port", &["Port Sheet", "Notes"]);
    emu.set_cells(
        &id,
        "Port Sheet",
        &[vec!["Date", "Guest", "Notes"], vec!["2024-05-03", "Ada", "VIP"]],
    );

    let (s, v) = c.get(&id).await;
    assert_eq!(s, 200);
    assert_eq!(v["sheets"][0]["properties"]["title"], "Port Sheet");
    let (_, v) = c.get(&format!("{id}/values/'Port Sheet'!A1:C")).await;
    assert_eq!(
        v["values"],
        json!([["Date", "Guest", "Notes"], ["2024-05-03", "Ada", "VIP"]])
    );
    assert_eq!(v["majorDimension"], "ROWS");

    let body = json!({"valueInputOption": "USER_ENTERED", "data": [{"range": "'Port Sheet'!B2", "values": [["Grace"]]}, {"range": "'Port Sheet'!A3:B3", "values": [["2024-05-04", "12"]]}]});
    let (s, v) = c.post(&format!("{id}/values:batchUpdate"), body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["totalUpdatedCells"], 3);
    let (s, v) = c
        .post(
            &format!("{id}/values/'Port Sheet'!A1:B:append?valueInputOption=RAW&insertDataOption=INSERT_ROWS"),
            json!({"values": [["2024-05-05", "Hal"]]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["updates"]["updatedRange"], "'Port Sheet'!A4:B4");
    assert_eq!(
        emu.cells(&id, "Port Sheet"),
        vec![
            vec!["Date", "Guest", "Notes"],
            vec!["2024-05-03", "Grace", "VIP"],
            vec!["2024-05-04", "12"],
            vec!["2024-05-05", "Hal"]
        ],
        "the Notes column was never touched"
    );
    let (_, v) = c
        .get(&format!(
            "{id}/values:batchGet?ranges=%27Port%20Sheet%27!B3&ranges=Notes!A1&valueRenderOption=UNFORMATTED_VALUE"
        ))
        .await;
    assert_eq!(
        v["valueRanges"][0]["values"],
        json!([[12]]),
        "USER_ENTERED parsed the number"
    );
    assert!(
        v["valueRanges"][1].get("values").is_none(),
        "an empty range has no values"
    );

    let (s, v) = c
        .post(
            &format!("{id}:batchUpdate"),
            json!({"requests": [{"addSheet": {"properties": {"title": "Archive"}}}]}),
        )
        .await;
    assert_eq!(
        (s, v["replies"][0]["addSheet"]["properties"]["title"].as_str()),
        (200, Some("Archive"))
    );
    let (s, v) = c
        .post(
            &format!("{id}:batchUpdate"),
            json!({"requests": [{"addSheet": {"properties": {"title": "Archive"}}}]}),
        )
        .await;
    assert_eq!(s, 400);
    assert!(v["error"]["message"].as_str().unwrap().contains("already exists"));
    let (s, v) = c.post(&format!("{id}/values:batchUpdate"), json!({"data": []})).await;
    assert_eq!(
        (s, v["error"]["message"].as_str()),
        (400, Some("'valueInputOption' is required but not specified"))
    );
    assert_eq!(c.get("nope").await.0, 404);
}

#[tokio::test]
async fn permission_scope_and_quota_are_enforced() {
    let emu = google_emulator::spawn().await.unwrap();
    let c = Client::new(&emu, "sync@test.iam.gserviceaccount.com", SHEETS).await;
    let id = emu.create_spreadsheet("Port", &["Port Sheet"]);
    emu.share_spreadsheet(&id, "someone-else@example.com");
    let (s, v) = c.get(&id).await;
    assert_eq!((s, v["error"]["status"].as_str()), (403, Some("PERMISSION_DENIED")));

    let ro = Client::new(
        &emu,
        "ro@test.iam.gserviceaccount.com",
        "https://www.googleapis.com/auth/spreadsheets.readonly",
    )
    .await;
    let open = emu.create_spreadsheet("Open", &["Port Sheet"]);
    assert_eq!(ro.get(&open).await.0, 200);
    let (s, v) = ro
        .post(
            &format!("{open}/values:batchUpdate"),
            json!({"valueInputOption": "RAW", "data": []}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["errors"][0]["reason"].as_str()),
        (403, Some("insufficientPermissions"))
    );

    emu.set_sheets_write_quota(3);
    let write = json!({"valueInputOption": "RAW", "data": [{"range": "A1", "values": [["x"]]}]});
    for _ in 0..3 {
        assert_eq!(
            c.post(&format!("{open}/values:batchUpdate"), write.clone()).await.0,
            200
        );
    }
    let (s, v) = c.post(&format!("{open}/values:batchUpdate"), write.clone()).await;
    assert_eq!((s, v["error"]["status"].as_str()), (429, Some("RESOURCE_EXHAUSTED")));
    emu.set_clock_offset(61);
    assert_eq!(
        c.post(&format!("{open}/values:batchUpdate"), write).await.0,
        200,
        "the next minute has quota again"
    );
}
