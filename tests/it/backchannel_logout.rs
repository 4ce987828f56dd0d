//! OpenID Connect Back-Channel Logout 1.0 against a running provider: `sid` in ID tokens (kept
//! when the same user signs in again), a signed logout token POSTed to every client of the
//! session when it ends (logout, expiry, an operator's sign-out), retried after a failure, kept
//! across a restart, and the registration metadata with its refusals.

use jsonwebtoken::{DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    ALICE, BOB, ClientAuth, Receiver, Rp, Step, TestProvider, Tokens, UsersCommand,
    assert_oauth_error, spawn_provider, spawn_provider_with, spawn_provider_with_clock,
    unverified_claims, users_command,
};

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const REDIRECT: &str = "https://rp.example.com/callback";

/// A confidential client whose logouts go to `receiver`.
async fn logout_client(provider: &TestProvider, receiver: &Receiver) -> Rp {
    let reply = provider.register(json!({"redirect_uris": [REDIRECT], "client_name": "Logout RP", "scope": "openid profile",
               "backchannel_logout_uri": receiver.url, "backchannel_logout_session_required": true}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["backchannel_logout_uri"], receiver.url.as_str());
    assert_eq!(body["backchannel_logout_session_required"], true);
    Rp::registered(
        body["client_id"].as_str().expect("client_id"),
        body["client_secret"].as_str(),
        ClientAuth::Basic,
        REDIRECT,
    )
}

/// Signs in (in `browser`) and returns the ID token's claims.
async fn id_token_claims(
    provider: &TestProvider,
    browser: &reqwest::Client,
    rp: &Rp,
    extra: &[(&str, Option<&str>)],
    user: (&str, &str),
) -> (String, Value) {
    let flow = provider
        .code_flow_as(browser, rp, "openid profile", extra, user)
        .await;
    let reply = provider.exchange_code(rp, &flow).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let id_token = Tokens::from_reply(&reply).id_token.expect("ID token");
    let claims = unverified_claims(&id_token);
    (id_token, claims)
}

/// §2.6 on the provider's side: signed by a key of its JWKS, typ logout+jwt, the event, no nonce.
async fn verify_logout_token(provider: &TestProvider, token: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("JWS header");
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let jwks = provider.jwks().await;
    let jwk = jwks
        .find(header.kid.as_deref().expect("kid"))
        .expect("kid in the JWKS");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&provider.issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["iss", "aud", "iat", "exp", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_jwk(jwk).expect("key"),
        &validation,
    )
    .expect("the logout token verifies")
    .claims;
    assert_eq!(claims["events"][EVENT], json!({}), "{claims}");
    assert!(claims.get("nonce").is_none(), "{claims}");
    assert!(claims["jti"].as_str().is_some_and(|jti| !jti.is_empty()));
    claims
}

/// GET /end_session with the ID token as hint (trusted: the session ends at once).
async fn end_session(provider: &TestProvider, browser: &reqwest::Client, id_token: &str) {
    let url = format!(
        "{}?{}",
        provider.url("/end_session"),
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("id_token_hint", id_token)
            .finish()
    );
    let reply = provider.get(browser, &url).await;
    assert!(
        reply.status.is_success(),
        "{}: {}",
        reply.status,
        reply.text
    );
}

#[tokio::test]
async fn discovery_and_registration() {
    let provider = spawn_provider().await;
    let document = provider.discovery().await;
    assert_eq!(document["backchannel_logout_supported"], true);
    assert_eq!(document["backchannel_logout_session_supported"], true);
    assert!(
        document["claims_supported"]
            .as_array()
            .expect("claims")
            .contains(&json!("sid"))
    );
    for (context, metadata) in [
        (
            "plain http off loopback",
            json!({"backchannel_logout_uri": "http://rp.example.com/logout"}),
        ),
        (
            "a fragment",
            json!({"backchannel_logout_uri": "https://rp.example.com/logout#x"}),
        ),
        ("not a URL", json!({"backchannel_logout_uri": "logout"})),
        (
            "credentials",
            json!({"backchannel_logout_uri": "https://user:pw@rp.example.com/logout"}),
        ),
        (
            "session required without a URI",
            json!({"backchannel_logout_session_required": true}),
        ),
    ] {
        let mut body = json!({"redirect_uris": [REDIRECT]});
        for (name, value) in metadata.as_object().expect("object") {
            body[name] = value.clone();
        }
        let reply = provider.register(body).await;
        assert_oauth_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            context,
        );
    }
    let off = spawn_provider_with(|config| config.features.backchannel_logout = false).await;
    let document = off.discovery().await;
    assert!(document.get("backchannel_logout_supported").is_none());
    let reply = off.register(json!({"redirect_uris": [REDIRECT], "backchannel_logout_uri": "https://rp.example.com/logout"}),
    )
    .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_client_metadata",
        "feature off",
    );
}

#[tokio::test]
async fn a_logout_at_the_provider_reaches_every_client_of_the_session() {
    let provider = spawn_provider().await;
    let first = Receiver::start(vec![200]).await;
    let second = Receiver::start(vec![204]).await;
    let rp_one = logout_client(&provider, &first).await;
    let rp_two = logout_client(&provider, &second).await;
    let browser = provider.browser();
    let (id_token, claims) = id_token_claims(&provider, &browser, &rp_one, &[], ALICE).await;
    let sid = claims["sid"]
        .as_str()
        .expect("the ID token carries sid")
        .to_owned();
    // The second client signs in silently in the same session: the same sid.
    let (_, second_claims) = id_token_claims(&provider, &browser, &rp_two, &[], ALICE).await;
    assert_eq!(second_claims["sid"], sid.as_str());
    // The same user signing in again (prompt=login) keeps the session's sid.
    let (_, again) = id_token_claims(
        &provider,
        &browser,
        &rp_one,
        &[("prompt", Some("login"))],
        ALICE,
    )
    .await;
    assert_eq!(again["sid"], sid.as_str(), "same user, same SSO session");
    // Another browser's session has another sid.
    let (_, other) = id_token_claims(&provider, &provider.browser(), &rp_one, &[], BOB).await;
    assert_ne!(other["sid"], sid.as_str());

    end_session(&provider, &browser, &id_token).await;
    for (receiver, rp) in [(&first, &rp_one), (&second, &rp_two)] {
        let tokens = receiver.wait_for(1, 10).await;
        assert_eq!(tokens.len(), 1, "one logout token for {}", rp.client_id);
        let logout = verify_logout_token(&provider, &tokens[0], rp.client_id).await;
        assert_eq!(logout["sid"], sid.as_str());
        assert_eq!(logout["sub"], claims["sub"]);
    }
    // Bob's session is untouched; nothing more is sent.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(first.tokens().len(), 1, "bob's session did not end");
}

#[tokio::test]
async fn another_user_signing_in_ends_the_previous_session() {
    let provider = spawn_provider().await;
    let receiver = Receiver::start(vec![200]).await;
    let rp = logout_client(&provider, &receiver).await;
    let browser = provider.browser();
    let (_, alice) = id_token_claims(&provider, &browser, &rp, &[], ALICE).await;
    // Bob signs in in the same browser: alice's session is over, and the client is told.
    let (_, bob) =
        id_token_claims(&provider, &browser, &rp, &[("prompt", Some("login"))], BOB).await;
    assert_ne!(alice["sid"], bob["sid"]);
    let tokens = receiver.wait_for(1, 10).await;
    assert_eq!(tokens.len(), 1);
    let logout = verify_logout_token(&provider, &tokens[0], rp.client_id).await;
    assert_eq!(logout["sid"], alice["sid"]);
}

#[tokio::test]
async fn a_failed_delivery_is_retried_and_an_expired_session_is_told() {
    let (provider, clock) = spawn_provider_with_clock().await;
    // The receiver fails twice, then accepts.
    let receiver = Receiver::start(vec![503, 500, 200]).await;
    let rp = logout_client(&provider, &receiver).await;
    let browser = provider.browser();
    let (id_token, claims) = id_token_claims(&provider, &browser, &rp, &[], ALICE).await;
    end_session(&provider, &browser, &id_token).await;
    assert_eq!(receiver.wait_for(1, 10).await.len(), 1, "first attempt");
    // The retry waits 10 s of the provider's clock, then 60 s.
    clock.advance(11);
    assert_eq!(receiver.wait_for(2, 10).await.len(), 2, "second attempt");
    clock.advance(61);
    let tokens = receiver.wait_for(3, 10).await;
    assert_eq!(tokens.len(), 3, "third attempt, accepted");
    // Each attempt signs a fresh token (a new jti; the first may have expired meanwhile).
    let jtis: Vec<String> = tokens
        .iter()
        .map(|token| unverified_claims(token)["jti"].as_str().unwrap().to_owned())
        .collect();
    assert!(jtis[0] != jtis[1] && jtis[1] != jtis[2], "{jtis:?}");
    assert_eq!(unverified_claims(&tokens[2])["sid"], claims["sid"]);
    clock.advance(3600);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(receiver.tokens().len(), 3, "delivered: never sent again");

    // A session that expires: its client is told too.
    let browser = provider.browser();
    let (_, claims) = id_token_claims(&provider, &browser, &rp, &[], BOB).await;
    clock.advance(8 * 3600 + 60);
    let tokens = receiver.wait_for(4, 10).await;
    assert_eq!(tokens.len(), 4, "the expired session's logout");
    assert_eq!(unverified_claims(&tokens[3])["sid"], claims["sid"]);
}

#[tokio::test]
async fn queued_logouts_survive_a_restart() {
    let mut provider = spawn_provider().await;
    // Nothing listens yet: the first attempt fails and the delivery waits in the database.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let reply = provider
        .register(json!({"redirect_uris": [REDIRECT], "scope": "openid",
               "backchannel_logout_uri": format!("http://127.0.0.1:{port}/logout")}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let body = reply.json();
    let rp = Rp::registered(
        body["client_id"].as_str().expect("client_id"),
        body["client_secret"].as_str(),
        ClientAuth::Basic,
        REDIRECT,
    );
    let browser = provider.browser();
    let flow = provider.code_flow(&browser, &rp, "openid", &[]).await;
    let tokens = Tokens::from_reply(&provider.exchange_code(&rp, &flow).await);
    let sid = unverified_claims(tokens.id_token.as_deref().expect("ID token"))["sid"].clone();
    end_session(
        &provider,
        &browser,
        tokens.id_token.as_deref().expect("ID token"),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    provider.restart().await;
    // Now the receiver listens on that port; the retry (10 s after the failure) reaches it.
    let receiver = Receiver::start_on(port, vec![200]).await;
    let delivered = receiver.wait_for(1, 25).await;
    assert_eq!(
        delivered.len(),
        1,
        "the queued logout was delivered after the restart"
    );
    assert_eq!(unverified_claims(&delivered[0])["sid"], sid);
}

#[tokio::test]
async fn an_operator_sign_out_reaches_the_clients() {
    let provider = spawn_provider().await;
    let receiver = Receiver::start(vec![200]).await;
    let rp = logout_client(&provider, &receiver).await;
    let browser = provider.browser();
    let (_, claims) = id_token_claims(&provider, &browser, &rp, &[], ALICE).await;
    // `provider users sign-out alice`, through the admin module on the same database.
    let lines = users_command(&provider, UsersCommand::SignOut, "alice").await;
    assert!(
        lines[0].contains("1 back-channel logout(s) queued"),
        "{lines:?}"
    );
    let tokens = receiver.wait_for(1, 10).await;
    assert_eq!(tokens.len(), 1);
    let logout = verify_logout_token(&provider, &tokens[0], rp.client_id).await;
    assert_eq!(logout["sid"], claims["sid"]);
    // The browser's session is over: the next authorization asks for the password again.
    let pkce = crate::support::Pkce::new();
    let params = crate::support::authorization_params(&rp, "openid", &pkce, "s", "n");
    let step = provider.start(&browser, &params).await;
    assert!(matches!(step, Step::Login(_)), "{step:?}");
}
