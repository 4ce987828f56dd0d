//! The `AccessClaims` axum extractor; see [`AccessClaims`] for an example.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::challenge::Rejection;
use crate::{AccessClaims, Verifier};

impl<S> FromRequestParts<S> for AccessClaims
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    /// Reuses the claims [`BearerLayer`](crate::BearerLayer) already verified, if any; otherwise
    /// verifies the bearer token with the [`Verifier`] found in the state through `FromRef`.
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(claims) = parts.extensions.get::<AccessClaims>() {
            return Ok(claims.clone());
        }
        let verifier = Verifier::from_ref(state);
        let claims = verifier
            .authenticate(&parts.method, &parts.headers, &parts.uri)
            .await?;
        // Later extractors and handlers of this request see the same claims.
        parts.extensions.insert(claims.clone());
        parts
            .extensions
            .insert(std::sync::Arc::clone(verifier.challenge()));
        Ok(claims)
    }
}
