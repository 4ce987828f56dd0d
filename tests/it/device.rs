//! RFC 8628 device authorization grant: the device authorization response, polling
//! (`authorization_pending`, `slow_down`, `access_denied`), the verification page a browser
//! drives (code entry, login, consent, outcome page), single-use device codes, client checks,
//! and the per-IP rate limit on user-code entry.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    ALICE, API_AUDIENCE, DEVICE, Reply, Rp, Step, TestProvider, Tokens, assert_html_page,
    assert_json_no_store, assert_oauth_error, audiences, encode, input_value, owned, random_token,
    scope_set, spawn_provider, spawn_provider_with,
};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §6.1: the provider's user-code alphabet (consonants, no look-alikes).
const USER_CODE_ALPHABET: &str = "BCDFGHJKLMNPQRSTVWXZ";

/// The device authorization response, checked on the wire (RFC 8628 §3.2).
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    verification_uri_complete: String,
}

async fn authorize_device(provider: &TestProvider, scope: &str) -> DeviceAuthorization {
    let reply = provider
        .client_post("/device_authorization", &Rp::device(), &[("scope", scope)])
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_json_no_store(&reply, "device authorization response");
    let json = reply.json();
    let text = |name: &str| {
        json[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {json}"))
            .to_owned()
    };
    let user_code = text("user_code");
    let letters: Vec<char> = user_code.chars().collect();
    assert!(
        letters.len() == 9
            && letters[4] == '-'
            && letters
                .iter()
                .enumerate()
                .all(|(index, c)| index == 4 || USER_CODE_ALPHABET.contains(*c)),
        "user_code {user_code} is XXXX-XXXX from {USER_CODE_ALPHABET}"
    );
    let verification_uri = text("verification_uri");
    assert_eq!(verification_uri, provider.url("/device"));
    assert_eq!(
        text("verification_uri_complete"),
        format!("{verification_uri}?user_code={user_code}")
    );
    let expires_in = json["expires_in"].as_u64().expect("expires_in");
    assert!((60..=1800).contains(&expires_in), "{json}");
    assert_eq!(json["interval"], 5, "RFC 8628 §3.2 default interval");
    let device_code = text("device_code");
    assert!(device_code.len() >= 32, "{json}");
    DeviceAuthorization {
        device_code,
        user_code,
        verification_uri_complete: text("verification_uri_complete"),
    }
}

async fn poll(provider: &TestProvider, rp: &Rp, device_code: &str) -> Reply {
    provider
        .token_request(
            rp,
            &[("grant_type", DEVICE_GRANT), ("device_code", device_code)],
        )
        .await
}

/// Types a user code into the verification page and follows the provider's redirects.
async fn enter_code(provider: &TestProvider, browser: &reqwest::Client, typed: &str) -> Reply {
    let body = encode(&owned(&[("user_code", typed)]));
    provider
        .post_form(browser, &provider.url("/device"), body)
        .await
}

/// The outcome page of a device decision: 200, HTML, and no form left to submit.
fn assert_outcome_page(step: Step, expected: &str) {
    let Step::Page(reply) = step else {
        panic!("expected the outcome page, got {step:?}");
    };
    assert_html_page(&reply, StatusCode::OK, "device outcome page");
    assert!(reply.text.contains(expected), "{}", reply.text);
    assert!(!reply.text.contains("<form"), "{}", reply.text);
}

#[tokio::test]
async fn device_is_approved_in_a_browser_then_polls_its_tokens_once() {
    let provider = spawn_provider().await;
    let device = Rp::device();
    let scope = "openid profile offline_access api:read";
    let pending = authorize_device(&provider, scope).await;

    // RFC 8628 §3.5: pending, then slow_down for polling without waiting the interval.
    let first = poll(&provider, &device, &pending.device_code).await;
    assert_oauth_error(
        &first,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
        "first poll",
    );
    let second = poll(&provider, &device, &pending.device_code).await;
    assert_oauth_error(
        &second,
        StatusCode::BAD_REQUEST,
        "slow_down",
        "immediate second poll",
    );

    // The verification page, pre-filled from verification_uri_complete.
    let browser = provider.browser();
    let page = provider
        .get(&browser, &pending.verification_uri_complete)
        .await;
    assert_html_page(&page, StatusCode::OK, "verification page");
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(page.text.contains("<form method=\"post\""), "{}", page.text);
    assert_eq!(
        input_value(&page.text, "user_code").as_deref(),
        Some(pending.user_code.as_str())
    );
    let empty = provider.get(&browser, &provider.url("/device")).await;
    assert_eq!(input_value(&empty.text, "user_code").as_deref(), Some(""));

    // Codes that match no waiting device: an error page, not a redirect.
    for (typed, context) in [
        ("BBBB-BBBB", "a well-formed code nobody was given"),
        ("hello", "not a user code at all"),
    ] {
        let reply = enter_code(&provider, &browser, typed).await;
        assert_html_page(&reply, StatusCode::BAD_REQUEST, context);
        assert!(
            reply.text.contains("not valid"),
            "{context}: {}",
            reply.text
        );
    }

    // Case and dashes do not matter (RFC 8628 §6.1); then login, consent, Allow.
    let typed = pending.user_code.to_lowercase().replace('-', "");
    let reply = enter_code(&provider, &browser, &typed).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    let login = provider.follow(&browser, reply).await.login_form();
    let consent = provider.login(&browser, &login, ALICE).await.consent_form();
    assert!(
        consent.html.contains(&pending.user_code),
        "the consent page names the device's code: {}",
        consent.html
    );
    assert!(consent.html.contains("offline_access"), "{}", consent.html);
    let outcome = provider.consent(&browser, &consent, true).await;
    assert_outcome_page(outcome, "approved");

    // The next poll gets the tokens, and the device code is spent.
    let reply = poll(&provider, &device, &pending.device_code).await;
    assert_json_no_store(&reply, "device token response");
    let tokens = Tokens::from_reply(&reply);
    assert_eq!(tokens.json["token_type"], "Bearer");
    assert_eq!(
        scope_set(tokens.json["scope"].as_str().unwrap_or_default()),
        scope_set(scope)
    );
    let (header, access) = provider
        .verify_jwt(&tokens.access_token, API_AUDIENCE)
        .await;
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(access["client_id"], DEVICE);
    let (_, id) = provider
        .verify_jwt(
            tokens.id_token.as_deref().expect("id_token for openid"),
            DEVICE,
        )
        .await;
    assert_eq!(audiences(&id), [DEVICE]);
    assert_eq!(id["sub"], access["sub"], "the user who approved");
    let userinfo = provider.userinfo(&tokens.access_token).await;
    assert_eq!(userinfo.status, StatusCode::OK, "{}", userinfo.text);
    assert_eq!(userinfo.json()["preferred_username"], "alice");
    let refresh_token = tokens
        .refresh_token
        .clone()
        .expect("refresh_token for offline_access");

    // The user code is spent as well: entering it again shows the error page.
    let reply = enter_code(&provider, &browser, &pending.user_code).await;
    assert_html_page(
        &reply,
        StatusCode::BAD_REQUEST,
        "an approved user code again",
    );

    let replay = poll(&provider, &device, &pending.device_code).await;
    assert_oauth_error(
        &replay,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "a spent device code",
    );
    let refreshed = provider.refresh(&device, &refresh_token, None).await;
    let refreshed = Tokens::from_reply(&refreshed);
    assert!(refreshed.refresh_token.is_some(), "rotated");

    // A second device, denied by the same (signed-in) browser: consent comes at once.
    let denied = authorize_device(&provider, "openid").await;
    let reply = enter_code(&provider, &browser, &denied.user_code).await;
    let consent = provider.follow(&browser, reply).await.consent_form();
    let outcome = provider.consent(&browser, &consent, false).await;
    assert_outcome_page(outcome, "denied");
    let reply = poll(&provider, &device, &denied.device_code).await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "access_denied",
        "a denied device",
    );
    let reply = poll(&provider, &device, &denied.device_code).await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "a denied device polling again",
    );
}

#[tokio::test]
async fn device_grant_errors_are_rfc8628_and_rfc6749_codes() {
    let provider = spawn_provider().await;
    let pending = authorize_device(&provider, "openid").await;
    let unknown_client = Rp {
        client_id: "no-such-client",
        ..Rp::device()
    };

    // At the device authorization endpoint.
    let cases: [(Rp, &str, StatusCode, &str, &str); 5] = [
        (
            Rp::web(),
            "openid",
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "demo-web is not registered for the device grant",
        ),
        (
            Rp::cli_random_port(),
            "openid",
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "demo-cli is not registered for the device grant",
        ),
        (
            Rp::device(),
            "openid admin",
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "an unknown scope",
        ),
        (
            unknown_client.clone(),
            "openid",
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "an unknown client",
        ),
        (
            Rp::web().with_secret("wrong"),
            "openid",
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "a wrong secret",
        ),
    ];
    for (rp, scope, status, error, context) in cases {
        let reply = provider
            .client_post("/device_authorization", &rp, &[("scope", scope)])
            .await;
        assert_oauth_error(&reply, status, error, context);
    }

    // At the token endpoint.
    let polls: [(Rp, String, StatusCode, &str, &str); 4] = [
        (
            Rp::device(),
            random_token(),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "an unknown device code",
        ),
        (
            Rp::web(),
            pending.device_code.clone(),
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "demo-web polls (no device grant)",
        ),
        (
            Rp::cli_random_port(),
            pending.device_code.clone(),
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "demo-cli polls (no device grant)",
        ),
        (
            unknown_client,
            pending.device_code.clone(),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "an unknown client polls",
        ),
    ];
    for (rp, device_code, status, error, context) in polls {
        let reply = poll(&provider, &rp, &device_code).await;
        assert_oauth_error(&reply, status, error, context);
    }
    let missing = provider
        .token_request(&Rp::device(), &[("grant_type", DEVICE_GRANT)])
        .await;
    assert_oauth_error(
        &missing,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "no device_code",
    );
    // None of that touched the real device's state: it is still pending.
    let reply = poll(&provider, &Rp::device(), &pending.device_code).await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
        "the device after the failed polls",
    );
    let json: Value = reply.json();
    assert!(json.get("access_token").is_none());
}

#[tokio::test]
async fn user_code_entry_is_rate_limited_per_ip() {
    // Serve mode's limit (dev mode, the lab, allows more).
    let provider = spawn_provider_with(|config| {
        config.rate_limits = provider::config::RateLimits::SERVE;
    })
    .await;
    let pending = authorize_device(&provider, "openid").await;
    let browser = provider.browser();
    // Ten attempts a minute are allowed: each wrong code is an ordinary error page.
    for attempt in 0..10 {
        let reply = enter_code(&provider, &browser, "BBBB-BBBB").await;
        assert_html_page(
            &reply,
            StatusCode::BAD_REQUEST,
            &format!("wrong code {attempt}"),
        );
    }
    // The eleventh is refused before the code is even looked at, right code or not.
    let reply = enter_code(&provider, &browser, &pending.user_code).await;
    assert_html_page(&reply, StatusCode::TOO_MANY_REQUESTS, "eleventh attempt");
    assert!(reply.text.contains("Too many attempts"), "{}", reply.text);
    // And the device was not approved by it.
    let reply = poll(&provider, &Rp::device(), &pending.device_code).await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
        "the device after the rate-limited entry",
    );
}
