//! Statement send records.

use jada_core::Month;

use super::t;
use crate::{SentStatement, Store};

pub async fn statements_sent_once_per_month_and_key(store: &impl Store) {
    let may = Month::parse("2024-05").unwrap();
    let june = Month::parse("2024-06").unwrap();
    assert!(store.list_statements(may).await.unwrap().is_empty());
    let sent = |month, key: &str, id: &str, at| SentStatement {
        month,
        key: key.into(),
        recipient: "ana@example.com, audit@example.com".into(),
        message_id: id.into(),
        sent_at: t(at),
    };
    store
        .record_statement(&sent(may, "crew:ana-m", "m1", "2024-06-01T14:00:00Z"))
        .await
        .unwrap();
    store
        .record_statement(&sent(may, "summary:office@example.com", "m2", "2024-06-01T14:00:01Z"))
        .await
        .unwrap();
    store
        .record_statement(&sent(june, "crew:ana-m", "m3", "2024-07-01T14:00:00Z"))
        .await
        .unwrap();
    let listed = store.list_statements(may).await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["crew:ana-m", "summary:office@example.com"]);
    assert_eq!(listed[0], sent(may, "crew:ana-m", "m1", "2024-06-01T14:00:00Z"));

    // A resend replaces the record: still one per (month, key).
    store
        .record_statement(&sent(may, "crew:ana-m", "m9", "2024-06-02T09:00:00Z"))
        .await
        .unwrap();
    let listed = store.list_statements(may).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].message_id, "m9");
    assert_eq!(listed[0].sent_at, t("2024-06-02T09:00:00Z"));
    assert_eq!(store.list_statements(june).await.unwrap().len(), 1);
}
