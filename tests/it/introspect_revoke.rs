//! RFC 7662 token introspection and RFC 7009 revocation: client authentication, the RFC 7662
//! §2.2 members of an active answer, exactly `{"active":false}` for everything else, tokens of
//! other clients kept private, `token_type_hint` honoured but not trusted, and revocation of an
//! access token alone or of a refresh token's whole family.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    API_AUDIENCE, ClientAuth, Rp, SERVICE, TestProvider, Tokens, WEB, assert_json_no_store,
    assert_oauth_error, random_token, scope_set, spawn_provider, spawn_provider_with,
};

const USER_SCOPE: &str = "openid offline_access api:read";

/// A 200 introspection answer, checked for `Cache-Control: no-store` (RFC 7662 §2.2 carries
/// token data).
fn introspection(reply: &crate::support::Reply, context: &str) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "{context}: {}", reply.text);
    assert_json_no_store(reply, context);
    reply.json()
}

/// RFC 7662 §2.2: an inactive token is `{"active":false}` and nothing more.
async fn assert_inactive(provider: &TestProvider, rp: &Rp, token: &str, context: &str) {
    for hint in [None, Some("access_token"), Some("refresh_token")] {
        let reply = provider.introspect(rp, token, hint).await;
        let answer = introspection(&reply, context);
        assert_eq!(
            answer,
            json!({"active": false}),
            "{context} (hint {hint:?})"
        );
    }
}

/// RFC 6750 §3.1: `/userinfo` refuses the access token with 401 `invalid_token`.
async fn assert_userinfo_refuses(provider: &TestProvider, access_token: &str, context: &str) {
    let reply = provider.userinfo(access_token).await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{context}: {}",
        reply.text
    );
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
        "{context}: {challenge:?}"
    );
}

/// The refresh request fails with `invalid_grant`.
async fn assert_refresh_refused(provider: &TestProvider, rp: &Rp, token: &str, context: &str) {
    let reply = provider.refresh(rp, token, None).await;
    assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", context);
}

/// A client_credentials access token of demo-service.
async fn service_token(provider: &TestProvider) -> String {
    let reply = provider
        .token_request(
            &Rp::service(),
            &[("grant_type", "client_credentials"), ("scope", "api:read")],
        )
        .await;
    Tokens::from_reply(&reply).access_token
}

#[tokio::test]
async fn introspection_needs_a_confidential_client_and_answers_rfc7662_members() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let web = Rp::web();
    let (_, user) = provider.tokens(&browser, &web, USER_SCOPE, &[]).await;
    let refresh_token = user.refresh_token.clone().expect("refresh token");
    let (_, at_claims) = provider.verify_jwt(&user.access_token, API_AUDIENCE).await;

    // Client authentication (RFC 7662 §2.1): none, wrong, public.
    let anonymous = provider
        .raw_post(
            "/introspect",
            None,
            &[("token".into(), user.access_token.clone())],
        )
        .await;
    assert_oauth_error(
        &anonymous,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "introspection without client authentication",
    );
    assert!(anonymous.header("www-authenticate").is_some());
    for (rp, status, error, context) in [
        (
            Rp::web().with_secret("wrong"),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "wrong secret (Basic)",
        ),
        (
            Rp::web_post().with_secret("wrong"),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "wrong secret (post)",
        ),
        (
            Rp::cli_random_port(),
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "a public client",
        ),
    ] {
        let reply = provider.introspect(&rp, &user.access_token, None).await;
        assert_oauth_error(&reply, status, error, context);
    }
    let no_token = provider
        .client_post("/introspect", &web, &[("token_type_hint", "access_token")])
        .await;
    assert_oauth_error(
        &no_token,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "introspection without token",
    );

    // An active access token: every RFC 7662 §2.2 member, matching the JWT. The hint is only a
    // hint: a wrong one still finds the token.
    for (hint, rp) in [
        (None, Rp::web()),
        (Some("access_token"), Rp::web()),
        (Some("refresh_token"), Rp::web()),
        (Some("id_token"), Rp::web()),
    ] {
        let context = format!("access token, hint {hint:?}");
        let reply = provider.introspect(&rp, &user.access_token, hint).await;
        let answer = introspection(&reply, &context);
        assert_eq!(answer["active"], true, "{context}: {answer}");
        assert_eq!(
            scope_set(answer["scope"].as_str().unwrap_or_default()),
            scope_set(USER_SCOPE),
            "{context}"
        );
        assert_eq!(answer["client_id"], WEB, "{context}");
        assert_eq!(answer["sub"], at_claims["sub"], "{context}");
        assert_eq!(answer["exp"], at_claims["exp"], "{context}");
        assert_eq!(answer["iat"], at_claims["iat"], "{context}");
        assert!(answer["exp"].is_i64() && answer["iat"].is_i64(), "{answer}");
        assert_eq!(answer["iss"], provider.issuer.as_str(), "{context}");
        assert_eq!(answer["aud"], API_AUDIENCE, "{context}");
        assert_eq!(answer["token_type"], "Bearer", "{context}");
        assert_eq!(answer["jti"], at_claims["jti"], "{context}");
    }

    // An active refresh token, with and without a (wrong) hint.
    for hint in [None, Some("refresh_token"), Some("access_token")] {
        let context = format!("refresh token, hint {hint:?}");
        let reply = provider.introspect(&web, &refresh_token, hint).await;
        let answer = introspection(&reply, &context);
        assert_eq!(answer["active"], true, "{context}: {answer}");
        assert_eq!(answer["token_type"], "refresh_token", "{context}");
        assert_eq!(answer["client_id"], WEB, "{context}");
        assert_eq!(answer["sub"], at_claims["sub"], "{context}");
        assert_eq!(answer["iss"], provider.issuer.as_str(), "{context}");
        assert_eq!(
            scope_set(answer["scope"].as_str().unwrap_or_default()),
            scope_set(USER_SCOPE),
            "{context}"
        );
        assert!(answer["exp"].is_i64(), "{context}: {answer}");
    }

    // Unknown and malformed tokens.
    let (header, payload, signature) = {
        let mut parts = user.access_token.split('.');
        (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        )
    };
    let forged_signature = format!("{header}.{payload}.{}", &signature[..signature.len() - 4]);
    let unsigned = format!("{header}.{payload}.");
    for (token, context) in [
        (random_token(), "an unknown opaque token"),
        ("garbage".to_owned(), "garbage"),
        ("a.b.c".to_owned(), "three dots of nothing"),
        (forged_signature, "an access token with a broken signature"),
        (unsigned, "an access token without its signature"),
        (
            user.id_token.clone().expect("id_token"),
            "an ID token (not typ at+jwt)",
        ),
    ] {
        assert_inactive(&provider, &web, &token, context).await;
    }

    // Other clients' tokens stay private (RFC 7662 §2.1 leaves it to the server; this one
    // answers inactive to anyone but the owner).
    let service_access = service_token(&provider).await;
    assert_inactive(
        &provider,
        &Rp::service(),
        &user.access_token,
        "demo-service asks about demo-web's access token",
    )
    .await;
    assert_inactive(
        &provider,
        &Rp::service(),
        &refresh_token,
        "demo-service asks about demo-web's refresh token",
    )
    .await;
    assert_inactive(
        &provider,
        &web,
        &service_access,
        "demo-web asks about demo-service's token",
    )
    .await;
    let own = provider
        .introspect(&Rp::service(), &service_access, None)
        .await;
    let own = introspection(&own, "demo-service's own token");
    assert_eq!(own["active"], true, "{own}");
    assert_eq!(own["sub"], SERVICE, "{own}");
    assert_eq!(own["client_id"], SERVICE, "{own}");
    let reply = provider
        .revoke(&Rp::service(), &service_access, Some("access_token"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_inactive(
        &provider,
        &Rp::service(),
        &service_access,
        "a revoked client_credentials token",
    )
    .await;

    // A rotated-out refresh token is no longer active; its successor is.
    let rotated = Tokens::from_reply(&provider.refresh(&web, &refresh_token, None).await);
    let successor = rotated.refresh_token.expect("rotated refresh token");
    assert_inactive(
        &provider,
        &web,
        &refresh_token,
        "a rotated-out refresh token",
    )
    .await;
    let answer = introspection(
        &provider.introspect(&web, &successor, None).await,
        "the successor",
    );
    assert_eq!(answer["active"], true, "{answer}");
}

#[tokio::test]
async fn expired_access_tokens_are_inactive() {
    // Access tokens that expire the second they are minted: exp == iat, no sleeping.
    let provider = spawn_provider_with(|config| config.lifetimes.access_token = 0).await;
    let expired = service_token(&provider).await;
    assert_inactive(
        &provider,
        &Rp::service(),
        &expired,
        "an expired access token",
    )
    .await;
}

#[tokio::test]
async fn revocation_of_access_tokens_and_refresh_token_families() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let web = Rp::web();
    // One login; the later grants reuse the SSO session and the remembered consent.
    let (_, first) = provider.tokens(&browser, &web, USER_SCOPE, &[]).await;

    // Client authentication is checked before anything else.
    for (rp, context) in [
        (Rp::web().with_secret("wrong"), "wrong secret (Basic)"),
        (Rp::web_post().with_secret("wrong"), "wrong secret (post)"),
    ] {
        let reply = provider.revoke(&rp, &first.access_token, None).await;
        assert_oauth_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client", context);
    }
    let anonymous = provider
        .raw_post(
            "/revoke",
            None,
            &[("token".into(), first.access_token.clone())],
        )
        .await;
    assert_oauth_error(
        &anonymous,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "revocation without client authentication",
    );
    let no_token = provider.client_post("/revoke", &web, &[]).await;
    assert_oauth_error(
        &no_token,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "revocation without token",
    );
    assert_eq!(
        provider.userinfo(&first.access_token).await.status,
        StatusCode::OK,
        "failed revocations revoke nothing"
    );

    // RFC 7009 §2.2: unknown tokens and other clients' tokens get 200 and nothing happens.
    for (rp, token, context) in [
        (Rp::web(), random_token(), "an unknown token"),
        (
            Rp::service(),
            first.access_token.clone(),
            "demo-service revokes demo-web's access token",
        ),
        (
            Rp::service(),
            first.refresh_token.clone().unwrap(),
            "demo-service revokes demo-web's refresh token",
        ),
        (
            Rp::cli_random_port(),
            first.refresh_token.clone().unwrap(),
            "demo-cli revokes demo-web's refresh token",
        ),
    ] {
        let reply = provider.revoke(&rp, &token, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{context}: {}", reply.text);
    }
    for token in [&first.access_token, first.refresh_token.as_ref().unwrap()] {
        let answer = introspection(
            &provider.introspect(&web, token, None).await,
            "after foreign revocations",
        );
        assert_eq!(
            answer["active"], true,
            "another client's revocation has no effect"
        );
    }

    // Revoking the access token (with a wrong hint: still found) kills that token only.
    let reply = provider
        .revoke(&web, &first.access_token, Some("refresh_token"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_inactive(
        &provider,
        &web,
        &first.access_token,
        "a revoked access token",
    )
    .await;
    assert_userinfo_refuses(&provider, &first.access_token, "a revoked access token").await;
    let again = provider.revoke(&web, &first.access_token, None).await;
    assert_eq!(again.status, StatusCode::OK, "revoking twice is fine");

    // Revoking the newest refresh token revokes the family: the token, and the access tokens
    // issued from the grant before and after rotation.
    let (_, second) = provider.tokens(&browser, &web, USER_SCOPE, &[]).await;
    let rotated = Tokens::from_reply(
        &provider
            .refresh(&web, second.refresh_token.as_ref().unwrap(), None)
            .await,
    );
    let newest = rotated
        .refresh_token
        .clone()
        .expect("rotated refresh token");
    let reply = provider
        .revoke(&Rp::web(), &newest, Some("refresh_token"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_refresh_refused(&provider, &web, &newest, "a revoked refresh token").await;
    assert_inactive(&provider, &web, &newest, "a revoked refresh token").await;
    for (token, context) in [
        (&second.access_token, "access token issued with the code"),
        (&rotated.access_token, "access token issued by the refresh"),
    ] {
        assert_userinfo_refuses(&provider, token, context).await;
        assert_inactive(&provider, &web, token, context).await;
    }

    // Revoking the original refresh token after it was rotated also kills its successor.
    let (_, third) = provider.tokens(&browser, &web, USER_SCOPE, &[]).await;
    let original = third.refresh_token.clone().unwrap();
    let rotated = Tokens::from_reply(&provider.refresh(&web, &original, None).await);
    let successor = rotated.refresh_token.clone().unwrap();
    let reply = provider.revoke(&web, &original, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_refresh_refused(
        &provider,
        &web,
        &successor,
        "refresh token rotated from a revoked one",
    )
    .await;
    assert_refresh_refused(&provider, &web, &original, "the revoked refresh token").await;
    assert_userinfo_refuses(
        &provider,
        &rotated.access_token,
        "access token of the family",
    )
    .await;
    assert_userinfo_refuses(&provider, &third.access_token, "access token of the family").await;

    // A public client revokes its own tokens with client_id only (and a wrong hint).
    let cli = Rp::cli_random_port();
    assert_eq!(cli.auth, ClientAuth::None);
    let (_, native) = provider
        .tokens(&browser, &cli, "openid offline_access", &[])
        .await;
    let native_refresh = native.refresh_token.clone().expect("refresh token");
    let reply = provider
        .revoke(&cli, &native_refresh, Some("access_token"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_refresh_refused(&provider, &cli, &native_refresh, "demo-cli's revoked token").await;
    assert_userinfo_refuses(&provider, &native.access_token, "demo-cli's access token").await;
}
