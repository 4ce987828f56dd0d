//! OpenID Connect RP-Initiated Logout 1.0: a trusted request (ID token of the signed-in user)
//! ends the session and returns to the registered post-logout URI with `state`; untrusted ones
//! ask the user first; unregistered or unidentifiable redirect targets and bad hints get an
//! error page, never a redirect.

use reqwest::StatusCode;

use crate::support::{
    BOB, Callback, Pkce, Reply, Rp, TestProvider, Tokens, WEB, WEB_POST_LOGOUT, assert_html_page,
    authorization_params, encode, input_value, owned, page_error_code, spawn_provider,
    with_changes,
};

const SESSION_COOKIE: &str = "oidc_session";

fn end_session_url(provider: &TestProvider, params: &[(&str, &str)]) -> String {
    format!(
        "{}?{}",
        provider.url("/end_session"),
        encode(&owned(params))
    )
}

/// `prompt=none` for demo-web: a code while the SSO session lives, `login_required` after.
async fn silent_authorization(provider: &TestProvider, browser: &reqwest::Client) -> Callback {
    let pkce = Pkce::new();
    let params = with_changes(
        authorization_params(&Rp::web(), "openid", &pkce, "silent-state", "nonce"),
        &[("prompt", Some("none"))],
    );
    provider.start(browser, &params).await.callback()
}

async fn assert_signed_in(provider: &TestProvider, browser: &reqwest::Client, context: &str) {
    let callback = silent_authorization(provider, browser).await;
    assert!(
        callback.param("code").is_some(),
        "{context}: still signed in: {}",
        callback.url
    );
}

async fn assert_signed_out(provider: &TestProvider, browser: &reqwest::Client, context: &str) {
    let callback = silent_authorization(provider, browser).await;
    assert_eq!(
        callback.param("error"),
        Some("login_required"),
        "{context}: {}",
        callback.url
    );
    assert_eq!(callback.param("iss"), Some(provider.issuer.as_str()));
    assert_eq!(callback.param("state"), Some("silent-state"));
    assert_eq!(callback.param("code"), None);
}

/// The session cookie is removed (empty value, expired).
fn assert_session_cookie_cleared(reply: &Reply, context: &str) {
    let cookie = reply
        .set_cookie(SESSION_COOKIE)
        .unwrap_or_else(|| panic!("{context}: no Set-Cookie for {SESSION_COOKIE}"));
    assert!(
        cookie.starts_with(&format!("{SESSION_COOKIE}=;")),
        "{context}: {cookie}"
    );
    assert!(
        cookie.to_ascii_lowercase().contains("max-age=0"),
        "{context}: {cookie}"
    );
}

/// The redirect back to the client after logout.
fn assert_returned_with_state(reply: &Reply, state: &str, context: &str) {
    assert_eq!(
        reply.status,
        StatusCode::SEE_OTHER,
        "{context}: {}",
        reply.text
    );
    let back = Callback::parse(reply.location().expect("Location"));
    assert_eq!(back.endpoint(), WEB_POST_LOGOUT, "{context}");
    assert_eq!(back.param("state"), Some(state), "{context}");
}

/// The confirmation page (RP-Initiated Logout §2: the OP asks when it cannot trust the request).
fn assert_confirmation_page(reply: &Reply, context: &str) {
    assert_html_page(reply, StatusCode::OK, context);
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{context}");
    assert!(
        reply.text.contains("<form method=\"post\""),
        "{context}: {}",
        reply.text
    );
    for button in [
        "name=\"decision\" value=\"logout\"",
        "name=\"decision\" value=\"stay\"",
    ] {
        assert!(reply.text.contains(button), "{context}: {button}");
    }
    assert!(reply.set_cookie(SESSION_COOKIE).is_none(), "{context}");
}

/// Submits the confirmation form with `decision`, optionally tampering with the hidden fields.
async fn confirm(
    provider: &TestProvider,
    browser: &reqwest::Client,
    page: &Reply,
    decision: &str,
    tamper: Option<(&str, &str)>,
) -> Reply {
    let form = provider.form(&page.text);
    let hidden = |name| input_value(&page.text, name).unwrap_or_else(|| panic!("hidden {name}"));
    let (client_id, redirect, state) = (
        hidden("client_id"),
        hidden("post_logout_redirect_uri"),
        hidden("state"),
    );
    let mut pairs = owned(&[
        ("csrf_token", &form.csrf_token),
        ("client_id", &client_id),
        ("post_logout_redirect_uri", &redirect),
        ("state", &state),
        ("decision", decision),
    ]);
    if let Some((name, value)) = tamper {
        pairs = with_changes(pairs, &[(name, Some(value))]);
    }
    provider
        .post_form(browser, &form.action, encode(&pairs))
        .await
}

#[tokio::test]
async fn id_token_hint_of_the_signed_in_user_signs_out_and_returns_with_state() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let (_, tokens) = provider.tokens(&browser, &Rp::web(), "openid", &[]).await;
    let id_token = tokens.id_token.expect("id_token");
    assert_signed_in(&provider, &browser, "after login").await;

    let url = end_session_url(
        &provider,
        &[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", WEB_POST_LOGOUT),
            ("state", "logout-state"),
        ],
    );
    let reply = provider.get(&browser, &url).await;
    assert_returned_with_state(&reply, "logout-state", "trusted logout");
    assert_session_cookie_cleared(&reply, "trusted logout");
    assert_signed_out(&provider, &browser, "after logout").await;

    // No session left: nothing to protect, so the form-encoded POST variant (RP-Initiated
    // Logout §2) goes straight back, and without a redirect URI a signed-out page is shown.
    let body = encode(&owned(&[
        ("id_token_hint", &id_token),
        ("post_logout_redirect_uri", WEB_POST_LOGOUT),
        ("state", "again"),
    ]));
    let reply = provider
        .post_form(&browser, &provider.url("/end_session"), body)
        .await;
    assert_returned_with_state(&reply, "again", "logout without a session (POST)");
    let reply = provider.get(&browser, &provider.url("/end_session")).await;
    assert_html_page(&reply, StatusCode::OK, "bare logout without a session");
    assert!(!reply.text.contains("<form"), "{}", reply.text);
}

#[tokio::test]
async fn untrusted_logout_requests_are_confirmed_or_refused() {
    let provider = spawn_provider().await;
    let alice_browser = provider.browser();
    let (_, alice) = provider
        .tokens(&alice_browser, &Rp::web(), "openid", &[])
        .await;
    let alice_id = alice.id_token.expect("alice's id_token");
    let bob_browser = provider.browser();
    let bob_flow = provider
        .code_flow_as(&bob_browser, &Rp::web(), "openid", &[], BOB)
        .await;
    let bob = Tokens::from_reply(&provider.exchange_code(&Rp::web(), &bob_flow).await);
    let bob_id = bob.id_token.expect("bob's id_token");

    // Refused with an error page: nothing redirects, the session stays.
    let refused: [(Vec<(&str, &str)>, &str); 7] = [
        (
            vec![
                ("id_token_hint", &alice_id),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ],
            "an unregistered post_logout_redirect_uri",
        ),
        (
            vec![
                ("id_token_hint", &alice_id),
                ("post_logout_redirect_uri", "http://127.0.0.1:8082/callback"),
            ],
            "a redirect URI that is not a post-logout one",
        ),
        (
            vec![("post_logout_redirect_uri", WEB_POST_LOGOUT)],
            "post_logout_redirect_uri without id_token_hint or client_id",
        ),
        (
            vec![("id_token_hint", "garbage")],
            "a garbage id_token_hint",
        ),
        (
            vec![
                ("id_token_hint", &alice_id),
                ("client_id", "demo-cli"),
                ("post_logout_redirect_uri", WEB_POST_LOGOUT),
            ],
            "client_id other than the hint's audience",
        ),
        (
            vec![
                ("client_id", WEB),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ],
            "client_id with an unregistered redirect",
        ),
        (
            vec![
                ("client_id", "no-such-client"),
                ("post_logout_redirect_uri", WEB_POST_LOGOUT),
            ],
            "an unknown client_id",
        ),
    ];
    for (params, context) in refused {
        let reply = provider
            .get(&alice_browser, &end_session_url(&provider, &params))
            .await;
        assert_html_page(&reply, StatusCode::BAD_REQUEST, context);
        assert_eq!(
            page_error_code(&reply),
            Some("invalid_request"),
            "{context}"
        );
        assert!(reply.set_cookie(SESSION_COOKIE).is_none(), "{context}");
    }
    assert_signed_in(&provider, &alice_browser, "after refused logouts").await;

    // Bob's ID token in a browser where Alice is signed in: the user confirms first.
    let bob_url = end_session_url(
        &provider,
        &[
            ("id_token_hint", &bob_id),
            ("post_logout_redirect_uri", WEB_POST_LOGOUT),
            ("state", "s2"),
        ],
    );
    let page = provider.get(&alice_browser, &bob_url).await;
    assert_confirmation_page(&page, "id_token_hint of another user than the session's");
    assert_signed_in(&provider, &alice_browser, "the confirmation page alone").await;
    // The form is bound to the session and to the redirect target.
    for (tamper, context) in [
        (("csrf_token", "forged"), "a forged confirmation token"),
        (
            ("post_logout_redirect_uri", "https://evil.example/"),
            "a swapped redirect target",
        ),
        (("state", "another-state"), "a swapped state"),
        (("client_id", "demo-cli"), "a swapped client"),
        (("client_id", ""), "the client removed"),
    ] {
        let reply = confirm(&provider, &alice_browser, &page, "logout", Some(tamper)).await;
        assert_html_page(&reply, StatusCode::BAD_REQUEST, context);
        assert!(reply.set_cookie(SESSION_COOKIE).is_none(), "{context}");
    }
    let other_browser = provider.browser();
    let reply = confirm(&provider, &other_browser, &page, "logout", None).await;
    assert_html_page(
        &reply,
        StatusCode::BAD_REQUEST,
        "the form submitted from another browser",
    );
    // "No" keeps the session.
    let stay = confirm(&provider, &alice_browser, &page, "stay", None).await;
    assert_html_page(&stay, StatusCode::OK, "No, stay signed in");
    assert!(stay.set_cookie(SESSION_COOKIE).is_none());
    assert_signed_in(&provider, &alice_browser, "after choosing to stay").await;

    // Without id_token_hint (client_id names the client): confirmation, and "Yes" ends the
    // session and returns with state.
    let url = end_session_url(
        &provider,
        &[
            ("client_id", WEB),
            ("post_logout_redirect_uri", WEB_POST_LOGOUT),
            ("state", "s1"),
        ],
    );
    let page = provider.get(&alice_browser, &url).await;
    assert_confirmation_page(&page, "logout without id_token_hint");
    let yes = confirm(&provider, &alice_browser, &page, "logout", None).await;
    assert_returned_with_state(&yes, "s1", "confirmed logout");
    assert_session_cookie_cleared(&yes, "confirmed logout");
    assert_signed_out(&provider, &alice_browser, "after the confirmed logout").await;

    // In Bob's own browser his hint is trusted at once.
    let reply = provider.get(&bob_browser, &bob_url).await;
    assert_returned_with_state(&reply, "s2", "Bob's hint in Bob's browser");
    assert_session_cookie_cleared(&reply, "Bob's hint in Bob's browser");
    assert_signed_out(&provider, &bob_browser, "Bob after his logout").await;
}

#[tokio::test]
async fn an_access_token_is_not_an_id_token_hint() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let (_, tokens) = provider.tokens(&browser, &Rp::web(), "openid", &[]).await;
    // RFC 9068 §4 / RFC 8725 §3.11: an at+jwt must not be accepted where an ID token is
    // expected. Without confirmation it would end the session of whoever's token it is.
    let url = end_session_url(&provider, &[("id_token_hint", &tokens.access_token)]);
    let reply = provider.get(&browser, &url).await;
    assert!(
        reply.set_cookie(SESSION_COOKIE).is_none(),
        "an access token as id_token_hint ended the session: {} {}",
        reply.status,
        reply.text
    );
    assert_html_page(
        &reply,
        StatusCode::BAD_REQUEST,
        "access token as id_token_hint",
    );
    assert_signed_in(&provider, &browser, "after the refused hint").await;
}

/// Refresh tokens are issued only for `offline_access` (OIDC Core §11), which by definition
/// outlives the sign-in session: logging out ends the session, and the offline grant keeps
/// working until the user or the client revokes it. (A refresh token tied to the session
/// would be revoked here; this provider issues none.)
#[tokio::test]
async fn logout_ends_the_session_but_not_an_offline_grant() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let rp = Rp::web();
    let (_, tokens) = provider
        .tokens(&browser, &rp, "openid offline_access", &[])
        .await;
    let refresh = tokens
        .refresh_token
        .expect("offline_access gives a refresh token");
    let url = end_session_url(
        &provider,
        &[("id_token_hint", &tokens.id_token.expect("an ID token"))],
    );
    let reply = provider.get(&browser, &url).await;
    assert_eq!(reply.status, StatusCode::OK, "signed out: {}", reply.text);
    assert_eq!(
        silent_authorization(&provider, &browser)
            .await
            .param("error"),
        Some("login_required"),
        "the session is over"
    );
    let refreshed = provider.refresh(&rp, &refresh, None).await;
    assert_eq!(
        refreshed.status,
        StatusCode::OK,
        "the offline grant lives on: {}",
        refreshed.text
    );
    // Without offline_access there is no refresh token at all.
    let (_, online) = provider
        .tokens(&provider.browser(), &rp, "openid", &[])
        .await;
    assert!(online.refresh_token.is_none());
}
