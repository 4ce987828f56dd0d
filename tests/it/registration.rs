//! RFC 7591 dynamic client registration and RFC 7592 client configuration management: the
//! registration response on the wire, a registered client running the code flow, public
//! registrations without a secret, RFC 7591 §3.2.2 error codes, the registration access token
//! guarding GET/PUT/DELETE, and an initial access token guarding registration itself.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    API_AUDIENCE, ClientAuth, Reply, Rp, TestProvider, Tokens, assert_json_no_store,
    assert_oauth_error, audiences, spawn_provider, spawn_provider_with,
};

/// `WWW-Authenticate: Bearer` on a 401 (RFC 6750 §3).
fn assert_bearer_refusal(reply: &Reply, context: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{context}: {}",
        reply.text
    );
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with(r#"Bearer realm="register""#),
        "{context}: {challenge:?}"
    );
}

async fn register(provider: &TestProvider, bearer: Option<&str>, metadata: &Value) -> Reply {
    provider
        .json_request(
            Method::POST,
            &provider.url("/register"),
            bearer,
            Some(metadata),
        )
        .await
}

fn text<'j>(json: &'j Value, name: &str) -> &'j str {
    json[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is a string in {json}"))
}

#[tokio::test]
async fn registered_client_runs_the_code_flow_and_is_managed_with_its_token() {
    let provider = spawn_provider().await;
    let discovery = provider.discovery().await;
    assert_eq!(
        discovery["registration_endpoint"],
        provider.url("/register"),
        "dev mode offers open registration"
    );

    // RFC 7591 §3.1 / §3.2.1: a confidential web client.
    let redirect_uri = "http://127.0.0.1:8083/callback";
    let metadata = json!({
        "client_name": "Integration test app",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "openid profile offline_access api:read",
        "unknown_member": "ignored (RFC 7591 §2)",
    });
    let reply = register(&provider, None, &metadata).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_json_no_store(&reply, "registration response");
    let registered = reply.json();
    let client_id = text(&registered, "client_id").to_owned();
    let secret = text(&registered, "client_secret").to_owned();
    let registration_token = text(&registered, "registration_access_token").to_owned();
    let client_uri = text(&registered, "registration_client_uri").to_owned();
    assert!(!client_id.is_empty() && secret.len() >= 32, "{registered}");
    assert_eq!(
        registered["client_secret_expires_at"], 0,
        "0 = never (RFC 7591 §3.2.1)"
    );
    assert!(registered["client_id_issued_at"].is_i64(), "{registered}");
    assert_eq!(client_uri, provider.url(&format!("/register/{client_id}")));
    assert_eq!(registered["redirect_uris"], json!([redirect_uri]));
    assert_eq!(registered["client_name"], "Integration test app");
    assert_eq!(
        registered["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    assert_eq!(
        registered["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(registered["response_types"], json!(["code"]));
    assert!(registered.get("unknown_member").is_none(), "{registered}");

    // The new client runs the code flow with PKCE (not first-party: it gets the consent page).
    let rp = Rp::registered(&client_id, Some(&secret), ClientAuth::Basic, redirect_uri);
    let browser = provider.browser();
    let (flow, tokens) = provider
        .tokens(&browser, &rp, "openid offline_access", &[])
        .await;
    assert!(flow.saw_login && flow.saw_consent, "{flow:?}");
    let (_, id_claims) = provider
        .verify_jwt(tokens.id_token.as_deref().expect("id_token"), &client_id)
        .await;
    assert_eq!(audiences(&id_claims), [client_id.as_str()]);
    let (_, at_claims) = provider
        .verify_jwt(&tokens.access_token, API_AUDIENCE)
        .await;
    assert_eq!(at_claims["client_id"], client_id.as_str());
    assert!(tokens.refresh_token.is_some(), "offline_access was granted");
    // ... and authenticates at the introspection endpoint with its registered method (Basic,
    // the default); the same secret in the body is refused (RFC 7591 §2).
    let reply = provider.introspect(&rp, &tokens.access_token, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["active"], true);
    let switched = Rp {
        auth: ClientAuth::Post,
        ..rp.clone()
    };
    let reply = provider
        .introspect(&switched, &tokens.access_token, None)
        .await;
    assert_oauth_error(
        &reply,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "another method than registered",
    );

    // RFC 7592 §2.1: read with the registration access token.
    let read = provider
        .json_request(Method::GET, &client_uri, Some(&registration_token), None)
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_json_no_store(&read, "RFC 7592 read");
    let current = read.json();
    assert_eq!(current["client_id"], client_id.as_str());
    assert_eq!(current["redirect_uris"], json!([redirect_uri]));
    assert_eq!(current["registration_client_uri"], client_uri.as_str());

    // Wrong, missing or another client's token: 401 with a Bearer challenge.
    let public = register(
        &provider,
        None,
        &json!({
            "redirect_uris": ["http://127.0.0.1/callback"],
            "token_endpoint_auth_method": "none",
            "application_type": "native",
        }),
    )
    .await;
    assert_eq!(public.status, StatusCode::CREATED, "{}", public.text);
    let public = public.json();
    // A public client gets no secret (RFC 7591 §3.2.1: only when one was issued).
    for absent in ["client_secret", "client_secret_expires_at"] {
        assert!(public.get(absent).is_none(), "{absent} in {public}");
    }
    assert_eq!(public["token_endpoint_auth_method"], "none");
    // A native public client: PKCE, any loopback port (RFC 8252 §7.3), client_id only. The SSO
    // session of this browser is reused; the consent page is still shown (not first-party).
    let native = Rp::registered(
        text(&public, "client_id"),
        None,
        ClientAuth::None,
        &Rp::cli_random_port().redirect_uri,
    );
    let (flow, native_tokens) = provider.tokens(&browser, &native, "openid", &[]).await;
    assert!(!flow.saw_login && flow.saw_consent, "{flow:?}");
    assert!(native_tokens.id_token.is_some());
    let other_token = text(&public, "registration_access_token");
    for (bearer, context) in [
        (None, "no token"),
        (Some("wrong-token"), "a wrong token"),
        (Some(other_token), "another client's registration token"),
    ] {
        let reply = provider
            .json_request(Method::GET, &client_uri, bearer, None)
            .await;
        assert_bearer_refusal(&reply, context);
    }
    let demo = provider
        .json_request(
            Method::GET,
            &provider.url("/register/demo-web"),
            Some(&registration_token),
            None,
        )
        .await;
    assert_bearer_refusal(&demo, "a seeded client has no registration token");

    // RFC 7592 §2.2: PUT replaces the metadata and must repeat client_id.
    let mut update = metadata.clone();
    update["client_name"] = json!("Renamed app");
    let without_id = provider
        .json_request(
            Method::PUT,
            &client_uri,
            Some(&registration_token),
            Some(&update),
        )
        .await;
    assert_oauth_error(
        &without_id,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "PUT without client_id",
    );
    update["client_id"] = json!(client_id);
    let unauthorized = provider
        .json_request(Method::PUT, &client_uri, Some("wrong-token"), Some(&update))
        .await;
    assert_bearer_refusal(&unauthorized, "PUT with a wrong token");
    let mut to_public = update.clone();
    to_public["token_endpoint_auth_method"] = json!("none");
    let switched = provider
        .json_request(
            Method::PUT,
            &client_uri,
            Some(&registration_token),
            Some(&to_public),
        )
        .await;
    assert_oauth_error(
        &switched,
        StatusCode::BAD_REQUEST,
        "invalid_client_metadata",
        "PUT turning a confidential client public",
    );
    let updated = provider
        .json_request(
            Method::PUT,
            &client_uri,
            Some(&registration_token),
            Some(&update),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.json()["client_name"], "Renamed app");
    let read = provider
        .json_request(Method::GET, &client_uri, Some(&registration_token), None)
        .await;
    assert_eq!(
        read.json()["client_name"],
        "Renamed app",
        "the update sticks"
    );
    assert_eq!(
        provider
            .introspect(&rp, &tokens.access_token, None)
            .await
            .status,
        StatusCode::OK,
        "the secret survives an update"
    );

    // RFC 7592 §2.3: DELETE needs the token, answers 204, and the client is gone.
    let refused = provider
        .json_request(Method::DELETE, &client_uri, Some(other_token), None)
        .await;
    assert_bearer_refusal(&refused, "DELETE with another client's token");
    let deleted = provider
        .json_request(Method::DELETE, &client_uri, Some(&registration_token), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert!(deleted.text.is_empty(), "{}", deleted.text);
    let reply = provider.introspect(&rp, &tokens.access_token, None).await;
    assert_oauth_error(
        &reply,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "a deleted client at /introspect",
    );
    let reply = provider
        .refresh(&rp, tokens.refresh_token.as_deref().unwrap(), None)
        .await;
    assert_oauth_error(
        &reply,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "a deleted client at /token",
    );
    let read = provider
        .json_request(Method::GET, &client_uri, Some(&registration_token), None)
        .await;
    assert_bearer_refusal(&read, "reading a deleted client");
    // RFC 7592 §2.3: the deleted client's access tokens stop working too.
    let userinfo = provider.userinfo(&tokens.access_token).await;
    assert_eq!(
        userinfo.status,
        StatusCode::UNAUTHORIZED,
        "a deleted client's access token at /userinfo: {}",
        userinfo.text
    );
    // RFC 6750 §3.1: without any token the challenge carries no error code.
    let anonymous = provider
        .json_request(Method::GET, &client_uri, None, None)
        .await;
    assert_bearer_refusal(&anonymous, "no registration token");
    let challenge = anonymous.header("www-authenticate").unwrap_or_default();
    assert!(
        !challenge.contains("error="),
        "a request without a token gets a bare challenge: {challenge}"
    );
}

#[tokio::test]
async fn invalid_registrations_get_rfc7591_error_codes() {
    let provider = spawn_provider().await;
    let good = "https://app.example.com/callback";
    let metadata_cases = [
        (
            json!({"redirect_uris": ["http://app.example.com/callback"]}),
            "invalid_redirect_uri",
            "plain http off loopback",
        ),
        (
            json!({"redirect_uris": ["https://app.example.com/callback#fragment"]}),
            "invalid_redirect_uri",
            "a fragment",
        ),
        (
            json!({"redirect_uris": ["/callback"]}),
            "invalid_redirect_uri",
            "a relative URI",
        ),
        (
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
            "a javascript: URI",
        ),
        (
            json!({"client_name": "no redirect"}),
            "invalid_redirect_uri",
            "the code grant without redirect_uris",
        ),
        (
            json!({"redirect_uris": [good], "post_logout_redirect_uris": ["http://app.example.com/"]}),
            "invalid_redirect_uri",
            "an http post-logout redirect off loopback",
        ),
        (
            json!({"redirect_uris": [good], "grant_types": ["implicit"]}),
            "invalid_client_metadata",
            "the implicit grant",
        ),
        (
            json!({"redirect_uris": [good], "grant_types": ["password"]}),
            "invalid_client_metadata",
            "the password grant",
        ),
        (
            json!({"redirect_uris": [good], "response_types": ["token"]}),
            "invalid_client_metadata",
            "response_type token",
        ),
        (
            json!({"redirect_uris": [good], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
            "an unsupported auth method",
        ),
        (
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
            "a public client_credentials client",
        ),
        (
            json!({"redirect_uris": [good], "scope": "openid admin"}),
            "invalid_client_metadata",
            "an unknown scope",
        ),
        (
            json!({"redirect_uris": [good], "client_name": 42}),
            "invalid_client_metadata",
            "a member of the wrong type",
        ),
        (
            json!([good]),
            "invalid_client_metadata",
            "a JSON array, not an object",
        ),
    ];
    for (metadata, error, context) in metadata_cases {
        let reply = register(&provider, None, &metadata).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, error, context);
    }

    // Bodies that are not JSON client metadata.
    for (content_type, body, context) in [
        ("application/json", "{not json", "malformed JSON"),
        (
            "application/x-www-form-urlencoded",
            "redirect_uris=https%3A%2F%2Fapp.example.com%2Fcallback",
            "a form body",
        ),
    ] {
        let response = provider
            .http
            .post(provider.url("/register"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST /register");
        let reply = Reply::read(response).await;
        assert_oauth_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            context,
        );
    }
}

#[tokio::test]
async fn an_initial_access_token_guards_registration() {
    const INITIAL: &str = "initial-access-token-for-tests-0123456789";
    let provider = spawn_provider_with(|config| {
        config.registration = provider::config::RegistrationPolicy::InitialAccessToken(
            provider::protocol::types::SecretDigest::of(INITIAL),
        );
    })
    .await;
    assert_eq!(
        provider.discovery().await["registration_endpoint"],
        provider.url("/register")
    );
    let metadata = json!({"redirect_uris": ["https://app.example.com/callback"]});
    for (bearer, context) in [
        (None, "no initial access token"),
        (Some("wrong-initial-access-token-0123456789"), "a wrong one"),
    ] {
        let reply = register(&provider, bearer, &metadata).await;
        assert_bearer_refusal(&reply, context);
        assert_eq!(reply.json()["error"], "invalid_token", "{context}");
    }
    let reply = register(&provider, Some(INITIAL), &metadata).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert!(reply.json()["client_id"].is_string());

    // Without a policy (serve mode without a token) there is no registration at all.
    let closed = spawn_provider_with(|config| {
        config.registration = provider::config::RegistrationPolicy::Disabled;
    })
    .await;
    let discovery = closed.discovery().await;
    assert!(
        discovery.get("registration_endpoint").is_none(),
        "{discovery}"
    );
    let reply = register(&closed, None, &metadata).await;
    assert!(reply.status.is_client_error(), "{}", reply.text);
    assert_ne!(reply.status, StatusCode::CREATED);
}

/// A registered machine client (client_credentials only, `client_secret_post`) needs no
/// redirect URI and gets tokens for itself.
#[tokio::test]
async fn registered_client_credentials_client_gets_tokens() {
    let provider = spawn_provider().await;
    let reply = register(
        &provider,
        None,
        &json!({
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
            "scope": "api:read",
        }),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let registered = reply.json();
    assert_eq!(registered["response_types"], json!([]), "{registered}");
    let rp = Rp::registered(
        text(&registered, "client_id"),
        Some(text(&registered, "client_secret")),
        ClientAuth::Post,
        "",
    );
    let tokens = Tokens::from_reply(
        &provider
            .token_request(&rp, &[("grant_type", "client_credentials")])
            .await,
    );
    assert_eq!(tokens.json["scope"], "api:read");
    let (_, claims) = provider
        .verify_jwt(&tokens.access_token, API_AUDIENCE)
        .await;
    assert_eq!(claims["sub"], rp.client_id);
}

/// Serve mode's registration policy: with the initial access token, clients that act for users
/// register; machine clients, token exchange and write scopes are the operator's to give.
#[tokio::test]
async fn serve_mode_registration_gives_self_registered_clients_user_grants_and_read_scopes() {
    const INITIAL: &str = "initial-access-token-for-tests-0123456789";
    let provider = spawn_provider_with(|config| {
        config.mode = provider::config::Mode::Serve;
        config.registration = provider::config::RegistrationPolicy::InitialAccessToken(
            provider::protocol::types::SecretDigest::of(INITIAL),
        );
        config.resources = vec![provider::protocol::resource::ResourceServer {
            identifier: "https://api.example.com".into(),
            name: "Example API".into(),
            scopes: provider::protocol::scope::ScopeSet::parse("api:read api:write")
                .expect("scopes"),
            signing_alg: keys::SigningAlg::ES256,
            access_token_lifetime_secs: None,
            introspection_client: None,
        }];
        config.registration_resources = Some(vec!["https://api.example.com".into()]);
    })
    .await;
    let registered = register(
        &provider,
        Some(INITIAL),
        &json!({"redirect_uris": ["https://app.example.com/callback"], "scope": "openid api:read offline_access",
                "grant_types": ["authorization_code", "refresh_token"]}),
    )
    .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text
    );
    for (metadata, context) in [
        (
            json!({"grant_types": ["client_credentials"], "scope": "api:read"}),
            "client_credentials",
        ),
        (
            json!({"redirect_uris": ["https://app.example.com/callback"],
                   "grant_types": ["authorization_code", "urn:ietf:params:oauth:grant-type:token-exchange"]}),
            "token exchange",
        ),
        (
            json!({"redirect_uris": ["https://app.example.com/callback"], "scope": "openid api:write"}),
            "a write scope",
        ),
    ] {
        let reply = register(&provider, Some(INITIAL), &metadata).await;
        assert_oauth_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            context,
        );
        assert!(
            reply.json()["error_description"]
                .as_str()
                .is_some_and(|text| text.contains("registration policy")),
            "{context}: {}",
            reply.text
        );
    }
    // The resources come from configuration, never from the dev constants.
    let registered = registered.json();
    let client_id = text(&registered, "client_id");
    let stores = provider::store::open(&provider.database_url)
        .await
        .expect("the store");
    let client = stores
        .clients
        .client(client_id)
        .await
        .expect("the store answers")
        .expect("registered");
    assert_eq!(
        client.metadata.default_resource.as_deref(),
        Some("https://api.example.com")
    );
    assert!(client.metadata.allowed_resources.is_empty());
    assert!(!client.metadata.scope.contains("api:write"));
}

/// RFC 9700 §4.11.2: a self-registered client gets no error redirect before the user acted
/// (anyone can register a redirect URI; the provider must not become an open redirector). The
/// error is shown on a page; once the user has acted (denied consent), the redirect is normal.
/// Operator-registered clients (demo-web) keep RFC 6749 §4.1.2.1 error redirects.
#[tokio::test]
async fn self_registered_clients_get_error_pages_not_silent_redirects() {
    let provider = spawn_provider().await;
    let redirect_uri = "https://attacker.example/landing";
    let reply = register(
        &provider,
        None,
        &json!({"redirect_uris": [redirect_uri], "scope": "openid profile"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let registered = reply.json();
    let rp = Rp::registered(
        text(&registered, "client_id"),
        Some(text(&registered, "client_secret")),
        ClientAuth::Basic,
        redirect_uri,
    );
    let pkce = crate::support::Pkce::new();
    let base = crate::support::authorization_params(&rp, "openid", &pkce, "st", "n");
    // (changes to the request, the error, what it is)
    type Case<'a> = (&'a [(&'a str, Option<&'a str>)], &'a str, &'a str);
    let cases: [Case<'_>; 3] = [
        (
            &[("scope", Some("openid no-such-scope"))],
            "invalid_scope",
            "an unknown scope",
        ),
        (
            &[("code_challenge_method", Some("plain"))],
            "invalid_request",
            "PKCE plain",
        ),
        (
            &[("prompt", Some("none"))],
            "login_required",
            "prompt=none without a session",
        ),
    ];
    for (changes, error, context) in cases {
        let params = crate::support::with_changes(base.clone(), changes);
        let url = provider.authorize_url(&params);
        let page = provider.get(&provider.browser(), &url).await;
        crate::support::assert_html_page(&page, StatusCode::BAD_REQUEST, context);
        assert_eq!(
            crate::support::page_error_code(&page),
            Some(error),
            "{context}"
        );
        // The same request from demo-web, registered by the operator, is redirected.
        let demo = crate::support::with_changes(
            crate::support::authorization_params(&Rp::web(), "openid", &pkce, "st", "n"),
            changes,
        );
        let redirected = provider
            .get(&provider.browser(), &provider.authorize_url(&demo))
            .await;
        assert_eq!(
            redirected.status,
            StatusCode::SEE_OTHER,
            "{context}: demo-web"
        );
        let location = redirected.location().unwrap_or_default();
        assert!(
            location.contains(&format!("error={error}")),
            "{context}: {location}"
        );
    }
    // After the user acted (signed in, then denied consent), the error goes back to the client.
    let browser = provider.browser();
    let login = provider.start(&browser, &base).await.login_form();
    let consent = provider
        .login(&browser, &login, crate::support::ALICE)
        .await
        .consent_form();
    match provider.consent(&browser, &consent, false).await {
        crate::support::Step::Callback(callback) => {
            assert_eq!(callback.param("error"), Some("access_denied"));
            assert!(
                callback.url.as_str().starts_with(redirect_uri),
                "{}",
                callback.url
            );
        }
        other => panic!("expected the redirect after the user's decision, got {other:?}"),
    }
}
