//! The login page of an authorization interaction: the form, the synchroniser token, the
//! binding to the browser that started the interaction (login CSRF), uniform failures (no user
//! enumeration) and the cookie flags.

use reqwest::StatusCode;

use crate::authorize_errors::{STATE, request};
use crate::support::{ALICE, LOGIN_FAILED, Reply, Rp, encode, owned, spawn_provider};

fn assert_cookie_flags(cookie: &str, name: &str) {
    let lower = cookie.to_ascii_lowercase();
    let attributes: Vec<&str> = lower.split(';').map(str::trim).collect();
    assert!(
        attributes.contains(&"httponly"),
        "{name} is HttpOnly: {cookie}"
    );
    assert!(
        attributes.contains(&"samesite=lax"),
        "{name} is SameSite=Lax: {cookie}"
    );
    assert!(
        attributes.contains(&"path=/"),
        "{name} has Path=/: {cookie}"
    );
}

/// The `<p class="error" …>` text of a login page.
fn error_message(reply: &Reply) -> String {
    let start = reply
        .text
        .find("class=\"error\"")
        .expect("an error paragraph");
    let text = &reply.text[start..];
    let open = text.find('>').expect("end of the <p> tag") + 1;
    let close = text.find("</p>").expect("</p>");
    text[open..close].trim().to_owned()
}

fn login_body(csrf_token: &str, (username, password): (&str, &str)) -> String {
    encode(&owned(&[
        ("csrf_token", csrf_token),
        ("username", username),
        ("password", password),
    ]))
}

#[tokio::test]
async fn login_form_is_csrf_protected_bound_to_the_browser_and_uniform_on_failure() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let params = request(&Rp::web(), &[]);

    let start = provider
        .get(&browser, &provider.authorize_url(&params))
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let interaction = start
        .location()
        .expect("redirect to the interaction")
        .to_owned();
    assert!(interaction.starts_with("/interaction/"), "{interaction}");
    let browser_cookie = start
        .set_cookie("oidc_browser")
        .expect("oidc_browser cookie");
    assert_cookie_flags(&browser_cookie, "oidc_browser");

    let page = provider.get(&browser, &provider.url(&interaction)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(
        page.header("x-frame-options"),
        Some("DENY"),
        "no framing of the login page"
    );
    for needle in [
        "<form method=\"post\"",
        "name=\"username\"",
        "name=\"password\"",
        "type=\"password\"",
        "type=\"hidden\" name=\"csrf_token\"",
    ] {
        assert!(
            page.text.contains(needle),
            "login page has {needle}: {}",
            page.text
        );
    }
    let form = provider.form(&page.text);
    assert!(form.csrf_token.len() >= 32, "csrf_token is random");

    // Wrong password and unknown user: the same page, the same message, no session, no code.
    let mut messages = Vec::new();
    for credentials in [
        ("alice", "wrong-password"),
        ("mallory", "alice-password-2026"),
    ] {
        let reply = provider
            .post_form(
                &browser,
                &form.action,
                login_body(&form.csrf_token, credentials),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{credentials:?}: {}",
            reply.text
        );
        assert_eq!(reply.location(), None, "{credentials:?}");
        assert_eq!(
            reply.set_cookie("oidc_session"),
            None,
            "{credentials:?}: no session"
        );
        assert!(
            reply.text.contains("name=\"password\""),
            "the form is shown again"
        );
        messages.push(error_message(&reply));
    }
    assert_eq!(messages[0], LOGIN_FAILED);
    assert_eq!(messages[0], messages[1], "no user enumeration");

    // Forged or missing synchroniser token, from the right browser, with the right password.
    for (name, body) in [
        ("wrong csrf_token", login_body("forged-token", ALICE)),
        (
            "missing csrf_token",
            encode(&owned(&[("username", ALICE.0), ("password", ALICE.1)])),
        ),
    ] {
        let reply = provider.post_form(&browser, &form.action, body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            reply.text
        );
        assert_eq!(reply.location(), None, "{name}");
        assert_eq!(reply.set_cookie("oidc_session"), None, "{name}");
    }

    // The right token from another browser (no oidc_browser cookie): login CSRF refused.
    let other = provider.browser();
    let reply = provider
        .post_form(&other, &form.action, login_body(&form.csrf_token, ALICE))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.set_cookie("oidc_session"), None);
    assert_eq!(reply.location(), None);

    // A cross-site form post (browser metadata says so) is refused before anything else.
    let cross_site = browser
        .post(&form.action)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .header("origin", "http://evil.example")
        .body(login_body(&form.csrf_token, ALICE))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert!(cross_site.headers().get("set-cookie").is_none());

    // The interaction survived all of that: the real login succeeds.
    let reply = provider
        .post_form(&browser, &form.action, login_body(&form.csrf_token, ALICE))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    let session_cookie = reply
        .set_cookie("oidc_session")
        .expect("oidc_session cookie");
    assert_cookie_flags(&session_cookie, "oidc_session");
    let callback = provider.follow(&browser, reply).await.callback();
    assert!(callback.param("code").is_some(), "{}", callback.url);
    assert_eq!(callback.param("state"), Some(STATE));

    // The completed interaction cannot be replayed.
    let replay = provider
        .post_form(&browser, &form.action, login_body(&form.csrf_token, ALICE))
        .await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.text);
    assert_eq!(replay.location(), None);
}
