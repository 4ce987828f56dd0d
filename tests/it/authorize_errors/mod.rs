//! RFC 6749 §4.1.2.1 error handling at the authorization endpoint: until `client_id` and
//! `redirect_uri` are trusted the user sees an error page (never a redirect); after that,
//! errors go back to the client with `error`, `error_description`, `state` and `iss`
//! (RFC 9207). The login form (CSRF token, browser binding, uniform failures, cookies) is in
//! `login`.

mod login;

use reqwest::StatusCode;

use crate::support::{
    Callback, Pkce, Rp, WEB, WEB_REDIRECT, authorization_params, encode, spawn_provider,
    with_changes,
};

pub(crate) const STATE: &str = "st-err";

/// Query parameters in order, repeats kept.
type Pairs = Vec<(String, String)>;
/// Parameter changes: `None` removes the parameter.
type Changes<'a> = &'a [(&'a str, Option<&'a str>)];

pub(crate) fn request(rp: &Rp, changes: Changes<'_>) -> Pairs {
    with_changes(
        authorization_params(rp, "openid", &Pkce::new(), STATE, "n-1"),
        changes,
    )
}

/// A valid request with one more (repeated) parameter.
fn repeated(rp: &Rp, name: &str, value: &str) -> Pairs {
    let mut pairs = request(rp, &[]);
    pairs.push((name.to_owned(), value.to_owned()));
    pairs
}

#[tokio::test]
async fn untrusted_client_or_redirect_uri_gets_an_error_page_never_a_redirect() {
    let provider = spawn_provider().await;
    let (web, cli) = (Rp::web(), Rp::cli(5555));
    let evil = Some("http://evil.example/cb");
    // Unregistered redirect URIs (exact match; RFC 8252 §7.3 port freedom only for demo-cli).
    let redirects: &[(&str, &Rp, &str)] = &[
        (
            "registered URI as a prefix",
            &web,
            "http://127.0.0.1:8082/callback/evil",
        ),
        (
            "registered URI shortened",
            &web,
            "http://127.0.0.1:8082/callbac",
        ),
        (
            "query appended",
            &web,
            "http://127.0.0.1:8082/callback?next=x",
        ),
        ("other host", &web, "http://evil.example:8082/callback"),
        (
            "localhost instead of 127.0.0.1",
            &web,
            "http://localhost:8082/callback",
        ),
        ("fragment", &web, "http://127.0.0.1:8082/callback#frag"),
        (
            "https instead of http",
            &web,
            "https://127.0.0.1:8082/callback",
        ),
        ("relative URI", &web, "/callback"),
        (
            "web client, other loopback port",
            &web,
            "http://127.0.0.1:9999/callback",
        ),
        (
            "web client, native client's URI",
            &web,
            "http://127.0.0.1/callback",
        ),
        (
            "native: localhost has no port rule",
            &cli,
            "http://localhost:5555/callback",
        ),
        ("native: other path", &cli, "http://127.0.0.1:5555/other"),
        (
            "native: other loopback address",
            &cli,
            "http://127.0.0.2:5555/callback",
        ),
        (
            "native: https on loopback",
            &cli,
            "https://127.0.0.1:5555/callback",
        ),
    ];
    let mut cases: Vec<(&str, Pairs, &str)> = redirects
        .iter()
        .map(|(name, rp, uri)| {
            (
                *name,
                request(rp, &[("redirect_uri", Some(uri))]),
                "invalid_request",
            )
        })
        .collect();
    cases.extend([
        (
            "missing client_id",
            request(&web, &[("client_id", None)]),
            "invalid_request",
        ),
        (
            "empty client_id",
            request(&web, &[("client_id", Some(""))]),
            "invalid_request",
        ),
        (
            "unknown client_id",
            request(&web, &[("client_id", Some("nope"))]),
            "invalid_client",
        ),
        (
            "missing redirect_uri",
            request(&web, &[("redirect_uri", None)]),
            "invalid_request",
        ),
        (
            "service client has no redirect URIs",
            request(&web, &[("client_id", Some("demo-service"))]),
            "invalid_request",
        ),
        (
            "duplicated client_id",
            repeated(&web, "client_id", WEB),
            "invalid_request",
        ),
        (
            "duplicated redirect_uri",
            repeated(&web, "redirect_uri", WEB_REDIRECT),
            "invalid_request",
        ),
        (
            "stage one wins over response_type=token",
            request(
                &web,
                &[("redirect_uri", evil), ("response_type", Some("token"))],
            ),
            "invalid_request",
        ),
        (
            "stage one wins over missing PKCE",
            request(&web, &[("redirect_uri", evil), ("code_challenge", None)]),
            "invalid_request",
        ),
    ]);
    for (name, params, error) in cases {
        let reply = provider
            .get(&provider.http, &provider.authorize_url(&params))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            reply.text
        );
        assert_eq!(reply.location(), None, "{name}: must not redirect");
        let content_type = reply.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("text/html"),
            "{name}: {content_type}"
        );
        assert!(
            reply.text.contains(error),
            "{name}: page names {error}: {}",
            reply.text
        );
        assert_eq!(
            reply.set_cookie("oidc_browser"),
            None,
            "{name}: no interaction"
        );
    }

    // POST /authorize (OIDC Core §3.1.2.1) follows the same rule.
    let params = request(&web, &[("redirect_uri", evil)]);
    let reply = provider
        .post_form(&provider.http, &provider.url("/authorize"), encode(&params))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.location(), None);
}

#[tokio::test]
async fn invalid_requests_for_a_trusted_redirect_uri_are_redirected_with_state_and_iss() {
    let provider = spawn_provider().await;
    let (web, cli) = (Rp::web(), Rp::cli_random_port());
    let changed: &[(&str, Changes<'_>, &str)] = &[
        (
            "implicit flow",
            &[("response_type", Some("token"))],
            "unsupported_response_type",
        ),
        (
            "hybrid flow",
            &[("response_type", Some("code id_token"))],
            "unsupported_response_type",
        ),
        (
            "missing response_type",
            &[("response_type", None)],
            "invalid_request",
        ),
        (
            "no code_challenge",
            &[("code_challenge", None)],
            "invalid_request",
        ),
        (
            "plain PKCE",
            &[("code_challenge_method", Some("plain"))],
            "invalid_request",
        ),
        (
            "missing code_challenge_method",
            &[("code_challenge_method", None)],
            "invalid_request",
        ),
        (
            "malformed code_challenge",
            &[("code_challenge", Some("too-short"))],
            "invalid_request",
        ),
        (
            "unknown scope",
            &[("scope", Some("openid admin"))],
            "invalid_scope",
        ),
        ("missing scope", &[("scope", None)], "invalid_scope"),
        (
            "prompt=none without a session",
            &[("prompt", Some("none"))],
            "login_required",
        ),
        (
            "prompt=none with login",
            &[("prompt", Some("none login"))],
            "invalid_request",
        ),
        (
            "negative max_age",
            &[("max_age", Some("-1"))],
            "invalid_request",
        ),
        (
            "non-numeric max_age",
            &[("max_age", Some("soon"))],
            "invalid_request",
        ),
        (
            "fragment response mode",
            &[("response_mode", Some("fragment"))],
            "invalid_request",
        ),
        (
            "resource not allowed",
            &[("resource", Some("https://evil.example/api"))],
            "invalid_target",
        ),
    ];
    let mut cases: Vec<(&str, &Rp, Pairs, &str)> = changed
        .iter()
        .map(|(name, changes, error)| (*name, &web, request(&web, changes), *error))
        .collect();
    let challenge = Pkce::new().challenge;
    cases.extend([
        (
            "duplicated scope",
            &web,
            repeated(&web, "scope", "openid"),
            "invalid_request",
        ),
        (
            "duplicated code_challenge",
            &web,
            repeated(&web, "code_challenge", &challenge),
            "invalid_request",
        ),
        (
            "native client, implicit flow, back to its own port",
            &cli,
            request(&cli, &[("response_type", Some("token"))]),
            "unsupported_response_type",
        ),
    ]);
    for (name, rp, params, error) in cases {
        let reply = provider
            .get(&provider.http, &provider.authorize_url(&params))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::SEE_OTHER,
            "{name}: {}",
            reply.text
        );
        let location = reply
            .location()
            .unwrap_or_else(|| panic!("{name}: Location"));
        let callback = Callback::parse(location);
        assert_eq!(
            callback.endpoint(),
            rp.redirect_uri,
            "{name}: back to the client"
        );
        assert_eq!(callback.param("error"), Some(error), "{name}: {location}");
        let description = callback.param("error_description").unwrap_or_default();
        assert!(!description.is_empty(), "{name}: error_description");
        assert_eq!(callback.param("state"), Some(STATE), "{name}: state");
        assert_eq!(
            callback.param("iss"),
            Some(provider.issuer.as_str()),
            "{name}: iss"
        );
        assert_eq!(callback.param("code"), None, "{name}: no code");
    }
}
