//! The demo resource server against the real provider: access tokens from the code flow and
//! from client_credentials are verified offline against the provider's JWKS, scopes guard the
//! routes, and everything else is refused with RFC 6750 challenges.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Rp, TestProvider, Tokens, spawn_provider, unverified_claims};

struct Api {
    base_url: String,
    http: reqwest::Client,
    _server: resource::demo::DemoServer,
}

/// Starts the demo API on 127.0.0.1:0 against `provider`, with the demo audience.
async fn spawn_resource(provider: &TestProvider) -> Api {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server = resource::demo::serve(
        resource::demo::Config::new(provider.issuer.clone()),
        listener,
    )
    .await
    .expect("demo API starts");
    Api {
        base_url: server.base_url(),
        http: reqwest::Client::new(),
        _server: server,
    }
}

struct Answer {
    status: StatusCode,
    challenge: String,
    body: Value,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request to the demo API");
        let status = response.status();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|value| value.to_str().expect("ASCII challenge").to_owned())
            .unwrap_or_default();
        let text = response.text().await.expect("body");
        Answer {
            status,
            challenge,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }
}

fn bearer_error(challenge: &str) -> Option<&str> {
    let start = challenge.find("error=\"")? + "error=\"".len();
    challenge[start..].split('"').next()
}

#[tokio::test]
async fn code_flow_tokens_call_the_api_and_scopes_guard_the_routes() {
    let provider = spawn_provider().await;
    let api = spawn_resource(&provider).await;
    let browser = provider.browser();
    // A token with api:read only (and openid profile), as the public native client gets it.
    let (_, tokens): (_, Tokens) = provider
        .tokens(
            &browser,
            &Rp::cli_random_port(),
            "openid profile api:read",
            &[],
        )
        .await;
    let claims = unverified_claims(&tokens.access_token);

    let me = api
        .call(
            reqwest::Method::GET,
            "/api/me",
            Some(&tokens.access_token),
            None,
        )
        .await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    assert_eq!(
        me.body["sub"], claims["sub"],
        "the API sees the user of the token"
    );
    assert_eq!(me.body["client_id"], "demo-cli");

    let notes = api
        .call(
            reqwest::Method::GET,
            "/api/notes",
            Some(&tokens.access_token),
            None,
        )
        .await;
    assert_eq!(
        notes.status,
        StatusCode::OK,
        "api:read lists notes: {:?}",
        notes.body
    );

    let write = api
        .call(
            reqwest::Method::POST,
            "/api/notes",
            Some(&tokens.access_token),
            Some(json!({"text": "hello"})),
        )
        .await;
    assert_eq!(
        write.status,
        StatusCode::FORBIDDEN,
        "api:write is missing: {:?}",
        write.body
    );
    assert_eq!(
        bearer_error(&write.challenge),
        Some("insufficient_scope"),
        "{}",
        write.challenge
    );
    assert!(
        write.challenge.contains("scope=\"api:write\""),
        "{}",
        write.challenge
    );

    // A token with api:write may write, and reads back its own note.
    let (_, writer) = provider
        .tokens(
            &browser,
            &Rp::cli_random_port(),
            "openid api:read api:write",
            &[],
        )
        .await;
    let created = api
        .call(
            reqwest::Method::POST,
            "/api/notes",
            Some(&writer.access_token),
            Some(json!({"text": "from the tests"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let listed = api
        .call(
            reqwest::Method::GET,
            "/api/notes",
            Some(&writer.access_token),
            None,
        )
        .await;
    assert!(
        listed.body.to_string().contains("from the tests"),
        "{:?}",
        listed.body
    );

    // The ID token of the same flow is not an access token (RFC 9068 §4: typ at+jwt).
    let id_token = tokens.id_token.as_deref().expect("id_token");
    let refused = api
        .call(reqwest::Method::GET, "/api/me", Some(id_token), None)
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        bearer_error(&refused.challenge),
        Some("invalid_token"),
        "{}",
        refused.challenge
    );

    // No token: a bare challenge pointing at the RFC 9728 metadata.
    let anonymous = api.call(reqwest::Method::GET, "/api/me", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(
        anonymous.challenge.starts_with("Bearer"),
        "{}",
        anonymous.challenge
    );
    assert_eq!(
        bearer_error(&anonymous.challenge),
        None,
        "RFC 6750 §3.1: no error code without credentials"
    );
    assert!(
        anonymous.challenge.contains("resource_metadata="),
        "{}",
        anonymous.challenge
    );
}

#[tokio::test]
async fn client_credentials_tokens_work_and_foreign_audiences_do_not() {
    let provider = spawn_provider().await;
    let api = spawn_resource(&provider).await;
    let reply = provider
        .token_request(
            &Rp::service(),
            &[("grant_type", "client_credentials"), ("scope", "api:read")],
        )
        .await;
    let tokens = Tokens::from_reply(&reply);
    let me = api
        .call(
            reqwest::Method::GET,
            "/api/me",
            Some(&tokens.access_token),
            None,
        )
        .await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    assert_eq!(
        me.body["sub"], "demo-service",
        "RFC 9068 §2.2: sub is the client for client_credentials"
    );
    assert_eq!(me.body["client_id"], "demo-service");

    // The metadata document names the provider as authorization server (RFC 9728 §2).
    let metadata: Value = api
        .http
        .get(format!(
            "{}/.well-known/oauth-protected-resource",
            api.base_url
        ))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("JSON metadata");
    assert_eq!(metadata["resource"], "http://127.0.0.1:8081");
    assert_eq!(metadata["authorization_servers"], json!([provider.issuer]));

    // A resource server for another audience refuses the same token (RFC 9068 §4 aud check).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let mut config = resource::demo::Config::new(provider.issuer.clone());
    config.audience = "https://other-api.example".into();
    let other = resource::demo::serve(config, listener)
        .await
        .expect("second API");
    let answer = reqwest::Client::new()
        .get(format!("{}/api/me", other.base_url()))
        .bearer_auth(&tokens.access_token)
        .send()
        .await
        .expect("request");
    assert_eq!(
        answer.status(),
        StatusCode::UNAUTHORIZED,
        "a token for another audience was accepted"
    );
}
