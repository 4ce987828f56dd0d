//! The pages a browser sees: the login form, device code entry, logout. Refusals are pages,
//! never redirects to somewhere an attacker chose.

use reqwest::StatusCode;

use super::{Attack, Expect, run};
use crate::support::{Pkce, Rp, authorization_params, spawn_provider};

const BAD: StatusCode = StatusCode::BAD_REQUEST;

#[tokio::test]
async fn browser_page_attacks_are_refused() {
    let provider = spawn_provider().await;
    // A live interaction in a victim's browser, whose form an attacker replays elsewhere.
    let victim = provider.browser();
    let params = authorization_params(&Rp::web(), "openid", &Pkce::new(), "st", "n");
    let login = provider.start(&victim, &params).await.login_form();
    let (_, tokens) = provider
        .tokens(&provider.browser(), &Rp::web(), "openid", &[])
        .await;
    let long_name = "a".repeat(65);
    let attacks = vec![
        Attack::get("an unknown interaction", provider.url("/interaction/made-up-id"), BAD, Expect::Page("invalid_request")),
        Attack::form("the login form posted from another browser", login.action.clone(), None, &[("csrf_token", &login.csrf_token), ("username", "alice"), ("password", "alice-password-2026")], BAD, Expect::Page("invalid_request")),
        Attack::form("the login form without its CSRF token", login.action.clone(), None, &[("username", "alice"), ("password", "alice-password-2026")], BAD, Expect::Page("invalid_request")),
        Attack::form("a user name longer than 64 characters", login.action.clone(), None, &[("csrf_token", &login.csrf_token), ("username", &long_name), ("password", "x")], BAD, Expect::Page("invalid_request")),
        Attack::form("a made-up user code", provider.url("/device"), None, &[("user_code", "BBBB-BBBB")], BAD, Expect::Html),
        Attack::form("a user code with letters outside the alphabet", provider.url("/device"), None, &[("user_code", "AEIO-U123")], BAD, Expect::Html),
        Attack::get("logout with a forged id_token_hint", provider.url("/end_session?id_token_hint=eyJhbGciOiJub25lIn0.e30."), BAD, Expect::Page("invalid_request")),
        Attack::get("logout to an unregistered redirect", provider.url("/end_session?client_id=demo-web&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F"), BAD, Expect::Page("invalid_request")),
        Attack::get("logout with an access token as id_token_hint", provider.url(&format!("/end_session?id_token_hint={}", tokens.access_token)), BAD, Expect::Page("invalid_request")),
        Attack::form("a logout confirmation without its token", provider.url("/end_session/confirm"), None, &[("decision", "logout"), ("client_id", "demo-web"), ("post_logout_redirect_uri", "https://evil.example/")], BAD, Expect::Page("invalid_request")),
        Attack::form("a cross-site login post (Origin of another site)", login.action.clone(), None, &[("csrf_token", &login.csrf_token), ("username", "alice"), ("password", "alice-password-2026")], StatusCode::FORBIDDEN, Expect::Status)
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site"),
    ];
    let ran = run(&provider, attacks).await;
    assert!(ran >= 11, "{ran}");
}
