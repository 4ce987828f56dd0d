//! `/token`: grants, client authentication and the body, attacked.

use reqwest::StatusCode;

use super::{Attack, Expect, run};
use crate::support::{Rp, Tokens, spawn_provider};

const BAD: StatusCode = StatusCode::BAD_REQUEST;
const UNAUTHORIZED: StatusCode = StatusCode::UNAUTHORIZED;
const WEB: (&str, &str) = ("demo-web", "demo-web-secret");
const SERVICE: (&str, &str) = ("demo-service", "demo-service-secret");
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";

#[tokio::test]
async fn token_endpoint_attacks_are_refused() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    // A code already redeemed, a refresh token rotated out, and live tokens to misuse.
    let (flow, tokens) = provider
        .tokens(&browser, &Rp::web(), "openid offline_access api:read", &[])
        .await;
    let refresh = tokens.refresh_token.clone().expect("a refresh token");
    let rotated = Tokens::from_reply(&provider.refresh(&Rp::web(), &refresh, None).await);
    let fresh = provider
        .code_flow(&browser, &Rp::web(), "openid", &[])
        .await;
    let token = provider.url("/token");
    let form = |name: &str, basic, pairs: &[(&str, &str)], status, expect| {
        Attack::form(name, token.clone(), basic, pairs, status, expect)
    };
    let code_grant = |code: &str, verifier: &str, redirect: &str| -> Vec<(String, String)> {
        vec![
            ("grant_type".into(), "authorization_code".into()),
            ("code".into(), code.into()),
            ("code_verifier".into(), verifier.into()),
            ("redirect_uri".into(), redirect.into()),
        ]
    };
    fn as_refs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
        owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
    let replayed = code_grant(&flow.code, &flow.verifier, &flow.redirect_uri);
    let wrong_verifier = code_grant(&fresh.code, &"x".repeat(43), &fresh.redirect_uri);
    let wrong_redirect = code_grant(&fresh.code, &fresh.verifier, "http://127.0.0.1:8082/other");
    let garbage_code = code_grant("not-a-code", &fresh.verifier, &fresh.redirect_uri);
    let short_verifier = code_grant(&fresh.code, "short", &fresh.redirect_uri);
    let huge = "a".repeat(70 * 1024);
    let attacks = vec![
        form(
            "no grant_type",
            Some(WEB),
            &[],
            BAD,
            Expect::Json("invalid_request"),
        ),
        form(
            "an unknown grant",
            Some(WEB),
            &[("grant_type", "magic")],
            BAD,
            Expect::Json("unsupported_grant_type"),
        ),
        form(
            "the password grant (removed by OAuth 2.1)",
            Some(WEB),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-password-2026"),
            ],
            BAD,
            Expect::Json("unsupported_grant_type"),
        ),
        form(
            "the implicit grant",
            Some(WEB),
            &[("grant_type", "implicit")],
            BAD,
            Expect::Json("unsupported_grant_type"),
        ),
        form(
            "grant_type twice",
            Some(SERVICE),
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
            BAD,
            Expect::Json("invalid_request"),
        ),
        form(
            "a replayed authorization code",
            Some(WEB),
            &as_refs(&replayed),
            BAD,
            Expect::Json("invalid_grant"),
        ),
        form(
            "a wrong PKCE verifier",
            Some(WEB),
            &as_refs(&wrong_verifier),
            BAD,
            Expect::Json("invalid_grant"),
        ),
        form(
            "another redirect_uri than the request's",
            Some(WEB),
            &as_refs(&wrong_redirect),
            BAD,
            Expect::Json("invalid_grant"),
        ),
        form(
            "a made-up code",
            Some(WEB),
            &as_refs(&garbage_code),
            BAD,
            Expect::Json("invalid_grant"),
        ),
        form(
            "a malformed verifier",
            Some(WEB),
            &as_refs(&short_verifier),
            BAD,
            Expect::Json("invalid_grant"),
        ),
        form(
            "a code without its verifier",
            Some(WEB),
            &[
                ("grant_type", "authorization_code"),
                ("code", &fresh.code),
                ("redirect_uri", &fresh.redirect_uri),
            ],
            BAD,
            Expect::Json("invalid_request"),
        ),
        form(
            "another client's code",
            Some(SERVICE),
            &as_refs(&code_grant(
                &fresh.code,
                &fresh.verifier,
                &fresh.redirect_uri,
            )),
            BAD,
            Expect::Json("unauthorized_client"),
        ),
        form(
            "a rotated-out refresh token (reuse)",
            Some(WEB),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            BAD,
            Expect::Json("invalid_grant"),
        ),
        form(
            "the family's successor after the reuse revoked it",
            Some(WEB),
            &[
                ("grant_type", "refresh_token"),
                (
                    "refresh_token",
                    rotated.refresh_token.as_deref().unwrap_or_default(),
                ),
            ],
            BAD,
            Expect::Json("invalid_grant"),
        ),
        form(
            "a made-up refresh token",
            Some(WEB),
            &[("grant_type", "refresh_token"), ("refresh_token", "nope")],
            BAD,
            Expect::Json("invalid_grant"),
        ),
        form(
            "client_credentials by a client without the grant",
            Some(WEB),
            &[("grant_type", "client_credentials")],
            BAD,
            Expect::Json("unauthorized_client"),
        ),
        form(
            "client_credentials asking for openid",
            Some(SERVICE),
            &[("grant_type", "client_credentials"), ("scope", "openid")],
            BAD,
            Expect::Json("invalid_scope"),
        ),
        form(
            "client_credentials asking for an unknown scope",
            Some(SERVICE),
            &[("grant_type", "client_credentials"), ("scope", "admin")],
            BAD,
            Expect::Json("invalid_scope"),
        ),
        form(
            "a resource the client may not target",
            Some(SERVICE),
            &[
                ("grant_type", "client_credentials"),
                ("resource", "https://evil.example"),
            ],
            BAD,
            Expect::Json("invalid_target"),
        ),
        form(
            "a made-up device code",
            Some(("demo-device", "")),
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", "nope"),
            ],
            UNAUTHORIZED,
            Expect::Json("invalid_client"),
        ),
        Attack::form(
            "a public client polling a made-up device code",
            token.clone(),
            None,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", "nope"),
                ("client_id", "demo-device"),
            ],
            BAD,
            Expect::Json("invalid_grant"),
        ),
        form(
            "token exchange of a forged token",
            Some(WEB),
            &[
                ("grant_type", EXCHANGE),
                ("subject_token", "eyJhbGciOiJub25lIn0.e30."),
                ("subject_token_type", ACCESS),
            ],
            BAD,
            Expect::Json("invalid_request"),
        ),
        form(
            "token exchange of a token whose grant a code replay revoked",
            Some(WEB),
            &[
                ("grant_type", EXCHANGE),
                ("subject_token", &rotated.access_token),
                ("subject_token_type", ACCESS),
                ("scope", "api:write"),
            ],
            BAD,
            Expect::Json("invalid_request"),
        ),
        form(
            "a wrong client secret",
            Some(("demo-web", "wrong")),
            &[("grant_type", "refresh_token"), ("refresh_token", "x")],
            UNAUTHORIZED,
            Expect::Json("invalid_client"),
        ),
        form(
            "an unknown client",
            Some(("nobody", "secret")),
            &[("grant_type", "client_credentials")],
            UNAUTHORIZED,
            Expect::Json("invalid_client"),
        ),
        form(
            "the right secret by another method than registered",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "demo-service"),
                ("client_secret", "demo-service-secret"),
            ],
            UNAUTHORIZED,
            Expect::Json("invalid_client"),
        ),
        form(
            "Basic and client_secret together",
            Some(SERVICE),
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", "demo-service-secret"),
            ],
            BAD,
            Expect::Json("invalid_request"),
        ),
        form(
            "a confidential client without its secret",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "demo-service"),
            ],
            UNAUTHORIZED,
            Expect::Json("invalid_client"),
        ),
        form(
            "a malformed Basic header",
            None,
            &[("grant_type", "client_credentials")],
            UNAUTHORIZED,
            Expect::Json("invalid_client"),
        )
        .header("authorization", "Basic !!!not-base64"),
        form(
            "a Bearer header instead of client authentication",
            None,
            &[("grant_type", "client_credentials")],
            UNAUTHORIZED,
            Expect::Json("invalid_client"),
        )
        .header("authorization", "Bearer abc"),
        form(
            "a JSON body",
            Some(SERVICE),
            &[],
            BAD,
            Expect::Json("invalid_request"),
        )
        .raw_body(
            "application/json",
            br#"{"grant_type":"client_credentials"}"#.to_vec(),
        ),
        form(
            "a body over the 64 KB limit",
            Some(SERVICE),
            &[("grant_type", "client_credentials"), ("scope", &huge)],
            StatusCode::PAYLOAD_TOO_LARGE,
            Expect::Status,
        ),
        form(
            "a non-ASCII Authorization header",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "demo-api"),
                ("client_secret", "demo-api-secret"),
            ],
            BAD,
            Expect::Json("invalid_request"),
        )
        .header("authorization", "Basic d\u{e9}mo"),
        form(
            "two Authorization headers",
            Some(SERVICE),
            &[("grant_type", "client_credentials")],
            BAD,
            Expect::Json("invalid_request"),
        )
        .header("authorization", "Basic ZGVtby13ZWI6ZGVtby13ZWItc2VjcmV0"),
        Attack::get(
            "GET instead of POST",
            token.clone(),
            StatusCode::METHOD_NOT_ALLOWED,
            Expect::Status,
        ),
    ];
    let ran = run(&provider, attacks).await;
    assert!(ran >= 30, "{ran}");
}
