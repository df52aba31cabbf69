//! The jada daemon: scheduler, outbox worker, run history, alerts and the HTTP surface
//! (crew pages, admin, API, health, metrics).
//!
//! Not built yet: it arrives with issue #4 (daemon) and grows with #8 (crew pages) and #9
//! (office pages, booking API). Until then `jada` runs every use case from the CLI.
