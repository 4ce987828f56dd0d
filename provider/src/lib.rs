//! An OpenID Connect provider: an OAuth 2.1 authorization server that issues RFC 9068 JWT
//! access tokens and OpenID Connect ID tokens.
//!
//! What it does: discovery (OIDC Discovery, RFC 8414), JWKS, the authorization endpoint with
//! login and consent pages, the token endpoint (authorization code with mandatory PKCE S256,
//! rotating refresh tokens with reuse detection) and UserInfo, on SQLite by default.
//!
//! What it deliberately does not do: the implicit and password grants, `plain` PKCE, redirect
//! URI wildcards, or anything that leaks internals in error responses.
//!
//! Entry points: [`Config`] (flags, env, file) and [`start`] (or [`start_with`] a fixed clock
//! and randomness), which return a [`RunningProvider`]. The code map and invariants are in
//! `ARCHITECTURE.md`.

pub mod admin;
pub mod app;
pub mod backchannel;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod doctor;
mod error;
pub mod fetch;
pub mod healthcheck;
pub mod http;
pub mod metrics;
pub mod protocol;
pub mod random;
pub mod sealing;
pub mod secrets;
pub mod seed;
pub mod serve;
pub mod signing;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod templates;

#[cfg(test)]
mod architecture;

pub use app::{RunningProvider, start, start_with};
pub use config::Config;
pub use error::{BoxError, Error};
