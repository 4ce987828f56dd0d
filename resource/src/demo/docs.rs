//! The demo's OpenAPI document and Swagger UI.
//!
//! Routes and documentation come from one place: [`super::app`] and [`openapi_part`] read the
//! same utoipa-axum routes (`routes!` takes each handler's `#[utoipa::path]` for both the
//! route and the operation). This module adds what belongs to no single handler (the security
//! schemes, which point at the configured issuer, and the tags), names the few routes that
//! are not API operations ([`UNDOCUMENTED`]) and mounts Swagger UI outside the bearer layer.
//! The tests below check that the router and the document agree.

use axum::Router;
use axum::http::{HeaderValue, header};
use openapi::document::{self, schemes};
use openapi::swagger::SwaggerUiOptions;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::openapi::{ComponentsBuilder, OpenApi, OpenApiBuilder};

use super::paths;
use crate::ProtectedResourceMetadata;

/// Routes the demo serves that are not in its OpenAPI document, each with the reason. This is
/// the one list of exceptions; the route test fails on any other difference.
pub const UNDOCUMENTED: &[(&str, &str)] = &[
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
];

/// The title of the demo's document.
pub const TITLE: &str = "Notes demo API (resource server)";

/// The scopes the demo understands, with what they allow.
pub const SCOPES: &[(&str, &str)] = &[
    ("api:read", "Read your notes (GET /api/notes)"),
    ("api:write", "Create notes (POST /api/notes)"),
];

/// The issuer's authorization and token endpoints. The demo trusts a provider of this
/// workspace, whose endpoints sit at these paths under the issuer (its discovery document
/// names the same URLs).
fn issuer_endpoints(issuer: &str) -> (String, String) {
    let issuer = issuer.trim_end_matches('/');
    (format!("{issuer}/authorize"), format!("{issuer}/token"))
}

fn description(issuer: &str, audience: &str) -> String {
    let issuer = issuer.trim_end_matches('/');
    format!(
        "\
The demo API of the `resource` crate: a resource server that accepts the RFC 9068 JWT access \
tokens of the issuer `{issuer}` and verifies them offline against its JWKS. Tokens must name \
this resource, `{audience}`, in `aud` (the provider's demo clients do by default).

**Try it out** with the **access_token** scheme: get a token from the issuer with the \
client_credentials grant and paste its `access_token` into *Authorize*:

    curl -u demo-service:demo-service-secret -d grant_type=client_credentials \\
         -d 'scope=api:read api:write' {issuer}/token

Scopes: `GET /api/me` takes any valid token, `GET /api/notes` needs `api:read`, \
`POST /api/notes` needs `api:write`.

**issuer_oauth2** documents the authorization code flow with PKCE at the issuer (a user's \
token). This page cannot run it: the flow needs a public client registered at the issuer for \
this server's `/docs/oauth2-redirect.html`, and the issuer's token endpoint would have to \
allow this origin (CORS); `provider dev` sets up neither. Use the provider's own Swagger UI \
or the demo client for user tokens.

**Errors.** Refused requests follow RFC 6750 §3: `401` without a token (no error code) or \
with a bad one (`invalid_token`), `403 insufficient_scope`, `400 invalid_request` for a \
malformed `Authorization` header, each with a `WWW-Authenticate: Bearer` challenge that points \
at the RFC 9728 metadata (`resource_metadata`), `Cache-Control: no-store` and a JSON body. \
The notes API's own errors are `{{error, error_description}}` bodies. Every response carries \
`X-Request-Id`."
    )
}

/// Adds the security schemes and tags to the routes' part: Bearer JWT and the authorization
/// code flow at `issuer` (absolute URLs: the issuer is another origin).
fn with_schemes(part: OpenApi, issuer: &str) -> OpenApi {
    let (authorization_url, token_url) = issuer_endpoints(issuer);
    let components = ComponentsBuilder::new()
        .security_scheme(schemes::ACCESS_TOKEN, document::access_token())
        .security_scheme(
            schemes::ISSUER_OAUTH2,
            document::issuer_oauth2(&authorization_url, &token_url, SCOPES.iter().copied()),
        )
        .responses_from_iter(openapi::responses::resource_server())
        .schema_from::<openapi::BearerErrorBody>()
        .build();
    let skeleton = OpenApiBuilder::new()
        .components(Some(components))
        .tags(Some(document::resource_tags()))
        .build();
    let mut part = part;
    part.merge(skeleton);
    part
}

/// The demo's part of a combined OpenAPI document, for an issuer and an audience (the
/// metadata path depends on the audience's path, RFC 9728 §3.1).
pub fn openapi_part(issuer: &str, audience: &str) -> OpenApi {
    let metadata = ProtectedResourceMetadata::new(audience, issuer);
    let (open, protected) = super::routes(&metadata.well_known_path());
    with_schemes(open.merge(protected).into_openapi(), issuer)
}

/// The demo's own document, as `/openapi.json` serves it for `issuer` and `audience`.
pub fn openapi(issuer: &str, audience: &str) -> OpenApi {
    let metadata = ProtectedResourceMetadata::new(audience, issuer);
    let (open, protected) = super::routes(&metadata.well_known_path());
    document(open.merge(protected).into_openapi(), issuer, audience)
}

/// The demo's own document (what `/openapi.json` serves): its routes' `part` on the
/// resource server's base document.
pub(super) fn document(part: OpenApi, issuer: &str, audience: &str) -> OpenApi {
    document::combine_onto(
        document::resource_base(TITLE, &description(issuer, audience)),
        [with_schemes(part, issuer)],
    )
    .expect("the demo's part is the only part, so nothing can clash")
}

/// Where Swagger UI lives. Its *Authorize* dialog offers `access_token` (paste a token) and
/// `issuer_oauth2`, pre-filled with the provider's public `swagger-ui` client: in dev mode the
/// provider registers this demo's `/docs/oauth2-redirect.html` for it (on the default address
/// `127.0.0.1:8081`), and its token endpoint allows cross-origin calls.
pub const SWAGGER_UI: SwaggerUiOptions = SwaggerUiOptions {
    docs_path: paths::DOCS,
    document_path: paths::OPENAPI_JSON,
    oauth_client_id: "swagger-ui",
    oauth_scopes: &["api:read", "api:write"],
};

/// Swagger UI runs its own scripts (from `'self'` only) and sets inline styles; its "Try it
/// out" calls this origin, and its *Authorize* flow calls the issuer's token endpoint.
fn swagger_ui_csp(issuer: &str) -> String {
    let issuer_origin = issuer_origin(issuer).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; font-src 'self' data:; connect-src 'self' {issuer_origin}; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// `scheme://host[:port]` of the issuer URL, for the CSP; `None` if it is not a plain URL.
fn issuer_origin(issuer: &str) -> Option<String> {
    let (scheme, rest) = issuer.split_once("://")?;
    let authority = rest.split('/').next()?;
    let safe = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
    };
    (safe(scheme) && safe(authority)).then(|| format!("{scheme}://{authority}"))
}

/// `/openapi.json` and Swagger UI under `/docs`, with their own Content-Security-Policy.
pub(super) fn swagger_ui<S>(document: OpenApi, issuer: &str) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let policy = HeaderValue::from_str(&swagger_ui_csp(issuer))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    openapi::swagger::router(document, &SWAGGER_UI).layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        policy,
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::body::Body;
    use axum::http::header::{AUTHORIZATION, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
    use axum::http::{Method, Request, StatusCode};
    use keys::SigningAlg;
    use serde_json::Value;
    use tower::ServiceExt;

    use super::*;
    use crate::WELL_KNOWN_PATH;
    use crate::demo::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, app};
    use crate::test_support::{ISSUER, claims_for, default_config, mint, static_verifier};

    const METHODS: &[&str] = &["get", "post", "put", "delete", "patch"];

    fn demo() -> Router {
        let metadata = ProtectedResourceMetadata::new(DEFAULT_AUDIENCE, ISSUER)
            .scopes(["api:read", "api:write"]);
        app(static_verifier(default_config()), metadata)
    }

    /// A token with every scope, so that only routing decides the status.
    fn full_token() -> String {
        mint(
            SigningAlg::RS256,
            &claims_for(ISSUER, "alice", "api:read api:write"),
        )
    }

    async fn call(router: &Router, method: &str, path: &str) -> (StatusCode, Vec<u8>) {
        let request = Request::builder()
            .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
            .uri(path)
            .header(AUTHORIZATION, format!("Bearer {}", full_token()))
            .header(CONTENT_TYPE, "application/json")
            .body(Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        (status, body.to_vec())
    }

    async fn served_document(router: &Router) -> Value {
        let (status, body) = call(router, "get", paths::OPENAPI_JSON).await;
        assert_eq!(status, StatusCode::OK);
        serde_json::from_slice(&body).unwrap()
    }

    /// Every `pub const NAME: &str = "/…";` in paths.rs, read from the source so a new constant
    /// cannot be forgotten here, plus the RFC 9728 metadata path.
    fn path_constants() -> BTreeSet<String> {
        include_str!("paths.rs")
            .lines()
            .filter_map(|line| line.trim().strip_prefix("pub const "))
            .filter_map(|rest| rest.split_once(": &str = \""))
            .filter_map(|(_, value)| value.strip_suffix("\";"))
            .map(str::to_owned)
            .chain([WELL_KNOWN_PATH.to_owned()])
            .collect()
    }

    fn operations(document: &Value) -> BTreeSet<(String, String)> {
        let mut operations = BTreeSet::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for method in METHODS {
                if item.get(*method).is_some() {
                    operations.insert((path.clone(), (*method).to_owned()));
                }
            }
        }
        operations
    }

    #[tokio::test]
    async fn the_router_serves_exactly_the_documented_routes() {
        let router = demo();
        let document = served_document(&router).await;
        let operations = operations(&document);
        assert_eq!(operations.len(), 6, "{operations:?}");
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
        for (path, method) in &operations {
            let (status, _) = call(&router, method, path).await;
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but answers {status}"
            );
        }
        for path in &documented {
            for method in METHODS {
                if !operations.contains(&(path.clone(), (*method).to_owned())) {
                    let (status, _) = call(&router, method, path).await;
                    assert_eq!(
                        status,
                        StatusCode::METHOD_NOT_ALLOWED,
                        "{method} {path} is served but not documented"
                    );
                }
            }
        }
        for (path, _) in UNDOCUMENTED {
            let (status, _) = call(&router, "get", path).await;
            assert!(
                status == StatusCode::OK || status == StatusCode::SEE_OTHER,
                "GET {path} answers {status}"
            );
        }
    }

    #[tokio::test]
    async fn the_served_document_is_the_part_on_the_resource_base() {
        let served = served_document(&demo()).await;
        assert_eq!(served["openapi"], "3.1.0");
        assert_eq!(served["info"]["title"], TITLE);
        let part = serde_json::to_value(openapi_part(ISSUER, DEFAULT_AUDIENCE)).unwrap();
        assert_eq!(served["paths"], part["paths"]);
        for component in ["schemas", "responses", "securitySchemes"] {
            for (name, value) in part["components"][component].as_object().unwrap() {
                assert_eq!(&served["components"][component][name], value, "{name}");
            }
        }
        // Every reference resolves.
        let text = served.to_string();
        for reference in text.split("\"$ref\":\"#/components/").skip(1) {
            let reference = reference.split('"').next().unwrap();
            let (kind, name) = reference.split_once('/').unwrap();
            assert!(
                served["components"][kind].get(name).is_some(),
                "{reference} is not defined"
            );
        }
    }

    #[test]
    fn operations_name_their_scopes_and_declared_schemes() {
        let document =
            serde_json::to_value(openapi_part(DEFAULT_ISSUER, DEFAULT_AUDIENCE)).unwrap();
        let declared: BTreeSet<&String> = document["components"]["securitySchemes"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        let scopes = |path: &str, method: &str| -> Vec<(String, Vec<String>)> {
            document["paths"][path][method]["security"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|requirement| requirement.as_object().unwrap().clone())
                .map(|(scheme, scopes)| {
                    assert!(declared.contains(&scheme), "{method} {path}: {scheme}");
                    let scopes = scopes
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|scope| scope.as_str().unwrap().to_owned())
                        .collect();
                    (scheme, scopes)
                })
                .collect()
        };
        let both = |scope: &[&str]| {
            let scope: Vec<String> = scope.iter().map(|scope| (*scope).to_owned()).collect();
            vec![
                ("access_token".to_owned(), scope.clone()),
                ("issuer_oauth2".to_owned(), scope),
            ]
        };
        assert_eq!(scopes(paths::ME, "get"), both(&[]));
        assert_eq!(scopes(paths::NOTES, "get"), both(&["api:read"]));
        assert_eq!(scopes(paths::NOTES, "post"), both(&["api:write"]));
        for open in [paths::HEALTHZ, paths::READYZ, WELL_KNOWN_PATH] {
            assert!(scopes(open, "get").is_empty(), "{open} needs no token");
        }
        let flow = &document["components"]["securitySchemes"]["issuer_oauth2"]["flows"]["authorizationCode"];
        assert_eq!(flow["authorizationUrl"], "http://127.0.0.1:8080/authorize");
        assert_eq!(flow["tokenUrl"], "http://127.0.0.1:8080/token");
        assert_eq!(
            flow["scopes"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["api:read", "api:write"]
        );
    }

    #[test]
    fn every_operation_has_a_summary_and_documents_success_and_errors() {
        let document =
            serde_json::to_value(openapi_part(DEFAULT_ISSUER, DEFAULT_AUDIENCE)).unwrap();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let codes: Vec<&String> =
                    operation["responses"].as_object().unwrap().keys().collect();
                assert!(
                    codes.iter().any(|code| code.starts_with('2')),
                    "{method} {path}: {codes:?}"
                );
                if operation.get("security").is_some() {
                    for code in ["400", "401", "503"] {
                        assert!(codes.contains(&&code.to_owned()), "{method} {path}: {code}");
                    }
                }
                assert!(operation["summary"].is_string(), "{method} {path}");
            }
        }
        let post = &document["paths"][paths::NOTES]["post"];
        for code in ["201", "400", "401", "403", "409", "413"] {
            assert!(
                post["responses"].get(code).is_some(),
                "POST /api/notes: {code}"
            );
        }
    }

    #[test]
    fn issuer_origins_for_the_policy() {
        assert_eq!(
            issuer_origin("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            issuer_origin("https://id.example.com/tenant").as_deref(),
            Some("https://id.example.com")
        );
        assert_eq!(
            issuer_origin("https://id.example.com; script-src *"),
            None,
            "no header injection"
        );
        assert_eq!(issuer_origin("not a url"), None);
    }

    #[test]
    fn the_metadata_path_follows_the_audience() {
        let document = openapi_part(ISSUER, "https://api.example/notes");
        let paths: Vec<&String> = document.paths.paths.keys().collect();
        assert!(
            paths.contains(&&"/.well-known/oauth-protected-resource/notes".to_owned()),
            "{paths:?}"
        );
    }

    #[tokio::test]
    async fn swagger_ui_and_the_document_need_no_token() {
        let router = demo();
        for path in [paths::OPENAPI_JSON, "/docs/", "/docs/swagger-ui-bundle.js"] {
            let response = router
                .clone()
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let policy = response.headers()[CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap();
            assert!(policy.contains("script-src 'self'"), "{path}: {policy}");
            // Authorize exchanges the code at the issuer's token endpoint from the browser.
            assert!(
                policy.contains("connect-src 'self' https://issuer.example;"),
                "{path}: {policy}"
            );
        }
        let (_, initializer) = call(&router, "get", "/docs/swagger-initializer.js").await;
        let initializer = String::from_utf8(initializer).unwrap();
        assert!(initializer.contains(TITLE), "{initializer}");
        assert!(
            initializer.contains(r#""clientId": "swagger-ui""#),
            "{initializer}"
        );
    }

    #[tokio::test]
    async fn the_no_token_body_has_no_error_code() {
        // BearerErrorBody: RFC 6750 §3.1 sends no error code without credentials.
        let response = demo()
            .oneshot(Request::get(paths::NOTES).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: openapi::BearerErrorBody = serde_json::from_slice(&body).unwrap();
        assert_eq!(body.error, None);
        assert!(!body.error_description.is_empty());
    }
}
