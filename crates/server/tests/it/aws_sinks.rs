//! The AWS alert sinks against the local AWS-compatible server (moto): an SNS topic
//! delivering to an SQS queue, and a CloudWatch Logs group (alerts and failed runs),
//! both read back with boto3.

use chrono::{DateTime, Utc};
use jada_server::alerts::aws::{CloudWatchSink, SnsSink};
use jada_server::alerts::sinks::{AlertSink, SinkError};
use jada_server::alerts::{NoticeKind, Notification};
use jada_server::jobs::runner::RunLog;
use jada_testkit::run_python;
use serde_json::Value;

const BOTO: &str = r#"
import json, sys, boto3
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
sns, sqs, logs = (boto3.client(s, **kw) for s in ("sns", "sqs", "logs"))
if sys.argv[2] == "setup":
    topic = sns.create_topic(Name=sys.argv[3])["TopicArn"]
    queue = sqs.create_queue(QueueName=sys.argv[3])["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    logs.create_log_group(logGroupName="/jada/" + sys.argv[3])
    print(json.dumps({"topic": topic, "queue": queue}))
else:
    got = sqs.receive_message(QueueUrl=sys.argv[3], MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    events = logs.get_log_events(logGroupName=sys.argv[4], logStreamName="jada-test")["events"]
    print(json.dumps({"sns": [json.loads(m["Body"]) for m in got], "logs": [e["message"] for e in events]}))
"#;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_an_sns_topic_and_a_cloudwatch_stream_as_json() {
    let endpoint = jada_testkit::dynamo::server().endpoint.clone();
    let name = format!("alerts-{}", std::process::id());
    let made = run_python(BOTO, [endpoint.as_str(), "setup", name.as_str()]);
    let (topic, queue) = (made["topic"].as_str().unwrap(), made["queue"].as_str().unwrap());
    let group = format!("/jada/{name}");
    let sns = SnsSink::new(topic.into(), Some("us-east-1".into()), Some(endpoint.clone()));
    let cw = CloudWatchSink::new(
        group.clone(),
        "jada-test".into(),
        Some("us-east-1".into()),
        Some(endpoint.clone()),
    );
    // CloudWatch takes events of the last 14 days only: these are from today.
    let now = Utc::now();
    let firing = Notification {
        key: "job-failing:port-sheet".into(),
        kind: NoticeKind::Firing,
        summary: "port-sheet failed 3 times: the sheet was not found".into(),
        since: now - chrono::Duration::minutes(90),
        at: now - chrono::Duration::minutes(90),
    };
    let resolved = Notification {
        kind: NoticeKind::Resolved,
        at: now,
        ..firing.clone()
    };
    for n in [&firing, &resolved] {
        sns.send(n).await.unwrap();
        cw.send(n).await.unwrap(); // the stream is made on first use
    }
    // A failed run is one event of its own in the stream.
    let mut run = jada_store::JobRun::started("port-sheet", jada_store::Trigger::Schedule, now);
    run.outcome = jada_store::RunOutcome::Failed;
    run.error = Some("the sheet was not found".into());
    run.finished_at = Some(now);
    run.attempts = 3;
    RunLog::failed(&cw, &run).await.unwrap();

    let got = run_python(BOTO, [endpoint.as_str(), "read", queue, group.as_str()]);
    let messages = got["sns"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{got}");
    let first = &messages[0];
    assert_eq!(first["MessageAttributes"]["severity"]["Value"], "critical");
    assert_eq!(first["MessageAttributes"]["status"]["Value"], "firing");
    assert!(first["Subject"]
        .as_str()
        .unwrap()
        .starts_with("[jada] ALERT: port-sheet failed"));
    let body: Value = serde_json::from_str(first["Message"].as_str().unwrap()).unwrap();
    assert_eq!(body["alert"], "job-failing:port-sheet");
    assert_eq!(messages[1]["MessageAttributes"]["severity"]["Value"], "info");
    let events: Vec<Value> = got["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(e.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["status"], "firing");
    assert_eq!(events[1]["status"], "resolved");
    assert_eq!(events[2]["event"], "run_failed");
    assert_eq!(events[2]["job"], "port-sheet");
    assert_eq!(events[2]["attempts"], 3);
    assert_eq!(events[2]["error"], "the sheet was not found");
    assert!(
        events[1]["text"].as_str().unwrap().starts_with("RESOLVED after 1h30m"),
        "{}",
        events[1]
    );

    // A group that does not exist is a refusal that says how to make it.
    let missing = CloudWatchSink::new(
        "/jada/nope".into(),
        "s".into(),
        Some("us-east-1".into()),
        Some(endpoint.clone()),
    );
    let err = missing.send(&firing).await.unwrap_err();
    assert!(matches!(err, SinkError::Refused { .. }), "{err}");
    assert!(err.to_string().contains("create-log-group"), "{err}");
    // An event CloudWatch rejects (older than 14 days) is an error, not a silent loss.
    let stale = Notification {
        at: t("2024-07-04T18:00:00Z"),
        ..firing.clone()
    };
    let err = cw.send(&stale).await.unwrap_err();
    assert!(err.to_string().contains("older than"), "{err}");
    // So is a topic that does not exist.
    let nowhere = SnsSink::new(
        "arn:aws:sns:us-east-1:123456789012:nowhere".into(),
        Some("us-east-1".into()),
        Some(endpoint),
    );
    let err = nowhere.send(&firing).await.unwrap_err();
    assert!(matches!(err, SinkError::Refused { .. }), "{err}");
}
