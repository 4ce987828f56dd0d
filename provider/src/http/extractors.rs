//! Extractors shared by the handlers.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

/// The one `{…}` segment of a route path (`/interaction/{id}`, `/register/{client_id}`),
/// percent-decoded.
///
/// A segment that is not UTF-8 cannot name anything the provider issued, so it arrives as an
/// empty string: the handler answers as for any unknown id, in its documented error format,
/// instead of axum's plain-text `400 Invalid URL` rejection.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let id = Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| id)
            .unwrap_or_default();
        Ok(PathId(id))
    }
}
