//! jada on the business's tables as its Python scripts write them: items written with
//! boto3 in the old scripts' shapes are listed, updated and dispatched correctly, their
//! unknown attributes survive jada's writes, and boto3 reads back what jada wrote.
//! Also: what an operator sees when a table or a permission is missing, and that
//! throttling is retried, then reported as retryable.

use chrono::{Duration, NaiveDate, NaiveTime, Utc};
use jada_core::{
    Cents, CharterStatus, ChatAuthor, ChatKind, ChatMessage, CrewId, Fault, Month, Offer, OfferStatus, SeatKind,
};
use jada_dynamo::DynamoStore;
use jada_store::{Acceptance, CharterStore, ChatStore, CrewStore, OfferStore, OutboxStore, StoreError};
use jada_testkit::dynamo::{boto3, config, fresh_store, inject_fault};
use serde_json::{json, Value};
use uuid::Uuid;

/// An item of `crew-dispatch` as the old scripts write it (no status, times, guest
/// name or version; money as decimal numbers), plus attributes jada does not know.
fn old_charter(id: Uuid, date: &str) -> Value {
    json!({
        "charter_id": {"S": id.to_string()},
        "created_at": {"S": "2024-06-01T10:00:00.123456"},
        "charter_date": {"S": date},
        "vessel_name": {"S": "Marlin"},
        "captain_assigned": {"S": "cap-1"},
        "crew_assigned": {"L": []},
        "guest_count": {"N": "6"},
        "reportable_revenue": {"N": "1250.5"},
        "tips": {"N": "100"},
        "booking_source": {"S": "phone"},
        "legacy_flags": {"SS": ["vip", "repeat"]}
    })
}

fn get_charter_item(store: &DynamoStore, id: Uuid) -> Value {
    let got = boto3(json!([["query", {
        "TableName": store.tables().charters,
        "KeyConditionExpression": "charter_id = :id",
        "ExpressionAttributeValues": {":id": {"S": id.to_string()}}
    }]]));
    got[0]["Items"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_scripts_charters_list_with_defaults_and_keep_their_attributes() {
    let store = fresh_store().await;
    let t = store.tables().clone();
    let good = Uuid::new_v4();
    let mut bad = old_charter(Uuid::new_v4(), "2024-07-3x");
    bad["charter_id"] = json!({"S": Uuid::new_v4().to_string()});
    boto3(json!([
        ["put_item", {"TableName": t.charters, "Item": old_charter(good, "2024-07-05")}],
        ["put_item", {"TableName": t.charters, "Item": bad}],
    ]));

    // The bad item is skipped (and named in the log); the rest of the month lists.
    let month = store
        .list_charters_in_month(Month::parse("2024-07").unwrap())
        .await
        .unwrap();
    assert_eq!(month.len(), 1, "{month:?}");
    let c = &month[0];
    assert_eq!(c.charter_id.as_uuid(), good);
    assert_eq!(c.reportable_revenue, Cents(125_050), "1250.5 read as a decimal");
    assert_eq!(c.tips, Cents(10_000));
    assert_eq!(
        c.status,
        CharterStatus::Completed,
        "an old charter in the past defaults to completed"
    );
    assert_eq!(c.start_time, NaiveTime::from_hms_opt(9, 0, 0).unwrap());
    assert_eq!(c.guest_name, "(not recorded)");
    assert_eq!(c.version, 1);
    assert_eq!(c.charter_date, NaiveDate::from_ymd_opt(2024, 7, 5).unwrap());
    // `jada store check` names the item jada skips, by key and attribute.
    let check = store.check().await.unwrap();
    let charters = check.tables.iter().find(|t| t.role == "charters").unwrap();
    assert_eq!(charters.unreadable_count, 1);
    assert!(
        charters.unreadable[0].contains("charter_date") && charters.unreadable[0].contains("charter_id="),
        "{:?}",
        charters.unreadable
    );

    // jada's update changes only what it owns: the old scripts' attributes survive.
    let mut next = c.clone();
    next.tips = Cents(20_025);
    next.crew_assigned = vec![CrewId::parse("deck-1").unwrap()];
    let written = store.update_charter(next, 1, vec![], Utc::now()).await.unwrap();
    assert_eq!(written.version, 2);
    let item = get_charter_item(&store, good);
    assert_eq!(item["booking_source"], json!({"S": "phone"}));
    assert_eq!(item["legacy_flags"]["SS"].as_array().unwrap().len(), 2);
    assert_eq!(
        item["created_at"],
        json!({"S": "2024-06-01T10:00:00.123456"}),
        "the key is kept"
    );
    assert_eq!(item["tips"], json!({"N": "200.25"}));
    assert_eq!(item["reportable_revenue"], json!({"N": "1250.50"}));
    assert_eq!(item["crew_assigned"], json!({"L": [{"S": "deck-1"}]}));
    assert_eq!(item["charter_month"], json!({"S": "2024-07"}));
    assert_eq!(item["version"], json!({"N": "2"}));

    // A second writer with the old version is refused, by name.
    let mut stale = c.clone();
    stale.tips = Cents(1);
    let err = store.update_charter(stale, 1, vec![], Utc::now()).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::StaleVersion {
                expected: 1,
                actual: 2,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_month_index_is_used_only_once_every_charter_has_its_month() {
    let mut cfg = config(jada_testkit::dynamo::fresh_tables());
    cfg.month_index = true;
    let store = DynamoStore::connect(&cfg).await;
    store.create_tables().await.unwrap();
    let id = Uuid::new_v4();
    boto3(json!([["put_item", {"TableName": store.tables().charters, "Item": old_charter(id, "2024-07-05")}]]));
    // The old script's charter has no charter_month: the check says so, and how to fix it.
    let check = store.check().await.unwrap();
    assert!(!check.ok);
    let charters = &check.tables[0];
    assert!(
        charters
            .missing
            .iter()
            .any(|m| m.contains("charter_month on 1 charters")),
        "{charters:?}"
    );
    assert!(store
        .create_tables()
        .await
        .unwrap()
        .iter()
        .any(|l| l.contains("set charter_month on 1")));
    assert!(store.check().await.unwrap().ok);
    assert!(store.uses_month_index().await);
    let month = store
        .list_charters_in_month(Month::parse("2024-07").unwrap())
        .await
        .unwrap();
    assert_eq!(month.iter().map(|c| c.charter_id.as_uuid()).collect::<Vec<_>>(), [id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_scripts_crew_and_chats_are_read_and_written_back_in_their_shapes() {
    let store = fresh_store().await;
    let t = store.tables().clone();
    let charter = Uuid::new_v4();
    boto3(json!([
        ["put_item", {"TableName": t.charters, "Item": old_charter(charter, "2024-07-05")}],
        ["put_item", {"TableName": t.crew, "Item": {
            "crew_id": {"S": "deck-7"}, "name": {"S": "Ana Lima"}, "email": {"S": "Ana@Example.com"},
            "phone": {"S": "+1 619 555 0107"}, "captain_certified": {"BOOL": false},
            "available_dates": {"SS": ["2024-07-05", "2024-07-06"]}, "shirt_size": {"S": "M"}}}],
        ["put_item", {"TableName": t.chats, "Item": {
            "charter_id": {"S": charter.to_string()}, "created_at": {"S": "2024-06-02T08:00:00"},
            "author": {"S": "Maria"}, "body": {"S": "Guests asked for a late start"}}}],
    ]));

    let deck7 = CrewId::parse("deck-7").unwrap();
    let ana = store.get_crew(&deck7).await.unwrap().unwrap();
    assert_eq!(ana.email.as_str(), "ana@example.com");
    assert!(ana.active, "active defaults to true");
    let day = NaiveDate::from_ymd_opt(2024, 7, 5).unwrap();
    assert_eq!(store.list_crew_available_on(day).await.unwrap(), vec![ana.clone()]);
    assert_eq!(
        store.get_crew_by_email(&ana.email).await.unwrap().map(|m| m.crew_id),
        Some(deck7.clone())
    );

    // No availability: the attribute goes (DynamoDB has no empty set); the rest stays.
    store.set_availability(&deck7, &Default::default()).await.unwrap();
    let item = &boto3(json!([["get_item", {"TableName": t.crew, "Key": {"crew_id": {"S": "deck-7"}}}]]))[0]["Item"];
    assert!(item.get("available_dates").is_none(), "{item}");
    assert_eq!(item["shirt_size"], json!({"S": "M"}));
    let mut renamed = ana.clone();
    renamed.name = "Ana Lima Souza".into();
    store.upsert_crew(&renamed).await.unwrap();
    let item = &boto3(json!([["get_item", {"TableName": t.crew, "Key": {"crew_id": {"S": "deck-7"}}}]]))[0]["Item"];
    assert_eq!(item["name"], json!({"S": "Ana Lima Souza"}));
    assert_eq!(item["shirt_size"], json!({"S": "M"}));

    // The old thread reads as an office note; jada's message reads back with boto3.
    let id = jada_core::CharterId::from_uuid(charter);
    let mine = ChatMessage {
        message_id: Uuid::new_v4(),
        charter_id: id,
        posted_at: "2024-06-03T09:00:00Z".parse().unwrap(),
        author: ChatAuthor::Crew(deck7.clone()),
        kind: ChatKind::Reply,
        body: "I can take it".into(),
    };
    store.append_chat(&mine).await.unwrap();
    let thread = store.list_chat(id).await.unwrap();
    assert_eq!(thread.len(), 2);
    assert_eq!(thread[0].author, ChatAuthor::Operator("Maria".into()));
    assert_eq!(thread[0].body, "Guests asked for a late start");
    assert_eq!(thread[1], mine);
    let items = &boto3(json!([["query", {"TableName": t.chats,
        "KeyConditionExpression": "charter_id = :id",
        "ExpressionAttributeValues": {":id": {"S": charter.to_string()}}}]]))[0]["Items"];
    let last = &items.as_array().unwrap()[1];
    assert_eq!(last["author"], json!({"S": "deck-7"}));
    assert_eq!(last["body"], json!({"S": "I can take it"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_scripts_charter_is_dispatched() {
    let store = fresh_store().await;
    let t = store.tables().clone();
    let charter = Uuid::new_v4();
    let mut item = old_charter(charter, "2031-07-05");
    item["crew_assigned"] = json!({"L": [{"S": "deck-1"}]});
    boto3(json!([["put_item", {"TableName": t.charters, "Item": item}]]));
    let id = jada_core::CharterId::from_uuid(charter);
    let now = Utc::now();
    let offer = Offer {
        offer_id: Uuid::new_v4(),
        charter_id: id,
        crew_id: CrewId::parse("deck-2").unwrap(),
        seat: SeatKind::Crew,
        status: OfferStatus::Offered,
        offered_at: now,
        expires_at: now + Duration::hours(2),
        answered_at: None,
    };
    let note = |body: &str| ChatMessage {
        message_id: Uuid::new_v4(),
        charter_id: id,
        posted_at: now,
        author: ChatAuthor::System,
        kind: ChatKind::Offer,
        body: body.into(),
    };
    store.create_offer(&offer, &note("offered to deck-2")).await.unwrap();
    let Acceptance::Accepted(c) = store
        .accept_offer(offer.offer_id, now, 2, &note("deck-2 accepted"))
        .await
        .unwrap()
    else {
        panic!("the seat was free")
    };
    assert_eq!(
        c.status,
        CharterStatus::Booked,
        "a future old charter defaults to booked"
    );
    assert_eq!(c.version, 2);
    let item = get_charter_item(&store, charter);
    assert_eq!(item["crew_assigned"], json!({"L": [{"S": "deck-1"}, {"S": "deck-2"}]}));
    assert_eq!(item["booking_source"], json!({"S": "phone"}));
    assert_eq!(store.list_chat(id).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_table_names_itself_and_the_fix() {
    let mut tables = jada_testkit::dynamo::fresh_tables();
    tables.charters = "no-such-table".into();
    let store = DynamoStore::connect(&config(tables)).await;
    let err = store
        .list_charters_in_month(Month::parse("2024-07").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Setup(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("no-such-table") && text.contains("jada store create-tables"),
        "{text}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_names_the_iam_action_to_grant() {
    let store = fresh_store().await;
    inject_fault("DescribeTimeToLive", &store.tables().ops, "AccessDeniedException", 1);
    let err = store.check().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Setup(_)), "{err:?}");
    assert!(text.contains("dynamodb:DescribeTimeToLive"), "{text}");
    assert!(text.contains(&format!("table/{}", store.tables().ops)), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_then_reported_as_retryable() {
    let store = fresh_store().await;
    let id = CrewId::parse("nobody").unwrap();
    // Twice throttled: the SDK's retries (backoff with jitter) get through.
    let crew = store.tables().crew.clone();
    inject_fault("GetItem", &crew, "ProvisionedThroughputExceededException", 2);
    assert_eq!(store.get_crew(&id).await.unwrap(), None);
    // Throttled past the five attempts: a typed error that says retrying may help.
    inject_fault("GetItem", &crew, "ThrottlingException", 5);
    let err = store.get_crew(&id).await.unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("dynamodb:GetItem"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_accepts_from_two_daemons_fill_one_seat_once() {
    // Two clients (two daemons' connection pools) on one set of tables.
    let one = fresh_store().await;
    let two = DynamoStore::connect(&config(one.tables().clone())).await;
    let mut c = jada_store::conformance::charter("2031-07-05", 10);
    c.crew_assigned.clear();
    let c = one.create_charter(c, vec![], Utc::now()).await.unwrap();
    let now = Utc::now();
    let note = |body: String| ChatMessage {
        message_id: Uuid::new_v4(),
        charter_id: c.charter_id,
        posted_at: now,
        author: ChatAuthor::System,
        kind: ChatKind::Offer,
        body,
    };
    let mut offers = vec![];
    for i in 0..100 {
        let o = Offer {
            offer_id: Uuid::new_v4(),
            charter_id: c.charter_id,
            crew_id: CrewId::parse(&format!("deck-{i}")).unwrap(),
            seat: SeatKind::Crew,
            status: OfferStatus::Offered,
            offered_at: now,
            expires_at: now + Duration::hours(2),
            answered_at: None,
        };
        one.create_offer(&o, &note(format!("offered to deck-{i}")))
            .await
            .unwrap();
        offers.push(o);
    }
    let accepts = offers.iter().enumerate().map(|(i, o)| {
        let store = if i % 2 == 0 { one.clone() } else { two.clone() };
        let (id, n) = (o.offer_id, note(format!("deck-{i} accepted")));
        tokio::spawn(async move { store.accept_offer(id, Utc::now(), 1, &n).await.unwrap() })
    });
    let outcomes = futures::future::join_all(accepts).await;
    let won: Vec<_> = outcomes
        .iter()
        .filter(|o| matches!(o.as_ref().unwrap(), Acceptance::Accepted(_)))
        .collect();
    assert_eq!(won.len(), 1, "one seat, one winner");
    assert!(outcomes
        .iter()
        .all(|o| matches!(o.as_ref().unwrap(), Acceptance::Accepted(_) | Acceptance::SeatTaken)));
    let stored = two.get_charter(c.charter_id).await.unwrap().unwrap();
    assert_eq!(stored.crew_assigned.len(), 1);
    assert_eq!(stored.version, 2, "written once");
    let accepted = one
        .list_offers_for_charter(c.charter_id)
        .await
        .unwrap()
        .iter()
        .filter(|o| o.status == OfferStatus::Accepted)
        .count();
    assert_eq!(accepted, 1);
    assert_eq!(
        one.list_chat(c.charter_id).await.unwrap().len(),
        101,
        "100 offers and one acceptance"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_writes_go_25_at_a_time_and_unprocessed_items_are_retried() {
    let store = fresh_store().await;
    let charters: Vec<_> = (0..60)
        .map(|i| jada_store::conformance::charter(&format!("2031-08-{:02}", i % 28 + 1), 8 + i % 10))
        .collect();
    // The server refuses a batch over 25 as DynamoDB does; twice it leaves a whole batch
    // unprocessed (as DynamoDB does when throttled), and the batch is sent again.
    jada_testkit::dynamo::inject_unprocessed(2);
    let before = store.request_stats().get("BatchWriteItem").map_or(0, |s| s.requests);
    store.put_new_charters(&charters).await.unwrap();
    let sent = store.request_stats()["BatchWriteItem"].requests - before;
    assert_eq!(sent, 3 + 2, "three batches of at most 25, two sent again");
    let month = store
        .list_charters_in_month(Month::parse("2031-08").unwrap())
        .await
        .unwrap();
    assert_eq!(month.len(), 60);
}

/// "Completed once its date has passed" is read by the caller's clock, not the machine's:
/// the same old item is booked on the eve of its date and completed the day after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_items_status_follows_the_callers_clock() {
    use std::sync::Arc;
    let clock = Arc::new(jada_core::ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2024-07-04T12:00:00Z")
            .unwrap()
            .into(),
    ));
    let store = fresh_store().await.with_clock(clock.clone());
    let id = Uuid::new_v4();
    boto3(json!([["put_item", {"TableName": store.tables().charters, "Item": old_charter(id, "2024-07-05")}]]));
    let status = |store: DynamoStore| async move {
        let got = store
            .get_charter(jada_core::CharterId::from_uuid(id))
            .await
            .unwrap()
            .unwrap();
        got.status
    };
    assert_eq!(
        status(store.clone()).await,
        CharterStatus::Booked,
        "the eve of its date"
    );
    clock.advance(Duration::days(2));
    assert_eq!(status(store.clone()).await, CharterStatus::Completed, "the day after");
}

/// DynamoDB answers at most 1 MB a page: a day of charters, a chat thread and the
/// check's scan, each well over 1 MB, are read whole through the one pager.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_follow_pages_past_one_megabyte() {
    let store = fresh_store().await;
    let t = store.tables().clone();
    let padding = "x".repeat(40_000);
    let charter = Uuid::new_v4();
    let mut puts = vec![];
    for i in 0..60 {
        let mut item = old_charter(Uuid::new_v4(), "2024-08-09");
        item["notes"] = json!({"S": padding});
        if i == 59 {
            item["guest_count"] = json!({"S": "six"}); // unreadable, found by the check's scan
        }
        puts.push(json!({"PutRequest": {"Item": item}}));
    }
    for chunk in puts.chunks(20) {
        boto3(json!([["batch_write_item", {"RequestItems": {t.charters.clone(): chunk}}]]));
    }
    let chats: Vec<Value> = (0..60)
        .map(|i| {
            json!({"PutRequest": {"Item": {
                "charter_id": {"S": charter.to_string()},
                "created_at": {"S": format!("2024-06-01T10:00:{:02}.000000", i)},
                "author": {"S": "Maria"},
                "body": {"S": format!("{i} {padding}")},
            }}})
        })
        .collect();
    for chunk in chats.chunks(20) {
        boto3(json!([["batch_write_item", {"RequestItems": {t.chats.clone(): chunk}}]]));
    }

    let day = store
        .list_charters_between(
            NaiveDate::from_ymd_opt(2024, 8, 9).unwrap(),
            NaiveDate::from_ymd_opt(2024, 8, 9).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(day.len(), 59, "every readable charter of a 2.4 MB day");
    let thread = store.list_chat(jada_core::CharterId::from_uuid(charter)).await.unwrap();
    assert_eq!(thread.len(), 60, "every message of a 2.4 MB thread");
    assert!(thread[59].body.starts_with("59 "), "in order");
    let check = store.check().await.unwrap();
    let charters = check.tables.iter().find(|c| c.role == "charters").unwrap();
    assert_eq!(charters.unreadable_count, 1, "the scan reached the last page");
    let stats = store.request_stats();
    assert!(
        stats.get("Query").is_some_and(|q| q.requests >= 4),
        "more than one page each: {stats:?}"
    );
}

/// An endpoint without transactions: every charter write says jada needs them, names the
/// tables of the transaction (not only jada-ops), may not be retried and shows no debug
/// dump; `store check` finds it with a transaction that writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_without_transactions_is_named_as_such() {
    let store = fresh_store().await;
    let t = store.tables().clone();
    let charter = jada_store::conformance::charter("2031-05-01", 9);
    inject_fault("TransactWriteItems", &t.ops, "UnknownOperationException", 1);
    let err = store
        .create_charter(charter.clone(), vec![], Utc::now())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Setup(_)), "{err:?}");
    assert!(!err.is_retryable());
    assert!(text.contains("jada needs DynamoDB transactions"), "{text}");
    assert!(
        !text.contains("Error {") && !text.contains("aws_request_id"),
        "no debug dump: {text}"
    );
    assert!(store.get_charter(charter.charter_id).await.unwrap().is_none());

    inject_fault("TransactWriteItems", &t.ops, "UnknownOperationException", 1);
    let check = store.check().await.unwrap();
    assert!(!check.ok);
    let ops = check.tables.iter().find(|c| c.table == t.ops).unwrap();
    assert!(
        ops.missing.iter().any(|m| m.contains("DynamoDB transactions")),
        "{ops:?}"
    );
    assert!(
        store.check().await.unwrap().ok,
        "a server with transactions passes the probe"
    );
}

/// A record over DynamoDB's 400 KB item limit is refused before it is sent, as what it
/// is (not "invalid", not retryable), naming the table; nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_over_400_kb_is_refused_as_too_large() {
    let store = fresh_store().await;
    let mut charter = jada_store::conformance::charter("2031-05-02", 9);
    charter.guest_name = "G".repeat(420 * 1024);
    let err = store
        .create_charter(charter.clone(), vec![], Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::TooLarge { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&store.tables().charters) && text.contains("400"),
        "{text}"
    );
    assert!(!err.is_retryable());
    assert!(store.get_charter(charter.charter_id).await.unwrap().is_none());
}

/// DynamoDB's client request tokens, as the test server models them: a repeat of a
/// successful transaction with its token is a no-op success, the token with other
/// parameters is refused. jada relies on it: a transaction applied whose answer was lost
/// is retried by the SDK with the same token and succeeds once, not twice, not as a
/// failed condition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_whose_answer_was_lost_is_applied_once() {
    let store = fresh_store().await;
    let t = store.tables().clone();
    let add = |n: u32| {
        json!({
            "ClientRequestToken": "token-of-the-test-000000000001",
            "TransactItems": [{"Update": {
                "TableName": t.ops, "Key": {"pk": {"S": "TEST"}, "sk": {"S": "counter"}},
                "UpdateExpression": "ADD n :n", "ExpressionAttributeValues": {":n": {"N": n.to_string()}}
            }}]
        })
    };
    boto3(json!([
        ["transact_write_items", add(1)],
        ["transact_write_items", add(1)]
    ]));
    let item = boto3(json!([["get_item", {"TableName": t.ops, "Key": {"pk": {"S": "TEST"}, "sk": {"S": "counter"}}}]]));
    assert_eq!(item[0]["Item"]["n"], json!({"N": "1"}), "the repeat was a no-op");
    let (code, _) = jada_testkit::dynamo::boto3_refusal("transact_write_items", add(2));
    assert_eq!(code, "IdempotentParameterMismatchException");

    let c = jada_store::conformance::charter("2031-06-01", 9);
    let ev = jada_core::Event::CharterChanged {
        charter_id: c.charter_id,
        version: 1,
    };
    jada_testkit::dynamo::inject_lost_answer("TransactWriteItems", &t.ops, 1);
    let made = store.create_charter(c.clone(), vec![ev], Utc::now()).await.unwrap();
    assert_eq!(made.version, 1);
    let events = store
        .list_events(jada_store::EventStatus::Pending, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| {
            serde_json::to_string(&e.event)
                .unwrap()
                .contains(&c.charter_id.to_string())
        })
        .count();
    assert_eq!(events, 1, "one event, though the request went twice");
}

/// DynamoDB's indexes are eventually consistent. With jada-ops' indexes 300 ms behind
/// writes, two workers draining the outbox at once take each of 30 events exactly once:
/// none lost to the lag, none delivered twice to a stale index entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_neither_loses_nor_repeats_an_event_when_its_index_lags() {
    let store = fresh_store().await;
    jada_testkit::dynamo::lag_indexes(&store.tables().ops, 300);
    let mut queued = std::collections::BTreeSet::new();
    for i in 0..30 {
        let ev = jada_core::Event::CharterChanged {
            charter_id: jada_core::CharterId::from_uuid(Uuid::new_v4()),
            version: i,
        };
        queued.insert(store.enqueue_event(&ev, Utc::now()).await.unwrap().event_id);
    }
    let seen = store
        .list_events(jada_store::EventStatus::Pending, 100)
        .await
        .unwrap()
        .len();
    assert!(
        seen < 30,
        "the index lags: the newest events are not in it yet ({seen} seen)"
    );
    let worker = |store: DynamoStore| async move {
        let mut taken = vec![];
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let batch = store
                .claim_due_events(Utc::now(), std::time::Duration::from_secs(60), 7)
                .await
                .unwrap();
            for e in &batch {
                store.ack_event(e.event_id, Utc::now()).await.unwrap();
                taken.push(e.event_id);
            }
            let done = store.count_events(jada_store::EventStatus::Done).await.unwrap();
            if done >= 30 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        taken
    };
    let (a, b) = tokio::join!(worker(store.clone()), worker(store.clone()));
    let mut all: Vec<uuid::Uuid> = a.into_iter().chain(b).collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(n, all.len(), "an event was taken twice");
    assert_eq!(
        all.into_iter().collect::<std::collections::BTreeSet<_>>(),
        queued,
        "every event, once"
    );
}
