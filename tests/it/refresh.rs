//! OAuth 2.1 §4.3 refresh tokens: rotation, reuse detection revoking the family (RFC 9700
//! §4.14.2), scope narrowing (RFC 6749 §6), client binding, and code replay revoking what the
//! first redemption issued (RFC 6749 §4.1.2).

use reqwest::StatusCode;

use crate::support::{
    API_AUDIENCE, Rp, TestProvider, Tokens, WEB, assert_json_no_store, assert_oauth_error,
    scope_set, spawn_provider,
};

/// `/userinfo` refuses the token with 401 `invalid_token` (RFC 6750 §3.1).
async fn assert_token_refused(provider: &TestProvider, access_token: &str, context: &str) {
    let reply = provider.userinfo(access_token).await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{context}: {}",
        reply.text
    );
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.contains("error=\"invalid_token\""),
        "{context}: {challenge}"
    );
}

#[tokio::test]
async fn rotation_and_reuse_detection_revoke_the_family() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let rp = Rp::web();
    let scope = "openid offline_access api:read";
    let (_, first) = provider.tokens(&browser, &rp, scope, &[]).await;
    let old = first.refresh_token.clone().expect("refresh token");

    let reply = provider.refresh(&rp, &old, None).await;
    assert_json_no_store(&reply, "refresh response");
    let second = Tokens::from_reply(&reply);
    let new = second
        .refresh_token
        .clone()
        .expect("a rotated refresh token");
    assert_ne!(new, old, "rotation issues a different refresh token");
    assert_ne!(second.access_token, first.access_token);
    assert_eq!(second.json["token_type"], "Bearer");
    assert_eq!(
        scope_set(second.json["scope"].as_str().unwrap()),
        scope_set(scope)
    );
    let (_, claims) = provider
        .verify_jwt(&second.access_token, API_AUDIENCE)
        .await;
    assert_eq!(claims["client_id"], WEB);
    if let Some(id_token) = &second.id_token {
        // OIDC Core §12.2: same iss, sub and aud as the original ID token.
        let (_, original) = provider
            .verify_jwt(first.id_token.as_deref().unwrap(), WEB)
            .await;
        let (_, refreshed) = provider.verify_jwt(id_token, WEB).await;
        assert_eq!(refreshed["sub"], original["sub"]);
        assert_eq!(refreshed["auth_time"], original["auth_time"]);
    }
    assert_eq!(
        provider.userinfo(&second.access_token).await.status,
        StatusCode::OK
    );

    // The rotated-out token is dead, and presenting it is treated as theft.
    let reuse = provider.refresh(&rp, &old, None).await;
    assert_oauth_error(
        &reuse,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "reused refresh token",
    );
    let after = provider.refresh(&rp, &new, None).await;
    assert_oauth_error(
        &after,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "the newest token of a revoked family",
    );
    assert_token_refused(
        &provider,
        &second.access_token,
        "access token of a revoked family",
    )
    .await;
}

#[tokio::test]
async fn refresh_narrows_scope_never_widens_and_is_bound_to_its_client() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let rp = Rp::web();
    let granted = "openid profile offline_access api:read";
    let (_, first) = provider.tokens(&browser, &rp, granted, &[]).await;
    let token = first.refresh_token.clone().expect("refresh token");

    // Narrowing: the response and the access token carry the narrower scope.
    let narrowed =
        Tokens::from_reply(&provider.refresh(&rp, &token, Some("openid api:read")).await);
    assert_eq!(
        scope_set(narrowed.json["scope"].as_str().unwrap()),
        scope_set("openid api:read")
    );
    let (_, claims) = provider
        .verify_jwt(&narrowed.access_token, API_AUDIENCE)
        .await;
    assert_eq!(
        scope_set(claims["scope"].as_str().unwrap()),
        scope_set("openid api:read")
    );
    // Without profile, UserInfo releases only sub.
    let userinfo = provider.userinfo(&narrowed.access_token).await.json();
    assert!(userinfo.get("name").is_none(), "{userinfo}");
    let token = narrowed.refresh_token.expect("rotated refresh token");

    // Widening beyond the original grant is invalid_scope (RFC 6749 §6).
    for (scope, context) in [
        (
            "openid api:write",
            "a scope the client may have but was not granted",
        ),
        ("openid admin", "an unknown scope"),
    ] {
        let reply = provider.refresh(&rp, &token, Some(scope)).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_scope", context);
    }

    // Another client cannot use it, even a registered one.
    let stolen = provider.refresh(&Rp::cli_random_port(), &token, None).await;
    assert_oauth_error(
        &stolen,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "refresh by demo-cli",
    );

    // Omitting scope means the originally granted scope, even after narrowing (RFC 6749 §6).
    let full = Tokens::from_reply(&provider.refresh(&rp, &token, None).await);
    assert_eq!(
        scope_set(full.json["scope"].as_str().unwrap()),
        scope_set(granted)
    );
}

#[tokio::test]
async fn code_replay_revokes_the_tokens_of_the_first_redemption() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let rp = Rp::web();
    let (flow, first) = provider
        .tokens(&browser, &rp, "openid profile offline_access", &[])
        .await;
    let refresh_token = first.refresh_token.clone().expect("refresh token");
    assert_eq!(
        provider.userinfo(&first.access_token).await.status,
        StatusCode::OK
    );

    let replay = provider.exchange_code(&rp, &flow).await;
    assert_oauth_error(
        &replay,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "code replay",
    );

    let refresh = provider.refresh(&rp, &refresh_token, None).await;
    assert_oauth_error(
        &refresh,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "refresh token from the replayed code",
    );
    assert_token_refused(
        &provider,
        &first.access_token,
        "access token from the replayed code",
    )
    .await;

    // Two concurrent redemptions of one code: exactly one wins (the code is one-time even
    // under a race).
    let flow = provider.code_flow(&browser, &rp, "openid", &[]).await;
    let (a, b) = tokio::join!(
        provider.exchange_code(&rp, &flow),
        provider.exchange_code(&rp, &flow)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::BAD_REQUEST],
        "{} / {}",
        a.text,
        b.text
    );
    let loser = if a.status == StatusCode::OK { &b } else { &a };
    assert_oauth_error(
        loser,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "concurrent redemption",
    );
}
