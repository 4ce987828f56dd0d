//! The refresh-token grace window (`refresh_grace_secs`): a just-rotated refresh token may be
//! presented once more by its own client (two tabs refreshing at the same time); the second
//! reuse is theft and revokes the family (RFC 9700 §4.14.2). Off by default.

use reqwest::StatusCode;

use crate::support::{
    Rp, TestProvider, Tokens, assert_oauth_error, spawn_provider, spawn_provider_with,
};

const SCOPE: &str = "openid offline_access api:read";

async fn assert_refused(provider: &TestProvider, rp: &Rp, token: &str, context: &str) {
    let reply = provider.refresh(rp, token, None).await;
    assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", context);
}

#[tokio::test]
async fn grace_window_allows_one_reuse_by_the_same_client() {
    let provider = spawn_provider_with(|config| config.refresh_grace_secs = 30).await;
    let browser = provider.browser();
    let web = Rp::web();
    let (_, first) = provider.tokens(&browser, &web, SCOPE, &[]).await;
    let original = first.refresh_token.expect("refresh token");

    let rotated = Tokens::from_reply(&provider.refresh(&web, &original, None).await);
    let successor = rotated.refresh_token.clone().expect("rotated");

    // Another client presenting it is refused and does not spend the grace.
    let stolen = provider
        .refresh(&Rp::cli_random_port(), &original, None)
        .await;
    assert_oauth_error(
        &stolen,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "the token of another client",
    );

    // The same client, once more, inside the window: tokens again, with a new refresh token.
    let reply = provider.refresh(&web, &original, None).await;
    assert_eq!(reply.status, StatusCode::OK, "grace reuse: {}", reply.text);
    let grace = Tokens::from_reply(&reply);
    let grace_refresh = grace.refresh_token.clone().expect("a refresh token");
    assert!(
        grace_refresh != original && grace_refresh != successor,
        "a fresh refresh token"
    );
    assert_eq!(
        provider.userinfo(&grace.access_token).await.status,
        StatusCode::OK
    );

    // A second reuse is theft: the whole family goes.
    assert_refused(&provider, &web, &original, "second reuse inside the window").await;
    for (token, context) in [
        (&successor, "the regular successor"),
        (&grace_refresh, "the token issued in the grace window"),
    ] {
        assert_refused(&provider, &web, token, context).await;
    }
    for (token, context) in [
        (&rotated.access_token, "access token of the successor"),
        (&grace.access_token, "access token of the grace reuse"),
    ] {
        let reply = provider.userinfo(token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{context}");
    }
}

#[tokio::test]
async fn without_a_grace_window_the_first_reuse_revokes_the_family() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let web = Rp::web();
    let (_, first) = provider.tokens(&browser, &web, SCOPE, &[]).await;
    let original = first.refresh_token.expect("refresh token");
    let rotated = Tokens::from_reply(&provider.refresh(&web, &original, None).await);
    assert_refused(
        &provider,
        &web,
        &original,
        "reuse with the default grace of 0",
    )
    .await;
    assert_refused(
        &provider,
        &web,
        rotated.refresh_token.as_deref().unwrap(),
        "the successor after the reuse",
    )
    .await;
}
