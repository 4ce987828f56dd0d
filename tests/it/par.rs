//! RFC 9126 pushed authorization requests: the PAR response, `/authorize` with only `client_id`
//! and `request_uri`, one-time request URIs bound to the pushing client, and JSON errors for
//! invalid pushed requests.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    ALICE, Callback, ClientAuth, Pkce, Reply, Rp, Step, TestProvider, Tokens, WEB,
    assert_html_page, assert_json_no_store, assert_oauth_error, authorization_params, owned,
    page_error_code, random_token, spawn_provider, with_changes,
};

const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

fn as_refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

/// POSTs an authorization request to `/par` as `rp`. With Basic, `client_id` stays in the body
/// (RFC 9126 §2.1 requires it); otherwise the client authentication adds it.
async fn push(provider: &TestProvider, rp: &Rp, pairs: &[(String, String)]) -> Reply {
    let mut pairs = pairs.to_vec();
    if rp.auth != ClientAuth::Basic {
        pairs.retain(|(name, _)| name != "client_id");
    }
    provider.client_post("/par", rp, &as_refs(&pairs)).await
}

/// Pushes a valid request and returns the `request_uri` (RFC 9126 §2.2 response checked).
async fn push_ok(provider: &TestProvider, rp: &Rp, pairs: &[(String, String)]) -> String {
    let reply = push(provider, rp, pairs).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_json_no_store(&reply, "PAR response");
    let json: Value = reply.json();
    assert_eq!(json["expires_in"], 60, "{json}");
    let request_uri = json["request_uri"]
        .as_str()
        .expect("request_uri")
        .to_owned();
    assert!(
        request_uri.starts_with(REQUEST_URI_PREFIX)
            && request_uri.len() > REQUEST_URI_PREFIX.len() + 20,
        "{request_uri}"
    );
    request_uri
}

/// `/authorize?client_id=…&request_uri=…`.
async fn authorize_pushed(
    provider: &TestProvider,
    browser: &reqwest::Client,
    client_id: Option<&str>,
    request_uri: &str,
) -> Step {
    let mut params = owned(&[("request_uri", request_uri)]);
    if let Some(client_id) = client_id {
        params.insert(0, ("client_id".into(), client_id.into()));
    }
    provider.start(browser, &params).await
}

/// The error page of a refused `/authorize`: 400, HTML, no redirect to anyone.
fn assert_error_page(step: Step, context: &str) {
    let Step::Page(reply) = step else {
        panic!("{context}: expected an error page, got {step:?}");
    };
    assert_html_page(&reply, StatusCode::BAD_REQUEST, context);
    assert_eq!(
        page_error_code(&reply),
        Some("invalid_request_uri"),
        "{context}: {}",
        reply.text
    );
}

#[tokio::test]
async fn pushed_requests_run_the_code_flow_once() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let mut logged_in = false;
    for rp in [Rp::web(), Rp::cli_random_port()] {
        let context = format!("{} {:?}", rp.client_id, rp.auth);
        let pkce = Pkce::new();
        let (state, nonce) = (random_token(), random_token());
        let pairs = authorization_params(&rp, "openid profile", &pkce, &state, &nonce);
        let request_uri = push_ok(&provider, &rp, &pairs).await;

        // The browser carries only client_id and request_uri (RFC 9126 §4).
        let mut step =
            authorize_pushed(&provider, &browser, Some(rp.client_id), &request_uri).await;
        if let Step::Login(form) = step {
            assert!(!logged_in, "{context}: the SSO session is reused");
            logged_in = true;
            step = provider.login(&browser, &form, ALICE).await;
        }
        let callback: Callback = step.callback();
        assert_eq!(callback.param("error"), None, "{context}: {}", callback.url);
        assert_eq!(callback.endpoint(), rp.redirect_uri, "{context}");
        assert_eq!(callback.param("state"), Some(state.as_str()), "{context}");
        assert_eq!(callback.param("iss"), Some(provider.issuer.as_str()));
        let code = callback.param("code").expect("code").to_owned();

        let reply = provider
            .token_request(
                &rp,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", &rp.redirect_uri),
                    ("code_verifier", &pkce.verifier),
                ],
            )
            .await;
        let tokens = Tokens::from_reply(&reply);
        let (_, id) = provider
            .verify_jwt(tokens.id_token.as_deref().expect("id_token"), rp.client_id)
            .await;
        assert_eq!(id["nonce"], nonce.as_str(), "{context}: the pushed nonce");

        // One-time: the second use is an error page, never a redirect.
        let again = authorize_pushed(&provider, &browser, Some(rp.client_id), &request_uri).await;
        assert_error_page(again, &format!("{context}: request_uri used twice"));
    }
    assert!(logged_in, "one login for the whole test");

    // Bound to the client that pushed it.
    let pkce = Pkce::new();
    let pairs = authorization_params(&Rp::web(), "openid", &pkce, "s", "n");
    for (client_id, context) in [
        (Some("demo-cli"), "request_uri with another client_id"),
        (None, "request_uri without client_id"),
    ] {
        let request_uri = push_ok(&provider, &Rp::web(), &pairs).await;
        let step = authorize_pushed(&provider, &browser, client_id, &request_uri).await;
        assert_error_page(step, context);
        // A wrong client_id spends nothing: the pushing client can still use it.
        let owner = authorize_pushed(&provider, &browser, Some(WEB), &request_uri).await;
        assert!(
            !matches!(owner, Step::Page(_)),
            "{context}: the request_uri was burned for its own client"
        );
    }
    let unknown = format!("{REQUEST_URI_PREFIX}{}", random_token());
    let step = authorize_pushed(&provider, &browser, Some(WEB), &unknown).await;
    assert_error_page(step, "a request_uri that was never pushed");

    // RFC 9126 §4: only the pushed parameters count; ones added in the browser are ignored.
    let pkce = Pkce::new();
    let pairs = authorization_params(&Rp::web(), "openid", &pkce, "pushed-state", "n");
    let request_uri = push_ok(&provider, &Rp::web(), &pairs).await;
    let params = owned(&[
        ("client_id", WEB),
        ("request_uri", &request_uri),
        ("redirect_uri", "https://evil.example/callback"),
        ("state", "outer-state"),
        ("scope", "openid offline_access"),
    ]);
    let callback = provider.start(&browser, &params).await.callback();
    assert_eq!(
        callback.endpoint(),
        Rp::web().redirect_uri,
        "{}",
        callback.url
    );
    assert_eq!(callback.param("state"), Some("pushed-state"));
    assert!(callback.param("code").is_some(), "{}", callback.url);
}

/// A pushed request the PAR endpoint refuses: client, changes to a valid request, the answer.
type Refusal = (
    Rp,
    &'static [(&'static str, Option<&'static str>)],
    StatusCode,
    &'static str,
    &'static str,
);

#[tokio::test]
async fn invalid_pushed_requests_get_json_errors() {
    let provider = spawn_provider().await;
    let pkce = Pkce::new();
    let web = Rp::web();
    let valid = authorization_params(&web, "openid", &pkce, "state", "nonce");
    let cases: [Refusal; 10] = [
        (
            Rp::web(),
            &[("code_challenge", None)],
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "no PKCE challenge",
        ),
        (
            Rp::web(),
            &[("code_challenge_method", Some("plain"))],
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "PKCE plain",
        ),
        (
            Rp::web(),
            &[("redirect_uri", Some("https://evil.example/callback"))],
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "an unregistered redirect_uri",
        ),
        (
            Rp::web(),
            &[("redirect_uri", None)],
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "no redirect_uri",
        ),
        (
            Rp::web(),
            &[("request_uri", Some("urn:ietf:params:oauth:request_uri:abc"))],
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "request_uri inside the pushed request (RFC 9126 §2.1)",
        ),
        (
            Rp::web(),
            &[("response_type", Some("token"))],
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "the implicit response type",
        ),
        (
            Rp::web(),
            &[("scope", Some("openid admin"))],
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "an unknown scope",
        ),
        (
            Rp::web().with_secret("wrong"),
            &[],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "a wrong secret (Basic)",
        ),
        (
            Rp::web_post().with_secret("wrong"),
            &[],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "a wrong secret (post)",
        ),
        (
            Rp {
                auth: ClientAuth::None,
                secret: None,
                ..Rp::web()
            },
            &[],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "a confidential client without its secret",
        ),
    ];
    for (rp, changes, status, error, context) in cases {
        let pairs = with_changes(valid.clone(), changes);
        let reply = push(&provider, &rp, &pairs).await;
        assert_oauth_error(&reply, status, error, context);
        assert_eq!(reply.location(), None, "{context}: never a redirect");
    }

    // No client authentication at all.
    let anonymous: Vec<(String, String)> = valid
        .iter()
        .filter(|(name, _)| name != "client_id")
        .cloned()
        .collect();
    let reply = provider.raw_post("/par", None, &anonymous).await;
    assert_oauth_error(
        &reply,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "no client authentication",
    );
    assert!(reply.header("www-authenticate").is_some());
}
