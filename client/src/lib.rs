//! A demo OpenID Connect relying party, written out by hand so every step can be read.
//!
//! What it does:
//! - the authorization code flow with PKCE S256 ([`pkce`]), `state` and `nonce` ([`state`]),
//!   discovery, the callback checks (state, RFC 9207 `iss`, error responses), the code
//!   exchange with client authentication, ID token validation against the provider's JWKS,
//!   UserInfo, refresh with rotation, and RP-initiated logout ([`oidc`]);
//! - calls to the notes API with the access token ([`api`]);
//! - a [`timeline`] of every HTTP exchange, with secrets masked, decoded JWTs and the spec
//!   section of each step;
//! - two front ends: [`web`] (a small web app that keeps tokens server-side) and
//!   [`walkthrough`] (a colour-coded console tour, optionally with attacks being refused).
//!
//! What it deliberately does not do: the implicit or hybrid flows, `plain` PKCE, tokens in the
//! browser, or anything from the provider's internals: it speaks HTTP only. (The walkthrough
//! may *start* a provider in-process so one command is enough.)
//!
//! Entry points: [`web::run`] / [`web::serve`], [`walkthrough::run`], [`oidc::OidcClient`].
#![warn(missing_docs)]

pub mod api;
pub mod config;
mod error;
pub mod http;
pub mod jwt;
pub mod oidc;
pub mod pkce;
pub mod state;
pub mod telemetry;
pub mod timeline;
pub mod walkthrough;
pub mod web;

pub use error::Error;
