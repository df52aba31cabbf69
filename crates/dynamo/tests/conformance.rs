//! The store's conformance suite, unchanged, against a DynamoDB-compatible server.

use jada_dynamo::DynamoStore;

async fn fresh() -> (DynamoStore, ()) {
    (jada_testkit::dynamo::fresh_store().await, ())
}

jada_store::conformance_tests!(fresh);
