//! The daemon's parts against a real SQLite file, a webhook server on 127.0.0.1 and the
//! Google emulator, with time under the test's control.

mod alerts;
#[cfg(feature = "aws")]
mod aws_sinks;
mod backup;
mod daemon;
mod incident;
mod outbox;
mod runner;
mod support;
