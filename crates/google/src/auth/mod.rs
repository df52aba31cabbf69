//! The unified token service for Google credentials.
//!
//! - [`credentials`]: `[[credentials]]` entries and the key files Google's tools write.
//! - [`grant`]: one token-endpoint request and what its answer means.
//! - [`service`]: [`TokenService`]: cache, single-flight refresh, backoff, blocking of
//!   refused credentials, health records, the background refresher.
//! - [`cache_file`]: `unified-token.json`, shared with other programs on the host.
//! - [`probe`]: the live `tokeninfo` check, and what an API's 401/403 means.
//! - [`login`]: the installed-app flow that writes an `authorized_user` file.

pub mod cache_file;
pub mod credentials;
mod error;
pub mod grant;
pub mod login;
pub mod probe;
mod service;
mod token;

pub use credentials::{CredentialConfig, CredentialFile};
pub use error::AuthError;
pub use probe::{classify_api_refusal, Probe};
pub use service::{CredentialStateSink, NoStateSink, ServiceOptions, TokenService};
pub use token::AccessToken;
