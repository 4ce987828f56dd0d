//! RFC 9101 signed request objects (JAR), against a running provider: registration of
//! `request_object_signing_alg` and `require_signed_request_object`, a request object by value
//! at `/authorize` and pushed through `/par`, the object's claims winning over the outer
//! parameters (§6.3), every hostile object refused with `invalid_request_object` on a page
//! (never redirected), `request_uri` by reference refused, and nothing advertised or accepted
//! with the feature off.

use keys::{SigningAlg, SigningKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    ALICE, ClientAuth, Flow, Pkce, Rp, Step, TestProvider, Tokens, assert_html_page,
    assert_oauth_error, owned, page_error_code, random_token, spawn_provider, spawn_provider_with,
    unverified_claims,
};

const REDIRECT: &str = "https://rp.example.com/callback";

/// A confidential web client that registered `key` and must sign its requests.
async fn signing_client(provider: &TestProvider, key: &SigningKey) -> Rp {
    let reply = provider
        .register(json!({
            "redirect_uris": [REDIRECT], "client_name": "JAR client", "scope": "openid profile",
            "jwks": {"keys": [serde_json::to_value(key.public_jwk()).expect("JWK")]},
            "request_object_signing_alg": key.alg().as_str(),
            "require_signed_request_object": true,
        }))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["request_object_signing_alg"], key.alg().as_str());
    assert_eq!(body["require_signed_request_object"], true);
    Rp::registered(
        body["client_id"].as_str().expect("client_id"),
        body["client_secret"].as_str(),
        ClientAuth::Basic,
        REDIRECT,
    )
}

/// The claims of a valid request object for `rp`.
fn request_claims(provider: &TestProvider, rp: &Rp, pkce: &Pkce, state: &str) -> Value {
    json!({
        "iss": rp.client_id, "aud": provider.base_url, "client_id": rp.client_id,
        "iat": crate::support::unix_now(), "exp": crate::support::unix_now() + 300, "jti": random_token(),
        "response_type": "code", "redirect_uri": REDIRECT, "scope": "openid profile",
        "state": state, "nonce": "jar-nonce",
        "code_challenge": pkce.challenge, "code_challenge_method": "S256",
    })
}

fn changed(mut claims: Value, name: &str, value: Value) -> Value {
    if value.is_null() {
        claims.as_object_mut().expect("object").remove(name);
    } else {
        claims[name] = value;
    }
    claims
}

fn sign(key: &SigningKey, claims: &Value) -> String {
    key.sign("oauth-authz-req+jwt", claims).expect("sign")
}

/// The step after `/authorize?client_id=…&request=…` plus `outer` parameters.
async fn authorize_with(
    provider: &TestProvider,
    browser: &reqwest::Client,
    rp: &Rp,
    request: &str,
    outer: &[(&str, &str)],
) -> Step {
    let mut params = owned(&[("client_id", rp.client_id), ("request", request)]);
    params.extend(owned(outer));
    provider.start(browser, &params).await
}

fn assert_error_page(step: Step, error: &str, context: &str) {
    let Step::Page(reply) = step else {
        panic!("{context}: expected an error page, got {step:?}");
    };
    assert_html_page(&reply, StatusCode::BAD_REQUEST, context);
    assert_eq!(
        page_error_code(&reply),
        Some(error),
        "{context}: {}",
        reply.text
    );
}

/// Finishes the flow as alice and exchanges the code; returns the ID token's claims.
async fn finish(
    provider: &TestProvider,
    browser: &reqwest::Client,
    rp: &Rp,
    step: Step,
    pkce: &Pkce,
    state: &str,
) -> Value {
    let (callback, saw_login, _) = provider.finish(browser, step, ALICE).await;
    assert!(saw_login);
    assert_eq!(callback.param("error"), None, "{}", callback.url);
    assert_eq!(callback.param("state"), Some(state), "the object's state");
    assert_eq!(callback.endpoint(), REDIRECT);
    let flow = Flow {
        code: callback.param("code").expect("code").to_owned(),
        state: state.to_owned(),
        sent_state: state.to_owned(),
        iss: callback.param("iss").unwrap_or_default().to_owned(),
        verifier: pkce.verifier.clone(),
        nonce: "jar-nonce".into(),
        redirect_uri: REDIRECT.into(),
        saw_login,
        saw_consent: true,
    };
    let reply = provider.exchange_code(rp, &flow).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let tokens = Tokens::from_reply(&reply);
    unverified_claims(tokens.id_token.as_deref().expect("ID token"))
}

#[tokio::test]
async fn discovery_advertises_signed_request_objects() {
    let provider = spawn_provider().await;
    let document = provider.discovery().await;
    assert_eq!(document["request_parameter_supported"], true);
    assert_eq!(
        document["request_object_signing_alg_values_supported"],
        json!(["RS256", "ES256", "EdDSA"])
    );
    assert_eq!(document["require_signed_request_object"], false);
    assert_eq!(document["request_uri_parameter_supported"], false);
}

#[tokio::test]
async fn a_signed_request_object_by_value_wins_over_the_outer_parameters() {
    let provider = spawn_provider().await;
    for alg in [SigningAlg::ES256, SigningAlg::RS256, SigningAlg::EdDSA] {
        let key = SigningKey::generate(alg).expect("key");
        let rp = signing_client(&provider, &key).await;
        let pkce = Pkce::new();
        let state = random_token();
        let request = sign(&key, &request_claims(&provider, &rp, &pkce, &state));
        // RFC 9101 §6.3: outer parameters other than client_id are ignored.
        let browser = provider.browser();
        let step = authorize_with(
            &provider,
            &browser,
            &rp,
            &request,
            &[
                ("response_type", "code"),
                ("state", "outer"),
                ("scope", "openid email"),
            ],
        )
        .await;
        let claims = finish(&provider, &browser, &rp, step, &pkce, &state).await;
        assert_eq!(claims["nonce"], "jar-nonce", "{alg:?}: the object's nonce");
        assert_eq!(claims["aud"], rp.client_id);
    }
}

#[tokio::test]
async fn a_client_that_must_sign_is_refused_plain_parameters() {
    let provider = spawn_provider().await;
    let key = SigningKey::generate(SigningAlg::ES256).expect("key");
    let rp = signing_client(&provider, &key).await;
    let pkce = Pkce::new();
    let params = crate::support::authorization_params(&rp, "openid", &pkce, "s", "n");
    let step = provider.start(&provider.browser(), &params).await;
    assert_error_page(step, "invalid_request", "plain parameters");
    // And at PAR: a push without a request object.
    let reply = provider
        .client_post(
            "/par",
            &rp,
            &params
                .iter()
                .filter(|(name, _)| name != "client_id")
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect::<Vec<_>>(),
        )
        .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "PAR without request",
    );
}

#[tokio::test]
async fn hostile_request_objects_are_shown_never_redirected() {
    let provider = spawn_provider().await;
    let key = SigningKey::generate(SigningAlg::ES256).expect("key");
    let other = SigningKey::generate(SigningAlg::ES256).expect("key");
    let rsa = SigningKey::generate(SigningAlg::RS256).expect("key");
    let rp = signing_client(&provider, &key).await;
    let pkce = Pkce::new();
    let good = request_claims(&provider, &rp, &pkce, "s");
    let tampered = {
        let jwt = sign(&key, &good);
        let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
        parts[1] = keys::b64url(
            changed(
                good.clone(),
                "redirect_uri",
                json!("https://evil.example/cb"),
            )
            .to_string()
            .as_bytes(),
        );
        parts.join(".")
    };
    let unsigned = format!(
        "{}.{}.",
        keys::b64url(br#"{"alg":"none"}"#),
        keys::b64url(good.to_string().as_bytes())
    );
    let cases = [
        ("tampered payload", tampered),
        ("unsigned", unsigned),
        ("another key", sign(&other, &good)),
        ("not the registered alg", sign(&rsa, &good)),
        (
            "iss another client",
            sign(&key, &changed(good.clone(), "iss", json!("demo-web"))),
        ),
        (
            "aud another issuer",
            sign(
                &key,
                &changed(good.clone(), "aud", json!("https://op.evil")),
            ),
        ),
        (
            "expired",
            sign(
                &key,
                &changed(good.clone(), "exp", json!(crate::support::unix_now() - 120)),
            ),
        ),
        (
            "no exp",
            sign(&key, &changed(good.clone(), "exp", Value::Null)),
        ),
        (
            "exp in a day",
            sign(
                &key,
                &changed(
                    good.clone(),
                    "exp",
                    json!(crate::support::unix_now() + 86_400),
                ),
            ),
        ),
        (
            "client_id inside differs",
            sign(&key, &changed(good.clone(), "client_id", json!("demo-web"))),
        ),
        (
            "nested request_uri",
            sign(
                &key,
                &changed(good.clone(), "request_uri", json!("https://evil/r")),
            ),
        ),
        ("oversized", "e".repeat(20_000)),
        ("garbage", "garbage".to_owned()),
    ];
    for (context, request) in cases {
        let step = authorize_with(&provider, &provider.browser(), &rp, &request, &[]).await;
        assert_error_page(step, "invalid_request_object", context);
    }
    // A request object for one client sent under another's client_id.
    let step = authorize_with(
        &provider,
        &provider.browser(),
        &Rp::web(),
        &sign(&key, &good),
        &[],
    )
    .await;
    assert_error_page(
        step,
        "invalid_request_object",
        "another client's id outside",
    );
    // Duplicated `request`.
    let jwt = sign(&key, &good);
    let params = owned(&[
        ("client_id", rp.client_id),
        ("request", &jwt),
        ("request", &jwt),
    ]);
    let step = provider.start(&provider.browser(), &params).await;
    assert_error_page(step, "invalid_request", "request twice");
    // response_type outside must repeat the one inside.
    let step = authorize_with(
        &provider,
        &provider.browser(),
        &rp,
        &jwt,
        &[("response_type", "token")],
    )
    .await;
    assert_error_page(step, "invalid_request_object", "response_type differs");
    // The good object still works afterwards (nothing above spent it).
    let browser = provider.browser();
    let step = authorize_with(&provider, &browser, &rp, &jwt, &[]).await;
    finish(&provider, &browser, &rp, step, &pkce, "s").await;
}

#[tokio::test]
async fn a_pushed_request_object_is_verified_at_par() {
    let provider = spawn_provider().await;
    let key = SigningKey::generate(SigningAlg::ES256).expect("key");
    let rp = signing_client(&provider, &key).await;
    let pkce = Pkce::new();
    let state = random_token();
    let request = sign(&key, &request_claims(&provider, &rp, &pkce, &state));
    let reply = provider
        .client_post("/par", &rp, &[("request", &request)])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let request_uri = reply.json()["request_uri"]
        .as_str()
        .expect("request_uri")
        .to_owned();
    let browser = provider.browser();
    let step = provider
        .start(
            &browser,
            &owned(&[("client_id", rp.client_id), ("request_uri", &request_uri)]),
        )
        .await;
    let claims = finish(&provider, &browser, &rp, step, &pkce, &state).await;
    assert_eq!(claims["nonce"], "jar-nonce");
    // A bad object at PAR is a JSON error.
    let other = SigningKey::generate(SigningAlg::ES256).expect("key");
    let bad = sign(&other, &request_claims(&provider, &rp, &pkce, &state));
    let reply = provider
        .client_post("/par", &rp, &[("request", &bad)])
        .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_request_object",
        "PAR, wrong key",
    );
    // Another client cannot push this client's object.
    let reply = provider
        .client_post("/par", &Rp::web(), &[("request", &request)])
        .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_request_object",
        "PAR, another client",
    );
}

#[tokio::test]
async fn request_and_request_uri_together_are_refused() {
    let provider = spawn_provider().await;
    let params = owned(&[
        ("client_id", "demo-web"),
        ("request_uri", "urn:ietf:params:oauth:request_uri:abc"),
        ("request", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"),
    ]);
    let step = provider.start(&provider.browser(), &params).await;
    assert_error_page(step, "invalid_request", "request with request_uri");
}

#[tokio::test]
async fn request_uri_by_reference_is_refused() {
    let provider = spawn_provider().await;
    let params = owned(&[
        ("client_id", "demo-web"),
        ("request_uri", "https://rp.example.com/request.jwt"),
    ]);
    let step = provider.start(&provider.browser(), &params).await;
    assert_error_page(step, "invalid_request_uri", "request_uri by reference");
}

#[tokio::test]
async fn with_request_objects_off_nothing_is_advertised_or_accepted() {
    let provider = spawn_provider_with(|config| config.features.request_objects = false).await;
    let document = provider.discovery().await;
    assert_eq!(document["request_parameter_supported"], false);
    assert!(
        document
            .get("request_object_signing_alg_values_supported")
            .is_none()
    );
    assert!(document.get("require_signed_request_object").is_none());
    let key = SigningKey::generate(SigningAlg::ES256).expect("key");
    let reply = provider.register(json!({"redirect_uris": [REDIRECT], "jwks": {"keys": [serde_json::to_value(key.public_jwk()).expect("JWK")]},
               "require_signed_request_object": true}),
    )
    .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_client_metadata",
        "registration",
    );
    // demo-web's request with `request` is refused as not supported (an error redirect: the
    // redirect URI is registered and demo-web is a seeded client).
    let rp = Rp::web();
    let pkce = Pkce::new();
    let mut params = crate::support::authorization_params(&rp, "openid", &pkce, "s", "n");
    params.push(("request".into(), "eyJhbGciOiJFUzI1NiJ9.e30.sig".into()));
    let step = provider.start(&provider.browser(), &params).await;
    let Step::Callback(callback) = step else {
        panic!("expected an error redirect, got {step:?}");
    };
    assert_eq!(callback.param("error"), Some("request_not_supported"));
}
