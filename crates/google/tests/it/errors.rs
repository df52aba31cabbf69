//! Errors from the one Google client name the API, the resource and the credential, and
//! say whether retrying can help — against the emulator, which answers as Google does.

use std::sync::Arc;

use jada_core::{Fault, Recovery};
use jada_google::client::{Api, Endpoints, GoogleClient, GoogleError};

use crate::support::*;

const DRIVE: &str = "https://www.googleapis.com/auth/drive";
const GMAIL_READ: &str = "https://www.googleapis.com/auth/gmail.readonly";

fn client(env: &TestEnv, name: &str) -> GoogleClient {
    GoogleClient::new(&Endpoints::all_at(env.emu.base_url()), Arc::new(env.service()), name)
}

#[tokio::test]
async fn a_gmail_404_names_gmail_the_message_and_the_credential() {
    let mut env = TestEnv::new().await;
    env.add_user("mailbox", &[GMAIL_READ]);
    let err = client(&env, "mailbox")
        .gmail_headers("18c0ffee00000000", &["To"])
        .await
        .unwrap_err();
    assert!(matches!(&err, GoogleError::NotFound { api: Api::Gmail, .. }), "{err:?}");
    let text = err.to_string();
    assert_eq!(
        text,
        "Gmail: message 18c0ffee00000000 does not exist (or is not visible to credential `mailbox`): check the mailbox (the credential's `subject`) and the message id"
    );
    assert!(
        !text.contains("spreadsheet"),
        "a Gmail error says nothing of spreadsheets"
    );
    assert_eq!(err.recovery(), Recovery::Operator);
}

#[tokio::test]
async fn a_drive_403_names_drive_the_folder_and_the_credential() {
    let mut env = TestEnv::new().await;
    env.add_user("workspace", &[DRIVE]);
    let folder = env.emu.create_folder("Reports", "root");
    env.emu.make_read_only(&folder);
    let err = client(&env, "workspace")
        .upload(&folder, "revenue-2024-05.xlsx", jada_google::drive::XLSX, b"PK")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GoogleError::Permission { api: Api::Drive, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "Drive: credential `workspace` may not use folder {folder} (uploading `revenue-2024-05.xlsx`)"
        )),
        "{text}"
    );
    assert!(
        text.contains("share the file or folder with the credential's account"),
        "{text}"
    );
    assert!(!text.contains("spreadsheet"), "{text}");
    assert_eq!(err.recovery(), Recovery::Operator, "sharing is the fix, not waiting");
}

#[tokio::test]
async fn a_sheets_outage_is_retryable_and_says_how_often_it_was_tried() {
    let mut env = TestEnv::new().await;
    env.add_user("workspace", &[jada_google::sheets::SCOPE]);
    let id = env.emu.create_spreadsheet("Port", &["Port Sheet"]);
    let mut c = client(&env, "workspace");
    c.attempts = 2;
    c.backoff = std::time::Duration::from_millis(1);
    c.tabs(&id).await.unwrap();
    env.emu.fail_api_after(0, 2, 503);
    let err = c.tabs(&id).await.unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "Sheets did not answer for spreadsheet {id} after 2 attempt(s): HTTP 503"
        )),
        "{err}"
    );
    assert_eq!(err.recovery(), Recovery::Retry);
}
