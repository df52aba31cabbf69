//! Whether retrying can help. Every error that crosses a boundary where someone decides
//! what to do next — a job run, an outbox event, an alert sink, a mailer, an agent's
//! tool — says which of two kinds it is, so the decision is made from a type, never by
//! reading the message:
//!
//! - [`Recovery::Retry`]: passing (HTTP 429 or 5xx, a timeout, a locked database). The
//!   same call may succeed later; retry with [`Backoff`].
//! - [`Recovery::Operator`]: only a person can fix it (a credential Google refused, a
//!   spreadsheet not shared, a bad setting, a conflicting write). Retrying only repeats
//!   the failure, so the caller stops and alerts at once.
//!
//! Errors implement [`Fault`]; wrappers delegate to their source.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What an error asks of whoever handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recovery {
    /// Try again later.
    Retry,
    /// A person must act first.
    Operator,
}

impl Recovery {
    pub fn as_str(&self) -> &'static str {
        match self {
            Recovery::Retry => "retry",
            Recovery::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Recovery> {
        match s {
            "retry" => Some(Recovery::Retry),
            "operator" => Some(Recovery::Operator),
            _ => None,
        }
    }
}

/// An error that knows whether retrying can help.
pub trait Fault: std::error::Error {
    fn recovery(&self) -> Recovery;

    fn is_retryable(&self) -> bool {
        self.recovery() == Recovery::Retry
    }

    /// The credential that must be authorised again before this can succeed, when that
    /// is the cause (one cause, one alert: the credential's).
    fn needs_reauth(&self) -> Option<&str> {
        None
    }
}

/// Exponential backoff with jitter: attempt 1 waits about `base`, each further attempt
/// twice as long, never more than `max`. The only place jada computes a retry delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const fn new(base: Duration, max: Duration) -> Backoff {
        Backoff { base, max }
    }

    /// The wait before retrying after failed attempt `attempt` (1-based). `jitter` is a
    /// number in `[0, 1)` from the caller's random source (this crate reads none); it
    /// spreads the wait over ±50% so callers that failed together do not retry in step.
    /// A server's `Retry-After` is honoured up to `max`.
    pub fn delay(&self, attempt: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let jittered = exp.mul_f64(0.5 + jitter.clamp(0.0, 1.0));
        retry_after.map_or(jittered, |r| r.max(jittered)).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn doubles_and_stops_at_the_cap() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let mid = |a| b.delay(a, 0.5, None);
        assert_eq!(mid(1), Duration::from_secs(1));
        assert_eq!(mid(2), Duration::from_secs(2));
        assert_eq!(mid(5), Duration::from_secs(16));
        assert_eq!(mid(6), Duration::from_secs(30));
        assert_eq!(mid(60), Duration::from_secs(30));
        assert_eq!(b.delay(1, 0.0, None), Duration::from_millis(500));
        assert_eq!(b.delay(1, 0.5, Some(Duration::from_secs(7))), Duration::from_secs(7));
        assert_eq!(b.delay(1, 0.5, Some(Duration::from_secs(700))), Duration::from_secs(30));
    }

    proptest! {
        #[test]
        fn never_above_the_cap_nor_below_half_the_base(attempt in 0u32..1000, jitter in 0.0f64..1.0, base in 1u64..10_000) {
            let b = Backoff::new(Duration::from_millis(base), Duration::from_secs(64));
            let d = b.delay(attempt, jitter, None);
            prop_assert!(d <= Duration::from_secs(64));
            prop_assert!(d >= Duration::from_millis(base / 2).min(Duration::from_secs(64)));
        }
    }
}
