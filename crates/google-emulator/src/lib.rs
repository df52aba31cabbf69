//! A local server that speaks Google's OAuth, Sheets, Drive and Gmail wire formats, for
//! tests and development.
//!
//! Not built yet: it arrives with issue #3 (OAuth token endpoint, tokeninfo, control API)
//! and gains each API surface with the pipeline that needs it.
