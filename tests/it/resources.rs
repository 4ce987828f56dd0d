//! RFC 8707 resource indicators against a running provider with the dev registry: the demo
//! notes API (`http://127.0.0.1:8081`, RS256) and `urn:demo:api:es256` (ES256).
//!
//! A client names one or several resources at the authorization endpoint; the grant remembers
//! them; each token request gets a token for exactly one of them (`aud`, `alg`, lifetime and
//! scopes the resource's); anything else is `invalid_target`, issuing nothing.

use reqwest::StatusCode;

use crate::support::{
    API_AUDIENCE, Rp, Tokens, assert_oauth_error, audiences, scope_set, spawn_provider,
    spawn_provider_with, unverified_claims,
};

const ES256_API: &str = "urn:demo:api:es256";

fn alg(token: &str) -> String {
    format!(
        "{:?}",
        jsonwebtoken::decode_header(token)
            .expect("a JWS header")
            .alg
    )
}

#[tokio::test]
async fn client_credentials_selects_the_resource_its_algorithm_and_its_scopes() {
    let provider = spawn_provider().await;
    for (resource, expected_aud, expected_alg) in [
        (None, API_AUDIENCE, "RS256"),
        (Some(API_AUDIENCE), API_AUDIENCE, "RS256"),
        (Some(ES256_API), ES256_API, "ES256"),
    ] {
        let mut params = vec![("grant_type", "client_credentials"), ("scope", "api:read")];
        if let Some(resource) = resource {
            params.push(("resource", resource));
        }
        let tokens = Tokens::from_reply(&provider.token_request(&Rp::service(), &params).await);
        assert_eq!(alg(&tokens.access_token), expected_alg, "{resource:?}");
        let (header, claims) = provider
            .verify_jwt(&tokens.access_token, expected_aud)
            .await;
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(audiences(&claims), [expected_aud], "exactly one audience");
        assert_eq!(claims["scope"], "api:read");
    }
}

#[tokio::test]
async fn a_code_grant_covers_several_resources_and_each_token_is_for_one() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let rp = Rp::web();
    let flow = provider
        .code_flow(
            &browser,
            &rp,
            "openid offline_access api:read",
            &[
                ("resource", Some(ES256_API)),
                ("resource", Some(API_AUDIENCE)),
            ],
        )
        .await;
    // No resource at the token endpoint: the first one requested.
    let first = Tokens::from_reply(&provider.exchange_code(&rp, &flow).await);
    assert_eq!(alg(&first.access_token), "ES256");
    let (_, claims) = provider.verify_jwt(&first.access_token, ES256_API).await;
    assert_eq!(
        scope_set(claims["scope"].as_str().expect("scope")),
        scope_set("openid offline_access api:read")
    );
    // The same grant, refreshed for the other resource (RFC 8707 §2.2).
    let refresh = first
        .refresh_token
        .clone()
        .expect("offline_access: a refresh token");
    let reply = provider
        .token_request(
            &rp,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("resource", API_AUDIENCE),
            ],
        )
        .await;
    let second = Tokens::from_reply(&reply);
    assert_eq!(alg(&second.access_token), "RS256");
    provider
        .verify_jwt(&second.access_token, API_AUDIENCE)
        .await;
    // The ID token is for the client, whatever the resource.
    let id_token = second.id_token.expect("openid: an ID token");
    assert_eq!(audiences(&unverified_claims(&id_token)), ["demo-web"]);
    // The token still reads UserInfo: the provider's own scopes stay in it.
    assert_eq!(
        provider.userinfo(&second.access_token).await.status,
        StatusCode::OK
    );
    // A resource the user did not grant is refused, and the refresh token survives.
    let next = second.refresh_token.expect("rotated");
    let reply = provider
        .token_request(
            &rp,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &next),
                ("resource", "https://unknown.example"),
            ],
        )
        .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_target",
        "ungranted",
    );
    let again = provider.refresh(&rp, &next, None).await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "nothing was spent: {}",
        again.text
    );
}

#[tokio::test]
async fn a_code_exchange_may_only_target_a_resource_of_its_grant() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let rp = Rp::web();
    let flow = provider
        .code_flow(
            &browser,
            &rp,
            "openid api:read",
            &[("resource", Some(API_AUDIENCE))],
        )
        .await;
    let reply = provider
        .token_request(
            &rp,
            &[
                ("grant_type", "authorization_code"),
                ("code", &flow.code),
                ("redirect_uri", &flow.redirect_uri),
                ("code_verifier", &flow.verifier),
                ("resource", ES256_API),
            ],
        )
        .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_target",
        "a registered resource the user did not grant",
    );
}

#[tokio::test]
async fn hostile_resource_parameters_are_invalid_target() {
    let provider = spawn_provider().await;
    let long = format!("https://api.example/{}", "a".repeat(600));
    let eleven: Vec<(&str, &str)> = (0..11).map(|_| ("resource", API_AUDIENCE)).collect();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("resource", "https://unknown.example")],
            "unregistered",
        ),
        (vec![("resource", "relative/path")], "not absolute"),
        (vec![("resource", "http://127.0.0.1:8081#x")], "fragment"),
        (vec![("resource", long.as_str())], "oversized"),
        (
            vec![("resource", API_AUDIENCE), ("resource", ES256_API)],
            "two audiences for one token",
        ),
        (eleven, "repeated eleven times"),
    ];
    for (extra, context) in &cases {
        let mut params = vec![("grant_type", "client_credentials")];
        params.extend_from_slice(extra);
        let reply = provider.token_request(&Rp::service(), &params).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_target", context);
    }
    // At the authorization endpoint, after the client and redirect URI are known, the error
    // goes back to the client (RFC 6749 §4.1.2.1) with `iss`.
    let browser = provider.browser();
    for resource in ["https://unknown.example", "http://127.0.0.1:8081#x"] {
        let params = crate::support::with_changes(
            crate::support::authorization_params(
                &Rp::web(),
                "openid",
                &crate::support::Pkce::new(),
                "s",
                "n",
            ),
            &[("resource", Some(resource))],
        );
        let reply = provider
            .get(&browser, &provider.authorize_url(&params))
            .await;
        let location = reply.location().expect("an error redirect");
        assert!(
            location.contains("error=invalid_target") && location.contains("iss="),
            "{resource}: {location}"
        );
    }
}

#[tokio::test]
async fn a_configured_resource_sets_lifetime_and_scopes_and_appears_in_discovery() {
    let provider = spawn_provider_with(|config| {
        config.resources = vec![provider::protocol::resource::ResourceServer {
            identifier: "https://orders.example".into(),
            name: "Orders".into(),
            scopes: provider::protocol::scope::ScopeSet::parse("orders:read").expect("scopes"),
            signing_alg: keys::SigningAlg::EdDSA,
            access_token_lifetime_secs: Some(120),
            introspection_client: None,
        }];
    })
    .await;
    let discovery = provider.discovery().await;
    let scopes: Vec<&str> = discovery["scopes_supported"]
        .as_array()
        .expect("scopes_supported")
        .iter()
        .filter_map(|scope| scope.as_str())
        .collect();
    assert!(
        scopes.contains(&"orders:read") && scopes.contains(&"openid"),
        "{scopes:?}"
    );
    // Registered, but no demo client may request it.
    let reply = provider
        .token_request(
            &Rp::service(),
            &[
                ("grant_type", "client_credentials"),
                ("resource", "https://orders.example"),
            ],
        )
        .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_target",
        "not the client's",
    );
    // A client registered for it (dev mode: every registered resource) gets EdDSA tokens
    // that live 120 s with only its scope.
    let registered = provider
        .json_request(
            reqwest::Method::POST,
            &provider.url("/register"),
            None,
            Some(&serde_json::json!({
                "grant_types": ["client_credentials"],
                "scope": "api:read orders:read",
            })),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text
    );
    let registered = registered.json();
    let rp = Rp::registered(
        registered["client_id"].as_str().expect("client_id"),
        registered["client_secret"].as_str(),
        crate::support::ClientAuth::Basic,
        "",
    );
    let reply = provider
        .token_request(
            &rp,
            &[
                ("grant_type", "client_credentials"),
                ("resource", "https://orders.example"),
            ],
        )
        .await;
    let tokens = Tokens::from_reply(&reply);
    assert_eq!(alg(&tokens.access_token), "EdDSA");
    let (_, claims) = provider
        .verify_jwt(&tokens.access_token, "https://orders.example")
        .await;
    assert_eq!(
        claims["scope"], "orders:read",
        "narrowed to what Orders accepts"
    );
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        120
    );
    assert_eq!(reply.json()["expires_in"], 120);
}

#[tokio::test]
async fn pushed_and_device_requests_take_resources_too() {
    let provider = spawn_provider().await;
    // PAR (RFC 9126) validates the pushed request like /authorize: several resources are
    // accepted, an unregistered one is refused before a request_uri exists.
    let pkce = crate::support::Pkce::new();
    let pushed = |resources: &[&'static str]| {
        let mut pairs = crate::support::authorization_params(&Rp::web(), "openid", &pkce, "s", "n");
        pairs.extend(
            resources
                .iter()
                .map(|resource| ("resource".to_owned(), (*resource).to_owned())),
        );
        pairs
    };
    for (resources, ok) in [
        (&[API_AUDIENCE, ES256_API][..], true),
        (&["https://unknown.example"][..], false),
    ] {
        let pairs = pushed(resources);
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let reply = provider.client_post("/par", &Rp::web(), &refs).await;
        if ok {
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        } else {
            assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_target", "PAR");
        }
    }
    // Device authorization (RFC 8628) remembers the resource for the token the device polls.
    let reply = provider
        .client_post(
            "/device_authorization",
            &Rp::device(),
            &[("scope", "openid"), ("resource", "https://unknown.example")],
        )
        .await;
    assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_target", "device");
    let reply = provider
        .client_post(
            "/device_authorization",
            &Rp::device(),
            &[("scope", "openid"), ("resource", ES256_API)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}
