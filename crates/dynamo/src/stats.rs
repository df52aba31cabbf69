//! What jada asks of DynamoDB, counted: requests (each attempt, retries included) per
//! operation, with the bytes sent and received. `/metrics` shows them
//! (`jada_dynamodb_requests_total`), and the benchmark turns them into capacity units
//! and a monthly cost.

use std::collections::BTreeMap;
use std::sync::Mutex;

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// Totals for one operation (`Query`, `TransactWriteItems`...).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpStats {
    pub requests: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// Every operation's totals since the store was opened.
#[derive(Debug, Default)]
pub struct RequestStats {
    by_op: Mutex<BTreeMap<String, OpStats>>,
}

impl RequestStats {
    /// A copy of the totals, by operation.
    pub fn snapshot(&self) -> BTreeMap<String, OpStats> {
        self.by_op.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn add(&self, op: &str, f: impl FnOnce(&mut OpStats)) {
        let mut map = self.by_op.lock().unwrap_or_else(|p| p.into_inner());
        f(map.entry(op.to_string()).or_default());
    }
}

/// The interceptor that feeds [`RequestStats`].
#[derive(Debug)]
pub(crate) struct Counter(pub std::sync::Arc<RequestStats>);

/// The operation being run (`Query`), as the SDK records it for every request.
fn operation(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>().map_or("unknown", |m| m.name()).to_string()
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "jada-request-counter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let sent = context.request().body().bytes().map_or(0, |b| b.len() as u64);
        self.0.add(&operation(cfg), |s| {
            s.requests += 1;
            s.bytes_sent += sent;
        });
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let received = context
            .response()
            .headers()
            .get("content-length")
            .and_then(|l| l.parse::<u64>().ok())
            .unwrap_or(0);
        self.0.add(&operation(cfg), |s| s.bytes_received += received);
        Ok(())
    }
}
