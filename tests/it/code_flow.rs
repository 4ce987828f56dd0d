//! RFC 6749 §4.1 + RFC 7636 + OIDC Core §3.1 authorization code flow, end to end, as an
//! independent relying party: callback parameters, token response on the wire, ID token and
//! RFC 9068 access token verified against the JWKS, SSO and `prompt`, consent, refresh tokens
//! only with `offline_access`, RFC 8707 resource indicators.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{
    ALICE, API_AUDIENCE, CLI, Pkce, Rp, Step, TestProvider, Tokens, WEB, assert_json_no_store,
    audiences, authorization_params, random_token, scope_set, spawn_provider, with_changes,
};

fn now() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(elapsed.as_secs()).expect("seconds fit in i64")
}

fn int(claims: &Value, name: &str) -> i64 {
    claims[name]
        .as_i64()
        .unwrap_or_else(|| panic!("{name} is a NumericDate: {claims}"))
}

/// OIDC Core §3.1.3.6: base64url of the left half of SHA-256 of the access token (RS256).
fn at_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(access_token.as_bytes())[..16])
}

/// The raw token response of a code exchange (RFC 6749 §5.1), checked on the wire.
fn check_token_response(tokens: &Tokens, scope: &str) {
    let json = &tokens.json;
    assert!(json["access_token"].is_string(), "{json}");
    assert_eq!(json["token_type"], "Bearer", "{json}");
    let expires_in = json["expires_in"].as_u64().expect("expires_in is a number");
    assert!(expires_in > 0 && expires_in <= 3600, "{json}");
    assert_eq!(
        scope_set(json["scope"].as_str().expect("scope is sent")),
        scope_set(scope)
    );
}

/// Verifies the ID token (OIDC Core §3.1.3.7) and returns its claims.
async fn check_id_token(
    provider: &TestProvider,
    tokens: &Tokens,
    client_id: &str,
    nonce: &str,
) -> Value {
    let id_token = tokens
        .id_token
        .as_deref()
        .expect("id_token for scope openid");
    let (header, claims) = provider.verify_jwt(id_token, client_id).await;
    assert_eq!(
        header.alg,
        jsonwebtoken::Algorithm::RS256,
        "registered id_token alg"
    );
    assert_eq!(claims["iss"], provider.issuer.as_str());
    assert_eq!(audiences(&claims), [client_id]);
    let (iat, exp, auth_time) = (
        int(&claims, "iat"),
        int(&claims, "exp"),
        int(&claims, "auth_time"),
    );
    let now = now();
    assert!((now - 60..=now + 5).contains(&iat), "iat {iat} now {now}");
    assert!(exp > iat, "exp after iat");
    assert!(
        auth_time <= iat && auth_time > now - 600,
        "auth_time {auth_time}"
    );
    assert_eq!(claims["nonce"], nonce, "nonce echoed");
    assert_eq!(claims["at_hash"], at_hash(&tokens.access_token).as_str());
    let sub = claims["sub"].as_str().expect("sub");
    assert!(
        !sub.is_empty() && sub != "alice",
        "sub is an opaque id, not the login name: {sub}"
    );
    claims
}

/// Verifies the RFC 9068 access token and returns its claims.
async fn check_access_token(
    provider: &TestProvider,
    tokens: &Tokens,
    client_id: &str,
    audience: &str,
    scope: &str,
) -> Value {
    let (header, claims) = provider.verify_jwt(&tokens.access_token, audience).await;
    let typ = header.typ.as_deref().unwrap_or_default();
    assert!(
        typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt"),
        "RFC 9068 §2.1 typ, got {typ:?}"
    );
    assert_eq!(claims["iss"], provider.issuer.as_str());
    assert_eq!(audiences(&claims), [audience]);
    assert!(int(&claims, "exp") > int(&claims, "iat"));
    assert!(claims["jti"].as_str().is_some_and(|jti| !jti.is_empty()));
    assert_eq!(claims["client_id"], client_id);
    assert_eq!(
        scope_set(claims["scope"].as_str().expect("scope claim")),
        scope_set(scope)
    );
    claims
}

#[tokio::test]
async fn confidential_client_gets_verified_tokens_then_sso_and_prompt() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let rp = Rp::web();
    let scope = "openid profile email api:read";

    let flow = provider.code_flow(&browser, &rp, scope, &[]).await;
    assert!(flow.saw_login, "a new browser must log in");
    assert!(
        !flow.saw_consent,
        "first-party client without offline_access skips consent"
    );
    assert_eq!(flow.state, flow.sent_state, "state echoed");
    assert_eq!(flow.iss, provider.issuer, "RFC 9207 iss");
    assert_eq!(flow.redirect_uri, rp.redirect_uri);

    let reply = provider.exchange_code(&rp, &flow).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_json_no_store(&reply, "token response");
    let tokens = Tokens::from_reply(&reply);
    check_token_response(&tokens, scope);
    assert!(
        tokens.json.get("refresh_token").is_none(),
        "no refresh token without offline_access"
    );

    let id_claims = check_id_token(&provider, &tokens, WEB, &flow.nonce).await;
    let at_claims = check_access_token(&provider, &tokens, WEB, API_AUDIENCE, scope).await;
    assert_eq!(
        at_claims["sub"], id_claims["sub"],
        "same subject in both tokens"
    );

    // SSO: the same browser is not asked to log in again, and auth_time is the original login.
    let again = provider.code_flow(&browser, &rp, "openid", &[]).await;
    assert!(!again.saw_login && !again.saw_consent);
    let again_tokens = Tokens::from_reply(&provider.exchange_code(&rp, &again).await);
    let again_claims = check_id_token(&provider, &again_tokens, WEB, &again.nonce).await;
    assert_eq!(again_claims["auth_time"], id_claims["auth_time"]);
    assert_eq!(again_claims["sub"], id_claims["sub"]);

    // prompt=none with a live session returns a code without any page.
    let silent = provider
        .code_flow(&browser, &rp, "openid", &[("prompt", Some("none"))])
        .await;
    assert!(!silent.saw_login && !silent.saw_consent);
    Tokens::from_reply(&provider.exchange_code(&rp, &silent).await);

    // prompt=login shows the login form despite the session.
    let params = |prompt: &str| {
        with_changes(
            authorization_params(&rp, "openid profile", &Pkce::new(), "st-prompt", "n"),
            &[("prompt", Some(prompt))],
        )
    };
    provider
        .start(&browser, &params("login"))
        .await
        .login_form();

    // prompt=consent shows the consent page with Allow and Deny; Deny is access_denied.
    let consent = provider
        .start(&browser, &params("consent"))
        .await
        .consent_form();
    assert!(
        consent.html.contains("name=\"decision\" value=\"allow\""),
        "{}",
        consent.html
    );
    assert!(
        consent.html.contains("name=\"decision\" value=\"deny\""),
        "{}",
        consent.html
    );
    assert!(
        consent.html.contains("profile"),
        "requested scopes are listed"
    );
    let denied = provider.consent(&browser, &consent, false).await.callback();
    assert_eq!(denied.endpoint(), rp.redirect_uri);
    assert_eq!(denied.param("error"), Some("access_denied"));
    assert!(denied.param("error_description").is_some());
    assert_eq!(denied.param("state"), Some("st-prompt"));
    assert_eq!(denied.param("iss"), Some(provider.issuer.as_str()));
    assert_eq!(denied.param("code"), None);

    // prompt=none when consent would be needed (offline_access, never granted): consent_required.
    let silent_offline = with_changes(
        authorization_params(&rp, "openid offline_access", &Pkce::new(), "st-none", "n"),
        &[("prompt", Some("none"))],
    );
    let refused = provider.start(&browser, &silent_offline).await.callback();
    assert_eq!(refused.param("error"), Some("consent_required"));
    assert_eq!(refused.param("state"), Some("st-none"));
    assert_eq!(refused.param("iss"), Some(provider.issuer.as_str()));
    assert_eq!(refused.param("code"), None);
}

#[tokio::test]
async fn max_age_bounds_the_age_of_the_sso_login() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let rp = Rp::web();
    let first = provider.code_flow(&browser, &rp, "openid", &[]).await;
    assert!(first.saw_login);

    // OIDC Core §3.1.2.1 (errata set 2, WG issue #993): max_age=0 is equivalent to
    // prompt=login, however recent the session is. Asked right after the login, so usually
    // within the same second as auth_time; judged at the end of the test.
    let zero = with_changes(
        authorization_params(&rp, "openid", &Pkce::new(), "st-max-age", "n"),
        &[("max_age", Some("0"))],
    );
    let zero_step = provider.start(&browser, &zero).await;
    let first_tokens = Tokens::from_reply(&provider.exchange_code(&rp, &first).await);
    let first_claims = check_id_token(&provider, &first_tokens, WEB, &first.nonce).await;

    // A generous max_age is satisfied by the session; auth_time is in the ID token.
    let recent = provider
        .code_flow(&browser, &rp, "openid", &[("max_age", Some("3600"))])
        .await;
    assert!(!recent.saw_login, "a fresh session satisfies max_age=3600");
    let tokens = Tokens::from_reply(&provider.exchange_code(&rp, &recent).await);
    let claims = check_id_token(&provider, &tokens, WEB, &recent.nonce).await;
    assert_eq!(
        claims["auth_time"], first_claims["auth_time"],
        "the SSO login's time"
    );

    let form = match zero_step {
        Step::Login(form) => form,
        Step::Callback(callback) => panic!(
            "max_age=0 must force a new login (it is prompt=login), but the SSO session was \
             reused and the browser was sent to {}",
            callback.url
        ),
        other => panic!("max_age=0: expected the login form, got {other:?}"),
    };
    let callback = provider.login(&browser, &form, ALICE).await.callback();
    assert_eq!(callback.param("state"), Some("st-max-age"));
    assert!(callback.param("code").is_some(), "{}", callback.url);
}

#[tokio::test]
async fn public_native_client_uses_any_loopback_port() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let rp = Rp::cli_random_port();
    let scope = "openid profile";

    let flow = provider.code_flow(&browser, &rp, scope, &[]).await;
    assert!(flow.saw_login);
    assert_eq!(
        flow.redirect_uri, rp.redirect_uri,
        "the code goes to the port the app asked for"
    );
    assert_eq!(flow.state, flow.sent_state);
    assert_eq!(flow.iss, provider.issuer);

    let reply = provider.exchange_code(&rp, &flow).await;
    assert_json_no_store(&reply, "public client token response");
    let tokens = Tokens::from_reply(&reply);
    check_token_response(&tokens, scope);
    assert!(tokens.refresh_token.is_none());
    let id_claims = check_id_token(&provider, &tokens, CLI, &flow.nonce).await;
    let at_claims = check_access_token(&provider, &tokens, CLI, API_AUDIENCE, scope).await;
    assert_eq!(at_claims["sub"], id_claims["sub"]);

    // Another run of the app picks another port: still accepted (RFC 8252 §7.3).
    let other = Rp::cli_random_port();
    let second = provider.code_flow(&browser, &other, "openid", &[]).await;
    assert_eq!(second.redirect_uri, other.redirect_uri);
    let second_tokens = Tokens::from_reply(&provider.exchange_code(&other, &second).await);
    check_id_token(&provider, &second_tokens, CLI, &second.nonce).await;
}

#[tokio::test]
async fn offline_access_is_consented_then_yields_a_refresh_token() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    // client_secret_post this time.
    let rp = Rp::web();
    let scope = "openid offline_access";
    let pkce = Pkce::new();
    let state = random_token();
    let nonce = random_token();
    let params = authorization_params(&rp, scope, &pkce, &state, &nonce);

    let login = provider.start(&browser, &params).await.login_form();
    let consent = provider.login(&browser, &login, ALICE).await.consent_form();
    assert!(
        consent.html.contains("offline_access"),
        "the consent page names offline_access"
    );
    let callback = provider.consent(&browser, &consent, true).await.callback();
    assert_eq!(callback.param("state"), Some(state.as_str()));
    assert_eq!(callback.param("iss"), Some(provider.issuer.as_str()));
    let code = callback.param("code").expect("code");

    let reply = provider
        .token_request(
            &rp,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &rp.redirect_uri),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await;
    let tokens = Tokens::from_reply(&reply);
    check_token_response(&tokens, scope);
    let refresh_token = tokens
        .refresh_token
        .as_deref()
        .expect("refresh_token with offline_access");
    assert!(
        refresh_token.len() >= 32,
        "refresh token has enough entropy"
    );
    check_id_token(&provider, &tokens, WEB, &nonce).await;

    // The consent is remembered: the next request with offline_access asks nothing.
    let again = provider.code_flow(&browser, &rp, scope, &[]).await;
    assert!(!again.saw_login && !again.saw_consent);
    let again_tokens = Tokens::from_reply(&provider.exchange_code(&rp, &again).await);
    assert!(again_tokens.refresh_token.is_some());
    assert_ne!(again_tokens.refresh_token.as_deref(), Some(refresh_token));
}

#[tokio::test]
async fn resource_indicator_sets_the_audience_and_unknown_resources_are_refused() {
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
    let tokens = Tokens::from_reply(&provider.exchange_code(&rp, &flow).await);
    check_access_token(&provider, &tokens, WEB, API_AUDIENCE, "openid api:read").await;

    let params = with_changes(
        authorization_params(&rp, "openid", &Pkce::new(), "st-target", "n"),
        &[("resource", Some("https://evil.example/api"))],
    );
    let reply = provider
        .get(&browser, &provider.authorize_url(&params))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let callback = match provider.follow(&browser, reply).await {
        Step::Callback(callback) => callback,
        other => panic!("expected an error redirect, got {other:?}"),
    };
    assert_eq!(callback.endpoint(), rp.redirect_uri);
    assert_eq!(callback.param("error"), Some("invalid_target"));
    assert_eq!(callback.param("state"), Some("st-target"));
    assert_eq!(callback.param("iss"), Some(provider.issuer.as_str()));
    assert_eq!(callback.param("code"), None);
}
