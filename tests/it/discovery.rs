//! OIDC Discovery 1.0 §3-4 / RFC 8414 §2-3 metadata and the RFC 7517 JWKS, read as raw JSON.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::spawn_provider;

/// RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
const RFC7638_JWK: &str = r#"{"kty":"RSA","e":"AQAB","alg":"RS256","kid":"2011-04-29","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}"#;
/// RFC 7638 §3.1.
const RFC7638_THUMBPRINT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/// RFC 7638 §3.2, computed from the raw JSON members: the required members in lexicographic
/// order, no whitespace, SHA-256, base64url.
fn thumbprint(jwk: &Value) -> String {
    let member = |name: &str| {
        jwk[name]
            .as_str()
            .unwrap_or_else(|| panic!("JWK member {name} is a string: {jwk}"))
            .to_owned()
    };
    let canonical = match jwk["kty"].as_str() {
        Some("RSA") => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            member("e"),
            member("n")
        ),
        Some("EC") => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            member("crv"),
            member("x"),
            member("y")
        ),
        Some("OKP") => format!(
            r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
            member("crv"),
            member("x")
        ),
        other => panic!("unexpected kty {other:?}"),
    };
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected an array, got {value}"))
        .iter()
        .map(|item| item.as_str().expect("array of strings"))
        .collect()
}

#[tokio::test]
async fn metadata_documents_are_identical_and_complete() {
    let provider = spawn_provider().await;
    let oidc = provider
        .get(
            &provider.http,
            &provider.url("/.well-known/openid-configuration"),
        )
        .await;
    let oauth = provider
        .get(
            &provider.http,
            &provider.url("/.well-known/oauth-authorization-server"),
        )
        .await;
    for reply in [&oidc, &oauth] {
        assert_eq!(reply.status, StatusCode::OK);
        assert!(
            reply
                .header("content-type")
                .is_some_and(|value| value.starts_with("application/json")),
            "{:?}",
            reply.headers
        );
    }
    let doc = oidc.json();
    assert_eq!(
        doc,
        oauth.json(),
        "both well-known documents carry the same metadata"
    );

    // RFC 8414 §3.3 / OIDC Discovery §4.3: issuer is exactly the URL the document was fetched under.
    assert_eq!(provider.issuer, provider.base_url);
    assert_eq!(doc["issuer"], provider.base_url.as_str());

    let endpoint = |name: &str| {
        doc[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} is a string in {doc}"))
            .to_owned()
    };
    assert_eq!(
        endpoint("authorization_endpoint"),
        provider.url("/authorize")
    );
    assert_eq!(endpoint("token_endpoint"), provider.url("/token"));
    assert_eq!(endpoint("userinfo_endpoint"), provider.url("/userinfo"));
    assert_eq!(endpoint("jwks_uri"), provider.url("/jwks"));
    // Every advertised endpoint is actually served under the issuer.
    let jwks = provider.get(&provider.http, &endpoint("jwks_uri")).await;
    assert_eq!(jwks.status, StatusCode::OK);

    // OAuth 2.1: the code flow only, PKCE S256 only, RFC 9207 iss in the response.
    assert_eq!(strings(&doc["response_types_supported"]), ["code"]);
    for removed in ["token", "id_token", "code id_token", "code token"] {
        assert!(!strings(&doc["response_types_supported"]).contains(&removed));
    }
    assert_eq!(strings(&doc["code_challenge_methods_supported"]), ["S256"]);
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert!(!strings(&doc["subject_types_supported"]).is_empty());
    assert!(strings(&doc["id_token_signing_alg_values_supported"]).contains(&"RS256"));
    assert!(!strings(&doc["id_token_signing_alg_values_supported"]).contains(&"none"));

    let grants = strings(&doc["grant_types_supported"]);
    assert!(grants.contains(&"authorization_code"), "{grants:?}");
    assert!(grants.contains(&"refresh_token"), "{grants:?}");
    for removed in ["password", "implicit"] {
        assert!(!grants.contains(&removed), "{grants:?}");
    }
    let scopes = strings(&doc["scopes_supported"]);
    assert!(scopes.contains(&"openid"), "{scopes:?}");
    let auth_methods = strings(&doc["token_endpoint_auth_methods_supported"]);
    for method in ["client_secret_basic", "client_secret_post", "none"] {
        assert!(auth_methods.contains(&method), "{auth_methods:?}");
    }
    // Request objects by value (RFC 9101) are on in dev mode; by reference only through PAR.
    assert_eq!(doc["request_parameter_supported"], true);
    assert_eq!(doc["request_uri_parameter_supported"], false);
}

#[tokio::test]
async fn jwks_publishes_public_signing_keys_named_by_thumbprint() {
    // The helper reproduces the RFC 7638 §3.1 example before judging the provider with it.
    let example: Value = serde_json::from_str(RFC7638_JWK).unwrap();
    assert_eq!(thumbprint(&example), RFC7638_THUMBPRINT);

    let provider = spawn_provider().await;
    let reply = provider.get(&provider.http, &provider.url("/jwks")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let jwks = reply.json();
    let keys = jwks["keys"].as_array().expect("keys is an array");
    let mut kinds = Vec::new();
    for key in keys {
        let object = key.as_object().expect("each key is an object");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
            assert!(
                !object.contains_key(private),
                "private member {private} published: {key}"
            );
        }
        assert_eq!(key["use"], "sig", "{key}");
        let kty = key["kty"].as_str().expect("kty");
        let alg = key["alg"].as_str().expect("alg");
        let expected_alg = match kty {
            "RSA" => "RS256",
            "EC" => "ES256",
            "OKP" => "EdDSA",
            other => panic!("unexpected kty {other}"),
        };
        assert_eq!(alg, expected_alg, "{key}");
        let kid = key["kid"].as_str().expect("kid");
        assert_eq!(
            kid,
            thumbprint(key),
            "kid is the RFC 7638 thumbprint: {key}"
        );
        let parsed: Jwk = serde_json::from_value(key.clone()).expect("jsonwebtoken reads the JWK");
        assert_eq!(
            parsed.thumbprint(ThumbprintHash::SHA256).unwrap(),
            kid,
            "jsonwebtoken agrees on the thumbprint"
        );
        jsonwebtoken::DecodingKey::from_jwk(&parsed).expect("usable verification key");
        kinds.push(kty.to_owned());
    }
    kinds.sort();
    assert_eq!(kinds, ["EC", "OKP", "RSA"], "one key of each type");

    // The ID token algorithms advertised all have a key.
    let doc = provider
        .get(
            &provider.http,
            &provider.url("/.well-known/openid-configuration"),
        )
        .await
        .json();
    for alg in strings(&doc["id_token_signing_alg_values_supported"]) {
        assert!(
            keys.iter().any(|key| key["alg"] == alg),
            "no JWK for advertised alg {alg}"
        );
    }
}
