//! RFC 9449 DPoP against a running provider and the demo resource server: tokens bound to a
//! client's key (`cnf.jkt`, `token_type: DPoP`), usable only with a fresh proof of that key at
//! UserInfo and at the API; bound refresh tokens for public clients; `dpop_jkt` at the
//! authorization endpoint; server nonces; and every hostile proof refused.

use keys::dpop::ProofRequest;
use keys::{SigningAlg, SigningKey};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    Rp, TestProvider, Tokens, assert_oauth_error, owned, spawn_provider, spawn_provider_with,
    unverified_claims,
};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        .try_into()
        .expect("fits")
}

fn jti() -> String {
    keys::b64url(rand::random::<[u8; 16]>())
}

/// A proof by `key` for `method` `url`, optionally for `token` and with `nonce`.
fn proof(
    key: &SigningKey,
    method: &str,
    url: &str,
    token: Option<&str>,
    nonce: Option<&str>,
) -> String {
    key.dpop_proof(&ProofRequest {
        method,
        url,
        access_token: token,
        nonce,
        jti: &jti(),
        iat: now(),
    })
    .expect("a proof")
}

/// A token request with `DPoP: proof` (and Basic for `rp` when it has a secret).
async fn token_with_proof(
    provider: &TestProvider,
    rp: &Rp,
    params: &[(&str, &str)],
    proofs: &[&str],
) -> crate::support::Reply {
    let mut pairs: Vec<(&str, &str)> = params.to_vec();
    if rp.secret.is_none() {
        pairs.push(("client_id", rp.client_id));
    }
    let mut request = provider
        .http
        .post(provider.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(crate::support::encode(&owned(&pairs)));
    if let Some(secret) = rp.secret {
        request = request.basic_auth(rp.client_id, Some(secret));
    }
    for proof in proofs {
        request = request.header("dpop", *proof);
    }
    crate::support::Reply::read(request.send().await.expect("POST /token")).await
}

const CC: &[(&str, &str)] = &[("grant_type", "client_credentials"), ("scope", "api:read")];

#[tokio::test]
async fn client_credentials_binds_the_token_and_refuses_bad_proofs() {
    let provider = spawn_provider().await;
    let discovery = provider.discovery().await;
    assert_eq!(
        discovery["dpop_signing_alg_values_supported"],
        json!(["ES256", "RS256", "EdDSA"])
    );
    let key = SigningKey::generate(SigningAlg::ES256).expect("key");
    let token_url = provider.url("/token");
    let reply = token_with_proof(
        &provider,
        &Rp::service(),
        CC,
        &[&proof(&key, "POST", &token_url, None, None)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["token_type"], "DPoP");
    assert!(
        reply.header("dpop-nonce").is_some(),
        "a nonce for the next proof"
    );
    let token = reply.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(unverified_claims(&token)["cnf"]["jkt"], key.jkt());
    // Introspection tells a resource server the binding (RFC 9449 §6.2).
    let introspected = provider
        .introspect(&Rp::service(), &token, None)
        .await
        .json();
    assert_eq!(introspected["token_type"], "DPoP");
    assert_eq!(introspected["cnf"]["jkt"], key.jkt());

    let replayed = proof(&key, "POST", &token_url, None, None);
    assert_eq!(
        token_with_proof(&provider, &Rp::service(), CC, &[&replayed])
            .await
            .status,
        StatusCode::OK
    );
    let other = SigningKey::generate(SigningAlg::RS256).expect("key");
    let access_token_as_proof = key.sign("at+jwt", &json!({"jti": "x"})).expect("jws");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![replayed], "replayed proof"),
        (
            vec![proof(&key, "GET", &token_url, None, None)],
            "wrong htm",
        ),
        (
            vec![proof(&key, "POST", &provider.url("/par"), None, None)],
            "wrong htu",
        ),
        (
            vec![proof(
                &key,
                "POST",
                "https://evil.example/token",
                None,
                None,
            )],
            "foreign htu",
        ),
        (
            vec![
                proof(&key, "POST", &token_url, None, None),
                proof(&other, "POST", &token_url, None, None),
            ],
            "two DPoP headers",
        ),
        (vec![access_token_as_proof], "not a proof"),
        (vec!["garbage".to_owned()], "garbage"),
        (vec!["a".repeat(9000)], "oversized"),
    ];
    for (proofs, context) in &cases {
        let refs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let reply = token_with_proof(&provider, &Rp::service(), CC, &refs).await;
        assert_oauth_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "invalid_dpop_proof",
            context,
        );
        assert!(
            reply.header("dpop-nonce").is_some(),
            "{context}: a nonce comes with the error"
        );
    }
}

#[tokio::test]
async fn a_public_clients_tokens_are_bound_and_usable_only_with_proofs() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let rp = Rp::cli_random_port();
    let key = SigningKey::generate(SigningAlg::EdDSA).expect("key");
    let other = SigningKey::generate(SigningAlg::EdDSA).expect("key");
    let token_url = provider.url("/token");
    let flow = provider
        .code_flow(&browser, &rp, "openid profile offline_access", &[])
        .await;
    let code = [
        ("grant_type", "authorization_code"),
        ("code", flow.code.as_str()),
        ("redirect_uri", flow.redirect_uri.as_str()),
        ("code_verifier", flow.verifier.as_str()),
    ];
    let reply = token_with_proof(
        &provider,
        &rp,
        &code,
        &[&proof(&key, "POST", &token_url, None, None)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let tokens = Tokens::from_reply(&reply);
    let refresh = tokens.refresh_token.clone().expect("a refresh token");

    // UserInfo: the bound token needs the DPoP scheme and a proof with ath.
    let userinfo = provider.url("/userinfo");
    let call = |scheme: &'static str, proof: Option<String>| {
        let mut request = provider
            .http
            .get(&userinfo)
            .header("authorization", format!("{scheme} {}", tokens.access_token));
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        async move { crate::support::Reply::read(request.send().await.expect("GET /userinfo")).await }
    };
    let ok = proof(&key, "GET", &userinfo, Some(&tokens.access_token), None);
    assert_eq!(call("DPoP", Some(ok.clone())).await.status, StatusCode::OK);
    for (reply, context) in [
        (call("DPoP", Some(ok)).await, "replayed proof"),
        (call("Bearer", None).await, "bound token as Bearer"),
        (call("DPoP", None).await, "no proof"),
        (
            call(
                "DPoP",
                Some(proof(
                    &other,
                    "GET",
                    &userinfo,
                    Some(&tokens.access_token),
                    None,
                )),
            )
            .await,
            "another key",
        ),
        (
            call(
                "DPoP",
                Some(proof(&key, "GET", &userinfo, Some("another token"), None)),
            )
            .await,
            "wrong ath",
        ),
    ] {
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{context}: {}",
            reply.text
        );
        assert!(
            reply
                .header("www-authenticate")
                .is_some_and(|value| value.starts_with("DPoP ")),
            "{context}: a DPoP challenge, got {:?}",
            reply.header("www-authenticate")
        );
    }

    // The refresh token is bound too (RFC 9449 §5): no proof, or another key, is refused and
    // spends nothing; the right key rotates it.
    let refresh_params = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let reply = token_with_proof(&provider, &rp, &refresh_params, &[]).await;
    assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", "no proof");
    let reply = token_with_proof(
        &provider,
        &rp,
        &refresh_params,
        &[&proof(&other, "POST", &token_url, None, None)],
    )
    .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "another key",
    );
    let reply = token_with_proof(
        &provider,
        &rp,
        &refresh_params,
        &[&proof(&key, "POST", &token_url, None, None)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        unverified_claims(&Tokens::from_reply(&reply).access_token)["cnf"]["jkt"],
        key.jkt()
    );
}

#[tokio::test]
async fn dpop_jkt_binds_the_code_to_a_key() {
    let provider = spawn_provider().await;
    let browser = provider.browser();
    let rp = Rp::web();
    let key = SigningKey::generate(SigningAlg::ES256).expect("key");
    let other = SigningKey::generate(SigningAlg::ES256).expect("key");
    let token_url = provider.url("/token");
    for (jkt, context) in [("short", "malformed"), (&"x".repeat(44)[..], "too long")] {
        let params = crate::support::with_changes(
            crate::support::authorization_params(
                &rp,
                "openid",
                &crate::support::Pkce::new(),
                "s",
                "n",
            ),
            &[("dpop_jkt", Some(jkt))],
        );
        let reply = provider
            .get(&browser, &provider.authorize_url(&params))
            .await;
        let location = reply.location().unwrap_or_default().to_owned();
        assert!(
            location.contains("error=invalid_request"),
            "{context}: {location}"
        );
    }
    let flow = provider
        .code_flow(&browser, &rp, "openid", &[("dpop_jkt", Some(key.jkt()))])
        .await;
    let code = [
        ("grant_type", "authorization_code"),
        ("code", flow.code.as_str()),
        ("redirect_uri", flow.redirect_uri.as_str()),
        ("code_verifier", flow.verifier.as_str()),
    ];
    let reply = token_with_proof(
        &provider,
        &rp,
        &code,
        &[&proof(&other, "POST", &token_url, None, None)],
    )
    .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "the code is bound to another key",
    );
}

#[tokio::test]
async fn the_resource_server_accepts_a_bound_token_only_with_its_proof() {
    let provider = spawn_provider().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let mut config = resource::demo::Config::new(provider.issuer.clone());
    config.public_url = Some(base.clone());
    let _server = resource::demo::serve(config, listener)
        .await
        .expect("demo API");
    let key = SigningKey::generate(SigningAlg::ES256).expect("key");
    let reply = token_with_proof(
        &provider,
        &Rp::service(),
        CC,
        &[&proof(&key, "POST", &provider.url("/token"), None, None)],
    )
    .await;
    let token = Tokens::from_reply(&reply).access_token;
    let me = format!("{base}/api/me");
    let call = |scheme: &'static str, proof: Option<String>| {
        let mut request = provider
            .http
            .get(&me)
            .header("authorization", format!("{scheme} {token}"));
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        async move { crate::support::Reply::read(request.send().await.expect("GET /api/me")).await }
    };
    let ok = proof(&key, "GET", &me, Some(&token), None);
    let reply = call("DPoP", Some(ok.clone())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let other = SigningKey::generate(SigningAlg::ES256).expect("key");
    for (reply, context, error) in [
        (
            call("DPoP", Some(ok)).await,
            "replayed proof",
            "invalid_dpop_proof",
        ),
        (
            call("Bearer", None).await,
            "bound token as Bearer",
            "invalid_token",
        ),
        (call("DPoP", None).await, "no proof", "invalid_dpop_proof"),
        (
            call("DPoP", Some(proof(&other, "GET", &me, Some(&token), None))).await,
            "another key",
            "invalid_dpop_proof",
        ),
        (
            call("DPoP", Some(proof(&key, "POST", &me, Some(&token), None))).await,
            "wrong method",
            "invalid_dpop_proof",
        ),
        (
            call(
                "DPoP",
                Some(proof(
                    &key,
                    "GET",
                    &format!("{base}/api/notes"),
                    Some(&token),
                    None,
                )),
            )
            .await,
            "wrong URL",
            "invalid_dpop_proof",
        ),
    ] {
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{context}: {}",
            reply.text
        );
        let challenge = reply
            .header("www-authenticate")
            .unwrap_or_default()
            .to_owned();
        assert!(
            challenge.starts_with("DPoP ") && challenge.contains(error),
            "{context}: {challenge}"
        );
    }
    // A plain Bearer token still works where DPoP is only allowed.
    let bearer = Tokens::from_reply(&provider.token_request(&Rp::service(), CC).await).access_token;
    assert_eq!(
        provider
            .http
            .get(&me)
            .bearer_auth(&bearer)
            .send()
            .await
            .expect("GET")
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn required_nonces_and_dpop_bound_clients() {
    let provider = spawn_provider_with(|config| config.dpop_require_nonce = true).await;
    let key = SigningKey::generate(SigningAlg::ES256).expect("key");
    let token_url = provider.url("/token");
    let reply = token_with_proof(
        &provider,
        &Rp::service(),
        CC,
        &[&proof(&key, "POST", &token_url, None, None)],
    )
    .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "use_dpop_nonce",
        "first proof",
    );
    let nonce = reply.header("dpop-nonce").expect("DPoP-Nonce").to_owned();
    let reply = token_with_proof(
        &provider,
        &Rp::service(),
        CC,
        &[&proof(&key, "POST", &token_url, None, Some("stale"))],
    )
    .await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "use_dpop_nonce",
        "a made-up nonce",
    );
    let reply = token_with_proof(
        &provider,
        &Rp::service(),
        CC,
        &[&proof(&key, "POST", &token_url, None, Some(&nonce))],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    // A client registered with dpop_bound_access_tokens gets nothing without a proof.
    let registered = provider
        .json_request(
            Method::POST,
            &provider.url("/register"),
            None,
            Some(&json!({"grant_types": ["client_credentials"], "scope": "api:read", "dpop_bound_access_tokens": true})),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text
    );
    let body: Value = registered.json();
    assert_eq!(body["dpop_bound_access_tokens"], true);
    let rp = Rp::registered(
        body["client_id"].as_str().expect("id"),
        body["client_secret"].as_str(),
        crate::support::ClientAuth::Basic,
        "",
    );
    let reply = provider.token_request(&rp, CC).await;
    assert_oauth_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_dpop_proof",
        "no proof from a DPoP-bound client",
    );
}
