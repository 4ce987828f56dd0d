//! OIDC Core §5.3.2 / §10.2 signed and encrypted responses, against a running provider: ID
//! tokens encrypted to the client's key (nested JWT), UserInfo as a signed JWT, encrypted, or
//! both; the registration metadata and every refusal; nothing advertised with the feature off.
//! The client side decrypts with josekit's decrypters and verifies with jsonwebtoken (the
//! `jose` npm package does the same in `interop/checks.mjs`).

use josekit::jwe::{ECDH_ES, RSA_OAEP_256};
use josekit::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    ClientAuth, Rp, TestProvider, Tokens, assert_oauth_error, serve_documents, spawn_provider,
    spawn_provider_with,
};

const REDIRECT: &str = "https://rp.example.com/callback";

/// The client's key pairs: RSA for RSA-OAEP-256 and P-256 for ECDH-ES.
struct ClientKeys {
    rsa: Jwk,
    ec: Jwk,
}

impl ClientKeys {
    fn new() -> Self {
        ClientKeys {
            rsa: Jwk::generate_rsa_key(2048).expect("RSA key"),
            ec: Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).expect("EC key"),
        }
    }

    /// The public JWK Set a client registers: an encryption key of each kind.
    fn jwks(&self) -> Value {
        let public = |jwk: &Jwk, kid: &str, alg: &str| {
            let mut map = jwk.to_public_key().expect("public").as_ref().clone();
            map.insert("kid".into(), json!(kid));
            map.insert("use".into(), json!("enc"));
            map.insert("alg".into(), json!(alg));
            Value::Object(map)
        };
        json!({"keys": [public(&self.rsa, "rsa-enc", "RSA-OAEP-256"), public(&self.ec, "ec-enc", "ECDH-ES")]})
    }

    /// Decrypts a compact JWE: the payload and the header's `alg`, `enc` and `cty`.
    fn decrypt(&self, jwe: &str) -> (Vec<u8>, [Option<String>; 3]) {
        assert_eq!(jwe.split('.').count(), 5, "a compact JWE: {jwe}");
        let header: Value = serde_json::from_slice(
            &keys::b64url_decode(jwe.split('.').next().expect("header")).expect("b64"),
        )
        .expect("JSON header");
        let (payload, header) = match header["alg"].as_str() {
            Some("RSA-OAEP-256") => josekit::jwe::deserialize_compact(
                jwe,
                &RSA_OAEP_256
                    .decrypter_from_jwk(&self.rsa)
                    .expect("decrypter"),
            ),
            Some("ECDH-ES") => josekit::jwe::deserialize_compact(
                jwe,
                &ECDH_ES.decrypter_from_jwk(&self.ec).expect("decrypter"),
            ),
            other => panic!("unexpected JWE alg {other:?}"),
        }
        .expect("the client's key decrypts it");
        let text = |value: Option<&str>| value.map(str::to_owned);
        (
            payload,
            [
                text(header.algorithm()),
                text(header.content_encryption()),
                text(header.content_type()),
            ],
        )
    }
}

async fn client(provider: &TestProvider, metadata: Value) -> Rp {
    let mut body = json!({"redirect_uris": [REDIRECT], "client_name": "JWE client", "scope": "openid profile email offline_access", "grant_types": ["authorization_code", "refresh_token"]});
    for (name, value) in metadata.as_object().expect("object") {
        body[name] = value.clone();
    }
    let reply = provider.register(body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let json = reply.json();
    for (name, value) in metadata.as_object().expect("object") {
        if name != "jwks" && name != "jwks_uri" {
            assert_eq!(&json[name], value, "{name} is echoed");
        }
    }
    Rp::registered(
        json["client_id"].as_str().expect("client_id"),
        json["client_secret"].as_str(),
        ClientAuth::Basic,
        REDIRECT,
    )
}

/// Verifies a JWS of the provider (any claims set, no time claims required).
async fn verify_provider_jws(provider: &TestProvider, jws: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(jws).expect("JWS header");
    let jwks = provider.jwks().await;
    let jwk = jwks
        .find(header.kid.as_deref().expect("kid"))
        .expect("kid in the JWKS");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&provider.issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["iss", "aud", "sub"]);
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(jws, &DecodingKey::from_jwk(jwk).expect("key"), &validation)
        .unwrap_or_else(|error| panic!("the provider's JWS does not verify: {error}"))
        .claims
}

#[tokio::test]
async fn discovery_advertises_the_algorithms_only_when_on() {
    let provider = spawn_provider().await;
    let document = provider.discovery().await;
    for field in [
        "id_token_encryption_alg_values_supported",
        "userinfo_encryption_alg_values_supported",
    ] {
        assert_eq!(
            document[field],
            json!(["RSA-OAEP-256", "ECDH-ES"]),
            "{field}"
        );
    }
    for field in [
        "id_token_encryption_enc_values_supported",
        "userinfo_encryption_enc_values_supported",
    ] {
        assert_eq!(
            document[field],
            json!(["A128CBC-HS256", "A128GCM", "A256GCM"]),
            "{field}"
        );
    }
    assert_eq!(
        document["userinfo_signing_alg_values_supported"],
        document["id_token_signing_alg_values_supported"]
    );
    let off = spawn_provider_with(|config| config.features.encrypted_responses = false).await;
    let document = off.discovery().await;
    for field in [
        "id_token_encryption_alg_values_supported",
        "id_token_encryption_enc_values_supported",
        "userinfo_signing_alg_values_supported",
        "userinfo_encryption_alg_values_supported",
        "userinfo_encryption_enc_values_supported",
    ] {
        assert!(
            document.get(field).is_none(),
            "{field} with the feature off"
        );
    }
    let keys = ClientKeys::new();
    let reply = off.register(json!({"redirect_uris": [REDIRECT], "jwks": keys.jwks(), "id_token_encrypted_response_alg": "RSA-OAEP-256"}),
    )
    .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_client_metadata",
        "feature off",
    );
}

#[tokio::test]
async fn id_tokens_and_userinfo_are_encrypted_to_the_client() {
    let provider = spawn_provider().await;
    let keys = ClientKeys::new();
    let cases = [
        (
            "RSA-OAEP-256",
            "A256GCM",
            "ECDH-ES",
            "A128GCM",
            Some("ES256"),
        ),
        ("ECDH-ES", "A128CBC-HS256", "RSA-OAEP-256", "A256GCM", None),
    ];
    for (id_alg, id_enc, ui_alg, ui_enc, ui_signed) in cases {
        let mut metadata = json!({
            "jwks": keys.jwks(),
            "id_token_encrypted_response_alg": id_alg, "id_token_encrypted_response_enc": id_enc,
            "userinfo_encrypted_response_alg": ui_alg, "userinfo_encrypted_response_enc": ui_enc,
        });
        if let Some(alg) = ui_signed {
            metadata["userinfo_signed_response_alg"] = json!(alg);
        }
        let rp = client(&provider, metadata).await;
        let browser = provider.browser();
        let (flow, tokens) = provider
            .tokens(&browser, &rp, "openid profile email offline_access", &[])
            .await;
        // The ID token: a JWE whose payload is the provider's signed ID token.
        let jwe = tokens.id_token.as_deref().expect("ID token");
        let (payload, [alg, enc, cty]) = keys.decrypt(jwe);
        assert_eq!(
            (alg.as_deref(), enc.as_deref(), cty.as_deref()),
            (Some(id_alg), Some(id_enc), Some("JWT"))
        );
        let inner = String::from_utf8(payload).expect("UTF-8");
        let (_, claims) = provider.verify_jwt(&inner, rp.client_id).await;
        assert_eq!(claims["nonce"], flow.nonce.as_str());
        // UserInfo: application/jwt, a JWE to the client.
        let reply = provider.userinfo(&tokens.access_token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.header("content-type"), Some("application/jwt"));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        let (payload, [alg, enc, cty]) = keys.decrypt(reply.text.trim());
        assert_eq!(
            (alg.as_deref(), enc.as_deref()),
            (Some(ui_alg), Some(ui_enc))
        );
        let released = if ui_signed.is_some() {
            assert_eq!(cty.as_deref(), Some("JWT"));
            let jws = String::from_utf8(payload).expect("UTF-8");
            verify_provider_jws(&provider, &jws, rp.client_id).await
        } else {
            assert_eq!(cty, None);
            serde_json::from_slice(&payload).expect("JSON claims")
        };
        assert_eq!(released["sub"], claims["sub"]);
        assert_eq!(released["email"], "alice@example.com");
        // A refreshed ID token is encrypted too.
        let reply = provider
            .refresh(
                &rp,
                tokens.refresh_token.as_deref().expect("refresh token"),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let refreshed = Tokens::from_reply(&reply);
        let (payload, _) = keys.decrypt(refreshed.id_token.as_deref().expect("ID token"));
        let inner = String::from_utf8(payload).expect("UTF-8");
        provider.verify_jwt(&inner, rp.client_id).await;
    }
}

#[tokio::test]
async fn userinfo_can_be_signed_only() {
    let provider = spawn_provider().await;
    for alg in ["RS256", "ES256", "EdDSA"] {
        let rp = client(&provider, json!({"userinfo_signed_response_alg": alg})).await;
        let browser = provider.browser();
        let flow = provider
            .code_flow(&browser, &rp, "openid profile", &[])
            .await;
        let reply = provider.exchange_code(&rp, &flow).await;
        assert_eq!(reply.status, StatusCode::OK, "{alg}: {}", reply.text);
        let tokens = Tokens::from_reply(&reply);
        // The ID token stays a plain JWS.
        assert_eq!(
            tokens
                .id_token
                .as_deref()
                .expect("ID token")
                .split('.')
                .count(),
            3
        );
        let reply = provider.userinfo(&tokens.access_token).await;
        assert_eq!(reply.header("content-type"), Some("application/jwt"));
        let header = jsonwebtoken::decode_header(reply.text.trim()).expect("a JWS");
        assert_eq!(format!("{:?}", header.alg), alg);
        let claims = verify_provider_jws(&provider, reply.text.trim(), rp.client_id).await;
        assert_eq!(claims["preferred_username"], "alice");
        assert!(claims.get("email").is_none(), "scope has no email");
    }
}

#[tokio::test]
async fn bad_registrations_are_refused() {
    let provider = spawn_provider().await;
    let keys = ClientKeys::new();
    let only_ec = json!({"keys": [keys.jwks()["keys"][1].clone()]});
    let cases = [
        (
            "enc without alg",
            json!({"jwks": keys.jwks(), "id_token_encrypted_response_enc": "A128GCM"}),
        ),
        (
            "userinfo enc without alg",
            json!({"jwks": keys.jwks(), "userinfo_encrypted_response_enc": "A128GCM"}),
        ),
        (
            "RSA1_5",
            json!({"jwks": keys.jwks(), "id_token_encrypted_response_alg": "RSA1_5"}),
        ),
        (
            "dir",
            json!({"jwks": keys.jwks(), "userinfo_encrypted_response_alg": "dir"}),
        ),
        (
            "A192GCM",
            json!({"jwks": keys.jwks(), "id_token_encrypted_response_alg": "ECDH-ES", "id_token_encrypted_response_enc": "A192GCM"}),
        ),
        (
            "no keys",
            json!({"id_token_encrypted_response_alg": "RSA-OAEP-256"}),
        ),
        (
            "no RSA key",
            json!({"jwks": only_ec, "id_token_encrypted_response_alg": "RSA-OAEP-256"}),
        ),
        (
            "unsigned userinfo",
            json!({"userinfo_signed_response_alg": "none"}),
        ),
        (
            "HMAC userinfo",
            json!({"userinfo_signed_response_alg": "HS256"}),
        ),
    ];
    for (context, metadata) in cases {
        let mut body = json!({"redirect_uris": [REDIRECT]});
        for (name, value) in metadata.as_object().expect("object") {
            body[name] = value.clone();
        }
        let reply = provider.register(body).await;
        assert_oauth_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            context,
        );
    }
}

#[tokio::test]
async fn a_client_without_a_usable_encryption_key_gets_a_clear_error() {
    let provider = spawn_provider().await;
    // The jwks_uri serves a signing key only: nothing to encrypt to.
    let signing = keys::SigningKey::generate(keys::SigningAlg::ES256).expect("key");
    let jwks = json!({"keys": [serde_json::to_value(signing.public_jwk()).expect("JWK")]});
    let base = serve_documents(|_| vec![("/jwks.json", jwks.to_string())]).await;
    let rp = client(
        &provider,
        json!({"jwks_uri": format!("{base}/jwks.json"), "id_token_encrypted_response_alg": "RSA-OAEP-256"}),
    )
    .await;
    let browser = provider.browser();
    let flow = provider.code_flow(&browser, &rp, "openid", &[]).await;
    // The key is looked for before the code is consumed: the second attempt is refused for the
    // same reason, not as a replayed code.
    for attempt in ["first", "second"] {
        let reply = provider.exchange_code(&rp, &flow).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_request", attempt);
        assert!(
            reply.json()["error_description"]
                .as_str()
                .is_some_and(|text| text.contains("encrypted")),
            "{}",
            reply.text
        );
    }
}
