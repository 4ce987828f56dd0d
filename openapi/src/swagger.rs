//! Swagger UI for a server's OpenAPI document (feature `swagger-ui`).
//!
//! The assets are vendored into the build (utoipa-swagger-ui's `vendored` feature): nothing is
//! downloaded at build time or fetched from a CDN at run time.

use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::{Config, SwaggerUi, oauth};

/// Where and how Swagger UI is served.
#[derive(Clone, Debug)]
pub struct SwaggerUiOptions {
    /// Where the UI lives, e.g. `/docs` (`/docs` redirects to `/docs/`).
    pub docs_path: &'static str,
    /// Where the document is served, e.g. `/openapi.json`.
    pub document_path: &'static str,
    /// The public client the *Authorize* button uses for the authorization code flow with
    /// PKCE. Its redirect URI must be `{origin}{docs_path}/oauth2-redirect.html`.
    pub oauth_client_id: &'static str,
    /// Scopes pre-selected in the *Authorize* dialog.
    pub oauth_scopes: &'static [&'static str],
}

/// An axum router serving the document at `document_path` and Swagger UI under `docs_path`.
///
/// # Security
/// The UI runs scripts from the same origin: give these routes their own
/// `Content-Security-Policy` (scripts and styles from `'self'`, inline styles, `data:` images)
/// rather than the strict policy of the HTML login pages.
pub fn router<S>(document: OpenApi, options: &SwaggerUiOptions) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let config = Config::default()
        // Swagger UI would otherwise ask validator.swagger.io for a badge.
        .validator_url("none")
        .display_request_duration(true)
        .filter(true)
        .persist_authorization(false);
    let oauth = oauth::Config::new()
        .client_id(options.oauth_client_id)
        .app_name(&document.info.title)
        .scopes(
            options
                .oauth_scopes
                .iter()
                .map(|scope| (*scope).to_owned())
                .collect(),
        )
        .use_pkce_with_authorization_code_grant(true);
    SwaggerUi::new(options.docs_path)
        .url(options.document_path, document)
        .config(config)
        .oauth(oauth)
        .into()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    const OPTIONS: SwaggerUiOptions = SwaggerUiOptions {
        docs_path: "/docs",
        document_path: "/openapi.json",
        oauth_client_id: "swagger-ui",
        oauth_scopes: &["openid"],
    };

    async fn get(router: &axum::Router, uri: &str) -> (StatusCode, String) {
        let response = router
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn serves_vendored_ui_document_and_oauth_settings() {
        let router: axum::Router = router(crate::document::base(), &OPTIONS);
        assert_eq!(get(&router, "/docs").await.0, StatusCode::SEE_OTHER);
        let (status, page) = get(&router, "/docs/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("swagger-ui-bundle.js"), "{page}");
        assert_eq!(
            get(&router, "/docs/swagger-ui-bundle.js").await.0,
            StatusCode::OK
        );
        assert_eq!(
            get(&router, "/docs/oauth2-redirect.html").await.0,
            StatusCode::OK
        );
        let (_, initializer) = get(&router, "/docs/swagger-initializer.js").await;
        assert!(
            initializer.contains(r#""clientId": "swagger-ui""#),
            "{initializer}"
        );
        assert!(
            initializer.contains("usePkceWithAuthorizationCodeGrant"),
            "{initializer}"
        );
        let (status, document) = get(&router, "/openapi.json").await;
        assert_eq!(status, StatusCode::OK);
        assert!(document.contains("\"openapi\":\"3.1.0\""), "{document}");
    }
}
