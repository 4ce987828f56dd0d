//! The layer, the extractor and the scope guard through `oneshot`, as a client sees them.

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::extract::FromRef;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{Request, Response, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};
use tower::ServiceExt;

use keys::SigningAlg;

use super::*;
use crate::test_support::{ISSUER, claims_for, default_config, mint, now, static_verifier};
use crate::{AccessClaims, require_scope};

const METADATA: &str = "https://api.example/.well-known/oauth-protected-resource";

#[derive(Clone)]
struct AppState {
    verifier: Verifier,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Verifier {
        state.verifier.clone()
    }
}

async fn show_claims(claims: AccessClaims) -> axum::Json<AccessClaims> {
    axum::Json(claims)
}

/// `/layered/*` sit behind `BearerLayer`; `/extractor` relies on the extractor alone;
/// `/unguarded-scope` misuses `require_scope` without the layer.
fn app() -> Router {
    let verifier = static_verifier(default_config().realm("notes"));
    let layered = Router::new()
        .route(
            "/layered/read",
            get(show_claims).route_layer(require_scope("api:read")),
        )
        .route(
            "/layered/write",
            get(show_claims).route_layer(require_scope("api:write")),
        )
        .route(
            "/layered/both",
            get(show_claims).route_layer(require_scope("api:read api:write")),
        )
        .layer(BearerLayer::new(verifier.clone()));
    Router::new()
        .merge(layered)
        .route("/extractor", get(show_claims))
        .route(
            "/unguarded-scope",
            get(|| async { "unreachable" }).route_layer(require_scope("api:read")),
        )
        .with_state(AppState { verifier })
}

fn token(scope: &str) -> String {
    mint(SigningAlg::ES256, &claims_for(ISSUER, "alice", scope))
}

async fn call(path: &str, authorization: &[&str]) -> (StatusCode, String, Value) {
    let mut request = Request::get(path);
    for value in authorization {
        request = request.header(AUTHORIZATION, *value);
    }
    let response = app()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, challenge, body)
}

#[tokio::test]
async fn no_token_gets_a_bare_challenge_with_realm_and_metadata() {
    for path in ["/layered/read", "/extractor"] {
        let (status, challenge, body) = call(path, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            challenge,
            format!(r#"Bearer realm="notes", resource_metadata="{METADATA}""#),
            "{path}"
        );
        assert!(
            body.get("error").is_none(),
            "{path}: RFC 6750 §3.1 no error code without credentials"
        );
    }
}

#[tokio::test]
async fn a_bad_token_gets_invalid_token_with_a_description() {
    let expired = mint(SigningAlg::RS256, &{
        let mut claims = claims_for(ISSUER, "alice", "api:read");
        claims["exp"] = json!(now() - 3600);
        claims
    });
    let cases = [
        ("Bearer abc.def.ghi".to_owned(), "Malformed access token"),
        (format!("Bearer {expired}"), "The access token has expired."),
    ];
    for path in ["/layered/read", "/extractor"] {
        for (authorization, description) in &cases {
            let (status, challenge, body) = call(path, &[authorization]).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
            assert!(
                challenge.starts_with(
                    r#"Bearer realm="notes", error="invalid_token", error_description=""#
                ),
                "{challenge}"
            );
            assert!(challenge.contains(description), "{challenge}");
            assert!(
                challenge.ends_with(&format!(r#"resource_metadata="{METADATA}""#)),
                "{challenge}"
            );
            assert_eq!(body["error"], "invalid_token");
            assert!(
                body["error_description"]
                    .as_str()
                    .unwrap()
                    .contains(description)
            );
        }
    }
}

#[tokio::test]
async fn a_missing_scope_gets_403_insufficient_scope() {
    let authorization = format!("Bearer {}", token("api:read"));
    for (path, scope) in [
        ("/layered/write", "api:write"),
        ("/layered/both", "api:read api:write"),
    ] {
        let (status, challenge, body) = call(path, &[&authorization]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            challenge.contains(r#"error="insufficient_scope""#),
            "{challenge}"
        );
        assert!(
            challenge.contains(&format!(r#"scope="{scope}""#)),
            "{challenge}"
        );
        assert!(
            challenge.starts_with(r#"Bearer realm="notes""#),
            "{challenge}"
        );
        assert_eq!(body["error"], "insufficient_scope");
    }
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler_with_its_claims() {
    let authorization = format!("bearer {}", token("api:read api:write"));
    for path in [
        "/layered/read",
        "/layered/write",
        "/layered/both",
        "/extractor",
    ] {
        let (status, challenge, body) = call(path, &[&authorization]).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(challenge, "");
        assert_eq!(body["sub"], "alice");
        assert_eq!(body["client_id"], "notes-app");
        assert_eq!(body["scope"], json!(["api:read", "api:write"]));
        assert_eq!(body["iss"], ISSUER);
    }
}

#[tokio::test]
async fn malformed_requests_get_400_invalid_request() {
    let valid = format!("Bearer {}", token("api:read"));
    let cases: [(&str, Vec<&str>); 3] = [
        ("/layered/read", vec![valid.as_str(), valid.as_str()]),
        ("/layered/read", vec!["Bearer two words"]),
        ("/layered/read?access_token=abc", vec![valid.as_str()]),
    ];
    for (path, authorization) in cases {
        let (status, challenge, body) = call(path, &authorization).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {authorization:?}");
        assert!(
            challenge.contains(r#"error="invalid_request""#),
            "{challenge}"
        );
        assert_eq!(body["error"], "invalid_request");
    }
}

#[tokio::test]
async fn require_scope_without_the_layer_fails_closed() {
    let authorization = format!("Bearer {}", token("api:read"));
    let (status, _, body) = call("/unguarded-scope", &[&authorization]).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"], "server_error");
}

#[tokio::test]
async fn the_layer_wraps_any_tower_service() {
    // A bare tower service over String bodies: no axum router involved.
    let inner = tower::service_fn(|request: Request<String>| async move {
        let sub = request
            .extensions()
            .get::<AccessClaims>()
            .map(|claims| claims.sub.clone());
        Ok::<_, Infallible>(Response::new(sub.unwrap_or_default()))
    });
    let service = BearerLayer::new(static_verifier(default_config())).layer(inner);
    let denied = service
        .clone()
        .oneshot(Request::new(String::new()))
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    assert!(denied.body().contains("error_description") && !denied.body().contains("\"error\""));
    let request = Request::builder()
        .header(AUTHORIZATION, format!("Bearer {}", token("")))
        .body(String::new())
        .unwrap();
    let allowed = service.oneshot(request).await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(allowed.body(), "alice");
}
