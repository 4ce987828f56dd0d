//! Resource-server protection for OAuth 2.1 access tokens (RFC 9068 JWTs), for axum and any
//! tower stack.
//!
//! What it does:
//! - verifies JWT access tokens **offline**: signatures against the issuer's JWKS, fetched once
//!   (through OpenID discovery or a given `jwks_uri`), parsed once into ready keys, refreshed in
//!   the background before `Cache-Control: max-age` runs out, refetched once (rate-limited,
//!   shared by concurrent misses) when a token names an unknown `kid`, and kept in service when
//!   the issuer is unreachable;
//! - runs the RFC 9068 §4 checks in order, each with its own [`Error`] variant: size and form,
//!   `typ` = `at+jwt`, `alg` allow-list (never `none` or HS*), `kid`, key/`alg` consistency,
//!   signature, `iss`, `aud`, `exp`, `nbf`/`iat` with leeway, `jti`/`client_id`/`sub`;
//! - answers refused requests per RFC 6750 §3 (`401`/`403`/`400` with a `WWW-Authenticate:
//!   Bearer` challenge pointing at the RFC 9728 metadata, plus a JSON body);
//! - serves RFC 9728 protected-resource metadata.
//!
//! What it deliberately does not do: introspection (RFC 7662) or any call to the issuer per
//! request, opaque tokens, token revocation checks (tokens stay valid until `exp`), DPoP or
//! mTLS-bound tokens, tokens in the query string or form body (only the `Authorization`
//! header), following `jku`/`x5u`/`jwk`/`x5c` header members.
//!
//! Entry points: [`Verifier`] (built from a [`VerifierConfig`]), [`BearerLayer`] (a
//! `tower::Layer`), the [`AccessClaims`] extractor, [`require_scope`] (a per-route guard) and
//! [`ProtectedResourceMetadata`] with [`metadata_router`]. With the `demo` feature, the
//! `demo` module is the notes API the `resource` binary runs; without it the crate pulls in no
//! command-line, log-subscriber or OpenAPI dependencies.
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use resource::{AccessClaims, BearerLayer, Verifier, VerifierConfig, require_scope};
//!
//! # async fn start() -> Result<(), Box<dyn std::error::Error>> {
//! let config = VerifierConfig::new("https://issuer.example", "https://api.example");
//! let verifier = Verifier::new(config).await?;
//! let app: Router = Router::new()
//!     .route("/notes", get(|claims: AccessClaims| async move { Json(claims.sub) }))
//!     .route_layer(require_scope("api:read"))
//!     .layer(BearerLayer::new(verifier.clone()))
//!     // The extractor finds the Verifier in the state (`FromRef`); here it is the whole state.
//!     .with_state(verifier);
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod bearer;
mod challenge;
mod claims;
mod config;
#[cfg(feature = "demo")]
pub mod demo;
mod dpop;
mod error;
mod extract;
mod fetch;
mod jwks;
mod key_store;
mod layer;
mod metadata;
mod scope;
mod verify;

#[cfg(test)]
mod test_support;

pub use bearer::{Scheme, access_token, bearer_token};
pub use challenge::Rejection;
pub use claims::AccessClaims;
pub use config::{
    DEFAULT_ALGORITHMS, DEFAULT_HTTP_TIMEOUT, DEFAULT_LEEWAY, DEFAULT_MIN_REFETCH_INTERVAL,
    MAX_LEEWAY, VerifierConfig,
};
pub use dpop::DpopMode;
pub use error::{BoxError, Error, ErrorCode};
pub use jsonwebtoken::Algorithm;
pub use jsonwebtoken::jwk::JwkSet;
pub use jwks::JwksStatus;
pub use layer::{Bearer, BearerLayer};
pub use metadata::{
    ProtectedResourceMetadata, WELL_KNOWN_PATH, metadata_response, metadata_router, well_known_url,
};
pub use scope::{RequireScope, RequireScopeLayer, ScopeSet, require_scope};
pub use verify::{MAX_TOKEN_BYTES, Verifier};

/// The README's code blocks, compiled as doc-tests so its snippet cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
