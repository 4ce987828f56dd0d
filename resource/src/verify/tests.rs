//! Verification: every rejection, in check order, with tokens minted here; key rotation and
//! refetch limits against a JWKS test double; behaviour when the issuer goes away.

use std::time::Duration;

use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use keys::{SigningAlg, b64url, b64url_decode};

use super::*;
use crate::test_support::{
    AUDIENCE, ISSUER, JwksServer, claims_for, default_config, forge, header_for, mint,
    mint_with_header, now, other_key, signing_key, static_verifier, valid_claims, verify_now,
};

/// A short label per outcome, so each table row stays on one line.
fn label(outcome: &Result<AccessClaims, Error>) -> &'static str {
    match outcome {
        Ok(_) => "ok",
        Err(Error::TokenTooLarge) => "too large",
        Err(Error::Malformed(_)) => "malformed",
        Err(Error::WrongTokenType) => "typ",
        Err(Error::DisallowedAlgorithm) => "alg",
        Err(Error::UnknownKid) => "kid",
        Err(Error::KeyAlgorithmMismatch) => "key mismatch",
        Err(Error::InvalidSignature) => "signature",
        Err(Error::WrongIssuer) => "iss",
        Err(Error::WrongAudience) => "aud",
        Err(Error::Expired) => "exp",
        Err(Error::NotYetValid) => "nbf",
        Err(Error::IssuedInFuture) => "iat",
        Err(Error::MissingClaim("jti")) => "missing jti",
        Err(Error::MissingClaim("client_id")) => "missing client_id",
        Err(Error::MissingClaim("sub")) => "missing sub",
        Err(Error::MissingClaim(_)) => "missing other",
        Err(Error::KeysUnavailable) => "no keys",
        Err(_) => "unexpected",
    }
}

fn with(member: &str, value: Value) -> Value {
    let mut claims = valid_claims();
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(member);
    } else {
        claims[member] = value;
    }
    claims
}

fn rsa_header(extra: Value) -> Value {
    let mut header = json!({"alg": "RS256", "kid": signing_key(SigningAlg::RS256).kid().as_str(), "typ": "at+jwt"});
    for (name, value) in extra.as_object().unwrap() {
        if value.is_null() {
            header.as_object_mut().unwrap().remove(name);
        } else {
            header[name] = value.clone();
        }
    }
    header
}

/// A valid RS256 token whose header is replaced by `header` (so the signature no longer
/// matches unless the check under test fires first).
fn reheader(header: Value) -> String {
    let token = mint(SigningAlg::RS256, &valid_claims());
    let (_, rest) = token.split_once('.').unwrap();
    format!("{}.{rest}", b64url(serde_json::to_vec(&header).unwrap()))
}

fn rsa_with_typ(typ: &str) -> String {
    let mut header = header_for(signing_key(SigningAlg::RS256));
    header.typ = Some(typ.to_owned());
    mint_with_header(signing_key(SigningAlg::RS256), &header, &valid_claims())
}

#[test]
fn valid_tokens_of_every_algorithm_are_accepted() {
    let verifier = static_verifier(default_config());
    for alg in SigningAlg::ALL {
        let claims = verify_now(&verifier, &mint(alg, &valid_claims()))
            .unwrap_or_else(|err| panic!("{alg}: {err}"));
        assert_eq!(claims.iss, ISSUER);
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.client_id, "notes-app");
        assert_eq!(claims.aud, [AUDIENCE]);
        assert!(claims.scope.contains("api:read") && claims.scope.contains("openid"));
        assert!(claims.jti.starts_with("jti-alice-"));
        assert!(claims.exp > claims.iat);
    }
}

#[test]
fn every_rejection_has_its_own_error() {
    let verifier = static_verifier(default_config());
    let rsa = signing_key(SigningAlg::RS256);
    let valid = mint(SigningAlg::RS256, &valid_claims());
    let (valid_header, valid_rest) = valid.split_once('.').unwrap();
    let valid_parts: Vec<&str> = valid.split('.').collect();
    let now = now();

    // HS256 "signed" with the RSA public key's modulus as the HMAC secret (alg confusion).
    let modulus = match &rsa.public_jwk().algorithm {
        jsonwebtoken::jwk::AlgorithmParameters::RSA(params) => b64url_decode(&params.n).unwrap(),
        _ => unreachable!("an RSA key"),
    };
    let mut hs_header = Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some(rsa.kid().to_string());
    hs_header.typ = Some("at+jwt".to_owned());
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &valid_claims(),
        &EncodingKey::from_secret(&modulus),
    )
    .unwrap();

    // An ID token: typ JWT, aud is the client id.
    let mut id_claims = valid_claims();
    id_claims["aud"] = json!("notes-app");
    let id_token = rsa.sign("JWT", &id_claims).unwrap();

    // A payload swapped after signing.
    let mut tampered_claims = valid_claims();
    tampered_claims["sub"] = json!("mallory");
    let tampered = format!(
        "{valid_header}.{}.{}",
        b64url(serde_json::to_vec(&tampered_claims).unwrap()),
        valid_parts[2]
    );

    // The ES256 key's signature under the RSA key's kid, alg kept ES256.
    let es = signing_key(SigningAlg::ES256);
    let mut mismatch_header = header_for(es);
    mismatch_header.kid = Some(rsa.kid().to_string());
    let key_mismatch = mint_with_header(es, &mismatch_header, &valid_claims());

    let oversize_claims = with("pad", json!("x".repeat(MAX_TOKEN_BYTES)));

    let table: Vec<(&str, String, &str)> = vec![
        ("valid", valid.clone(), "ok"),
        (
            "oversize",
            mint(SigningAlg::RS256, &oversize_claims),
            "too large",
        ),
        (
            "oversize garbage",
            "a".repeat(MAX_TOKEN_BYTES + 1),
            "too large",
        ),
        ("two parts", valid_rest.to_owned(), "malformed"),
        ("four parts", format!("{valid}.x"), "malformed"),
        ("empty header", format!(".{valid_rest}"), "malformed"),
        (
            "header not base64url",
            format!("!!.{valid_rest}"),
            "malformed",
        ),
        (
            "header not json",
            format!("{}.{valid_rest}", b64url("nope")),
            "malformed",
        ),
        (
            "header alg missing",
            reheader(rsa_header(json!({"alg": null}))),
            "malformed",
        ),
        (
            "crit header",
            reheader(rsa_header(json!({"crit": ["exp"]}))),
            "malformed",
        ),
        ("typ JWT", rsa_with_typ("JWT"), "typ"),
        (
            "typ missing",
            reheader(rsa_header(json!({"typ": null}))),
            "typ",
        ),
        ("id token", id_token, "typ"),
        ("typ AT+JWT", rsa_with_typ("AT+JWT"), "ok"),
        (
            "typ application/at+jwt",
            rsa_with_typ("application/at+jwt"),
            "ok",
        ),
        ("typ at+jwt with junk", rsa_with_typ("at+jwt; x"), "typ"),
        (
            "alg none",
            forge(&rsa_header(json!({"alg": "none"})), &valid_claims(), ""),
            "alg",
        ),
        (
            "alg None",
            forge(&rsa_header(json!({"alg": "None"})), &valid_claims(), ""),
            "alg",
        ),
        ("alg HS256 with public key", hs256, "alg"),
        (
            "alg PS256 not allowed",
            reheader(rsa_header(json!({"alg": "PS256"}))),
            "alg",
        ),
        (
            "kid unknown",
            reheader(rsa_header(json!({"kid": "who-knows"}))),
            "kid",
        ),
        (
            "kid missing",
            reheader(rsa_header(json!({"kid": null}))),
            "kid",
        ),
        ("ES256 under an RSA kid", key_mismatch, "key mismatch"),
        ("tampered payload", tampered, "signature"),
        (
            "signature stripped",
            format!("{valid_header}.{}.", valid_parts[1]),
            "signature",
        ),
        (
            "signature garbage",
            format!("{valid_header}.{}.AAAA", valid_parts[1]),
            "signature",
        ),
        (
            "signed by a stranger",
            {
                let stranger = other_key(SigningAlg::RS256);
                let mut header = header_for(stranger);
                header.kid = Some(rsa.kid().to_string());
                mint_with_header(stranger, &header, &valid_claims())
            },
            "signature",
        ),
        (
            "claims not json",
            {
                let mut header = header_for(rsa);
                header.typ = Some("at+jwt".into());
                let signing_input = format!(
                    "{}.{}",
                    b64url(serde_json::to_vec(&header).unwrap()),
                    b64url("[1,2]")
                );
                let pem = rsa.to_pkcs8_pem();
                let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
                let signature = jsonwebtoken::crypto::sign(
                    signing_input.as_bytes(),
                    &key,
                    jsonwebtoken::Algorithm::RS256,
                )
                .unwrap();
                format!("{signing_input}.{signature}")
            },
            "malformed",
        ),
        (
            "wrong iss",
            mint(
                SigningAlg::RS256,
                &with("iss", json!("https://evil.example")),
            ),
            "iss",
        ),
        (
            "wrong aud",
            mint(
                SigningAlg::RS256,
                &with("aud", json!("https://other.example")),
            ),
            "aud",
        ),
        (
            "expired",
            mint(SigningAlg::ES256, &with("exp", json!(now - 120))),
            "exp",
        ),
        (
            "nbf in the future",
            mint(SigningAlg::EdDSA, &with("nbf", json!(now + 600))),
            "nbf",
        ),
        (
            "iat in the future",
            mint(SigningAlg::EdDSA, &with("iat", json!(now + 600))),
            "iat",
        ),
        (
            "missing jti",
            mint(SigningAlg::RS256, &with("jti", Value::Null)),
            "missing jti",
        ),
        (
            "missing client_id",
            mint(SigningAlg::RS256, &with("client_id", Value::Null)),
            "missing client_id",
        ),
        (
            "missing sub",
            mint(SigningAlg::RS256, &with("sub", Value::Null)),
            "missing sub",
        ),
    ];
    for (name, token, expected) in table {
        assert_eq!(label(&verify_now(&verifier, &token)), expected, "{name}");
    }
}

#[test]
fn leeway_is_honoured_and_configurable() {
    let expired_recently = mint(SigningAlg::RS256, &with("exp", json!(now() - 10)));
    let starts_soon = mint(SigningAlg::RS256, &with("nbf", json!(now() + 10)));
    let default_leeway = static_verifier(default_config());
    assert_eq!(label(&verify_now(&default_leeway, &expired_recently)), "ok");
    assert_eq!(label(&verify_now(&default_leeway, &starts_soon)), "ok");
    let strict = static_verifier(default_config().leeway(Duration::ZERO));
    assert_eq!(label(&verify_now(&strict, &expired_recently)), "exp");
    assert_eq!(label(&verify_now(&strict, &starts_soon)), "nbf");
    let long_ago = mint(SigningAlg::RS256, &with("exp", json!(now() - 100)));
    assert_eq!(label(&verify_now(&default_leeway, &long_ago)), "exp");
    let generous = static_verifier(default_config().leeway(Duration::from_secs(200)));
    assert_eq!(label(&verify_now(&generous, &long_ago)), "ok");
}

#[test]
fn verify_at_uses_the_given_time() {
    let verifier = static_verifier(default_config().leeway(Duration::ZERO));
    let token = mint(SigningAlg::ES256, &valid_claims());
    let exp = valid_claims()["exp"].as_u64().unwrap();
    let at = |now| {
        let future = std::pin::pin!(verifier.verify_at(&token, now));
        let mut future = future;
        match future
            .as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        {
            std::task::Poll::Ready(result) => label(&result),
            std::task::Poll::Pending => "pending",
        }
    };
    assert_eq!(at(exp - 1), "ok");
    assert_eq!(at(exp), "exp");
}

#[test]
fn audience_list_accepts_any_configured_audience() {
    let verifier = static_verifier(default_config().also_audience("urn:notes"));
    let token = mint(
        SigningAlg::RS256,
        &with("aud", json!(["urn:elsewhere", "urn:notes"])),
    );
    assert_eq!(label(&verify_now(&verifier, &token)), "ok");
}

#[test]
fn algorithm_allow_list_is_enforced() {
    let only_es256 = static_verifier(default_config().algorithms([jsonwebtoken::Algorithm::ES256]));
    assert_eq!(
        label(&verify_now(
            &only_es256,
            &mint(SigningAlg::ES256, &valid_claims())
        )),
        "ok"
    );
    assert_eq!(
        label(&verify_now(
            &only_es256,
            &mint(SigningAlg::RS256, &valid_claims())
        )),
        "alg"
    );
    assert_eq!(
        label(&verify_now(
            &only_es256,
            &mint(SigningAlg::EdDSA, &valid_claims())
        )),
        "alg"
    );
    let hs = Verifier::from_jwk_set(
        default_config().algorithms([jsonwebtoken::Algorithm::HS256]),
        &crate::test_support::jwk_set(&[signing_key(SigningAlg::RS256)]),
    );
    assert!(matches!(hs, Err(Error::Config(_))));
}

#[test]
fn injected_jku_x5u_and_jwk_never_choose_the_key() {
    let verifier = static_verifier(default_config());
    let ours = signing_key(SigningAlg::RS256);
    let attacker = other_key(SigningAlg::RS256);
    let inject = |header: &mut Header| {
        header.jku = Some("http://127.0.0.1:1/attacker-jwks".into());
        header.x5u = Some("http://127.0.0.1:1/attacker.pem".into());
        header.jwk = Some(attacker.public_jwk().clone());
    };
    // The attacker signs with their key, names their kid and embeds their key: unknown kid.
    let mut header = header_for(attacker);
    inject(&mut header);
    let forged = mint_with_header(attacker, &header, &valid_claims());
    assert_eq!(label(&verify_now(&verifier, &forged)), "kid");
    // The attacker signs with their key but names our kid: our key is used, signature fails.
    let mut header = header_for(attacker);
    header.kid = Some(ours.kid().to_string());
    inject(&mut header);
    let forged = mint_with_header(attacker, &header, &valid_claims());
    assert_eq!(label(&verify_now(&verifier, &forged)), "signature");
    // Our genuine token with the members injected: still verified with our key, accepted.
    let mut header = header_for(ours);
    inject(&mut header);
    let genuine = mint_with_header(ours, &header, &valid_claims());
    assert_eq!(label(&verify_now(&verifier, &genuine)), "ok");
}

#[test]
fn static_key_sets_need_usable_keys() {
    let empty = Verifier::from_jwk_set(default_config(), &crate::JwkSet { keys: vec![] });
    assert!(matches!(empty, Err(Error::Config(_))));
}

fn remote_config(server: &JwksServer) -> VerifierConfig {
    VerifierConfig::new(&server.base_url, AUDIENCE).jwks_uri(server.jwks_uri())
}

fn token_for(server: &JwksServer, key: &keys::SigningKey) -> String {
    key.sign("at+jwt", &claims_for(&server.base_url, "alice", "api:read"))
        .unwrap()
}

#[tokio::test]
async fn discovery_finds_the_jwks_uri_once() {
    let server = JwksServer::start(&[signing_key(SigningAlg::ES256)]).await;
    let verifier = Verifier::new(VerifierConfig::new(&server.base_url, AUDIENCE))
        .await
        .unwrap();
    assert_eq!((server.discovery_fetches(), server.fetches()), (1, 1));
    verifier.refresh().await.unwrap();
    assert_eq!(
        (server.discovery_fetches(), server.fetches()),
        (1, 2),
        "discovery is fetched once"
    );
    let claims = verifier
        .verify(&token_for(&server, signing_key(SigningAlg::ES256)))
        .await
        .unwrap();
    assert_eq!(claims.iss, server.base_url);
    assert_eq!(verifier.status(), JwksStatus::Ready { keys: 1 });
}

#[tokio::test]
async fn discovery_with_another_issuer_is_refused() {
    let server = JwksServer::start(&[signing_key(SigningAlg::ES256)]).await;
    // Same server, but we claim to trust an issuer with a trailing slash: not the same string.
    let config = VerifierConfig::new(format!("{}/", server.base_url), AUDIENCE);
    let outcome = Verifier::new(config).await;
    assert!(matches!(outcome, Err(Error::Discovery { reason, .. }) if reason.contains("issuer")));
    assert_eq!(server.fetches(), 0);
}

#[tokio::test]
async fn rotated_key_is_accepted_after_one_refetch() {
    let old_key = signing_key(SigningAlg::RS256);
    let new_key = other_key(SigningAlg::RS256);
    let server = JwksServer::start(&[old_key]).await;
    let verifier = Verifier::new(remote_config(&server)).await.unwrap();
    assert_eq!(server.fetches(), 1);
    verifier.verify(&token_for(&server, old_key)).await.unwrap();
    assert_eq!(server.fetches(), 1, "known kids never fetch");

    server.set_keys(&[new_key]);
    let claims = verifier.verify(&token_for(&server, new_key)).await.unwrap();
    assert_eq!(claims.sub, "alice");
    assert_eq!(server.fetches(), 2, "exactly one refetch for the new kid");
    verifier.verify(&token_for(&server, new_key)).await.unwrap();
    assert_eq!(server.fetches(), 2);

    // The old key left the JWKS: its tokens now fail, and the refetch is rate-limited.
    let outcome = verifier.verify(&token_for(&server, old_key)).await;
    assert!(matches!(outcome, Err(Error::UnknownKid)), "{outcome:?}");
    assert_eq!(server.fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_random_kids_causes_one_refetch() {
    let server = JwksServer::start(&[signing_key(SigningAlg::ES256)]).await;
    let verifier = Verifier::new(remote_config(&server)).await.unwrap();
    assert_eq!(server.fetches(), 1);
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..200 {
        let header =
            json!({"alg": "ES256", "kid": format!("random-{index}-{}", now()), "typ": "at+jwt"});
        let token = forge(
            &header,
            &claims_for(&server.base_url, "mallory", ""),
            "AAAA",
        );
        let verifier = verifier.clone();
        tasks.spawn(async move { verifier.verify(&token).await });
    }
    let mut unknown = 0;
    while let Some(outcome) = tasks.join_next().await {
        assert!(matches!(outcome.unwrap(), Err(Error::UnknownKid)));
        unknown += 1;
    }
    assert_eq!(unknown, 200);
    assert_eq!(server.fetches(), 2, "200 unknown kids, one refetch");
    assert_eq!(verifier.fetch_count(), 2);
}

#[tokio::test]
async fn refetches_resume_after_the_interval() {
    let server = JwksServer::start(&[signing_key(SigningAlg::ES256)]).await;
    let config = remote_config(&server).min_refetch_interval(Duration::ZERO);
    let verifier = Verifier::new(config).await.unwrap();
    let unknown = forge(
        &json!({"alg": "ES256", "kid": "nope", "typ": "at+jwt"}),
        &valid_claims(),
        "AAAA",
    );
    for expected_fetches in 2..5 {
        assert!(matches!(
            verifier.verify(&unknown).await,
            Err(Error::UnknownKid)
        ));
        assert_eq!(server.fetches(), expected_fetches);
    }
}

#[tokio::test]
async fn cached_keys_keep_working_when_the_issuer_is_gone() {
    let key = signing_key(SigningAlg::EdDSA);
    let mut server = JwksServer::start(&[key]).await;
    let verifier = Verifier::new(remote_config(&server)).await.unwrap();
    let token = token_for(&server, key);
    server.stop().await;

    let refresh = verifier.refresh().await;
    assert!(
        matches!(refresh, Err(Error::JwksFetch { .. })),
        "{refresh:?}"
    );
    let status = verifier.status();
    assert!(
        matches!(&status, JwksStatus::Stale { keys: 1, reason } if reason.contains("unreachable")),
        "{status:?}"
    );
    assert!(status.is_ready());

    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!(claims.sub, "alice");
    let unknown = forge(
        &json!({"alg": "EdDSA", "kid": "new", "typ": "at+jwt"}),
        &valid_claims(),
        "AAAA",
    );
    assert!(matches!(
        verifier.verify(&unknown).await,
        Err(Error::UnknownKid)
    ));
}

#[tokio::test]
async fn eager_start_fails_and_lazy_start_waits_when_the_issuer_is_down() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let config = VerifierConfig::new(&dead, AUDIENCE).http_timeout(Duration::from_secs(2));

    assert!(matches!(
        Verifier::new(config.clone()).await,
        Err(Error::Discovery { .. })
    ));

    let lazy = Verifier::spawn(config).unwrap();
    let token = mint(SigningAlg::RS256, &valid_claims());
    assert!(matches!(
        lazy.verify(&token).await,
        Err(Error::KeysUnavailable)
    ));
    assert!(matches!(
        lazy.status(),
        JwksStatus::Loading {
            last_error: Some(_)
        }
    ));
    assert!(!lazy.status().is_ready());
}

#[tokio::test]
async fn lazy_start_loads_on_first_use() {
    let key = signing_key(SigningAlg::ES256);
    let server = JwksServer::start(&[key]).await;
    let verifier = Verifier::spawn(remote_config(&server)).unwrap();
    let claims = verifier.verify(&token_for(&server, key)).await.unwrap();
    assert_eq!(claims.sub, "alice");
    assert!(verifier.status().is_ready());
    // The background loader and the first request share one fetch.
    tokio::task::yield_now().await;
    assert_eq!(server.fetches(), 1);
}

#[test]
fn spawn_outside_a_runtime_is_a_config_error() {
    let outcome = Verifier::spawn(default_config().jwks_uri("http://127.0.0.1:9/jwks"));
    assert!(matches!(outcome, Err(Error::Config(text)) if text.contains("runtime")));
}

/// Every verification is counted by result, through the `metrics` facade the host installs.
#[test]
fn verifications_are_counted_by_result() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let verifier = static_verifier(default_config());
    let valid = mint(SigningAlg::ES256, &valid_claims());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            assert!(verifier.verify(&valid).await.is_ok());
            assert!(verifier.verify("not-a-jwt").await.is_err());
        });
    });
    let text = handle.render();
    assert!(
        text.contains("resource_token_verifications_total{result=\"valid\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("resource_token_verifications_total{result=\"malformed\"} 1"),
        "{text}"
    );
}
