//! Conformance cases for the crew roster and credential states.

use std::collections::BTreeSet;

use jada_core::{CredentialKind, CredentialState, Email};

use super::*;
use crate::{Store, StoreError};

pub async fn crew_upsert_and_lookup(s: &impl Store) {
    let mut ana = member("ana", "ana@example.com");
    ana.available_dates = [date("2024-05-03"), date("2024-05-04")].into();
    s.upsert_crew(&ana).await.unwrap();
    s.upsert_crew(&member("bo", "bo@example.com")).await.unwrap();
    assert_eq!(s.get_crew(&crew_id("ana")).await.unwrap().unwrap(), ana);
    assert!(s.get_crew(&crew_id("nobody")).await.unwrap().is_none());
    let by_email = s
        .get_crew_by_email(&Email::parse("ANA@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_email.crew_id, ana.crew_id);
    assert!(s
        .get_crew_by_email(&Email::parse("x@example.com").unwrap())
        .await
        .unwrap()
        .is_none());

    let mut ana2 = ana.clone();
    ana2.name = "Ana María".into();
    ana2.email = Email::parse("ana.m@example.com").unwrap();
    ana2.captain_certified = true;
    ana2.available_dates = [date("2024-06-01")].into();
    s.upsert_crew(&ana2).await.unwrap();
    let list = s.list_crew().await.unwrap();
    assert_eq!(
        list.iter().map(|m| m.crew_id.as_str()).collect::<Vec<_>>(),
        vec!["ana", "bo"]
    );
    assert_eq!(list[0], ana2, "an upsert replaces every field, availability included");
    assert!(
        s.get_crew_by_email(&ana.email).await.unwrap().is_none(),
        "the old email no longer finds anyone"
    );
}

pub async fn crew_email_is_unique(s: &impl Store) {
    s.upsert_crew(&member("ana", "ana@example.com")).await.unwrap();
    let err = s.upsert_crew(&member("bo", "ana@example.com")).await.unwrap_err();
    match &err {
        StoreError::EmailTaken { email, owner } => {
            assert_eq!((email.as_str(), owner.as_str()), ("ana@example.com", "ana"))
        }
        other => panic!("expected EmailTaken, got {other}"),
    }
    assert!(
        s.get_crew(&crew_id("bo")).await.unwrap().is_none(),
        "the refused upsert wrote nothing"
    );
}

pub async fn crew_availability(s: &impl Store) {
    let mut ana = member("ana", "ana@example.com");
    ana.available_dates = [date("2024-05-03")].into();
    let mut bo = member("bo", "bo@example.com");
    bo.available_dates = [date("2024-05-03"), date("2024-05-05")].into();
    let mut cy = member("cy", "cy@example.com");
    cy.available_dates = [date("2024-05-03")].into();
    cy.active = false;
    for m in [&ana, &bo, &cy] {
        s.upsert_crew(m).await.unwrap();
    }
    let on = |d: &'static str| async move {
        s.list_crew_available_on(date(d))
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.crew_id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        on("2024-05-03").await,
        vec!["ana", "bo"],
        "inactive crew are never listed"
    );
    assert_eq!(on("2024-05-05").await, vec!["bo"]);
    assert!(on("2024-05-04").await.is_empty());

    s.set_availability(&crew_id("ana"), &[date("2024-05-04")].into())
        .await
        .unwrap();
    assert_eq!(on("2024-05-03").await, vec!["bo"]);
    assert_eq!(on("2024-05-04").await, vec!["ana"]);
    let listed = s.list_crew_available_on(date("2024-05-04")).await.unwrap();
    assert_eq!(
        listed[0].available_dates,
        [date("2024-05-04")].into(),
        "listed members carry their dates"
    );
    let err = s
        .set_availability(&crew_id("nobody"), &BTreeSet::new())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::CrewNotFound(_)), "{err}");
}

pub async fn credential_states(s: &impl Store) {
    assert!(s.list_credential_states().await.unwrap().is_empty());
    let scopes = vec!["https://www.googleapis.com/auth/spreadsheets".to_string()];
    let mut ws = CredentialState::new(
        "workspace",
        CredentialKind::ServiceAccount,
        "sync@example.iam.gserviceaccount.com",
        &scopes,
    );
    ws.last_refresh = Some(t("2024-04-01T10:00:00Z"));
    ws.expires_at = Some(t("2024-04-01T11:00:00Z"));
    s.put_credential_state(&ws).await.unwrap();
    let office = CredentialState::new("office", CredentialKind::AuthorizedUser, "client-1", &scopes);
    s.put_credential_state(&office).await.unwrap();
    assert_eq!(s.get_credential_state("workspace").await.unwrap(), Some(ws.clone()));
    assert!(s.get_credential_state("nobody").await.unwrap().is_none());

    ws.needs_reauth = true;
    ws.last_error = Some("Token has been expired or revoked.".into());
    s.put_credential_state(&ws).await.unwrap();
    let all = s.list_credential_states().await.unwrap();
    assert_eq!(
        all.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec!["office", "workspace"],
        "by name, one each"
    );
    assert_eq!(all[1], ws, "a put replaces the whole record");
}
