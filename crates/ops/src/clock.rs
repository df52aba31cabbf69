//! The real clock. The [`Clock`] trait and the test clock live in `jada_core`, so every
//! crate can take a clock without depending on this one.

use chrono::{DateTime, Utc};
pub use jada_core::clock::{Clock, ManualClock};

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
