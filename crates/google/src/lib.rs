//! jada's Google client. [`auth`] is the unified token service: every part of jada (and,
//! through `jada auth token`, every legacy script) gets its access tokens from it, so a
//! credential is refreshed once, ahead of expiry, and a refused credential is noticed,
//! recorded and reported instead of failing quietly every run.
//!
//! [`client::GoogleClient`] is the one request path for Sheets, Drive and Gmail (token,
//! retries with backoff, one refresh on 401, errors naming API, resource and credential);
//! `sheets`, `drive` and `gmail` only build requests and read answers.
//!
//! Only this crate knows Google's wire formats. Every base URL comes from
//! configuration, so tests point them at the `google-emulator` crate. It does not import
//! `jada-store`: credential health leaves through [`auth::CredentialStateSink`].

pub mod auth;
pub mod client;
pub mod drive;
pub mod gmail;
pub mod gmail_read;
pub mod secret_files;
pub mod sheets;
