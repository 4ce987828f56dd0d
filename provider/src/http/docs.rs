//! The provider's part of the OpenAPI document, and Swagger UI.
//!
//! Routes and documentation come from one place: every module registers its handlers with
//! utoipa-axum's `routes!`, which reads the `#[utoipa::path]` annotation for both the route
//! and the operation. This module adds what belongs to no single handler (the security
//! schemes), names the few routes that are not API operations ([`UNDOCUMENTED`]) and mounts
//! Swagger UI. The tests below check that the router and the document agree.

use axum::Router;
use axum::http::{HeaderValue, header};
use openapi::document::{self, schemes};
use openapi::swagger::SwaggerUiOptions;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::openapi::{ComponentsBuilder, OpenApi, OpenApiBuilder};

use crate::http::paths;
use crate::protocol::scope::KNOWN_SCOPES;
use crate::seed::SWAGGER_UI_CLIENT_ID;
use crate::state::AppState;

/// Routes the router serves that are not in the OpenAPI document, each with the reason. This
/// is the one list of exceptions; the route test fails on any other difference.
pub const UNDOCUMENTED: &[(&str, &str)] = &[
    (
        paths::STYLESHEET,
        "the stylesheet of the HTML pages: a static asset, not an API operation",
    ),
    (
        paths::METRICS,
        "Prometheus metrics for operators: a text format, not an API operation",
    ),
    (
        paths::OPENAPI_JSON,
        "the OpenAPI document itself (it would describe itself)",
    ),
    (
        paths::DOCS,
        "Swagger UI: an HTML application with its assets under /docs/",
    ),
    (
        paths::DOCS_OAUTH2_REDIRECT,
        "Swagger UI's OAuth 2.0 redirect page, one of its assets",
    ),
    (
        paths::ACCOUNT,
        "the account page, for people in a browser (signs in through /authorize)",
    ),
    (
        paths::ACCOUNT_CALLBACK,
        "where the account page's own sign-in returns (a redirect to /account)",
    ),
    (
        paths::ACCOUNT_TOTP,
        "authenticator app enrolment, a page and its form",
    ),
    (
        paths::ACCOUNT_TOTP_OFF,
        "turning the authenticator app off, a form on the account page",
    ),
];

/// The part's skeleton: the security schemes its operations reference. The operations and
/// their schemas are added by the modules' routers.
pub fn part() -> OpenApi {
    let components = ComponentsBuilder::new()
        .security_scheme(schemes::CLIENT_BASIC, document::client_basic())
        .security_scheme(schemes::ACCESS_TOKEN, document::access_token())
        .security_scheme(
            schemes::OAUTH2,
            document::oauth2_authorization_code(
                paths::AUTHORIZE,
                paths::TOKEN,
                KNOWN_SCOPES.iter().copied(),
            ),
        )
        .security_scheme(
            schemes::INITIAL_ACCESS_TOKEN,
            document::initial_access_token(),
        )
        .security_scheme(
            schemes::REGISTRATION_ACCESS_TOKEN,
            document::registration_access_token(),
        )
        .build();
    OpenApiBuilder::new().components(Some(components)).build()
}

/// Where Swagger UI lives and how its *Authorize* button logs in: the seeded public
/// `swagger-ui` client, PKCE S256, through the real login page.
pub const SWAGGER_UI: SwaggerUiOptions = SwaggerUiOptions {
    docs_path: paths::DOCS,
    document_path: paths::OPENAPI_JSON,
    oauth_client_id: SWAGGER_UI_CLIENT_ID,
    oauth_scopes: &["openid", "profile", "email"],
};

/// Swagger UI runs its own scripts (from `'self'` only) and sets inline styles; the HTML login
/// pages keep their stricter policy.
const SWAGGER_UI_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// `/openapi.json` and Swagger UI under `/docs`, with their own Content-Security-Policy.
pub fn swagger_ui(document: OpenApi) -> Router<AppState> {
    openapi::swagger::router(document, &SWAGGER_UI).layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SWAGGER_UI_CSP),
    ))
}

/// Test helper: asserts that every member `value` has is a property of the document's
/// `schema`, i.e. the `openapi` DTOs cover what the provider's own types serialise.
#[cfg(test)]
pub(crate) fn assert_documented(value: &serde_json::Value, schema: &str) {
    let document = openapi::document::combine([crate::http::openapi_part()]).unwrap();
    let json = serde_json::to_value(&document).unwrap();
    let properties = &json["components"]["schemas"][schema]["properties"];
    for key in value.as_object().unwrap().keys() {
        assert!(
            properties.get(key).is_some(),
            "{schema} does not document `{key}`"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::Config;

    /// Every `pub const NAME: &str = "/…";` in paths.rs: the route paths, read from the source
    /// so a new constant cannot be forgotten here.
    fn path_constants() -> BTreeSet<String> {
        include_str!("paths.rs")
            .lines()
            .filter_map(|line| line.trim().strip_prefix("pub const "))
            .filter_map(|rest| rest.split_once(": &str = \""))
            .filter_map(|(_, value)| value.strip_suffix("\";"))
            .map(str::to_owned)
            .collect()
    }

    const METHODS: &[&str] = &["get", "post", "put", "delete", "patch"];

    fn documented_operations(document: &OpenApi) -> BTreeSet<(String, String)> {
        let paths = serde_json::to_value(&document.paths).unwrap();
        let mut operations = BTreeSet::new();
        for (path, item) in paths.as_object().unwrap() {
            for method in METHODS {
                if item.get(*method).is_some() {
                    operations.insert((path.clone(), (*method).to_owned()));
                }
            }
        }
        operations
    }

    /// A bare HTTP/1.1 request; returns the status code.
    async fn status(addr: std::net::SocketAddr, method: &str, path: &str) -> u16 {
        let head = head(addr, method, path).await;
        head.split(' ').nth(1).unwrap().parse().unwrap()
    }

    /// A bare HTTP/1.1 request (no client library: paths are sent exactly as given); returns
    /// the response head, lower-cased.
    async fn head(addr: std::net::SocketAddr, method: &str, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n",
            method = method.to_uppercase()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let response = String::from_utf8_lossy(&response);
        let head = response.split("\r\n\r\n").next().unwrap_or_default();
        head.to_lowercase()
    }

    fn concrete(path: &str) -> String {
        path.replace("{id}", "no-such-interaction")
            .replace("{client_id}", "no-such-client")
    }

    #[tokio::test]
    async fn the_router_serves_exactly_the_documented_routes() {
        let document = crate::http::openapi_part();
        let operations = documented_operations(&document);
        let documented: BTreeSet<String> =
            operations.iter().map(|(path, _)| path.clone()).collect();
        let undocumented: BTreeSet<String> = UNDOCUMENTED
            .iter()
            .map(|(path, _)| (*path).to_owned())
            .collect();
        assert!(
            documented.is_disjoint(&undocumented),
            "listed as undocumented but documented"
        );
        let expected: BTreeSet<String> = documented.union(&undocumented).cloned().collect();
        assert_eq!(
            path_constants(),
            expected,
            "paths.rs and the document (plus UNDOCUMENTED) differ"
        );

        let dir = tempfile::tempdir().unwrap();
        let running = crate::start(Config::for_tests(&dir.path().join("p.db")))
            .await
            .unwrap();
        let addr = running.local_addr;
        for (path, method) in &operations {
            let code = status(addr, method, &concrete(path)).await;
            assert!(
                code != 404 && code != 405,
                "{method} {path} is documented but answers {code}"
            );
        }
        for path in &documented {
            for method in METHODS {
                if !operations.contains(&(path.clone(), (*method).to_owned())) {
                    let code = status(addr, method, &concrete(path)).await;
                    assert_eq!(
                        code, 405,
                        "{method} {path} is served ({code}) but not documented"
                    );
                }
            }
        }
        for (path, _) in UNDOCUMENTED {
            let code = status(addr, "get", path).await;
            assert!(code == 200 || code == 303, "GET {path} answers {code}");
        }
        running.shutdown().await.unwrap();
    }

    /// A path id that is not UTF-8 is an unknown id, answered in the operation's documented
    /// format (not axum's plain-text rejection).
    #[tokio::test]
    async fn malformed_path_ids_get_the_documented_error_format() {
        let dir = tempfile::tempdir().unwrap();
        let running = crate::start(Config::for_tests(&dir.path().join("p.db")))
            .await
            .unwrap();
        let addr = running.local_addr;
        for (method, path) in [
            ("get", "/interaction/%FF"),
            ("post", "/interaction/%FF/login"),
            ("post", "/interaction/%C3%28/consent"),
        ] {
            let head = head(addr, method, path).await;
            assert!(head.starts_with("http/1.1 400"), "{method} {path}: {head}");
            assert!(
                head.contains("content-type: text/html"),
                "{method} {path}: {head}"
            );
        }
        for method in ["get", "put", "delete"] {
            let head = head(addr, method, "/register/%FF").await;
            assert!(head.starts_with("http/1.1 401"), "{method}: {head}");
            assert!(
                head.contains("www-authenticate: bearer"),
                "{method}: {head}"
            );
            assert!(
                head.contains("content-type: application/json"),
                "{method}: {head}"
            );
        }
        running.shutdown().await.unwrap();
    }

    #[test]
    fn security_requirements_name_declared_schemes() {
        let document = openapi::document::combine([crate::http::openapi_part()]).unwrap();
        let json = serde_json::to_value(&document).unwrap();
        let declared: BTreeSet<&String> = json["components"]["securitySchemes"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        for (path, item) in json["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for requirement in operation["security"].as_array().into_iter().flatten() {
                    for name in requirement.as_object().unwrap().keys() {
                        assert!(
                            declared.contains(name),
                            "{method} {path} uses undeclared scheme {name}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_operation_has_a_summary_and_documents_success() {
        let document = crate::http::openapi_part();
        let json = serde_json::to_value(&document.paths).unwrap();
        for (path, item) in json.as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let codes: Vec<&String> =
                    operation["responses"].as_object().unwrap().keys().collect();
                assert!(
                    codes
                        .iter()
                        .any(|code| code.starts_with('2') || code.starts_with('3')),
                    "{method} {path}: {codes:?}"
                );
                if operation.get("requestBody").is_some() {
                    assert!(
                        codes.iter().any(|code| code.starts_with('4')),
                        "{method} {path} takes a body but documents no 4xx: {codes:?}"
                    );
                }
                assert!(
                    operation["summary"].is_string(),
                    "{method} {path} has no summary"
                );
            }
        }
    }

    #[test]
    fn protocol_introspection_matches_the_documented_response() {
        let introspection = crate::protocol::introspect::Introspection {
            active: true,
            scope: Some("openid".into()),
            client_id: Some("demo-web".into()),
            sub: Some("sub".into()),
            exp: Some(2),
            iat: Some(1),
            iss: Some("http://127.0.0.1".into()),
            aud: Some("aud".into()),
            token_type: Some("Bearer".into()),
            jti: Some("jti".into()),
            act: Some(crate::protocol::claims::Actor {
                sub: "agent".into(),
                client_id: Some("demo-api".into()),
                act: None,
            }),
            cnf: None,
        };
        assert_documented(
            &serde_json::to_value(introspection).unwrap(),
            "IntrospectionResponse",
        );
    }
}
