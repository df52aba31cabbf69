//! jada on tables shaped like a real account's: the business's own index on
//! `charter_date` (named `charter_date-index`), either capacity mode, point-in-time
//! recovery, and a `create-tables` that says what it will change before changing a
//! business table. The test server refuses an index of the wrong capacity shape as
//! DynamoDB does, so a request jada would get wrong fails here too.

use jada_core::Month;
use jada_dynamo::{DynamoConfig, DynamoStore};
use jada_store::CharterStore;
use jada_testkit::dynamo::{boto3, boto3_refusal, config, fresh_tables, inject_fault};
use serde_json::{json, Value};
use uuid::Uuid;

/// The business's charters table as a console would have made it: its key, and an index
/// `charter_date-index` on charter_date; `provisioned` or on demand.
fn business_charters_table(name: &str, provisioned: bool) -> Value {
    let mut index = json!({
        "IndexName": "charter_date-index",
        "KeySchema": [{"AttributeName": "charter_date", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
    });
    let mut table = json!({
        "TableName": name,
        "KeySchema": [
            {"AttributeName": "charter_id", "KeyType": "HASH"},
            {"AttributeName": "created_at", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "charter_id", "AttributeType": "S"},
            {"AttributeName": "created_at", "AttributeType": "S"},
            {"AttributeName": "charter_date", "AttributeType": "S"},
        ],
    });
    if provisioned {
        let units = json!({"ReadCapacityUnits": 7, "WriteCapacityUnits": 4});
        index["ProvisionedThroughput"] = units.clone();
        table["ProvisionedThroughput"] = units;
    } else {
        table["BillingMode"] = json!("PAY_PER_REQUEST");
    }
    table["GlobalSecondaryIndexes"] = json!([index]);
    table
}

fn old_charter(date: &str) -> (Uuid, Value) {
    let id = Uuid::new_v4();
    let item = json!({
        "charter_id": {"S": id.to_string()},
        "created_at": {"S": "2024-06-01T10:00:00.123456"},
        "charter_date": {"S": date},
        "vessel_name": {"S": "Marlin"},
        "guest_count": {"N": "6"},
    });
    (id, item)
}

fn indexes(table: &str) -> Vec<Value> {
    let d = boto3(json!([["describe_table", {"TableName": table}]]));
    d[0]["Table"]["GlobalSecondaryIndexes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn store_on(cfg: &DynamoConfig) -> DynamoStore {
    DynamoStore::connect(cfg).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_business_date_index_is_used_whatever_its_name_and_never_built_twice() {
    let cfg = config(fresh_tables());
    let t = cfg.tables.clone();
    boto3(json!([["create_table", business_charters_table(&t.charters, true)]]));
    let store = store_on(&cfg).await;

    // The plan makes jada's own table and the missing ones; nothing on the charters table.
    let plan = store.plan().await.unwrap();
    assert!(
        plan.iter().all(|s| s.table != t.charters),
        "nothing to change on the business's charters table: {plan:?}"
    );
    store.create_tables().await.unwrap();
    assert_eq!(indexes(&t.charters).len(), 1, "no second index over charter_date");

    let check = store.check().await.unwrap();
    assert!(check.ok, "{check:?}");
    let charters = check.tables.iter().find(|c| c.role == "charters").unwrap();
    assert_eq!(charters.indexes, ["days: charter_date-index"]);

    // Days are read through the business's index: the old script's charter lists.
    let (id, item) = old_charter("2024-07-05");
    boto3(json!([["put_item", {"TableName": t.charters, "Item": item}]]));
    let month = store
        .list_charters_in_month(Month::parse("2024-07").unwrap())
        .await
        .unwrap();
    assert_eq!(month.iter().map(|c| c.charter_id.as_uuid()).collect::<Vec<_>>(), [id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_date_index_that_is_not_there_is_named_not_built() {
    let mut cfg = config(fresh_tables());
    cfg.tables.date_index = Some("by-day".into());
    let t = cfg.tables.clone();
    boto3(json!([["create_table", business_charters_table(&t.charters, false)]]));
    let store = store_on(&cfg).await;
    store.create_tables().await.unwrap();
    assert_eq!(
        indexes(&t.charters).len(),
        1,
        "a misnamed index is the operator's to fix"
    );
    let check = store.check().await.unwrap();
    assert!(!check.ok);
    let charters = check.tables.iter().find(|c| c.role == "charters").unwrap();
    assert!(
        charters
            .missing
            .iter()
            .any(|m| m.contains("`by-day`") && m.contains("date_index")),
        "{charters:?}"
    );
}

/// DynamoDB's rule, on the test server as on AWS: an index added to a provisioned table
/// carries its own throughput, one added to an on-demand table carries none.
#[test]
fn the_test_server_refuses_an_index_of_the_wrong_capacity_shape() {
    let t = fresh_tables();
    let provisioned = format!("{}-p", t.charters);
    let on_demand = format!("{}-d", t.charters);
    boto3(json!([
        ["create_table", business_charters_table(&provisioned, true)],
        ["create_table", business_charters_table(&on_demand, false)],
    ]));
    let add = |table: &str, throughput: bool| {
        let mut create = json!({
            "IndexName": "charter_month",
            "KeySchema": [{"AttributeName": "charter_month", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        });
        if throughput {
            create["ProvisionedThroughput"] = json!({"ReadCapacityUnits": 1, "WriteCapacityUnits": 1});
        }
        json!({
            "TableName": table,
            "AttributeDefinitions": [{"AttributeName": "charter_month", "AttributeType": "S"}],
            "GlobalSecondaryIndexUpdates": [{"Create": create}],
        })
    };
    let (code, message) = boto3_refusal("update_table", add(&provisioned, false));
    assert_eq!(code, "ValidationException");
    assert!(
        message.contains("ProvisionedThroughput is not specified for index: charter_month"),
        "{message}"
    );
    let (code, message) = boto3_refusal("update_table", add(&on_demand, true));
    assert_eq!(code, "ValidationException");
    assert!(message.contains("when BillingMode is PAY_PER_REQUEST"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_index_fits_the_tables_capacity_mode() {
    for provisioned in [true, false] {
        let mut cfg = config(fresh_tables());
        cfg.month_index = true;
        let t = cfg.tables.clone();
        boto3(json!([[
            "create_table",
            business_charters_table(&t.charters, provisioned)
        ]]));
        let store = store_on(&cfg).await;
        let plan = store.plan().await.unwrap();
        let add = plan
            .iter()
            .find(|s| s.table == t.charters && s.says.contains("add index `charter_month`"))
            .unwrap_or_else(|| panic!("{plan:?}"));
        assert!(add.changes_business_table, "asked for with --yes");
        assert!(
            add.says.contains("online index build over about 0 items"),
            "{}",
            add.says
        );
        store.create_tables().await.unwrap();
        let month = indexes(&t.charters)
            .into_iter()
            .find(|g| g["IndexName"] == "charter_month")
            .expect("the month index was added");
        if provisioned {
            // The table's own capacity (7 read, 4 write) unless configured.
            assert_eq!(month["ProvisionedThroughput"]["ReadCapacityUnits"], 7, "{month}");
            assert_eq!(month["ProvisionedThroughput"]["WriteCapacityUnits"], 4, "{month}");
        }
        assert!(store.uses_month_index().await);
    }
    // Configured capacity wins over the table's.
    let mut cfg = config(fresh_tables());
    cfg.month_index = true;
    cfg.index_read_capacity = Some(3);
    cfg.index_write_capacity = Some(2);
    boto3(json!([[
        "create_table",
        business_charters_table(&cfg.tables.charters, true)
    ]]));
    store_on(&cfg).await.create_tables().await.unwrap();
    let month = indexes(&cfg.tables.charters)
        .into_iter()
        .find(|g| g["IndexName"] == "charter_month")
        .unwrap();
    assert_eq!(month["ProvisionedThroughput"]["ReadCapacityUnits"], 3, "{month}");
    assert_eq!(month["ProvisionedThroughput"]["WriteCapacityUnits"], 2, "{month}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_in_time_recovery_is_reported_and_turned_on_for_jadas_table() {
    let cfg = config(fresh_tables());
    let t = cfg.tables.clone();
    boto3(json!([["create_table", business_charters_table(&t.charters, false)]]));
    let store = store_on(&cfg).await;
    store.create_tables().await.unwrap();
    let check = store.check().await.unwrap();
    let ops = check.tables.iter().find(|c| c.role == "ops").unwrap();
    assert_eq!(
        ops.point_in_time_recovery,
        Some(true),
        "create-tables turns it on for jada-ops"
    );
    assert!(ops.warnings.is_empty(), "{ops:?}");
    let charters = check.tables.iter().find(|c| c.role == "charters").unwrap();
    assert_eq!(charters.point_in_time_recovery, Some(false));
    assert!(
        charters
            .warnings
            .iter()
            .any(|w| w.contains("point-in-time recovery is off")
                && w.contains(&format!("update-continuous-backups --table-name {}", t.charters))),
        "{charters:?}"
    );
    assert!(check.ok, "a warning is not a failure");
}

/// A failed look-up of the index is asked again, never remembered for the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_index_lookup_is_not_remembered() {
    let cfg = config(fresh_tables());
    let t = cfg.tables.clone();
    boto3(json!([["create_table", business_charters_table(&t.charters, false)]]));
    let store = store_on(&cfg).await;
    store.create_tables().await.unwrap();
    let store = store_on(&cfg).await;
    let (id, item) = old_charter("2024-07-05");
    boto3(json!([["put_item", {"TableName": t.charters, "Item": item}]]));
    inject_fault("DescribeTable", &t.charters, "AccessDeniedException", 1);
    let july = Month::parse("2024-07").unwrap();
    let first = store.list_charters_in_month(july).await;
    assert!(first.is_err(), "without its index name the day query fails: {first:?}");
    let second = store.list_charters_in_month(july).await.unwrap();
    assert_eq!(second.iter().map(|c| c.charter_id.as_uuid()).collect::<Vec<_>>(), [id]);
}
