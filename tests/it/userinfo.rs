//! OIDC Core §5.3 UserInfo: claims by scope (§5.4), RFC 6750 §2.1/§2.2 token transport, and
//! RFC 6750 §3 `WWW-Authenticate: Bearer` challenges.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    BOB, Reply, Rp, TestProvider, Tokens, WEB, WEB_SECRET, basic_header, encode, owned,
    spawn_provider, unverified_claims,
};

fn keys(json: &Value) -> BTreeSet<&str> {
    json.as_object()
        .unwrap_or_else(|| panic!("an object: {json}"))
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn claims_follow_the_granted_scope() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let rp = Rp::web();
    let cases: &[(&str, &[&str])] = &[
        (
            "openid profile email",
            &[
                "sub",
                "name",
                "preferred_username",
                "email",
                "email_verified",
            ],
        ),
        ("openid profile", &["sub", "name", "preferred_username"]),
        ("openid email", &["sub", "email", "email_verified"]),
        ("openid", &["sub"]),
    ];
    let mut subject = None;
    for (scope, expected) in cases {
        let (_, tokens) = provider.tokens(&browser, &rp, scope, &[]).await;
        let reply = provider.userinfo(&tokens.access_token).await;
        assert_eq!(reply.status, StatusCode::OK, "{scope}: {}", reply.text);
        assert!(
            reply
                .header("content-type")
                .is_some_and(|value| value.starts_with("application/json")),
            "{scope}"
        );
        let json = reply.json();
        assert_eq!(
            keys(&json),
            expected.iter().copied().collect(),
            "{scope}: {json}"
        );
        let (_, id_claims) = provider
            .verify_jwt(tokens.id_token.as_deref().expect("id_token"), WEB)
            .await;
        assert_eq!(
            json["sub"], id_claims["sub"],
            "{scope}: sub matches the ID token"
        );
        subject.get_or_insert_with(|| json["sub"].clone());
        if *scope == "openid profile email" {
            assert_eq!(json["name"], "Alice Liddell");
            assert_eq!(json["preferred_username"], "alice");
            assert_eq!(json["email"], "alice@example.com");
            assert_eq!(json["email_verified"], true, "a JSON boolean");

            // RFC 6750 §2.2: the form-encoded body works too.
            let response = provider
                .http
                .post(provider.url("/userinfo"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encode(&owned(&[("access_token", &tokens.access_token)])))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let posted: Value = response.json().await.unwrap();
            assert_eq!(posted, json);
        }
    }

    // Another user gets another subject.
    let other = provider.browser();
    let flow = provider
        .code_flow_as(&other, &rp, "openid profile", &[], BOB)
        .await;
    let tokens = Tokens::from_reply(&provider.exchange_code(&rp, &flow).await);
    let bob = provider.userinfo(&tokens.access_token).await.json();
    assert_eq!(bob["preferred_username"], "bob");
    assert_ne!(
        Some(bob["sub"].clone()),
        subject,
        "subjects differ per user"
    );
}

/// A UserInfo request as sent.
struct Case {
    name: &'static str,
    post: bool,
    authorization: Option<String>,
    body: Option<String>,
    query: Option<String>,
    status: StatusCode,
    /// The RFC 6750 §3.1 `error`, `None` when the challenge must carry no error.
    error: Option<&'static str>,
}

async fn send(provider: &TestProvider, case: &Case) -> Reply {
    let mut url = provider.url("/userinfo");
    if let Some(query) = &case.query {
        url = format!("{url}?{query}");
    }
    let mut request = if case.post {
        provider.http.post(url)
    } else {
        provider.http.get(url)
    };
    if let Some(authorization) = &case.authorization {
        request = request.header("authorization", authorization);
    }
    if let Some(body) = &case.body {
        request = request
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone());
    }
    Reply::read(request.send().await.expect("/userinfo answers")).await
}

/// The token with its payload replaced and the original signature kept.
fn with_payload(token: &str, payload: &Value) -> String {
    let mut parts = token.split('.');
    let header = parts.next().expect("JWS header");
    let signature = parts.nth(1).expect("JWS signature");
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).expect("JSON"));
    format!("{header}.{payload}.{signature}")
}

/// An unsigned (`alg: none`) copy of the token.
fn unsigned(token: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
    let payload = token.split('.').nth(1).expect("JWS payload");
    format!("{header}.{payload}.")
}

#[tokio::test]
async fn bad_missing_and_misplaced_tokens_are_refused_with_bearer_challenges() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let rp = Rp::web();
    let (_, good) = provider.tokens(&browser, &rp, "openid profile", &[]).await;
    let id_token = good.id_token.clone().expect("id_token");
    // The code flow needs some scope, not necessarily openid.
    let (_, api_only) = provider.tokens(&browser, &rp, "api:read", &[]).await;
    assert!(api_only.id_token.is_none(), "no ID token without openid");
    assert_eq!(
        provider.userinfo(&good.access_token).await.status,
        StatusCode::OK
    );

    let mut escalated = unverified_claims(&good.access_token);
    escalated["scope"] = Value::from("openid profile email");
    escalated["exp"] = Value::from(escalated["exp"].as_i64().unwrap() + 86_400);
    let bearer = |token: &str| Some(format!("Bearer {token}"));
    let form = |token: &str| Some(encode(&owned(&[("access_token", token)])));
    let base = || Case {
        name: "",
        post: false,
        authorization: None,
        body: None,
        query: None,
        status: StatusCode::UNAUTHORIZED,
        error: Some("invalid_token"),
    };
    let cases = [
        Case {
            name: "no token",
            error: None,
            ..base()
        },
        Case {
            name: "token in the query string (not accepted)",
            query: Some(encode(&owned(&[("access_token", &good.access_token)]))),
            error: None,
            ..base()
        },
        Case {
            name: "garbage token",
            authorization: bearer("not-a-jwt"),
            ..base()
        },
        Case {
            name: "claims changed after signing",
            authorization: bearer(&with_payload(&good.access_token, &escalated)),
            ..base()
        },
        Case {
            name: "alg none",
            authorization: bearer(&unsigned(&good.access_token)),
            ..base()
        },
        Case {
            name: "ID token instead of an access token",
            authorization: bearer(&id_token),
            ..base()
        },
        Case {
            name: "ID token in the body",
            post: true,
            body: form(&id_token),
            ..base()
        },
        Case {
            name: "access token without openid",
            authorization: bearer(&api_only.access_token),
            status: StatusCode::FORBIDDEN,
            error: Some("insufficient_scope"),
            ..base()
        },
        Case {
            name: "token in header and body",
            post: true,
            authorization: bearer(&good.access_token),
            body: form(&good.access_token),
            status: StatusCode::BAD_REQUEST,
            error: Some("invalid_request"),
            ..base()
        },
        Case {
            name: "Basic instead of Bearer",
            authorization: Some(basic_header(WEB, WEB_SECRET)),
            status: StatusCode::BAD_REQUEST,
            error: Some("invalid_request"),
            ..base()
        },
    ];
    // Challenge problems are collected so that one run names every case that lacks one.
    let mut missing_challenges = Vec::new();
    for case in &cases {
        let reply = send(&provider, case).await;
        let name = case.name;
        assert!(reply.status.as_u16() < 500, "{name}: {}", reply.text);
        assert_eq!(reply.status, case.status, "{name}: {}", reply.text);
        assert!(
            !reply.text.contains("\"sub\""),
            "{name}: no claims released"
        );
        if let Some(error) = case.error {
            assert_eq!(reply.json()["error"], error, "{name}: {}", reply.text);
        }
        if case.status == StatusCode::BAD_REQUEST {
            continue;
        }
        // RFC 6750 §3 (and RFC 9110 §15.5.2 for every 401): a Bearer challenge with a realm,
        // the error code when the request carried a token, and none when it did not (§3.1).
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        let expected_error = case.error.map(|error| format!("error=\"{error}\""));
        let well_formed = challenge.starts_with("Bearer ")
            && challenge.contains("realm=")
            && match &expected_error {
                Some(error) => challenge.contains(error.as_str()),
                None => !challenge.contains("error="),
            }
            && (case.error != Some("insufficient_scope") || challenge.contains("scope=\"openid\""));
        if !well_formed {
            missing_challenges.push(format!(
                "{name} ({}): WWW-Authenticate {challenge:?}",
                reply.status
            ));
        }
    }
    assert!(
        missing_challenges.is_empty(),
        "responses without a proper RFC 6750 §3 challenge:\n{}",
        missing_challenges.join("\n")
    );
}
