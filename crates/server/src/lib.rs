//! The jada daemon. [`daemon::Daemon`] runs the [`jobs`] scheduler, the [`outbox`]
//! worker, the [`alerts`] loop and the token refresher, and serves [`http`] (health,
//! metrics, the status API) until asked to stop, then drains.
//!
//! - [`jobs`]: specs, schedules (cron in the business time zone, or intervals), the
//!   registry, the runner (lease, record, credential pre-check, timeout, retries), and
//!   the built-in jobs.
//! - [`outbox`]: claims due events and hands them to `jada_ops` handlers; retries with
//!   backoff, then parks dead letters.
//! - [`alerts`]: rules (failing, stale, credentials, dead letters) and the engine that
//!   notifies once per change, with reminders, through log, webhook and mail sinks.
//! - [`status`]: the report behind `/api/status` and `jada doctor`.
//! - [`crew`]: the crew pages behind magic links (offers, schedules).
//! - [`office`]: the office's pages behind an emailed sign-in link and a session.
//! - [`api`]: the booking API (bearer keys) and its OpenAPI document.
//! - [`agent_api`]: the operator's agent endpoints (decide, resume) behind the admin token.
//! - [`delivery`]: the error of every outward sink and the run-log trait, seen by both
//!   `jobs` and `alerts` so `jobs` never imports `alerts`.
//! - [`listen`]: the HTTP listener with header-read (and keep-alive idle) timeouts and a
//!   connection cap.
//!
//! Every use case stays in `jada_ops`; this crate only schedules, records and reports.

pub mod agent_api;
pub mod alerts;
pub mod api;
pub mod crew;
pub mod daemon;
pub mod delivery;
pub mod http;
pub mod jobs;
pub mod listen;
pub mod mcp;
pub mod metrics;
pub mod office;
pub mod outbox;
pub mod setup;
pub mod status;
pub mod web;
