//! The OAuth 2.1 / OpenID Connect protocol core.
//!
//! **Architecture invariant:** this module does no IO. It does not import axum, sqlx, askama,
//! reqwest or tokio, never reads the clock and never draws random numbers: callers pass `now`
//! and random bytes in. Its functions take validated values and return decisions or claims,
//! which makes them easy to test against the RFCs.

pub mod authorize;
pub mod backchannel;
pub mod cimd;
pub mod claims;
pub mod client;
pub mod client_assertion;
pub mod device;
pub mod error;
pub mod grants;
pub mod introspect;
pub mod issuance;
pub mod logout;
pub mod params;
pub mod pkce;
pub mod redirect_uri;
pub mod registration;
pub mod request_object;
pub mod resource;
pub mod scope;
pub mod throttle;
pub mod totp;
pub mod types;

pub use error::{ErrorCode, OAuthError};
