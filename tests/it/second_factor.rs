//! Two-step verification with an authenticator app (RFC 6238 TOTP), against a running
//! provider: enrolment on the account page (QR code, manual key, first code, ten recovery
//! codes shown once), the second step at sign-in, replayed and wrong codes refused and
//! throttled, recovery codes used once, `amr`/`acr` in ID tokens, `acr_values=2` step-up, turning
//! it off with a code, and `provider users reset-mfa`.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    ALICE, BOB, Form, Rp, Step, TestProvider, Tokens, UsersCommand, encode, owned, spawn_provider,
    unverified_claims, users_command,
};

/// The TOTP code for `secret` at `at` (unix seconds).
fn code(secret: &[u8], at: i64) -> String {
    provider::protocol::totp::code_at(secret, provider::protocol::types::UnixTime(at))
        .expect("a code")
}

async fn submit(
    provider: &TestProvider,
    browser: &reqwest::Client,
    form: &Form,
    fields: &[(&str, &str)],
) -> crate::support::Reply {
    let mut pairs = owned(&[("csrf_token", &form.csrf_token)]);
    pairs.extend(owned(fields));
    provider
        .post_form(browser, &form.action, encode(&pairs))
        .await
}

/// `/account` in `browser`, signing in as `user` first when asked; returns the account page.
async fn account_page(
    provider: &TestProvider,
    browser: &reqwest::Client,
    user: (&str, &str),
) -> String {
    let reply = provider.get(browser, &provider.url("/account")).await;
    match provider.follow(browser, reply).await {
        Step::Login(form) => match provider.login(browser, &form, user).await {
            Step::Page(reply) => {
                assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
                reply.text
            }
            other => panic!("expected the account page after signing in, got {other:?}"),
        },
        Step::Page(reply) => reply.text,
        other => panic!("expected the account page, got {other:?}"),
    }
}

/// Enrols alice's authenticator app; returns its secret, the recovery codes and the time of
/// the code used.
async fn enrol(provider: &TestProvider, browser: &reqwest::Client) -> (Vec<u8>, Vec<String>, i64) {
    let account = account_page(provider, browser, ALICE).await;
    assert!(account.contains("Set up an authenticator app"), "{account}");
    let setup = provider.get(browser, &provider.url("/account/totp")).await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.text);
    assert!(setup.text.contains("<svg"), "a server-rendered QR code");
    let shown = setup
        .text
        .split("<code class=\"key\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the manual key")
        .to_owned();
    let key = shown.replace(' ', "");
    let secret = totp_rs::Secret::try_from_base32(&key)
        .expect("base32")
        .as_bytes()
        .to_vec();
    let form = provider.form(&setup.text);
    // A wrong first code keeps the page, with the same secret.
    let wrong = submit(provider, browser, &form, &[("code", "000000")]).await;
    assert!(
        wrong.text.contains("not the one the app shows"),
        "{}",
        wrong.text
    );
    assert!(
        wrong.text.contains(&shown),
        "the same secret is shown again"
    );
    let at = crate::support::unix_now();
    let reply = submit(provider, browser, &form, &[("code", &code(&secret, at))]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let codes: Vec<String> = reply
        .text
        .split("<li><code>")
        .skip(1)
        .filter_map(|part| part.split("</code>").next())
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10, "{}", reply.text);
    let account = account_page(provider, browser, ALICE).await;
    assert!(account.contains("10 recovery code(s) left"), "{account}");
    (secret, codes, at)
}

/// A code flow as demo-web: password, then `second` at the second-factor page (when asked).
async fn sign_in_with(
    provider: &TestProvider,
    browser: &reqwest::Client,
    user: (&str, &str),
    second: Option<&str>,
    extra: &[(&str, Option<&str>)],
) -> Result<Value, String> {
    let rp = Rp::web();
    let pkce = crate::support::Pkce::new();
    let params = crate::support::with_changes(
        crate::support::authorization_params(&rp, "openid", &pkce, "s", "n"),
        extra,
    );
    let mut step = provider.start(browser, &params).await;
    if let Step::Login(form) = step {
        step = provider.login(browser, &form, user).await;
    }
    if let Step::Page(reply) = &step
        && reply.text.contains("Two-step verification")
    {
        let form = provider.form(&reply.text);
        let reply = submit(
            provider,
            browser,
            &form,
            &[("code", second.unwrap_or_default())],
        )
        .await;
        if reply.status != StatusCode::SEE_OTHER {
            return Err(reply.text);
        }
        step = provider.follow(browser, reply).await;
    }
    let Step::Callback(callback) = step else {
        return Err(format!("{step:?}"));
    };
    let flow = crate::support::Flow {
        code: callback.param("code").expect("code").to_owned(),
        state: "s".into(),
        sent_state: "s".into(),
        iss: String::new(),
        verifier: pkce.verifier,
        nonce: "n".into(),
        redirect_uri: callback.endpoint(),
        saw_login: true,
        saw_consent: false,
    };
    let tokens = Tokens::from_reply(&provider.exchange_code(&rp, &flow).await);
    Ok(unverified_claims(
        tokens.id_token.as_deref().expect("ID token"),
    ))
}

#[tokio::test]
async fn enrolment_then_sign_in_with_a_code_and_amr_in_the_id_token() {
    let provider = spawn_provider().await;
    assert_eq!(
        provider.discovery().await["acr_values_supported"],
        serde_json::json!(["1", "2"])
    );
    let (secret, codes, enrolled_at) = enrol(&provider, &provider.browser()).await;

    // A fresh browser: the password is not enough any more.
    let browser = provider.browser();
    let wrong = sign_in_with(&provider, &browser, ALICE, Some("123456"), &[]).await;
    assert!(wrong.unwrap_err().contains("That code is not valid"));
    // The code used at enrolment is spent: its step is refused (RFC 6238 §5.2).
    let replayed = sign_in_with(
        &provider,
        &provider.browser(),
        ALICE,
        Some(&code(&secret, enrolled_at)),
        &[],
    )
    .await;
    assert!(replayed.is_err(), "a code is accepted once");
    // The next step's code (within the one-step skew) works once.
    let next = code(&secret, enrolled_at + 30);
    let claims = sign_in_with(&provider, &provider.browser(), ALICE, Some(&next), &[])
        .await
        .expect("signed in with two factors");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], "2");
    assert!(
        sign_in_with(&provider, &provider.browser(), ALICE, Some(&next), &[])
            .await
            .is_err(),
        "the same code twice"
    );
    // A recovery code works once.
    let recovery = codes[0].to_uppercase();
    let claims = sign_in_with(&provider, &provider.browser(), ALICE, Some(&recovery), &[])
        .await
        .expect("signed in with a recovery code");
    assert_eq!(claims["acr"], "2");
    assert!(
        sign_in_with(&provider, &provider.browser(), ALICE, Some(&recovery), &[])
            .await
            .is_err(),
        "a recovery code is single-use"
    );
    // A password-only user: acr 1.
    let claims = sign_in_with(&provider, &provider.browser(), BOB, None, &[])
        .await
        .expect("bob signs in");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["acr"], "1");
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_passwords() {
    let provider = spawn_provider().await;
    enrol(&provider, &provider.browser()).await;
    let browser = provider.browser();
    let rp = Rp::web();
    let pkce = crate::support::Pkce::new();
    let params = crate::support::authorization_params(&rp, "openid", &pkce, "s", "n");
    let Step::Login(form) = provider.start(&browser, &params).await else {
        panic!("login page");
    };
    let Step::Page(page) = provider.login(&browser, &form, ALICE).await else {
        panic!("second-factor page");
    };
    let form = provider.form(&page.text);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(
            submit(&provider, &browser, &form, &[("code", "000000")])
                .await
                .status,
        );
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "wrong codes are throttled: {statuses:?}"
    );
}

#[tokio::test]
async fn acr_values_two_steps_up_a_password_session() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    // Bob signs in with his password.
    let first = sign_in_with(&provider, &browser, BOB, None, &[])
        .await
        .expect("bob");
    assert_eq!(first["acr"], "1");
    // Silently again: no login page.
    let rp = Rp::web();
    let pkce = crate::support::Pkce::new();
    let params = crate::support::authorization_params(&rp, "openid", &pkce, "s", "n");
    assert!(matches!(
        provider.start(&browser, &params).await,
        Step::Callback(_)
    ));
    // acr_values=2: the session has no second factor, so the login page comes back.
    let params = crate::support::with_changes(params, &[("acr_values", Some("2"))]);
    assert!(matches!(
        provider.start(&browser, &params).await,
        Step::Login(_)
    ));
    // With prompt=none that is login_required.
    let params = crate::support::with_changes(params, &[("prompt", Some("none"))]);
    let Step::Callback(callback) = provider.start(&browser, &params).await else {
        panic!("an error redirect");
    };
    assert_eq!(callback.param("error"), Some("login_required"));
}

#[tokio::test]
async fn turning_it_off_needs_a_code_and_an_operator_can_reset_it() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let (secret, _, enrolled_at) = enrol(&provider, &browser).await;
    let account = account_page(&provider, &browser, ALICE).await;
    let form = provider.form(&account);
    assert!(form.action.ends_with("/account/totp/off"));
    let refused = submit(&provider, &browser, &form, &[("code", "000000")]).await;
    assert!(refused.text.contains("stays on"), "{}", refused.text);
    let reply = submit(
        &provider,
        &browser,
        &form,
        &[("code", &code(&secret, enrolled_at + 30))],
    )
    .await;
    assert!(
        reply.text.contains("Two-step verification is off"),
        "{}",
        reply.text
    );
    // Forged form: no token, wrong token.
    let forged = provider
        .post_form(
            &browser,
            &provider.url("/account/totp/off"),
            encode(&owned(&[("csrf_token", "forged"), ("code", "000000")])),
        )
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);

    // Enrol again, then the operator resets it: password-only sign-in works.
    let (_secret, _, _) = enrol(&provider, &provider.browser()).await;
    let lines = users_command(&provider, UsersCommand::ResetMfa, "alice").await;
    assert!(
        lines[0].contains("reset the second factor of alice"),
        "{lines:?}"
    );
    let claims = sign_in_with(&provider, &provider.browser(), ALICE, None, &[])
        .await
        .expect("password only again");
    assert_eq!(claims["acr"], "1");
}
