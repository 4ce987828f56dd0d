//! Expiry, with the provider's clock moved by the test instead of sleeping: authorization codes
//! (RFC 6749 §4.1.2, 10 minutes), access tokens at UserInfo (with 30 s of leeway) and refresh
//! tokens (14 days by default).

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
