//! Expiry, with the provider's clock moved by the test instead of sleeping: authorization codes
//! (RFC 6749 §4.1.2, 10 minutes), access tokens at UserInfo (with 30 s of leeway) and refresh
//! tokens (14 days idle by default, 30 days at most from the sign-in).

use reqwest::StatusCode;

use crate::support::{Rp, assert_oauth_error, spawn_provider_with_clock};

#[tokio::test]
async fn an_authorization_code_expires_after_ten_minutes() {
    let (provider, clock) = spawn_provider_with_clock().await;
    let browser = provider.browser();
    let rp = Rp::web();
    let fresh = provider.code_flow(&browser, &rp, "openid", &[]).await;
    assert_eq!(
        provider.exchange_code(&rp, &fresh).await.status,
        StatusCode::OK
    );
    let late = provider.code_flow(&browser, &rp, "openid", &[]).await;
    clock.advance(600);
    let reply = provider.exchange_code(&rp, &late).await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "expired code",
    );
    assert!(reply.text.contains("expired"), "{}", reply.text);
}

#[tokio::test]
async fn userinfo_refuses_an_access_token_once_expired_beyond_the_leeway() {
    let (provider, clock) = spawn_provider_with_clock().await;
    let browser = provider.browser();
    let (_, tokens) = provider
        .tokens(&browser, &Rp::web(), "openid profile", &[])
        .await;
    clock.advance(600 + 30);
    assert_eq!(
        provider.userinfo(&tokens.access_token).await.status,
        StatusCode::OK,
        "inside the 30 s leeway"
    );
    clock.advance(1);
    let reply = provider.userinfo(&tokens.access_token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap_or_default()
            .contains("error=\"invalid_token\"")
    );
}

#[tokio::test]
async fn a_refresh_token_expires_after_its_lifetime() {
    let (provider, clock) = spawn_provider_with_clock().await;
    let browser = provider.browser();
    let rp = Rp::web();
    let (_, tokens) = provider
        .tokens(&browser, &rp, "openid offline_access", &[])
        .await;
    let refresh_token = tokens
        .refresh_token
        .expect("offline_access gives a refresh token");
    clock.advance(14 * 24 * 3600);
    let reply = provider.refresh(&rp, &refresh_token, None).await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "expired refresh token",
    );
    assert!(reply.text.contains("expired"), "{}", reply.text);
}

#[tokio::test]
async fn rotation_never_extends_a_grant_beyond_its_absolute_lifetime() {
    let (provider, clock) = spawn_provider_with_clock().await;
    let browser = provider.browser();
    let rp = Rp::web();
    let (_, tokens) = provider
        .tokens(&browser, &rp, "openid offline_access", &[])
        .await;
    let signed_in_at = crate::support::unverified_claims(&tokens.access_token)["auth_time"]
        .as_i64()
        .expect("auth_time");
    let mut refresh_token = tokens.refresh_token.expect("a refresh token");
    // Every 13 days the idle lifetime (14 days) is renewed by rotation ...
    for _ in 0..2 {
        clock.advance(13 * 24 * 3600);
        let reply = provider.refresh(&rp, &refresh_token, None).await;
        let rotated = crate::support::Tokens::from_reply(&reply);
        refresh_token = rotated.refresh_token.expect("a successor");
    }
    // ... but the successor issued on day 26 expires on day 30 (the sign-in plus 30 days), as
    // introspection says.
    let introspected = provider
        .introspect(&rp, &refresh_token, Some("refresh_token"))
        .await
        .json();
    assert_eq!(
        introspected["exp"].as_i64(),
        Some(signed_in_at + 30 * 24 * 3600),
        "{introspected}"
    );
    clock.advance(4 * 24 * 3600);
    let reply = provider.refresh(&rp, &refresh_token, None).await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "a grant past its absolute lifetime",
    );
}
