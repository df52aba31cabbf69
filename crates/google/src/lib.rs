//! jada's Google client: the unified token service (`auth`), and the Sheets, Drive and
//! Gmail clients. Every base URL comes from configuration, so tests point them at the
//! `google-emulator` crate.
//!
//! Not built yet: the token service arrives with issue #3, the API clients with the
//! pipelines that use them (#5, #6, #7). Only this crate will know Google's wire formats.
