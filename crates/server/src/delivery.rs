//! Telling something outside jada: the error every outward sink answers with, and the
//! run log a failed job is written to. Both [`crate::jobs`] (which writes run logs) and
//! [`crate::alerts`] (whose CloudWatch sink is one) see this module, so neither has to
//! import the other for it: `alerts` may use `jobs` (for job specs), never the reverse.

use jada_core::{Fault, Recovery};
use jada_ops::mail::MailError;
use jada_store::JobRun;

/// Why a notification or a run log did not reach its sink. Never carries the sink's
/// secret (a webhook's URL is its key).
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The endpoint could not be reached or answered 429/5xx.
    #[error("{sink}: {detail}")]
    Unreachable { sink: &'static str, detail: String },
    /// The endpoint refused the notification (4xx): its configuration must change.
    #[error("{sink} refused the notification: {detail}")]
    Refused { sink: &'static str, detail: String },
    #[error(transparent)]
    Mail(#[from] MailError),
}

impl Fault for SinkError {
    fn recovery(&self) -> Recovery {
        match self {
            SinkError::Unreachable { .. } => Recovery::Retry,
            SinkError::Refused { .. } => Recovery::Operator,
            SinkError::Mail(e) => e.recovery(),
        }
    }
}

/// Somewhere a failed run is reported as one event, beside the alerts it raises.
#[async_trait::async_trait]
pub trait RunLog: Send + Sync {
    fn name(&self) -> &'static str;
    async fn failed(&self, run: &JobRun) -> Result<(), SinkError>;
}
