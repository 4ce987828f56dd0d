//! RFC 9728 OAuth 2.0 Protected Resource Metadata, served at
//! `/.well-known/oauth-protected-resource`.

use std::sync::Arc;

use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use reqwest::Url;
use serde::{Deserialize, Serialize};

/// RFC 9728 §3: the well-known path suffix.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// RFC 9728 §2 metadata of one protected resource.
///
/// ```
/// use axum::Router;
/// use resource::ProtectedResourceMetadata;
///
/// let app: Router = Router::new().merge(
///     ProtectedResourceMetadata::new("https://api.example", "https://issuer.example")
///         .scopes(["api:read", "api:write"])
///         .resource_name("Example API")
///         .router(),
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedResourceMetadata {
    /// The resource identifier: the audience tokens must name.
    pub resource: String,
    /// Issuers whose tokens the resource accepts.
    pub authorization_servers: Vec<String>,
    /// Scopes the resource understands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// How tokens may be presented: only the `Authorization` header here (RFC 6750 §2.1).
    pub bearer_methods_supported: Vec<String>,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
}

impl ProtectedResourceMetadata {
    /// Metadata for `resource`, protected by tokens of `authorization_server`, accepting tokens
    /// in the header only.
    pub fn new(resource: impl Into<String>, authorization_server: impl Into<String>) -> Self {
        ProtectedResourceMetadata {
            resource: resource.into(),
            authorization_servers: vec![authorization_server.into()],
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header".to_owned()],
            resource_name: None,
        }
    }

    /// Sets `scopes_supported`.
    pub fn scopes<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `resource_name`.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// The path this document is served at: RFC 9728 §3.1 inserts the well-known suffix before
    /// the resource identifier's path, so `https://api.example/notes` gives
    /// `/.well-known/oauth-protected-resource/notes`.
    pub fn well_known_path(&self) -> String {
        let path = Url::parse(&self.resource)
            .map(|url| url.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        format!("{WELL_KNOWN_PATH}{path}")
    }

    /// A router serving this document (`GET`, JSON) at [`Self::well_known_path`]; merge it into
    /// your app.
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let path = self.well_known_path();
        let document = Arc::new(self);
        Router::new().route(
            &path,
            get(move || {
                let document = Arc::clone(&document);
                async move { document.as_ref().clone().into_response() }
            }),
        )
    }
}

impl From<ProtectedResourceMetadata> for openapi::ProtectedResourceMetadata {
    /// The wire form: the `openapi` crate's DTO, which documents the response.
    fn from(metadata: ProtectedResourceMetadata) -> Self {
        openapi::ProtectedResourceMetadata {
            resource: metadata.resource,
            authorization_servers: metadata.authorization_servers,
            scopes_supported: metadata.scopes_supported,
            bearer_methods_supported: metadata.bearer_methods_supported,
            resource_name: metadata.resource_name,
        }
    }
}

impl IntoResponse for ProtectedResourceMetadata {
    /// `200` with the JSON document (as [`openapi::ProtectedResourceMetadata`]) and
    /// `Cache-Control: max-age=3600`.
    fn into_response(self) -> Response {
        (
            [(CACHE_CONTROL, HeaderValue::from_static("max-age=3600"))],
            Json(openapi::ProtectedResourceMetadata::from(self)),
        )
            .into_response()
    }
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
        let app: Router =
            ProtectedResourceMetadata::new("http://127.0.0.1:8081", "http://127.0.0.1:8080")
                .scopes(["api:read", "api:write"])
                .resource_name("Notes")
                .router();
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
            })
        );
    }
}
