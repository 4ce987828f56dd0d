//! The demo API through `oneshot`, and the real server on 127.0.0.1:0.

use axum::body::Body;
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use tower::ServiceExt;

use keys::SigningAlg;

use super::*;
use crate::test_support::{
    ISSUER, JwksServer, claims_for, default_config, mint, signing_key, static_verifier,
};

fn demo() -> Router {
    let metadata =
        ProtectedResourceMetadata::new(DEFAULT_AUDIENCE, ISSUER).scopes(["api:read", "api:write"]);
    app(static_verifier(default_config()), metadata)
}

fn bearer(sub: &str, scope: &str) -> String {
    format!(
        "Bearer {}",
        mint(SigningAlg::RS256, &claims_for(ISSUER, sub, scope))
    )
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn get_as(path: &str, authorization: &str) -> Request<Body> {
    Request::get(path)
        .header(AUTHORIZATION, authorization)
        .body(Body::empty())
        .unwrap()
}

fn post_note(
    authorization: &str,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut request = Request::post("/api/notes").header(AUTHORIZATION, authorization);
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    request.body(body.into()).unwrap()
}

#[tokio::test]
async fn me_shows_who_the_token_speaks_for() {
    let app = demo();
    let (status, body) = send(&app, get_as("/api/me", &bearer("alice", "openid api:read"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"sub": "alice", "client_id": "notes-app", "scope": ["api:read", "openid"]})
    );
    let response = app
        .oneshot(Request::get("/api/me").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=")
    );
}

#[tokio::test]
async fn notes_need_their_scopes() {
    let app = demo();
    let read_only = bearer("alice", "api:read");
    let write_only = bearer("alice", "api:write");
    let note = r#"{"text":"hi"}"#;
    let cases = [
        (get_as("/api/notes", &write_only), StatusCode::FORBIDDEN),
        (
            post_note(&read_only, Some("application/json"), note),
            StatusCode::FORBIDDEN,
        ),
        (get_as("/api/notes", &read_only), StatusCode::OK),
        (
            post_note(&write_only, Some("application/json"), note),
            StatusCode::CREATED,
        ),
        (
            Request::get("/api/notes").body(Body::empty()).unwrap(),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (request, expected) in cases {
        let description = format!(
            "{} {:?}",
            request.method(),
            request.headers().get(AUTHORIZATION).is_some()
        );
        let (status, body) = send(&app, request).await;
        assert_eq!(status, expected, "{description}: {body}");
        if expected == StatusCode::FORBIDDEN {
            assert_eq!(body["error"], "insufficient_scope");
        }
    }
}

#[tokio::test]
async fn created_notes_are_returned_and_listed_per_user() {
    let app = demo();
    let alice = bearer("alice", "api:read api:write");
    let bob = bearer("bob", "api:read api:write");
    let (status, created) = send(
        &app,
        post_note(&alice, Some("application/json"), r#"{"text":"buy milk"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["text"], "buy milk");
    assert!(created["id"].as_u64().is_some());
    let created_at = created["created_at"].as_u64().unwrap();
    assert!(created_at.abs_diff(crate::test_support::now()) < 60);

    let (_, alice_notes) = send(&app, get_as("/api/notes", &alice)).await;
    assert_eq!(alice_notes["notes"], json!([created]));
    let (status, bob_notes) = send(&app, get_as("/api/notes", &bob)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        bob_notes["notes"],
        json!([]),
        "bob must not see alice's notes"
    );
}

#[tokio::test]
async fn bad_note_bodies_get_clear_json_errors() {
    let app = demo();
    let writer = bearer("carol", "api:write");
    let json_type = Some("application/json");
    let at_limit = json!({"text": "é".repeat(MAX_NOTE_CHARS)}).to_string();
    let over_limit = json!({"text": "a".repeat(MAX_NOTE_CHARS + 1)}).to_string();
    let oversize = json!({"text": "a".repeat(MAX_BODY_BYTES)}).to_string();
    let cases: Vec<(&str, Option<&str>, String, StatusCode, &str)> = vec![
        (
            "not json",
            json_type,
            "{text:".into(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "no content type",
            None,
            r#"{"text":"x"}"#.into(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "missing text",
            json_type,
            "{}".into(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "text not a string",
            json_type,
            r#"{"text":5}"#.into(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "unknown member",
            json_type,
            r#"{"text":"x","pin":true}"#.into(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "empty text",
            json_type,
            r#"{"text":""}"#.into(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "blank text",
            json_type,
            r#"{"text":"   "}"#.into(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "1001 chars",
            json_type,
            over_limit,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "1000 two-byte chars",
            json_type,
            at_limit,
            StatusCode::CREATED,
            "",
        ),
        (
            "over 16 KiB",
            json_type,
            oversize,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (name, content_type, body, expected_status, expected_error) in cases {
        let (status, response) = send(&app, post_note(&writer, content_type, body)).await;
        assert_eq!(status, expected_status, "{name}: {response}");
        if !expected_error.is_empty() {
            assert_eq!(response["error"], expected_error, "{name}");
            assert!(
                response["error_description"]
                    .as_str()
                    .is_some_and(|text| !text.is_empty()),
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn probes_and_metadata_answer_without_a_token() {
    let app = demo();
    let (status, _) = send(&app, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, ready) = send(&app, Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready, json!({"status": "ready", "keys": 3}));
    let (status, metadata) = send(
        &app,
        Request::get(WELL_KNOWN_PATH).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(metadata["resource"], DEFAULT_AUDIENCE);
    assert_eq!(metadata["bearer_methods_supported"], json!(["header"]));
}

#[tokio::test]
async fn served_demo_verifies_tokens_of_a_live_issuer() {
    let key = signing_key(SigningAlg::ES256);
    let mut issuer = JwksServer::start(&[key]).await;
    let http = reqwest::Client::new();
    let mut claims = claims_for(&issuer.base_url, "dave", "api:read api:write");
    claims["aud"] = json!(DEFAULT_AUDIENCE);
    let token = key.sign("at+jwt", &claims).unwrap();

    // Configured for RS256 (the default, as the provider registers the demo API): an ES256
    // token from the same issuer, with its key in the JWKS, is still refused.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let strict = serve(Config::new(&issuer.base_url), listener)
        .await
        .unwrap();
    let refused = http
        .get(format!("{}/api/me", strict.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(
        refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config {
        algorithm: jsonwebtoken::Algorithm::ES256,
        ..Config::new(&issuer.base_url)
    };
    let server = serve(config, listener).await.unwrap();
    let base_url = server.base_url();
    let me: Value = http
        .get(format!("{base_url}/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["sub"], "dave");
    let ready = http.get(format!("{base_url}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    let denied = http
        .get(format!("{base_url}/api/notes"))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    let challenge = denied.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned();
    let metadata_url = format!("{base_url}{WELL_KNOWN_PATH}");
    assert!(
        challenge.contains(&format!(r#"resource_metadata="{metadata_url}""#)),
        "{challenge}"
    );
    let metadata: Value = http
        .get(&metadata_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["authorization_servers"], json!([issuer.base_url]));

    // The issuer goes away: cached keys keep verifying, readiness says stale.
    issuer.stop().await;
    assert!(server.verifier().refresh().await.is_err());
    let ready = http.get(format!("{base_url}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "stale");
    assert!(
        ready["reason"].as_str().unwrap().contains("unreachable"),
        "{ready}"
    );
    let me = http
        .get(format!("{base_url}/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    server.shutdown().await.unwrap();
    assert!(
        http.get(format!("{base_url}/healthz"))
            .send()
            .await
            .is_err(),
        "the port is closed"
    );
}

#[tokio::test]
async fn served_demo_is_not_ready_while_the_issuer_is_down() {
    let dead_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", dead_listener.local_addr().unwrap());
    drop(dead_listener);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = serve(Config::new(dead), listener).await.unwrap();
    let http = reqwest::Client::new();
    let response = http
        .get(format!("{}/readyz", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "loading");
    assert!(body["reason"].as_str().unwrap().contains("not been loaded"));
    let healthz = http
        .get(format!("{}/healthz", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(healthz.status(), StatusCode::OK);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_note_limit_is_answered_with_409() {
    let app = demo();
    let writer = bearer("erin", "api:write");
    for _ in 0..MAX_NOTES_PER_USER {
        let (status, _) = send(
            &app,
            post_note(&writer, Some("application/json"), r#"{"text":"x"}"#),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, body) = send(
        &app,
        post_note(
            &writer,
            Some("application/json"),
            r#"{"text":"one too many"}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "limit_reached");
    let (status, _) = send(
        &app,
        post_note(
            &bearer("frank", "api:write"),
            Some("application/json"),
            r#"{"text":"x"}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "the limit is per user");
}
