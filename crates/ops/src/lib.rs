//! jada's use cases. Each business operation lives here once; the CLI command, the
//! scheduled job, the event handler and the web button all call the same function.
//!
//! - [`import`]: charters and crew from CSV or JSON files, row by row, with every
//!   rejected cell reported by position.
//! - [`charters`]: saving a batch of charters (create, update, or leave unchanged) with
//!   their outbox events, and reading them back.
//! - [`demo`]: a deterministic sample business for newcomers and benchmarks.
//! - [`dispatch`]: offering open crew seats one by one through signed links.
//! - [`booking`]: one charter from the booking API or the office form.
//! - [`cancellation`]: a cancel kept so it can be taken back (reinstated) within hours.
//! - [`office`]: office sign-in links, sessions and booking-API keys.
//! - [`auth`]: the token service's health records, kept in the store.
//! - [`events`]: the handlers the outbox worker hands events to, by topic.
//! - [`mail`]: outgoing mail (MIME with attachments): `.eml` files, or Gmail.
//! - [`port_sheet`]: bookings to the office's Google Sheet, event-driven and reconciled.
//! - [`report`]: the monthly revenue report (xlsx), published to Drive.
//! - [`statements`]: monthly crew statements by mail, each sent once.
//! - [`clock`]: "now", injected so tests can move time.
//!
//! This crate talks to persistence only through `jada_store`'s traits and to Google only
//! through `jada_google`; it never knows SQL or a wire format.

pub mod agent;
pub mod auth;
pub mod booking;
pub mod cancellation;
pub mod charters;
pub mod clock;
pub mod demo;
pub mod dispatch;
pub mod events;
pub mod import;
pub mod mail;
pub mod office;
pub mod port_sheet;
pub mod report;
pub mod roster;
pub mod statements;

pub use clock::{Clock, ManualClock, SystemClock};
