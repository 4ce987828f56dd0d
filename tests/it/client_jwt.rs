//! RFC 7523 / OIDC Core §9 client authentication with JWTs, against a running provider:
//! `private_key_jwt` with inline `jwks` and with a `jwks_uri` the provider fetches,
//! `client_secret_jwt` with the issued secret; every hostile assertion is `invalid_client`,
//! every bad registration `invalid_client_metadata`.

use keys::{SigningAlg, SigningKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    TestProvider, Tokens, assert_oauth_error, owned, spawn_provider, unverified_claims,
};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn public_jwks(keys: &[&SigningKey]) -> Value {
    json!({"keys": keys.iter().map(|key| serde_json::to_value(key.public_jwk()).expect("JWK")).collect::<Vec<_>>()})
}

/// A `private_key_jwt` machine client registered with `key`'s public half.
async fn key_client(provider: &TestProvider, key: &SigningKey) -> String {
    let reply = provider
        .register(
            json!({"grant_types": ["client_credentials"], "scope": "api:read",
               "token_endpoint_auth_method": "private_key_jwt", "jwks": public_jwks(&[key])}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let body = reply.json();
    assert!(
        body.get("client_secret").is_none(),
        "private_key_jwt: no secret"
    );
    assert_eq!(body["token_endpoint_auth_method"], "private_key_jwt");
    body["client_id"].as_str().expect("client_id").to_owned()
}

fn claims(provider: &TestProvider, client_id: &str, changes: &Value) -> Value {
    let mut claims = json!({
        "iss": client_id, "sub": client_id, "aud": provider.url("/token"),
        "iat": crate::support::unix_now(), "exp": crate::support::unix_now() + 60, "jti": random_jti(),
    });
    for (name, value) in changes.as_object().expect("object") {
        claims[name] = value.clone();
    }
    claims
}

fn random_jti() -> String {
    keys::b64url(rand::random::<[u8; 16]>())
}

async fn with_assertion(
    provider: &TestProvider,
    path: &str,
    assertion: &str,
    extra: &[(&str, &str)],
) -> crate::support::Reply {
    let mut params = vec![
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    params.extend_from_slice(extra);
    provider.raw_post(path, None, &owned(&params)).await
}

const CC: &[(&str, &str)] = &[("grant_type", "client_credentials"), ("scope", "api:read")];

#[tokio::test]
async fn private_key_jwt_authenticates_everywhere_and_refuses_every_bad_assertion() {
    let provider = spawn_provider().await;
    let discovery = provider.discovery().await;
    for method in ["private_key_jwt", "client_secret_jwt"] {
        assert!(
            discovery["token_endpoint_auth_methods_supported"]
                .as_array()
                .expect("methods")
                .contains(&json!(method)),
            "{method} advertised"
        );
    }
    assert!(
        discovery["token_endpoint_auth_signing_alg_values_supported"]
            .as_array()
            .expect("algs")
            .contains(&json!("ES256"))
    );
    let key = SigningKey::generate(SigningAlg::ES256).expect("key");
    let client_id = key_client(&provider, &key).await;
    let sign = |changes: Value| {
        key.sign("JWT", &claims(&provider, &client_id, &changes))
            .expect("signed")
    };

    // Success, with the token endpoint or the issuer as audience.
    for aud in [provider.url("/token"), provider.issuer.clone()] {
        let reply = with_assertion(&provider, "/token", &sign(json!({"aud": aud})), CC).await;
        let tokens = Tokens::from_reply(&reply);
        assert_eq!(
            unverified_claims(&tokens.access_token)["client_id"],
            client_id
        );
    }
    // The same assertion twice: the second is a replay.
    let once = sign(json!({}));
    assert_eq!(
        with_assertion(&provider, "/token", &once, CC).await.status,
        StatusCode::OK
    );
    let replay = with_assertion(&provider, "/token", &once, CC).await;
    assert_oauth_error(
        &replay,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "replayed jti",
    );
    assert!(
        replay.json()["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("used before")
    );

    // Other endpoints accept their own URL as audience.
    let token =
        Tokens::from_reply(&with_assertion(&provider, "/token", &sign(json!({})), CC).await)
            .access_token;
    let reply = with_assertion(
        &provider,
        "/introspect",
        &sign(json!({"aud": provider.url("/introspect")})),
        &[("token", &token)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["active"], true);

    // Hostile assertions, each refused with invalid_client and nothing issued.
    let other = SigningKey::generate(SigningAlg::ES256).expect("key");
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims(&provider, &client_id, &json!({})),
        &jsonwebtoken::EncodingKey::from_secret(b"guess"),
    )
    .expect("HS256");
    let unsigned = {
        let payload = keys::b64url(
            serde_json::to_vec(&claims(&provider, &client_id, &json!({}))).expect("json"),
        );
        format!("{}.{payload}.", keys::b64url(br#"{"alg":"none"}"#))
    };
    let cases: Vec<(String, &str)> = vec![
        (
            other
                .sign("JWT", &claims(&provider, &client_id, &json!({})))
                .expect("signed"),
            "signed with another key",
        ),
        (
            sign(json!({"aud": "https://evil.example/token"})),
            "another audience",
        ),
        (
            sign(json!({"exp": crate::support::unix_now() - 120})),
            "expired",
        ),
        (
            sign(json!({"exp": crate::support::unix_now() + 3600})),
            "valid for an hour",
        ),
        (
            sign(json!({"iat": crate::support::unix_now() + 600})),
            "issued in the future",
        ),
        (sign(json!({"jti": ""})), "no jti"),
        (sign(json!({"sub": "someone-else"})), "sub is not iss"),
        (hs256, "HS256 for a private_key_jwt client"),
        (unsigned, "alg none"),
        ("not-a-jwt".to_owned(), "garbage"),
        ("e".repeat(9000), "oversized"),
    ];
    for (assertion, context) in &cases {
        let reply = with_assertion(&provider, "/token", assertion, CC).await;
        assert_oauth_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client", context);
    }
    // Malformed requests: the wrong assertion type, both a secret and an assertion, two
    // assertions, a client_id that is not the assertion's.
    let valid = sign(json!({}));
    let reply = provider
        .raw_post(
            "/token",
            None,
            &owned(&[
                ("client_assertion_type", "urn:other"),
                ("client_assertion", &valid),
                CC[0],
                CC[1],
            ]),
        )
        .await;
    assert_oauth_error(
        &reply,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "assertion type",
    );
    let reply = with_assertion(
        &provider,
        "/token",
        &valid,
        &[CC[0], CC[1], ("client_secret", "x")],
    )
    .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "secret too",
    );
    let reply = with_assertion(
        &provider,
        "/token",
        &valid,
        &[CC[0], CC[1], ("client_assertion", &valid)],
    )
    .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "two assertions",
    );
    let reply = with_assertion(
        &provider,
        "/token",
        &valid,
        &[CC[0], CC[1], ("client_id", "demo-web")],
    )
    .await;
    assert_oauth_error(
        &reply,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client_id differs",
    );
    // A secret client cannot authenticate with an assertion naming it.
    let web = SigningKey::generate(SigningAlg::ES256).expect("key");
    let forged = web
        .sign("JWT", &claims(&provider, "demo-web", &json!({})))
        .expect("signed");
    let reply = with_assertion(&provider, "/token", &forged, CC).await;
    assert_oauth_error(
        &reply,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "demo-web uses Basic",
    );
}

#[tokio::test]
async fn private_key_jwt_reads_keys_from_a_jwks_uri() {
    let provider = spawn_provider().await;
    let key = SigningKey::generate(SigningAlg::RS256).expect("key");
    let jwks = public_jwks(&[&key]).to_string();
    // The client's key server.
    let base = crate::support::serve_documents(|_| vec![("/jwks.json", jwks)]).await;
    let reply = provider
        .register(
            json!({"grant_types": ["client_credentials"], "scope": "api:read",
               "token_endpoint_auth_method": "private_key_jwt",
               "jwks_uri": format!("{base}/jwks.json")}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let client_id = reply.json()["client_id"].as_str().expect("id").to_owned();
    let assertion = key
        .sign("JWT", &claims(&provider, &client_id, &json!({})))
        .expect("signed");
    let reply = with_assertion(&provider, "/token", &assertion, CC).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn client_secret_jwt_macs_with_the_issued_secret_only() {
    let provider = spawn_provider().await;
    let reply = provider
        .register(
            json!({"grant_types": ["client_credentials"], "scope": "api:read",
               "token_endpoint_auth_method": "client_secret_jwt"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let body = reply.json();
    let client_id = body["client_id"].as_str().expect("id").to_owned();
    let secret = body["client_secret"].as_str().expect("a secret").to_owned();
    let mac = |secret: &[u8]| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims(&provider, &client_id, &json!({})),
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .expect("HS256")
    };
    let reply = with_assertion(&provider, "/token", &mac(secret.as_bytes()), CC).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = with_assertion(&provider, "/token", &mac(b"not the secret"), CC).await;
    assert_oauth_error(
        &reply,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "wrong secret",
    );
    // The secret itself, sent by another method, is refused.
    let reply = provider
        .raw_post(
            "/token",
            None,
            &owned(&[
                ("client_id", &client_id),
                ("client_secret", &secret),
                CC[0],
                CC[1],
            ]),
        )
        .await;
    assert_oauth_error(
        &reply,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "secret in the body",
    );
}

#[tokio::test]
async fn bad_key_registrations_are_invalid_client_metadata() {
    let provider = spawn_provider().await;
    let key = SigningKey::generate(SigningAlg::EdDSA).expect("key");
    let base = json!({"grant_types": ["client_credentials"], "scope": "api:read", "token_endpoint_auth_method": "private_key_jwt"});
    let with = |extra: Value| {
        let mut metadata = base.clone();
        for (name, value) in extra.as_object().expect("object") {
            metadata[name] = value.clone();
        }
        metadata
    };
    let private_jwk = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]});
    let many: Vec<Value> = (0..11)
        .map(|_| serde_json::to_value(key.public_jwk()).expect("jwk"))
        .collect();
    for (metadata, context) in [
        (with(json!({})), "no keys"),
        (
            with(json!({"jwks": public_jwks(&[&key]), "jwks_uri": "https://a.example/jwks"})),
            "both",
        ),
        (with(json!({"jwks": private_jwk})), "a symmetric key"),
        (with(json!({"jwks": {"keys": many}})), "eleven keys"),
        (with(json!({"jwks": "not a set"})), "malformed"),
        (
            with(json!({"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}})),
            "unusable key",
        ),
        (
            with(json!({"jwks_uri": "http://keys.example/jwks"})),
            "plain http",
        ),
        (with(json!({"jwks_uri": "not a url"})), "relative"),
        (
            with(json!({"jwks_uri": "https://keys.example/jwks#x"})),
            "fragment",
        ),
        (
            with(json!({"token_endpoint_auth_method": "tls_client_auth"})),
            "unsupported method",
        ),
    ] {
        let reply = provider.register(metadata).await;
        assert_oauth_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            context,
        );
    }
}
