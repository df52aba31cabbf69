//! The s3:// target on moto's S3 (the DynamoDB test server serves S3 too): a backup
//! stored with its length and SHA-256, read independently with boto3, verified, pruned and
//! restored; what is not a complete archive under the prefix is never listed; a missing
//! bucket is an error that says so.
#![cfg(feature = "aws")]

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Duration, Utc};
use jada_backup::{BackupError, BackupKey, Backups, Settings};
use rusqlite::Connection;

fn now() -> DateTime<Utc> {
    "2026-12-03T14:00:00Z".parse().unwrap()
}

/// A bucket no other test uses, made on the test server.
async fn bucket() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!("jada-bk-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let endpoint = jada_testkit::dynamo::server().endpoint.clone();
    let sdk = jada_dynamo::sdk_config(Some("us-east-1"), Some(&endpoint)).await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    s3.create_bucket().bucket(&name).send().await.unwrap();
    name
}

fn settings(target: &str) -> Settings {
    serde_json::from_value(serde_json::json!({
        "target": target,
        "region": "us-east-1",
        "endpoint_url": jada_testkit::dynamo::server().endpoint,
        "keep_hourly": 2, "keep_daily": 0, "keep_monthly": 0,
    }))
    .unwrap()
}

fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join("jada.db")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch("CREATE TABLE charters (id TEXT PRIMARY KEY, price INTEGER);")
        .unwrap();
    for i in 0..300 {
        conn.execute(
            "INSERT INTO charters VALUES (?1, ?2)",
            rusqlite::params![format!("c{i}"), i],
        )
        .unwrap();
    }
    dir
}

/// boto3's view of the objects under `prefix`: key, size, metadata, and the SHA-256 of the
/// bytes it downloads.
fn boto3_objects(bucket: &str, prefix: &str) -> serde_json::Value {
    let script = r#"
import hashlib, json, sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="jada-test", aws_secret_access_key="jada-test-secret")
out = []
for o in s3.list_objects_v2(Bucket=sys.argv[2], Prefix=sys.argv[3]).get("Contents", []):
    got = s3.get_object(Bucket=sys.argv[2], Key=o["Key"])
    body = got["Body"].read()
    out.append({"key": o["Key"], "size": o["Size"], "metadata": got["Metadata"],
                "sha256": hashlib.sha256(body).hexdigest()})
print(json.dumps(out))
"#;
    jada_testkit::run_python(
        script,
        [jada_testkit::dynamo::server().endpoint.as_str(), bucket, prefix],
    )
}

#[tokio::test]
async fn a_backup_to_s3_is_stored_whole_verified_pruned_and_restored() {
    let (data, bucket) = (data_dir(), bucket().await);
    let backups = Backups::new(&settings(&format!("s3://{bucket}/office/jada")), data.path(), None).unwrap();
    assert_eq!(backups.target(), format!("s3://{bucket}/office/jada"));
    let conn = Connection::open(data.path().join("jada.db")).unwrap();
    for h in 0..3 {
        conn.execute("UPDATE charters SET price = price + 1", []).unwrap();
        let out = backups.run(now() + Duration::hours(h)).await.unwrap();
        assert!(out.made && out.verified.is_some(), "{out:?}");
    }
    // keep_hourly = 2: the oldest was pruned once the third was verified.
    let listed: Vec<String> = backups.list().await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(listed, ["20261203T160000Z", "20261203T150000Z"]);

    let objects = boto3_objects(&bucket, "office/jada/");
    let objects = objects.as_array().unwrap();
    assert_eq!(objects.len(), 2, "{objects:?}");
    for o in objects {
        assert!(o["key"].as_str().unwrap().starts_with("office/jada/jada-2026"), "{o}");
        assert_eq!(
            o["metadata"]["sha256"], o["sha256"],
            "the recorded digest is the bytes' own"
        );
        assert_eq!(o["metadata"]["bytes"], o["size"].to_string().as_str());
    }

    // Something under the prefix that is not a complete archive of ours is not listed.
    let endpoint = jada_testkit::dynamo::server().endpoint.clone();
    let sdk = jada_dynamo::sdk_config(Some("us-east-1"), Some(&endpoint)).await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    s3.put_object()
        .bucket(&bucket)
        .key("office/jada/notes.txt")
        .body(b"hello".to_vec().into())
        .send()
        .await
        .unwrap();
    assert_eq!(backups.list().await.unwrap().len(), 2);

    let key = BackupKey::load(&data.path().join("secrets/backup-key")).unwrap();
    let to = tempfile::tempdir().unwrap();
    let dest = to.path().join("restored");
    let v = backups.restore("20261203T150000Z", &dest, &key, false).await.unwrap();
    assert_eq!(v.counts["charters"], 300);
    let sum: i64 = Connection::open(dest.join("jada.db"))
        .unwrap()
        .query_row("SELECT sum(price) FROM charters", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        sum,
        (0..300).sum::<i64>() + 2 * 300,
        "the restore holds the second backup's prices"
    );

    // An altered object (same length, other bytes) is refused by name.
    let name = "office/jada/jada-20261203T160000Z.tar.gz.age";
    let got = s3.get_object().bucket(&bucket).key(name).send().await.unwrap();
    let meta = got.metadata().cloned().unwrap_or_default();
    let mut bytes = got.body.collect().await.unwrap().into_bytes().to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    s3.put_object()
        .bucket(&bucket)
        .key(name)
        .set_metadata(Some(meta))
        .body(bytes.into())
        .send()
        .await
        .unwrap();
    let err = backups.verify(None, &key, now()).await.unwrap_err();
    assert!(err.to_string().contains("was altered or is damaged"), "{err}");
}

#[tokio::test]
async fn a_missing_bucket_is_named_and_no_backup_is_recorded() {
    let data = data_dir();
    let backups = Backups::new(&settings("s3://jada-no-such-bucket/x"), data.path(), None).unwrap();
    let err = backups.run(now()).await.unwrap_err();
    assert!(matches!(err, BackupError::Target { retry: false, .. }), "{err:?}");
    assert!(err.to_string().contains("the bucket does not exist"), "{err}");
    assert!(!Path::new(&data.path().join("backup-state.json")).exists());
}
