//! Cross-origin access: browser-based public clients (single-page apps) call the token,
//! userinfo and revocation endpoints with `fetch` from their own origin. Those endpoints allow
//! any origin without credentials; the HTML pages allow none.

use reqwest::{Method, StatusCode};

use crate::support::spawn_provider;

const ORIGIN: &str = "http://127.0.0.1:5173";

#[tokio::test]
async fn api_endpoints_allow_cross_origin_calls_without_credentials_and_pages_do_not() {
    let provider = spawn_provider().await;
    let http = reqwest::Client::new();
    for path in ["/token", "/userinfo", "/revoke", "/introspect"] {
        // The CORS preflight a browser sends before a POST with Content-Type form or Authorization.
        let preflight = http
            .request(Method::OPTIONS, provider.url(path))
            .header("origin", ORIGIN)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
            .await
            .expect("preflight");
        assert!(
            preflight.status().is_success(),
            "{path}: preflight {}",
            preflight.status()
        );
        let headers = preflight.headers();
        assert_eq!(headers["access-control-allow-origin"], "*", "{path}");
        let methods = headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .to_ascii_uppercase();
        assert!(methods.contains("POST"), "{path}: {methods}");
        let allowed = headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(
            allowed.contains("authorization") && allowed.contains("content-type"),
            "{path}: {allowed}"
        );
        assert!(
            !headers.contains_key("access-control-allow-credentials"),
            "{path}: never with credentials"
        );
    }
    // The actual request carries the header too, errors included (a SPA must read them).
    let answer = http
        .post(provider.url("/token"))
        .header("origin", ORIGIN)
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "demo-cli"),
            ("code", "x"),
            ("redirect_uri", "http://127.0.0.1/callback"),
            ("code_verifier", &"a".repeat(43)),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");

    // HTML pages and the authorization endpoint are not readable cross-origin.
    for path in ["/authorize", "/device", "/end_session"] {
        let page = http
            .get(provider.url(path))
            .header("origin", ORIGIN)
            .send()
            .await
            .expect("page");
        assert!(
            !page.headers().contains_key("access-control-allow-origin"),
            "{path} must not allow cross-origin reads"
        );
    }
}

/// The demo API's Swagger UI signs in with the provider's public `swagger-ui` client: in dev
/// mode its `/docs/oauth2-redirect.html` on the demo API's address is registered, with PKCE.
#[tokio::test]
async fn the_demo_api_swagger_ui_redirect_is_registered_for_the_swagger_ui_client() {
    use crate::support::{Pkce, Step};
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let pkce = Pkce::new();
    let params: Vec<(String, String)> = [
        ("client_id", "swagger-ui"),
        (
            "redirect_uri",
            "http://127.0.0.1:8081/docs/oauth2-redirect.html",
        ),
        ("response_type", "code"),
        ("scope", "api:read"),
        ("state", "swagger-state"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    let step = provider.start(&browser, &params).await;
    assert!(
        matches!(step, Step::Login(_)),
        "the redirect URI is accepted and the login form shown"
    );
    // Another path on that origin is not.
    let mut other = params.clone();
    other[1].1 = "http://127.0.0.1:8081/docs/other.html".into();
    let step = provider.start(&browser, &other).await;
    assert!(
        matches!(step, Step::Page(_)),
        "an unregistered redirect URI gets the error page"
    );
}
