//! RFC 9728 OAuth 2.0 Protected Resource Metadata, served at
//! `/.well-known/oauth-protected-resource`.

use std::sync::Arc;

use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
pub use openapi::ProtectedResourceMetadata;
use reqwest::Url;

/// RFC 9728 §3: the well-known path suffix.
pub const WELL_KNOWN_PATH: &str = openapi::PROTECTED_RESOURCE_WELL_KNOWN;

/// A router serving `metadata` (`GET`, JSON) at its
/// [`well_known_path`](ProtectedResourceMetadata::well_known_path); merge it into your app.
///
/// ```
/// use axum::Router;
/// use resource::{ProtectedResourceMetadata, metadata_router};
///
/// let app: Router = Router::new().merge(metadata_router(
///     ProtectedResourceMetadata::new("https://api.example", "https://issuer.example")
///         .scopes(["api:read", "api:write"])
///         .resource_name("Example API"),
/// ));
/// ```
pub fn metadata_router<S: Clone + Send + Sync + 'static>(
    metadata: ProtectedResourceMetadata,
) -> Router<S> {
    let path = metadata.well_known_path();
    let document = Arc::new(metadata);
    Router::new().route(
        &path,
        get(move || {
            let document = Arc::clone(&document);
            async move { metadata_response(&document) }
        }),
    )
}

/// `200` with the JSON document and `Cache-Control: max-age=3600`.
pub fn metadata_response(metadata: &ProtectedResourceMetadata) -> Response {
    (
        [(CACHE_CONTROL, HeaderValue::from_static("max-age=3600"))],
        Json(metadata),
    )
        .into_response()
}

/// RFC 9728 §3.1: the metadata URL of an http(s) resource identifier, `None` for others
/// (`urn:` audiences have no well-known location).
pub fn well_known_url(resource: &str) -> Option<String> {
    let mut url = Url::parse(resource).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{WELL_KNOWN_PATH}{path}"));
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    #[test]
    fn well_known_urls_follow_rfc9728_section_3_1() {
        let cases = [
            (
                "https://api.example",
                Some("https://api.example/.well-known/oauth-protected-resource"),
            ),
            (
                "https://api.example/",
                Some("https://api.example/.well-known/oauth-protected-resource"),
            ),
            (
                "http://127.0.0.1:8081",
                Some("http://127.0.0.1:8081/.well-known/oauth-protected-resource"),
            ),
            (
                "https://api.example/notes",
                Some("https://api.example/.well-known/oauth-protected-resource/notes"),
            ),
            ("urn:example:api", None),
            ("not a url", None),
        ];
        for (resource, expected) in cases {
            assert_eq!(well_known_url(resource).as_deref(), expected, "{resource}");
        }
        let with_path = ProtectedResourceMetadata::new("https://api.example/notes", "https://i");
        assert_eq!(
            with_path.well_known_path(),
            "/.well-known/oauth-protected-resource/notes"
        );
    }

    #[tokio::test]
    async fn router_serves_the_rfc9728_document() {
        let app: Router = metadata_router(
            ProtectedResourceMetadata::new("http://127.0.0.1:8081", "http://127.0.0.1:8080")
                .scopes(["api:read", "api:write"])
                .resource_name("Notes"),
        );
        let request = Request::get(WELL_KNOWN_PATH).body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .unwrap();
        let document: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            document,
            serde_json::json!({
                "resource": "http://127.0.0.1:8081",
                "authorization_servers": ["http://127.0.0.1:8080"],
                "scopes_supported": ["api:read", "api:write"],
                "bearer_methods_supported": ["header"],
                "resource_name": "Notes",
                "dpop_signing_alg_values_supported": ["ES256", "RS256", "EdDSA"],
            })
        );
    }
}
