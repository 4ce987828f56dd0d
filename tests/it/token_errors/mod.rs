//! RFC 6749 §5.2 token endpoint errors on the wire: JSON `error` + `error_description`,
//! `Cache-Control: no-store`, 401 + `WWW-Authenticate` for failed client authentication, and
//! never a 5xx. Redemption of real codes with mismatched parameters is in `codes`.

mod codes;

use reqwest::StatusCode;

use crate::support::{
    CLI, Pkce, Reply, Rp, TestProvider, WEB, WEB_REDIRECT, WEB_SECRET, assert_oauth_error,
    basic_header, encode, owned, spawn_provider,
};

/// One raw token request.
struct Case {
    name: &'static str,
    authorization: Option<String>,
    content_type: Option<&'static str>,
    body: String,
    status: StatusCode,
    error: &'static str,
}

fn form(pairs: &[(&str, &str)]) -> String {
    encode(&owned(pairs))
}

async fn send(provider: &TestProvider, case: &Case) -> Reply {
    let mut request = provider
        .http
        .post(provider.url("/token"))
        .body(case.body.clone());
    if let Some(content_type) = case.content_type {
        request = request.header("content-type", content_type);
    }
    if let Some(authorization) = &case.authorization {
        request = request.header("authorization", authorization);
    }
    Reply::read(request.send().await.expect("POST /token")).await
}

async fn run(provider: &TestProvider, cases: &[Case]) {
    for case in cases {
        let reply = send(provider, case).await;
        assert_oauth_error(&reply, case.status, case.error, case.name);
        if case.status == StatusCode::UNAUTHORIZED {
            let challenge = reply.header("www-authenticate").unwrap_or_default();
            let used_basic = case
                .authorization
                .as_deref()
                .is_some_and(|value| value.starts_with("Basic "));
            if used_basic {
                // RFC 6749 §5.2: a client that tried Basic gets a Basic challenge.
                assert!(
                    challenge.starts_with("Basic"),
                    "{}: WWW-Authenticate {challenge:?}",
                    case.name
                );
            }
        }
    }
}

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

#[tokio::test]
async fn failed_client_authentication_is_invalid_client() {
    let provider = spawn_provider().await;
    // With valid client authentication this body would be invalid_grant: any other answer
    // comes from the authentication step.
    let grant = [
        ("grant_type", "refresh_token"),
        ("refresh_token", "not-a-token"),
    ];
    let with = |extra: &[(&str, &str)]| {
        let mut pairs = grant.to_vec();
        pairs.extend_from_slice(extra);
        form(&pairs)
    };
    let unauthorized = StatusCode::UNAUTHORIZED;
    let bad_request = StatusCode::BAD_REQUEST;
    let case = |name, authorization: Option<String>, body: String, status, error| Case {
        name,
        authorization,
        content_type: FORM,
        body,
        status,
        error,
    };
    let cases = [
        case(
            "wrong secret with Basic",
            Some(basic_header(WEB, "wrong-secret")),
            with(&[]),
            unauthorized,
            "invalid_client",
        ),
        case(
            "secret with the wrong case",
            Some(basic_header(WEB, &WEB_SECRET.to_uppercase())),
            with(&[]),
            unauthorized,
            "invalid_client",
        ),
        case(
            "wrong secret with client_secret_post",
            None,
            with(&[("client_id", WEB), ("client_secret", "wrong-secret")]),
            unauthorized,
            "invalid_client",
        ),
        case(
            "unknown client with Basic",
            Some(basic_header("no-such-client", "secret")),
            with(&[]),
            unauthorized,
            "invalid_client",
        ),
        case(
            "unknown client with client_secret_post",
            None,
            with(&[("client_id", "no-such-client"), ("client_secret", "secret")]),
            unauthorized,
            "invalid_client",
        ),
        case(
            "unknown public client",
            None,
            with(&[("client_id", "no-such-client")]),
            unauthorized,
            "invalid_client",
        ),
        case(
            "public client presenting a secret in the body",
            None,
            with(&[("client_id", CLI), ("client_secret", "anything")]),
            unauthorized,
            "invalid_client",
        ),
        case(
            "public client presenting a secret with Basic",
            Some(basic_header(CLI, "anything")),
            with(&[]),
            unauthorized,
            "invalid_client",
        ),
        case(
            "confidential client without its secret",
            None,
            with(&[("client_id", WEB)]),
            unauthorized,
            "invalid_client",
        ),
        case(
            "confidential client with an empty Basic secret",
            Some(basic_header(WEB, "")),
            with(&[]),
            unauthorized,
            "invalid_client",
        ),
        case(
            "no client at all",
            None,
            with(&[]),
            unauthorized,
            "invalid_client",
        ),
        case(
            "Basic that is not base64",
            Some("Basic %%%not-base64%%%".into()),
            with(&[]),
            unauthorized,
            "invalid_client",
        ),
        case(
            "Bearer instead of Basic",
            Some("Bearer some-token".into()),
            with(&[]),
            unauthorized,
            "invalid_client",
        ),
        case(
            "Basic plus client_secret in the body",
            Some(basic_header(WEB, WEB_SECRET)),
            with(&[("client_secret", WEB_SECRET)]),
            bad_request,
            "invalid_request",
        ),
        case(
            "Basic plus another client_id in the body",
            Some(basic_header(WEB, WEB_SECRET)),
            with(&[("client_id", CLI)]),
            bad_request,
            "invalid_request",
        ),
        case(
            "duplicated client_id",
            None,
            with(&[("client_id", CLI), ("client_id", CLI)]),
            bad_request,
            "invalid_request",
        ),
        case(
            "valid Basic: the grant is what fails",
            Some(basic_header(WEB, WEB_SECRET)),
            with(&[]),
            bad_request,
            "invalid_grant",
        ),
    ];
    run(&provider, &cases).await;
}

#[tokio::test]
async fn malformed_token_requests_are_refused() {
    let provider = spawn_provider().await;
    let auth = || Some(basic_header(WEB, WEB_SECRET));
    let verifier = Pkce::new().verifier;
    let code_grant = |code: &'static str| {
        vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", WEB_REDIRECT),
        ]
    };
    let with_verifier = |pairs: Vec<(&str, &str)>, verifier: &str| {
        let mut pairs = owned(&pairs);
        pairs.push(("code_verifier".into(), verifier.to_owned()));
        encode(&pairs)
    };
    let bad = StatusCode::BAD_REQUEST;
    let case = |name, content_type, body: String, error| Case {
        name,
        authorization: auth(),
        content_type,
        body,
        status: bad,
        error,
    };
    let cases = [
        case(
            "missing grant_type",
            FORM,
            form(&[("code", "x")]),
            "invalid_request",
        ),
        case(
            "password grant (removed by OAuth 2.1)",
            FORM,
            form(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-password-2026"),
            ]),
            "unsupported_grant_type",
        ),
        case(
            "unknown grant type",
            FORM,
            form(&[("grant_type", "urn:example:made-up")]),
            "unsupported_grant_type",
        ),
        case(
            "duplicated grant_type",
            FORM,
            form(&[
                ("grant_type", "refresh_token"),
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
            ]),
            "invalid_request",
        ),
        case(
            "duplicated refresh_token",
            FORM,
            form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("refresh_token", "y"),
            ]),
            "invalid_request",
        ),
        case(
            "JSON body",
            Some("application/json"),
            r#"{"grant_type":"refresh_token","refresh_token":"x"}"#.into(),
            "invalid_request",
        ),
        case(
            "no Content-Type",
            None,
            form(&[("grant_type", "refresh_token"), ("refresh_token", "x")]),
            "invalid_request",
        ),
        case(
            "missing code",
            FORM,
            with_verifier(
                vec![
                    ("grant_type", "authorization_code"),
                    ("redirect_uri", WEB_REDIRECT),
                ],
                &verifier,
            ),
            "invalid_request",
        ),
        case(
            "missing redirect_uri",
            FORM,
            with_verifier(
                vec![("grant_type", "authorization_code"), ("code", "abc")],
                &verifier,
            ),
            "invalid_request",
        ),
        case(
            "missing code_verifier",
            FORM,
            form(&code_grant("abc")),
            "invalid_request",
        ),
        case(
            "garbage code",
            FORM,
            with_verifier(code_grant("not-a-code"), &verifier),
            "invalid_grant",
        ),
        case(
            "garbage refresh token",
            FORM,
            form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "not-a-token"),
            ]),
            "invalid_grant",
        ),
        case(
            "missing refresh_token",
            FORM,
            form(&[("grant_type", "refresh_token")]),
            "invalid_request",
        ),
    ];
    run(&provider, &cases).await;

    // No 5xx for odd but well-formed input either.
    let long_code = "c".repeat(4000);
    let reply = provider
        .token_request(
            &Rp::web(),
            &[
                ("grant_type", "authorization_code"),
                ("code", &long_code),
                ("redirect_uri", WEB_REDIRECT),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_oauth_error(&reply, bad, "invalid_grant", "very long code");
}
