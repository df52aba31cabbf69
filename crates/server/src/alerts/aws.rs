//! Alert sinks on AWS: an SNS topic (`Publish`, with `severity` and `status` message
//! attributes for subscription filters) and a CloudWatch Logs stream (`PutLogEvents`,
//! one JSON event per notification). Both take credentials from the standard AWS chain
//! and are made on first use (loading the chain is async).

use std::sync::Arc;

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::json;
use tokio::sync::OnceCell;

use super::sinks::{AlertSink, SinkError};
use super::{AwsSinks, NoticeKind, Notification};

/// The sinks `[alerts.sns]` and `[alerts.cloudwatch]` configure (a CloudWatch stream takes
/// failed runs as well as alerts).
pub fn configured(config: &jada_app::Config) -> AwsSinks {
    let mut sinks = AwsSinks::default();
    if let Some(sns) = &config.alerts.sns {
        sinks.alerts.push(Arc::new(SnsSink::new(
            sns.topic_arn.clone(),
            sns.region.clone(),
            sns.endpoint_url.clone(),
        )));
    }
    if let Some(cw) = &config.alerts.cloudwatch {
        // Default stream: `jada-<instance>`, one per daemon, as CloudWatch wants one writer.
        let stream = cw.log_stream.clone().unwrap_or_else(|| {
            let instance = config.store.instance_id.clone();
            format!("jada-{}", instance.unwrap_or_else(jada_dynamo::default_instance))
        });
        let sink = Arc::new(CloudWatchSink::new(
            cw.log_group.clone(),
            stream,
            cw.region.clone(),
            cw.endpoint_url.clone(),
        ));
        sinks.alerts.push(sink.clone());
        sinks.run_logs.push(sink);
    }
    sinks
}

fn status(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::Firing => "firing",
        NoticeKind::Reminder => "reminder",
        NoticeKind::Resolved => "resolved",
    }
}

fn severity(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::Firing | NoticeKind::Reminder => "critical",
        NoticeKind::Resolved => "info",
    }
}

/// The notification as one JSON document (SNS message, CloudWatch event).
fn document(n: &Notification) -> String {
    json!({
        "alert": n.key,
        "status": status(n.kind),
        "severity": severity(n.kind),
        "text": n.text(),
        "summary": n.summary,
        "since": n.since.to_rfc3339(),
        "at": n.at.to_rfc3339(),
    })
    .to_string()
}

/// What a failed AWS call means for the sink: throttling and outages may pass; a refused
/// request (no permission, no such topic) needs the configuration changed.
fn sink_error<E, R>(sink: &'static str, action: &str, e: aws_sdk_sns::error::SdkError<E, R>) -> SinkError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = e.code().unwrap_or("").to_string();
    let detail = format!("{action}: {} {}", code, e.message().unwrap_or(&e.to_string()))
        .trim()
        .to_string();
    let passing = code.contains("Throttl")
        || code.contains("InternalError")
        || code.contains("ServiceUnavailable")
        || matches!(
            e,
            aws_sdk_sns::error::SdkError::TimeoutError(_)
                | aws_sdk_sns::error::SdkError::DispatchFailure(_)
                | aws_sdk_sns::error::SdkError::ResponseError(_)
        );
    if passing {
        SinkError::Unreachable { sink, detail }
    } else {
        SinkError::Refused { sink, detail }
    }
}

/// Publishes each notification to `topic_arn`.
pub struct SnsSink {
    pub topic_arn: String,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    client: OnceCell<aws_sdk_sns::Client>,
}

impl SnsSink {
    pub fn new(topic_arn: String, region: Option<String>, endpoint_url: Option<String>) -> SnsSink {
        SnsSink {
            topic_arn,
            region,
            endpoint_url,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> &aws_sdk_sns::Client {
        self.client
            .get_or_init(|| async {
                let sdk = jada_dynamo::sdk_config(self.region.as_deref(), self.endpoint_url.as_deref()).await;
                aws_sdk_sns::Client::new(&sdk)
            })
            .await
    }
}

fn attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("data_type is set")
}

#[async_trait::async_trait]
impl AlertSink for SnsSink {
    fn name(&self) -> &'static str {
        "sns"
    }

    async fn send(&self, n: &Notification) -> Result<(), SinkError> {
        // SNS subjects are at most 100 characters, printable ASCII.
        let subject: String = format!("[jada] {}", n.text())
            .chars()
            .map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' })
            .take(100)
            .collect();
        self.client()
            .await
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(document(n))
            .message_attributes("severity", attribute(severity(n.kind)))
            .message_attributes("status", attribute(status(n.kind)))
            .message_attributes("alert", attribute(&n.key))
            .send()
            .await
            .map_err(|e| sink_error("sns", &format!("sns:Publish to {}", self.topic_arn), e))?;
        Ok(())
    }
}

/// Writes each notification to a log stream, making the stream when it is missing.
pub struct CloudWatchSink {
    pub log_group: String,
    pub log_stream: String,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    client: OnceCell<aws_sdk_cloudwatchlogs::Client>,
}

impl CloudWatchSink {
    pub fn new(log_group: String, log_stream: String, region: Option<String>, endpoint_url: Option<String>) -> Self {
        CloudWatchSink {
            log_group,
            log_stream,
            region,
            endpoint_url,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> &aws_sdk_cloudwatchlogs::Client {
        self.client
            .get_or_init(|| async {
                let sdk = jada_dynamo::sdk_config(self.region.as_deref(), self.endpoint_url.as_deref()).await;
                aws_sdk_cloudwatchlogs::Client::new(&sdk)
            })
            .await
    }

    /// One `PutLogEvents`; `Ok(Some(why))` when CloudWatch took the call but rejected the
    /// event (older than 14 days, too far in the future, past the group's retention).
    async fn put(
        &self,
        event: &InputLogEvent,
    ) -> Result<
        Option<String>,
        aws_sdk_cloudwatchlogs::error::SdkError<aws_sdk_cloudwatchlogs::operation::put_log_events::PutLogEventsError>,
    > {
        let out = self
            .client()
            .await
            .put_log_events()
            .log_group_name(&self.log_group)
            .log_stream_name(&self.log_stream)
            .log_events(event.clone())
            .send()
            .await?;
        Ok(out.rejected_log_events_info().map(|r| {
            if r.too_old_log_event_end_index().is_some() {
                "the event is older than CloudWatch takes (14 days)".to_string()
            } else if r.too_new_log_event_start_index().is_some() {
                "the event is too far in the future: check this machine's clock".to_string()
            } else {
                "the event is past the log group's retention".to_string()
            }
        }))
    }
}

#[async_trait::async_trait]
impl AlertSink for CloudWatchSink {
    fn name(&self) -> &'static str {
        "cloudwatch"
    }

    async fn send(&self, n: &Notification) -> Result<(), SinkError> {
        self.write(n.at, document(n)).await
    }
}

#[async_trait::async_trait]
impl crate::delivery::RunLog for CloudWatchSink {
    fn name(&self) -> &'static str {
        "cloudwatch"
    }

    /// One JSON event per failed run, beside the alert it raises.
    async fn failed(&self, run: &jada_store::JobRun) -> Result<(), SinkError> {
        let at = run.finished_at.unwrap_or(run.started_at);
        let doc = json!({
            "event": "run_failed",
            "job": run.job,
            "run_id": run.run_id.to_string(),
            "trigger": run.trigger.as_str(),
            "error": run.error,
            "recovery": run.recovery.map(|r| r.as_str()),
            "needs_reauth": run.needs_reauth,
            "attempts": run.attempts,
            "started_at": run.started_at.to_rfc3339(),
            "finished_at": at.to_rfc3339(),
        });
        self.write(at, doc.to_string()).await
    }
}

impl CloudWatchSink {
    async fn write(&self, at: chrono::DateTime<chrono::Utc>, message: String) -> Result<(), SinkError> {
        let event = InputLogEvent::builder()
            .timestamp(at.timestamp_millis())
            .message(message)
            .build()
            .map_err(|e| SinkError::Refused {
                sink: "cloudwatch",
                detail: e.to_string(),
            })?;
        let action = format!("logs:PutLogEvents to {}/{}", self.log_group, self.log_stream);
        let rejected = |why: String| SinkError::Refused {
            sink: "cloudwatch",
            detail: format!("{action}: CloudWatch rejected it: {why}"),
        };
        match self.put(&event).await {
            Ok(None) => Ok(()),
            Ok(Some(why)) => Err(rejected(why)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                // The stream (or the group) is missing: make the stream, once, and retry.
                let made = self
                    .client()
                    .await
                    .create_log_stream()
                    .log_group_name(&self.log_group)
                    .log_stream_name(&self.log_stream)
                    .send()
                    .await;
                if let Err(e) = made {
                    let not_found = e
                        .as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception());
                    return Err(if not_found {
                        SinkError::Refused {
                            sink: "cloudwatch",
                            detail: format!(
                                "the log group `{}` does not exist: create it (aws logs create-log-group --log-group-name {})",
                                self.log_group, self.log_group
                            ),
                        }
                    } else {
                        sink_error("cloudwatch", "logs:CreateLogStream", e)
                    });
                }
                match self.put(&event).await {
                    Ok(None) => Ok(()),
                    Ok(Some(why)) => Err(rejected(why)),
                    Err(e) => Err(sink_error("cloudwatch", &action, e)),
                }
            }
            Err(e) => Err(sink_error("cloudwatch", &action, e)),
        }
    }
}
